#!/usr/bin/env bash
# End-to-end test of the dashboard llmtrace-gateway serves at /: Debian's headless chromium
# (/usr/bin/chromium, driven by playwright-core pinned in test/page/package-lock.json; no browser
# is ever downloaded) loads the page from a gateway reading a database of its own, and what the
# page shows is compared with SQL over llmtrace.spans and llmtrace.alerts:
#   the files served are the ones in tools/gateway/web (types, Content-Security-Policy,
#   Cache-Control, ETag/304), the vendored uPlot is the npm package's; /dashboard/data refuses a
#   bad window (400); an empty database shows zeros and "no spans"; after the sample traces and
#   spans over 30 hours (several models, errors, an alert) the page shows today's cost in total
#   and per model, requests, errors and percentiles per hour and over the window, the error rate
#   and the alerts as SQL computes them; a span ingested after the page loaded shows up at the
#   page's next refresh (?refresh=2); a failing dashboard/data shows the error and keeps the
#   figures; no console error, no request outside 127.0.0.1. The screenshot is kept in
#   ${LLMTRACE_TEST_ARTIFACTS:-test/page/artifacts}/dashboard.png.
# Ends with "N passed, N failed". Takes about half a minute.
#   PGHOST/PGPORT set: that cluster is used (a superuser as PGUSER), in a database of its own,
#                      dropped at the end; else a throwaway cluster on LLMTRACE_PAGE_TEST_PORT (5491)
#   LLMTRACE_PAGE_HTTP_PORT  the first HTTP port tried (default 15393; the next free ones after)
#   LLMTRACE_GATEWAY_BIN     the gateway to test (default ./llmtrace-gateway, else the installed one)
#   LLMTRACE_CHROMIUM        the browser (default /usr/bin/chromium)
#   LLMTRACE_PAGE_KEEP=1     keep the work directory (logs, the page's JSON) and print where it is
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
root=$(pwd)
here=$root/test/page
web=$root/tools/gateway/web
ARTIFACTS=${LLMTRACE_TEST_ARTIFACTS:-$here/artifacts}
HTTP_PORT=${LLMTRACE_PAGE_HTTP_PORT:-15393}
CHROMIUM=${LLMTRACE_CHROMIUM:-/usr/bin/chromium}
DB=llmtrace_page_test
READER=llmtrace_page_test_reader
WRITER=llmtrace_page_test_writer
TOKEN=page-test-token-$$
. test/lib.sh
BIN=$(gateway_bin built-first)

