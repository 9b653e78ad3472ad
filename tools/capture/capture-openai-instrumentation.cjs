// OpenTelemetry GenAI semantic conventions as emitted by @opentelemetry/instrumentation-openai,
// driving the real `openai` client against the loopback mock in mock-llm-server.mjs.
// CommonJS so that the instrumentation's require hook is in place before `openai` is loaded.
//
// Writes openai-instrumentation.<case>.json (OTLP/JSON traces) and, because this package puts
// message content into log records (not span attributes), openai-instrumentation.<case>.logs.json
// (OTLP/JSON ExportLogsServiceRequest).
process.env.OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT = 'true';

async function main() {
  const { setupOtel, dumpOtlp, writeJson } = await import('./otel-setup.mjs');
  const { startMockLLM } = await import('./mock-llm-server.mjs');
  const { registerInstrumentations } = require('@opentelemetry/instrumentation');
  const { OpenAIInstrumentation } = require('@opentelemetry/instrumentation-openai');
  const { LoggerProvider, InMemoryLogRecordExporter, SimpleLogRecordProcessor } = require('@opentelemetry/sdk-logs');
  const { resourceFromAttributes } = require('@opentelemetry/resources');
  const { JsonLogsSerializer } = require('@opentelemetry/otlp-transformer');

  const otel = setupOtel('llmtrace-capture');
  const logExporter = new InMemoryLogRecordExporter();
  const loggerProvider = new LoggerProvider({
    resource: resourceFromAttributes({ 'service.name': 'llmtrace-capture' }),
    processors: [new SimpleLogRecordProcessor({ exporter: logExporter })],
  });
  registerInstrumentations({
    instrumentations: [new OpenAIInstrumentation()],
    tracerProvider: otel.provider,
    loggerProvider,
  });

  const OpenAI = require('openai'); // after the hook
  const mock = await startMockLLM();
  const client = new OpenAI({ apiKey: 'sk-test-not-a-key', baseURL: mock.baseURL, maxRetries: 0 });

  async function dump(name) {
    await dumpOtlp(otel, `openai-instrumentation.${name}.json`);
    await loggerProvider.forceFlush();
    const logs = logExporter.getFinishedLogRecords();
    if (logs.length) {
      writeJson(`openai-instrumentation.${name}.logs.json`, JSON.parse(new TextDecoder().decode(JsonLogsSerializer.serializeRequest(logs))));
    }
    logExporter.reset();
  }

  const messages = [
    { role: 'system', content: 'Be brief.' },
    { role: 'user', content: 'Say hello.' },
  ];

  const c1 = await client.chat.completions.create({ model: 'o4-mini', messages, max_completion_tokens: 500 });
  console.log('chat:', c1.choices[0].message.content, JSON.stringify(c1.usage));
  await dump('chat');

  const stream = await client.chat.completions.create({ model: 'o4-mini', messages, stream: true, stream_options: { include_usage: true } });
  let text = '';
  for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
  console.log('chat-stream:', text);
  await dump('chat-stream');

  const r = await client.responses.create({ model: 'o4-mini', instructions: 'Be brief.', input: 'Say hello.' });
  console.log('responses:', r.output_text, JSON.stringify(r.usage));
  await dump('responses');

  await mock.close();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
