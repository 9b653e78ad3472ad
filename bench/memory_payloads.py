#!/usr/bin/env python3
"""Hostile payloads for bench/memory.sh, and the backend memory sampler it uses.

    memory_payloads.py otlp    OUT --attrs 6000 --spans 6000
    memory_payloads.py array   OUT --spans 1000000
    memory_payloads.py models  OUT --spans 2000 --model-bytes 200000
    memory_payloads.py invalid OUT --payloads 5 --bytes 40000000
    memory_payloads.py sample  DIR --interval-ms 10

`otlp` and `array` write ONE JSON document (no trailing newline), read by the server
with pg_read_file(). `models` and `invalid` write one payload per line for
`COPY llmtrace.ingest (payload) FROM STDIN` in text format: the payloads hold no
backslash, tab, carriage return or newline, so COPY passes them on unchanged.
The output is deterministic (no randomness beyond a fixed seed).

`sample DIR` polls /proc/PID/status of the backend whose pid is in DIR/pid: it
writes DIR/before (RssAnon kB of the first sample), then creates DIR/ready, and
samples every --interval-ms until DIR/stop exists (or the process is gone). It
then takes one last sample and writes DIR/peak: "max_RssAnon_kB samples
max_VmRSS_kB VmHWM_kB". Every sample goes to DIR/samples ("seconds RssAnon_kB").
"""
import argparse
import os
import random
import sys
import time

START_S = 1735689600  # 2025-01-01T00:00:00Z


def write(out, chunks):
    with open(out, "w", encoding="utf-8", newline="") as f:
        for c in chunks:
            f.write(c)


def gen_otlp(args):
    """One ExportTraceServiceRequest: many resource attributes over many small
    spans of one scope. Resource attributes apply to every span below them."""
    attrs = ",".join(
        '{"key":"res.%05d","value":{"stringValue":"v%d"}}' % (i, i % 100) for i in range(args.attrs)
    )
    trace_id = "5b8efff798038103d269b633813fc60c"
    start_ns = START_S * 10**9
    spans = ",".join(
        '{"traceId":"%s","spanId":"%016x","name":"s",'
        '"startTimeUnixNano":"%d","endTimeUnixNano":"%d"}'
        % (trace_id, 0x1000000000000000 + i, start_ns + i * 1000, start_ns + i * 1000 + 500000)
        for i in range(args.spans)
    )
    write(
        args.out,
        [
            '{"resourceSpans":[{"resource":{"attributes":[',
            attrs,
            ']},"scopeSpans":[{"scope":{"name":"bench.memory","version":"1"},"spans":[',
            spans,
            "]}]}]}",
        ],
    )


def gen_array(args):
    """A JSON array of many small native spans."""
    def chunks():
        yield "["
        step = 10000
        for lo in range(0, args.spans, step):
            hi = min(lo + step, args.spans)
            part = ",".join(
                '{"trace_id":"t1","span_id":"s%d","start_time":%d,"name":"n"}' % (k, START_S)
                for k in range(lo, hi)
            )
            yield ("," if lo else "") + part
        yield "]"

    write(args.out, chunks())


def gen_models(args):
    """One native span per line, each with its own model name of --model-bytes
    characters and a usage object, so every span goes through the price lookup."""
    rnd = random.Random(42)
    letters = "abcdefghijklmnopqrstuvwxyz0123456789-."
    filler = "".join(rnd.choice(letters) for _ in range(args.model_bytes))
    with open(args.out, "w", encoding="utf-8", newline="") as f:
        for k in range(args.spans):
            prefix = "hostile-model-%06d-" % k
            model = prefix + filler[: max(0, args.model_bytes - len(prefix))]
            f.write(
                '{"trace_id":"tm%d","span_id":"sm%d","start_time":%d,"name":"chat",'
                '"provider":"openai","model":"%s",'
                '"usage":{"prompt_tokens":120,"completion_tokens":40,"total_tokens":160}}\n'
                % (k, k, START_S + k, model)
            )


