#!/usr/bin/env python3
"""Compares what the dashboard showed (check.mjs's JSON) with what SQL says (run.sh's expected()),
printing one 'ok - ...' or 'FAILED - ...' line per check (run.sh counts them).

    compare.py empty|load|refresh PAGE.json EXPECTED.json
    compare.py failure|browser PAGE.json
"""
import json
import re
import sys
from urllib.parse import urlparse

lines = []


def ok(msg):
    lines.append("ok - " + msg)


def bad(msg):
    lines.append("FAILED - " + msg)


def check(cond, msg, detail=""):
    if cond:
        ok(msg)
    else:
        bad(msg + (": " + detail if detail else ""))


def num(v):
    if v is None or v == "":
        return None
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def same(a, b, rel=1e-9):
    a, b = num(a), num(b)
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) <= rel * max(1.0, abs(a), abs(b))


def shown(text):
    """The number a figure's text shows: '$1,234.50' -> 1234.5, '4.17 %' -> 0.0417, '1.20 s' -> 1200."""
    t = text.replace(",", "").replace("$", "").strip()
    m = re.match(r"^(-?[0-9.]+(?:e-?[0-9]+)?)\s*(%|ms|s)?$", t)
    if not m:
        return None
    v = float(m.group(1))
    unit = m.group(2)
    return v / 100 if unit == "%" else v * 1000 if unit == "s" else v


def text_agrees(fig, value):
    """The text shows the value, rounded as the page rounds (3 significant digits at least)."""
    if value is None:
        return fig["text"] in ("–", "")
    v = shown(fig["text"])
    return v is not None and abs(v - value) <= max(0.006 * abs(value), 0.0051 if "$" in fig["text"] else 0.051)


def figures(phase, exp, label):
    f = phase["figures"]

    def fig(id_, want, what):
        got = f.get(id_)
        if got is None:
            bad("%s: #%s (%s) is on the page" % (label, id_, what))
            return
        check(same(got["value"], want) and text_agrees(got, num(want)),
              "%s: #%s %s = %s ('%s')" % (label, id_, what, want, got["text"]),
              "the page shows data-value %r, text %r; SQL says %r" % (got["value"], got["text"], want))

    fig("total-cost-today", exp["today_cost"], "today's cost, sum(cost_usd) of today's spans")
    fig("requests-today", exp["today_requests"], "today's spans")
    fig("errors-today", exp["today_errors"], "today's error spans")
    fig("window-requests", exp["window_requests"], "spans in the window")
    fig("window-errors", exp["window_errors"], "error spans in the window")
    fig("window-cost", exp["window_cost"], "cost in the window")
    fig("window-error-rate", exp["window_error_rate"], "error rate in the window")
    fig("latency-p50", exp["p50_ms"], "p50 (ms) of the window's spans")
    fig("latency-p95", exp["p95_ms"], "p95 (ms)")
    fig("latency-p99", exp["p99_ms"], "p99 (ms)")


def models(phase, exp, label):
    want = {(m["provider"] or "", m["model"] or ""): m for m in exp["by_model"]}
    got = {(r["provider"] or "", r["model"] or ""): r for r in phase["models"]}
    check(set(want) == set(got), "%s: cost by model lists today's %d (provider, model) groups" % (label, len(want)),
          "page %s, SQL %s" % (sorted(got), sorted(want)))
    wrong = []
    for k in sorted(set(want) & set(got)):
        w, c = want[k], got[k]["cells"]
        for field in ("requests", "errors", "cost_usd", "p95_ms"):
            if field not in c or not same(c[field]["value"], w[field]):
                wrong.append("%s/%s %s: page %r, SQL %r" % (k[0], k[1], field, c.get(field, {}).get("value"), w[field]))
            elif not text_agrees(c[field], num(w[field])):
                wrong.append("%s/%s %s: text %r does not show %r" % (k[0], k[1], field, c[field]["text"], w[field]))
    check(not wrong, "%s: per model, today's requests, errors, p95 and cost equal SQL over llmtrace.spans" % label,
          "; ".join(wrong[:6]))
    costs = [num(r["cells"]["cost_usd"]["value"]) or 0 for r in phase["models"]]
    check(costs == sorted(costs, reverse=True), "%s: models are listed by cost, highest first" % label, str(costs))


