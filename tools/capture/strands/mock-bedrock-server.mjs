// A tiny Amazon Bedrock Runtime stand-in on 127.0.0.1 (random port) for the Converse API, over
// cleartext HTTP/2 (the Bedrock Runtime client's default handler speaks HTTP/2):
//   POST /model/{modelId}/converse-stream  -> application/vnd.amazon.eventstream frames
//   POST /model/{modelId}/converse         -> JSON
// Each request takes the next canned turn from `turns`. Only loopback.
import http2 from 'node:http2';
import { crc32 } from 'node:zlib';

/** Encode one AWS event-stream message (prelude, string headers, payload, CRCs). */
function eventFrame(eventType, payload) {
  const headers = { ':event-type': eventType, ':content-type': 'application/json', ':message-type': 'event' };
  const headerBufs = Object.entries(headers).map(([name, value]) => {
    const n = Buffer.from(name, 'utf8');
    const v = Buffer.from(value, 'utf8');
    const b = Buffer.alloc(1 + n.length + 1 + 2 + v.length);
    let o = b.writeUInt8(n.length, 0);
    o += n.copy(b, o);
    o = b.writeUInt8(7, o); // type 7 = string
    o = b.writeUInt16BE(v.length, o);
    v.copy(b, o);
    return b;
  });
  const hdr = Buffer.concat(headerBufs);
  const body = Buffer.from(JSON.stringify(payload), 'utf8');
  const total = 12 + hdr.length + body.length + 4;
  const prelude = Buffer.alloc(8);
  prelude.writeUInt32BE(total, 0);
  prelude.writeUInt32BE(hdr.length, 4);
  const preludeCrc = Buffer.alloc(4);
  preludeCrc.writeUInt32BE(crc32(prelude) >>> 0, 0);
  const msg = Buffer.concat([prelude, preludeCrc, hdr, body]);
  const msgCrc = Buffer.alloc(4);
  msgCrc.writeUInt32BE(crc32(msg) >>> 0, 0);
  return Buffer.concat([msg, msgCrc]);
}

/** Stream events for a turn: { reasoning?, text?, toolUse?: {id, name, input}, stopReason, usage } */
function streamEvents(turn) {
  const ev = [['messageStart', { role: 'assistant' }]];
  let i = 0;
  if (turn.reasoning) {
    ev.push(['contentBlockDelta', { contentBlockIndex: i, delta: { reasoningContent: { text: turn.reasoning } } }]);
    ev.push(['contentBlockDelta', { contentBlockIndex: i, delta: { reasoningContent: { signature: 'c2lnbmF0dXJl' } } }]);
    ev.push(['contentBlockStop', { contentBlockIndex: i++ }]);
  }
  if (turn.text) {
    ev.push(['contentBlockDelta', { contentBlockIndex: i, delta: { text: turn.text } }]);
    ev.push(['contentBlockStop', { contentBlockIndex: i++ }]);
  }
  if (turn.toolUse) {
    ev.push(['contentBlockStart', { contentBlockIndex: i, start: { toolUse: { toolUseId: turn.toolUse.id, name: turn.toolUse.name } } }]);
    ev.push(['contentBlockDelta', { contentBlockIndex: i, delta: { toolUse: { input: JSON.stringify(turn.toolUse.input) } } }]);
    ev.push(['contentBlockStop', { contentBlockIndex: i++ }]);
  }
  ev.push(['messageStop', { stopReason: turn.stopReason }]);
  ev.push(['metadata', { usage: turn.usage, metrics: { latencyMs: 420 } }]);
  return ev;
}

function converseResponse(turn) {
  const content = [];
  if (turn.reasoning) content.push({ reasoningContent: { reasoningText: { text: turn.reasoning, signature: 'c2lnbmF0dXJl' } } });
  if (turn.text) content.push({ text: turn.text });
  if (turn.toolUse) content.push({ toolUse: { toolUseId: turn.toolUse.id, name: turn.toolUse.name, input: turn.toolUse.input } });
  return { output: { message: { role: 'assistant', content } }, stopReason: turn.stopReason, usage: turn.usage, metrics: { latencyMs: 420 } };
}

export function startMockBedrock(turns) {
  const requests = [];
  let next = 0;
  const server = http2.createServer((req, res) => {
    let raw = '';
    req.on('data', (d) => (raw += d));
    req.on('end', () => {
      requests.push({ method: req.method, url: req.url, body: raw ? JSON.parse(raw) : null });
      const turn = turns[Math.min(next++, turns.length - 1)];
      res.setHeader('x-amzn-requestid', `req-${requests.length}`);
      if (req.method === 'POST' && /\/converse-stream$/.test(req.url)) {
        res.writeHead(200, { 'content-type': 'application/vnd.amazon.eventstream' });
        for (const [type, payload] of streamEvents(turn)) res.write(eventFrame(type, payload));
        res.end();
        return;
      }
      if (req.method === 'POST' && /\/converse$/.test(req.url)) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(converseResponse(turn)));
        return;
      }
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ message: `no mock for ${req.method} ${req.url}` }));
    });
  });
  // The client keeps its HTTP/2 session open; close() ends the sessions so the server can stop.
  const sessions = new Set();
  server.on('session', (s) => {
    sessions.add(s);
    s.on('close', () => sessions.delete(s));
  });
  const close = () => new Promise((r) => {
    server.close(r);
    for (const s of sessions) s.destroy();
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      resolve({ endpoint: `http://127.0.0.1:${port}`, requests, close });
    });
  });
}
