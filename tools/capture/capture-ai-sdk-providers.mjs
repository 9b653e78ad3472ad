// Vercel AI SDK telemetry with the REAL provider packages (@ai-sdk/anthropic, @ai-sdk/openai of
// the matching major) talking HTTP to the loopback stand-in in mock-llm-server.mjs. Unlike the
// mock-model fixtures, here the provider package itself turns the raw API usage (Anthropic
// `input_tokens` + `cache_read_input_tokens` + `cache_creation_input_tokens`; OpenAI
// `prompt_tokens` + `prompt_tokens_details.cached_tokens` ...) into the SDK's usage, so the
// fixtures show what a real application records.
//
//   node capture-ai-sdk-providers.mjs v5 | v6 | v7-otel | v7-legacy
//
// Writes ai-sdk-<variant>.provider-anthropic.json (generateText + streamText, two traces) and
// ai-sdk-<variant>.provider-openai.json (openai.chat generateText + Responses API generateText).
import { setupOtel, dumpOtlp } from './otel-setup.mjs';
import { startMockLLM } from './mock-llm-server.mjs';

const variant = process.argv[2];
const major = { v5: 5, v6: 6, 'v7-otel': 7, 'v7-legacy': 7 }[variant];
if (!major) throw new Error(`unknown variant ${variant}`);

const otel = setupOtel();
const ai = await import(major === 5 ? 'ai5' : major === 6 ? 'ai6' : 'ai');
const { createAnthropic } = await import(major === 5 ? 'anthropic-v2' : major === 6 ? 'anthropic-v3' : '@ai-sdk/anthropic');
const { createOpenAI } = await import(major === 5 ? 'openai-v2' : major === 6 ? 'openai-v3' : '@ai-sdk/openai');
if (major === 7) {
  const { OpenTelemetry, LegacyOpenTelemetry } = await import('@ai-sdk/otel');
  ai.registerTelemetry(variant === 'v7-legacy' ? new LegacyOpenTelemetry() : new OpenTelemetry());
}

const llm = await startMockLLM();
const anthropic = createAnthropic({ baseURL: llm.baseURL, apiKey: 'sk-ant-test-not-a-key' });
const openai = createOpenAI({ baseURL: llm.baseURL, apiKey: 'sk-test-not-a-key' });

const telemetry = major === 7
  ? { telemetry: { functionId: 'my-feature', includeRuntimeContext: { userId: true, sessionId: true } }, runtimeContext: { userId: 'u1', sessionId: 's1' } }
  : { experimental_telemetry: { isEnabled: true, functionId: 'my-feature', metadata: { userId: 'u1', sessionId: 's1' } } };

async function consume(r) {
  let text = '';
  for await (const d of r.textStream) text += d;
  return text;
}

// Anthropic Messages API
{
  const model = anthropic('claude-sonnet-4-5-20250929');
  const g = await ai.generateText({ model, system: 'Be brief.', prompt: 'Say hello.', maxRetries: 0, ...telemetry });
  console.log(`${variant} anthropic generateText: ${g.text} usage=${JSON.stringify(g.usage)}`);
  const s = ai.streamText({ model, prompt: 'Say hello world.', maxRetries: 0, ...telemetry });
  console.log(`${variant} anthropic streamText: ${await consume(s)} usage=${JSON.stringify(await s.usage)}`);
  await dumpOtlp(otel, `ai-sdk-${variant}.provider-anthropic.json`);
}

// OpenAI: Chat Completions and Responses
{
  const g = await ai.generateText({ model: openai.chat('o4-mini'), system: 'Be brief.', prompt: 'Say hello.', maxRetries: 0, ...telemetry });
  console.log(`${variant} openai.chat generateText: ${g.text} usage=${JSON.stringify(g.usage)}`);
  const r = await ai.generateText({ model: openai.responses('o4-mini'), system: 'Be brief.', prompt: 'Say hello.', maxRetries: 0, ...telemetry });
  console.log(`${variant} openai.responses generateText: ${r.text} usage=${JSON.stringify(r.usage)}`);
  await dumpOtlp(otel, `ai-sdk-${variant}.provider-openai.json`);
}

await llm.close();
