// Shared OpenTelemetry setup: an in-memory exporter behind a SimpleSpanProcessor, registered
// as the global tracer provider (with an AsyncLocalStorage context manager so parent/child
// links work), and a writer that serializes the finished spans with the OTLP/JSON serializer of
// @opentelemetry/otlp-transformer -- the bytes an OTLP/HTTP JSON exporter would POST.
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { JsonTraceSerializer } from '@opentelemetry/otlp-transformer';

import { writeJson } from './write-json.mjs';

export { writeJson, OUT_DIR, pretty } from './write-json.mjs';

export function setupOtel(serviceName = 'llmtrace-capture') {
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': serviceName }),
    spanProcessors: [new SimpleSpanProcessor({ exporter })],
  });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  trace.setGlobalTracerProvider(provider);
  return { exporter, provider };
}

/** Serialize what the exporter holds to OTLP/JSON, write it, and empty the exporter. */
export async function dumpOtlp(otel, name) {
  await otel.provider.forceFlush();
  const spans = otel.exporter.getFinishedSpans();
  if (spans.length === 0) throw new Error(`${name}: no spans were captured`);
  const bytes = JsonTraceSerializer.serializeRequest(spans);
  const request = JSON.parse(new TextDecoder().decode(bytes));
  writeJson(name, request);
  otel.exporter.reset();
  return request;
}
