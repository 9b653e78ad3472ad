// The llmtrace-gateway dashboard: one request to dashboard/data every few seconds, figures
// written into the page with textContent (never as HTML), charts drawn with the vendored uPlot.
// Query parameters: hours=N (1..720, the window; default 24), refresh=S (seconds, at least 1;
// default 15). Every figure carries its raw value in data-value, for tests and scrapers.
(function () {
  'use strict';

  var params = new URLSearchParams(window.location.search);
  var HOURS = intParam('hours', 24, 1, 720);
  var REFRESH_S = Math.max(1, numParam('refresh', 15));
  var TIMEOUT_MS = Math.max(5000, REFRESH_S * 1000);

  var loads = 0;
  var lastOk = null;       // the generated_at of the figures shown
  var charts = {};         // id -> uPlot
  var hourlyData = null;   // the last hourly rows (for resizing)

  function intParam(name, dflt, min, max) {
    var v = params.get(name);
    if (v === null || !/^\d+$/.test(v)) return dflt;
    var n = parseInt(v, 10);
    return n >= min && n <= max ? n : dflt;
  }
  function numParam(name, dflt) {
    var n = parseFloat(params.get(name));
    return isFinite(n) && n > 0 ? n : dflt;
  }
  function $(id) { return document.getElementById(id); }
  function num(v) {
    if (v === null || v === undefined || v === '') return null;
    var n = Number(v);
    return isFinite(n) ? n : null;
  }

  // --- formatting ---------------------------------------------------------------------------
  function fmtUsd(v) {
    v = num(v);
    if (v === null) return '–';
    if (v === 0) return '$0.00';
    var a = Math.abs(v);
    if (a >= 1000) return '$' + v.toLocaleString('en-US', { maximumFractionDigits: 0 });
    if (a >= 1) return '$' + v.toFixed(2);
    if (a >= 0.01) return '$' + v.toFixed(4);
    return '$' + v.toPrecision(3);
  }
  function fmtInt(v) {
    v = num(v);
    return v === null ? '–' : Math.round(v).toLocaleString('en-US');
  }
  function fmtPct(v) {
    v = num(v);
    if (v === null) return '–';
    var p = v * 100;
    return (p === 0 ? '0' : p < 10 ? p.toFixed(2) : p.toFixed(1)) + ' %';
  }
  function fmtMs(v) {
    v = num(v);
    if (v === null) return '–';
    if (v >= 10000) return (v / 1000).toFixed(1) + ' s';
    if (v >= 1000) return (v / 1000).toFixed(2) + ' s';
    if (v >= 10) return Math.round(v) + ' ms';
    return v.toFixed(1) + ' ms';
  }
  function pad(n) { return (n < 10 ? '0' : '') + n; }
  function fmtTime(iso, withDate) {
    var d = new Date(iso);
    if (isNaN(d.getTime())) return String(iso);
    var t = pad(d.getUTCHours()) + ':' + pad(d.getUTCMinutes());
    if (withDate === 'seconds') return t + ':' + pad(d.getUTCSeconds());
    if (withDate) return d.getUTCFullYear() + '-' + pad(d.getUTCMonth() + 1) + '-' + pad(d.getUTCDate()) + ' ' + t;
    return t;
  }

  // Sets an element's text and its raw value.
  function setFigure(id, value, text) {
    var el = $(id);
    if (!el) return;
    el.textContent = text;
    el.setAttribute('data-value', value === null || value === undefined ? '' : String(value));
    el.title = value === null || value === undefined ? '' : String(value);
  }

  function el(tag, opts, children) {
    var e = document.createElement(tag);
    if (opts) {
      if (opts.cls) e.className = opts.cls;
      if (opts.text !== undefined) e.textContent = opts.text;
      if (opts.title) e.title = opts.title;
      if (opts.attrs) for (var k in opts.attrs) if (opts.attrs[k] !== null && opts.attrs[k] !== undefined) e.setAttribute(k, String(opts.attrs[k]));
    }
    (children || []).forEach(function (c) { if (c) e.appendChild(c); });
    return e;
  }
  // A table cell holding one figure: data-field names it, data-value holds the raw number.
  function cell(field, value, text, cls) {
    return el('td', { cls: cls || 'num', text: text, title: value === null || value === undefined ? '' : String(value),
      attrs: { 'data-field': field, 'data-value': value === null || value === undefined ? '' : value } });
  }
  function emptyRow(colspan, text) {
    return el('tr', { cls: 'empty' }, [el('td', { text: text, attrs: { colspan: colspan } })]);
  }
  function replaceBody(table, rows) {
    var tbody = table.tBodies[0];
    while (tbody.firstChild) tbody.removeChild(tbody.firstChild);
    rows.forEach(function (r) { tbody.appendChild(r); });
  }

  // --- rendering ----------------------------------------------------------------------------
  function render(d) {
    var today = d.today_total || {};
    setFigure('today-date', d.today, d.today ? '(' + d.today + ')' : '');
    setFigure('total-cost-today', num(today.cost_usd), fmtUsd(today.cost_usd));
    setFigure('requests-today', num(today.requests), fmtInt(today.requests));
    setFigure('errors-today', num(today.errors), fmtInt(today.errors));

    var w = d.window || {};
    setFigure('window-hours', d.hours, String(d.hours));
    $('window-hours').setAttribute('data-start', d.window_start || '');
    var label = 'last ' + d.hours + ' h';
    Array.prototype.forEach.call(document.querySelectorAll('.window-label'), function (e) { e.textContent = label; });
    setFigure('window-requests', num(w.requests), fmtInt(w.requests));
    setFigure('window-errors', num(w.errors), fmtInt(w.errors));
    setFigure('window-cost', num(w.cost_usd), fmtUsd(w.cost_usd));
    setFigure('window-error-rate', num(w.error_rate), fmtPct(w.error_rate));
    setFigure('window-unpriced', num(w.unpriced_spans), fmtInt(w.unpriced_spans));
    setFigure('latency-p50', num(w.p50_ms), fmtMs(w.p50_ms));
    setFigure('latency-p95', num(w.p95_ms), fmtMs(w.p95_ms));
    setFigure('latency-p99', num(w.p99_ms), fmtMs(w.p99_ms));
    var rate = num(w.error_rate) || 0, errEl = $('window-error-rate');
    errEl.classList.toggle('has-errors', rate >= 0.05);
    errEl.classList.toggle('some-errors', rate > 0 && rate < 0.05);

    renderModels(d.today_by_model || [], today);
    renderAlerts(d.alerts || []);
    renderHourly(d.hourly || []);
    hourlyData = d.hourly || [];
    renderCharts(hourlyData);
  }

  function renderModels(rows, total) {
    var table = $('cost-by-model');
    var max = 0;
    rows.forEach(function (r) { max = Math.max(max, num(r.cost_usd) || 0); });
    var out = rows.map(function (r) {
      var cost = num(r.cost_usd);
      var name = r.model === null || r.model === undefined ? '(no model)' : r.model;
      var bar = el('div', { cls: 'bar' });
      bar.style.width = (max > 0 && cost > 0 ? Math.max(1, 100 * cost / max) : 0).toFixed(1) + '%';
      var errors = num(r.errors) || 0;
      return el('tr', { attrs: { 'data-model': r.model === null ? '' : r.model, 'data-provider': r.provider === null ? '' : r.provider } }, [
        el('td', null, [el('span', { cls: 'model-name', text: name }), el('span', { cls: 'provider', text: r.provider || '—' })]),
        cell('requests', num(r.requests), fmtInt(r.requests)),
        cell('errors', errors, fmtInt(errors), errors > 0 ? 'num has-errors' : 'num'),
        cell('p95_ms', num(r.p95_ms), fmtMs(r.p95_ms)),
        cell('cost_usd', cost, fmtUsd(cost)),
        el('td', { cls: 'barcol' }, [el('div', { cls: 'bar-track' }, [bar])])
      ]);
    });
    replaceBody(table, out.length ? out : [emptyRow(6, 'No spans today (UTC) yet.')]);
    var tfoot = table.tFoot || table.createTFoot();
    while (tfoot.firstChild) tfoot.removeChild(tfoot.firstChild);
    if (out.length > 1) {
      tfoot.appendChild(el('tr', { attrs: { 'data-total': 'true' } }, [
        el('td', { text: 'Total' }),
        cell('requests', num(total.requests), fmtInt(total.requests)),
        cell('errors', num(total.errors), fmtInt(total.errors)),
        el('td'),
        cell('cost_usd', num(total.cost_usd), fmtUsd(total.cost_usd)),
        el('td')
      ]));
    }
  }

  function scopeText(s) {
    if (!s || typeof s !== 'object') return '';
    var parts = [];
    ['model', 'provider', 'project', 'environment'].forEach(function (k) { if (s[k]) parts.push(s[k]); });
    return parts.join(' · ');
  }
  function fmtAlertValue(a) {
    var v = num(a.value), t = num(a.threshold);
    if (v === null) return '';
    var f = function (x) {
      switch (a.kind) {
        case 'span_cost': case 'daily_cost': case 'cost_per_window': return fmtUsd(x);
        case 'span_latency': case 'p95_latency': return fmtMs(x);
        case 'error_rate': return x.toFixed(1) + ' %';
        default: return fmtInt(x);
      }
    };
    return f(v) + (t === null ? '' : ' > ' + f(t));
  }

  function renderAlerts(alerts) {
    var out = alerts.map(function (a) {
      var sev = String(a.severity || '');
      return el('tr', { attrs: { 'data-alert-id': a.id, 'data-rule': a.rule, 'data-kind': a.kind, 'data-severity': sev, 'data-state': a.state } }, [
        el('td', { cls: 'when', title: a.fired_at, attrs: { 'data-field': 'fired_at', 'data-value': a.fired_at } }, [
          el('span', { text: fmtTime(a.fired_at, 'seconds') }),
          el('span', { cls: 'date', text: String(a.fired_at).slice(0, 10) })
        ]),
        el('td', null, [el('span', { cls: 'sev sev-' + sev.replace(/[^a-z]/g, ''), text: sev })]),
        el('td', { attrs: { 'data-field': 'rule', 'data-value': a.rule } }, [
          el('span', { cls: 'rule', text: a.rule }),
          el('span', { cls: 'kind', text: a.kind }),
          a.state === 'resolved' ? el('span', { cls: 'state-resolved', text: 'resolved' }) : null
        ]),
        cell('value', num(a.value), fmtAlertValue(a)),
        el('td', { cls: 'scope', text: scopeText(a.scope), attrs: { 'data-field': 'scope' } })
      ]);
    });
    replaceBody($('alerts'), out.length ? out : [emptyRow(5, 'No alerts.')]);
  }

  function renderHourly(rows) {
    var out = rows.slice().reverse().map(function (h) {
      var req = num(h.requests) || 0, errs = num(h.errors) || 0;
      return el('tr', { attrs: { 'data-hour': h.hour } }, [
        el('td', { cls: 'when', text: fmtTime(h.hour, true), attrs: { 'data-field': 'hour', 'data-value': h.hour } }),
        cell('requests', req, fmtInt(req)),
        cell('errors', errs, fmtInt(errs), errs > 0 ? 'num has-errors' : 'num'),
        cell('error_rate', req > 0 ? errs / req : null, req > 0 ? fmtPct(errs / req) : '–'),
        cell('cost_usd', num(h.cost_usd), fmtUsd(h.cost_usd)),
        cell('p50_ms', num(h.p50_ms), fmtMs(h.p50_ms)),
        cell('p95_ms', num(h.p95_ms), fmtMs(h.p95_ms)),
        cell('p99_ms', num(h.p99_ms), fmtMs(h.p99_ms))
      ]);
    });
    replaceBody($('hourly-table'), out);
  }

  // --- charts -------------------------------------------------------------------------------
  function css(name) { return getComputedStyle(document.documentElement).getPropertyValue(name).trim(); }
  function chartWidth(box) { return Math.max(280, box.clientWidth); }
  function zeroBased(u, min, max) {
    if (max === null || max === undefined || !isFinite(max) || max <= 0) return [0, 1];
    return [0, max * 1.12];
  }
  function utc(ts) { return uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'); }
  // Hour ticks as 24-hour UTC times; the first tick and midnight also carry the date.
  function xValues(u, splits) {
    return splits.map(function (ts, i) {
      var d = new Date(ts * 1000);
      var t = pad(d.getUTCHours()) + ':' + pad(d.getUTCMinutes());
      if (i === 0 || (d.getUTCHours() === 0 && d.getUTCMinutes() === 0)) t += '\n' + pad(d.getUTCMonth() + 1) + '-' + pad(d.getUTCDate());
      return t;
    });
  }
  function usdAxis(v) { return v === 0 ? '$0' : '$' + Number(v.toPrecision(3)); }
  function fewPoints(u) { return u.data[0].length <= 48; }
  // Half an hour of room on both sides, so that the first and last bars are whole.
  function hourPadded(u, min, max) { return min === null || max === null ? [0, 3600] : [min - 1800, max + 1800]; }

  function makeCostRequests(box) {
    var bars = uPlot.paths.bars({ size: [0.7, 40], align: 0 });
    return new uPlot({
      width: chartWidth(box), height: 260, tzDate: utc,
      cursor: { points: { show: false } },
      legend: { live: true },
      scales: { x: { time: true, range: hourPadded }, n: { range: zeroBased }, usd: { range: zeroBased } },
      axes: [
        { stroke: css('--muted'), grid: { show: false }, ticks: { stroke: css('--line') }, values: xValues, size: 44 },
        { scale: 'n', stroke: css('--muted'), grid: { stroke: css('--line') }, ticks: { show: false }, size: 50,
          values: function (u, vals) { return vals.map(function (v) { return Number.isInteger(v) ? fmtInt(v) : ''; }); } },
        { scale: 'usd', side: 1, stroke: css('--cost'), grid: { show: false }, ticks: { show: false }, size: 64,
          values: function (u, vals) { return vals.map(usdAxis); } }
      ],
      series: [
        { value: function (u, v) { return v === null ? '' : fmtTime(new Date(v * 1000).toISOString(), true); } },
        { label: 'Requests', scale: 'n', fill: css('--req'), stroke: css('--req'), width: 0, paths: bars, points: { show: false },
          value: function (u, v) { return fmtInt(v); } },
        { label: 'Errors', scale: 'n', fill: css('--err'), stroke: css('--err'), width: 0, paths: bars, points: { show: false },
          value: function (u, v) { return fmtInt(v); } },
        { label: 'Cost', scale: 'usd', stroke: css('--cost'), width: 2, points: { show: fewPoints, size: 5, fill: css('--cost') },
          value: function (u, v) { return fmtUsd(v); } }
      ]
    }, [[], [], [], []], box);
  }

  function makeLatency(box) {
    var line = function (label, color, width, dash) {
      return { label: label, scale: 'ms', stroke: color, width: width, dash: dash, spanGaps: false,
        points: { show: fewPoints, size: 5, fill: color }, value: function (u, v) { return fmtMs(v); } };
    };
    return new uPlot({
      width: chartWidth(box), height: 260, tzDate: utc,
      cursor: { points: { size: 7 } },
      scales: { x: { time: true, range: hourPadded }, ms: { range: zeroBased } },
      axes: [
        { stroke: css('--muted'), grid: { show: false }, ticks: { stroke: css('--line') }, values: xValues, size: 44 },
        { scale: 'ms', stroke: css('--muted'), grid: { stroke: css('--line') }, ticks: { show: false }, size: 64,
          values: function (u, vals) { return vals.map(function (v) { return v === 0 ? '0' : fmtMs(v); }); } }
      ],
      series: [
        { value: function (u, v) { return v === null ? '' : fmtTime(new Date(v * 1000).toISOString(), true); } },
        line('p50', '#2e9d5b', 2),
        line('p95', '#e08a1e', 2.5),
        line('p99', '#d64545', 1.5, [5, 4])
      ]
    }, [[], [], [], []], box);
  }

  function renderCharts(rows) {
    if (typeof uPlot === 'undefined') return;  // the library did not load: the tables still show everything
    var ts = rows.map(function (h) { return Math.floor(new Date(h.hour).getTime() / 1000); });
    var col = function (k) { return rows.map(function (h) { return num(h[k]); }); };
    var zero = function (k) { return rows.map(function (h) { return num(h[k]) || 0; }); };

    var box1 = $('chart-cost-requests'), box2 = $('chart-latency');
    if (!charts.cr) charts.cr = makeCostRequests(box1);
    if (!charts.lat) charts.lat = makeLatency(box2);
    charts.cr.setData([ts, zero('requests'), zero('errors'), zero('cost_usd')]);
    charts.lat.setData([ts, col('p50_ms'), col('p95_ms'), col('p99_ms')]);

    var anyReq = rows.some(function (h) { return (num(h.requests) || 0) > 0; });
    var anyLat = rows.some(function (h) { return num(h.p50_ms) !== null; });
    box1.setAttribute('data-empty', anyReq ? 'false' : 'true');
    box1.setAttribute('data-empty-text', 'No requests in the window.');
    box2.setAttribute('data-empty', anyLat ? 'false' : 'true');
    box2.setAttribute('data-empty-text', 'No latency recorded in the window.');
    box1.setAttribute('data-points', String(ts.length));
    box2.setAttribute('data-points', String(ts.length));
  }

  function resizeCharts() {
    if (charts.cr) charts.cr.setSize({ width: chartWidth($('chart-cost-requests')), height: 260 });
    if (charts.lat) charts.lat.setSize({ width: chartWidth($('chart-latency')), height: 260 });
  }

  // --- loading ------------------------------------------------------------------------------
  function showError(msg) {
    var banner = $('fetch-error');
    banner.textContent = 'Could not refresh: ' + msg +
      (lastOk ? ' — showing the figures of ' + fmtTime(lastOk, 'seconds') + ' UTC.' : '.') +
      ' Retrying every ' + REFRESH_S + ' s.';
    banner.hidden = false;
    document.body.setAttribute('data-state', 'error');
  }
  function clearError() {
    var banner = $('fetch-error');
    banner.hidden = true;
    banner.textContent = '';
    document.body.setAttribute('data-state', 'ok');
  }

  function load() {
    var ctrl = typeof AbortController === 'function' ? new AbortController() : null;
    var timer = setTimeout(function () { if (ctrl) ctrl.abort(); }, TIMEOUT_MS);
    var status = 0;
    fetch('dashboard/data?hours=' + HOURS, {
      cache: 'no-store', credentials: 'same-origin', headers: { Accept: 'application/json' },
      signal: ctrl ? ctrl.signal : undefined
    }).then(function (r) {
      status = r.status;
      return r.text();
    }).then(function (text) {
      var body = null;
      try { body = JSON.parse(text); } catch (e) { body = null; }
      if (status !== 200) {
        throw new Error((body && body.error ? body.error : 'the gateway answered ' + status) + ' (HTTP ' + status + ')');
      }
      if (!body || typeof body !== 'object' || !body.window) throw new Error('the answer is not the dashboard\'s JSON');
      render(body);
      loads += 1;
      lastOk = body.generated_at;
      var up = $('updated-at');
      up.textContent = 'Updated ' + fmtTime(body.generated_at, 'seconds') + ' UTC';
      up.setAttribute('data-ts', body.generated_at);
      up.title = body.generated_at;
      document.body.setAttribute('data-loads', String(loads));
      clearError();
    }).catch(function (e) {
      var msg = e && e.name === 'AbortError' ? 'no answer within ' + Math.round(TIMEOUT_MS / 1000) + ' s'
        : e && e.message ? e.message : String(e);
      if (e && e.name === 'TypeError' && status === 0) msg = 'the gateway is unreachable (' + e.message + ')';
      showError(msg);
    }).then(function () {
      clearTimeout(timer);
      setTimeout(load, REFRESH_S * 1000);
    });
  }

  function start() {
    setFigure('refresh-interval', REFRESH_S, String(REFRESH_S));
    setFigure('window-hours', HOURS, String(HOURS));
    if (typeof ResizeObserver === 'function') {
      var pending = false;
      new ResizeObserver(function () {
        if (pending) return;
        pending = true;
        requestAnimationFrame(function () { pending = false; resizeCharts(); });
      }).observe(document.querySelector('.charts'));
    }
    load();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
