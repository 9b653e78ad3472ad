#!/usr/bin/env node
// Validates the llmtrace Grafana dashboards and runs every panel and variable query against a
// database, the way Grafana would send it (Node 20, no dependencies).
//
//   node test/grafana/check.js [--dashboards DIR] [--provisioning DIR] [--db NAME] [--role ROLE]
//                              [--hours N] [--results FILE] [--structure-only]
//
// Structure (every dashboard file): JSON, a unique uid across the files, schemaVersion pinned to
// 39, no __inputs, a `datasource` templating variable defaulting to the uid the data source
// provisioning file sets, unique panel ids, gridPos inside the 24 columns and not overlapping (top
// level, and within each collapsed row), every panel and target datasource ${datasource}, what each
// query may read (the rollup views, or llmtrace.spans / alerts / ingest_errors bounded by the time
// range), no macro inside an SQL comment; the provisioning files themselves.
//
// Queries: each variable query and each target's rawSql is interpolated as Grafana does it, then
// run with psql (PGHOST/PGPORT/PGUSER from the environment) in database --db after SET ROLE
// --role, over the time range [now - N hours, now] (N = 24 by default):
//   1. the front end replaces template variables (the scenes/templateSrv variable syntax $var,
//      ${var}, ${var:format}, [[var]]) with their default values, formatted as the PostgreSQL data
//      source does (public/app/plugins/datasource/grafana-postgresql-datasource/datasource.ts:
//      interpolateVariable; PostgresQueryModel.ts: quoteLiteral): a multi-value variable at 'All'
//      (no custom all value) stands for every value its query returned; $__interval and
//      $__interval_ms come from the time range, the panel's maxDataPoints (else its width, taken as
//      1920 px for 24 columns) and its min interval (else the data source's timeInterval, '1m' when
//      unset) (packages/grafana-data/src/datetime/rangeutil.ts: calculateInterval, roundInterval,
//      secondsToHms);
//   2. the back end expands the macros exactly as grafana/grafana
//      pkg/tsdb/grafana-postgresql-datasource/macros.go does (ported below from the version at
//      commit 446b3e1f13300e6160905e8e1c7c39fcab9aa084, with pkg/tsdb/sqlmacro/sqlmacro.go and
//      sqleng/sql_engine.go Interpolate and the grafana-plugin-sdk-go backend/gtime ParseInterval
//      and FormatInterval): SQL comments stripped (SQLCommenter tags without a macro kept), then
//      $__interval_ms, $__interval, $__unixEpochFrom(), $__unixEpochTo() replaced, then every
//      $name(args) call: $__time, $__timeEpoch, $__timeFilter, $__timeFrom, $__timeTo,
//      $__timeGroup (pre-5.3 alias when a ',' follows; optional fill argument), $__timeGroupAlias,
//      $__unixEpochFilter, $__unixEpochNanoFilter, $__unixEpochNanoFrom, $__unixEpochNanoTo,
//      $__unixEpochGroup, $__unixEpochGroupAlias; timescaledb off, as provisioned.
// Every query must succeed and return at least one row; a time_series target must have a `time`
// column (a time or a number), non-null and sorted, with at least one numeric value column and no
// two rows for the same time and labels. Golden cases of macros_test.go check the port, and
// broken copies of a dashboard check that the validator reports what it must.
//
// Prints "ok - <dashboard>/<panel title>/<refId>" (or FAILED - ...) per query and per check, and
// ends with "N passed, N failed"; exits 1 if anything failed.
'use strict';

const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');

const SCHEMA_VERSION = 39;
const DS_TYPE = 'grafana-postgresql-datasource';
const DS_REF = { type: DS_TYPE, uid: '${datasource}' };

// ------------------------------------------------------------------------------------------------
// Output
let passed = 0;
let failed = 0;
function ok(name) {
  console.log(`ok - ${name}`);
  passed++;
}
function notOk(name, why) {
  console.log(`FAILED - ${name}${why ? ': ' + why : ''}`);
  failed++;
}
function check(name, problems) {
  if (problems.length === 0) ok(name);
  else notOk(name, problems.join('; '));
}

// ------------------------------------------------------------------------------------------------
// Go semantics needed by the port. Durations are BigInt nanoseconds, as Go's time.Duration.
const NS = { ns: 1n, us: 1000n, 'µs': 1000n, 'μs': 1000n, ms: 1000000n, s: 1000000000n, m: 60000000000n, h: 3600000000000n };

// time.ParseDuration: [-+]? ( digits [. digits] unit )+ , or "0".
function goParseDuration(s) {
  const orig = s;
  let neg = false;
  if (s !== '' && (s[0] === '-' || s[0] === '+')) {
    neg = s[0] === '-';
    s = s.slice(1);
  }
  if (s === '0') return 0n;
  if (s === '') throw new Error(`time: invalid duration "${orig}"`);
  let total = 0;
  let totalNs = 0n;
  while (s !== '') {
    const m = /^([0-9]*)(?:\.([0-9]*))?/.exec(s);
    if (!m || (m[1] === '' && (m[2] === undefined || m[2] === ''))) throw new Error(`time: invalid duration "${orig}"`);
    s = s.slice(m[0].length);
    const u = /^(ns|us|µs|μs|ms|s|m|h)/.exec(s);
    if (!u) throw new Error(`time: missing unit in duration "${orig}"`);
    s = s.slice(u[0].length);
    const unit = NS[u[0]];
    let v = BigInt(m[1] || '0') * unit;
    if (m[2]) {
      // the fraction, truncated to whole nanoseconds as Go does
      const frac = m[2];
      v += (BigInt(frac) * unit) / 10n ** BigInt(frac.length);
    }
    totalNs += v;
    total++;
  }
  if (total === 0) throw new Error(`time: invalid duration "${orig}"`);
  return neg ? -totalNs : totalNs;
}

// gtime.ParseInterval: d/w/M/y relative to the current UTC wall time (Go's AddDate), else
// time.ParseDuration.
function gtimeParseInterval(inp, nowMs = Date.now()) {
  const m = /^(\d+)([dwMy])$/.exec(inp);
  if (!m) return goParseDuration(inp);
  const num = parseInt(m[1], 10);
  const now = new Date(nowMs);
  const then = new Date(nowMs);
  switch (m[2]) {
    case 'd': then.setUTCDate(now.getUTCDate() + num); break;
    case 'w': then.setUTCDate(now.getUTCDate() + num * 7); break;
    case 'M': then.setUTCMonth(now.getUTCMonth() + num); break;
    case 'y': then.setUTCFullYear(now.getUTCFullYear() + num); break;
  }
  return BigInt(then.getTime() - now.getTime()) * 1000000n;
}

// gtime.FormatInterval
function gtimeFormatInterval(d) {
  const year = 365n * 24n * NS.h;
  const day = 24n * NS.h;
  if (d >= year) return `${d / year}y`;
  if (d >= day) return `${d / day}d`;
  if (d >= NS.h) return `${d / NS.h}h`;
  if (d >= NS.m) return `${d / NS.m}m`;
  if (d >= NS.s) return `${d / NS.s}s`;
  if (d >= NS.ms) return `${d / NS.ms}ms`;
  return '1ms';
}

// Duration.Seconds() as a float64
const durSeconds = (d) => Number(d / NS.s) + Number(d % NS.s) / 1e9;

