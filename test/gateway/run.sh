#!/usr/bin/env bash
# End-to-end test of llmtrace-gateway (the installed one; LLMTRACE_GATEWAY_BIN overrides) against
# its own throwaway cluster, over HTTP with curl and with the real OpenTelemetry JS exporters and
# the Vercel AI SDK (test/gateway/js):
#   start-up rules; POST /v1/traces with protobuf, JSON, gzip, partial success, every refusal
#   (400, 401, 413 also for gzip bombs, with the gateway's memory checked, 415); /v1/ingest;
#   /webhook/vercel (signatures, x-vercel-verify); /health, /metrics, /metrics/summary,
#   /alerts/recent; a database restart under load (every 200 stored, never a 500); a full queue
#   (429/503 with Retry-After, nothing lost); SIGTERM with requests in flight (answered, exit 0).
# Spans must be stored under the bearer token's project whatever the payload says.
# Ends with "N passed, N failed". Takes about a minute.
#   LLMTRACE_GATEWAY_TEST_PORT  the cluster's port (default 5494)
#   LLMTRACE_GATEWAY_HTTP_PORT  the first HTTP port tried (default 14318; the next free ones after)
#   LLMTRACE_GATEWAY_BIN        the gateway to test
#   LLMTRACE_GATEWAY_KEEP=1     keep the work directory (logs, bodies) and print where it is
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
root=$(pwd)
here=$root/test/gateway
PORT=${LLMTRACE_GATEWAY_TEST_PORT:-5494}
HTTP_PORT=${LLMTRACE_GATEWAY_HTTP_PORT:-14318}
. test/lib.sh
BIN=$(gateway_bin)

work=$(mktemp -d /tmp/llmtrace-gateway.XXXXXX)
chmod 755 "$work"
gw_pids=()
bg_pids=()
cleanup() {
    local p
    for p in "${bg_pids[@]}" "${gw_pids[@]}"; do alive "$p" && kill "$p" 2>/dev/null; done
    "$root/scripts/pgcluster.sh" stop "$work/pg" >/dev/null 2>&1
    if [ "${LLMTRACE_GATEWAY_KEEP:-0}" = 1 ]; then echo "# kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

finish() {
    if [ "$failed" -gt 0 ]; then
        local f
        for f in "$work"/*.err; do
            [ -s "$f" ] || continue
            echo "--- $(basename "$f") (last 15 lines)"
            tail -15 "$f"
        done
    fi
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
    exit
}

if [ -z "$BIN" ] || [ ! -x "$BIN" ]; then
    not_ok "llmtrace-gateway is installed${BIN:+ ($BIN is not an executable)} ($(pg_config --bindir)/llmtrace-gateway or ./llmtrace-gateway; or set LLMTRACE_GATEWAY_BIN)"
    finish
fi
note "gateway: $BIN"

# --- the cluster -----------------------------------------------------------------------------
PSQL=(psql -X -q -A -t -v ON_ERROR_STOP=1)
if ! eval "export $("$root/scripts/pgcluster.sh" start "$work/pg" "$PORT")"; then
    tail -20 "$work/pg/server.log" 2>/dev/null
    not_ok "a throwaway cluster starts on port $PORT"
    finish
fi
export PGDATABASE=postgres
q() { "${PSQL[@]}" -c "$1"; }  # as postgres (superuser: sees every project's rows)
if ! "${PSQL[@]}" -c "CREATE EXTENSION llmtrace" \
    -c "CREATE ROLE gw LOGIN IN ROLE llmtrace_writer, llmtrace_reader" \
    -c "CREATE ROLE gw_writer LOGIN IN ROLE llmtrace_writer" \
    -c "CREATE ROLE gw_reader LOGIN IN ROLE llmtrace_reader"; then
    not_ok "set-up: CREATE EXTENSION llmtrace and the roles gw, gw_writer, gw_reader"
    finish
fi
DSN="host=$PGHOST port=$PGPORT dbname=postgres user=gw"
DSN_WRITER="host=$PGHOST port=$PGPORT dbname=postgres user=gw_writer"
DSN_READER="host=$PGHOST port=$PGPORT dbname=postgres user=gw_reader"
VSECRET=vercel-drain-secret-123

# --- helpers ---------------------------------------------------------------------------------
# start_gw NAME PORT ARGS...: starts the gateway (stderr in $work/NAME.err), sets gw_pid, and
# waits until it answers HTTP (any status) on 127.0.0.1:PORT.
start_gw() {
    local name=$1 port=$2 i code
    shift 2
    "$BIN" --listen "127.0.0.1:$port" "$@" >>"$work/$name.out" 2>>"$work/$name.err" &
    gw_pid=$!
    gw_pids+=("$gw_pid")
    for i in $(seq 1 150); do
        code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$port/health")
        [ "${code:-000}" != 000 ] && return 0
        kill -0 "$gw_pid" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}
vmhwm_mb() { awk '/^VmHWM:/ { printf "%d", $2 / 1024 }' "/proc/$1/status" 2>/dev/null || echo '?'; }

# req URL [curl args...]: sets $code; the body in $work/body, the headers in $work/hdr.
req() {
    : >"$work/body"
    : >"$work/hdr"
    code=$(curl -sS -o "$work/body" -D "$work/hdr" -w '%{http_code}' --max-time 60 "$@" 2>"$work/curl.err")
    code=${code:-000}
}
header() { tr -d '\r' <"$work/hdr" | grep -i "^$1:" | tail -1 | sed -E 's/^[^:]*:[[:space:]]*//'; }
body() { head -c 400 "$work/body" | tr '\n\r' '  '; }
got() {  # what came back, for failure messages
    local ce
    ce=$(head -c 200 "$work/curl.err" 2>/dev/null | tr '\n' ' ')
    echo "got $code${ce:+ (curl: $ce)}, body '$(body)'"
}
# pyj FILE EXPR: evaluates the Python expression EXPR over d, the JSON in FILE.
pyj() {
    python3 -c 'import json, sys
try:
    d = json.load(open(sys.argv[1], encoding="utf-8"))
    v = eval(sys.argv[2])
    print(v if isinstance(v, str) else json.dumps(v))
except Exception as e:
    print("INVALID: %s: %s" % (type(e).__name__, e))' "$1" "$2"
}
otlp() { python3 "$here/otlp.py" "$@"; }
traces_sql() {  # FILE [SEED]: the fixture's trace ids as a SQL list
    otlp ids "$@" | awk '{ print $1 }' | sort -u | sed "s/.*/'&'/" | paste -sd, -
}
nspans() { otlp ids "$@" | wc -l; }
stored() { q "SELECT count(*) FROM llmtrace.spans WHERE trace_id IN ($1)"; }
projects() { q "SELECT coalesce(string_agg(DISTINCT coalesce(project, '<null>'), ','), '') FROM llmtrace.spans WHERE trace_id IN ($1)"; }
errors_count() { q "SELECT count(*) FROM llmtrace.ingest_errors"; }
hexid() { python3 -c 'import hashlib, sys; print(hashlib.sha256(sys.argv[1].encode()).hexdigest()[:32])' "$1"; }
now_iso() { date -u +%Y-%m-%dT%H:%M:%S.%3NZ; }
FX=$root/test/data/otlp-proto

# --- start-up --------------------------------------------------------------------------------
P0=$(free_port "$HTTP_PORT")
timeout 10 "$BIN" --listen "127.0.0.1:$P0" --dsn "$DSN" >/dev/null 2>"$work/notoken.err"
rc=$?
if [ "$rc" = 2 ] && [ -s "$work/notoken.err" ]; then
    ok "no --token and no --insecure-no-auth: refuses to start (exit 2: $(head -1 "$work/notoken.err"))"
else
    not_ok "no --token and no --insecure-no-auth: exit 2 with a message on stderr; got exit $rc, stderr '$(head -c 200 "$work/notoken.err")'"
fi

if start_gw insecure "$P0" --dsn "$DSN" --insecure-no-auth; then
    G0=http://127.0.0.1:$P0
    G0_pid=$gw_pid
    otlp retrace "$FX/genai-chat.pb" insecure >"$work/insecure.pb"
    req "$G0/v1/traces" -H 'Content-Type: application/x-protobuf' --data-binary @"$work/insecure.pb"
    t=$(traces_sql "$FX/genai-chat.pb" insecure)
    if [ "$code" = 200 ] && [ "$(stored "$t")" = 2 ]; then
        ok "--insecure-no-auth: starts, and a POST without Authorization is stored"
    else
        not_ok "--insecure-no-auth: POST /v1/traces (genai-chat.pb, no Authorization): expected 200 and 2 spans stored; $(got), stored $(stored "$t")"
    fi
    # A gzip bomb against the default --max-body-bytes (8 MiB): 100 MB of zeros, ~100 KB gzip'd.
    head -c 100000000 /dev/zero | gzip -c >"$work/bomb100m.gz"
    req "$G0/v1/traces" -H 'Content-Type: application/x-protobuf' -H 'Content-Encoding: gzip' \
        --data-binary @"$work/bomb100m.gz"
    hwm=$(vmhwm_mb "$G0_pid")
    if [ "$code" = 413 ] && alive "$G0_pid" && [ "$hwm" != '?' ] && [ "$hwm" -lt 200 ]; then
        ok "gzip bomb ($(stat -c %s "$work/bomb100m.gz") bytes -> 100 MB) with the default limit: 413, peak RSS ${hwm} MB"
    else
        not_ok "gzip bomb ($(stat -c %s "$work/bomb100m.gz") bytes -> 100 MB of zeros, Content-Encoding: gzip) with the default --max-body-bytes: expected 413 and VmHWM < 200 MB; $(got), VmHWM ${hwm} MB, alive: $(alive "$G0_pid" && echo yes || echo no)"
    fi
    exits_cleanly "--insecure-no-auth gateway" "$G0_pid"
else
    not_ok "--insecure-no-auth: the gateway starts and answers HTTP (stderr: $(tail -3 "$work/insecure.err" | tr '\n' ' '))"
fi

# --- the main gateway ------------------------------------------------------------------------
P1=$(free_port "$HTTP_PORT")
G1=http://127.0.0.1:$P1
if ! start_gw main "$P1" --dsn "$DSN" --token t-acme=acme --token t-globex=globex \
    --vercel-secret "$VSECRET" --max-body-bytes 65536; then
    not_ok "the gateway starts with --dsn, two --token, --vercel-secret, --max-body-bytes 65536 (stderr: $(tail -3 "$work/main.err" | tr '\n' ' '))"
    finish
fi
G1_pid=$gw_pid
AUTH_ACME=(-H 'Authorization: Bearer t-acme')
AUTH_GLOBEX=(-H 'Authorization: Bearer t-globex')
PB=(-H 'Content-Type: application/x-protobuf')
JS=(-H 'Content-Type: application/json')

# Every protobuf fixture (number-edges differs from its JSON by construction), under alternating tokens.
errors_before=$(errors_count)
for f in genai-chat error-and-types batch anthropic-usage; do
    case $f in genai-chat | batch) auth=("${AUTH_ACME[@]}") project=acme ;; *) auth=("${AUTH_GLOBEX[@]}") project=globex ;; esac
    t=$(traces_sql "$FX/$f.pb")
    n=$(nspans "$FX/$f.pb")
    req "$G1/v1/traces" "${auth[@]}" "${PB[@]}" --data-binary @"$FX/$f.pb"
    size=$(stat -c %s "$work/body")
    ctype=$(header Content-Type)
    s=$(stored "$t") p=$(projects "$t")
    if [ "$code" = 200 ] && [ "$size" = 0 ] && [ "$s" = "$n" ] && [ "$p" = "$project" ]; then
        ok "POST /v1/traces $f.pb: 200, empty body ($ctype), $n spans stored under $project"
    else
        not_ok "POST /v1/traces $f.pb (token of $project): expected 200, an empty body and $n spans under '$project'; $(got) ($size bytes, $ctype), stored $s under '$p'"
    fi
    case $ctype in application/x-protobuf*) ;; *) not_ok "POST /v1/traces $f.pb: the response's Content-Type is application/x-protobuf; got '$ctype'" ;; esac
    ingested=$(q "SELECT max(ingested_at) FROM llmtrace.spans WHERE trace_id IN ($t)")
    req "$G1/v1/traces" "${auth[@]}" "${PB[@]}" --data-binary @"$FX/$f.pb"
    s2=$(stored "$t")
    ingested2=$(q "SELECT max(ingested_at) FROM llmtrace.spans WHERE trace_id IN ($t)")
    if [ "$code" = 200 ] && [ "$s2" = "$n" ] && [ "$ingested" = "$ingested2" ]; then
        ok "POST /v1/traces $f.pb again: 200, nothing stored twice"
    else
        not_ok "POST /v1/traces $f.pb again: expected 200 and still $n spans, none rewritten; $(got), stored $s2, max(ingested_at) $ingested -> $ingested2"
    fi
