// Generates OTLP trace fixtures with the OpenTelemetry JavaScript SDK's own serializers.
//
//   cd tools/otlp-proto && npm ci && node gen.mjs
//
// For every case below, spans are created with the real SDK (TracerProvider + SimpleSpanProcessor
// + InMemorySpanExporter), ended, and the finished spans are written twice:
//
//   test/data/otlp-proto/<case>.pb    ProtobufTraceSerializer.serializeRequest(spans)  (raw bytes,
//                                      an ExportTraceServiceRequest as OTLP/HTTP protobuf POSTs it)
//   test/data/otlp-proto/<case>.json  JsonTraceSerializer.serializeRequest(spans)      (the bytes as
//                                      returned: compact OTLP/JSON, no trailing newline)
//
// Both files of a pair come from the SAME ReadableSpan objects. Timestamps are fixed hrtime
// tuples (2025-05-01) and ids come from a deterministic IdGenerator, so re-running produces
// byte-identical files. OTLP_PROTO_OUT=<dir> writes elsewhere (used to check determinism).
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { ROOT_CONTEXT, SpanKind, SpanStatusCode, TraceFlags, createTraceState, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';

const HERE = dirname(fileURLToPath(import.meta.url));
const OUT_DIR = resolve(process.env.OTLP_PROTO_OUT ?? join(HERE, '..', '..', 'test', 'data', 'otlp-proto'));

// 2025-05-01T12:00:00Z
const BASE_SECONDS = 1746100800;
/** hrtime [seconds, nanos] at BASE + ms milliseconds + extraNanos. */
function t(ms, extraNanos = 0) {
  const total = BigInt(ms) * 1000000n + BigInt(extraNanos);
  return [BASE_SECONDS + Number(total / 1000000000n), Number(total % 1000000000n)];
}

/** Deterministic ids: sha256("<seed>:trace|span:<n>") truncated to 16/8 bytes (never all-zero). */
class FixedIdGenerator {
  constructor(seed) {
    this.seed = seed;
    this.traces = 0;
    this.spans = 0;
  }
  #hex(kind, n, len) {
    return createHash('sha256').update(`${this.seed}:${kind}:${n}`).digest('hex').slice(0, len);
  }
  generateTraceId() {
    return this.#hex('trace', ++this.traces, 32);
  }
  generateSpanId() {
    return this.#hex('span', ++this.spans, 16);
  }
}

function makeProvider({ exporter, resource, idGenerator, spanLimits }) {
  return new TracerProvider({
    resource,
    idGenerator,
    spanLimits,
    spanProcessors: [new SimpleSpanProcessor({ exporter })],
  });
}

/** Child context of `span`, passed explicitly (no global context manager is registered). */
const under = (span) => trace.setSpan(ROOT_CONTEXT, span);

// ---------------------------------------------------------------------------------------------
// Cases. Each resolves to { spans, note } with spans = the exporter's finished spans, in end order.
// ---------------------------------------------------------------------------------------------

async function genaiChat() {
  const exporter = new InMemorySpanExporter();
  const provider = makeProvider({
    exporter,
    idGenerator: new FixedIdGenerator('genai-chat'),
    resource: resourceFromAttributes({
      'service.name': 'chat-app',
      'deployment.environment.name': 'production',
    }),
  });
  const tracer = provider.getTracer('llmtrace-fixtures.genai', '1.0.0');

  const root = tracer.startSpan('chat gpt-4o', {
    kind: SpanKind.CLIENT,
    startTime: t(0, 123456),
    attributes: {
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'gpt-4o',
      'gen_ai.request.temperature': 0.2,
    },
  }, ROOT_CONTEXT);
  root.setAttributes({
    'gen_ai.response.model': 'gpt-4o-2024-08-06',
    'gen_ai.response.id': 'chatcmpl-AbC123',
    'gen_ai.response.finish_reasons': ['tool_calls'],
    'gen_ai.usage.input_tokens': 1200,
    'gen_ai.usage.output_tokens': 300,
    'gen_ai.usage.cache_read.input_tokens': 200,
    'user.id': 'u-1',
    'session.id': 's-1',
  });
  root.addEvent('gen_ai.client.inference.operation.details', {
    'gen_ai.output.messages': JSON.stringify([
      { role: 'assistant', parts: [{ type: 'tool_call', id: 'call_abc123', name: 'get_weather', arguments: { city: 'Paris' } }], finish_reason: 'tool_calls' },
    ]),
  }, t(1450, 7));

  const tool = tracer.startSpan('execute_tool get_weather', {
    kind: SpanKind.INTERNAL,
    startTime: t(1500),
    attributes: {
      'gen_ai.operation.name': 'execute_tool',
      'gen_ai.tool.name': 'get_weather',
      'gen_ai.tool.call.id': 'call_abc123',
      'gen_ai.tool.type': 'function',
    },
  }, under(root));
  tool.end(t(1620, 999));

  root.setStatus({ code: SpanStatusCode.OK });
  root.end(t(1800, 1));
  await provider.forceFlush();
  return { spans: exporter.getFinishedSpans(), note: 'CLIENT chat root (OK, 1 event) + INTERNAL execute_tool child' };
}

