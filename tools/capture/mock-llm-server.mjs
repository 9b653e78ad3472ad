// A tiny OpenAI + Anthropic API stand-in on 127.0.0.1 (random port): canned answers for
//   POST /v1/chat/completions (plain and streamed)  OpenAI Chat Completions
//   POST /v1/responses                               OpenAI Responses
//   POST /v1/messages (plain and streamed)           Anthropic Messages
// with usage that carries cached prompt tokens, cache writes (Anthropic) and reasoning tokens.
// Only loopback; nothing leaves the machine.
import http from 'node:http';

export const CHAT_MODEL = 'o4-mini-2025-04-16';
export const CHAT_USAGE = {
  prompt_tokens: 2006,
  completion_tokens: 300,
  total_tokens: 2306,
  prompt_tokens_details: { cached_tokens: 768, audio_tokens: 0 },
  completion_tokens_details: { reasoning_tokens: 128, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
};
export const RESPONSES_USAGE = {
  input_tokens: 2006,
  input_tokens_details: { cached_tokens: 768 },
  output_tokens: 300,
  output_tokens_details: { reasoning_tokens: 128 },
  total_tokens: 2306,
};
export const ANTHROPIC_MODEL = 'claude-sonnet-4-5-20250929';
// Anthropic semantics: input_tokens EXCLUDES cache reads and writes.
export const ANTHROPIC_USAGE = {
  input_tokens: 34,
  cache_creation_input_tokens: 123,
  cache_read_input_tokens: 1200,
  cache_creation: { ephemeral_5m_input_tokens: 123, ephemeral_1h_input_tokens: 0 },
  output_tokens: 250,
  service_tier: 'standard',
};
const CREATED = 1763632800; // 2025-11-20T10:00:00Z

function anthropicMessage(body) {
  return {
    id: 'msg_llmtrace0001',
    type: 'message',
    role: 'assistant',
    model: ANTHROPIC_MODEL,
    content: [{ type: 'text', text: 'Hello!' }],
    stop_reason: 'end_turn',
    stop_sequence: null,
    usage: ANTHROPIC_USAGE,
  };
}

function anthropicEvents() {
  const { output_tokens, ...startUsage } = ANTHROPIC_USAGE;
  return [
    ['message_start', { type: 'message_start', message: { id: 'msg_llmtrace0002', type: 'message', role: 'assistant', model: ANTHROPIC_MODEL, content: [], stop_reason: null, stop_sequence: null, usage: { ...startUsage, output_tokens: 1 } } }],
    ['content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }],
    ['content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hello' } }],
    ['content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: ' world' } }],
    ['content_block_stop', { type: 'content_block_stop', index: 0 }],
    ['message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens } }],
    ['message_stop', { type: 'message_stop' }],
  ];
}

function chatCompletion(body) {
  return {
    id: 'chatcmpl-llmtrace0001',
    object: 'chat.completion',
    created: CREATED,
    model: CHAT_MODEL,
    choices: [{ index: 0, message: { role: 'assistant', content: 'Hello!', refusal: null, annotations: [] }, logprobs: null, finish_reason: 'stop' }],
    usage: CHAT_USAGE,
    service_tier: 'default',
    system_fingerprint: null,
  };
}

function chatChunks() {
  const base = { id: 'chatcmpl-llmtrace0002', object: 'chat.completion.chunk', created: CREATED, model: CHAT_MODEL, service_tier: 'default', system_fingerprint: null };
  return [
    { ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '', refusal: null }, logprobs: null, finish_reason: null }], usage: null },
    { ...base, choices: [{ index: 0, delta: { content: 'Hello' }, logprobs: null, finish_reason: null }], usage: null },
    { ...base, choices: [{ index: 0, delta: { content: ' world' }, logprobs: null, finish_reason: null }], usage: null },
    { ...base, choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }], usage: null },
    { ...base, choices: [], usage: CHAT_USAGE },
  ];
}

function response(body) {
  return {
    id: 'resp_llmtrace0003',
    object: 'response',
    created_at: CREATED,
    status: 'completed',
    error: null,
    incomplete_details: null,
    instructions: body.instructions ?? null,
    model: CHAT_MODEL,
    output: [
      { id: 'rs_0001', type: 'reasoning', summary: [] },
      { id: 'msg_0001', type: 'message', status: 'completed', role: 'assistant', content: [{ type: 'output_text', text: 'Hello!', annotations: [] }] },
    ],
    parallel_tool_calls: true,
    temperature: 1,
    tool_choice: 'auto',
    tools: [],
    top_p: 1,
    usage: RESPONSES_USAGE,
    metadata: {},
  };
}

/** Start the server; resolves to { baseURL, requests, close }. */
export function startMockLLM() {
  const requests = [];
  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (d) => (raw += d));
    req.on('end', () => {
      const body = raw ? JSON.parse(raw) : {};
      requests.push({ method: req.method, url: req.url, body });
      res.setHeader('x-request-id', `req_${requests.length}`);
      if (req.method === 'POST' && req.url === '/v1/chat/completions') {
        if (body.stream) {
          res.writeHead(200, { 'content-type': 'text/event-stream' });
          for (const c of chatChunks()) res.write(`data: ${JSON.stringify(c)}\n\n`);
          res.end('data: [DONE]\n\n');
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(chatCompletion(body)));
        return;
      }
      if (req.method === 'POST' && req.url === '/v1/messages') {
        if (body.stream) {
          res.writeHead(200, { 'content-type': 'text/event-stream' });
          for (const [event, data] of anthropicEvents()) res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
          res.end();
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(anthropicMessage(body)));
        return;
      }
      if (req.method === 'POST' && req.url === '/v1/responses') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(response(body)));
        return;
      }
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: `no mock for ${req.method} ${req.url}` } }));
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      resolve({ baseURL: `http://127.0.0.1:${port}/v1`, origin: `http://127.0.0.1:${port}`, requests, close: () => new Promise((r) => server.close(r)) });
    });
  });
}