done
e=$(errors_count)
if [ "$e" = "$errors_before" ]; then ok "the fixtures and their re-delivery put nothing in llmtrace.ingest_errors"; else
    not_ok "the fixtures and their re-delivery put nothing in llmtrace.ingest_errors: $((e - errors_before)) rows: $(q "SELECT string_agg(error || ' @ ' || coalesce(location, ''), '; ') FROM llmtrace.ingest_errors")"
fi

# OTLP/JSON
otlp retrace "$FX/genai-chat.json" json1 >"$work/json1.json"
t=$(traces_sql "$FX/genai-chat.json" json1)
req "$G1/v1/traces" "${AUTH_ACME[@]}" "${JS[@]}" --data-binary @"$work/json1.json"
resp=$(pyj "$work/body" 'd if isinstance(d, dict) and int(d.get("partialSuccess", {}).get("rejectedSpans", 0)) == 0 else "not an empty success: %r" % (d,)')
ctype=$(header Content-Type)
if [ "$code" = 200 ] && [ "${resp#INVALID}" = "$resp" ] && [ "${resp#not an}" = "$resp" ] && [ "$(stored "$t")" = 2 ] &&
    [ "$(projects "$t")" = acme ]; then
    ok "POST /v1/traces genai-chat.json (application/json): 200 with a JSON body ($(body)), 2 spans stored under acme"
else
    not_ok "POST /v1/traces genai-chat.json (new trace ids, application/json): expected 200 with {} and 2 spans under acme; $(got) -> $resp, stored $(stored "$t") under '$(projects "$t")'"
fi
case $ctype in application/json*) ;; *) not_ok "POST /v1/traces (JSON): the response's Content-Type is application/json; got '$ctype'" ;; esac

otlp retrace "$FX/anthropic-usage.json" json2 >"$work/json2.json"
t=$(traces_sql "$FX/anthropic-usage.json" json2)
req "$G1/v1/traces" "${AUTH_GLOBEX[@]}" -H 'Content-Type: application/json; charset=utf-8' --data-binary @"$work/json2.json"
if [ "$code" = 200 ] && [ "$(stored "$t")" = 1 ]; then
    ok "Content-Type 'application/json; charset=utf-8': 200, stored"
else
    not_ok "POST /v1/traces with Content-Type 'application/json; charset=utf-8' (anthropic-usage.json, new ids): expected 200 and 1 span stored; $(got), stored $(stored "$t")"
fi

# The payload names a project (llmtrace.project resource attribute): the token's wins.
tr_evil=$(hexid evil)
otlp gen --format json --trace "$tr_evil" --spans 2 --project evil >"$work/evil.json"
req "$G1/v1/traces" "${AUTH_GLOBEX[@]}" "${JS[@]}" --data-binary @"$work/evil.json"
p=$(projects "'$tr_evil'")
if [ "$code" = 200 ] && [ "$p" = globex ]; then
    ok "a payload claiming llmtrace.project = evil, sent with the globex token: stored under globex"
else
    not_ok "POST /v1/traces, resource attribute llmtrace.project = evil, token t-globex: expected 200 and project globex; $(got), stored under '$p'"
fi

# gzip'd protobuf
otlp retrace "$FX/batch.pb" gz1 >"$work/gz1.pb"
gzip -c "$work/gz1.pb" >"$work/gz1.pb.gz"
t=$(traces_sql "$FX/batch.pb" gz1)
req "$G1/v1/traces" "${AUTH_ACME[@]}" "${PB[@]}" -H 'Content-Encoding: gzip' --data-binary @"$work/gz1.pb.gz"
if [ "$code" = 200 ] && [ "$(stored "$t")" = 50 ] && [ ! -s "$work/body" ]; then
    ok "POST /v1/traces batch.pb gzip'd (Content-Encoding: gzip): 200, 50 spans stored"
else
    not_ok "POST /v1/traces batch.pb (new ids) gzip'd, Content-Encoding: gzip: expected 200, empty body, 50 spans; $(got), stored $(stored "$t")"
fi

# a body labelled gzip that is not gzip, and a truncated gzip stream: 400 (undecodable), nothing stored
tr=$(hexid badgzip)
otlp gen --format pb --trace "$tr" --spans 2 >"$work/badgzip.pb"
gzip -c "$work/badgzip.pb" | head -c 200 >"$work/badgzip.pb.gz"
req "$G1/v1/traces" "${AUTH_ACME[@]}" "${PB[@]}" -H 'Content-Encoding: gzip' --data-binary @"$work/badgzip.pb"
c1=$code b1=$(body)
req "$G1/v1/traces" "${AUTH_ACME[@]}" "${PB[@]}" -H 'Content-Encoding: gzip' --data-binary @"$work/badgzip.pb.gz"
c2=$code b2=$(body)
if [ "$c1" = 400 ] && [ "$c2" = 400 ]; then ok "Content-Encoding gzip on a body that is not gzip, and on a truncated gzip stream: 400"; else
    not_ok "POST /v1/traces protobuf, Content-Encoding: gzip: expected 400 for a body that is not gzip and for a truncated gzip stream; got $c1 '$b1' and $c2 '$b2', stored $(stored "'$tr'")"