// fmt's %v of a float64: strconv's 'g' with the shortest representation, which switches to %e when
// the decimal exponent is < -4 or >= 6 (the precision used for that decision in the shortest form):
// 3600 -> "3600", 2592000 -> "2.592e+06", 0.02 -> "0.02".
function goFloatV(x) {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return '+Inf';
  if (x === -Infinity) return '-Inf';
  if (x === 0) return Object.is(x, -0) ? '-0' : '0';
  const [mant, expStr] = x.toExponential().split('e'); // shortest digits that round-trip
  const exp = parseInt(expStr, 10);
  if (exp < -4 || exp >= 6) {
    const e = Math.abs(exp) < 10 ? `0${Math.abs(exp)}` : `${Math.abs(exp)}`;
    return `${mant}e${exp < 0 ? '-' : '+'}${e}`;
  }
  const neg = mant.startsWith('-');
  const digits = mant.replace('-', '').replace('.', '');
  let str;
  if (exp >= 0) {
    str = digits.length > exp + 1 ? `${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}` : digits + '0'.repeat(exp + 1 - digits.length);
  } else {
    str = `0.${'0'.repeat(-exp - 1)}${digits}`;
  }
  return (neg ? '-' : '') + str;
}

// fmt's %.3f
const goFixed3 = (x) => x.toFixed(3);

// time.Time.UTC().Format(time.RFC3339Nano) of a millisecond timestamp (a trailing-zero-free
// fraction, none when whole seconds).
function rfc3339Nano(ms) {
  const d = new Date(ms);
  const pad = (n, w = 2) => String(n).padStart(w, '0');
  let s = `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
  const msPart = ((ms % 1000) + 1000) % 1000;
  if (msPart) s += '.' + String(msPart).padStart(3, '0').replace(/0+$/, '');
  return s + 'Z';
}
const unixSeconds = (ms) => BigInt(Math.floor(ms / 1000));
const unixNano = (ms) => BigInt(Math.floor(ms)) * 1000000n;

// ------------------------------------------------------------------------------------------------
// pkg/tsdb/sqlmacro/sqlmacro.go
const MACRO_EXPR = /\$([_a-zA-Z0-9]+)\(([^)]*)\)/g;
const MACRO_TOKEN = /\$(__[a-zA-Z0-9_]*|[_a-zA-Z0-9]+\s*\()/;
const containsMacro = (s) => MACRO_TOKEN.test(s);

// macros.go: stripSQLComments and its helpers
const SQL_COMMENTER = /^\/\*\s*[a-zA-Z0-9%_.-]+='[^'*]*'(\s*,\s*[a-zA-Z0-9%_.-]+='[^'*]*')*\s*\*\/$/;
const isDollarTagChar = (c) => /[a-zA-Z0-9_]/.test(c);
function stripSQLComments(sql) {
  let out = '';
  let i = 0;
  const n = sql.length;
  const consumeQuoted = (q) => {
    out += q;
    i++;
    while (i < n) {
      if (sql[i] === q) {
        out += sql[i];
        i++;
        if (i < n && sql[i] === q) {
          out += sql[i];
          i++;
        } else break;
      } else {
        out += sql[i];
        i++;
      }
    }
  };
  const consumeDollarQuoted = (closing) => {
    out += closing;
    i += closing.length;
    while (i < n) {
      if (sql.startsWith(closing, i)) {
        out += closing;
        i += closing.length;
        break;
      }
      out += sql[i];
      i++;
    }
  };
  while (i < n) {
    const c = sql[i];
    if (c === '$') {
      const j = i + 1;
      if (j < n && sql[j] === '$') {
        consumeDollarQuoted('$$');
      } else if (j < n && isDollarTagChar(sql[j]) && !(sql[j] >= '0' && sql[j] <= '9')) {
        let k = j + 1;
        while (k < n && isDollarTagChar(sql[k])) k++;
        if (k < n && sql[k] === '$') consumeDollarQuoted(sql.slice(i, k + 1));
        else {
          out += c;
          i++;
        }
      } else {
        out += c;
        i++;
      }
    } else if (c === "'") {
      consumeQuoted("'");
    } else if (c === '"') {
      consumeQuoted('"');
    } else if (i + 1 < n && c === '/' && sql[i + 1] === '*') {
      const start = i;
      i += 2;
      let closed = false;
      while (i + 1 < n) {
        if (sql[i] === '*' && sql[i + 1] === '/') {
          i += 2;
          closed = true;
          break;
        }
        i++;
      }
      if (closed) {
        const comment = sql.slice(start, i);
        if (SQL_COMMENTER.test(comment) && !containsMacro(comment)) out += comment;
      }
    } else if (i + 1 < n && c === '-' && sql[i + 1] === '-') {
      while (i < n && sql[i] !== '\n') i++;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

// sqleng/sql_engine.go: Interpolate (the global substitutions). intervalNs: the query's Interval.
function sqlengInterpolate(sql, range, intervalNs) {
  sql = sql.split('$__interval_ms').join(String(intervalNs / NS.ms));
  sql = sql.split('$__interval').join(gtimeFormatInterval(intervalNs));
  sql = sql.split('$__unixEpochFrom()').join(String(unixSeconds(range.from)));
  sql = sql.split('$__unixEpochTo()').join(String(unixSeconds(range.to)));
  return sql;
}

// sqleng.SetupFillmode: only validates here (the fill itself happens on the returned frame).
function setupFillmode(query, intervalNs, fillmode) {
  query.fill = true;
  query.fillInterval = durSeconds(intervalNs);
  if (fillmode === 'NULL') query.fillMode = 'null';
  else if (fillmode === 'previous') query.fillMode = 'previous';
  else {
    query.fillMode = 'value';
    // strconv.ParseFloat
    if (!/^[+-]?(\d+\.?\d*([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?|inf(inity)?|nan)$/i.test(fillmode)) {
      throw new Error(`error parsing fill value ${fillmode}`);
    }
    query.fillValue = parseFloat(fillmode);
  }
}

function evaluateMacro(range, query, name, args, timescaledb) {
  const needCol = () => {
    if (args.length === 0) throw new Error(`missing time column argument for macro ${name}`);
  };
  const groupInterval = () => {
    if (args.length < 2) throw new Error(`macro ${name} needs time column and interval and optional fill value`);
    let interval;
    try {
      interval = gtimeParseInterval(args[1].replace(/^'+|'+$/g, ''), range.now);
    } catch (e) {
      throw new Error(`error parsing interval ${args[1]}`);
    }
    if (interval <= 0n) throw new Error(`interval must be positive, got ${args[1]}`);
    if (args.length === 3) setupFillmode(query, interval, args[2]);
    return interval;
  };
  switch (name) {
    case '__time':
      needCol();
      return `${args[0]} AS "time"`;
    case '__timeEpoch':
      needCol();
      return `extract(epoch from ${args[0]}) as "time"`;
    case '__timeFilter':
      needCol();
      return `${args[0]} BETWEEN '${rfc3339Nano(range.from)}' AND '${rfc3339Nano(range.to)}'`;
    case '__timeFrom':
      return `'${rfc3339Nano(range.from)}'`;
    case '__timeTo':
      return `'${rfc3339Nano(range.to)}'`;
    case '__timeGroup': {
      const interval = groupInterval();
      const sec = durSeconds(interval);
      if (timescaledb) return `time_bucket('${goFixed3(sec)}s',${args[0]})`;
      return `floor(extract(epoch from ${args[0]})/${goFloatV(sec)})*${goFloatV(sec)}`;
    }
    case '__timeGroupAlias':
      return evaluateMacro(range, query, '__timeGroup', args, timescaledb) + ' AS "time"';
    case '__unixEpochFilter':
      needCol();
      return `${args[0]} >= ${unixSeconds(range.from)} AND ${args[0]} <= ${unixSeconds(range.to)}`;
    case '__unixEpochNanoFilter':
      needCol();
      return `${args[0]} >= ${unixNano(range.from)} AND ${args[0]} <= ${unixNano(range.to)}`;
    case '__unixEpochNanoFrom':
      return `${unixNano(range.from)}`;
    case '__unixEpochNanoTo':
      return `${unixNano(range.to)}`;
    case '__unixEpochGroup': {
      const sec = durSeconds(groupInterval());
      return `floor((${args[0]})/${goFloatV(sec)})*${goFloatV(sec)}`;
    }
    case '__unixEpochGroupAlias':
      return evaluateMacro(range, query, '__unixEpochGroup', args, timescaledb) + ' AS "time"';
    default:
      throw new Error(`unknown macro "${name}"`);
  }
}

// postgresMacroEngine.Interpolate. range: {from, to, now} in ms; query: {intervalNs} (fill
// settings are written into it as SetupFillmode does).
function backendInterpolate(sql, range, query, timescaledb = false) {
  sql = stripSQLComments(sql);
  sql = sqlengInterpolate(sql, range, query.intervalNs);
  let macroError = null;
  const original = sql;
  const result = original.replace(MACRO_EXPR, (whole, name, argstr) => {
    if (name === '__timeGroup') {
      const index = original.indexOf(whole);
      if (index >= 0) {
        const after = index + whole.length;
        if (original.length > after && original[after] === ',') name = '__timeGroupAlias';
      }
    }
    const args = argstr.split(',').map((a) => a.replace(/^ +| +$/g, ''));
    try {
      return evaluateMacro(range, query, name, args, timescaledb);
    } catch (e) {
      if (!macroError) macroError = e;
      return 'macro_error()';
    }
  });
  if (macroError) throw macroError;
  return result;
}

// ------------------------------------------------------------------------------------------------
// The front end: packages/grafana-data/src/datetime/rangeutil.ts
function roundInterval(interval) {
  const steps = [[10, 1], [15, 10], [35, 20], [75, 50], [150, 100], [350, 200], [750, 500], [1500, 1000],
    [3500, 2000], [7500, 5000], [12500, 10000], [17500, 15000], [25000, 20000], [45000, 30000],
    [90000, 60000], [210000, 120000], [450000, 300000], [750000, 600000], [1050000, 900000],
    [1500000, 1200000], [2700000, 1800000], [5400000, 3600000], [9000000, 7200000],
    [16200000, 10800000], [32400000, 21600000], [86400000, 43200000], [604800000, 86400000],
    [1814400000, 604800000], [3628800000, 2592000000]];
  for (const [lt, v] of steps) if (interval < lt) return v;
  return 31536000000;
}
const INTERVALS_IN_SECONDS = { y: 31536000, M: 2592000, w: 604800, d: 86400, h: 3600, m: 60, s: 1, ms: 0.001 };
function intervalToMs(str) {
  if (Number(str)) return 1000 * parseInt(str, 10);
  const m = /^(-?\d+(?:\.\d+)?)(ms|[Mwdhmsy])/.exec(str);
  if (!m) throw new Error(`Invalid interval string ${str}`);
  return INTERVALS_IN_SECONDS[m[2]] * 1000 * parseInt(m[1], 10);
}
function secondsToHms(seconds) {
  const y = Math.floor(seconds / 31536000);
  if (y) return y + 'y';
  const d = Math.floor((seconds % 31536000) / 86400);
  if (d) return d + 'd';
  const h = Math.floor(((seconds % 31536000) % 86400) / 3600);
  if (h) return h + 'h';
  const mi = Math.floor((((seconds % 31536000) % 86400) % 3600) / 60);
  if (mi) return mi + 'm';
  const s = Math.floor((((seconds % 31536000) % 86400) % 3600) % 60);
  if (s) return s + 's';
  const ms = Math.floor(seconds * 1000.0);
  if (ms) return ms + 'ms';
  return 'less than a millisecond';
}
function calculateInterval(range, resolution, lowLimitInterval) {
  let lowLimitMs = 1;
  if (lowLimitInterval) lowLimitMs = intervalToMs(lowLimitInterval);
  let intervalMs = roundInterval((range.to - range.from) / resolution);
  if (lowLimitMs > intervalMs) intervalMs = lowLimitMs;
  return { intervalMs, interval: secondsToHms(intervalMs / 1000) };
}

// Template variables. vars: name -> {value: string | string[], multi}
const VARIABLE_REGEX = /\$(\w+)|\[\[(\w+?)(?::(\w+))?\]\]|\${(\w+)(?:\.([^:^}]+))?(?::([^}]+))?}/g;
const quoteLiteral = (v) => "'" + String(v).replace(/'/g, "''") + "'";
// datasource.ts interpolateVariable (the default format of the PostgreSQL data source)
function interpolateVariable(value) {
  if (typeof value === 'string') return value.replace(/'/g, "''");
  if (typeof value === 'number') return value;
  if (Array.isArray(value)) return value.map((v) => quoteLiteral(v)).join(',');
  return value;
}
const FORMATS = {
  sqlstring: (v) => (Array.isArray(v) ? v : [v]).map((x) => `'${String(x).replace(/'/g, "''")}'`).join(','),
  csv: (v) => (Array.isArray(v) ? v.join(',') : String(v)),
  raw: (v) => (Array.isArray(v) ? v.join(',') : String(v)),
  text: (v) => (Array.isArray(v) ? v.join(' + ') : String(v)),
  singlequote: (v) => (Array.isArray(v) ? v : [v]).map((x) => `'${String(x).replace(/'/g, "\\'")}'`).join(','),
  doublequote: (v) => (Array.isArray(v) ? v : [v]).map((x) => `"${String(x).replace(/"/g, '\\"')}"`).join(','),
  pipe: (v) => (Array.isArray(v) ? v.join('|') : String(v)),
};
function frontendInterpolate(sql, vars) {
  return sql.replace(VARIABLE_REGEX, (match, v1, v2, fmt2, v4, fieldPath, fmt6) => {
    const name = v1 || v2 || v4;
    const fmt = fmt2 || fmt6;
    if (!Object.prototype.hasOwnProperty.call(vars, name)) return match;
    const { value } = vars[name];
    if (fmt) {
      const f = FORMATS[fmt.split(':')[0]];
      if (!f) throw new Error(`unsupported variable format ${fmt} in ${match}`);
      return f(value);
    }
    return String(interpolateVariable(value));
  });
}