work=$(mktemp -d /tmp/llmtrace-page.XXXXXX)
chmod 755 "$work"
own_cluster=0
gw_pid=
cleanup() {
    [ -n "$gw_pid" ] && alive "$gw_pid" && kill "$gw_pid" 2>/dev/null
    if [ "$own_cluster" = 1 ]; then
        "$root/scripts/pgcluster.sh" stop "$work/pg" >/dev/null 2>&1
    elif [ -n "${PGPORT:-}" ]; then
        psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" \
            -c "DROP ROLE IF EXISTS $READER" -c "DROP ROLE IF EXISTS $WRITER" >/dev/null 2>&1
    fi
    if [ "${LLMTRACE_PAGE_KEEP:-0}" = 1 ]; then echo "# kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

finish() {
    if [ "$failed" -gt 0 ] && [ -s "$work/gateway.err" ]; then
        echo "--- gateway stderr (last 15 lines)"
        tail -15 "$work/gateway.err"
    fi
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
    exit
}

# --- what needs no database ------------------------------------------------------------------
if [ -z "$BIN" ] || [ ! -x "$BIN" ]; then
    not_ok "llmtrace-gateway is built (./llmtrace-gateway, $(pg_config --bindir)/llmtrace-gateway, or LLMTRACE_GATEWAY_BIN)${BIN:+: $BIN is not an executable}"
    finish
fi
note "gateway: $BIN"

# The vendored files are what vendor/README says, and the npm package's (npm ci when possible).
if (cd "$web/vendor" && grep -E '^[0-9a-f]{64}  ' README | sha256sum --quiet -c -) >"$work/sha.out" 2>&1 &&
    [ "$(grep -cE '^[0-9a-f]{64}  ' "$web/vendor/README")" = 3 ]; then
    ok "tools/gateway/web/vendor: the three files have the sha256 vendor/README lists ($(head -1 "$web/vendor/README" | cut -d' ' -f1,2))"
else
    not_ok "tools/gateway/web/vendor: sha256 of the vendored files against vendor/README: $(tr '\n' ' ' <"$work/sha.out")"
fi
npm_web=
if [ -d "$web/node_modules/uplot" ]; then
    npm_web=present
elif command -v npm >/dev/null && (cd "$web" && npm ci --no-audit --no-fund --loglevel=error) >"$work/npm-web.err" 2>&1; then
    npm_web="npm ci"
fi
if [ -n "$npm_web" ]; then
    if bash "$web/vendor.sh" --check >"$work/vendor-check.out" 2>&1; then
        ok "the vendored uPlot files are byte for byte the npm package's, at the version package-lock.json pins ($npm_web)"
    else
        not_ok "tools/gateway/web/vendor.sh --check: $(tr '\n' ' ' <"$work/vendor-check.out")"
    fi
else
    note "tools/gateway/web/node_modules is missing and npm ci failed or npm is missing: the vendored files were not compared with the npm package ($(tail -2 "$work/npm-web.err" 2>/dev/null | tr '\n' ' '))"
fi
# Nothing in the page's own files names another host.
if grep -nE '(https?:)?//[A-Za-z0-9.-]+\.[a-z]{2,}' "$web/index.html" "$web/app.js" "$web/app.css" >"$work/hosts.out"; then
    not_ok "the page's files name no other host: $(head -3 "$work/hosts.out" | tr '\n' ' ')"
else
    ok "index.html, app.js and app.css name no other host (no CDN, no web fonts)"
fi

# --- the cluster and the database ------------------------------------------------------------
PSQL=(psql -X -q -A -t -v ON_ERROR_STOP=1)
if [ -n "${PGHOST:-}" ] && [ -n "${PGPORT:-}" ]; then
    export PGUSER=${PGUSER:-postgres}
    note "using the cluster at PGHOST=$PGHOST PGPORT=$PGPORT, database $DB"
    "${PSQL[@]}" -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1
else
    PORT=${LLMTRACE_PAGE_TEST_PORT:-5491}
    while ss -Hltn "sport = :$PORT" 2>/dev/null | grep -q .; do PORT=$((PORT + 1)); done
    if ! eval "export $("$root/scripts/pgcluster.sh" start "$work/pg" "$PORT")"; then
        tail -20 "$work/pg/server.log" 2>/dev/null
        not_ok "a throwaway cluster starts on port $PORT"
        finish
    fi
    own_cluster=1
fi
q() { "${PSQL[@]}" -d "$DB" -c "$1"; }  # as the superuser
if ! "${PSQL[@]}" -d postgres -c "CREATE DATABASE $DB" ||
    ! q "CREATE EXTENSION llmtrace" ||
    ! q "DO \$\$ BEGIN
           IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$READER') THEN CREATE ROLE $READER LOGIN; END IF;
           IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$WRITER') THEN CREATE ROLE $WRITER LOGIN; END IF;
         END \$\$; GRANT llmtrace_reader TO $READER; GRANT llmtrace_writer TO $WRITER"; then
    not_ok "set-up: database $DB, CREATE EXTENSION llmtrace, the login roles $READER and $WRITER"
    finish
fi
missing=$(q "SELECT string_agg(v, ', ') FROM unnest(ARRAY['hourly_metrics', 'daily_metrics']) v
             WHERE to_regclass('llmtrace.' || v) IS NULL")
if [ -n "$missing" ]; then
    not_ok "the extension has the views the dashboard reads: llmtrace.$missing missing"
    finish
fi

# --- the gateway -----------------------------------------------------------------------------
P=$(free_port "$HTTP_PORT")
G=http://127.0.0.1:$P
"$BIN" --listen "127.0.0.1:$P" --dsn "host=$PGHOST port=$PGPORT dbname=$DB user=$WRITER" \
    --read-dsn "host=$PGHOST port=$PGPORT dbname=$DB user=$READER" --token "$TOKEN=shop" \
    >"$work/gateway.out" 2>"$work/gateway.err" &
gw_pid=$!
up=0
for _ in $(seq 1 100); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$G/health")" = 200 ] && { up=1; break; }
    alive "$gw_pid" || break
    sleep 0.1
done
if [ "$up" = 1 ]; then ok "the gateway starts (writer $WRITER, --read-dsn $READER) and /health answers 200"; else
    not_ok "the gateway starts and GET /health answers 200 within 10 s (stderr: $(tail -3 "$work/gateway.err" | tr '\n' ' '))"
    finish
fi

# req URL [curl args...]: sets $code; the body in $work/body, the headers in $work/hdr.
req() {
    : >"$work/body"
    : >"$work/hdr"
    code=$(curl -sS -o "$work/body" -D "$work/hdr" -w '%{http_code}' --max-time 30 "$@" 2>"$work/curl.err")
    code=${code:-000}
}
header() { tr -d '\r' <"$work/hdr" | grep -i "^$1:" | tail -1 | sed -E 's/^[^:]*:[[:space:]]*//'; }

# --- the files served ------------------------------------------------------------------------
for f in /:index.html:text/html /app.js:app.js:text/javascript /app.css:app.css:text/css \
    /favicon.svg:favicon.svg:image/svg+xml /vendor/uPlot.iife.min.js:vendor/uPlot.iife.min.js:text/javascript \
    /vendor/uPlot.min.css:vendor/uPlot.min.css:text/css; do
    IFS=: read -r url file type <<<"$f"
    req "$G$url"
    ct=$(header Content-Type) csp=$(header Content-Security-Policy) cc=$(header Cache-Control) etag=$(header ETag)
    if [ "$code" = 200 ] && cmp -s "$work/body" "$web/$file" && [ "${ct%%;*}" = "$type" ] &&
        [[ "$csp" == "default-src 'self'"* ]] && [ "$cc" = no-cache ] && [ -n "$etag" ] &&
        [ "$(header X-Content-Type-Options)" = nosniff ]; then
        ok "GET $url: 200, tools/gateway/web/$file byte for byte, $ct, CSP default-src 'self', Cache-Control $cc, ETag"
    else
        not_ok "GET $url: expected 200 with tools/gateway/web/$file, Content-Type $type, a CSP starting default-src 'self', Cache-Control no-cache, an ETag, nosniff; got $code ($(stat -c %s "$work/body") bytes, same: $(cmp -s "$work/body" "$web/$file" && echo yes || echo no)), '$ct', CSP '$csp', '$cc', ETag '$etag'"
    fi
    if [ "$url" = / ] && [ -n "$etag" ]; then
        req "$G/" -H "If-None-Match: $etag"
        if [ "$code" = 304 ] && [ ! -s "$work/body" ]; then ok "GET / with If-None-Match of its ETag: 304, no body"; else
            not_ok "GET / with If-None-Match: $etag: expected 304 and no body; got $code, $(stat -c %s "$work/body") bytes"
        fi
    fi
done
for url in /vendor/nope.js /index.html /app.js/x /no/such/path; do
    req "$G$url"
    if [ "$code" = 404 ]; then ok "GET $url: 404"; else not_ok "GET $url: expected 404; got $code"; fi
done
for h in 0 721 -1 abc 1.5 '' 99999; do
    req "$G/dashboard/data?hours=$h"
    if [ "$code" = 400 ] && grep -q 'hours must be a whole number from 1 to 720' "$work/body"; then ok "GET /dashboard/data?hours=$h: 400 ($(head -c 100 "$work/body"))"; else
        not_ok "GET /dashboard/data?hours=$h: expected 400 naming the range 1 to 720; got $code '$(head -c 200 "$work/body")'"
    fi
done
for h in 1 720; do
    req "$G/dashboard/data?hours=$h"
    n=$(python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print(len(d["hourly"]))' "$work/body" 2>/dev/null)
    if [ "$code" = 200 ] && [ "$n" = "$h" ] && [ "$(header Cache-Control)" = no-store ]; then
        ok "GET /dashboard/data?hours=$h: 200, $h hourly rows, Cache-Control no-store"
    else
        not_ok "GET /dashboard/data?hours=$h: expected 200 with $h hourly rows and Cache-Control no-store; got $code, '$n' rows, '$(header Cache-Control)': $(head -c 200 "$work/body")"
    fi
done

# --- the browser -----------------------------------------------------------------------------
js=0
if [ ! -x "$CHROMIUM" ]; then
    not_ok "chromium is installed ($CHROMIUM; Debian's package chromium)"
elif ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    not_ok "node and npm are installed (playwright-core drives chromium; test/page/package.json)"
elif [ -f "$here/node_modules/.package-lock.json" ] && [ ! "$here/package-lock.json" -nt "$here/node_modules/.package-lock.json" ]; then
    js=1
elif (cd "$here" && npm ci --no-audit --no-fund --loglevel=error) >"$work/npm.err" 2>&1; then
    js=1
else
    not_ok "npm ci in test/page (playwright-core): $(tail -5 "$work/npm.err" | tr '\n' ' ')"
fi
# page NAME URL [check.mjs args...]: the page's figures in $work/NAME.json
page() {
    local name=$1 url=$2
    shift 2
    (cd "$here" && timeout 240 node check.mjs --url "$url" --out "$work/$name.json" --chromium "$CHROMIUM" "$@") \
        >"$work/$name.out" 2>&1
}
# The comparisons print ok/FAILED lines: counted here.
report() {
    local line
    while IFS= read -r line; do
        case $line in
        "ok - "*) ok "${line#ok - }" ;;
        "FAILED - "*) not_ok "${line#FAILED - }" ;;
        *) echo "$line" ;;
        esac
    done
}
# expected FILE WINDOW_START HOURS TODAY [EXCLUDED_TRACE [LAST_ALERT_ID]]: what SQL over
# llmtrace.spans and llmtrace.alerts says the page should show, for the page's window and UTC day
# (without the spans of EXCLUDED_TRACE and the alerts after LAST_ALERT_ID: what came later).
expected() {
    "${PSQL[@]}" -d "$DB" -v ws="$2" -v hours="$3" -v today="$4" -v excl="${5:-}" -v last_alert="${6:-}" >"$1" <<'SQL'
WITH p AS (SELECT :'ws'::timestamptz AS ws, :'hours'::int AS hours, :'today'::date AS today),
sp AS (SELECT s.* FROM llmtrace.spans s WHERE s.trace_id IS DISTINCT FROM nullif(:'excl', '')),
w AS (SELECT sp.* FROM sp, p WHERE sp.start_time >= p.ws AND sp.start_time < p.ws + p.hours * interval '1 hour'),
td AS (SELECT sp.* FROM sp, p WHERE sp.start_time >= p.today::timestamp AT TIME ZONE 'UTC'
                               AND sp.start_time < (p.today + 1)::timestamp AT TIME ZONE 'UTC'),
bymodel AS (SELECT provider, model, count(*) AS requests, count(*) FILTER (WHERE status = 'error') AS errors,
                   coalesce(sum(cost_usd), 0) AS cost_usd,
                   llmtrace.quantile(llmtrace.latency_sketch(duration_ms), 0.95) AS p95_ms
            FROM td GROUP BY provider, model),
byhour AS (SELECT to_char(date_trunc('hour', start_time, 'UTC') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS hour,
                  count(*) AS requests, count(*) FILTER (WHERE status = 'error') AS errors,
                  coalesce(sum(cost_usd), 0) AS cost_usd,
                  llmtrace.quantile(llmtrace.latency_sketch(duration_ms), 0.5) AS p50_ms,
                  llmtrace.quantile(llmtrace.latency_sketch(duration_ms), 0.95) AS p95_ms,
                  llmtrace.quantile(llmtrace.latency_sketch(duration_ms), 0.99) AS p99_ms
           FROM w GROUP BY 1)
SELECT json_build_object(
    'today_cost', (SELECT coalesce(sum(cost_usd), 0) FROM td),
    'today_requests', (SELECT count(*) FROM td),
    'today_errors', (SELECT count(*) FILTER (WHERE status = 'error') FROM td),
    'by_model', (SELECT coalesce(json_agg(bymodel), '[]') FROM bymodel),
    'window_requests', (SELECT count(*) FROM w),
    'window_errors', (SELECT count(*) FILTER (WHERE status = 'error') FROM w),
    'window_cost', (SELECT coalesce(sum(cost_usd), 0) FROM w),
    'window_error_rate', (SELECT (count(*) FILTER (WHERE status = 'error'))::float8 / nullif(count(*), 0) FROM w),
    'p50_ms', (SELECT llmtrace.quantile(llmtrace.latency_sketch(duration_ms), 0.5) FROM w),
    'p95_ms', (SELECT llmtrace.quantile(llmtrace.latency_sketch(duration_ms), 0.95) FROM w),
    'p99_ms', (SELECT llmtrace.quantile(llmtrace.latency_sketch(duration_ms), 0.99) FROM w),
    'hourly', (SELECT coalesce(json_object_agg(hour, byhour), '{}') FROM byhour),
    'alerts', (SELECT coalesce(json_agg(json_build_object('id', id, 'rule', rule, 'kind', kind, 'severity', severity,
                                                          'span_id', span_id) ORDER BY id DESC), '[]')
               FROM (SELECT * FROM llmtrace.alerts WHERE id <= coalesce(nullif(:'last_alert', '')::bigint, id)
                     ORDER BY id DESC LIMIT 20) a))
SQL
}
# window_of FILE PHASE: "START HOURS TODAY" as the page showed them in PHASE
window_of() {
    python3 -c 'import json, sys
p = json.load(open(sys.argv[1]))["phases"][sys.argv[2]]
print(p["window"]["start"], p["window"]["hours"], p["figures"]["today-date"]["value"])' "$1" "$2" 2>/dev/null
}

if [ "$js" = 1 ]; then
    # An empty database.
    page empty "$G/?refresh=1"
    if [ -s "$work/empty.json" ] && python3 -c 'import json, sys; sys.exit(0 if "load" in json.load(open(sys.argv[1]))["phases"] else 1)' "$work/empty.json"; then
        read -r ws hours today <<<"$(window_of "$work/empty.json" load)"
        expected "$work/expected-empty.json" "$ws" "$hours" "$today"
        report < <(python3 "$here/compare.py" empty "$work/empty.json" "$work/expected-empty.json")
    else
        not_ok "the page loads from an empty database: $(tail -5 "$work/empty.out" | tr '\n' ' ') $(python3 -c 'import json, sys; print(json.load(open(sys.argv[1])).get("error", "")[:600])' "$work/empty.json" 2>/dev/null)"
    fi
fi

# --- the data --------------------------------------------------------------------------------
# The sample traces moved to the current hour (as scripts/demo.sh does), folded into the rollups;
# then spans over the last 30 hours, left as live deltas: the views add up both.
"$root/scripts/sample-traces.sh" >"$work/sample.copy"
python3 "$here/spans.py" --hours 30 >"$work/spans.jsonl"
if "${PSQL[@]}" -d "$DB" -c "\\copy llmtrace.ingest (payload) FROM '$work/sample.copy'" \
    -c "SELECT llmtrace.fold_rollups()" -c "SELECT llmtrace.refresh_daily_cost_summary()" >/dev/null &&
    "${PSQL[@]}" -d "$DB" -c "\\copy llmtrace.ingest (payload) FROM '$work/spans.jsonl' WITH (FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02')" >/dev/null; then
    ok "loaded: $(q "SELECT count(*) || ' spans of ' || count(DISTINCT model) || ' models over ' || count(DISTINCT date_trunc('hour', start_time)) || ' hours, ' || count(*) FILTER (WHERE status = 'error') || ' errors' FROM llmtrace.spans"), $(q "SELECT count(*) FROM llmtrace.alerts") alerts"
else
    not_ok "loading the sample traces and test/page/spans.py into llmtrace.ingest"
    finish
fi
if [ "$(q "SELECT count(*) FROM llmtrace.alerts WHERE span_id = 'costly'")" -ge 1 ]; then
    ok "the 25 USD span fired an alert ($(q "SELECT string_agg(rule, ', ') FROM llmtrace.alerts WHERE span_id = 'costly'"))"
else
    not_ok "the span reporting 25 USD fires the seeded rule 'span cost over 10 USD': no alert with span_id 'costly'"
fi

# The span the page must pick up at its next refresh, sent through the gateway once the page shows.
now=$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)
printf '{"trace_id":"page-refresh","span_id":"late","start_time":"%s","duration_ms":321,"status":"error","provider":"openai","model":"gpt-4o","project":"shop","cost_usd":0.75,"usage":{"input_tokens":1000,"output_tokens":100}}\n' "$now" >"$work/late.json"