fi

# a chunked request body (Transfer-Encoding: chunked, no Content-Length), as the OTel JS exporters send
otlp retrace "$FX/genai-chat.pb" chunked >"$work/chunked.pb"
t=$(traces_sql "$FX/genai-chat.pb" chunked)
req "$G1/v1/traces" "${AUTH_ACME[@]}" "${PB[@]}" -H 'Transfer-Encoding: chunked' --data-binary @"$work/chunked.pb"
if [ "$code" = 200 ] && [ "$(stored "$t")" = 2 ]; then
    ok "POST /v1/traces with a chunked body: 200, stored"
else
    not_ok "POST /v1/traces genai-chat.pb (new ids) with Transfer-Encoding: chunked: expected 200 and 2 spans; $(got), stored $(stored "$t")"
fi

# Partial success: one good span, one without a spanId.
for fmt in json pb; do
    tr=$(hexid "partial-$fmt")
    otlp gen --format "$fmt" --trace "$tr" --spans 2 --bad 1 >"$work/partial.$fmt"
    e0=$(errors_count)
    if [ "$fmt" = json ]; then
        req "$G1/v1/traces" "${AUTH_ACME[@]}" "${JS[@]}" --data-binary @"$work/partial.json"
        cp "$work/body" "$work/partial-resp.json"
    else
        req "$G1/v1/traces" "${AUTH_ACME[@]}" "${PB[@]}" --data-binary @"$work/partial.pb"
        otlp response "$work/body" >"$work/partial-resp.json"
    fi
    rejected=$(pyj "$work/partial-resp.json" 'd["partialSuccess"]["rejectedSpans"]')
    msg=$(pyj "$work/partial-resp.json" 'd["partialSuccess"].get("errorMessage", "")')
    s=$(stored "'$tr'")
    e1=$(errors_count)
    if [ "$code" = 200 ] && [ "$rejected" = 1 ] && [ "$s" = 1 ] && [ "$e1" = $((e0 + 1)) ]; then
        ok "partial success ($fmt): 200, rejectedSpans 1 ('$msg'), the good span stored, the bad one in llmtrace.ingest_errors"
    else
        not_ok "partial success ($fmt): POST /v1/traces with a good span and one without spanId: expected 200, partialSuccess.rejectedSpans \"1\", 1 span stored, 1 new ingest_errors row; $(got) -> $(head -c 300 "$work/partial-resp.json"), stored $s, ingest_errors +$((e1 - e0))"
    fi
    if [ "$fmt" = json ] && [ "$rejected" = 1 ] && ! grep -q '"rejectedSpans" *: *"1"' "$work/partial-resp.json"; then
        not_ok "partial success (json): rejectedSpans is an int64, a JSON string in OTLP/JSON (\"1\"); got $(head -c 200 "$work/partial-resp.json")"
    fi
    pe=$(q "SELECT coalesce(project, '<null>') FROM llmtrace.ingest_errors ORDER BY id DESC LIMIT 1")
    if [ "$e1" = $((e0 + 1)) ] && [ "$pe" != acme ]; then
        not_ok "partial success ($fmt): the quarantined span is recorded under the token's project (ingest_errors.project acme); got '$pe'"
    fi
done

# Refusals
printf '\x0a\x05\xff' >"$work/garbage.pb"
e0=$(errors_count)
req "$G1/v1/traces" "${AUTH_ACME[@]}" "${PB[@]}" --data-binary @"$work/garbage.pb"
if [ "$code" = 400 ]; then ok "undecodable protobuf (0a 05 ff): 400"; else not_ok "POST /v1/traces with the bytes 0a 05 ff (application/x-protobuf): expected 400; $(got)"; fi
note "undecodable protobuf: ingest_errors +$(($(errors_count) - e0)) (quarantined by the database: +1 expected if the gateway passes it on)"
printf '{"resourceSpans": [' >"$work/garbage.json"
req "$G1/v1/traces" "${AUTH_ACME[@]}" "${JS[@]}" --data-binary @"$work/garbage.json"
if [ "$code" = 400 ]; then ok "undecodable JSON: 400"; else not_ok "POST /v1/traces with '{\"resourceSpans\": [' (application/json): expected 400; $(got)"; fi

tr=$(hexid noauth)
otlp gen --format pb --trace "$tr" --spans 1 >"$work/noauth.pb"
for a in none 'Bearer wrong' 'Bearer t-acmex' 'Basic dC1hY21lOg==' 'bearer' 'Bearer '; do
    if [ "$a" = none ]; then
        req "$G1/v1/traces" "${PB[@]}" --data-binary @"$work/noauth.pb"
    else
        req "$G1/v1/traces" -H "Authorization: $a" "${PB[@]}" --data-binary @"$work/noauth.pb"
    fi
    if [ "$code" = 401 ]; then ok "Authorization: $a -> 401"; else not_ok "POST /v1/traces with Authorization: '$a': expected 401; $(got)"; fi
done
if [ "$(stored "'$tr'")" = 0 ]; then ok "nothing stored from the unauthorized requests"; else not_ok "nothing stored from the unauthorized requests: $(stored "'$tr'") spans"; fi

tr=$(hexid media)
otlp gen --format json --trace "$tr" --spans 1 >"$work/media.json"
req "$G1/v1/traces" "${AUTH_ACME[@]}" -H 'Content-Type: text/plain' --data-binary @"$work/media.json"
if [ "$code" = 415 ]; then ok "Content-Type text/plain: 415"; else not_ok "POST /v1/traces with Content-Type: text/plain: expected 415; $(got)"; fi
req "$G1/v1/traces" "${AUTH_ACME[@]}" -H 'Content-Type: application/x-www-form-urlencoded' --data-binary @"$work/media.json"
if [ "$code" = 415 ]; then ok "Content-Type application/x-www-form-urlencoded: 415"; else not_ok "POST /v1/traces with Content-Type: application/x-www-form-urlencoded: expected 415; $(got)"; fi
req "$G1/v1/traces" "${AUTH_ACME[@]}" "${JS[@]}" -H 'Content-Encoding: compress' --data-binary @"$work/media.json"
if [ "$code" = 415 ]; then ok "Content-Encoding compress: 415"; else not_ok "POST /v1/traces with Content-Encoding: compress: expected 415; $(got)"; fi

# br and zstd: 415, or stored if the gateway supports them.
for enc in br zstd; do
    tr=$(hexid "enc-$enc")
    otlp gen --format pb --trace "$tr" --spans 1 >"$work/enc.pb"
    if [ "$enc" = zstd ] && command -v zstd >/dev/null; then
        zstd -q -c "$work/enc.pb" >"$work/enc.$enc"
    elif [ "$enc" = br ] && command -v node >/dev/null; then
        node -e 'process.stdout.write(require("zlib").brotliCompressSync(require("fs").readFileSync(process.argv[1])))' "$work/enc.pb" >"$work/enc.$enc"
    else
        gzip -c "$work/enc.pb" >"$work/enc.$enc"  # mislabelled; 415 is still the answer without support
        note "no $enc encoder here: sending gzip bytes labelled $enc"
    fi
    req "$G1/v1/traces" "${AUTH_ACME[@]}" "${PB[@]}" -H "Content-Encoding: $enc" --data-binary @"$work/enc.$enc"
    s=$(stored "'$tr'")
    if [ "$code" = 415 ] && [ "$s" = 0 ]; then
        ok "Content-Encoding $enc: 415 (not supported)"
    elif [ "$code" = 200 ] && [ "$s" = 1 ]; then
        ok "Content-Encoding $enc: supported (200, stored)"
    else
        not_ok "POST /v1/traces protobuf with Content-Encoding: $enc: expected 415, or 200 and the span stored; $(got), stored $s"
    fi
done

# Bodies over --max-body-bytes (65536 on this gateway), before and after decompression.
tr=$(hexid big)
otlp gen --format json --trace "$tr" --spans 200 >"$work/big.json"
gzip -c "$work/big.json" >"$work/big.json.gz"
head -c 10000000 /dev/zero | gzip -9 -c >"$work/bomb10m.gz"
big=$(stat -c %s "$work/big.json") bigz=$(stat -c %s "$work/big.json.gz")
req "$G1/v1/traces" "${AUTH_ACME[@]}" "${JS[@]}" --data-binary @"$work/big.json"
if [ "$code" = 413 ]; then ok "a $big-byte body (limit 65536): 413"; else not_ok "POST /v1/traces with a $big-byte JSON body, --max-body-bytes 65536: expected 413; $(got)"; fi
tb=$(hexid big-pb)
otlp gen --format pb --trace "$tb" --spans 400 >"$work/big.pb"
bigpb=$(stat -c %s "$work/big.pb")
req "$G1/v1/traces" "${AUTH_ACME[@]}" "${PB[@]}" --data-binary @"$work/big.pb"
if [ "$code" = 413 ] && [ "$(stored "'$tb'")" = 0 ]; then ok "a $bigpb-byte protobuf body (limit 65536): 413"; else
    not_ok "POST /v1/traces with a $bigpb-byte protobuf body (Content-Length), --max-body-bytes 65536: expected 413 (the sender must not think it was accepted); $(got) ($(stat -c %s "$work/body")-byte body), stored $(stored "'$tb'") of 400 spans"
