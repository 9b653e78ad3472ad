// Summarizes the fixtures in test/data/emitters/ (or $CAPTURE_OUT) as Markdown: for OTLP
// fixtures the span tree of each trace with its operation and every usage/token attribute, and
// whether a span's usage equals the sum over the model-call spans below it; for Braintrust the
// rows; for OTLP logs the log records.
//
//   node summarize.mjs            print
//   node summarize.mjs --readme   also replace the generated section of README.md
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OUT_DIR } from './write-json.mjs';

const here = dirname(fileURLToPath(import.meta.url));

function anyValue(v) {
  if (v == null) return null;
  if ('stringValue' in v) return v.stringValue;
  if ('intValue' in v) return Number(v.intValue);
  if ('doubleValue' in v) return v.doubleValue;
  if ('boolValue' in v) return v.boolValue;
  if ('arrayValue' in v) return (v.arrayValue.values ?? []).map(anyValue);
  if ('kvlistValue' in v) return Object.fromEntries((v.kvlistValue.values ?? []).map((kv) => [kv.key, anyValue(kv.value)]));
  return null;
}

const isUsageKey = (k) => /(^|\.)usage\.|token/i.test(k) && !/PerSecond|tool\.definitions/i.test(k);
const KIND = ['UNSPECIFIED', 'INTERNAL', 'SERVER', 'CLIENT', 'PRODUCER', 'CONSUMER'];

function summarizeOtlp(doc) {
  const spans = [];
  for (const rs of doc.resourceSpans ?? []) {
    for (const ss of rs.scopeSpans ?? []) {
      for (const s of ss.spans ?? []) {
        const attrs = Object.fromEntries((s.attributes ?? []).map((a) => [a.key, anyValue(a.value)]));
        spans.push({ ...s, attrs, scope: ss.scope?.name });
      }
    }
  }
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  const children = new Map();
  for (const s of spans) {
    const p = s.parentSpanId && byId.has(s.parentSpanId) ? s.parentSpanId : null;
    if (!children.has(p)) children.set(p, []);
    children.get(p).push(s);
  }
  for (const list of children.values()) list.sort((a, b) => (BigInt(a.startTimeUnixNano) < BigInt(b.startTimeUnixNano) ? -1 : 1));
  const usage = (s) => Object.fromEntries(Object.entries(s.attrs).filter(([k, v]) => isUsageKey(k) && typeof v === 'number'));
  // model-call spans below s that carry usage and have no usage-carrying span below them
  function leafUsageSpans(s) {
    const out = [];
    for (const c of children.get(s.spanId) ?? []) {
      const below = leafUsageSpans(c);
      if (below.length) out.push(...below);
      else if (Object.keys(usage(c)).length) out.push(c);
    }
    return out;
  }
  const lines = [];
  const scopes = [...new Set(spans.map((s) => s.scope))];
  lines.push(`scope: ${scopes.map((x) => `\`${x}\``).join(', ')}; ${spans.length} spans, ${new Set(spans.map((s) => s.traceId)).size} trace(s)`);
  lines.push('');
  function walk(s, depth) {
    const op = s.attrs['ai.operationId'] ?? s.attrs['gen_ai.operation.name'];
    const u = usage(s);
    const pm = s.attrs['ai.response.providerMetadata'];
    let line = `${'  '.repeat(depth)}- \`${s.name}\` (${KIND[s.kind] ?? s.kind})${op && op !== s.name ? ` op \`${op}\`` : ''}`;
    if (Object.keys(u).length) line += `: ${Object.entries(u).map(([k, v]) => `\`${k}\`=${v}`).join(', ')}`;
    if (pm) {
      // only the provider-reported cache write count, which the AI SDK v5 usage object lacks
      const cw = (() => { try { return JSON.parse(pm)?.anthropic?.cacheCreationInputTokens; } catch { return undefined; } })();
      if (cw !== undefined) line += `; providerMetadata.anthropic.cacheCreationInputTokens=${cw}`;
    }
    const leaves = leafUsageSpans(s);
    if (Object.keys(u).length && leaves.length) {
      const diffs = [];
      for (const [k, v] of Object.entries(u)) {
        const vals = leaves.map((l) => usage(l)[k]).filter((x) => x !== undefined);
        if (!vals.length) {
          diffs.push(`\`${k}\` not on the children`);
          continue;
        }
        const sum = vals.reduce((a, b) => a + b, 0);
        if (sum !== v) diffs.push(`\`${k}\` ${v} vs children's sum ${sum}`);
      }
      line += diffs.length
        ? ` — **vs its ${leaves.length} model-call span(s) below: ${diffs.join('; ')}**`
        : ` — **= sum of its ${leaves.length} model-call span(s) below**`;
    }
    lines.push(line);
    for (const c of children.get(s.spanId) ?? []) walk(c, depth + 1);
  }
  for (const root of children.get(null) ?? []) walk(root, 0);
  return lines;
}

