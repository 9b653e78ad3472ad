// Runs every capture, each in its own Node process (each registers its own global OpenTelemetry
// provider / instrumentation), then regenerates the summary section of README.md.
//
//   npm ci && node capture.mjs          (npm ci also installs strands/ through "postinstall")
//   node capture.mjs ai-sdk braintrust  (only the named groups)
//
// Fixtures go to ../../test/data/emitters/ (override with CAPTURE_OUT=dir).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OUT_DIR } from './write-json.mjs';

const here = dirname(fileURLToPath(import.meta.url));

const groups = {
  'ai-sdk': [
    ['capture-ai-sdk.mjs', 'v5'],
    ['capture-ai-sdk.mjs', 'v6'],
    ['capture-ai-sdk.mjs', 'v7-otel'],
    ['capture-ai-sdk.mjs', 'v7-otel-all'],
    ['capture-ai-sdk.mjs', 'v7-legacy'],
  ],
  'ai-sdk-providers': [
    ['capture-ai-sdk-providers.mjs', 'v5'],
    ['capture-ai-sdk-providers.mjs', 'v6'],
    ['capture-ai-sdk-providers.mjs', 'v7-otel'],
    ['capture-ai-sdk-providers.mjs', 'v7-legacy'],
  ],
  'openai-instrumentation': [['capture-openai-instrumentation.cjs']],
  strands: [
    ['strands/capture-strands.mjs', 'default'],
    ['strands/capture-strands.mjs', 'latest'],
  ],
  braintrust: [['capture-braintrust.mjs']],
};

const wanted = process.argv.slice(2);
for (const w of wanted) if (!groups[w]) throw new Error(`unknown group ${w}; groups: ${Object.keys(groups).join(', ')}`);
if (!existsSync(join(here, 'node_modules'))) throw new Error('run `npm ci` in tools/capture first');
if ((!wanted.length || wanted.includes('strands')) && !existsSync(join(here, 'strands', 'node_modules'))) {
  throw new Error('run `npm ci --prefix strands` (normally done by the postinstall of `npm ci`)');
}

// A full run starts from an empty fixture directory so that nothing stale survives.
if (!wanted.length && existsSync(OUT_DIR)) {
  for (const f of readdirSync(OUT_DIR)) if (f.endsWith('.json')) rmSync(join(OUT_DIR, f));
}

let failed = 0;
for (const [name, steps] of Object.entries(groups)) {
  if (wanted.length && !wanted.includes(name)) continue;
  for (const [script, ...args] of steps) {
    console.log(`\n== ${name}: node ${script} ${args.join(' ')}`);
    const r = spawnSync(process.execPath, [script, ...args], {
      cwd: here,
      stdio: 'inherit',
      timeout: 180_000,
    });
    if (r.status !== 0) {
      failed++;
      console.error(`!! ${script} ${args.join(' ')} failed (status ${r.status}${r.error ? `, ${r.error.message}` : ''})`);
    }
  }
}

const s = spawnSync(process.execPath, ['summarize.mjs', '--readme'], { cwd: here, stdio: ['ignore', 'ignore', 'inherit'] });
if (s.status !== 0) failed++;
console.log(failed ? `\n${failed} step(s) failed` : '\nall captures done');
process.exit(failed ? 1 : 0);