fi
e0=$(errors_count)
req "$G1/v1/ingest" "${AUTH_ACME[@]}" "${JS[@]}" --data-binary @"$work/big.json"
if [ "$code" = 413 ]; then ok "POST /v1/ingest a $big-byte body (limit 65536): 413"; else
    not_ok "POST /v1/ingest with a $big-byte body (Content-Length), --max-body-bytes 65536: expected 413; $(got)"
fi
sign_big=$(otlp hmac-sha1 "$VSECRET" "$work/big.json")
req "$G1/webhook/vercel" -H "x-vercel-signature: $sign_big" "${JS[@]}" --data-binary @"$work/big.json"
if [ "$code" = 413 ]; then ok "POST /webhook/vercel a $big-byte signed body (limit 65536): 413"; else
    not_ok "POST /webhook/vercel with a $big-byte body (Content-Length, correctly signed), --max-body-bytes 65536: expected 413; $(got)"
fi
e1=$(errors_count)
if [ "$e1" = "$e0" ]; then ok "bodies over the limit put nothing in llmtrace.ingest_errors"; else
    not_ok "bodies over the limit put nothing in llmtrace.ingest_errors: $((e1 - e0)) rows: $(q "SELECT string_agg(error || ' (' || coalesce(payload_bytes::text, '?') || ' bytes)', '; ') FROM (SELECT * FROM llmtrace.ingest_errors ORDER BY id DESC LIMIT $((e1 - e0))) e")"
fi
req "$G1/v1/traces" "${AUTH_ACME[@]}" "${JS[@]}" -H 'Transfer-Encoding: chunked' --data-binary @"$work/big.json"
if [ "$code" = 413 ]; then ok "a $big-byte chunked body (limit 65536): 413"; else not_ok "POST /v1/traces with a $big-byte JSON body sent chunked, --max-body-bytes 65536: expected 413; $(got)"; fi
req "$G1/v1/traces" "${AUTH_ACME[@]}" "${JS[@]}" -H 'Content-Encoding: gzip' --data-binary @"$work/big.json.gz"
if [ "$code" = 413 ]; then ok "a $bigz-byte gzip body of $big bytes (limit 65536): 413"; else not_ok "POST /v1/traces with a $bigz-byte gzip'd JSON body of $big bytes, --max-body-bytes 65536: expected 413 (the limit applies after decompression); $(got)"; fi
if [ "$(stored "'$tr'")" = 0 ]; then ok "nothing stored from the bodies over the limit"; else not_ok "nothing stored from the bodies over the limit: $(stored "'$tr'") spans"; fi
req "$G1/v1/traces" "${AUTH_ACME[@]}" "${PB[@]}" -H 'Content-Encoding: gzip' --data-binary @"$work/bomb10m.gz"
if [ "$code" = 413 ]; then ok "gzip bomb, $(stat -c %s "$work/bomb10m.gz") bytes -> 10 MB (limit 65536): 413"; else not_ok "POST /v1/traces, $(stat -c %s "$work/bomb10m.gz") bytes of gzip -> 10 MB of zeros, --max-body-bytes 65536: expected 413; $(got)"; fi
req "$G1/v1/traces" "${AUTH_ACME[@]}" "${PB[@]}" -H 'Content-Encoding: gzip' -H 'Transfer-Encoding: chunked' --data-binary @"$work/bomb100m.gz"
hwm=$(vmhwm_mb "$G1_pid")
if [ "$code" = 413 ] && [ "$hwm" != '?' ] && [ "$hwm" -lt 200 ]; then
    ok "gzip bomb -> 100 MB, chunked (limit 65536): 413, peak RSS ${hwm} MB"
else
    not_ok "POST /v1/traces, gzip bomb ($(stat -c %s "$work/bomb100m.gz") bytes -> 100 MB) sent chunked, --max-body-bytes 65536: expected 413 and VmHWM < 200 MB; $(got), VmHWM ${hwm} MB"
fi

# --- /v1/ingest ------------------------------------------------------------------------------
now=$(now_iso)
rec() {  # TRACE SPAN [extra JSON fields]
    printf '{"trace_id":"%s","span_id":"%s","start_time":"%s","name":"chat","model":"gpt-4o","provider":"openai","usage":{"prompt_tokens":10,"completion_tokens":5},"project":"evil"%s}' \
        "$1" "$2" "$now" "${3:-}"
}
{ rec gw-ndjson n1; echo; rec gw-ndjson n2; echo; rec gw-ndjson n3; echo; } >"$work/native.ndjson"
req "$G1/v1/ingest" "${AUTH_ACME[@]}" -H 'Content-Type: application/x-ndjson' --data-binary @"$work/native.ndjson"
r=$(pyj "$work/body" '"%s/%s" % (d["stored"], d["rejected"])')
if [ "$code" = 200 ] && [ "$r" = 3/0 ] && [ "$(stored "'gw-ndjson'")" = 3 ] && [ "$(projects "'gw-ndjson'")" = acme ]; then
    ok "POST /v1/ingest NDJSON of 3 native records: {\"stored\": 3, \"rejected\": 0}, under acme"
else
    not_ok "POST /v1/ingest NDJSON of 3 native records (project evil in the records, token t-acme): expected 200 {\"stored\": 3, \"rejected\": 0}, 3 spans under acme; $(got), stored $(stored "'gw-ndjson'") under '$(projects "'gw-ndjson'")'"
fi
req "$G1/v1/ingest" "${AUTH_ACME[@]}" -H 'Content-Type: application/x-ndjson' --data-binary @"$work/native.ndjson"
r=$(pyj "$work/body" '"%s/%s" % (d["stored"], d["rejected"])')
if [ "$code" = 200 ] && [ "$r" = 0/0 ]; then ok "the same NDJSON again: {\"stored\": 0, \"rejected\": 0}"; else
    not_ok "POST /v1/ingest, the same NDJSON again: expected {\"stored\": 0, \"rejected\": 0} (re-delivered spans are not counted); $(got)"
fi
printf '[%s,%s,{"trace_id":"gw-array","start_time":"%s"}]' "$(rec gw-array a1)" "$(rec gw-array a2)" "$now" >"$work/array.json"
req "$G1/v1/ingest" "${AUTH_GLOBEX[@]}" "${JS[@]}" --data-binary @"$work/array.json"
r=$(pyj "$work/body" '"%s/%s" % (d["stored"], d["rejected"])')
if [ "$code" = 200 ] && [ "$r" = 2/1 ] && [ "$(stored "'gw-array'")" = 2 ] && [ "$(projects "'gw-array'")" = globex ]; then
    ok "POST /v1/ingest JSON array of 2 good records and one without span_id: {\"stored\": 2, \"rejected\": 1}, under globex"
else
    not_ok "POST /v1/ingest JSON array of 2 native records and one without span_id (token t-globex): expected 200 {\"stored\": 2, \"rejected\": 1}, 2 spans under globex; $(got), stored $(stored "'gw-array'") under '$(projects "'gw-array'")'"
fi
python3 -c 'import json, sys; print(json.dumps({"rows": json.load(open(sys.argv[1])), "api_version": 2}))' \
    "$root/test/data/emitters/braintrust.traced-manual.json" >"$work/braintrust.json"
bt=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))[0]["root_span_id"])' "$root/test/data/emitters/braintrust.traced-manual.json")
req "$G1/v1/ingest" "${AUTH_ACME[@]}" "${JS[@]}" --data-binary @"$work/braintrust.json"
r=$(pyj "$work/body" '"%s/%s" % (d["stored"], d["rejected"])')
if [ "$code" = 200 ] && [ "$r" = 2/0 ] && [ "$(stored "'$bt'")" = 2 ]; then
    ok "POST /v1/ingest Braintrust /logs3 batch (braintrust.traced-manual): {\"stored\": 2, \"rejected\": 0}"
else
    not_ok "POST /v1/ingest {\"rows\": [braintrust.traced-manual.json], \"api_version\": 2}: expected 200 {\"stored\": 2, \"rejected\": 0}; $(got), stored $(stored "'$bt'")"
fi
tr=$(hexid ingest-otlp)
otlp gen --format json --trace "$tr" --spans 3 >"$work/ingest-otlp.json"
req "$G1/v1/ingest" "${AUTH_ACME[@]}" "${JS[@]}" --data-binary @"$work/ingest-otlp.json"
r=$(pyj "$work/body" '"%s/%s" % (d["stored"], d["rejected"])')
if [ "$code" = 200 ] && [ "$r" = 3/0 ] && [ "$(stored "'$tr'")" = 3 ]; then
    ok "POST /v1/ingest OTLP/JSON document: {\"stored\": 3, \"rejected\": 0}"