async function errorAndTypes() {
  const exporter = new InMemorySpanExporter();
  const provider = makeProvider({
    exporter,
    idGenerator: new FixedIdGenerator('error-and-types'),
    resource: resourceFromAttributes({
      'service.name': 'payments',
      'deployment.environment.name': 'staging',
    }),
    // Small limits so that droppedEventsCount / droppedLinksCount are non-zero below.
    spanLimits: { eventCountLimit: 3, linkCountLimit: 2 },
  });
  const tracer = provider.getTracer('llmtrace-fixtures.types', '2.0.0-rc.1');

  // A span in another trace that the main span links to.
  const target = tracer.startSpan('consume order', { kind: SpanKind.CONSUMER, startTime: t(0) }, ROOT_CONTEXT);
  target.end(t(50));

  const remoteLinked = {
    traceId: '0af7651916cd43dd8448eb211c80319c',
    spanId: 'b7ad6b7169203331',
    traceFlags: TraceFlags.SAMPLED,
    isRemote: true,
    traceState: createTraceState('vendor1=abc,rojo=00f067aa0ba902b7'),
  };

  const span = tracer.startSpan('process payment', {
    kind: SpanKind.SERVER,
    startTime: t(100, 1),
    links: [
      // linkCountLimit is 2: this first link is dropped (droppedLinksCount = 1).
      { context: { traceId: '11111111111111111111111111111111', spanId: '2222222222222222', traceFlags: TraceFlags.SAMPLED } },
      { context: target.spanContext(), attributes: { 'link.reason': 'follows_from', 'link.bad': Symbol('x') } },
      { context: remoteLinked, attributes: { 'link.index': 1 } },
    ],
    attributes: {
      'str': 'hello',
      'str.empty': '',
      'str.unicode': 'naïve — 日本語 🚀',
      'str.escapes': 'quote " backslash \\ slash / newline \n tab \t cr \r ctrl \u0001 del \u007f end',
      'bool.true': true,
      'bool.false': false,
      'int.zero': 0,
      'int.positive': 42,
      'int.negative': -42,
      'int.max_safe': Number.MAX_SAFE_INTEGER,
      'int.min_safe': Number.MIN_SAFE_INTEGER,
      'double': 3.25,
      'double.negative': -0.5,
      'double.tiny': 1e-300,
      'double.huge': 1e300, // Number.isInteger(1e300) is true: see README "Encoding notes"
      'array.string': ['a', 'b', 'c'],
      'array.int': [1, -2, 3],
      'array.double': [1.5, 2.25],
      'array.bool': [true, false, true],
      'array.empty': [],
      'bytes': new Uint8Array([0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff]),
      'kvlist': { a: 'x', n: 7, nested: { ok: true } },
      'empty': null,
      'invalid.date': new Date(0), // not an AnyValue: dropped by the SDK (droppedAttributesCount = 1)
    },
  }, ROOT_CONTEXT);

  // eventCountLimit is 3: four events are added, the oldest is dropped (droppedEventsCount = 1).
  span.addEvent('dropped.event', { n: 0 }, t(110));
  span.addEvent('retry', {
    'retry.attempt': 2,
    'retry.backoff_seconds': 1.5,
    'retry.reason': 'timeout "upstream"\nline 2',
    'retry.tags': ['x', 'y'],
    'retry.flags': [true, false],
    'retry.bad': { not: 'simple' }, // event attributes must be simple types: dropped (droppedAttributesCount = 1)
  }, t(120, 5));
  span.addEvent('checkpoint', t(130));
  span.recordException({
    name: 'TimeoutError',
    message: 'upstream timeout after 30s',
    stack: 'TimeoutError: upstream timeout after 30s\n    at charge (payments.js:10:5)',
  }, t(140));

  const child = tracer.startSpan('publish retry', { kind: SpanKind.PRODUCER, startTime: t(150) }, under(span));
  child.setStatus({ code: SpanStatusCode.ERROR }); // ERROR without a message
  child.end(t(160));

  span.setStatus({ code: SpanStatusCode.ERROR, message: 'payment failed: "card_declined" — retry später\n(code 402)' });
  span.end(t(200));
  await provider.forceFlush();
  return { spans: exporter.getFinishedSpans(), note: 'SERVER span with ERROR status, every AnyValue type, links, events, non-zero dropped counts' };
}