function summarizeBraintrust(rows) {
  const lines = [`${rows.length} rows, ${new Set(rows.map((r) => r.span_id)).size} spans, ${rows.filter((r) => r._is_merge).length} rows with \`_is_merge: true\``, ''];
  for (const r of rows) {
    const name = r.span_attributes ? `\`${r.span_attributes.name}\` (${r.span_attributes.type})` : '(no span_attributes)';
    const parents = r.span_parents?.length ? ` parent ${r.span_parents.join(',')}` : '';
    const m = r.metrics ? Object.entries(r.metrics).filter(([k]) => /token/.test(k)).map(([k, v]) => `\`${k}\`=${v}`).join(', ') : '';
    const t = [r.metrics?.start != null ? 'start' : null, r.metrics?.end != null ? 'end' : null, r.created ? 'created' : null].filter(Boolean).join('/');
    const meta = r.metadata ? Object.entries(r.metadata).filter(([k]) => ['model', 'provider'].includes(k)).map(([k, v]) => `${k}=${v}`).join(' ') : '';
    lines.push(`- span ${r.span_id}${parents}${r._is_merge ? ' **merge**' : ''}: ${name}${t ? ` [${t}]` : ''}${meta ? ` ${meta}` : ''}${m ? `: ${m}` : ''}`);
  }
  return lines;
}

function summarizeLogs(doc) {
  const lines = [];
  for (const rl of doc.resourceLogs ?? []) {
    for (const sl of rl.scopeLogs ?? []) {
      for (const r of sl.logRecords ?? []) {
        const attrs = Object.fromEntries((r.attributes ?? []).map((a) => [a.key, anyValue(a.value)]));
        lines.push(`- log record \`${attrs['event.name'] ?? r.eventName ?? '?'}\` body keys: ${Object.keys(anyValue(r.body) ?? {}).join(', ')}`);
      }
    }
  }
  return lines;
}

const out = [];
for (const f of readdirSync(OUT_DIR).filter((f) => f.endsWith('.json')).sort()) {
  const doc = JSON.parse(readFileSync(join(OUT_DIR, f), 'utf8'));
  out.push(`#### \`${f}\``, '');
  if (doc.resourceSpans) out.push(...summarizeOtlp(doc));
  else if (doc.resourceLogs) out.push(...summarizeLogs(doc));
  else if (Array.isArray(doc) && doc[0]?.span_id) out.push(...summarizeBraintrust(doc));
  else out.push('(unrecognized)');
  out.push('');
}
const md = out.join('\n');
console.log(md);

if (process.argv.includes('--readme')) {
  const readme = join(here, 'README.md');
  const text = readFileSync(readme, 'utf8');
  const start = '<!-- generated by summarize.mjs: start -->';
  const end = '<!-- generated by summarize.mjs: end -->';
  const i = text.indexOf(start);
  const j = text.indexOf(end);
  if (i < 0 || j < 0) throw new Error('README.md has no generated-section markers');
  writeFileSync(readme, text.slice(0, i + start.length) + '\n\n' + md + '\n' + text.slice(j));
  console.error('README.md updated');
}
