// Draws the process map the page carries as JSON (<script type="application/json"
// id="flow-map-data">): dagre lays the activities out in layers, this file draws them as
// SVG, svg-pan-zoom moves and zooms it. Every arrow is focusable; Enter (or a click) shows
// its wait distribution beside the map with the house chart code (Plotly, as charts.js).
// The tables below the map hold the same figures, so nothing here is the only way in.
(function () {
  'use strict';
  var source = document.getElementById('flow-map-data');
  var holder = document.getElementById('flow-map');
  if (!source || !holder || typeof dagre === 'undefined') { return; }
  var data = JSON.parse(source.textContent);
  var SVG = 'http://www.w3.org/2000/svg';
  var NODE_HEIGHT = 46;
  var END_RADIUS = 11;
  var detail = document.getElementById('edge-detail');
  var byId = {};
  data.edges.forEach(function (edge) { byId[edge.id] = edge; });

  function make(name, attributes, parent) {
    var node = document.createElementNS(SVG, name);
    Object.keys(attributes || {}).forEach(function (key) {
      node.setAttribute(key, attributes[key]);
    });
    if (parent) { parent.appendChild(node); }
    return node;
  }

  function number(value) { return Number(value).toLocaleString('en-GB'); }

  // Text widths, measured once in a hidden SVG so boxes fit their labels.
  var ruler = make('svg', { width: 0, height: 0, 'aria-hidden': 'true' });
  ruler.style.position = 'absolute';
  ruler.style.visibility = 'hidden';
  document.body.appendChild(ruler);
  function width(text, cssClass) {
    var probe = make('text', { 'class': cssClass }, ruler);
    probe.textContent = text;
    var measured = probe.getComputedTextLength();
    ruler.removeChild(probe);
    return measured || text.length * 7;
  }

  function edgeLabel(edge) {
    return number(edge.count) + ' · ' + (edge.suppressed ? data.too_few : edge.median);
  }

  function colour(edge) {
    return edge.suppressed || edge.cls === null ? data.suppressed_colour : data.classes[edge.cls].colour;
  }

  var maxCount = Math.max.apply(null, data.edges.map(function (e) { return e.count; })
    .concat(data.starts.map(function (e) { return e.count; })).concat([1]));
  function thickness(count) { return 1.5 + 8 * Math.sqrt(count / maxCount); }

  // --- the layout -------------------------------------------------------------------------
  var graph = new dagre.graphlib.Graph({ multigraph: true });
  graph.setGraph({ rankdir: 'TB', nodesep: 40, ranksep: 56, edgesep: 18, marginx: 24, marginy: 24 });
  graph.setDefaultEdgeLabel(function () { return {}; });
  data.nodes.forEach(function (node) {
    var w = Math.max(width(node.label, 'cv-node__label'), width(node.text, 'cv-node__text')) + 24;
    graph.setNode(node.id, { width: w, height: NODE_HEIGHT, node: node });
  });
  graph.setNode('start', { width: END_RADIUS * 2, height: END_RADIUS * 2, end: 'start' });
  graph.setNode('end', { width: END_RADIUS * 2, height: END_RADIUS * 2, end: 'end' });
  data.edges.forEach(function (edge) {
    if (edge.source === edge.target) { return; }  // drawn as a loop beside its box
    graph.setEdge(edge.source, edge.target, {
      width: width(edgeLabel(edge), 'cv-edge__label') + 4, height: 14, labelpos: 'r', labeloffset: 4,
      weight: Math.max(1, Math.round(10 * edge.count / maxCount)), edge: edge
    }, edge.id);
  });
  data.starts.forEach(function (s, i) {
    graph.setEdge('start', s.target, { weight: 1, minlen: 1, marker: s }, 'start' + i);
  });
  data.ends.forEach(function (s, i) {
    graph.setEdge(s.source, 'end', { weight: 1, minlen: 1, marker: s }, 'end' + i);
  });
  dagre.layout(graph);
  var size = graph.graph();

  // --- drawing -------------------------------------------------------------------------------
  var svg = make('svg', {
    'class': 'cv-flow__svg', viewBox: '0 0 ' + size.width + ' ' + size.height,
    width: '100%', height: Math.min(Math.max(size.height, 360), 760), role: 'group',
    'aria-label': 'Process map: ' + data.nodes.length + ' activities and ' + data.edges.length +
      ' transitions. Each arrow can be reached with the Tab key.'
  });
  var defs = make('defs', {}, svg);
  function arrowHead(id, fill) {
    var marker = make('marker', {
      id: id, viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 11, markerHeight: 11,
      markerUnits: 'userSpaceOnUse', orient: 'auto-start-reverse'
    }, defs);
    make('path', { d: 'M 0 0 L 10 5 L 0 10 z', fill: fill }, marker);
  }
  data.classes.forEach(function (c, i) { arrowHead('cv-arrow-' + i, c.colour); });
  arrowHead('cv-arrow-none', data.suppressed_colour);
  arrowHead('cv-arrow-end', '#4c6272');
  var viewport = make('g', { 'class': 'cv-flow__viewport' }, svg);
  var edgeLayer = make('g', {}, viewport);
  var nodeLayer = make('g', {}, viewport);
  var labelLayer = make('g', {}, viewport);

  function curve(points) {
    // a smooth path through dagre's points (quadratic curves via the midpoints)
    var d = 'M ' + points[0].x + ' ' + points[0].y;
    for (var i = 1; i < points.length - 1; i++) {
      var mx = (points[i].x + points[i + 1].x) / 2;
      var my = (points[i].y + points[i + 1].y) / 2;
      d += ' Q ' + points[i].x + ' ' + points[i].y + ' ' + mx + ' ' + my;
    }
    var last = points[points.length - 1];
    return d + ' L ' + last.x + ' ' + last.y;
  }

  function describe(edge) {
    return 'From ' + edge.from + ' to ' + edge.to + ': ' + number(edge.count) +
      ' transitions in ' + number(edge.cases) + ' episodes; median wait ' + edge.median +
      ', 90th centile ' + edge.p90 + '. Press Enter for the wait distribution.';
  }

  var drawn = {};
  function drawEdge(edge, d, labelAt) {
    var group = make('g', {
      'class': 'cv-edge' + (edge.suppressed ? ' cv-edge--suppressed' : '') +
        (edge.highlight ? ' cv-edge--highlight' : '') +
        (data.variant !== null && !edge.highlight ? ' cv-edge--faded' : ''),
      tabindex: 0, role: 'button', 'aria-label': describe(edge), 'data-edge': edge.id
    }, edgeLayer);
    make('path', { d: d, 'class': 'cv-edge__hit' }, group);
    var line = make('path', {
      d: d, 'class': 'cv-edge__line', stroke: colour(edge), 'stroke-width': thickness(edge.count),
      'marker-end': 'url(#' + (edge.suppressed || edge.cls === null ? 'cv-arrow-none' : 'cv-arrow-' + edge.cls) + ')'
    }, group);
    if (edge.suppressed) { line.setAttribute('stroke-dasharray', '8 5'); }
    var label = make('text', {
      x: labelAt.x, y: labelAt.y + 4, 'class': 'cv-edge__label', 'text-anchor': 'middle'
    }, labelLayer);
    label.textContent = edgeLabel(edge);
    label.setAttribute('data-edge', edge.id);
    make('title', {}, group).textContent = describe(edge);
    drawn[edge.id] = group;
    group.addEventListener('click', function () { show(edge.id, true); });
    group.addEventListener('keydown', function (event) {
      if (event.key === 'Enter' || event.key === ' ') { event.preventDefault(); show(edge.id, true); }
    });
  }

  graph.edges().forEach(function (ref) {
    var info = graph.edge(ref);
    if (info.edge) {
      drawEdge(info.edge, curve(info.points), { x: info.x, y: info.y });
    } else {
      var marked = info.marker.highlight || data.variant === null;
      var path = make('path', {
        d: curve(info.points), 'class': 'cv-edge__end' + (marked ? '' : ' cv-edge--faded'),
        'stroke-width': 1.5, 'marker-end': 'url(#cv-arrow-end)', 'aria-hidden': 'true'
      }, edgeLayer);
      make('title', {}, path).textContent = number(info.marker.count) + ' episodes';
    }
  });
  // A repeat straight away (a to a) is a loop on the box's right-hand side.
  data.edges.forEach(function (edge) {
    if (edge.source !== edge.target) { return; }
    var box = graph.node(edge.source);
    var x = box.x + box.width / 2;
    var top = box.y - 10;
    var bottom = box.y + 10;
    var d = 'M ' + x + ' ' + top + ' C ' + (x + 46) + ' ' + (top - 22) + ' ' + (x + 46) + ' ' +
      (bottom + 22) + ' ' + x + ' ' + bottom;
    drawEdge(edge, d, { x: x + 40 + width(edgeLabel(edge), 'cv-edge__label') / 2, y: box.y });
  });

  graph.nodes().forEach(function (id) {
    var box = graph.node(id);
    if (box.end) {
      var circle = make('circle', {
        cx: box.x, cy: box.y, r: END_RADIUS,
        'class': box.end === 'start' ? 'cv-node__start' : 'cv-node__end'
      }, nodeLayer);
      make('title', {}, circle).textContent = box.end === 'start' ? 'Start of the episodes' : 'End of the episodes';
      var word = make('text', {
        x: box.x + END_RADIUS + 6, y: box.y + 4, 'class': 'cv-node__text'
      }, nodeLayer);
      word.textContent = box.end === 'start' ? 'Start' : 'End';
      return;
    }
    var node = box.node;
    var group = make('g', {
      'class': 'cv-node' + (node.highlight ? ' cv-node--highlight' : '') +
        (data.variant !== null && !node.highlight ? ' cv-node--faded' : ''),
      transform: 'translate(' + (box.x - box.width / 2) + ',' + (box.y - box.height / 2) + ')'
    }, nodeLayer);
    make('rect', { width: box.width, height: box.height, rx: 6, ry: 6, 'class': 'cv-node__box' }, group);
    var label = make('text', { x: box.width / 2, y: 19, 'text-anchor': 'middle', 'class': 'cv-node__label' }, group);
    label.textContent = node.label;
    var text = make('text', { x: box.width / 2, y: 36, 'text-anchor': 'middle', 'class': 'cv-node__text' }, group);
    text.textContent = node.text;
  });
  document.body.removeChild(ruler);

  holder.textContent = '';
  holder.appendChild(svg);
  holder.setAttribute('data-drawn', 'true');

  // --- pan and zoom (buttons, not the mouse wheel: the page must still scroll) -------------
  var panZoom = null;
  if (typeof svgPanZoom !== 'undefined') {
    panZoom = svgPanZoom(svg, {
      viewportSelector: '.cv-flow__viewport', zoomEnabled: true, mouseWheelZoomEnabled: false,
      dblClickZoomEnabled: false, controlIconsEnabled: false, fit: true, center: true,
      minZoom: 0.25, maxZoom: 8
    });
    var toolbar = document.querySelector('.cv-flow__toolbar');
    if (toolbar) {
      toolbar.hidden = false;
      toolbar.addEventListener('click', function (event) {
        var action = event.target.getAttribute('data-zoom');
        if (action === 'in') { panZoom.zoomIn(); }
        if (action === 'out') { panZoom.zoomOut(); }
        if (action === 'reset') { panZoom.resetZoom(); panZoom.fit(); panZoom.center(); }
      });
    }
    // printed whole: the map as laid out, not as last panned
    window.addEventListener('beforeprint', function () {
      panZoom.resetZoom(); panZoom.fit(); panZoom.center();
    });
  }

  // --- an edge's detail --------------------------------------------------------------------
  var selected = null;
  function cell(row, tag, text, numeric) {
    var node = document.createElement(tag);
    node.textContent = text;
    if (tag === 'th') { node.setAttribute('scope', row ? 'row' : 'col'); }
    if (numeric) { node.className = 'cv-num'; }
    return node;
  }

  function show(id, announce) {
    var edge = byId[id];
    if (!edge || !detail) { return; }
    if (selected && drawn[selected]) { drawn[selected].classList.remove('cv-edge--selected'); }
    selected = id;
    if (drawn[id]) { drawn[id].classList.add('cv-edge--selected'); }
    document.querySelectorAll('tr[data-edge-row]').forEach(function (row) {
      row.classList.toggle('cv-row--selected', row.getAttribute('data-edge-row') === id);
    });
    detail.textContent = '';
    var heading = document.createElement('h3');
    heading.className = 'nhsuk-heading-s';
    heading.id = 'edge-detail-title';
    heading.textContent = edge.from + ' to ' + edge.to;
    detail.appendChild(heading);
    var sentence = document.createElement('p');
    sentence.className = 'nhsuk-body-s';
    sentence.textContent = number(edge.count) + ' transitions in ' + number(edge.cases) +
      ' episodes. Median wait ' + edge.median + '; 90th centile ' + edge.p90 + '.';
    detail.appendChild(sentence);
    if (edge.suppressed || !edge.bands.length) {
      var few = document.createElement('p');
      few.className = 'nhsuk-body-s';
      few.textContent = 'Fewer than ' + data.min_cell + ' episodes: the wait distribution is ' + data.too_few + '.';
      detail.appendChild(few);
    } else {
      var chart = document.createElement('div');
      chart.className = 'cv-chart cv-flow__chart';
      chart.setAttribute('role', 'figure');
      chart.setAttribute('aria-label', 'Bar chart of the waits from ' + edge.from + ' to ' + edge.to + '; the table below holds the same figures.');
      detail.appendChild(chart);
      var table = document.createElement('table');
      table.className = 'nhsuk-table cv-table cv-flow__bands';
      var caption = document.createElement('caption');
      caption.className = 'nhsuk-table__caption nhsuk-table__caption--s';
      caption.textContent = 'Waits from ' + edge.from + ' to ' + edge.to;
      table.appendChild(caption);
      var head = document.createElement('thead');
      var headRow = document.createElement('tr');
      headRow.appendChild(cell(false, 'th', 'Wait'));
      headRow.appendChild(cell(false, 'th', 'Transitions', true));
      head.appendChild(headRow);
      table.appendChild(head);
      var body = document.createElement('tbody');
      edge.bands.forEach(function (band, i) {
        var row = document.createElement('tr');
        row.appendChild(cell(true, 'th', band));
        row.appendChild(cell(true, 'td', number(edge.counts[i]), true));
        body.appendChild(row);
      });
      table.appendChild(body);
      detail.appendChild(table);
      if (typeof Plotly !== 'undefined') {
        var figure = JSON.parse(JSON.stringify(data.figure));
        figure.data[0].x = edge.bands;
        figure.data[0].y = edge.counts;
        Plotly.newPlot(chart, figure.data, figure.layout,
          { displaylogo: false, responsive: true, modeBarButtonsToRemove: ['select2d', 'lasso2d', 'toImage'] });
      }
    }
    var more = document.createElement('p');
    more.className = 'nhsuk-body-s';
    var link = document.createElement('a');
    link.href = edge.url + '#panel-edge-waits';
    link.textContent = data.patient_level
      ? 'List the episodes behind this transition (recorded in the audit log)'
      : 'Open this transition on its own page';
    more.appendChild(link);
    detail.appendChild(more);
    if (announce) { detail.setAttribute('data-edge', id); }
  }

  // The table's Waits links open the detail in place (their address still works without it).
  document.querySelectorAll('a[data-edge]').forEach(function (link) {
    link.addEventListener('click', function (event) {
      var id = link.getAttribute('data-edge');
      if (!byId[id]) { return; }
      event.preventDefault();
      show(id, true);
      if (drawn[id]) { drawn[id].focus({ preventScroll: true }); }
      detail.scrollIntoView({ block: 'nearest' });
    });
  });
  if (data.selected && byId[data.selected]) { show(data.selected, false); }
})();
