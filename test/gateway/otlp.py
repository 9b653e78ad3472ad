#!/usr/bin/env python3
"""OTLP helpers for test/gateway/run.sh (standard library only).

  otlp.py gen --format pb|json --trace HEX [--spans N] [--bad K] [--project P] [--model M]
              [--provider P] [--input N] [--output N]
      an ExportTraceServiceRequest: one resource (service.name gw-test, llmtrace.project P when
      given), one scope, N `chat MODEL` CLIENT spans of trace HEX (span ids HEX[:12] + 0001...),
      started now, with GenAI attributes; the last K of them have no span id (rejected by llmtrace).
  otlp.py gen-many DIR COUNT PREFIX [--spans N] [gen options]
      COUNT requests into DIR: DIR/I.pb (odd I) or DIR/I.json (even I), I = 1..COUNT, each of
      trace sha256("PREFIX:I")[:32] (also written to DIR/I.trace).
  otlp.py retrace FILE SEED
      the fixture FILE (.pb or .json of test/data/otlp-proto) with every trace id replaced by
      sha256("SEED:<old id>")[:16 bytes]: the same spans under new keys (the .pb's ids are found
      through the .json beside it).
  otlp.py ids FILE [SEED]
      "trace_id span_id" of every span of the fixture (after retrace with SEED, when given).
  otlp.py response FILE
      decodes an ExportTraceServiceResponse (protobuf) to OTLP/JSON: {} or
      {"partialSuccess": {"rejectedSpans": "N", "errorMessage": "..."}}; "INVALID: why" if it is not one.
  otlp.py hmac-sha1 SECRET FILE
      lowercase hex HMAC-SHA1 of FILE's bytes.
"""
import hashlib
import hmac
import json
import os
import struct
import sys
import time


# --- protobuf writer -----------------------------------------------------------------------
def varint(n):
    n &= (1 << 64) - 1
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def tag(field, wire):
    return varint((field << 3) | wire)


def f_len(field, data):
    if isinstance(data, str):
        data = data.encode()
    return tag(field, 2) + varint(len(data)) + data


def f_varint(field, n):
    return tag(field, 0) + varint(n)


def f_fixed64(field, n):
    return tag(field, 1) + struct.pack('<Q', n)


def f_fixed32(field, n):
    return tag(field, 5) + struct.pack('<I', n)


def pb_anyvalue(v):
    if isinstance(v, bool):
        return f_varint(2, int(v))
    if isinstance(v, int):
        return f_varint(3, v)
    if isinstance(v, float):
        return tag(4, 1) + struct.pack('<d', v)
    return f_len(1, str(v))


def pb_kv(key, value):
    return f_len(1, key) + f_len(2, pb_anyvalue(value))


def json_anyvalue(v):
    if isinstance(v, bool):
        return {'boolValue': v}
    if isinstance(v, int):
        return {'intValue': str(v)}
    if isinstance(v, float):
        return {'doubleValue': v}
    return {'stringValue': str(v)}


def json_kvs(attrs):
    return [{'key': k, 'value': json_anyvalue(v)} for k, v in attrs.items()]


def load_id(prefix, i):
    return hashlib.sha256(f'{prefix}:{i}'.encode()).hexdigest()[:32]


def gen_many(args):
    out_dir, count, prefix, rest = args[0], int(args[1]), args[2], args[3:]
    os.makedirs(out_dir, exist_ok=True)
    real = sys.stdout
    for i in range(1, count + 1):
        trace = load_id(prefix, i)
        ext = 'pb' if i % 2 else 'json'
        with open(os.path.join(out_dir, f'{i}.{ext}'), 'w+b') as f:
            sys.stdout = OutFile(f)
            gen(['--format', ext, '--trace', trace] + rest)
        with open(os.path.join(out_dir, f'{i}.trace'), 'w') as f:
            f.write(trace + '\n')
    sys.stdout = real


class OutFile:
    # stands in for sys.stdout: gen() writes str to it and bytes to its .buffer
    def __init__(self, f):
        self.buffer = f

    def write(self, text):
        self.buffer.write(text.encode())


