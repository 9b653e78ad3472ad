// Braintrust JS SDK (`braintrust`): the span rows its logger POSTs to the Braintrust API
// (`POST /logs3`, body {"rows": [...], "api_version": N}), captured by a loopback stand-in that
// plays both the app (login, project registration) and the data-plane API.
//
// Writes braintrust.<case>.json = the rows array of all /logs3 bodies of that case, in order.
// The LLM calls go through the real wrappers (wrapOpenAI, wrapAnthropic, wrapAISDK) and the real
// clients, against the OpenAI/Anthropic stand-in in mock-llm-server.mjs.
import http from 'node:http';
import { writeJson } from './write-json.mjs';
import { startMockLLM } from './mock-llm-server.mjs';

// ---- Braintrust API stand-in --------------------------------------------------------------
const bt = { posts: [], other: [] };
const btServer = http.createServer((req, res) => {
  let raw = '';
  req.on('data', (d) => (raw += d));
  req.on('end', () => {
    const body = raw ? JSON.parse(raw) : null;
    const url = req.url.split('?')[0];
    const json = (code, obj) => {
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify(obj));
    };
    if (url === '/api/apikey/login') {
      return json(200, { org_info: [{ id: 'org-llmtrace', name: 'llmtrace', api_url: origin, proxy_url: origin, git_metadata: null }] });
    }
    if (url === '/api/project/register') {
      return json(200, { project: { id: 'proj-llmtrace-0001', name: body.project_name, org_id: body.org_id, created: '2025-11-20T10:00:00.000Z', user_id: 'user-1', settings: null } });
    }
    if (url === '/version') return json(200, { version: 'mock', logs3_payload_max_bytes: null });
    if (url === '/logs3') {
      bt.posts.push(body);
      return json(200, { ids: (body.rows ?? []).map((r) => r.id) });
    }
    bt.other.push(`${req.method} ${url}`);
    return json(200, {});
  });
});
await new Promise((r) => btServer.listen(0, '127.0.0.1', r));
const origin = `http://127.0.0.1:${btServer.address().port}`;

process.env.BRAINTRUST_APP_URL = origin;
process.env.BRAINTRUST_API_URL = origin;
delete process.env.BRAINTRUST_API_KEY;

const braintrust = await import('braintrust');
const { default: OpenAI } = await import('openai');
const { default: Anthropic } = await import('@anthropic-ai/sdk');
const llm = await startMockLLM();

const logger = braintrust.initLogger({ projectName: 'llmtrace-capture', apiKey: 'bt-not-a-real-key', appUrl: origin, asyncFlush: true });

async function dump(name) {
  await logger.flush();
  const rows = bt.posts.flatMap((p) => p.rows ?? []);
  if (!rows.length) throw new Error(`${name}: nothing was posted to /logs3`);
  const versions = [...new Set(bt.posts.map((p) => p.api_version))];
  console.log(`braintrust ${name}: ${bt.posts.length} POST /logs3 (api_version ${versions}), ${rows.length} rows`);
  writeJson(`braintrust.${name}.json`, rows);
  bt.posts.length = 0;
}

const openai = braintrust.wrapOpenAI(new OpenAI({ apiKey: 'sk-test-not-a-key', baseURL: llm.baseURL, maxRetries: 0 }));
const anthropic = braintrust.wrapAnthropic(new Anthropic({ apiKey: 'sk-ant-test-not-a-key', baseURL: llm.origin, maxRetries: 0 }));
const messages = [
  { role: 'system', content: 'Be brief.' },
  { role: 'user', content: 'Say hello.' },
];