else
    not_ok "POST /v1/ingest an OTLP/JSON request of 3 spans: expected 200 {\"stored\": 3, \"rejected\": 0}; $(got), stored $(stored "'$tr'")"
fi
rec gw-alert a1 ',"cost_usd":20' >"$work/alert.json"
req "$G1/v1/ingest" "${AUTH_ACME[@]}" "${JS[@]}" --data-binary @"$work/alert.json"
na=$(q "SELECT count(*) FROM llmtrace.alerts WHERE rule = 'span cost over 10 USD' AND trace_id = 'gw-alert'")
if [ "$code" = 200 ] && [ "$na" = 1 ]; then ok "POST /v1/ingest a span costing 20 USD: the seeded rule fires"; else
    not_ok "POST /v1/ingest a native record with cost_usd 20: expected 200 and an alert of 'span cost over 10 USD'; $(got), alerts $na"
fi
req "$G1/v1/ingest" -H 'Content-Type: application/x-ndjson' --data-binary @"$work/native.ndjson"
if [ "$code" = 401 ]; then ok "POST /v1/ingest without a token: 401"; else not_ok "POST /v1/ingest without Authorization: expected 401; $(got)"; fi

# --- /webhook/vercel -------------------------------------------------------------------------
ms=$(date +%s%3N)
vercel_log() {  # TRACE N
    printf '{"id":"%s-%s","message":"POST /api/chat","timestamp":%s,"type":"stdout","source":"lambda","projectId":"prj_gw","deploymentId":"dpl_gw","requestId":"req-%s","traceId":"%s","statusCode":200,"level":"info","path":"/api/chat","host":"gw.vercel.app","proxy":{"timestamp":%s,"method":"POST","path":"/api/chat","host":"gw.vercel.app","statusCode":200,"userAgent":["curl"],"region":"fra1"}}\n' \
        "$1" "$2" "$ms" "$2" "$1" "$ms"
}
vsign() { otlp hmac-sha1 "$VSECRET" "$1"; }
tv=$(hexid vercel-ok)
{ vercel_log "$tv" 1; vercel_log "$tv" 2; } | gzip -c >"$work/vercel.ndjson.gz"
gunzip -c "$work/vercel.ndjson.gz" >"$work/vercel.ndjson"
sig_wire=$(vsign "$work/vercel.ndjson.gz") sig_plain=$(vsign "$work/vercel.ndjson")
req "$G1/webhook/vercel" -H "x-vercel-signature: $sig_wire" -H 'Content-Type: application/x-ndjson' \
    -H 'Content-Encoding: gzip' --data-binary @"$work/vercel.ndjson.gz"
c_wire=$code detail_wire=$(got)
signed_by=wire
if [ "$c_wire" != 200 ]; then
    req "$G1/webhook/vercel" -H "x-vercel-signature: $sig_plain" -H 'Content-Type: application/x-ndjson' \
        -H 'Content-Encoding: gzip' --data-binary @"$work/vercel.ndjson.gz"
    signed_by=plain
fi
s=$(stored "'$tv'")
if [ "$code" = 200 ] && [ "$s" = 2 ]; then
    ok "POST /webhook/vercel gzip'd NDJSON log drain (2 records), signed: 200, 2 spans stored (project '$(projects "'$tv'")')"
else
    not_ok "POST /webhook/vercel gzip'd NDJSON log drain of 2 records, signed (over the gzip bytes, then over the NDJSON): expected 200 and 2 spans; $(got), stored $s"
fi
if [ "$c_wire" = 200 ]; then
    ok "POST /webhook/vercel: x-vercel-signature over the raw (gzip'd) body as sent is accepted"
else
    not_ok "POST /webhook/vercel, gzip'd body, x-vercel-signature = HMAC-SHA1 of the raw body as sent: expected 200; $detail_wire; an HMAC of the decompressed body $([ "$signed_by" = plain ] && [ "$code" = 200 ] && echo "is accepted" || echo "got $code")"
fi
if [ "$sig_plain" != "$sig_wire" ]; then
    req "$G1/webhook/vercel" -H "x-vercel-signature: $sig_plain" -H 'Content-Type: application/x-ndjson' \
        -H 'Content-Encoding: gzip' --data-binary @"$work/vercel.ndjson.gz"
    note "gzip'd Vercel drain signed over the decompressed NDJSON: $code"
fi
req "$G1/webhook/vercel" -H "x-vercel-signature: $(vsign "$work/vercel.ndjson")" -H 'x-vercel-verify: verify-token-42' \
    -H 'Content-Type: application/x-ndjson' --data-binary @"$work/vercel.ndjson"
if [ "$(header x-vercel-verify)" = verify-token-42 ]; then ok "x-vercel-verify echoed"; else
    not_ok "POST /webhook/vercel with x-vercel-verify: verify-token-42: expected the header echoed in the response; got status $code, headers: $(tr -d '\r' <"$work/hdr" | tr '\n' '|')"
fi
req "$G1/webhook/vercel" -H 'x-vercel-verify: verify-token-43'
if [ "$code" = 200 ] && [ "$(header x-vercel-verify)" = verify-token-43 ]; then
    ok "GET /webhook/vercel with x-vercel-verify (the legacy ownership check): 200, echoed"
else
    not_ok "GET /webhook/vercel with x-vercel-verify: verify-token-43: expected 200 and the header echoed; got $code, echoed '$(header x-vercel-verify)'"
fi
tb=$(hexid vercel-bad)
{ vercel_log "$tb" 1; vercel_log "$tb" 2; } >"$work/vercel-bad.ndjson"
req "$G1/webhook/vercel" -H "x-vercel-signature: 0123456789abcdef0123456789abcdef01234567" \
    -H 'Content-Type: application/x-ndjson' --data-binary @"$work/vercel-bad.ndjson"
c1=$code
req "$G1/webhook/vercel" -H 'Content-Type: application/x-ndjson' --data-binary @"$work/vercel-bad.ndjson"
c2=$code
req "$G1/webhook/vercel" -H "x-vercel-signature: $(otlp hmac-sha1 wrong-secret "$work/vercel-bad.ndjson")" \
    -H 'Content-Type: application/x-ndjson' --data-binary @"$work/vercel-bad.ndjson"
c3=$code
if [ "$c1" = 403 ] && [ "$c2" = 403 ] && [ "$c3" = 403 ] && [ "$(stored "'$tb'")" = 0 ]; then
    ok "POST /webhook/vercel with a wrong, a missing and another secret's signature: 403, nothing stored"
else
    not_ok "POST /webhook/vercel unsigned/wrongly signed: expected 403 x3 and nothing stored; got $c1 (wrong hex), $c2 (missing), $c3 (other secret), stored $(stored "'$tb'")"
fi
tt=$(hexid vercel-trace)
otlp gen --format pb --trace "$tt" --spans 2 >"$work/vercel-trace.pb"
req "$G1/webhook/vercel" -H "x-vercel-signature: $(vsign "$work/vercel-trace.pb")" "${PB[@]}" --data-binary @"$work/vercel-trace.pb"
if [ "$code" = 200 ] && [ "$(stored "'$tt'")" = 2 ]; then
    ok "POST /webhook/vercel trace drain (OTLP protobuf), signed: 200, 2 spans stored (project '$(projects "'$tt'")')"
else
    not_ok "POST /webhook/vercel OTLP protobuf trace drain of 2 spans, signed: expected 200 and 2 spans; $(got), stored $(stored "'$tt'")"
fi
tj=$(hexid vercel-trace-json)
otlp gen --format json --trace "$tj" --spans 2 >"$work/vercel-trace.json"
req "$G1/webhook/vercel" -H "x-vercel-signature: $(vsign "$work/vercel-trace.json")" "${JS[@]}" --data-binary @"$work/vercel-trace.json"
if [ "$code" = 200 ] && [ "$(stored "'$tj'")" = 2 ]; then
    ok "POST /webhook/vercel trace drain (OTLP/JSON), signed: 200, 2 spans stored"
else
    not_ok "POST /webhook/vercel OTLP/JSON trace drain of 2 spans, signed: expected 200 and 2 spans; $(got), stored $(stored "'$tj'")"
fi

# --- /health, /metrics, the reader endpoints -------------------------------------------------
req "$G1/health"
h=$(pyj "$work/body" 'd["status"] == "ok" and d["database"] == "ok" and d["extension"] == "0.2.0" and all(type(d[k]) is int for k in ("queue_requests", "queue_bytes")) and "last_commit" in d')
if [ "$code" = 200 ] && [ "$h" = true ]; then ok "GET /health: 200 $(body)"; else
    not_ok "GET /health: expected 200 {\"status\":\"ok\",\"database\":\"ok\",\"extension\":\"0.2.0\",\"queue_requests\":N,\"queue_bytes\":N,\"last_commit\":...}; $(got)"