async function batch() {
  const exporter = new InMemorySpanExporter();
  const idGenerator = new FixedIdGenerator('batch');
  const api = makeProvider({
    exporter,
    idGenerator,
    resource: resourceFromAttributes({
      'service.name': 'batch-api',
      'deployment.environment.name': 'production',
      'service.version': '1.4.2',
    }),
  });
  const worker = makeProvider({
    exporter,
    idGenerator,
    resource: resourceFromAttributes({
      'service.name': 'batch-worker',
      'deployment.environment.name': 'production',
      'host.name': 'worker-7',
    }, { schemaUrl: 'https://opentelemetry.io/schemas/1.30.0' }),
  });
  const apiA = api.getTracer('scope-a', '1.2.3');
  const apiB = api.getTracer('scope-b', '0.9.0', { schemaUrl: 'https://opentelemetry.io/schemas/1.28.0' });
  const workerA = worker.getTracer('scope-a', '1.2.3');
  const workerC = worker.getTracer('scope-c'); // no version

  // 10 traces x 5 spans: root SERVER (api/scope-a) -> 2 CLIENT (api/scope-b),
  // root -> CONSUMER (worker/scope-a) -> INTERNAL (worker/scope-c).
  for (let i = 0; i < 10; i++) {
    const base = i * 1000;
    let parentCtx = ROOT_CONTEXT;
    if (i === 0) {
      // The first trace continues a remote parent (sampled, with tracestate).
      parentCtx = trace.setSpanContext(ROOT_CONTEXT, {
        traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
        spanId: '00f067aa0ba902b7',
        traceFlags: TraceFlags.SAMPLED,
        isRemote: true,
        traceState: createTraceState('congo=t61rcWkgMzE'),
      });
    }
    const root = apiA.startSpan(`GET /items/${i}`, {
      kind: SpanKind.SERVER,
      startTime: t(base),
      attributes: { 'http.request.method': 'GET', 'url.path': `/items/${i}`, 'batch.index': i },
    }, parentCtx);
    const c1 = apiB.startSpan('SELECT items', { kind: SpanKind.CLIENT, startTime: t(base + 10), attributes: { 'db.system.name': 'postgresql' } }, under(root));
    c1.end(t(base + 30, i));
    const c2 = apiB.startSpan('GET cache', { kind: SpanKind.CLIENT, startTime: t(base + 40), attributes: { 'cache.hit': i % 2 === 0 } }, under(root));
    const job = workerA.startSpan('process item', { kind: SpanKind.CONSUMER, startTime: t(base + 50), attributes: { 'messaging.system': 'kafka' } }, under(root));
    const step = workerC.startSpan('transform', { startTime: t(base + 60), attributes: { 'step.weight': i + 0.5 } }, under(job));
    step.end(t(base + 70));
    c2.end(t(base + 80));
    if (i % 3 === 0) root.setStatus({ code: SpanStatusCode.OK });
    if (i === 7) root.setStatus({ code: SpanStatusCode.ERROR, message: 'item 7 failed' });
    root.end(t(base + 90));
    job.end(t(base + 95));
  }
  await api.forceFlush();
  await worker.forceFlush();
  return { spans: exporter.getFinishedSpans(), note: '2 resources x 2 scopes, 10 traces of 5 spans, first trace under a remote parent' };
}

