#!/usr/bin/env python3
"""Workload and load generator of bench/gateway.sh (standard library only).

  gateway_load.py prepare --fixture PREFIX --requests N --out-pb FILE --out-json FILE [--seed S]
      N distinct copies of the fixture PREFIX.pb / PREFIX.json (test/data/otlp-proto): in copy i,
      every trace id of the fixture (span and link trace ids; random 16-byte values) is replaced
      by sha256("S:i:<old hex>")[:16], as bytes in the protobuf and as lower-case hex in the
      JSON. FILE.pb: the N bodies, each preceded by its length (4 bytes, big-endian); FILE.json:
      one OTLP/JSON document per line (COPY text format: the fixture's JSON has no backslash,
      tab nor newline). Every protobuf copy is decoded back and its (trace id, span id, start
      time) keys compared with those of the JSON line: both files carry exactly the same spans.
      Prints key=value lines: requests, spans, pb_bytes, json_bytes, first_day, last_day.
  gateway_load.py send --url URL --token T --requests FILE.pb [--senders 4] [--path P]
                       [--latencies FILE]
      POSTs every body of FILE.pb once (application/x-protobuf, Authorization: Bearer T) from
      --senders threads, each on its own keep-alive connection (re-opened when the server
      closes it), taking the next body from a shared counter. A 429 or 503 is retried after
      its Retry-After (counted). Prints key=value lines: the elapsed time from the first send
      to the last acknowledgement, requests/s, the latency percentiles (first send of a
      request to its 200, ms), the counts of each status, connections opened and the longest
      connect(), the sender's CPU time. --quickack: TCP_QUICKACK before every read (see
      bench/README.md: answers with a body otherwise wait for the delayed ACK).
  gateway_load.py flood --url URL --token T --fixture PREFIX.pb --seconds S [--connections C]
                        [--timeline FILE] [--seed S]
      A sender that never stops: C connections (asyncio), each POSTing distinct copies of the
      fixture (trace ids from a counter) as fast as it can for S seconds; a 429 or 503 is
      retried at once with the same body (Retry-After ignored), counted. Then waits for what
      is in flight. --timeline: one line per 0.5 s: epoch start, 200s, 429s, 503s, others.
      Prints key=value lines (acked: distinct requests acknowledged with 200).
  gateway_load.py metrics --url URL
      GET URL/metrics, printed.
"""
import argparse
import asyncio
import hashlib
import json
import math
import os
import resource
import socket
import struct
import sys
import threading
import time
import urllib.request
from datetime import datetime, timezone
from urllib.parse import urlsplit


# --- protobuf reading: test/gateway/otlp.py's reader (fixed64 values come as their 8 bytes) ---
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'gateway'))
from otlp import fields  # noqa: E402


def pb_keys(body):
    """Sorted (trace id hex, span id hex, start ns, link trace ids) of every span of an
    ExportTraceServiceRequest."""
    out = []
    for f, _, rs in fields(body):            # resource_spans = 1
        if f != 1:
            continue
        for f2, _, ss in fields(rs):         # scope_spans = 2
            if f2 != 2:
                continue
            for f3, _, sp in fields(ss):     # spans = 2
                if f3 != 2:
                    continue
                t = s = None
                st = 0
                links = []
                for f4, _, v in fields(sp):
                    if f4 == 1:
                        t = v.hex()
                    elif f4 == 2:
                        s = v.hex()
                    elif f4 == 7:            # start_time_unix_nano, fixed64
                        st = struct.unpack('<Q', v)[0]
                    elif f4 == 13:           # links: trace_id = 1
                        links += [lv.hex() for lf, _, lv in fields(v) if lf == 1]
                out.append((t, s, st, tuple(links)))
    return sorted(out)


def json_keys(doc):
    out = []
    for rs in doc.get('resourceSpans', []):
        for ss in rs.get('scopeSpans', []):
            for sp in ss.get('spans', []):
                out.append((sp['traceId'].lower(), sp['spanId'].lower(), int(sp['startTimeUnixNano']),
                            tuple(l['traceId'].lower() for l in sp.get('links', []))))
    return sorted(out)


def fixture_trace_ids(doc):
    ids = set()
    for t, _, _, links in json_keys(doc):
        ids.add(t)
        ids.update(links)
    return sorted(ids)


