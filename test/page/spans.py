#!/usr/bin/env python3
"""Native llmtrace spans for the dashboard test, one JSON document a line, on stdout.

    python3 test/page/spans.py [--hours 30] [--seed 7] [--now EPOCH]

Spans over the last --hours hours (up to now, never after it): four models of three providers,
a few spans an hour with some hours left empty, about one in ten an error, latencies spread
over two orders of magnitude, and one span in the current hour that reports a cost of 25 USD
(the seeded alert rule 'span cost over 10 USD' fires on it). Deterministic for a seed and a now.
"""
import argparse
import json
import random
import time

MODELS = [
    ("openai", "gpt-4o", 0.35),
    ("openai", "gpt-4o-mini", 0.30),
    ("anthropic", "claude-sonnet-4-5", 0.20),
    ("google", "gemini-2.5-flash", 0.15),
]
FEATURES = ["chat", "search", "summarize"]


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".%03dZ" % int(round((t % 1) * 1000) % 1000)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hours", type=int, default=30)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--now", type=float, default=None)
    a = ap.parse_args()
    rnd = random.Random(a.seed)
    now = a.now if a.now is not None else time.time()
    this_hour = int(now // 3600 * 3600)
    n = 0
    for back in range(a.hours - 1, -1, -1):
        start = this_hour - back * 3600
        if back % 7 == 3:  # a quiet hour: no spans at all
            continue
        end = min(start + 3600, now - 1)
        if end <= start:
            continue
        for _ in range(rnd.randint(2, 9)):
            r, acc = rnd.random(), 0.0
            for provider, model, share in MODELS:
                acc += share
                if r <= acc:
                    break
            t = rnd.uniform(start, end)
            dur = round(min(60000.0, rnd.lognormvariate(6.3, 0.8)), 1)  # median ~545 ms
            error = rnd.random() < 0.1
            n += 1
            span = {
                "trace_id": "page-%08d" % n,
                "span_id": "s%08d" % n,
                "name": "chat " + model,
                "start_time": iso(t),
                "duration_ms": dur,
                "status": "error" if error else "ok",
                "provider": provider,
                "model": model,
                "project": "shop",
                "environment": "production",
                "feature": rnd.choice(FEATURES),
                "user_id": "user-%d" % rnd.randint(1, 12),
                "usage": {"input_tokens": rnd.randint(200, 6000), "output_tokens": rnd.randint(20, 900)},
            }
            if error:
                span["error"] = {"type": "rate_limit", "message": "429 Too Many Requests"}
            print(json.dumps(span, separators=(",", ":")))
    # One costly span in the current hour: fires the seeded span_cost rule (over 10 USD).
    t = max(this_hour, now - 5)
    print(json.dumps({
        "trace_id": "page-alert", "span_id": "costly", "name": "chat gpt-4o", "start_time": iso(t),
        "duration_ms": 2400, "status": "ok", "provider": "openai", "model": "gpt-4o", "project": "shop",
        "environment": "production", "feature": "batch-report", "cost_usd": 25,
        "usage": {"input_tokens": 120000, "output_tokens": 4000},
    }, separators=(",", ":")))


if __name__ == "__main__":
    main()
