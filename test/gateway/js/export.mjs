// Sends spans to llmtrace-gateway the way applications do, with the real OpenTelemetry JS SDK
// exporters and the Vercel AI SDK, and prints a JSON summary of what was sent (test/gateway/run.sh
// compares it with what llmtrace stored).
//
//   node export.mjs --url http://127.0.0.1:PORT --token SECRET [--spans N] [--only CASE,...]
//
// Cases (each a TracerProvider of its own whose exporter is wrapped to record what it exported):
//   proto       OTLPTraceExporter of @opentelemetry/exporter-trace-otlp-proto (application/x-protobuf)
//               behind a BatchSpanProcessor: N `chat gpt-4o` CLIENT spans with GenAI attributes
//               (2 traces: a root and its children), then forceFlush()
//   json        the same with @opentelemetry/exporter-trace-otlp-http (application/json)
//   proto-gzip  the protobuf exporter with compression 'gzip' (Content-Encoding: gzip)
//   ai-sdk      the Vercel AI SDK 7 generateText with a mock model (provider openai.chat, model
//               gpt-4o, usage 100 input / 20 output tokens) and experimental_telemetry enabled, its
//               spans made by @ai-sdk/otel's OpenTelemetry integration with a tracer of a provider
//               whose exporter is the protobuf exporter (SimpleSpanProcessor)
//
// Every resource says llmtrace.project = "from-payload": the gateway stores the spans under the
// token's project anyway. Exit status 0 when every export succeeded.
import { context, trace, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BatchSpanProcessor, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const base = opt('url', 'http://127.0.0.1:4318').replace(/\/$/, '');
const token = opt('token', '');
const nSpans = Number(opt('spans', '10'));
const only = opt('only', 'proto,json,proto-gzip,ai-sdk').split(',');

globalThis.AI_SDK_LOG_WARNINGS = false;
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());

const exporterOptions = (extra = {}) => ({
  url: `${base}/v1/traces`,
  headers: { Authorization: `Bearer ${token}` },
  timeoutMillis: 15000,
  ...extra,
});

/** Wraps an exporter: keeps every span handed to it and the result of every export call. */
class Recording {
  constructor(inner) {
    this.inner = inner;
    this.spans = [];
    this.results = [];
  }
  export(spans, done) {
    this.spans.push(...spans);
    this.inner.export(spans, (r) => {
      this.results.push({ spans: spans.length, code: r.code, error: r.error ? String(r.error.message ?? r.error) : undefined });
      done(r);
    });
  }
  shutdown() {
    return this.inner.shutdown();
  }
  forceFlush() {
    return this.inner.forceFlush ? this.inner.forceFlush() : Promise.resolve();
  }
}

const num = (v) => (typeof v === 'number' ? v : 0);

/** What the SDK recorded: ids, span count, and the token counts of the model-call spans. */
function summarize(name, rec, flushError) {
  const spans = rec.spans.map((s) => {
    const a = s.attributes;
    const ctx = s.spanContext();
    return {
      traceId: ctx.traceId,
      spanId: ctx.spanId,
      name: s.name,
      kind: s.kind,
      operation: a['gen_ai.operation.name'],
      model: a['gen_ai.response.model'] ?? a['gen_ai.request.model'],
      provider: a['gen_ai.provider.name'],
      inputTokens: a['gen_ai.usage.input_tokens'],
      outputTokens: a['gen_ai.usage.output_tokens'],
    };
  });
  // The model calls: GenAI `chat` spans. AI SDK 7's invoke_agent root repeats their usage
  // (llmtrace keeps it out of the columns: cost_status aggregate); its step span has none.
  const calls = spans.filter((s) => s.operation === 'chat');
  return {
    case: name,
    traceIds: [...new Set(spans.map((s) => s.traceId))],
    spanCount: spans.length,
    modelCalls: calls.length,
    inputTokens: calls.reduce((t, s) => t + num(s.inputTokens), 0),
    outputTokens: calls.reduce((t, s) => t + num(s.outputTokens), 0),
    exports: rec.results,
    ok: !flushError && rec.results.length > 0 && rec.results.every((r) => r.code === 0),
    flushError: flushError ? String(flushError.message ?? flushError) : undefined,
    spans,
  };
}

