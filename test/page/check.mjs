// Drives Debian's chromium (never a downloaded browser) over the llmtrace-gateway dashboard and
// writes what the page showed, as JSON, for test/page/run.sh to compare with SQL.
//
//   node check.mjs --url http://127.0.0.1:PORT/?refresh=1 --out result.json
//                  [--screenshot dashboard.png] [--chromium /usr/bin/chromium]
//                  [--ingest-url http://127.0.0.1:PORT/v1/ingest --token T --span FILE]
//                  [--fail] [--timeout-ms 60000]
//
// Phases, one browser session, results under their names in the JSON:
//   load     the page's first figures (after its first successful refresh)
//   refresh  with --span: the span in FILE is POSTed to --ingest-url after the page loaded,
//            then the page is left to refresh itself until #requests-today changes
//   failed   with --fail: dashboard/data is made to fail (connection refused, then a 503 with
//            a JSON error): the error the page shows and the figures it keeps
//   recovered  the next refresh after the failures ended
// Every console message, page error and request is recorded with the phase it came in.
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const args = {};
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  if (!a.startsWith('--')) throw new Error('unexpected argument ' + a);
  const k = a.slice(2);
  if (k === 'fail') args.fail = true;
  else args[k] = process.argv[++i];
}
if (!args.url || !args.out) {
  console.error('usage: node check.mjs --url URL --out FILE [--screenshot FILE] [--ingest-url URL --token T --span FILE] [--fail]');
  process.exit(2);
}
const timeout = Number(args['timeout-ms'] || 60000);
const result = { phases: {}, console: [], pageErrors: [], requests: [], failedRequests: [], steps: [] };
let phase = 'load';
const step = (s) => { result.steps.push({ phase, at: new Date().toISOString(), step: s }); };

// What the page shows: every element with an id and a data-value, and the rows of its tables.
function collect() {
  const figures = {};
  for (const e of document.querySelectorAll('[id][data-value]')) {
    figures[e.id] = { text: e.textContent.trim(), value: e.getAttribute('data-value') };
  }
  const cells = (tr) => {
    const o = {};
    for (const td of tr.querySelectorAll('[data-field]')) {
      o[td.getAttribute('data-field')] = { text: td.textContent.trim(), value: td.getAttribute('data-value') };
    }
    return o;
  };
  const rows = (sel, attrs) => Array.from(document.querySelectorAll(sel)).map((tr) => {
    const o = { cells: cells(tr) };
    for (const a of attrs) o[a] = tr.getAttribute('data-' + a);
    return o;
  });
  const chart = (id) => {
    const box = document.getElementById(id);
    const canvas = box && box.querySelector('canvas');
    return {
      canvas: !!canvas, width: canvas ? canvas.width : 0, height: canvas ? canvas.height : 0,
      points: box ? box.getAttribute('data-points') : null, empty: box ? box.getAttribute('data-empty') : null,
      legend: box ? Array.from(box.querySelectorAll('.u-legend th, .u-legend .u-label')).map((e) => e.textContent.trim()) : [],
    };
  };
  const banner = document.getElementById('fetch-error');
  const updated = document.getElementById('updated-at');
  return {
    state: document.body.getAttribute('data-state'),
    loads: Number(document.body.getAttribute('data-loads')),
    updated: { text: updated.textContent.trim(), ts: updated.getAttribute('data-ts') },
    window: { hours: document.getElementById('window-hours').getAttribute('data-value'),
      start: document.getElementById('window-hours').getAttribute('data-start') },
    error: { hidden: banner.hidden, text: banner.textContent.trim() },
    figures,
    models: rows('#cost-by-model tbody tr[data-model]', ['model', 'provider']),
    modelsEmpty: document.querySelectorAll('#cost-by-model tbody tr.empty').length > 0,
    modelsTotal: rows('#cost-by-model tfoot tr[data-total]', []),
    hourly: rows('#hourly-table tbody tr[data-hour]', ['hour']),
    alerts: rows('#alerts tbody tr[data-alert-id]', ['alert-id', 'rule', 'kind', 'severity', 'state']),
    alertsEmpty: document.querySelectorAll('#alerts tbody tr.empty').length > 0,
    charts: { costRequests: chart('chart-cost-requests'), latency: chart('chart-latency') },
    stylesheets: Array.from(document.styleSheets).map((s) => s.href),
    uplot: typeof window.uPlot,
  };
}