def prepare(a):
    pb = open(a.fixture + '.pb', 'rb').read()
    js = open(a.fixture + '.json', 'rb').read().strip()
    if b'\n' in js or b'\\' in js or b'\t' in js:
        sys.exit(f'{a.fixture}.json: has a newline, backslash or tab; not usable as one COPY text line')
    doc = json.loads(js)
    base = json_keys(doc)
    if pb_keys(pb) != base:
        sys.exit(f'{a.fixture}.pb and .json do not carry the same spans')
    olds = fixture_trace_ids(doc)
    for o in olds:
        if pb.count(bytes.fromhex(o)) == 0 or js.count(o.encode()) == 0:
            sys.exit(f'trace id {o} not found in both files')
        if js.lower().count(o.encode()) != js.count(o.encode()):
            sys.exit(f'trace id {o} also appears in upper case in the JSON')
    seen = set()
    spans = 0
    starts = [k[2] for k in base]
    with open(a.out_pb, 'wb') as fpb, open(a.out_json, 'wb') as fjs:
        for i in range(a.requests):
            mapping = {o: hashlib.sha256(f'{a.seed}:{i}:{o}'.encode()).digest()[:16] for o in olds}
            b, j = pb, js
            for o, n in mapping.items():
                if n in seen:
                    sys.exit('trace id collision')
                seen.add(n)
                b = b.replace(bytes.fromhex(o), n)
                j = j.replace(o.encode(), n.hex().encode())
            want = sorted((mapping[t].hex(), s, st, tuple(mapping[l].hex() for l in links))
                          for t, s, st, links in base)
            # Decode both copies back: the same spans, and exactly the expected keys.
            if pb_keys(b) != want or json_keys(json.loads(j)) != want:
                sys.exit(f'request {i}: the protobuf and JSON copies do not carry the expected spans')
            fpb.write(struct.pack('>I', len(b)) + b)
            fjs.write(j + b'\n')
            spans += len(want)
    day = lambda ns: datetime.fromtimestamp(ns / 1e9, timezone.utc).strftime('%Y-%m-%d')
    print(f'requests={a.requests}')
    print(f'spans={spans}')
    print(f'spans_per_request={len(base)}')
    print(f'pb_bytes={os.path.getsize(a.out_pb)}')
    print(f'json_bytes={os.path.getsize(a.out_json)}')
    print(f'first_day={day(min(starts))}')
    print(f'last_day={day(max(starts))}')


def load_bodies(path):
    data = open(path, 'rb').read()
    out, i = [], 0
    while i < len(data):
        n = struct.unpack_from('>I', data, i)[0]
        out.append(data[i + 4:i + 4 + n])
        i += 4 + n
    return out


# --- a minimal HTTP/1.1 client (keep-alive, Content-Length bodies) --------------------------
def request_head(host, port, path, token, length, ctype='application/x-protobuf'):
    return (f'POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {token}\r\n'
            f'Content-Type: {ctype}\r\nContent-Length: {length}\r\n\r\n').encode()


def parse_head(head):
    lines = head.decode('latin-1').split('\r\n')
    status = int(lines[0].split(' ', 2)[1])
    h = {}
    for l in lines[1:]:
        if ':' in l:
            k, v = l.split(':', 1)
            h[k.strip().lower()] = v.strip()
    return status, h


class Conn:
    def __init__(self, host, port, quickack=False):
        self.host, self.port = host, port
        self.quickack = quickack
        self.sock = None
        self.buf = b''
        self.connects = 0
        self.connect_max = 0.0

    def close(self):
        if self.sock:
            self.sock.close()
        self.sock = None
        self.buf = b''

    def _recv(self):
        if self.quickack:
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
        d = self.sock.recv(65536)
        if not d:
            raise ConnectionError('closed by the server')
        self.buf += d

    def post(self, head, body):
        """(status, headers, body). Re-sends once on a fresh connection when a reused one
        turns out closed before any byte of the answer (an idle keep-alive closed)."""
        for attempt in (0, 1):
            fresh = self.sock is None
            if fresh:
                c0 = time.perf_counter()
                self.sock = socket.create_connection((self.host, self.port))
                self.connect_max = max(self.connect_max, time.perf_counter() - c0)
                self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                self.connects += 1
            try:
                self.sock.sendall(head + body)
                while b'\r\n\r\n' not in self.buf:
                    self._recv()
            except (ConnectionError, OSError):
                self.close()
                if fresh or attempt:
                    raise
                continue
            end = self.buf.index(b'\r\n\r\n')
            status, h = parse_head(self.buf[:end])
            self.buf = self.buf[end + 4:]
            n = int(h.get('content-length', '0'))
            while len(self.buf) < n:
                self._recv()
            rbody, self.buf = self.buf[:n], self.buf[n:]
            if h.get('connection', '').lower() == 'close':
                self.close()
            return status, h, rbody


