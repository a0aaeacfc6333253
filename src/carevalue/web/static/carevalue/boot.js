// Runs first in <body>: marks the page as scripted so the NHS.UK components enhance it
// (an external file, since the content security policy allows no inline script).
document.body.className += ' js-enabled' + ('noModule' in HTMLScriptElement.prototype ? ' nhsuk-frontend-supported' : '');