def hourly(phase, exp, label, hours):
    rows = phase["hourly"]
    check(len(rows) == hours, "%s: the hourly table has one row per hour of the window (%d)" % (label, hours),
          "%d rows" % len(rows))
    wrong = []
    nonzero = 0
    for r in rows:
        w = exp["hourly"].get(r["hour"], {"requests": 0, "errors": 0, "cost_usd": 0, "p50_ms": None, "p95_ms": None, "p99_ms": None})
        if w["requests"]:
            nonzero += 1
        for field in ("requests", "errors", "cost_usd", "p50_ms", "p95_ms", "p99_ms"):
            if not same(r["cells"][field]["value"], w[field]):
                wrong.append("%s %s: page %r, SQL %r" % (r["hour"], field, r["cells"][field]["value"], w[field]))
    extra = set(exp["hourly"]) - set(r["hour"] for r in rows)
    if extra:
        wrong.append("hours with spans the page does not list: %s" % sorted(extra))
    check(not wrong, "%s: requests, errors, cost and p50/p95/p99 of each of the %d hours (%d with spans) equal SQL"
          % (label, hours, nonzero), "; ".join(wrong[:6]))
    for name in ("costRequests", "latency"):
        c = phase["charts"][name]
        check(c["canvas"] and c["width"] > 0 and str(c["points"]) == str(hours),
              "%s: the %s chart is drawn (canvas %dx%d, %s points)" % (label, name, c["width"], c["height"], c["points"]),
              json.dumps(c))


def alerts(phase, exp, label):
    got = [(int(a["alert-id"]), a["rule"]) for a in phase["alerts"]]
    want = [(a["id"], a["rule"]) for a in exp["alerts"]]
    check(got == want, "%s: the alerts shown are llmtrace.alerts' newest %d, newest first (ids %s)"
          % (label, len(want), ",".join(str(i) for i, _ in want[:8]) + ("…" if len(want) > 8 else "")),
          "page %s; SQL %s" % (got[:8], want[:8]))
    costly = [a for a in exp["alerts"] if a["span_id"] == "costly"]
    ids = set(i for i, _ in got)
    check(costly and all(a["id"] in ids for a in costly),
          "%s: the alert the 25 USD span fired is shown (%s)" % (label, ", ".join(a["rule"] for a in costly) or "none"))


