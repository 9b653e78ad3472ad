// Vercel AI SDK (`ai`) telemetry, captured from the real package with mock language models.
//
//   node capture-ai-sdk.mjs v5            ai@5 (npm alias ai5), experimental_telemetry, built-in OTel
//   node capture-ai-sdk.mjs v6            ai@6 (npm alias ai6), experimental_telemetry, built-in OTel
//   node capture-ai-sdk.mjs v7-otel       ai@7 + @ai-sdk/otel `OpenTelemetry` (GenAI semconv spans)
//   node capture-ai-sdk.mjs v7-otel-all   the same with every supplemental attribute group switched on
//   node capture-ai-sdk.mjs v7-legacy     ai@7 + @ai-sdk/otel `LegacyOpenTelemetry` (ai.* spans)
//
// Each case writes test/data/emitters/ai-sdk-<variant>.<case>.json (OTLP/JSON).
// The token numbers come from the mock models below (they are ours); everything else -- span
// names, tree, attribute keys, which span carries which usage -- is what the package emits.
import { z } from 'zod';
import { setupOtel, dumpOtlp } from './otel-setup.mjs';

const variant = process.argv[2];
const major = { v5: 5, v6: 6, 'v7-otel': 7, 'v7-otel-all': 7, 'v7-legacy': 7 }[variant];
if (!major) throw new Error(`unknown variant ${variant}`);

globalThis.AI_SDK_LOG_WARNINGS = false; // the deprecation notice for generateObject in v7
const otel = setupOtel();

const pkg = major === 5 ? 'ai5' : major === 6 ? 'ai6' : 'ai';
const ai = await import(pkg);
const aiTest = await import(`${pkg}/test`);
const MockModel =
  major === 5 ? aiTest.MockLanguageModelV2 : major === 6 ? aiTest.MockLanguageModelV3 : aiTest.MockLanguageModelV4;

if (major === 7) {
  const { OpenTelemetry, LegacyOpenTelemetry } = await import('@ai-sdk/otel');
  ai.registerTelemetry(
    variant === 'v7-legacy'
      ? new LegacyOpenTelemetry()
      : variant === 'v7-otel-all'
        ? new OpenTelemetry({ usage: true, providerMetadata: true, runtimeContext: true, headers: true, toolChoice: true, schema: true })
        : new OpenTelemetry(),
  );
}

// ---------------------------------------------------------------------------------------------
// Usage reported by the mock models, per call. Anthropic-like calls read and write the prompt
// cache; OpenAI-like calls read it only. Totals include the parts (the v6+ provider contract:
// inputTokens.total = noCache + cacheRead + cacheWrite, outputTokens.total = text + reasoning).
const CALLS = {
  anthropic1: { noCache: 34, cacheRead: 1200, cacheWrite: 123, text: 200, reasoning: 50 },
  anthropic2: { noCache: 56, cacheRead: 1400, cacheWrite: 0, text: 60, reasoning: 20 },
  openai1: { noCache: 1238, cacheRead: 768, cacheWrite: undefined, text: 172, reasoning: 128 },
};

function usageFor(c) {
  const input = c.noCache + c.cacheRead + (c.cacheWrite ?? 0);
  const output = c.text + c.reasoning;
  if (major === 5) {
    // LanguageModelV2Usage (flat). Cache writes have no field here; Anthropic reports them in
    // providerMetadata.anthropic.cacheCreationInputTokens.
    return { inputTokens: input, outputTokens: output, totalTokens: input + output, reasoningTokens: c.reasoning, cachedInputTokens: c.cacheRead };
  }
  // LanguageModelV3Usage / LanguageModelV4Usage (nested)
  return {
    inputTokens: { total: input, noCache: c.noCache, cacheRead: c.cacheRead, cacheWrite: c.cacheWrite },
    outputTokens: { total: output, text: c.text, reasoning: c.reasoning },
    raw: c.cacheWrite === undefined
      ? { prompt_tokens: input, completion_tokens: output, total_tokens: input + output,
          prompt_tokens_details: { cached_tokens: c.cacheRead }, completion_tokens_details: { reasoning_tokens: c.reasoning } }
      : { input_tokens: c.noCache, cache_read_input_tokens: c.cacheRead, cache_creation_input_tokens: c.cacheWrite, output_tokens: output },
  };
}

function providerMetadataFor(c) {
  return c.cacheWrite === undefined
    ? { openai: { cachedPromptTokens: c.cacheRead, reasoningTokens: c.reasoning } }
    : { anthropic: { cacheCreationInputTokens: c.cacheWrite } };
}

const finish = (unified, raw) => (major === 5 ? unified : { unified, raw });

const ANTHROPIC = { provider: 'anthropic.messages', modelId: 'claude-sonnet-4-5-20250929' };
const OPENAI = { provider: 'openai.chat', modelId: 'o4-mini-2025-04-16' };
const T0 = new Date('2025-11-20T10:00:00.000Z');

let responseSeq = 0;
function generateResult(model, call, content, finishReason) {
  responseSeq += 1;
  return {
    content,
    finishReason,
    usage: usageFor(CALLS[call]),
    providerMetadata: providerMetadataFor(CALLS[call]),
    response: { id: `resp_${String(responseSeq).padStart(3, '0')}`, modelId: model.modelId, timestamp: T0 },
    warnings: [],
  };
}