async function anthropicUsage() {
  const exporter = new InMemorySpanExporter();
  const provider = makeProvider({
    exporter,
    idGenerator: new FixedIdGenerator('anthropic-usage'),
    resource: resourceFromAttributes({
      'service.name': 'claude-app',
      'deployment.environment.name': 'development',
    }),
  });
  const tracer = provider.getTracer('llmtrace-fixtures.genai', '1.0.0');
  const span = tracer.startSpan('chat claude-sonnet-4-5', {
    kind: SpanKind.CLIENT,
    startTime: t(0),
    attributes: {
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'anthropic',
      'gen_ai.request.model': 'claude-sonnet-4-5',
      'gen_ai.response.model': 'claude-sonnet-4-5-20250929',
      'gen_ai.usage.input_tokens': 100,
      'gen_ai.usage.output_tokens': 50,
      'gen_ai.usage.cache_read.input_tokens': 1000,
      'gen_ai.usage.cache_creation.input_tokens': 20,
    },
  }, ROOT_CONTEXT);
  span.end(t(2345, 678));
  await provider.forceFlush();
  return { spans: exporter.getFinishedSpans(), note: 'one CLIENT span, Anthropic cache read/creation usage' };
}

// NOT a "same content" pair: numbers on which the two serializers disagree (see README).
async function numberEdges() {
  const exporter = new InMemorySpanExporter();
  const provider = makeProvider({
    exporter,
    idGenerator: new FixedIdGenerator('number-edges'),
    resource: resourceFromAttributes({
      'service.name': 'number-edges',
      'deployment.environment.name': 'test',
    }),
  });
  const tracer = provider.getTracer('llmtrace-fixtures.numbers', '1.0.0');
  const span = tracer.startSpan('number edges', {
    startTime: t(0),
    attributes: {
      'int.2p53_plus_2': 2 ** 53 + 2, // exact in both
      'int.2p62': 2 ** 62, // pb varint 4611686018427387904, JSON text 4611686018427388000
      'int.min_int64': -(2 ** 63), // pb varint -9223372036854775808, JSON text -9223372036854776000
      'int.2p63': 2 ** 63, // pb doubleValue 9223372036854775808, JSON intValue 9223372036854776000
      'double.1e300': 1e300, // pb doubleValue, JSON {"intValue":1e+300}
      'double.neg_zero': -0, // pb intValue 0, JSON {"intValue":0}
      'double.nan': NaN, // pb doubleValue NaN, JSON {"doubleValue":null}
      'double.inf': Infinity, // pb doubleValue +Inf, JSON {"doubleValue":null}
      'double.neg_inf': -Infinity, // pb doubleValue -Inf, JSON {"doubleValue":null}
    },
  }, ROOT_CONTEXT);
  span.end(t(1));
  await provider.forceFlush();
  return { spans: exporter.getFinishedSpans(), note: 'DIVERGENT BY DESIGN: numbers the JSON serializer cannot represent like the protobuf one' };
}

const CASES = {
  'genai-chat': genaiChat,
  'error-and-types': errorAndTypes,
  'batch': batch,
  'anthropic-usage': anthropicUsage,
  'number-edges': numberEdges,
};

mkdirSync(OUT_DIR, { recursive: true });
let failed = false;
for (const [name, build] of Object.entries(CASES)) {
  const { spans, note } = await build();
  let pb;
  let json;
  try {
    pb = ProtobufTraceSerializer.serializeRequest(spans);
    json = JsonTraceSerializer.serializeRequest(spans);
  } catch (err) {
    console.error(`${name}: serializer threw: ${err?.stack ?? err}`);
    failed = true;
    continue;
  }
  if (!pb || !json || pb.length === 0 || json.length === 0) {
    console.error(`${name}: serializer returned ${pb === undefined ? 'undefined' : 'empty'} (pb=${pb?.length} json=${json?.length})`);
    failed = true;
    continue;
  }
  writeFileSync(join(OUT_DIR, `${name}.pb`), pb);
  writeFileSync(join(OUT_DIR, `${name}.json`), json);
  console.log(`${name}: ${spans.length} spans, ${pb.length} bytes pb, ${json.length} bytes json -- ${note}`);
}
if (failed) process.exit(1);