def main():
    mode, path = sys.argv[1], sys.argv[2]
    page = json.load(open(path, encoding="utf-8"))
    exp = json.load(open(sys.argv[3], encoding="utf-8")) if len(sys.argv) > 3 else None
    phases = page.get("phases", {})

    if mode == "empty":
        p = phases["load"]
        check(p["state"] == "ok" and p["error"]["hidden"], "empty database: the page loads (state ok, no error shown)",
              "state %r, error %r" % (p["state"], p["error"]))
        figures(p, exp, "empty database")
        check(p["modelsEmpty"] and not p["models"], "empty database: cost by model says there are no spans today")
        check(p["alertsEmpty"] and not p["alerts"], "empty database: alerts say there are none")
        check(all(p["charts"][c]["canvas"] and p["charts"][c]["empty"] == "true" for c in p["charts"]),
              "empty database: both charts are drawn, marked empty", json.dumps(p["charts"]))
        errs = [c for c in page["console"] if c["type"] in ("error", "warning")] + page["pageErrors"]
        check(not errs, "empty database: no console error or warning, no page error", json.dumps(errs)[:500])

    elif mode == "load":
        p = phases["load"]
        hours = int(p["window"]["hours"])
        check(p["state"] == "ok" and p["error"]["hidden"] and p["loads"] >= 1 and p["updated"]["ts"],
              "the page loads over the data (state ok, updated at %s)" % p["updated"]["ts"], json.dumps(p["error"]))
        check(re.match(r"^Updated \d\d:\d\d:\d\d UTC$", p["updated"]["text"]) is not None,
              "the 'updated at' time is shown ('%s')" % p["updated"]["text"])
        figures(p, exp, "loaded")
        models(p, exp, "loaded")
        hourly(p, exp, "loaded", hours)
        alerts(p, exp, "loaded")
        check(p["uplot"] == "function", "uPlot (vendored) is loaded")

    elif mode == "refresh":
        if "refresh" not in phases:
            bad("the page refreshes itself: no refresh phase (%s)" % page.get("error", "")[:300])
        else:
            a, b = phases["load"], phases["refresh"]
            ing = page.get("ingest", {})
            check(ing.get("status") == 200 and '"stored":1' in ing.get("body", ""),
                  "a span POSTed to /v1/ingest after the page loaded is stored", json.dumps(ing))
            check(b["loads"] > a["loads"] and b["updated"]["ts"] != a["updated"]["ts"],
                  "the page refreshed itself (?refresh=%s: load %d -> %d, updated %s -> %s)"
                  % (b["figures"]["refresh-interval"]["value"], a["loads"], b["loads"], a["updated"]["ts"], b["updated"]["ts"]))
            check(not same(a["figures"]["total-cost-today"]["value"], b["figures"]["total-cost-today"]["value"]),
                  "after the refresh, today's cost changed (%s -> %s)" % (a["figures"]["total-cost-today"]["text"],
                                                                         b["figures"]["total-cost-today"]["text"]))
            figures(b, exp, "refreshed")
            models(b, exp, "refreshed")

    elif mode == "failure":
        last, refused, failed, rec = (phases.get(k) for k in ("beforeFailure", "refused", "failed", "recovered"))
        if not (last and refused and failed):
            bad("a failing dashboard/data is shown: the phases did not run (%s)" % page.get("error", "")[:300])
        else:
            keep = ("total-cost-today", "requests-today", "window-requests", "window-error-rate", "latency-p95")
            for name, p in (("connection refused", refused), ("503 with a JSON error", failed)):
                check(p["state"] == "error" and not p["error"]["hidden"] and p["error"]["text"].startswith("Could not refresh"),
                      "dashboard/data %s: the page shows the error ('%s')" % (name, p["error"]["text"][:120]),
                      "state %r, banner %r" % (p["state"], p["error"]))
                check(all(p["figures"][k] == last["figures"][k] for k in keep) and p["models"] == last["models"]
                      and p["alerts"] == last["alerts"],
                      "dashboard/data %s: the last figures stay on the page" % name)
            check("the database is unavailable (test)" in failed["error"]["text"],
                  "the error names what the gateway said (its JSON 'error')")
            check(rec and rec["state"] == "ok" and rec["error"]["hidden"],
                  "when dashboard/data answers again, the error goes away", json.dumps(rec and rec["error"]))

    elif mode == "browser":
        errs = [c for c in page["console"] if c["type"] in ("error", "warning") and c["phase"] in ("load", "refresh", "recovered")]
        check(not errs, "no console error or warning while the page loads and refreshes (%d console messages in all)"
              % len(page["console"]), json.dumps(errs)[:600])
        check(not page["pageErrors"], "no uncaught page error", json.dumps(page["pageErrors"])[:600])
        hosts = sorted(set(urlparse(r["url"]).hostname or r["url"] for r in page["requests"]))
        check(hosts == ["127.0.0.1"], "the page made requests to 127.0.0.1 only (%d requests)" % len(page["requests"]),
              "hosts: %s" % hosts)
        paths = sorted(set(urlparse(r["url"]).path for r in page["requests"]))
        want = ["/", "/app.css", "/app.js", "/dashboard/data", "/favicon.svg", "/vendor/uPlot.iife.min.js", "/vendor/uPlot.min.css"]
        check(paths == want, "it requested the page, its files and dashboard/data, nothing else", str(paths))
        unexpected = [r for r in page["failedRequests"] if r["phase"] != "failed"]
        check(not unexpected, "no request failed outside the simulated failures", json.dumps(unexpected)[:400])
        csp = page.get("headers", {}).get("content-security-policy", "")
        check(csp.startswith("default-src 'self'"), "the page came with Content-Security-Policy: %s" % csp[:60])

    print("\n".join(lines))


if __name__ == "__main__":
    main()
