// Writes fixtures to test/data/emitters/ (or $CAPTURE_OUT). No dependencies.
import { writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const OUT_DIR = process.env.CAPTURE_OUT ?? join(here, '..', '..', 'test', 'data', 'emitters');

// The repository's location on the machine that captured (emitters record
// their caller's file path) is written as "file:///app/".
const repo = join(here, '..', '..');
function scrub(text) {
  return text.split('file://' + repo + '/').join('file:///app/').split(repo + '/').join('/app/');
}

export function writeJson(name, obj) {
  mkdirSync(OUT_DIR, { recursive: true });
  const file = join(OUT_DIR, name);
  writeFileSync(file, scrub(pretty(obj)) + '\n');
  console.log(`wrote ${file}`);
}

/**
 * Pretty-print JSON, but keep any object or array that fits in `width` columns on one line
 * (so each OTLP attribute is one line). The result parses to exactly the same value.
 */
export function pretty(value, indent = '', width = 120) {
  const flat = JSON.stringify(value);
  if (flat === undefined) return 'null';
  if (value === null || typeof value !== 'object' || indent.length + flat.length <= width) return flat;
  const inner = indent + '  ';
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    return '[\n' + value.map((v) => inner + pretty(v, inner, width)).join(',\n') + '\n' + indent + ']';
  }
  const entries = Object.entries(value).filter(([, v]) => v !== undefined);
  if (entries.length === 0) return '{}';
  return '{\n' + entries.map(([k, v]) => inner + JSON.stringify(k) + ': ' + pretty(v, inner, width)).join(',\n') + '\n' + indent + '}';
}

