// Strands Agents TypeScript SDK (@strands-agents/sdk) with its BedrockModel and the real AWS SDK
// client, pointed at the loopback Bedrock mock in mock-bedrock-server.mjs.
//
//   node capture-strands.mjs default   Strands' default conventions (dual-emits old and new names)
//   node capture-strands.mjs latest    OTEL_SEMCONV_STABILITY_OPT_IN=gen_ai_latest_experimental
//
// Usage in the mock follows Bedrock's Converse semantics: inputTokens EXCLUDES the cache,
// totalTokens = inputTokens + outputTokens + cacheReadInputTokens + cacheWriteInputTokens.
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import { z } from 'zod';
import { writeJson } from '../write-json.mjs';
import { startMockBedrock } from './mock-bedrock-server.mjs';

const variant = process.argv[2] ?? 'default';
if (variant === 'latest') process.env.OTEL_SEMCONV_STABILITY_OPT_IN = 'gen_ai_latest_experimental';
process.env.AWS_ACCESS_KEY_ID = 'AKIDLLMTRACETEST';
process.env.AWS_SECRET_ACCESS_KEY = 'not-a-secret';
process.env.AWS_REGION = 'us-east-1';
delete process.env.AWS_PROFILE;

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({
  resource: resourceFromAttributes({ 'service.name': 'llmtrace-capture' }),
  spanProcessors: [new SimpleSpanProcessor(exporter)],
});
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
trace.setGlobalTracerProvider(provider);

const { Agent, BedrockModel, tool } = await import('@strands-agents/sdk');

const usage = (input, output, cacheRead, cacheWrite) => ({
  inputTokens: input,
  outputTokens: output,
  totalTokens: input + output + cacheRead + cacheWrite,
  cacheReadInputTokens: cacheRead,
  cacheWriteInputTokens: cacheWrite,
});
const TOOL_TURNS = [
  { reasoning: 'Need the weather tool.', toolUse: { id: 'tooluse_01', name: 'get_weather', input: { location: 'Paris' } }, stopReason: 'tool_use', usage: usage(34, 250, 1200, 123) },
  { text: 'It is 18 C in Paris.', stopReason: 'end_turn', usage: usage(56, 80, 1400, 0) },
];
const ONE_TURN = [{ text: 'Hello!', stopReason: 'end_turn', usage: usage(34, 250, 1200, 123) }];

const weather = tool({
  name: 'get_weather',
  description: 'Get the weather for a city.',
  inputSchema: z.object({ location: z.string() }),
  callback: ({ location }) => `18 C in ${location}`,
});

const MODEL_ID = 'us.anthropic.claude-sonnet-4-5-20250929-v1:0';

async function run(name, turns, { stream, tools }) {
  const mock = await startMockBedrock(turns);
  const model = new BedrockModel({
    modelId: MODEL_ID,
    region: 'us-east-1',
    stream,
    maxTokens: 1024,
    clientConfig: { endpoint: mock.endpoint, credentials: { accessKeyId: 'AKIDLLMTRACETEST', secretAccessKey: 'not-a-secret' }, maxAttempts: 1 },
  });
  const agent = new Agent({
    model,
    name: 'weather-agent',
    systemPrompt: 'Be brief.',
    tools: tools ? [weather] : [],
    printer: false,
    traceAttributes: { 'session.id': 's1', 'user.id': 'u1' },
  });
  exporter.reset();
  const result = await agent.invoke(tools ? 'Weather in Paris?' : 'Say hello.');
  console.log(`${variant} ${name}: ${String(result).trim()} (${mock.requests.length} model requests)`);
  await provider.forceFlush();
  const spans = exporter.getFinishedSpans();
  if (!spans.length) throw new Error('no spans');
  writeJson(`strands-${variant}.${name}.json`, JSON.parse(new TextDecoder().decode(JsonTraceSerializer.serializeRequest(spans))));
  await mock.close();
}

await run('tool-loop-stream', TOOL_TURNS, { stream: true, tools: true });
if (variant === 'default') await run('converse-nostream', ONE_TURN, { stream: false, tools: false });
process.exit(0); // the AWS client keeps sockets and timers alive