def pct(sorted_vals, p):
    if not sorted_vals:
        return float('nan')
    k = max(0, min(len(sorted_vals) - 1, math.ceil(p / 100.0 * len(sorted_vals)) - 1))  # nearest rank
    return sorted_vals[k]


def send(a):
    u = urlsplit(a.url)
    bodies = load_bodies(a.requests)
    lat = [0.0] * len(bodies)
    statuses = {}
    lock = threading.Lock()
    nxt = iter(range(len(bodies)))
    conns = [Conn(u.hostname, u.port, a.quickack) for _ in range(a.senders)]
    errors = []
    first = [None]
    last = [0.0]

    def worker(c):
        local = {}
        try:
            while True:
                with lock:
                    i = next(nxt, None)
                if i is None:
                    break
                body = bodies[i]
                head = request_head(u.hostname, u.port, a.path, a.token, len(body))
                t0 = time.perf_counter()
                if first[0] is None:
                    with lock:
                        if first[0] is None:
                            first[0] = t0
                while True:
                    status, h, _ = c.post(head, body)
                    local[status] = local.get(status, 0) + 1
                    if status in (429, 503):
                        time.sleep(float(h.get('retry-after', '1')))
                        continue
                    break
                t1 = time.perf_counter()
                lat[i] = t1 - t0
                if t1 > last[0]:
                    last[0] = t1
        except Exception as e:  # noqa: BLE001 - reported, fails the run
            errors.append(repr(e))
        finally:
            c.close()
            with lock:
                for k, v in local.items():
                    statuses[k] = statuses.get(k, 0) + v

    r0 = resource.getrusage(resource.RUSAGE_SELF)
    threads = [threading.Thread(target=worker, args=(c,)) for c in conns]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    elapsed = last[0] - first[0] if first[0] is not None else float('nan')
    ok = statuses.get(200, 0)
    s = sorted(l * 1000 for l in lat)
    if a.latencies:
        with open(a.latencies, 'w') as f:
            f.write(''.join(f'{l * 1000:.3f}\n' for l in lat))
    print(f'requests={len(bodies)}')
    print(f'elapsed_s={elapsed:.3f}')
    print(f'requests_per_s={len(bodies) / elapsed:.1f}')
    print(f'p50_ms={pct(s, 50):.2f}')
    print(f'p90_ms={pct(s, 90):.2f}')
    print(f'p99_ms={pct(s, 99):.2f}')
    print(f'max_ms={s[-1] if s else float("nan"):.2f}')
    print(f'status_200={ok}')
    print(f'status_429={statuses.get(429, 0)}')
    print(f'status_503={statuses.get(503, 0)}')
    print('status_other=' + (','.join(f'{k}:{v}' for k, v in sorted(statuses.items())
                                      if k not in (200, 429, 503)) or 'none'))
    print(f'connects={sum(c.connects for c in conns)}')
    print(f'connect_max_ms={1000 * max(c.connect_max for c in conns):.1f}')
    print(f'sender_cpu_s={(r1.ru_utime + r1.ru_stime) - (r0.ru_utime + r0.ru_stime):.2f}')
    print('errors=' + (' | '.join(errors) if errors else 'none'))