function makeProvider(serviceName, exporter, batch) {
  const rec = new Recording(exporter);
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': serviceName, 'llmtrace.project': 'from-payload' }),
    spanProcessors: [batch ? new BatchSpanProcessor({ exporter: rec, scheduledDelayMillis: 60000 }) : new SimpleSpanProcessor({ exporter: rec })],
  });
  return { rec, provider };
}

async function flush(provider) {
  try {
    await provider.forceFlush();
    return undefined;
  } catch (e) {
    return e;
  }
}

/** N chat spans in 2 traces: a root and its children, each with its own usage. */
async function sdkSpans(name, exporter) {
  const { rec, provider } = makeProvider(`gw-e2e-${name}`, exporter, true);
  const tracer = provider.getTracer('llmtrace-gateway-e2e', '1.0.0');
  let i = 0;
  const perTrace = Math.ceil(nSpans / 2);
  while (i < nSpans) {
    const attrs = (k) => ({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'gpt-4o',
      'gen_ai.response.model': 'gpt-4o',
      'gen_ai.usage.input_tokens': 100 + 7 * k,
      'gen_ai.usage.output_tokens': 20 + 3 * k,
    });
    const root = tracer.startSpan('chat gpt-4o', { kind: SpanKind.CLIENT, attributes: attrs(i) }, context.active());
    i++;
    const parent = trace.setSpan(context.active(), root);
    for (let j = 1; j < perTrace && i < nSpans; j++, i++) {
      const child = tracer.startSpan('chat gpt-4o', { kind: SpanKind.CLIENT, attributes: attrs(i) }, parent);
      child.setStatus({ code: SpanStatusCode.OK });
      child.end();
    }
    root.end();
  }
  const err = await flush(provider);
  await provider.shutdown().catch(() => {});
  return summarize(name, rec, err);
}

async function aiSdk() {
  const { generateText } = await import('ai');
  const { MockLanguageModelV4 } = await import('ai/test');
  const { OpenTelemetry } = await import('@ai-sdk/otel');
  const { rec, provider } = makeProvider('gw-e2e-ai-sdk', new ProtoExporter(exporterOptions()), false);
  const model = new MockLanguageModelV4({
    provider: 'openai.chat',
    modelId: 'gpt-4o',
    doGenerate: async () => ({
      content: [{ type: 'text', text: 'Hello!' }],
      finishReason: { unified: 'stop', raw: 'stop' },
      usage: {
        inputTokens: { total: 100, noCache: 100, cacheRead: undefined, cacheWrite: undefined },
        outputTokens: { total: 20, text: 20, reasoning: undefined },
      },
      response: { id: 'resp_gw_001', modelId: 'gpt-4o', timestamp: new Date() },
      warnings: [],
    }),
  });
  const result = await generateText({
    model,
    prompt: 'Say hello.',
    experimental_telemetry: {
      isEnabled: true,
      functionId: 'gateway-e2e',
      integrations: new OpenTelemetry({ tracer: provider.getTracer('ai') }),
    },
  });
  const err = await flush(provider);
  await provider.shutdown().catch(() => {});
  const s = summarize('ai-sdk', rec, err);
  s.text = result.text;
  s.usage = { inputTokens: result.usage.inputTokens, outputTokens: result.usage.outputTokens };
  return s;
}

const out = [];
for (const c of only) {
  if (c === 'proto') out.push(await sdkSpans('proto', new ProtoExporter(exporterOptions())));
  else if (c === 'json') out.push(await sdkSpans('json', new JsonExporter(exporterOptions())));
  else if (c === 'proto-gzip') out.push(await sdkSpans('proto-gzip', new ProtoExporter(exporterOptions({ compression: 'gzip' }))));
  else if (c === 'ai-sdk') out.push(await aiSdk());
  else throw new Error(`unknown case ${c}`);
}
process.stdout.write(JSON.stringify(out) + '\n');
process.exitCode = out.every((c) => c.ok) ? 0 : 1;