def gen(args):
    opts = {'--format': 'json', '--trace': None, '--spans': '2', '--bad': '0', '--project': None,
            '--model': 'gpt-4o', '--provider': 'openai', '--input': '100', '--output': '20'}
    it = iter(args)
    for a in it:
        if a not in opts:
            sys.exit(f'otlp.py gen: unknown option {a}')
        opts[a] = next(it)
    trace = opts['--trace']
    if not trace or len(trace) != 32:
        sys.exit('otlp.py gen: --trace needs 32 hex digits')
    n, bad = int(opts['--spans']), int(opts['--bad'])
    model, provider = opts['--model'], opts['--provider']
    now = time.time_ns() - 5_000_000_000
    resource = {'service.name': 'gw-test'}
    if opts['--project']:
        resource['llmtrace.project'] = opts['--project']
    spans = []
    for i in range(n):
        spans.append({
            'span_id': None if i >= n - bad else trace[:12] + '%04x' % (i + 1),
            'name': f'chat {model}',
            'start': now + i * 1_000_000,
            'end': now + i * 1_000_000 + 250_000_000,
            'attrs': {'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': provider,
                      'gen_ai.request.model': model, 'gen_ai.response.model': model,
                      'gen_ai.usage.input_tokens': int(opts['--input']),
                      'gen_ai.usage.output_tokens': int(opts['--output'])},
        })
    if opts['--format'] == 'json':
        doc = {'resourceSpans': [{
            'resource': {'attributes': json_kvs(resource)},
            'scopeSpans': [{'scope': {'name': 'gw-test', 'version': '1.0.0'}, 'spans': [
                dict({'traceId': trace}, **({'spanId': s['span_id']} if s['span_id'] else {}),
                     name=s['name'], kind=3, startTimeUnixNano=str(s['start']),
                     endTimeUnixNano=str(s['end']), attributes=json_kvs(s['attrs']),
                     status={'code': 0})
                for s in spans]}]}]}
        sys.stdout.write(json.dumps(doc))
        return
    pb_spans = b''
    for s in spans:
        body = f_len(1, bytes.fromhex(trace))
        if s['span_id']:
            body += f_len(2, bytes.fromhex(s['span_id']))
        body += f_len(5, s['name']) + f_varint(6, 3) + f_fixed64(7, s['start']) + f_fixed64(8, s['end'])
        for k, v in s['attrs'].items():
            body += f_len(9, pb_kv(k, v))
        body += f_len(15, b'') + f_fixed32(16, 0x101)
        pb_spans += f_len(2, body)
    res = b''.join(f_len(1, pb_kv(k, v)) for k, v in resource.items())
    scope = f_len(1, 'gw-test') + f_len(2, '1.0.0')
    rs = f_len(1, res) + f_len(2, f_len(1, scope) + pb_spans)
    sys.stdout.buffer.write(f_len(1, rs))


# --- fixtures ------------------------------------------------------------------------------
def json_sibling(path):
    return path[:-3] + '.json' if path.endswith('.pb') else path


def fixture_spans(path):
    doc = json.load(open(json_sibling(path)))
    for rs in doc.get('resourceSpans', []):
        for ss in rs.get('scopeSpans', []):
            for s in ss.get('spans', []):
                yield s


def trace_map(path, seed):
    ids = set()
    for s in fixture_spans(path):
        ids.add(s['traceId'])
        for link in s.get('links', []):
            ids.add(link['traceId'])
    return {old: hashlib.sha256(f'{seed}:{old}'.encode()).hexdigest()[:32] for old in ids}


def retrace(path, seed):
    m = trace_map(path, seed)
    data = open(path, 'rb').read()
    for old, new in m.items():
        if path.endswith('.pb'):
            old_b, new_b = bytes.fromhex(old), bytes.fromhex(new)
        else:
            old_b, new_b = old.encode(), new.encode()
        if old_b not in data:
            sys.exit(f'otlp.py retrace: trace id {old} not found in {path}')
        data = data.replace(old_b, new_b)
    sys.stdout.buffer.write(data)


def ids(path, seed=None):
    m = trace_map(path, seed) if seed is not None else {}
    for s in fixture_spans(path):
        print(m.get(s['traceId'], s['traceId']).lower(), s['spanId'].lower())


# --- response decoding ---------------------------------------------------------------------
def read_varint(b, i):
    shift = n = 0
    while True:
        if i >= len(b):
            raise ValueError('truncated varint')
        c = b[i]
        i += 1
        n |= (c & 0x7F) << shift
        shift += 7
        if not c & 0x80:
            return n, i
        if shift > 63:
            raise ValueError('varint too long')


def fields(b):
    i = 0
    while i < len(b):
        key, i = read_varint(b, i)
        field, wire = key >> 3, key & 7
        if wire == 0:
            v, i = read_varint(b, i)
        elif wire == 1:
            v, i = b[i:i + 8], i + 8
        elif wire == 5:
            v, i = b[i:i + 4], i + 4
        elif wire == 2:
            ln, i = read_varint(b, i)
            if i + ln > len(b):
                raise ValueError('truncated length-delimited field')
            v, i = b[i:i + ln], i + ln
        else:
            raise ValueError(f'wire type {wire}')
        yield field, wire, v


def response(path):
    b = open(path, 'rb').read()
    out = {}
    try:
        for field, wire, v in fields(b):
            if field == 1 and wire == 2:
                ps = {}
                for f2, w2, v2 in fields(v):
                    if f2 == 1 and w2 == 0:
                        ps['rejectedSpans'] = str(v2 - (1 << 64) if v2 >= 1 << 63 else v2)
                    elif f2 == 2 and w2 == 2:
                        ps['errorMessage'] = v2.decode()
                out['partialSuccess'] = ps
    except (ValueError, UnicodeDecodeError) as e:
        print(f'INVALID: {e}')
        return
    print(json.dumps(out))


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == 'gen':
        gen(args)
    elif cmd == 'gen-many':
        gen_many(args)
    elif cmd == 'retrace':
        retrace(args[0], args[1])
    elif cmd == 'ids':
        ids(args[0], args[1] if len(args) > 1 else None)
    elif cmd == 'response':
        response(args[0])
    elif cmd == 'hmac-sha1':
        print(hmac.new(args[0].encode(), open(args[1], 'rb').read(), hashlib.sha1).hexdigest())
    else:
        sys.exit(__doc__)


if __name__ == '__main__':
    main()