# --- the sender that never stops ------------------------------------------------------------
def flood(a):
    u = urlsplit(a.url)
    template = open(a.fixture, 'rb').read()
    doc = json.loads(open(a.fixture[:-3] + '.json', 'rb').read())
    olds = [bytes.fromhex(o) for o in fixture_trace_ids(doc)]
    head = request_head(u.hostname, u.port, a.path, a.token, len(template))
    prefix = struct.unpack('>Q', hashlib.sha256(f'flood:{a.seed}'.encode()).digest()[:8])[0]
    counter = iter(range(1 << 40))
    counts = {}
    buckets = {}
    state = {'acked': 0, 'connects': 0, 'connect_max': 0.0, 'errors': []}
    deadline = time.time() + a.seconds

    def body_for(n):
        b = template
        for k, o in enumerate(olds):
            b = b.replace(o, struct.pack('>QQ', prefix, n * 64 + k))
        return b

    def note(status):
        counts[status] = counts.get(status, 0) + 1
        bk = int(time.time() * 2) / 2
        row = buckets.setdefault(bk, [0, 0, 0, 0])
        row[0 if status == 200 else 1 if status == 429 else 2 if status == 503 else 3] += 1

    async def one():
        reader = writer = None
        body = None
        while True:
            if body is None:
                if time.time() >= deadline:
                    break
                body = body_for(next(counter))
            try:
                if writer is None:
                    c0 = time.perf_counter()
                    reader, writer = await asyncio.open_connection(u.hostname, u.port)
                    state['connect_max'] = max(state['connect_max'], time.perf_counter() - c0)
                    writer.get_extra_info('socket').setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    state['connects'] += 1
                writer.write(head + body)
                hd = await reader.readuntil(b'\r\n\r\n')
                status, h = parse_head(hd[:-4])
                n = int(h.get('content-length', '0'))
                if n:
                    await reader.readexactly(n)
                if h.get('connection', '').lower() == 'close':
                    writer.close()
                    reader = writer = None
            except (ConnectionError, OSError, asyncio.IncompleteReadError) as e:
                # Not answered: the same body again on a new connection (at-least-once).
                if writer is not None:
                    writer.close()
                reader = writer = None
                note(-1)
                if len(state['errors']) < 5:
                    state['errors'].append(repr(e))
                await asyncio.sleep(0.01)
                continue
            note(status)
            if status == 200:
                state['acked'] += 1
                body = None
            elif status in (429, 503):
                continue                    # never stops: retry at once
            else:
                body = None                 # a permanent error: counted, not retried
        if writer is not None:
            writer.close()

    async def main():
        await asyncio.gather(*(one() for _ in range(a.connections)))

    r0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.time()
    asyncio.run(main())
    t1 = time.time()
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    if a.timeline:
        with open(a.timeline, 'w') as f:
            for bk in sorted(buckets):
                f.write(f'{bk:.1f} ' + ' '.join(map(str, buckets[bk])) + '\n')
    print(f'seconds={t1 - t0:.1f}')
    print(f'acked={state["acked"]}')
    print(f'spans_per_request={len(pb_keys(template))}')
    print(f'status_200={counts.get(200, 0)}')
    print(f'status_429={counts.get(429, 0)}')
    print(f'status_503={counts.get(503, 0)}')
    print(f'connection_errors={counts.get(-1, 0)}')
    print('status_other=' + (','.join(f'{k}:{v}' for k, v in sorted(counts.items())
                                      if k not in (200, 429, 503, -1)) or 'none'))
    print(f'connects={state["connects"]}')
    print(f'connect_max_ms={1000 * state["connect_max"]:.1f}')
    print(f'sender_cpu_s={(r1.ru_utime + r1.ru_stime) - (r0.ru_utime + r0.ru_stime):.2f}')
    print('errors=' + (' | '.join(state['errors']) if state['errors'] else 'none'))


def metrics(a):
    with urllib.request.urlopen(a.url.rstrip('/') + '/metrics', timeout=10) as r:
        sys.stdout.write(r.read().decode())


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest='cmd', required=True)
    q = sub.add_parser('prepare')
    q.add_argument('--fixture', required=True)
    q.add_argument('--requests', type=int, required=True)
    q.add_argument('--out-pb', required=True)
    q.add_argument('--out-json', required=True)
    q.add_argument('--seed', default='0')
    q = sub.add_parser('send')
    q.add_argument('--url', required=True)
    q.add_argument('--token', required=True)
    q.add_argument('--requests', required=True)
    q.add_argument('--senders', type=int, default=4)
    q.add_argument('--path', default='/v1/traces')
    q.add_argument('--latencies')
    q.add_argument('--quickack', action='store_true')
    q = sub.add_parser('flood')
    q.add_argument('--url', required=True)
    q.add_argument('--token', required=True)
    q.add_argument('--fixture', required=True)
    q.add_argument('--seconds', type=float, required=True)
    q.add_argument('--connections', type=int, default=192)
    q.add_argument('--path', default='/v1/traces')
    q.add_argument('--timeline')
    q.add_argument('--seed', default='0')
    q = sub.add_parser('metrics')
    q.add_argument('--url', required=True)
    a = p.parse_args()
    {'prepare': prepare, 'send': send, 'flood': flood, 'metrics': metrics}[a.cmd](a)


if __name__ == '__main__':
    main()