fi
req "$G1/metrics"
cp "$work/body" "$work/metrics.txt"
m() { grep -E "$1" "$work/metrics.txt" | grep -qv '^#'; }
missing=()
grep -E '^llmtrace_gateway_requests_total\{' "$work/metrics.txt" | grep 'path="/v1/traces"' | grep -q 'status="200"' ||
    missing+=('llmtrace_gateway_requests_total{path="/v1/traces",status="200"}')
grep -E '^llmtrace_gateway_requests_total\{' "$work/metrics.txt" | grep 'path="/v1/traces"' | grep -q 'status="401"' ||
    missing+=('llmtrace_gateway_requests_total{path="/v1/traces",status="401"}')
grep -E '^llmtrace_gateway_requests_total\{' "$work/metrics.txt" | grep 'path="/v1/ingest"' | grep -q 'status="200"' ||
    missing+=('llmtrace_gateway_requests_total{path="/v1/ingest",status="200"}')
m '^llmtrace_gateway_queue_requests[ {]' || missing+=(llmtrace_gateway_queue_requests)
m '^llmtrace_gateway_commit_seconds(_bucket|_sum|_count)?[ {]' || missing+=(llmtrace_gateway_commit_seconds)
m '^llmtrace_gateway_batch_requests_bucket[ {]' || missing+=(llmtrace_gateway_batch_requests_bucket)
m '^llmtrace_gateway_batch_requests_(sum|count)[ {]' || missing+=('llmtrace_gateway_batch_requests_sum/_count')
ctype=$(header Content-Type)
if [ "$code" = 200 ] && [ ${#missing[@]} = 0 ] && [ "${ctype#text/plain}" != "$ctype" ]; then
    ok "GET /metrics: 200 ($ctype) with the request, queue, commit and batch series"
else
    not_ok "GET /metrics: expected 200 text/plain with every series; got $code ($ctype), missing: ${missing[*]:-none}; first lines: $(grep -v '^#' "$work/metrics.txt" | head -5 | tr '\n' '|')"
fi
bad_lines=$(grep -vE '^(#.*|[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})? [-+0-9.eEInfNa]+( [0-9]+)?|)$' "$work/metrics.txt" | head -3)
if [ -z "$bad_lines" ]; then ok "GET /metrics: every line is Prometheus text exposition"; else
    not_ok "GET /metrics: lines that are not Prometheus text exposition: $(echo "$bad_lines" | tr '\n' '|')"
fi

reader_checks() {  # GATEWAY-URL LABEL
    req "$1/metrics/summary?hours=24"
    r=$(pyj "$work/body" 'isinstance(d, list) and len(d) > 0 and all(isinstance(x, dict) for x in d) and any(x.get("model") == "gpt-4o" and x.get("spans", 0) > 0 for x in d)')
    if [ "$code" = 200 ] && [ "$r" = true ]; then ok "$2GET /metrics/summary?hours=24: a JSON array with the gpt-4o row"; else
        not_ok "$2GET /metrics/summary?hours=24: expected 200 and a JSON array of llmtrace.metrics_summary(24) rows including model gpt-4o; $(got) -> $r"
    fi
    req "$1/alerts/recent?limit=5"
    r=$(pyj "$work/body" 'isinstance(d, list) and 0 < len(d) <= 5 and any(x.get("rule") == "span cost over 10 USD" and x.get("trace_id") == "gw-alert" for x in d)')
    if [ "$code" = 200 ] && [ "$r" = true ]; then ok "$2GET /alerts/recent?limit=5: a JSON array with the fired alert"; else
        not_ok "$2GET /alerts/recent?limit=5: expected 200 and a JSON array (at most 5) of llmtrace.recent_alerts(5) rows with the 'span cost over 10 USD' alert of trace gw-alert; $(got) -> $r"
    fi
}
reader_checks "$G1" ""
req "$G1/alerts/recent?limit=0"
r=$(pyj "$work/body" 'd == []')
if [ "$code" = 200 ] && [ "$r" = true ]; then ok "GET /alerts/recent?limit=0: []"; else not_ok "GET /alerts/recent?limit=0: expected 200 []; $(got)"; fi
req "$G1/metrics/summary?hours=abc"
if [ "$code" = 400 ]; then ok "GET /metrics/summary?hours=abc: 400"; else not_ok "GET /metrics/summary?hours=abc: expected 400; $(got)"; fi
req "$G1/no/such/path"
if [ "$code" = 404 ]; then ok "GET /no/such/path: 404"; else not_ok "GET /no/such/path: expected 404; $(got)"; fi

# --- the OpenTelemetry JS exporters and the Vercel AI SDK ------------------------------------
js_ready=0
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    not_ok "JS checks: node and npm are not available (test/gateway/js skipped)"
elif [ -f "$here/js/node_modules/.package-lock.json" ] &&
    [ ! "$here/js/package-lock.json" -nt "$here/js/node_modules/.package-lock.json" ]; then
    js_ready=1
elif (cd "$here/js" && npm ci --no-audit --no-fund --loglevel=error) >"$work/npm.err" 2>&1; then
    js_ready=1
else
    not_ok "JS checks: npm ci in test/gateway/js: $(tail -5 "$work/npm.err" | tr '\n' ' ')"
fi
js_case_checks() {  # SUMMARY-JSON PROJECT
    local case_ n calls tin tout traces spanids okflag exports expected gotv
    while IFS='|' read -r case_ n calls tin tout traces spanids okflag exports; do
        if [ "$okflag" = True ]; then ok "JS $case_: every export succeeded ($exports)"; else
            not_ok "JS $case_: the exporter's export calls: expected every result SUCCESS; got $exports"
        fi
        expected="$n|$calls|$tin|$tout|$2|$spanids"
        gotv=$(q "SELECT count(*) || '|' ||
                         count(*) FILTER (WHERE cost_status = 'priced' AND model = 'gpt-4o' AND provider = 'openai'
                                          AND cost_usd = llmtrace.cost(provider, model, input_tokens, output_tokens,
                                                                       coalesce(cached_input_tokens, 0), coalesce(cache_write_tokens, 0))) || '|' ||
                         coalesce(sum(input_tokens), 0) || '|' || coalesce(sum(output_tokens), 0) || '|' ||
                         coalesce(string_agg(DISTINCT coalesce(project, '<null>'), ','), '') || '|' ||
                         coalesce(string_agg(span_id, ',' ORDER BY span_id), '')
                  FROM llmtrace.spans WHERE trace_id IN ($traces)")
        if [ "$gotv" = "$expected" ]; then
            ok "JS $case_: $n spans stored under $2, $calls priced gpt-4o calls, tokens $tin/$tout as the SDK recorded"
        else
            not_ok "JS $case_: stored spans of traces $traces: expected spans|priced gpt-4o calls|input|output|project|span ids = $expected; got $gotv (cost_status: $(q "SELECT string_agg(name || ':' || cost_status, ', ') FROM llmtrace.spans WHERE trace_id IN ($traces)"))"
        fi
    done < <(python3 -c 'import json, sys
for c in json.load(open(sys.argv[1])):
    ids = ",".join(sorted(s["spanId"] for s in c["spans"]))
    traces = ",".join("\x27%s\x27" % t for t in c["traceIds"]) or "\x27-\x27"
    exports = ",".join("%d spans: %s" % (r["spans"], "SUCCESS" if r["code"] == 0 else "FAILED %s" % r.get("error")) for r in c["exports"]) or "none"
    if c.get("flushError"): exports += "; forceFlush: " + c["flushError"]
    print("|".join(str(x) for x in (c["case"], c["spanCount"], c["modelCalls"], c["inputTokens"], c["outputTokens"], traces, ids, c["ok"], exports)))' "$1")
}
if [ "$js_ready" = 1 ]; then
    (cd "$here/js" && timeout 120 node export.mjs --url "$G1" --token t-acme --spans 10 --only proto,json,proto-gzip) \
        >"$work/js-otel.json" 2>"$work/js-otel.err"
    rc=$?
    if [ -s "$work/js-otel.json" ]; then js_case_checks "$work/js-otel.json" acme; else
        not_ok "JS OTLP exporters: node export.mjs printed no summary (exit $rc): $(tail -5 "$work/js-otel.err" | tr '\n' ' ')"
    fi
    (cd "$here/js" && timeout 120 node export.mjs --url "$G1" --token t-globex --only ai-sdk) \
        >"$work/js-ai.json" 2>"$work/js-ai.err"
    rc=$?
    if [ -s "$work/js-ai.json" ]; then
        js_case_checks "$work/js-ai.json" globex
        r=$(pyj "$work/js-ai.json" '"%s spans, usage %s/%s" % (d[0]["spanCount"], d[0]["usage"]["inputTokens"], d[0]["usage"]["outputTokens"])')
        if [ "$r" = "3 spans, usage 100/20" ]; then ok "JS ai-sdk: generateText made 3 spans with usage 100/20"; else
            not_ok "JS ai-sdk: generateText with the mock model: expected 3 spans (invoke_agent, step, chat) and usage 100/20; got $r"
        fi
    else
        not_ok "JS ai-sdk: node export.mjs printed no summary (exit $rc): $(tail -5 "$work/js-ai.err" | tr '\n' ' ')"
    fi
fi

# --- a reader-only role through --read-dsn ---------------------------------------------------
P4=$(free_port "$HTTP_PORT")
if start_gw readdsn "$P4" --dsn "$DSN_WRITER" --read-dsn "$DSN_READER" --token t-acme=acme; then
    G4_pid=$gw_pid
    reader_checks "http://127.0.0.1:$P4" "--read-dsn (reader-only role): "
    tr=$(hexid readdsn)
    otlp gen --format pb --trace "$tr" --spans 1 >"$work/readdsn.pb"
    req "http://127.0.0.1:$P4/v1/traces" "${AUTH_ACME[@]}" "${PB[@]}" --data-binary @"$work/readdsn.pb"
    if [ "$code" = 200 ] && [ "$(stored "'$tr'")" = 1 ]; then ok "--dsn of a writer-only role: POST /v1/traces stored"; else
        not_ok "gateway with --dsn of a role only in llmtrace_writer: POST /v1/traces: expected 200 and 1 span; $(got), stored $(stored "'$tr'")"
    fi
    stop_pid "$G4_pid"
else
    not_ok "the gateway starts with --dsn (writer role) and --read-dsn (reader role) (stderr: $(tail -3 "$work/readdsn.err" | tr '\n' ' '))"
fi

# --- --config: tokens, the Vercel secret and sizes from a file ------------------------------
cat >"$work/gateway.conf" <<CONF
# test/gateway/run.sh
token = t-cfg=cfgproj
vercel-secret = cfg-vercel-secret
batch-bytes = 1000
queue-bytes = 4000
CONF
has_vp=0
"$BIN" --help 2>&1 | grep -q -- '--vercel-project' && { has_vp=1; echo 'vercel-project = vercel' >>"$work/gateway.conf"; }
P5=$(free_port "$HTTP_PORT")
if start_gw config "$P5" --dsn "$DSN" --config "$work/gateway.conf"; then
    G5=http://127.0.0.1:$P5
    G5_pid=$gw_pid
    tr=$(hexid config)
    otlp gen --format pb --trace "$tr" --spans 10 >"$work/config.pb"
    req "$G5/v1/traces" -H 'Authorization: Bearer t-cfg' "${PB[@]}" --data-binary @"$work/config.pb"
    if [ "$code" = 200 ] && [ "$(stored "'$tr'")" = 10 ] && [ "$(projects "'$tr'")" = cfgproj ]; then
        ok "--config: a token from the file; a $(stat -c %s "$work/config.pb")-byte request over batch-bytes 1000 is stored, under cfgproj"
    else
        not_ok "--config (token = t-cfg=cfgproj, batch-bytes = 1000): POST /v1/traces of 10 spans ($(stat -c %s "$work/config.pb") bytes): expected 200 and 10 spans under cfgproj; $(got), stored $(stored "'$tr'") under '$(projects "'$tr'")'"
    fi
    tv2=$(hexid vercel-config)
    { vercel_log "$tv2" 1; } >"$work/vercel-config.ndjson"
    req "$G5/webhook/vercel" -H "x-vercel-signature: $(otlp hmac-sha1 cfg-vercel-secret "$work/vercel-config.ndjson")" \
        -H 'Content-Type: application/x-ndjson' --data-binary @"$work/vercel-config.ndjson"
    want=$([ "$has_vp" = 1 ] && echo vercel || echo '<null>')
    if [ "$code" = 200 ] && [ "$(stored "'$tv2'")" = 1 ] && [ "$(projects "'$tv2'")" = "$want" ]; then
        ok "--config: vercel-secret from the file$([ "$has_vp" = 1 ] && echo ", vercel-project = vercel: stored under vercel")"
    else
        not_ok "--config (vercel-secret$([ "$has_vp" = 1 ] && echo ", vercel-project = vercel")): POST /webhook/vercel of 1 signed record: expected 200 and 1 span under '$want'; $(got), stored $(stored "'$tv2'") under '$(projects "'$tv2'")'"
    fi
    otlp retrace "$FX/batch.pb" config-big >"$work/config-big.pb"
    req "$G5/v1/traces" -H 'Authorization: Bearer t-cfg' "${PB[@]}" --data-binary @"$work/config-big.pb"
    note "a $(stat -c %s "$work/config-big.pb")-byte request to a gateway with --queue-bytes 4000: $code $(header Retry-After | sed 's/^./Retry-After &/') $(body)"
    stop_pid "$G5_pid"
else
    not_ok "the gateway starts with --config (stderr: $(tail -3 "$work/config.err" | tr '\n' ' '))"
fi

# --- a full queue ----------------------------------------------------------------------------
# The committer is held up by a lock on llmtrace.spans for 3 s; --batch-bytes 1000 closes each
# batch after one request (~600 bytes), so 1 request waits in the batch, 2 in the queue, and the
# rest of 50 concurrent requests find the queue full.
P2=$(free_port "$HTTP_PORT")
if start_gw queue "$P2" --dsn "$DSN" --token t-acme=acme --queue-requests 2 --batch-ms 500 --batch-bytes 1000 \
    --retry-after 2; then
    G2_pid=$gw_pid
    otlp gen-many "$work/queue" 50 queue --spans 2
    "${PSQL[@]}" -c "BEGIN" -c "LOCK TABLE llmtrace.spans IN EXCLUSIVE MODE" -c "SELECT pg_sleep(3)" -c "COMMIT" \
        >/dev/null 2>"$work/lock.err" &
    lock_pid=$!
    bg_pids+=("$lock_pid")
    for i in $(seq 1 50); do
        [ "$(q "SELECT count(*) FROM pg_locks WHERE relation = 'llmtrace.spans'::regclass AND mode = 'ExclusiveLock' AND granted")" = 1 ] && break
        sleep 0.1
    done
    qpids=()
    for i in $(seq 1 50); do
        if [ -f "$work/queue/$i.pb" ]; then f=$work/queue/$i.pb ct=application/x-protobuf; else f=$work/queue/$i.json ct=application/json; fi
        curl -s -o /dev/null -D "$work/queue/$i.hdr" -w '%{http_code}' --max-time 30 "${AUTH_ACME[@]}" \
            -H "Content-Type: $ct" --data-binary @"$f" "http://127.0.0.1:$P2/v1/traces" >"$work/queue/$i.code" &
        qpids+=($!)
    done
    wait "${qpids[@]}"
    wait "$lock_pid"
    n200=0 nbusy=0 nbad=0 lost=0 noretry=0 bad="" ras=""
    for i in $(seq 1 50); do
        c=$(cat "$work/queue/$i.code")
        case $c in
        200)
            n200=$((n200 + 1))
            [ "$(stored "'$(cat "$work/queue/$i.trace")'")" = 2 ] || lost=$((lost + 1))
            ;;
        429 | 503)
            nbusy=$((nbusy + 1))
            ra=$(tr -d '\r' <"$work/queue/$i.hdr" | grep -i '^retry-after:' | sed -E 's/^[^:]*:[[:space:]]*//')
            [ "$ra" = 2 ] || { noretry=$((noretry + 1)); ras="$ras '$ra'"; }
            ;;
        *) nbad=$((nbad + 1)) bad="$bad $i:$c" ;;
        esac
    done
    note "queue full: $n200 x 200, $nbusy x 429/503 of 50 concurrent requests"
    if [ "$nbusy" -gt 0 ] && [ "$noretry" = 0 ] && [ "$nbad" = 0 ]; then
        ok "--queue-requests 2, commits held up: $nbusy of 50 concurrent requests answered 429/503 with Retry-After: 2, the rest 200"
    else
        not_ok "--queue-requests 2 --batch-bytes 1000 --retry-after 2, llmtrace.spans locked for 3 s: 50 concurrent POST /v1/traces: expected some 429/503, each with Retry-After: 2, the others 200; got $n200 x 200, $nbusy x 429/503 ($noretry without Retry-After: 2:${ras:- none}), others:${bad:- none}"
    fi
    if [ "$n200" -gt 0 ] && [ "$lost" = 0 ]; then ok "queue full: every request answered 200 is stored ($n200)"; else
        not_ok "queue full: every request answered 200 is stored: $lost of $n200 missing"
    fi
    exits_cleanly "queue gateway" "$G2_pid"
else
    not_ok "the gateway starts with --queue-requests 2 --batch-ms 500 --batch-bytes 1000 (stderr: $(tail -3 "$work/queue.err" | tr '\n' ' '))"
fi

# --- SIGTERM with requests in flight ---------------------------------------------------------
P3=$(free_port "$HTTP_PORT")
if start_gw sigterm "$P3" --dsn "$DSN" --token t-acme=acme --batch-ms 1500; then
    G3_pid=$gw_pid
    otlp gen-many "$work/term" 4 term --spans 2
    for i in 5 6; do
        otlp retrace "$FX/batch.json" "term-slow-$i" >"$work/term/$i.json"
        traces_sql "$FX/batch.json" "term-slow-$i" >"$work/term/$i.traces"
    done
    tpids=()
    for i in 1 2 3 4 5 6; do
        if [ -f "$work/term/$i.pb" ]; then f=$work/term/$i.pb ct=application/x-protobuf; else f=$work/term/$i.json ct=application/json; fi
        slow=()
        [ "$i" -ge 5 ] && slow=(--limit-rate 8k)  # a 22 KB body still arriving ~3 s after the SIGTERM
        curl -s -o /dev/null -w '%{http_code}' --max-time 30 "${slow[@]}" "${AUTH_ACME[@]}" -H "Content-Type: $ct" \
            --data-binary @"$f" "http://127.0.0.1:$P3/v1/traces" >"$work/term/$i.code" &
        tpids+=($!)
    done
    sleep 0.6
    kill -TERM "$G3_pid"
    sleep 0.3
    after=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$P3/health")
    wait "${tpids[@]}"
    stop_pid "$G3_pid" 30 nosignal
    rc=$?
    codes="" all=1
    for i in 1 2 3 4; do
        c=$(cat "$work/term/$i.code")
        codes="$codes $c"
        [ "$c" = 200 ] && [ "$(stored "'$(cat "$work/term/$i.trace")'")" = 2 ] || all=0
    done
    if [ "$all" = 1 ]; then ok "SIGTERM with 4 requests queued (--batch-ms 1500): all answered 200 and stored"; else
        not_ok "SIGTERM 0.6 s after 4 POST /v1/traces (--batch-ms 1500): expected 200 and stored for each; got codes$codes, stored: $(for i in 1 2 3 4; do stored "'$(cat "$work/term/$i.trace")'"; done | tr '\n' ' ')"
    fi
    codes="" all=1
    for i in 5 6; do
        c=$(cat "$work/term/$i.code")
        codes="$codes $c"
        [ "$c" = 200 ] && [ "$(stored "$(cat "$work/term/$i.traces")")" = 50 ] || all=0
    done
    if [ "$all" = 1 ]; then ok "SIGTERM while 2 request bodies are still arriving: both answered 200 and stored"; else
        not_ok "SIGTERM while 2 bodies of 22 KB were still being sent (curl --limit-rate 8k): expected 200 and 50 spans stored each; got codes$codes, stored: $(for i in 5 6; do stored "$(cat "$work/term/$i.traces")"; done | tr '\n' ' ')"
    fi
    note "a new connection 0.3 s after the SIGTERM: ${after} (000: refused)"
    if [ "$rc" = 0 ]; then ok "SIGTERM with requests in flight: exit 0"; else not_ok "SIGTERM with requests in flight: expected exit 0; got $rc (124: still running after 30 s)"; fi
else
    not_ok "the gateway starts with --batch-ms 1500 (stderr: $(tail -3 "$work/sigterm.err" | tr '\n' ' '))"
fi

# --- the database restarts under load --------------------------------------------------------
LOAD_N=200
LOAD_W=4
otlp gen-many "$work/load" "$LOAD_N" load --spans 2
load_worker() {  # K: requests K, K+W, ...; "I CODE" lines in $work/load/wK.log
    local k=$1 i f ct c
    for ((i = k; i <= LOAD_N; i += LOAD_W)); do
        if [ -f "$work/load/$i.pb" ]; then f=$work/load/$i.pb ct=application/x-protobuf; else f=$work/load/$i.json ct=application/json; fi
        c=$(curl -s -o /dev/null -D "$work/load/$i.hdr" -w '%{http_code}' --max-time 30 "${AUTH_ACME[@]}" \
            -H "Content-Type: $ct" --data-binary @"$f" "$G1/v1/traces")
        echo "$i ${c:-000}" >>"$work/load/w$k.log"
        sleep 0.05
    done
}
lpids=()
for k in $(seq 1 "$LOAD_W"); do
    load_worker "$k" &
    lpids+=($!)
done
bg_pids+=("${lpids[@]}")
sleep 1
"$root/scripts/pgcluster.sh" stop "$work/pg" >/dev/null
down=""
for i in $(seq 1 30); do
    req "$G1/health"
    if [ "$code" = 503 ] && [ "$(pyj "$work/body" 'd["database"]')" = unavailable ]; then down=yes; break; fi
    sleep 0.1
done
if [ "$down" = yes ]; then ok "GET /health while the database is down: 503, \"database\": \"unavailable\""; else
    not_ok "GET /health while the database is down: expected 503 with \"database\":\"unavailable\"; $(got)"
fi
sleep 1
"$root/scripts/pgcluster.sh" start "$work/pg" "$PORT" >/dev/null || not_ok "the cluster starts again"
wait "${lpids[@]}"
cat "$work"/load/w*.log | sort -n >"$work/load/all.log"
n200=0 nbusy=0 n503=0 nbad=0 lost=0 bad="" noretry=0
while read -r i c; do
    case $c in
    200)
        n200=$((n200 + 1))
        [ "$(stored "'$(cat "$work/load/$i.trace")'")" = 2 ] || lost=$((lost + 1))
        ;;
    429 | 502 | 503 | 504)
        nbusy=$((nbusy + 1))
        [ "$c" = 503 ] && n503=$((n503 + 1))
        if [ "$c" = 429 ] || [ "$c" = 503 ]; then
            tr -d '\r' <"$work/load/$i.hdr" | grep -qiE '^retry-after: *[0-9]+$' || noretry=$((noretry + 1))
        fi
        ;;
    *) nbad=$((nbad + 1)) bad="$bad $i:$c" ;;
    esac
