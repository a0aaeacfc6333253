// Draws every chart the page carries as JSON (<script type="application/json" data-chart>)
// into the element with id "chart-<id>". The table beside each chart holds the same figures.
(function () {
  if (typeof Plotly === 'undefined') { return; }
  var config = { displaylogo: false, responsive: true,
                 modeBarButtonsToRemove: ['select2d', 'lasso2d', 'toImage'] };
  document.querySelectorAll('script[data-chart]').forEach(function (node) {
    var target = document.getElementById('chart-' + node.getAttribute('data-chart'));
    if (!target) { return; }
    var figure = JSON.parse(node.textContent);
    var spark = target.classList.contains('cv-sparkline');
    Plotly.newPlot(target, figure.data || [], figure.layout || {},
                   spark ? { staticPlot: true, responsive: true } : config);
  });
})();
