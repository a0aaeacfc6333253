"""The browser harness works: chromium starts and axe-core finds a planted violation.

Two tiny static pages on 127.0.0.1: one with unreadable low-contrast text and an input
with no label, one clean. axe must report the first's problems and nothing on the second.
The pages are served with the web app's kind of CSP (scripts only from this server), so
injecting axe-core is shown to work where the app's pages will be checked.
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator

import pytest

# tests/web is a package (its __init__.py); the fallback serves a checkout without one.
try:
    from . import browser_harness
except ImportError:
    import browser_harness

axe_violations = browser_harness.axe_violations
launch_browser = browser_harness.launch_browser
require_chromium = browser_harness.require_chromium

CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'"

PAGES = {
    "/bad.html": """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Planted problems</title></head>
<body><main>
<h1>Planted problems</h1>
<p style="color:#d8d8d8;background:#ffffff">Light grey text on white cannot be read.</p>
<form><input type="text" name="nhs_number"></form>
</main></body></html>
""",
    "/good.html": """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>A clean page</title></head>
<body><main>
<h1>A clean page</h1>
<p style="color:#212b32;background:#ffffff">Dark text on white.</p>
<form><label for="nhs">NHS number</label> <input id="nhs" type="text" name="nhs_number"></form>
</main></body></html>
""",
}


class _Pages(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # the handler's API names it
        body = PAGES.get(self.path)
        if body is None:
            self.send_error(404)
            return
        data = body.encode("utf-8")
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Security-Policy", CSP)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):  # keep the test's output quiet
        pass


@pytest.fixture
def site() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Pages)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.mark.browser
@pytest.mark.xdist_group("browser")
def test_axe_finds_the_planted_violations_and_none_on_a_clean_page(site):
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch_browser(playwright)
        try:
            page = browser.new_page()
            page.goto(f"{site}/bad.html")
            bad = axe_violations(page)
            page.goto(f"{site}/good.html")
            good = axe_violations(page)
        finally:
            browser.close()

    found = {violation["id"] for violation in bad}
    assert {"color-contrast", "label"} <= found, bad
    assert all(v["impact"] in ("serious", "critical") for v in bad)
    contrast = next(v for v in bad if v["id"] == "color-contrast")
    assert contrast["targets"] and contrast["help"]
    assert good == [], good


def test_missing_chromium_skips_or_fails_as_ci_requires(monkeypatch, tmp_path):
    monkeypatch.setattr(browser_harness, "CHROMIUM", str(tmp_path / "no-chromium"))
    reason = browser_harness.chromium_missing_reason()
    assert reason and "apt-get install chromium" in reason
    monkeypatch.delenv("CAREVALUE_REQUIRE_BROWSER", raising=False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install chromium"):
        require_chromium()
    monkeypatch.setenv("CAREVALUE_REQUIRE_BROWSER", "1")
    with pytest.raises(pytest.fail.Exception, match="CAREVALUE_REQUIRE_BROWSER=1"):
        require_chromium()