// ------------------------------------------------------------------------------------------------
// A minimal YAML reader for the provisioning files: block maps, block lists of maps or scalars,
// plain/quoted scalars, comments. Enough to check what they say, not a general parser.
function parseYaml(text) {
  const lines = [];
  for (const raw of text.split('\n')) {
    const noComment = raw.replace(/(^|\s)#.*$/, '');
    if (noComment.trim() === '') continue;
    lines.push({ indent: raw.match(/^ */)[0].length, text: noComment.trim() });
  }
  let pos = 0;
  const scalar = (s) => {
    if (/^'.*'$/.test(s)) return s.slice(1, -1).replace(/''/g, "'");
    if (/^".*"$/.test(s)) return JSON.parse(s);
    if (s === 'true') return true;
    if (s === 'false') return false;
    if (/^-?\d+$/.test(s)) return parseInt(s, 10);
    return s;
  };
  function parseBlock(indent) {
    if (pos >= lines.length) return null;
    if (lines[pos].text.startsWith('- ') || lines[pos].text === '-') {
      const list = [];
      while (pos < lines.length && lines[pos].indent === indent && lines[pos].text.startsWith('-')) {
        const rest = lines[pos].text.replace(/^-\s*/, '');
        if (/^[^'"][^:]*:(\s|$)/.test(rest)) {
          // a map item: its first key is on the dash line
          lines[pos] = { indent: indent + 2, text: rest };
          list.push(parseBlock(indent + 2));
        } else {
          list.push(scalar(rest));
          pos++;
        }
      }
      return list;
    }
    const map = {};
    while (pos < lines.length && lines[pos].indent === indent && !lines[pos].text.startsWith('- ')) {
      const m = /^([^:]+):(?:\s+(.*))?$/.exec(lines[pos].text);
      if (!m) throw new Error(`cannot read YAML line: ${lines[pos].text}`);
      pos++;
      if (m[2] !== undefined && m[2] !== '') map[m[1].trim()] = scalar(m[2]);
      else if (pos < lines.length && lines[pos].indent > indent) map[m[1].trim()] = parseBlock(lines[pos].indent);
      else if (pos < lines.length && lines[pos].indent === indent && lines[pos].text.startsWith('- ')) map[m[1].trim()] = parseBlock(indent);
      else map[m[1].trim()] = null;
    }
    return map;
  }
  return parseBlock(lines.length ? lines[0].indent : 0);
}

// ------------------------------------------------------------------------------------------------
// Structure
const isDsRef = (d) => d && typeof d === 'object' && d.type === DS_TYPE && d.uid === '${datasource}' && Object.keys(d).length === 2;

function allPanels(dash) {
  const out = [];
  for (const p of dash.panels || []) {
    out.push(p);
    if (p.type === 'row') for (const c of p.panels || []) out.push(c);
  }
  return out;
}

function overlaps(a, b) {
  return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}

function gridProblems(panels, where) {
  const problems = [];
  for (const p of panels) {
    const g = p.gridPos;
    if (!g || ![g.x, g.y, g.w, g.h].every((v) => Number.isInteger(v) && v >= 0)) {
      problems.push(`${where}panel ${p.id} "${p.title}": gridPos must have integer x, y, w, h`);
      continue;
    }
    if (g.w < 1 || g.h < 1 || g.x + g.w > 24) problems.push(`${where}panel ${p.id} "${p.title}": gridPos outside the 24 columns`);
  }
  for (let i = 0; i < panels.length; i++) {
    for (let j = i + 1; j < panels.length; j++) {
      const a = panels[i].gridPos;
      const b = panels[j].gridPos;
      if (a && b && overlaps(a, b)) {
        problems.push(`${where}gridPos of panel ${panels[i].id} "${panels[i].title}" overlaps panel ${panels[j].id} "${panels[j].title}"`);
      }
    }
  }
  return problems;
}

// What a query may read: the rollup views and llmtrace.health (which reads rollups, the catalog
// and the ingest minutes, never spans), or llmtrace.spans / alerts / ingest_errors bounded by the
// time range (spans also by a LIMIT); functions (name followed by "(") are not relations.
const BOUNDED = {
  spans: { filter: '$__timeFilter(start_time)', limit: true },
  alerts: { filter: '$__timeFilter(fired_at)', limit: true },
  ingest_errors: { filter: '$__timeFilter(received_at)', limit: true },
};
const ROLLUPS = new Set(['hourly_metrics', 'daily_metrics', 'health']);
function readProblems(sql) {
  const problems = [];
  const body = stripSQLComments(sql);
  const rels = new Set();
  for (const m of body.matchAll(/llmtrace\.([a-z_][a-z0-9_]*)\s*(\()?/gi)) if (!m[2]) rels.add(m[1]);
  if (/\bFROM\s+(?!llmtrace\.)[a-z_"]/i.test(body.replace(/extract\s*\(\s*epoch\s+from/gi, ''))) {
    problems.push('reads a relation outside the llmtrace schema');
  }
  for (const r of rels) {
    if (ROLLUPS.has(r)) continue;
    const b = BOUNDED[r];
    if (!b) {
      problems.push(`reads llmtrace.${r} (only llmtrace.hourly_metrics/daily_metrics/health, or spans/alerts/ingest_errors bounded by the time range)`);
      continue;
    }
    if (!body.includes(b.filter)) problems.push(`reads llmtrace.${r} without ${b.filter}`);
    if (b.limit && !/\bLIMIT\s+\d+/i.test(body)) problems.push(`reads llmtrace.${r} without a LIMIT`);
  }
  if (rels.size === 0) problems.push('reads no llmtrace relation');
  return problems;
}

function commentMacroProblems(sql) {
  // Older Grafana versions expand macros inside comments; newer ones strip the comments first.
  // A macro in a comment would behave differently across versions.
  const comments = [];
  const re = /--[^\n]*|\/\*[\s\S]*?\*\//g;
  const literalFree = sql.replace(/'(?:[^']|'')*'/g, "''");
  for (const m of literalFree.matchAll(re)) if (containsMacro(m[0])) comments.push(m[0].trim());
  return comments.length ? [`a macro inside an SQL comment: ${comments.join(' | ')}`] : [];
}

// Returns a list of problems of one dashboard (an object), given the provisioned uid.
function dashboardProblems(dash, provisionedUid) {
  const problems = [];
  if ('__inputs' in dash) problems.push('has __inputs (only the UI import resolves them; provisioning does not)');
  if ('__requires' in dash) problems.push('has __requires');
  if (typeof dash.uid !== 'string' || !/^[a-zA-Z0-9_-]{1,40}$/.test(dash.uid)) problems.push('uid missing or not 1-40 of [a-zA-Z0-9_-]');
  if (dash.schemaVersion !== SCHEMA_VERSION) problems.push(`schemaVersion is ${dash.schemaVersion}, pinned to ${SCHEMA_VERSION}`);
  if ('id' in dash && dash.id !== null) problems.push('has a numeric id (provisioned dashboards must have "id": null or none)');
  const vars = (dash.templating && dash.templating.list) || [];
  const dsVar = vars.find((v) => v.type === 'datasource' && v.name === 'datasource');
  if (!dsVar) problems.push('no templating variable "datasource" of type datasource');
  else {
    if (dsVar.query !== DS_TYPE) problems.push(`variable datasource: query is ${dsVar.query}, not ${DS_TYPE}`);
    const cur = dsVar.current && dsVar.current.value;
    if (cur !== provisionedUid) problems.push(`variable datasource defaults to ${JSON.stringify(cur)}, the provisioned data source uid is ${JSON.stringify(provisionedUid)}`);
  }
  const names = new Set();
  for (const v of vars) {
    if (names.has(v.name)) problems.push(`variable ${v.name} defined twice`);
    names.add(v.name);
    if (v.type === 'query') {
      if (!isDsRef(v.datasource)) problems.push(`variable ${v.name}: datasource is ${JSON.stringify(v.datasource)}, not ${JSON.stringify(DS_REF)}`);
      const sql = typeof v.query === 'string' ? v.query : v.query && (v.query.rawSql || v.query.query);
      if (!sql) problems.push(`variable ${v.name}: no query`);
      else {
        for (const p of readProblems(sql)) problems.push(`variable ${v.name}: ${p}`);
        for (const p of commentMacroProblems(sql)) problems.push(`variable ${v.name}: ${p}`);
      }
      if (v.multi && v.includeAll) {
        const cv = v.current && v.current.value;
        const isAll = cv === '$__all' || (Array.isArray(cv) && cv.length === 1 && cv[0] === '$__all');
        if (!isAll) problems.push(`variable ${v.name}: default is not All`);
      }
    }
  }
  const panels = allPanels(dash);
  const ids = new Map();
  for (const p of panels) {
    if (!Number.isInteger(p.id)) problems.push(`panel "${p.title}": no integer id`);
    else if (ids.has(p.id)) problems.push(`panel id ${p.id} used by "${ids.get(p.id)}" and "${p.title}"`);
    else ids.set(p.id, p.title);
  }
  problems.push(...gridProblems(dash.panels || [], ''));
  for (const r of (dash.panels || []).filter((p) => p.type === 'row')) {
    if (r.gridPos && (r.gridPos.w !== 24 || r.gridPos.h !== 1 || r.gridPos.x !== 0)) problems.push(`row "${r.title}": gridPos must be x 0, w 24, h 1`);
    if (r.collapsed) problems.push(...gridProblems(r.panels || [], `row "${r.title}": `));
    else if ((r.panels || []).length) problems.push(`row "${r.title}" is expanded but holds panels`);
  }
  for (const p of panels) {
    if (p.type === 'row') {
      if ('datasource' in p && p.datasource !== null && !isDsRef(p.datasource)) problems.push(`row "${p.title}": datasource is not ${JSON.stringify(DS_REF)}`);
      continue;
    }
    if (!isDsRef(p.datasource)) problems.push(`panel ${p.id} "${p.title}": datasource is ${JSON.stringify(p.datasource)}, not ${JSON.stringify(DS_REF)}`);
    if (!Array.isArray(p.targets) || p.targets.length === 0) problems.push(`panel ${p.id} "${p.title}": no targets`);
    const refIds = new Set();
    for (const t of p.targets || []) {
      const where = `panel ${p.id} "${p.title}" target ${t.refId}`;
      if (!t.refId || refIds.has(t.refId)) problems.push(`${where}: missing or repeated refId`);
      refIds.add(t.refId);
      if (!isDsRef(t.datasource)) problems.push(`${where}: datasource is ${JSON.stringify(t.datasource)}, not ${JSON.stringify(DS_REF)}`);
      if (!['table', 'time_series'].includes(t.format)) problems.push(`${where}: format is ${t.format}`);
      if (typeof t.rawSql !== 'string' || !t.rawSql.trim()) {
        problems.push(`${where}: no rawSql`);
        continue;
      }
      if (t.rawQuery !== true || t.editorMode !== 'code') problems.push(`${where}: not a raw SQL (code) query`);
      for (const q of readProblems(t.rawSql)) problems.push(`${where}: ${q}`);
      for (const q of commentMacroProblems(t.rawSql)) problems.push(`${where}: ${q}`);
      if (t.format === 'time_series') {
        if (!/\$__timeGroupAlias\(/.test(t.rawSql) && !/\$__time\(/.test(t.rawSql)) problems.push(`${where}: a time series without $__timeGroupAlias`);
        if (!/\$__timeFilter\(/.test(t.rawSql)) problems.push(`${where}: a time series without $__timeFilter`);
        if (!/ORDER BY 1\s*$/i.test(stripSQLComments(t.rawSql).trim())) problems.push(`${where}: a time series not ending with ORDER BY 1`);
      }
    }
  }
  return problems;
}

// ------------------------------------------------------------------------------------------------
// Running queries with psql
function parseCsv(text) {
  const rows = [];
  let row = [];
  let field = '';
  let quoted = false;
  let i = 0;
  let fieldStarted = false;
  while (i < text.length) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
        i++;
        continue;
      }
      field += c;
      i++;
      continue;
    }
    if (c === '"' && !fieldStarted) {
      quoted = true;
      fieldStarted = true;
      i++;
    } else if (c === ',') {
      row.push(field);
      field = '';
      fieldStarted = false;
      i++;
    } else if (c === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      fieldStarted = false;
      i++;
    } else if (c === '\r' && text[i + 1] === '\n') {
      i++;
    } else {
      field += c;
      fieldStarted = true;
      i++;
    }
  }
  if (fieldStarted || row.length) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

const NULL_MARK = '@@NULL@@';
// Runs one SQL statement as Grafana would send it; returns {columns: [{name, type}], rows} or
// {error}.
function runQuery(opts, sql) {
  if (/\\/.test(sql.replace(/'(?:[^']|'')*'/g, "''"))) return { error: 'a backslash outside a string literal (psql would read it as a meta-command)' };
  const script = [
    `SET ROLE ${opts.role.replace(/[^a-zA-Z0-9_]/g, '')};`,
    'SET TimeZone = \'UTC\';',
    '\\pset format csv',
    `\\pset null '${NULL_MARK}'`,
    '\\echo @@DESC@@',
    sql,
    '\\gdesc',
    '\\echo @@ROWS@@',
    sql,
    '\\g',
    '',
  ].join('\n');
  const r = spawnSync('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', opts.db], { input: script, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.error) return { error: String(r.error) };
  if (r.status !== 0) return { error: (r.stderr || '').trim().split('\n').slice(0, 3).join(' ') || `psql exit ${r.status}` };
  const out = r.stdout;
  const d = out.indexOf('@@DESC@@\n');
  const rr = out.indexOf('@@ROWS@@\n');
  if (d < 0 || rr < 0) return { error: 'unexpected psql output' };
  const desc = parseCsv(out.slice(d + 9, rr)).slice(1);
  const data = parseCsv(out.slice(rr + 9));
  const header = data.shift() || [];
  const columns = desc.map(([name, type]) => ({ name, type }));
  if (header.length !== columns.length) return { error: `column count mismatch (${header.length} vs ${columns.length})` };
  const rows = data.map((row) => row.map((v) => (v === NULL_MARK ? null : v)));
  return { columns, rows };
}

const STRING_TYPES = /^(text|character varying.*|character.*|name|"char"|uuid|inet|cidr|citext)$/;
const NUMERIC_TYPES = /^(smallint|integer|bigint|numeric.*|real|double precision)$/;
const TIME_TYPES = /^(timestamp.*|date)$/;

function toEpochMs(v, type) {
  if (NUMERIC_TYPES.test(type)) {
    const x = Number(v);
    // sqleng epochPrecisionToMS: seconds (e+09) to ms, nanoseconds (e+18) to ms
    const e = x.toExponential();
    if (/e\+9$/.test(e)) return x * 1e3;
    if (/e\+18$/.test(e)) return x / 1e6;
    return x;
  }
  let s = v.replace(' ', 'T');
  if (/[+-]\d\d$/.test(s)) s += ':00';
  else if (type === 'date' || /^timestamp without/.test(type)) s += type === 'date' ? 'T00:00:00Z' : 'Z';
  return Date.parse(s);
}

// What the data source does with a result, and what this test asks of it.
function resultProblems(res, format) {
  if (res.error) return [res.error];
  const problems = [];
  if (res.rows.length === 0) problems.push('no rows');
  if (format !== 'time_series') return problems;
  const ti = res.columns.findIndex((c) => c.name === 'time');
  if (ti < 0) return problems.concat('no column named time');
  const ttype = res.columns[ti].type;
  if (!NUMERIC_TYPES.test(ttype) && !TIME_TYPES.test(ttype)) problems.push(`the time column is ${ttype}`);
  const labelIdx = [];
  let values = 0;
  res.columns.forEach((c, i) => {
    if (i === ti) return;
    if (STRING_TYPES.test(c.type)) labelIdx.push(i);
    else if (NUMERIC_TYPES.test(c.type)) values++;
    else problems.push(`column ${c.name} is ${c.type}: neither a label nor a number`);
  });
  if (values === 0) problems.push('no numeric value column');
  let prev = -Infinity;
  const seen = new Set();
  for (const row of res.rows) {
    if (row[ti] === null) {
      problems.push('a NULL time');
      break;
    }
    const t = toEpochMs(row[ti], ttype);
    if (Number.isNaN(t)) {
      problems.push(`unreadable time ${row[ti]}`);
      break;
    }
    if (t < prev) {
      problems.push('not sorted by time');
      break;
    }
    prev = t;
    const key = JSON.stringify([t, ...labelIdx.map((i) => row[i])]);
    if (seen.has(key)) {
      problems.push(`two rows for the same time and labels ${key}`);
      break;
    }
    seen.add(key);
  }
  return problems;
}

// ------------------------------------------------------------------------------------------------
// Variables at their defaults, as Grafana resolves them in order.
function resolveVariables(dash, opts, range, label, results) {
  const vars = {};
  for (const v of (dash.templating && dash.templating.list) || []) {
    if (v.type === 'datasource') {
      vars[v.name] = { value: v.current && v.current.value, multi: false };
      continue;
    }
    if (v.type === 'constant' || v.type === 'custom' || v.type === 'textbox') {
      const cv = v.current ? v.current.value : v.query;
      vars[v.name] = { value: cv, multi: !!v.multi };
      continue;
    }
    if (v.type !== 'query') continue;
    const name = `${label}/variable ${v.name}`;
    const raw = typeof v.query === 'string' ? v.query : v.query.rawSql || v.query.query;
    let values = [];
    try {
      const sql = backendInterpolate(frontendInterpolate(raw, vars), range, { intervalNs: 0n });
      const res = runQuery(opts, sql);
      const problems = resultProblems(res, 'table');
      if (!res.error) {
        // responseParser.ts transformMetricFindResponse: __text/__value, else every field's values;
        // unique by text
        const ti = res.columns.findIndex((c) => c.name === '__text');
        const vi = res.columns.findIndex((c) => c.name === '__value');
        let items;
        if (ti >= 0 && vi >= 0) items = res.rows.map((r) => ({ text: '' + r[ti], value: '' + r[vi] }));
        else {
          items = [];
          res.columns.forEach((c, ci) => res.rows.forEach((r) => items.push({ text: '' + r[ci], value: '' + r[ci] })));
        }
        const seen = new Set();
        items = items.filter((it) => (seen.has(it.text) ? false : (seen.add(it.text), true)));
        if (v.regex) problems.push('a variable regex is not supported by this check');
        const cmp = (a, b) => (a < b ? -1 : a > b ? 1 : 0);
        if (v.sort === 1) items.sort((a, b) => cmp(a.text, b.text));
        else if (v.sort === 2) items.sort((a, b) => cmp(b.text, a.text));
        else if (v.sort === 5) items.sort((a, b) => cmp(a.text.toLowerCase(), b.text.toLowerCase()));
        else if (v.sort === 6) items.sort((a, b) => cmp(b.text.toLowerCase(), a.text.toLowerCase()));
        else if (v.sort) problems.push(`variable sort ${v.sort} is not supported by this check`);
        values = items.map((it) => it.value);
      }
      if (results) results[name] = res;
      check(name, problems);
    } catch (e) {
      notOk(name, e.message);
    }
    const cv = v.current && v.current.value;
    const isAll = cv === '$__all' || (Array.isArray(cv) && cv.includes('$__all'));
    let value;
    if (isAll) value = v.allValue ? v.allValue : values;
    else value = cv;
    if (v.multi && !Array.isArray(value) && !(isAll && v.allValue)) value = [value];
    vars[v.name] = { value, multi: !!v.multi };
    console.log(`# ${label}: $${v.name} = ${JSON.stringify(value)}`);
  }
  return vars;
}

function runDashboard(dash, label, opts, range, results) {
  const vars = resolveVariables(dash, opts, range, label, results);
  for (const p of allPanels(dash)) {
    if (p.type === 'row') continue;
    const resolution = p.maxDataPoints || Math.max(1, Math.round((1920 * ((p.gridPos && p.gridPos.w) || 24)) / 24));
    const { intervalMs, interval } = calculateInterval(range, resolution, p.interval || opts.timeInterval);
    for (const t of p.targets || []) {
      const name = `${label}/${p.title}/${t.refId}`;
      try {
        const scoped = Object.assign({}, vars, {
          __interval: { value: interval }, __interval_ms: { value: String(intervalMs) },
          __from: { value: String(range.from) }, __to: { value: String(range.to) },
          __range_ms: { value: String(range.to - range.from) }, __range_s: { value: String(Math.round((range.to - range.from) / 1000)) },
          __range: { value: `${Math.round((range.to - range.from) / 1000)}s` },
        });
        const query = { intervalNs: BigInt(intervalMs) * NS.ms };
        const sql = backendInterpolate(frontendInterpolate(t.rawSql, scoped), range, query);
        const res = runQuery(opts, sql);
        if (results) results[name] = res;
        const problems = resultProblems(res, t.format);
        if (problems.length && opts.verbose) console.log(sql.split('\n').map((l) => '#   ' + l).join('\n'));
        check(name, problems);
      } catch (e) {
        notOk(name, e.message);
      }
    }
  }
}

// ------------------------------------------------------------------------------------------------
// Self-tests: the port against macros_test.go, and the validator against broken dashboards.
function macroGoldenTests() {
  const engine = (sql, range, interval = 0n) => backendInterpolate(sql, range, { intervalNs: interval });
  const ts = (sql, range) => backendInterpolate(sql, range, { intervalNs: 0n }, true);
  const from = Date.UTC(2018, 3, 12, 18, 0, 0);
  const r = { from, to: from + 5 * 60 * 1000, now: Date.now() };
  const cases = [
    ['__time', engine('select $__time(time_column)', r), 'select time_column AS "time"'],
    ['__time in an aggregate', engine('select min($__time(time_column))', r), 'select min(time_column AS "time")'],
    ['__timeFilter', engine('WHERE $__timeFilter(time_column)', r), "WHERE time_column BETWEEN '2018-04-12T18:00:00Z' AND '2018-04-12T18:05:00Z'"],
    ['__timeFrom', engine('select $__timeFrom()', r), "select '2018-04-12T18:00:00Z'"],
    ['__timeTo', engine('select $__timeTo()', r), "select '2018-04-12T18:05:00Z'"],
    ['__timeGroup pre 5.3 compatibility', engine("SELECT $__timeGroup(time_column,'5m'), value", r), 'SELECT floor(extract(epoch from time_column)/300)*300 AS "time", value'],
    ['__timeGroup pre 5.3 compatibility, aliased', engine("SELECT $__timeGroup(time_column,'5m') as time, value", r), 'SELECT floor(extract(epoch from time_column)/300)*300 as time, value'],
    ['__timeGroup', engine("SELECT $__timeGroup(time_column,'5m')", r), 'SELECT floor(extract(epoch from time_column)/300)*300'],
    ['__timeGroupAlias', engine("SELECT $__timeGroupAlias(time_column,'5m')", r), 'SELECT floor(extract(epoch from time_column)/300)*300 AS "time"'],
    ['__timeGroup with spaces between args', engine("$__timeGroup(time_column , '5m')", r), 'floor(extract(epoch from time_column)/300)*300'],
    ['__timeGroup with TimescaleDB', ts("GROUP BY $__timeGroup(time_column,'5m')", r), "GROUP BY time_bucket('300.000s',time_column)"],
    ['__timeGroup 12d with TimescaleDB', ts("GROUP BY $__timeGroup(time_column , '12d')", r), "GROUP BY time_bucket('1036800.000s',time_column)"],
    ['__timeGroup 20ms with TimescaleDB', ts("GROUP BY $__timeGroup(time_column , '20ms')", r), "GROUP BY time_bucket('0.020s',time_column)"],
    ['__unixEpochFilter', engine('select $__unixEpochFilter(time)', r), 'select time >= 1523556000 AND time <= 1523556300'],
    ['__unixEpochNanoFilter', engine('select $__unixEpochNanoFilter(time)', r), 'select time >= 1523556000000000000 AND time <= 1523556300000000000'],
    ['__unixEpochNanoFrom', engine('select $__unixEpochNanoFrom()', r), 'select 1523556000000000000'],
    ['__unixEpochNanoTo', engine('select $__unixEpochNanoTo()', r), 'select 1523556300000000000'],
    ['__unixEpochGroup', engine("SELECT $__unixEpochGroup(time_column+time_adjustment,'5m')", r), 'SELECT floor((time_column+time_adjustment)/300)*300'],
    ['__unixEpochGroupAlias', engine("SELECT $__unixEpochGroupAlias(time_column+time_adjustment,'5m')", r), 'SELECT floor((time_column+time_adjustment)/300)*300 AS "time"'],
    ['__timeFilter 1960-1965', engine('WHERE $__timeFilter(time_column)', { from: Date.UTC(1960, 1, 1, 7), to: Date.UTC(1965, 1, 3, 8) }), "WHERE time_column BETWEEN '1960-02-01T07:00:00Z' AND '1965-02-03T08:00:00Z'"],
    ['__unixEpochFilter 1960-1965', engine('select $__unixEpochFilter(time)', { from: Date.UTC(1960, 1, 1, 7), to: Date.UTC(1965, 1, 3, 8) }), 'select time >= -312915600 AND time <= -154886400'],
    ['__timeFilter with half seconds', engine('WHERE $__timeFilter(time_column)', { from: Date.UTC(1960, 1, 1, 7, 0, 0, 500), to: Date.UTC(1980, 1, 3, 8, 0, 0, 500) }), "WHERE time_column BETWEEN '1960-02-01T07:00:00.5Z' AND '1980-02-03T08:00:00.5Z'"],
    ['SQLCommenter tag kept, $__interval', engine("SELECT $__interval /*app='grafana',source='bi'*/", r, 10n * NS.m), "SELECT 10m /*app='grafana',source='bi'*/"],
    ['tag embedding the interval macro stripped', engine("SELECT 1 /*i='$__interval'*/", r, 10n * NS.m), 'SELECT 1 '],
    ['tag with a macro completing across the comment stripped', engine("SELECT 1 /*k='$__timeFilter(t'*/ WHERE (x = 1)", r, 10n * NS.m), 'SELECT 1  WHERE (x = 1)'],
    ['line comment stripped', stripSQLComments('SELECT 1 -- a comment'), 'SELECT 1 '],
    ['comment in a string literal kept', stripSQLComments("SELECT 'it''s fine -- not a comment' AS v"), "SELECT 'it''s fine -- not a comment' AS v"],
    ['comment in a dollar-quoted string kept', stripSQLComments('SELECT $body$ -- not a comment $body$'), 'SELECT $body$ -- not a comment $body$'],
    ['macro not taken for a dollar quote', stripSQLComments('SELECT $__timeFrom() -- comment'), 'SELECT $__timeFrom() '],
    ['$__interval_ms and 1h', engine('$__timeGroupAlias(hour, $__interval) / $__interval_ms', r, NS.h), 'floor(extract(epoch from hour)/3600)*3600 AS "time" / 3600000'],
    ['30d bucket printed as Go prints it', engine('$__timeGroup(t, 30d)', r), 'floor(extract(epoch from t)/2.592e+06)*2.592e+06'],
    ['fill argument', (() => { const q = { intervalNs: 0n }; const s = backendInterpolate("$__timeGroupAlias(t, '1h', NULL)", r, q); return `${s} fill=${q.fill} ${q.fillMode} ${q.fillInterval}`; })(), 'floor(extract(epoch from t)/3600)*3600 AS "time" fill=true null 3600'],
  ];
  for (const [name, got, want] of cases) {
    if (got === want) ok(`macros.go port: ${name}`);
    else notOk(`macros.go port: ${name}`, `got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
  }
  const errs = [
    ['zero interval refused', "$__timeGroup(t, '0s')", 'interval must be positive'],
    ['unknown macro refused', '$__nope(x)', 'unknown macro'],
    ['bad fill value refused', "$__timeGroup(t, '5m', abc)", 'error parsing fill value'],
  ];
  for (const [name, sql, want] of errs) {
    try {
      backendInterpolate(sql, r, { intervalNs: 0n });
      notOk(`macros.go port: ${name}`, 'no error');
    } catch (e) {
      if (e.message.includes(want)) ok(`macros.go port: ${name}`);
      else notOk(`macros.go port: ${name}`, e.message);
    }
  }
  // front end: calculateInterval and the variable formats
  const day = { from: 0, to: 86400000 };
  const fe = [
    ['24 h at 1000 points, min interval 1h', calculateInterval(day, 1000, '1h').interval, '1h'],
    ['24 h at 1000 points', calculateInterval(day, 1000).interval, '1m'],
    ['90 days at 800 points', calculateInterval({ from: 0, to: 90 * 86400000 }, 800, '1h').interval, '3h'],
    ['multi value', frontendInterpolate('x IN ($v)', { v: { value: ["a'b", 'c'] } }), "x IN ('a''b','c')"],
    ['single value', frontendInterpolate("x = '$v'", { v: { value: "O'Brien" } }), "x = 'O''Brien'"],
    ['sqlstring', frontendInterpolate('ARRAY[${v:sqlstring}]', { v: { value: ["a'b", 'c'] } }), "ARRAY['a''b','c']"],
    ['sqlstring of no value', frontendInterpolate('ARRAY[${v:sqlstring}]::text[]', { v: { value: [] } }), 'ARRAY[]::text[]'],
    ['macros left alone', frontendInterpolate('$__timeFilter(t) AND $w', { w: { value: 'x' } }), '$__timeFilter(t) AND x'],
  ];
  for (const [name, got, want] of fe) {
    if (got === want) ok(`front end port: ${name}`);
    else notOk(`front end port: ${name}`, `got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
  }
}

function validatorSelfTests(dash, provisionedUid, opts) {
  const base = dashboardProblems(dash, provisionedUid);
  const clone = () => JSON.parse(JSON.stringify(dash));
  const firstPanels = (d) => allPanels(d).filter((p) => p.type !== 'row');
  const mutations = [
    ['overlapping gridPos', (d) => { const [a, b] = firstPanels(d); b.gridPos = Object.assign({}, a.gridPos); }, /overlaps/],
    ['a panel datasource hard-coded to the uid', (d) => { firstPanels(d)[0].datasource = { type: DS_TYPE, uid: provisionedUid }; }, /datasource is/],
    ['a target datasource named ${DS_POSTGRES}', (d) => { firstPanels(d)[1].targets[0].datasource = { type: DS_TYPE, uid: '${DS_POSTGRES}' }; }, /target .*datasource is/],
    ['__inputs', (d) => { d.__inputs = [{ name: 'DS_POSTGRES', type: 'datasource', pluginId: DS_TYPE }]; }, /__inputs/],
    ['a repeated panel id', (d) => { const [a, b] = firstPanels(d); b.id = a.id; }, /panel id \d+ used by/],
    ['another schemaVersion', (d) => { d.schemaVersion = 38; }, /schemaVersion is 38/],
    ['no datasource variable', (d) => { d.templating.list = d.templating.list.filter((v) => v.type !== 'datasource'); }, /no templating variable "datasource"/],
    ['a datasource variable defaulting elsewhere', (d) => { d.templating.list.find((v) => v.type === 'datasource').current.value = 'other'; }, /defaults to "other"/],
    ['a panel past column 24', (d) => { firstPanels(d)[0].gridPos.x = 22; }, /outside the 24 columns/],
    ['overlap inside a collapsed row', (d) => {
      const [a, b] = firstPanels(d);
      d.panels = d.panels.filter((p) => p !== a && p !== b);
      d.panels.push({ id: 9999, type: 'row', title: 'collapsed', collapsed: true, gridPos: { h: 1, w: 24, x: 0, y: 1000 },
        panels: [Object.assign({}, a, { gridPos: { h: 4, w: 6, x: 0, y: 1001 } }), Object.assign({}, b, { gridPos: { h: 4, w: 6, x: 3, y: 1002 } })] });
    }, /row "collapsed": gridPos of panel/],
    ['an unbounded read of llmtrace.spans', (d) => { firstPanels(d)[0].targets[0].rawSql = 'SELECT count(*) FROM llmtrace.spans'; }, /llmtrace\.spans without \$__timeFilter\(start_time\)/],
    ['a read of a rollup table instead of the views', (d) => { firstPanels(d)[0].targets[0].rawSql = "SELECT sum(spans) FROM llmtrace.hourly_rollups WHERE $__timeFilter(hour)"; }, /reads llmtrace\.hourly_rollups/],
    ['a macro inside a comment', (d) => { firstPanels(d)[0].targets[0].rawSql += '\n-- was $__timeFilter(start_time)'; }, /macro inside an SQL comment/],
  ];
  if (base.length === 0) ok(`self-test: the unmodified ${dash.uid} has no problem`);
  else notOk(`self-test: the unmodified ${dash.uid} has no problem`, base.join('; '));
  for (const [name, mutate, expect] of mutations) {
    const d = clone();
    mutate(d);
    const problems = dashboardProblems(d, provisionedUid);
    if (problems.some((p) => expect.test(p))) ok(`self-test: ${name} is reported`);
    else notOk(`self-test: ${name} is reported`, `reported: ${problems.join('; ') || 'nothing'}`);
  }
  // several faults at once in one broken copy
  const d = clone();
  mutations[0][1](d);
  mutations[1][1](d);
  const problems = dashboardProblems(d, provisionedUid);
  if (problems.some((p) => /overlaps/.test(p)) && problems.some((p) => /datasource is/.test(p))) ok('self-test: a copy with overlapping gridPos and a wrong datasource reports both');
  else notOk('self-test: a copy with overlapping gridPos and a wrong datasource reports both', problems.join('; '));
  // duplicate uid across files
  const uids = uidProblems([['a.json', { uid: 'x' }], ['b.json', { uid: 'x' }]]);
  if (uids.length) ok('self-test: a uid used by two files is reported');
  else notOk('self-test: a uid used by two files is reported');
  // the result checks
  if (opts.db) {
    const cases = [
      ['an unsorted time series', 'SELECT * FROM (VALUES (2, 1.0), (1, 2.0)) v("time", value)', /not sorted/],
      ['a time series without a time column', 'SELECT 1 AS t, 2 AS value', /no column named time/],
      ['a query returning no rows', 'SELECT 1 AS "time", 2 AS value WHERE false', /no rows/],
      ['two rows for one time and label', "SELECT * FROM (VALUES (1, 'a', 1.0), (1, 'a', 2.0)) v(\"time\", metric, value)", /same time and labels/],
      ['a failing query', 'SELECT 1/0 AS "time"', /division by zero/],
    ];
    for (const [name, sql, expect] of cases) {
      const problems = resultProblems(runQuery(opts, sql), 'time_series');
      if (problems.some((p) => expect.test(p))) ok(`self-test: ${name} is reported`);
      else notOk(`self-test: ${name} is reported`, `reported: ${problems.join('; ') || 'nothing'}`);
    }
  }
}

function uidProblems(files) {
  const seen = new Map();
  const problems = [];
  for (const [file, d] of files) {
    if (seen.has(d.uid)) problems.push(`uid ${d.uid} used by ${seen.get(d.uid)} and ${file}`);
    else seen.set(d.uid, file);
  }
  return problems;
}

// ------------------------------------------------------------------------------------------------
function provisioningChecks(dir) {
  const dsFile = path.join(dir, 'datasources', 'llmtrace.yaml');
  const dbFile = path.join(dir, 'dashboards', 'llmtrace.yaml');
  let uid = null;
  let timeInterval = '1m';
  try {
    const y = parseYaml(fs.readFileSync(dsFile, 'utf8'));
    const problems = [];
    if (y.apiVersion !== 1) problems.push('apiVersion is not 1');
    const list = y.datasources || [];
    if (list.length !== 1) problems.push(`${list.length} data sources, expected 1`);
    const ds = list[0] || {};
    uid = ds.uid;
    if (ds.type !== DS_TYPE) problems.push(`type is ${ds.type}`);
    if (typeof uid !== 'string' || !uid) problems.push('no fixed uid');
    for (const [k, v] of [['url', ds.url], ['user', ds.user], ['password', ds.secureJsonData && ds.secureJsonData.password],
      ['database', ds.jsonData && ds.jsonData.database]]) {
      if (typeof v !== 'string' || !/\$\{?[A-Z_][A-Z0-9_]*\}?/.test(v)) problems.push(`${k} is not taken from an environment variable`);
    }
    if ('password' in ds) problems.push('password outside secureJsonData');
    const jd = ds.jsonData || {};
    if (jd.postgresVersion !== 1500) problems.push(`jsonData.postgresVersion is ${jd.postgresVersion}`);
    if (jd.timescaledb !== false) problems.push('jsonData.timescaledb is not false');
    if (!jd.sslmode) problems.push('no jsonData.sslmode');
    // packages/grafana-sql/src/datasource/SqlDatasource.ts: interval = jsonData.timeInterval || '1m',
    // the lower limit of $__interval for a panel without a min interval of its own
    timeInterval = jd.timeInterval || '1m';
    check(`provisioning: ${path.relative(process.cwd(), dsFile)} (uid ${uid})`, problems);
  } catch (e) {
    notOk(`provisioning: ${dsFile}`, e.message);
  }
  try {
    const y = parseYaml(fs.readFileSync(dbFile, 'utf8'));
    const problems = [];
    if (y.apiVersion !== 1) problems.push('apiVersion is not 1');
    const p = (y.providers || [])[0] || {};
    if ((y.providers || []).length !== 1) problems.push('expected one provider');
    if (p.type !== 'file') problems.push(`type is ${p.type}`);
    if (p.folder !== 'llmtrace') problems.push(`folder is ${p.folder}`);
    if (p.allowUiUpdates !== false) problems.push('allowUiUpdates is not false');
    const o = p.options || {};
    if (o.foldersFromFilesStructure !== false) problems.push('options.foldersFromFilesStructure is not false');
    if (typeof o.path !== 'string' || !o.path) problems.push('no options.path');
    check(`provisioning: ${path.relative(process.cwd(), dbFile)} (path ${o.path})`, problems);
  } catch (e) {
    notOk(`provisioning: ${dbFile}`, e.message);
  }
  return { uid, timeInterval };
}

function main() {
  const args = process.argv.slice(2);
  const here = __dirname;
  const opts = {
    dashboards: path.join(here, '../../integrations/grafana/dashboards'),
    provisioning: path.join(here, '../../integrations/grafana/provisioning'),
    db: null, role: 'llmtrace_reader', hours: 24, results: null, structureOnly: false, verbose: false,
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const val = () => args[++i];
    if (a === '--dashboards') opts.dashboards = val();
    else if (a === '--provisioning') opts.provisioning = val();
    else if (a === '--db') opts.db = val();
    else if (a === '--role') opts.role = val();
    else if (a === '--hours') opts.hours = Number(val());
    else if (a === '--results') opts.results = val();
    else if (a === '--structure-only') opts.structureOnly = true;
    else if (a === '--verbose') opts.verbose = true;
    else {
      console.error(`unknown argument ${a}`);
      process.exit(2);
    }
  }
  if (!opts.structureOnly && !opts.db) opts.structureOnly = true;

  const prov = provisioningChecks(opts.provisioning);
  opts.timeInterval = prov.timeInterval;
  const files = fs.readdirSync(opts.dashboards).filter((f) => f.endsWith('.json')).sort();
  if (files.length === 0) notOk(`dashboards in ${opts.dashboards}`, 'none');
  const parsed = [];
  for (const f of files) {
    try {
      parsed.push([f, JSON.parse(fs.readFileSync(path.join(opts.dashboards, f), 'utf8'))]);
    } catch (e) {
      notOk(`${f}: valid JSON`, e.message);
    }
  }
  check(`dashboard uids are unique across ${parsed.length} files`, uidProblems(parsed));
  for (const [f, d] of parsed) {
    const label = d.uid || f;
    const problems = dashboardProblems(d, prov.uid);
    check(`${label}: structure (${f}: schemaVersion ${d.schemaVersion}, ${allPanels(d).length} panels, datasource \${datasource})`, problems);
  }
  macroGoldenTests();
  if (parsed.length) validatorSelfTests(parsed[0][1], prov.uid, opts.structureOnly ? {} : opts);

  if (!opts.structureOnly) {
    const now = Date.now();
    const range = { from: now - opts.hours * 3600 * 1000, to: now, now };
    console.log(`# time range ${rfc3339Nano(range.from)} .. ${rfc3339Nano(range.to)}, database ${opts.db}, role ${opts.role}`);
    const results = opts.results ? {} : null;
    for (const [f, d] of parsed) runDashboard(d, d.uid || f, opts, range, results);
    if (results) fs.writeFileSync(opts.results, JSON.stringify({ range, results }, null, 1));
  }
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

if (require.main === module) main();
module.exports = { backendInterpolate, frontendInterpolate, calculateInterval, stripSQLComments, dashboardProblems, parseYaml };
