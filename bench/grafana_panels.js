#!/usr/bin/env node
// The SQL a Grafana panel of a llmtrace dashboard sends, for bench/observability.sh (Node 20, no
// dependencies): the panel's query, or another query written with the same variables and macros,
// with the template variables at their dashboard defaults and the macros expanded for the time
// range [now - hours, now], by the port of Grafana's expansion in test/grafana/check.js
// (frontendInterpolate, backendInterpolate, calculateInterval).
//
//   node bench/grafana_panels.js --dashboard FILE --panel TITLE --db NAME --role ROLE
//                                [--hours 24] [--now EPOCH_MS] [--sql FILE] [--provisioning DIR]
//
// Prints the SQL on stdout (the panel's first target unless --sql gives a template), and on
// stderr the range, $__interval and the variables. A query variable at All stands for every value
// its query returns; those queries are run with psql (PGHOST/PGPORT from the environment) in
// database --db as role --role (-U), as test/grafana/check.js does.
'use strict';

const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const grafana = require(path.join(__dirname, '../test/grafana/check.js'));

const NS_PER_MS = 1000000n;

function main() {
  const opts = { hours: 24, now: Date.now(), provisioning: path.join(__dirname, '../integrations/grafana/provisioning') };
  const args = process.argv.slice(2);
  for (let i = 0; i < args.length; i++) {
    const val = () => args[++i];
    const a = args[i];
    if (a === '--dashboard') opts.dashboard = val();
    else if (a === '--panel') opts.panel = val();
    else if (a === '--db') opts.db = val();
    else if (a === '--role') opts.role = val();
    else if (a === '--hours') opts.hours = Number(val());
    else if (a === '--now') opts.now = Number(val());
    else if (a === '--sql') opts.sql = val();
    else if (a === '--provisioning') opts.provisioning = val();
    else throw new Error(`unknown argument ${a}`);
  }
  for (const k of ['dashboard', 'panel', 'db', 'role']) if (!opts[k]) throw new Error(`--${k} is required`);

  const dash = JSON.parse(fs.readFileSync(opts.dashboard, 'utf8'));
  const panels = [];
  const walk = (ps) => (ps || []).forEach((p) => { panels.push(p); walk(p.panels); });
  walk(dash.panels);
  const panel = panels.find((p) => p.title === opts.panel);
  if (!panel) throw new Error(`no panel titled '${opts.panel}' in ${opts.dashboard}`);
  if (!panel.targets || !panel.targets.length) throw new Error(`panel '${opts.panel}' has no query`);

  // The data source's minimum interval (jsonData.timeInterval, '1m' when unset), as check.js.
  let timeInterval = '1m';
  try {
    const y = grafana.parseYaml(fs.readFileSync(path.join(opts.provisioning, 'datasources', 'llmtrace.yaml'), 'utf8'));
    const ds = (y.datasources || [])[0] || {};
    if (ds.jsonData && ds.jsonData.timeInterval) timeInterval = ds.jsonData.timeInterval;
  } catch (e) { /* the default */ }

  const range = { from: opts.now - opts.hours * 3600 * 1000, to: opts.now, now: opts.now };
  const run = (sql) => {
    const r = spawnSync('psql', ['-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', '-d', opts.db, '-U', opts.role],
                        { input: sql + ';\n', encoding: 'utf8', maxBuffer: 64 << 20 });
    if (r.status !== 0) throw new Error(`psql: ${(r.stderr || '').trim()}`);
    return r.stdout.split('\n').filter((l) => l !== '');
  };

  // Variables at their defaults, in order (check.js resolveVariables, without its checks).
  const vars = {};
  for (const v of (dash.templating && dash.templating.list) || []) {
    if (v.type === 'datasource') { vars[v.name] = { value: v.current && v.current.value, multi: false }; continue; }
    if (v.type === 'constant' || v.type === 'custom' || v.type === 'textbox') {
      vars[v.name] = { value: v.current ? v.current.value : v.query, multi: !!v.multi };
      continue;
    }
    if (v.type !== 'query') continue;
    const raw = typeof v.query === 'string' ? v.query : v.query.rawSql || v.query.query;
    const values = [...new Set(run(grafana.backendInterpolate(grafana.frontendInterpolate(raw, vars), range, { intervalNs: 0n })))];
    const cv = v.current && v.current.value;
    const isAll = cv === '$__all' || (Array.isArray(cv) && cv.includes('$__all'));
    let value = isAll ? (v.allValue ? v.allValue : values) : cv;
    if (v.multi && !Array.isArray(value) && !(isAll && v.allValue)) value = [value];
    vars[v.name] = { value, multi: !!v.multi };
  }

  // $__interval from the range, the panel's maxDataPoints (else its width, 1920 px for 24
  // columns) and its min interval (else the data source's), as check.js runDashboard.
  const resolution = panel.maxDataPoints || Math.max(1, Math.round((1920 * ((panel.gridPos && panel.gridPos.w) || 24)) / 24));
  const { intervalMs, interval } = grafana.calculateInterval(range, resolution, panel.interval || timeInterval);
  const scoped = Object.assign({}, vars, {
    __interval: { value: interval }, __interval_ms: { value: String(intervalMs) },
    __from: { value: String(range.from) }, __to: { value: String(range.to) },
    __range_ms: { value: String(range.to - range.from) },
    __range_s: { value: String(Math.round((range.to - range.from) / 1000)) },
    __range: { value: `${Math.round((range.to - range.from) / 1000)}s` },
  });
  const template = opts.sql ? fs.readFileSync(opts.sql, 'utf8') : panel.targets[0].rawSql;
  const sql = grafana.backendInterpolate(grafana.frontendInterpolate(template, scoped), range, { intervalNs: BigInt(intervalMs) * NS_PER_MS });
  process.stdout.write(sql.trim() + '\n');
  const shown = Object.entries(vars).filter(([k]) => k !== 'datasource')
    .map(([k, v]) => `$${k} = ${Array.isArray(v.value) ? v.value.length + ' values' : JSON.stringify(v.value)}`);
  process.stderr.write(`# '${opts.panel}': ${new Date(range.from).toISOString()} .. ${new Date(range.to).toISOString()}, ` +
                       `$__interval = ${interval}, ${shown.join(', ')}\n`);
}

try {
  main();
} catch (e) {
  process.stderr.write(`grafana_panels.js: ${e.message}\n`);
  process.exit(1);
}