/** A mock model whose successive doGenerate calls return the given results. */
function mockModel(model, results) {
  let i = 0;
  return new MockModel({
    ...model,
    doGenerate: async () => results[Math.min(i++, results.length - 1)](),
  });
}

const reasoningPart = (text) => ({ type: 'reasoning', text });
const textPart = (text) => ({ type: 'text', text });
const toolCallPart = (id, toolName, input) => ({ type: 'tool-call', toolCallId: id, toolName, input: JSON.stringify(input) });

// Telemetry options as the brief asks for them. In v7 `experimental_telemetry` is a deprecated
// alias of `telemetry`, and `metadata` no longer exists (runtimeContext + includeRuntimeContext
// replace it); it is passed anyway so the fixtures show that it is dropped.
const telemetryKey = major === 7 ? 'telemetry' : 'experimental_telemetry';
const telemetry = {
  isEnabled: true,
  functionId: 'my-feature',
  metadata: { userId: 'u1', sessionId: 's1' },
  ...(major === 7 ? { includeRuntimeContext: { userId: true, sessionId: true } } : {}),
};
const callOpts = {
  [telemetryKey]: telemetry,
  ...(major === 7 ? { runtimeContext: { userId: 'u1', sessionId: 's1', secret: 'not-in-telemetry' } } : {}),
};

const weatherTool = ai.tool({
  description: 'Get the weather for a city',
  inputSchema: z.object({ city: z.string() }),
  execute: async ({ city }) => ({ city, tempC: 18 }),
});

function toolLoopModel() {
  return mockModel(ANTHROPIC, [
    () => generateResult(ANTHROPIC, 'anthropic1',
      [reasoningPart('Need the weather tool.'), toolCallPart('toolu_01', 'weather', { city: 'Paris' })],
      finish('tool-calls', 'tool_use')),
    () => generateResult(ANTHROPIC, 'anthropic2', [textPart('It is 18 C in Paris.')], finish('stop', 'end_turn')),
  ]);
}

const cases = {
  // generateText, one step: outer ai.generateText + inner ai.generateText.doGenerate
  'generate-text': async () => {
    const model = mockModel(ANTHROPIC, [
      () => generateResult(ANTHROPIC, 'anthropic1', [reasoningPart('Short answer.'), textPart('Hello!')], finish('stop', 'end_turn')),
    ]);
    const r = await ai.generateText({ model, system: 'Be brief.', prompt: 'Say hello.', ...callOpts });
    return r.text;
  },

  // streamText, consumed to the end: ai.streamText + ai.streamText.doStream
  'stream-text': async () => {
    const c = CALLS.openai1;
    const chunks = [
      { type: 'stream-start', warnings: [] },
      { type: 'response-metadata', id: 'chatcmpl_001', modelId: OPENAI.modelId, timestamp: T0 },
      { type: 'text-start', id: 't1' },
      { type: 'text-delta', id: 't1', delta: 'Hello' },
      { type: 'text-delta', id: 't1', delta: ' world' },
      { type: 'text-end', id: 't1' },
      { type: 'finish', finishReason: finish('stop', 'stop'), usage: usageFor(c), providerMetadata: providerMetadataFor(c) },
    ];
    const model = new MockModel({
      ...OPENAI,
      doStream: async () => ({ stream: aiTest.convertArrayToReadableStream(chunks) }),
    });
    const r = ai.streamText({ model, prompt: 'Say hello world.', ...callOpts });
    let text = '';
    for await (const delta of r.textStream) text += delta;
    await r.usage;
    return text;
  },

  // generateObject (deprecated in v7, still exported): ai.generateObject + ai.generateObject.doGenerate
  'generate-object': async () => {
    const model = mockModel(ANTHROPIC, [
      () => generateResult(ANTHROPIC, 'anthropic1', [textPart('{"city":"Paris","tempC":18}')], finish('stop', 'end_turn')),
    ]);
    const r = await ai.generateObject({
      model,
      schema: z.object({ city: z.string(), tempC: z.number() }),
      prompt: 'Weather in Paris as JSON.',
      ...callOpts,
    });
    return r.object;
  },

  // generateText with a tool and two steps: one outer span, two model calls, one tool call
  'tool-loop': async () => {
    const r = await ai.generateText({
      model: toolLoopModel(),
      tools: { weather: weatherTool },
      stopWhen: ai.stepCountIs(5),
      prompt: 'Weather in Paris?',
      ...callOpts,
    });
    return `${r.steps.length} steps: ${r.text}`;
  },

  // The agent class of the version: Experimental_Agent (v5), ToolLoopAgent (v6, v7)
  agent: async () => {
    const Agent = ai.ToolLoopAgent ?? ai.Experimental_Agent;
    const agent = new Agent({
      model: toolLoopModel(),
      tools: { weather: weatherTool },
      stopWhen: ai.stepCountIs(5),
      ...(major === 5 ? { system: 'You are a weather agent.' } : { instructions: 'You are a weather agent.' }),
      ...callOpts,
    });
    const r = await agent.generate({ prompt: 'Weather in Paris?' });
    return `${Agent.name}: ${r.steps.length} steps: ${r.text}`;
  },
};

const only = process.argv.slice(3);
for (const [name, run] of Object.entries(cases)) {
  if (only.length && !only.includes(name)) continue;
  otel.exporter.reset();
  const out = await run();
  console.log(`${variant} ${name}: ${JSON.stringify(out)}`);
  await dumpOtlp(otel, `ai-sdk-${variant}.${name}.json`);
}
