// sluice live view: polls /api/status every second, draws the pipeline
// graph once (again only if it changes) and updates the numbers in place.
// No framework, no build step.
'use strict';

(function () {
  const POLL_MS = 1000;
  const RATE_SAMPLES = 4; // rates over the last 4 polls (about 3 s)
  const SVG = 'http://www.w3.org/2000/svg';
  const TOPIC_H = 32, STAGE_W = 184, STAGE_H = 94, COL_GAP = 46, ROW_GAP = 14, PAD = 16;

  const history = []; // recent statuses, oldest first
  let graphKey = '';
  let stageEls = {}; // stage name -> {g, texts...}
  let rowEls = {};   // stage name -> {tr, cells...}
  let polls = 0;

  function el(name, attrs, parent) {
    const e = document.createElementNS(SVG, name);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  }

  function text(parent, x, y, cls, s, anchor) {
    const t = el('text', { x: x, y: y, class: cls }, parent);
    if (anchor) t.setAttribute('text-anchor', anchor);
    t.textContent = s;
    return t;
  }

  // ---- layout ---------------------------------------------------------

  // outputsOf lists what a stage writes: outputs ("default" first, then by
  // name), then its DLQ.
  function outputsOf(st) {
    const names = Object.keys(st.outputs || {}).sort(function (a, b) {
      if ((a === 'default') !== (b === 'default')) return a === 'default' ? -1 : 1;
      return a < b ? -1 : a > b ? 1 : 0;
    });
    const out = names.map(function (n) { return { name: n, topic: st.outputs[n], dlq: false }; });
    if (st.dlq) out.push({ name: 'dlq', topic: st.dlq, dlq: true });
    return out;
  }

  function topicWidth(name) { return Math.max(112, Math.min(220, name.length * 7.4 + 26)); }

  // layout puts topics and stages in columns left to right (a stage one
  // column right of its input, a topic one right of the stages writing it)
  // and, within a column, each node level with what feeds it, DLQ topics
  // below the others.
  function layout(s) {
    const nodes = {}; // id -> node
    const topicIds = [];
    const edges = [];
    const isDLQ = {}, isData = {};
    s.stages.forEach(function (st) {
      isData[st.input] = true;
      outputsOf(st).forEach(function (o) { if (o.dlq) isDLQ[o.topic] = true; else isData[o.topic] = true; });
    });
    const allTopics = s.topics.slice();
    s.stages.forEach(function (st) {
      [st.input].concat(outputsOf(st).map(function (o) { return o.topic; })).forEach(function (t) {
        if (allTopics.indexOf(t) < 0) allTopics.push(t);
      });
    });
    allTopics.forEach(function (t, i) {
      const id = 't:' + t;
      nodes[id] = { id: id, kind: 'topic', name: t, dlq: !!isDLQ[t] && !isData[t], order: i, col: 0,
        w: topicWidth(t), h: TOPIC_H, parents: [] };
      topicIds.push(id);
    });
    s.stages.forEach(function (st, i) {
      const id = 's:' + st.name;
      nodes[id] = { id: id, kind: 'stage', name: st.name, order: i, col: 1, w: STAGE_W, h: STAGE_H, parents: ['t:' + st.input] };
      edges.push({ from: 't:' + st.input, to: id, dlq: false, label: '' });
      outputsOf(st).forEach(function (o) {
        nodes['t:' + o.topic].parents.push(id);
        edges.push({ from: id, to: 't:' + o.topic, dlq: o.dlq, label: o.dlq || o.name === 'default' ? '' : o.name });
      });
    });
    // Columns: longest path from the sources; bounded, in case of a loop.
    const ids = Object.keys(nodes);
    for (let pass = 0; pass < ids.length + 1; pass++) {
      let changed = false;
      ids.forEach(function (id) {
        const n = nodes[id];
        let c = n.kind === 'stage' ? 1 : 0;
        n.parents.forEach(function (p) { c = Math.max(c, nodes[p].col + 1); });
        c = Math.min(c, 2 * ids.length);
        if (c !== n.col) { n.col = c; changed = true; }
      });
      if (!changed) break;
    }
    const cols = [];
    ids.forEach(function (id) {
      const n = nodes[id];
      (cols[n.col] = cols[n.col] || []).push(n);
    });
    let x = PAD;
    let maxY = 0;
    for (let c = 0; c < cols.length; c++) {
      const col = cols[c] || [];
      const w = col.reduce(function (m, n) { return Math.max(m, n.w); }, 0);
      col.forEach(function (n) {
        const ps = n.parents.filter(function (p) { return nodes[p].col < n.col && nodes[p].y !== undefined; });
        n.want = ps.length ? ps.reduce(function (a, p) { return a + nodes[p].cy; }, 0) / ps.length : -1;
      });
      col.sort(function (a, b) {
        if (a.dlq !== b.dlq) return a.dlq ? 1 : -1;
        if (a.want !== b.want) return a.want - b.want;
        if (a.kind !== b.kind) return a.kind === 'topic' ? -1 : 1;
        return a.order - b.order;
      });
      let bottom = PAD - ROW_GAP;
      col.forEach(function (n) {
        let top = n.want < 0 ? bottom + ROW_GAP : Math.max(n.want - n.h / 2, bottom + ROW_GAP);
        if (n.want < 0 && c === 0 && bottom < PAD) top = PAD + (STAGE_H - n.h) / 2;
        n.x = x + (w - n.w) / 2;
        n.y = top;
        n.cy = top + n.h / 2;
        bottom = top + n.h;
        maxY = Math.max(maxY, bottom);
      });
      if (col.length) x += w + COL_GAP;
    }
    return { nodes: nodes, edges: edges, width: x - COL_GAP + PAD, height: maxY + PAD, topicIds: topicIds };
  }

  // ---- drawing --------------------------------------------------------

  function drawGraph(s) {
    const svg = document.getElementById('graph');
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    const L = layout(s);
    svg.setAttribute('viewBox', '0 0 ' + L.width + ' ' + L.height);
    svg.setAttribute('width', L.width);
    svg.style.maxWidth = '100%';
    svg.style.height = 'auto';
    const defs = el('defs', {}, svg);
    [['arrow', 'edge-head'], ['arrow-dlq', 'edge-head dlq']].forEach(function (m) {
      const mk = el('marker', { id: m[0], viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' }, defs);
      el('path', { d: 'M0,0 L10,5 L0,10 z', class: m[1] }, mk);
    });
    const edgeLayer = el('g', { class: 'edges' }, svg);
    L.edges.forEach(function (e) {
      const a = L.nodes[e.from], b = L.nodes[e.to];
      // DLQ edges leave from low on the stage box, apart from the outputs.
      const x1 = a.x + a.w, y1 = e.dlq && a.kind === 'stage' ? a.y + a.h - 14 : a.cy, x2 = b.x - 2, y2 = b.cy;
      const dx = Math.max(20, (x2 - x1) / 2);
      el('path', {
        d: 'M' + x1 + ',' + y1 + ' C' + (x1 + dx) + ',' + y1 + ' ' + (x2 - dx) + ',' + y2 + ' ' + x2 + ',' + y2,
        class: 'edge' + (e.dlq ? ' dlq' : ''), 'marker-end': 'url(#' + (e.dlq ? 'arrow-dlq' : 'arrow') + ')',
        'data-from': a.name, 'data-to': b.name
      }, edgeLayer);
      if (e.label) text(edgeLayer, (x1 + x2) / 2, (y1 + y2) / 2 - 5, 'edge-label', e.label, 'middle');
    });
    stageEls = {};
    Object.keys(L.nodes).forEach(function (id) {
      const n = L.nodes[id];
      if (n.kind === 'topic') {
        const g = el('g', { class: 'topic' + (n.dlq ? ' dlq' : ''), 'data-topic': n.name, transform: 'translate(' + n.x + ',' + n.y + ')' }, svg);
        el('rect', { width: n.w, height: n.h, rx: n.h / 2, ry: n.h / 2 }, g);
        text(g, n.w / 2, n.h / 2 + 4, 'topic-name', n.name, 'middle');
        el('title', {}, g).textContent = (n.dlq ? 'dead-letter topic ' : 'topic ') + n.name;
        return;
      }
      const g = el('g', { class: 'stage', 'data-stage': n.name, transform: 'translate(' + n.x + ',' + n.y + ')' }, svg);
      el('rect', { width: n.w, height: n.h, rx: 7, ry: 7, class: 'stage-box' }, g);
      const dot = el('circle', { cx: 15, cy: 17, r: 5, class: 'dot' }, g);
      const tip = el('title', {}, g);
      text(g, 27, 21, 'stage-name', n.name);
      const L1 = 42, L2 = 61, L3 = 80, R = n.w - 12;
      text(g, 12, L1, 'k', 'in');
      const inRate = text(g, 84, L1, 'v', '–', 'end');
      text(g, 96, L1, 'k', 'out');
      const outRate = text(g, R, L1, 'v', '–', 'end');
      text(g, 12, L2, 'k', 'lag');
      const lag = text(g, 84, L2, 'v', '–', 'end');
      text(g, 96, L2, 'k', 'dlq');
      const dlq = text(g, R, L2, 'v', '–', 'end');
      text(g, 12, L3, 'k', 'restarts');
      const restarts = text(g, 84, L3, 'v', '–', 'end');
      text(g, 96, L3, 'k', 'flight');
      const flight = text(g, R, L3, 'v', '–', 'end');
      stageEls[n.name] = { g: g, dot: dot, tip: tip, inRate: inRate, outRate: outRate, lag: lag, dlq: dlq, restarts: restarts, flight: flight };
    });
  }

  function drawTable(s) {
    const tbody = document.querySelector('#stages tbody');
    while (tbody.firstChild) tbody.removeChild(tbody.firstChild);
    rowEls = {};
    s.stages.forEach(function (st) {
      const tr = document.createElement('tr');
      tr.setAttribute('data-stage', st.name);
      const cells = {};
      ['name', 'input', 'inRate', 'outRate', 'lag', 'dlq', 'filtered', 'restarts', 'flight', 'consumed', 'produced'].forEach(function (k) {
        const td = document.createElement('td');
        if (k === 'name' || k === 'input') td.className = 'l';
        tr.appendChild(td);
        cells[k] = td;
      });
      const dot = document.createElement('span');
      dot.className = 'dot';
      cells.name.appendChild(dot);
      cells.name.appendChild(document.createTextNode(st.name));
      cells.input.textContent = st.input;
      cells.dot = dot;
      tbody.appendChild(tr);
      rowEls[st.name] = cells;
    });
  }

  // ---- numbers --------------------------------------------------------

  const intFmt = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
  function fmtInt(n) { return n === null || n === undefined ? '–' : intFmt.format(n); }
  function fmtShort(n) {
    if (n === null || n === undefined) return '–';
    if (Math.abs(n) >= 1e6) return (n / 1e6).toFixed(1) + 'M';
    if (Math.abs(n) >= 1e4) return (n / 1e3).toFixed(1) + 'k';
    return intFmt.format(n);
  }
  function fmtRate(r) {
    if (r === null || r === undefined) return '–';
    if (r > 0 && r < 10) return r.toFixed(1);
    return fmtShort(r);
  }

  // rates returns, per stage, records/s in and out between the oldest and
  // the newest status kept.
  function rates() {
    const out = {};
    if (history.length < 2) return out;
    const a = history[0], b = history[history.length - 1];
    const dt = (b.now - a.now) / 1000;
    if (dt <= 0) return out;
    b.stages.forEach(function (st) {
      const prev = a.stages.find(function (p) { return p.name === st.name; });
      if (!st.stats || !prev || !prev.stats) return;
      out[st.name] = {
        in: Math.max(0, st.stats.consumed - prev.stats.consumed) / dt,
        out: Math.max(0, st.stats.produced - prev.stats.produced) / dt
      };
    });
    return out;
  }

  function set(node, s) { if (node.textContent !== s) node.textContent = s; }

  function update(s) {
    const key = JSON.stringify([s.pipeline, s.topics, s.stages.map(function (st) { return [st.name, st.input, st.outputs, st.dlq]; })]);
    if (key !== graphKey) {
      graphKey = key;
      history.length = 0;
      drawGraph(s);
      drawTable(s);
    }
    // A counter going backwards means the process restarted: start over.
    const last = history[history.length - 1];
    if (last && s.stages.some(function (st, i) {
      const p = last.stages[i];
      return st.stats && p && p.stats && st.stats.consumed < p.stats.consumed;
    })) history.length = 0;
    history.push(s);
    while (history.length > RATE_SAMPLES) history.shift();
    const r = rates();
    let maxIn = 0;
    s.stages.forEach(function (st) {
      const e = stageEls[st.name], row = rowEls[st.name];
      if (!e || !row) return;
      const rate = r[st.name];
      const state = !st.running ? 'away' : st.ready ? 'ready' : 'starting';
      const stats = st.stats || {};
      const lagText = st.lag === null ? '?' : fmtShort(st.lag);
      const lagTip = st.lag === null ? 'lag unknown: ' + (st.lag_error || '') : 'lag ' + fmtInt(st.lag) + ' records';
      e.dot.setAttribute('class', 'dot ' + state);
      row.dot.className = 'dot ' + state;
      e.g.setAttribute('data-ready', st.ready ? 'true' : 'false');
      e.g.setAttribute('data-running', st.running ? 'true' : 'false');
      e.g.setAttribute('data-in-rate', rate ? rate.in.toFixed(1) : '0');
      e.g.setAttribute('data-out-rate', rate ? rate.out.toFixed(1) : '0');
      e.g.setAttribute('data-lag', st.lag === null ? '' : String(st.lag));
      e.g.classList.toggle('away', !st.running);
      set(e.tip, st.name + ' (' + state + ', group ' + st.group + ')\n' + lagTip);
      set(e.inRate, rate ? fmtRate(rate.in) : '–');
      set(e.outRate, rate ? fmtRate(rate.out) : '–');
      set(e.lag, lagText);
      set(e.dlq, fmtShort(stats.dlq));
      set(e.restarts, fmtShort(stats.node_restarts));
      set(e.flight, fmtShort(stats.in_flight_records));
      e.lag.setAttribute('class', 'v' + (st.lag === null ? ' warn' : ''));
      e.dlq.setAttribute('class', 'v' + (stats.dlq > 0 ? ' bad' : ''));
      e.restarts.setAttribute('class', 'v' + (stats.node_restarts > 0 ? ' warn' : ''));
      set(row.inRate, rate ? fmtRate(rate.in) : '–');
      set(row.outRate, rate ? fmtRate(rate.out) : '–');
      set(row.lag, st.lag === null ? '?' : fmtInt(st.lag));
      row.lag.title = lagTip;
      set(row.dlq, fmtInt(stats.dlq));
      set(row.filtered, fmtInt(stats.filtered));
      set(row.restarts, fmtInt(stats.node_restarts));
      set(row.flight, fmtInt(stats.in_flight_records));
      set(row.consumed, fmtInt(stats.consumed));
      set(row.produced, fmtInt(stats.produced));
      if (rate) maxIn = Math.max(maxIn, rate.in);
    });
    polls++;
    document.body.setAttribute('data-polls', String(polls));
    document.body.setAttribute('data-max-in-rate', maxIn.toFixed(1));
    const ready = s.stages.filter(function (st) { return st.ready; }).length;
    const running = s.stages.filter(function (st) { return st.running; }).length;
    const status = document.getElementById('status');
    status.className = 'status live';
    set(status, ready + '/' + running + ' stages ready · updated ' + new Date(s.now).toLocaleTimeString() +
      (s.brokers && s.brokers.length ? ' · ' + s.brokers.join(',') : ''));
  }

  function poll() {
    fetch('api/status', { cache: 'no-store' })
      .then(function (resp) {
        if (!resp.ok) throw new Error('HTTP ' + resp.status);
        return resp.json();
      })
      .then(update)
      .catch(function (err) {
        const status = document.getElementById('status');
        status.className = 'status down';
        status.textContent = 'disconnected (' + err.message + '), retrying…';
      })
      .then(function () { setTimeout(poll, POLL_MS); });
  }

  poll();
})();