done <"$work/load/all.log"
answered=$(wc -l <"$work/load/all.log")
note "database restart under load: $answered requests: $n200 x 200, $n503 x 503, $((nbusy - n503)) x 429/502/504, ${nbad} other"
if [ "$answered" = "$LOAD_N" ] && [ "$nbad" = 0 ]; then
    ok "database restart under load: every one of $LOAD_N requests answered 200 or 429/502/503/504 ($n503 x 503)"
else
    not_ok "database restart under load: expected each of $LOAD_N answers to be 200, 429, 502, 503 or 504; $answered answered, others:$bad"
fi
if [ "$lost" = 0 ] && [ "$n200" -gt 0 ]; then ok "database restart under load: every request answered 200 is stored ($n200)"; else
    not_ok "database restart under load: every request answered 200 is stored: $lost of $n200 missing"
fi
if [ "$noretry" = 0 ]; then ok "database restart under load: every 429/503 has a Retry-After"; else
    not_ok "database restart under load: $noretry answers 429/503 without a numeric Retry-After"
fi
if alive "$G1_pid"; then ok "the gateway survived the restart"; else not_ok "the gateway survived the restart: the process is gone"; fi
healthy=""
for i in $(seq 1 100); do
    req "$G1/health"
    if [ "$code" = 200 ] && [ "$(pyj "$work/body" 'd["database"]')" = ok ]; then healthy=yes; break; fi
    sleep 0.2