const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmtrace-page-chromium-'));
let context;
let code = 0;
try {
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: args.chromium || '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1280, height: 1000 },
    // Only the loopback: any other host fails to resolve (and is recorded as a request anyway).
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--disable-default-apps', '--disable-extensions',
      '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1'],
  });
  context.setDefaultTimeout(timeout);
  const page = context.pages()[0] || await context.newPage();
  page.on('console', (m) => result.console.push({ phase, type: m.type(), text: m.text(), location: m.location() }));
  page.on('pageerror', (e) => result.pageErrors.push({ phase, text: String(e && e.stack || e) }));
  page.on('request', (r) => result.requests.push({ phase, url: r.url(), method: r.method(), type: r.resourceType() }));
  page.on('requestfailed', (r) => result.failedRequests.push({ phase, url: r.url(), error: r.failure() && r.failure().errorText }));
  const loadsAbove = async (n) => page.waitForFunction((n) => Number(document.body.getAttribute('data-loads')) > n, n);

  step('goto ' + args.url);
  const resp = await page.goto(args.url, { waitUntil: 'load' });
  result.status = resp ? resp.status() : null;
  result.headers = resp ? await resp.allHeaders() : {};
  await loadsAbove(0);
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
  result.phases.load = await page.evaluate(collect);
  if (args.screenshot) {
    step('screenshot');
    await page.screenshot({ path: args.screenshot, fullPage: true });
  }

  if (args.span) {
    phase = 'refresh';
    const before = result.phases.load;
    step('POST ' + args['ingest-url']);
    const r = await fetch(args['ingest-url'], {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: 'Bearer ' + args.token },
      body: fs.readFileSync(args.span, 'utf8'),
    });
    result.ingest = { status: r.status, body: await r.text() };
    step('waiting for the page to refresh itself');
    await page.waitForFunction((v) => {
      const e = document.getElementById('requests-today');
      return e && e.getAttribute('data-value') !== v;
    }, before.figures['requests-today'] ? before.figures['requests-today'].value : '');
    result.phases.refresh = await page.evaluate(collect);
  }

  if (args.fail) {
    phase = 'failed';
    const last = await page.evaluate(collect);
    step('dashboard/data refused');
    await page.route('**/dashboard/data*', (route) => route.abort('connectionrefused'));
    await page.waitForFunction(() => document.body.getAttribute('data-state') === 'error');
    result.phases.refused = await page.evaluate(collect);
    await page.unroute('**/dashboard/data*');
    step('dashboard/data answers 503');
    await page.route('**/dashboard/data*', (route) => route.fulfill({
      status: 503, contentType: 'application/json', body: '{"error":"the database is unavailable (test)"}',
    }));
    await page.waitForFunction(() => document.getElementById('fetch-error').textContent.includes('the database is unavailable (test)'));
    result.phases.failed = await page.evaluate(collect);
    result.phases.beforeFailure = last;
    phase = 'recovered';
    const n = result.phases.failed.loads;
    await page.unroute('**/dashboard/data*');
    step('dashboard/data answers again');
    await loadsAbove(n);
    result.phases.recovered = await page.evaluate(collect);
  }
} catch (e) {
  result.error = String(e && e.stack || e);
  code = 1;
} finally {
  if (context) await context.close().catch(() => {});
  fs.rmSync(userDataDir, { recursive: true, force: true });
  fs.writeFileSync(args.out, JSON.stringify(result, null, 1));
}
process.exit(code);