def gen_invalid(args):
    """--payloads lines of --bytes bytes each: the start of a JSON array of native
    spans with message text, cut off in the middle (so the JSON is invalid)."""
    rnd = random.Random(7)
    words = [
        "".join(rnd.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rnd.randint(2, 10)))
        for _ in range(2000)
    ] + ["héllo", "naïve", "日本語", "Привет", "data", "the", "model"]
    texts = [" ".join(rnd.choice(words) for _ in range(rnd.randint(10, 60))) for _ in range(512)]
    with open(args.out, "w", encoding="utf-8", newline="") as f:
        for p in range(args.payloads):
            buf = ["["]
            size = 1
            k = 0
            while size < args.bytes:
                rec = (
                    '{"trace_id":"bad%d","span_id":"s%d","start_time":%d,"name":"chat",'
                    '"provider":"openai","model":"gpt-4o","input":"%s","output":"%s"}'
                    % (p, k, START_S + k, texts[k % 512], texts[(k * 7 + 3) % 512])
                )
                if k:
                    rec = "," + rec
                buf.append(rec)
                size += len(rec.encode("utf-8"))
                k += 1
            data = "".join(buf).encode("utf-8")[: args.bytes]
            # Do not cut a UTF-8 sequence in two: PostgreSQL would reject the line.
            data = data.decode("utf-8", errors="ignore")
            f.write(data)
            f.write("\n")


def read_status(pid):
    vals = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("RssAnon", "VmRSS", "VmHWM"):
                vals[k] = int(v.split()[0])
    return vals


def sample(args):
    d = args.dir
    with open(os.path.join(d, "pid")) as f:
        pid = int(f.read().split()[0])
    interval = args.interval_ms / 1000.0
    t0 = time.monotonic()
    max_anon = max_rss = hwm = 0
    n = 0
    stop = os.path.join(d, "stop")
    with open(os.path.join(d, "samples"), "w") as out:
        first = True
        while True:
            stopping = os.path.exists(stop)
            try:
                v = read_status(pid)
            except (OSError, ValueError):
                break
            n += 1
            anon = v.get("RssAnon", 0)
            max_anon = max(max_anon, anon)
            max_rss = max(max_rss, v.get("VmRSS", 0))
            hwm = v.get("VmHWM", hwm)
            out.write("%.3f %d\n" % (time.monotonic() - t0, anon))
            if first:
                with open(os.path.join(d, "before"), "w") as f:
                    f.write("%d\n" % anon)
                open(os.path.join(d, "ready"), "w").close()
                first = False
            if stopping:
                break
            time.sleep(interval)
    tmp = os.path.join(d, "peak.tmp")
    with open(tmp, "w") as f:
        f.write("%d %d %d %d\n" % (max_anon, n, max_rss, hwm))
    os.rename(tmp, os.path.join(d, "peak"))
    if first:  # the process was gone before the first sample: unblock the session
        open(os.path.join(d, "ready"), "w").close()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("otlp")
    p.add_argument("out")
    p.add_argument("--attrs", type=int, default=6000)
    p.add_argument("--spans", type=int, default=6000)
    p = sub.add_parser("array")
    p.add_argument("out")
    p.add_argument("--spans", type=int, default=1000000)
    p = sub.add_parser("models")
    p.add_argument("out")
    p.add_argument("--spans", type=int, default=2000)
    p.add_argument("--model-bytes", type=int, default=200000)
    p = sub.add_parser("invalid")
    p.add_argument("out")
    p.add_argument("--payloads", type=int, default=5)
    p.add_argument("--bytes", type=int, default=40000000)
    p = sub.add_parser("sample")
    p.add_argument("dir")
    p.add_argument("--interval-ms", type=float, default=10)
    args = ap.parse_args()
    {"otlp": gen_otlp, "array": gen_array, "models": gen_models, "invalid": gen_invalid,
     "sample": sample}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