if [ "$js" = 1 ]; then
    mkdir -p "$ARTIFACTS"
    shot=$ARTIFACTS/dashboard.png
    rm -f "$shot"
    last_alert=$(q "SELECT coalesce(max(id), 0) FROM llmtrace.alerts")
    page main "$G/?refresh=2" --screenshot "$shot" --ingest-url "$G/v1/ingest" --token "$TOKEN" --span "$work/late.json" --fail
    err=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1])).get("error", "")[:800])' "$work/main.json" 2>/dev/null)
    if [ -n "$err" ] || [ ! -s "$work/main.json" ]; then
        not_ok "the browser session over the loaded database ran through: ${err:-$(tail -5 "$work/main.out" | tr '\n' ' ')}"
    fi
    if [ -s "$work/main.json" ]; then
        read -r ws hours today <<<"$(window_of "$work/main.json" load)"
        if [ -n "$ws" ]; then
            expected "$work/expected-load.json" "$ws" "$hours" "$today" page-refresh "$last_alert"
            report < <(python3 "$here/compare.py" load "$work/main.json" "$work/expected-load.json")
        fi
        read -r ws hours today <<<"$(window_of "$work/main.json" refresh)"
        if [ -n "$ws" ]; then
            expected "$work/expected-refresh.json" "$ws" "$hours" "$today"
            report < <(python3 "$here/compare.py" refresh "$work/main.json" "$work/expected-refresh.json")
        fi
        report < <(python3 "$here/compare.py" failure "$work/main.json")
        report < <(python3 "$here/compare.py" browser "$work/main.json")
    fi
    if [ -s "$shot" ] && [ "$(head -c 8 "$shot" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ]; then
        ok "screenshot of the dashboard (1280 px wide): $shot"
    else
        not_ok "a PNG screenshot of the dashboard in $shot"
    fi
fi

# The page needs no driver: chromium's own --dump-dom renders the same total.
if [ -x "$CHROMIUM" ]; then
    mkdir -p "$work/profile"
    timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync --user-data-dir="$work/profile" \
        --host-resolver-rules='MAP * ~NOTFOUND, EXCLUDE 127.0.0.1' --virtual-time-budget=10000 --window-size=1280,1000 \
        --dump-dom "$G/?hours=6" >"$work/dom.html" 2>"$work/chromium.err"
    read -r got rows <<<"$(python3 -c 'import re, sys
html = open(sys.argv[1], encoding="utf-8").read()
m = re.search(r"<[^>]*id=\"total-cost-today\"[^>]*>", html)
v = re.search(r"data-value=\"([^\"]*)\"", m.group(0)) if m else None
print(v.group(1) if v and v.group(1) else "-", len(re.findall(r"<tr data-hour=", html)))' "$work/dom.html" 2>/dev/null)"
    want=$(q "SELECT coalesce(sum(cost_usd), 0) FROM llmtrace.spans
              WHERE start_time >= date_trunc('day', now(), 'UTC') AND start_time < date_trunc('day', now(), 'UTC') + interval '1 day'")
    if [ "${got:--}" != - ] && python3 -c 'import sys; a, b = float(sys.argv[1]), float(sys.argv[2]); sys.exit(0 if abs(a - b) <= 1e-9 * max(1, abs(b)) else 1)' "$got" "$want" &&
        [ "$rows" = 6 ]; then
        ok "chromium --headless --dump-dom $G/?hours=6 (no driver): #total-cost-today data-value $got = sum(cost_usd) of today's spans, 6 hourly rows"
    else
        not_ok "chromium --headless --dump-dom --virtual-time-budget=10000 $G/?hours=6: #total-cost-today data-value '${got:-}' (SQL says $want) and ${rows:-?} hourly rows (expected 6) ($(tail -2 "$work/chromium.err" | tr '\n' ' '))"
    fi
fi

# /metrics counts the dashboard's requests by path.
req "$G/metrics"
if grep -q 'llmtrace_gateway_requests_total{path="/",status="200"}' "$work/body" &&
    grep -q 'llmtrace_gateway_requests_total{path="/dashboard/data",status="200"}' "$work/body" &&
    grep -q 'llmtrace_gateway_requests_total{path="/dashboard/data",status="400"}' "$work/body"; then
    ok "GET /metrics counts / and /dashboard/data (200 and 400) by path"
else
    not_ok "GET /metrics: requests_total for path=\"/\" 200 and path=\"/dashboard/data\" 200 and 400: $(grep -E 'path="/(dashboard/data)?"' "$work/body" | tr '\n' ' ')"
fi

exits_cleanly "the gateway" "$gw_pid" 10
gw_pid=
finish