done
if [ "$healthy" = yes ]; then ok "GET /health after the restart: 200 (after $((i * 2 / 10)) s)"; else
    not_ok "GET /health after the restart: expected 200 with \"database\":\"ok\" within 20 s; $(got)"
fi
tr=$(hexid after-restart)
otlp gen --format pb --trace "$tr" --spans 2 >"$work/after.pb"
req "$G1/v1/traces" "${AUTH_ACME[@]}" "${PB[@]}" --data-binary @"$work/after.pb"
if [ "$code" = 200 ] && [ "$(stored "'$tr'")" = 2 ]; then ok "POST /v1/traces after the restart: 200, stored"; else
    not_ok "POST /v1/traces after the restart: expected 200 and 2 spans; $(got), stored $(stored "'$tr'")"
fi
req "$G1/metrics"
if grep -E '^llmtrace_gateway_requests_total\{' "$work/body" | grep 'path="/v1/traces"' | grep -qE 'status="(503|429)"'; then
    ok "GET /metrics counts the 429/503 answers"
elif [ "$nbusy" = 0 ]; then
    note "no 429/503 during the restart: their count in /metrics not checked"
else
    not_ok "GET /metrics: llmtrace_gateway_requests_total{path=\"/v1/traces\",status=\"503\" or \"429\"} after $nbusy such answers: not there"
fi

exits_cleanly "the main gateway" "$G1_pid" 30
if grep -qiE 'assert|sanitizer|segmentation|terminate called' "$work"/*.err; then
    not_ok "the gateways' stderr has no crash or sanitizer report: $(grep -hiE 'assert|sanitizer|segmentation|terminate called' "$work"/*.err | head -3 | tr '\n' ' ')"
fi
finish