// 1. Hand-made spans with traced(): a task span with an llm child that logs its own metrics.
await logger.traced(async (root) => {
  root.log({ input: 'Say hello.', metadata: { userId: 'u1', sessionId: 's1' } });
  const out = await root.traced(async (child) => {
    child.log({
      input: messages,
      output: 'Hello!',
      metadata: { model: 'claude-sonnet-4-5-20250929', provider: 'anthropic' },
      metrics: { prompt_tokens: 1357, completion_tokens: 250, tokens: 1607, prompt_cached_tokens: 1200, prompt_cache_creation_tokens: 123, completion_reasoning_tokens: 50 },
    });
    return 'Hello!';
  }, { name: 'llm-call', type: 'llm' });
  root.log({ output: out });
}, { name: 'my-feature', type: 'task' });
await dump('traced-manual');

// 2. wrapOpenAI: chat.completions (plain + stream) under one task span
await logger.traced(async () => {
  const r = await openai.chat.completions.create({ model: 'o4-mini', messages });
  const s = await openai.chat.completions.create({ model: 'o4-mini', messages, stream: true, stream_options: { include_usage: true } });
  let text = '';
  for await (const c of s) text += c.choices[0]?.delta?.content ?? '';
  return [r.choices[0].message.content, text];
}, { name: 'my-feature', type: 'task' });
await dump('wrap-openai-chat');

// 3. wrapOpenAI: Responses API (root span, no parent)
await openai.responses.create({ model: 'o4-mini', instructions: 'Be brief.', input: 'Say hello.' });
await dump('wrap-openai-responses');

// 4. wrapAnthropic: messages.create plain + stream (root spans)
await anthropic.messages.create({ model: 'claude-sonnet-4-5-20250929', max_tokens: 1024, system: 'Be brief.', messages: [{ role: 'user', content: 'Say hello.' }] });
const as = await anthropic.messages.create({ model: 'claude-sonnet-4-5-20250929', max_tokens: 1024, messages: [{ role: 'user', content: 'Say hello.' }], stream: true });
for await (const _ of as) { /* consume */ }
await dump('wrap-anthropic');

// 5. wrapAISDK(ai@6) with a mock model: a 2-step tool loop (nested Braintrust spans)
{
  const ai = await import('ai6');
  const { MockLanguageModelV3 } = await import('ai6/test');
  const { z } = await import('zod');
  const usage = (noCache, cacheRead, cacheWrite, text, reasoning) => ({
    inputTokens: { total: noCache + cacheRead + cacheWrite, noCache, cacheRead, cacheWrite },
    outputTokens: { total: text + reasoning, text, reasoning },
  });
  const results = [
    { content: [{ type: 'tool-call', toolCallId: 'toolu_01', toolName: 'weather', input: '{"city":"Paris"}' }], finishReason: { unified: 'tool-calls', raw: 'tool_use' }, usage: usage(34, 1200, 123, 200, 50), providerMetadata: { anthropic: { cacheCreationInputTokens: 123 } }, warnings: [] },
    { content: [{ type: 'text', text: 'It is 18 C in Paris.' }], finishReason: { unified: 'stop', raw: 'end_turn' }, usage: usage(56, 1400, 0, 60, 20), providerMetadata: { anthropic: { cacheCreationInputTokens: 0 } }, warnings: [] },
  ];
  let i = 0;
  const model = new MockLanguageModelV3({ provider: 'anthropic.messages', modelId: 'claude-sonnet-4-5-20250929', doGenerate: async () => results[i++] });
  const { generateText } = braintrust.wrapAISDK(ai);
  const r = await generateText({
    model,
    tools: { weather: ai.tool({ description: 'Weather for a city', inputSchema: z.object({ city: z.string() }), execute: async ({ city }) => ({ city, tempC: 18 }) }) },
    stopWhen: ai.stepCountIs(5),
    prompt: 'Weather in Paris?',
  });
  console.log(`wrapAISDK(ai@6): ${r.steps.length} steps: ${r.text}`);
  await dump('wrap-ai-sdk-v6-tool-loop');
}

if (bt.other.length) console.log('other Braintrust API calls answered with {}:', [...new Set(bt.other)].join(', '));
await llm.close();
await new Promise((r) => btServer.close(r));
process.exit(0);
