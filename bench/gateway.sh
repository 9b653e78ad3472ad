#!/usr/bin/env bash
# llmtrace-gateway benchmark (loopback): spans/s through the gateway with OTLP protobuf from
# concurrent senders against a direct COPY of the same spans as OTLP/JSON, the two modes
# interleaved round by round on a freshly emptied state; the acknowledgement latency
# percentiles of the gateway; then the gateway's memory under a sender that never stops
# while the database stalls. Starts its own throwaway cluster and its own gateways. See
# bench/README.md.
#
#   bash bench/gateway.sh                                    # the default run (~1.5 min on 2 cores)
#   N=300 ROUNDS=2 MEMORY_SECONDS=12 bash bench/gateway.sh   # a quick one (~20 s)
#
# Exit status 0 when both requirements pass and every check holds; 1 when the throughput
# ratio or the memory bound fails, or a check fails (a span count other than expected, rows
# in llmtrace.ingest_errors, the two modes storing different rows, a status other than
# 200/429/503, a sender error, no 429 during a stall, acknowledged spans not stored).
#
# Environment:
#   N                   requests (copies of the fixture with new trace ids)           (2000)
#   FIXTURE             fixture of test/data/otlp-proto (.pb and .json)               (batch: 50 spans)
#   ROUNDS              rounds; each runs the COPY and the gateway once, order rotating (5)
#   SENDERS             concurrent senders (threads, one keep-alive connection each)  (4)
#   TARGET              required throughput ratio gateway/COPY                        (0.8)
#   GATEWAY_OPTS        extra options of the throughput gateway (e.g. "--batch-ms 2")  ()
#   MEMORY_SECONDS      length of the never-stopping sender; 0 skips the memory phase (30)
#   STALL_SECONDS       length of each of the two lock stalls (at most MEMORY_SECONDS/4) (5)
#   MEMORY_CONNECTIONS  concurrent requests of the never-stopping sender              (192)
#   MEMORY_QUEUE        --queue-requests of the memory phase's gateway                (64)
#   MEMORY_THREADS      --threads of the memory phase's gateway                       (256)
#   MEMORY_LIMIT_MB     bound on the gateway's VmRSS during the memory phase          (256)
#   SEED                seed of the new trace ids                                     (0)
#   PORT                port of the throwaway cluster                                 (5493)
#   GATEWAY_PORT        port of the gateway on 127.0.0.1 (the memory phase's: +1)     (18493)
#   GATEWAY             the gateway binary            ($(pg_config --bindir)/llmtrace-gateway)
#   KEEP_WORKDIR        1: keep the temporary directory (cluster, workload, logs)     (0)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)

N=${N:-2000}
FIXTURE=${FIXTURE:-batch}
ROUNDS=${ROUNDS:-5}
SENDERS=${SENDERS:-4}
TARGET=${TARGET:-0.8}
GATEWAY_OPTS=${GATEWAY_OPTS:-}
MEMORY_SECONDS=${MEMORY_SECONDS:-30}
STALL_SECONDS=${STALL_SECONDS:-5}
MEMORY_CONNECTIONS=${MEMORY_CONNECTIONS:-192}
MEMORY_QUEUE=${MEMORY_QUEUE:-64}
MEMORY_THREADS=${MEMORY_THREADS:-256}
MEMORY_LIMIT_MB=${MEMORY_LIMIT_MB:-256}
SEED=${SEED:-0}
PORT=${PORT:-5493}
GATEWAY_PORT=${GATEWAY_PORT:-18493}
GATEWAY=${GATEWAY:-$(pg_config --bindir)/llmtrace-gateway}
KEEP_WORKDIR=${KEEP_WORKDIR:-0}

[ -x "$GATEWAY" ] || { echo "no gateway binary at $GATEWAY (make install, or GATEWAY=...)" >&2; exit 2; }
FIX=$ROOT/test/data/otlp-proto/$FIXTURE
{ [ -f "$FIX.pb" ] && [ -f "$FIX.json" ]; } || { echo "no fixture $FIX.pb / .json" >&2; exit 2; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/llmtrace-gateway-bench.XXXXXX")
chmod 755 "$WORK"          # the cluster runs as another OS user when we are root
CLUSTER=$WORK/cluster
LOG=$WORK/bench.log
GW_PID=
SAMPLER_PID=
QUEUE_SAMPLER_PID=
FLOOD_PID=

stop_gateway() { # answers what is in flight (SIGTERM), then exits 0
    if [ -n "$GW_PID" ]; then
        kill -TERM "$GW_PID" 2>/dev/null || true
        wait "$GW_PID" 2>/dev/null || GW_RC=$?
        GW_PID=
    fi
}
cleanup() {
    local rc=$?
    for p in "$SAMPLER_PID" "$QUEUE_SAMPLER_PID" "$FLOOD_PID"; do
        if [ -n "$p" ]; then kill "$p" 2>/dev/null || true; fi
    done
    stop_gateway
    finish_run "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

export PGHOST=$CLUSTER/socket PGPORT=$PORT PGUSER=postgres PGDATABASE=postgres
unset PGOPTIONS PGAPPNAME
PSQL=(psql -X -q -v ON_ERROR_STOP=1)
LOAD=(python3 "$HERE/gateway_load.py")
ROLE=bench_gw
TOKEN=bench-token
PROJECT=bench
DSN="host=$CLUSTER/socket port=$PORT user=$ROLE dbname=postgres"

say() { printf '%s\n' "$*"; }
# q, now, elapsed, median
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"
calc() { awk "BEGIN { $1 }"; }
# TcpExtListenOverflows (system-wide): connections dropped because a listen queue was full.
listen_overflows() {
    awk '$1 == "TcpExt:" { if (!h) { for (i = 2; i <= NF; i++) k[i] = $i; h = 1 }
                           else for (i = 2; i <= NF; i++) if (k[i] == "ListenOverflows") print $i }' /proc/net/netstat
}
list() { paste -sd' ' -; }
CHECKS_FAILED=0
check_failed() { say "   CHECK FAILED: $*"; CHECKS_FAILED=$((CHECKS_FAILED + 1)); }
# kv FILE KEY: the value of a key=value line of gateway_load.py's output
kv() { sed -n "s/^$2=//p" "$1" | head -n 1; }

# A fingerprint of the installed extension and gateway: a colleague's `make install`
# during the run would make the figures mix two builds.
INSTALLED_FILES=("$(pg_config --pkglibdir)/llmtrace.so" "$(pg_config --sharedir)"/extension/llmtrace* "$GATEWAY")
installed() { cat "${INSTALLED_FILES[@]}" 2>/dev/null | md5sum | cut -c1-12; }
INSTALLED_AT_START=$(installed)

say "== cluster on port $PORT in $WORK"
"$ROOT/scripts/pgcluster.sh" start "$CLUSTER" "$PORT" >>"$LOG"
"${PSQL[@]}" -c 'CREATE EXTENSION llmtrace' >>"$LOG"
"${PSQL[@]}" >>"$LOG" <<SQL
CREATE ROLE $ROLE LOGIN;
GRANT llmtrace_writer TO $ROLE;
SQL
say "llmtrace $(q "SELECT extversion FROM pg_extension WHERE extname = 'llmtrace'") (installed library of $(date -u -r "${INSTALLED_FILES[0]}" '+%Y-%m-%d %H:%M UTC'), gateway of $(date -u -r "$GATEWAY" '+%Y-%m-%d %H:%M UTC'), fingerprint $INSTALLED_AT_START), PostgreSQL $(q 'SHOW server_version'), $(nproc) CPUs"

# ---------------------------------------------------------------------------
# Workload: N copies of the fixture with new trace ids, as protobuf bodies and as
# OTLP/JSON lines; gateway_load.py decodes every copy back and checks that both
# carry the same span keys.
# ---------------------------------------------------------------------------
say "== workload: $N copies of test/data/otlp-proto/$FIXTURE with new trace ids"
t0=$(now)
"${LOAD[@]}" prepare --fixture "$FIX" --requests "$N" --seed "$SEED" \
    --out-pb "$WORK/requests.pb" --out-json "$WORK/requests.json" >"$WORK/prepare.out"
SPANS=$(kv "$WORK/prepare.out" spans)
PER_REQUEST=$(kv "$WORK/prepare.out" spans_per_request)
say "   $N requests, $SPANS spans ($PER_REQUEST per request): protobuf $(calc "printf \"%.1f\", $(kv "$WORK/prepare.out" pb_bytes) / 1e6") MB, OTLP/JSON $(calc "printf \"%.1f\", $(kv "$WORK/prepare.out" json_bytes) / 1e6") MB; every copy decoded back with the same span keys on both sides ($(elapsed "$t0" "$(now)") s)"
# The fixture's days get their partitions, as a deployment's would.
q "SELECT llmtrace.ensure_partitions('$(kv "$WORK/prepare.out" first_day)'::date, '$(kv "$WORK/prepare.out" last_day)'::date + 1)" >>"$LOG"

# Empties what an ingest writes (as bench/privacy.sh), so every round starts from the
# same state.
RESET_TABLES=$(q "SELECT string_agg(c.oid::regclass::text, ', ' ORDER BY c.relname) FROM pg_class c
    WHERE c.relnamespace = 'llmtrace'::regnamespace AND c.relkind IN ('r', 'p') AND NOT c.relispartition
      AND c.relname IN ('spans', 'ingest_errors', 'rollup_deltas', 'daily_deltas', 'hourly_rollups',
                        'daily_rollups', 'daily_view_changes', 'alerts', 'alert_state', 'alert_pending',
                        'alert_window_deltas', 'alert_window_minutes', 'sampled_spans')")
say "   each run starts from empty: $RESET_TABLES"
reset_all() {
    q "TRUNCATE $RESET_TABLES" >>"$LOG"
    q 'CHECKPOINT' >>"$LOG"
}
# Every column but ingested_at of every stored span, hashed in key order.
FINGERPRINT_SQL="SELECT md5(string_agg(md5((to_jsonb(s) - 'ingested_at')::text), '' ORDER BY trace_id, span_id, start_time)) FROM llmtrace.spans s"

# After each run: exactly the expected spans, nothing quarantined; the first run of each
# mode also stores its rows' fingerprint (compared between the modes at the end).
check_stored() { # mode round
    local n e
    n=$(q 'SELECT count(*) FROM llmtrace.spans')
    e=$(q 'SELECT count(*) FROM llmtrace.ingest_errors')
    [ "$n" = "$SPANS" ] || check_failed "$1, round $2: $n spans stored, $SPANS expected"
    if [ "$e" != 0 ]; then
        check_failed "$1, round $2: $e rows in llmtrace.ingest_errors"
        "${PSQL[@]}" -c "SELECT error, sqlstate, location, left(payload, 160) AS payload FROM llmtrace.ingest_errors ORDER BY id LIMIT 5"
    fi
    if [ ! -f "$WORK/fingerprint.$1" ]; then
        q "$FINGERPRINT_SQL" >"$WORK/fingerprint.$1"
        q "SELECT string_agg(DISTINCT project, ',') || ' / ' || string_agg(DISTINCT source_format, ',') || ' / ' ||
                  (SELECT string_agg(cost_status || ' ' || c, ', ') FROM (SELECT cost_status, count(*) c FROM llmtrace.spans GROUP BY 1) x)
           FROM llmtrace.spans" >"$WORK/stored.$1"
        "${PSQL[@]}" -At -c "SELECT trace_id, span_id, start_time, (to_jsonb(s) - 'ingested_at')::text FROM llmtrace.spans s
                             ORDER BY trace_id, span_id, start_time LIMIT 3" >"$WORK/sample.$1"
    fi
}

# ---------------------------------------------------------------------------
# The gateway of the throughput rounds, started once for the run.
# ---------------------------------------------------------------------------
start_gateway() { # port log options...
    local port=$1 log=$2 i
    shift 2
    # shellcheck disable=SC2086 # GATEWAY_OPTS is a list of options
    "$GATEWAY" --listen "127.0.0.1:$port" --dsn "$DSN" --token "$TOKEN=$PROJECT" "$@" 2>"$log" &
    GW_PID=$!
    for ((i = 0; i < 100; i++)); do
        if curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$port/health"; then return 0; fi
        kill -0 "$GW_PID" 2>/dev/null || { say "   the gateway exited: $(tail -n 3 "$log")"; exit 1; }
        sleep 0.1
    done
    say "   the gateway does not answer on 127.0.0.1:$port: $(tail -n 3 "$log")"
    exit 1
}
if curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$GATEWAY_PORT/"; then
    say "port $GATEWAY_PORT is taken: GATEWAY_PORT=..."; exit 1
fi
URL=http://127.0.0.1:$GATEWAY_PORT
# shellcheck disable=SC2086
start_gateway "$GATEWAY_PORT" "$WORK/gateway.log" $GATEWAY_OPTS
say "== gateway on $URL (pid $GW_PID): default options${GATEWAY_OPTS:+ and $GATEWAY_OPTS}; $SENDERS senders"

# How fast the senders alone can go: the same bodies POSTed to a path the gateway answers
# with 404 after reading the body (no database). The gateway's figures mean something only
# well below this.
"${LOAD[@]}" send --url "$URL" --token "$TOKEN" --requests "$WORK/requests.pb" --senders "$SENDERS" \
    --path /bench/no-such-path --quickack >"$WORK/ceiling.out"
CEILING=$(kv "$WORK/ceiling.out" requests_per_s)
say "   senders' ceiling (404 path, no database): $CEILING requests/s = $(calc "printf \"%.0f\", $CEILING * $PER_REQUEST") spans/s, p99 $(kv "$WORK/ceiling.out" p99_ms) ms, sender CPU $(kv "$WORK/ceiling.out" sender_cpu_s) s"
"${LOAD[@]}" metrics --url "$URL" >"$WORK/metrics.before"

run_copy() { # round
    local t0 t1
    reset_all
    t0=$(now)
    if ! PGUSER=$ROLE "${PSQL[@]}" >>"$LOG" 2>"$WORK/copy.err" <<SQL
SET llmtrace.project = '$PROJECT';
\\copy llmtrace.ingest (payload) FROM '$WORK/requests.json'
SQL
    then
        say "   COPY FAILED: $(head -n 3 "$WORK/copy.err")"
        exit 1
    fi
    t1=$(now)
    LAST_SECS=$(elapsed "$t0" "$t1")
    echo "$LAST_SECS" >>"$WORK/time.copy"
    LAST_NOTE=
    check_stored copy "$1"
}
run_gateway() { # round
    local out=$WORK/send.$1.out
    reset_all
    "${LOAD[@]}" metrics --url "$URL" | sed -n 's/^llmtrace_gateway_spans_stored_total //p' >"$WORK/stored_before"
    "${LOAD[@]}" send --url "$URL" --token "$TOKEN" --requests "$WORK/requests.pb" --senders "$SENDERS" \
        --latencies "$WORK/latencies.$1" >"$out"
    LAST_SECS=$(kv "$out" elapsed_s)
    echo "$LAST_SECS" >>"$WORK/time.gateway"
    kv "$out" p50_ms >>"$WORK/p50"
    kv "$out" p99_ms >>"$WORK/p99"
    kv "$out" max_ms >>"$WORK/max"
    kv "$out" sender_cpu_s >>"$WORK/sender_cpu"
    kv "$out" connects >>"$WORK/connects"
    kv "$out" connect_max_ms >>"$WORK/connect_max"
    LAST_NOTE=" (p50 $(kv "$out" p50_ms) p99 $(kv "$out" p99_ms) max $(kv "$out" max_ms) ms"
    [ "$(kv "$out" status_429)$(kv "$out" status_503)" = 00 ] || LAST_NOTE+=", 429 x$(kv "$out" status_429), 503 x$(kv "$out" status_503)"
    LAST_NOTE+=")"
    [ "$(kv "$out" status_200)" = "$N" ] || check_failed "gateway, round $1: $(kv "$out" status_200) answers 200 for $N requests"
    [ "$(kv "$out" status_other)" = none ] || check_failed "gateway, round $1: answers other than 200/429/503: $(kv "$out" status_other)"
    [ "$(kv "$out" errors)" = none ] || check_failed "gateway, round $1: sender errors: $(kv "$out" errors)"
    local after
    after=$("${LOAD[@]}" metrics --url "$URL" | sed -n 's/^llmtrace_gateway_spans_stored_total //p')
    [ $((after - $(cat "$WORK/stored_before"))) = "$SPANS" ] ||
        check_failed "gateway, round $1: the gateway counted $((after - $(cat "$WORK/stored_before"))) spans stored, $SPANS expected"
    check_stored gateway "$1"
}

say ""
say "== $ROUNDS rounds of: COPY of $N OTLP/JSON lines (one psql \\copy) and $N protobuf POSTs from $SENDERS senders (order rotating)"
MODE_LIST=(copy gateway)
OVERFLOWS_BEFORE=$(listen_overflows)
for ((r = 0; r < ROUNDS; r++)); do
    line="   round $((r + 1)):"
    for ((i = 0; i < 2; i++)); do
        m=${MODE_LIST[(i + r) % 2]}
        "run_$m" $((r + 1))
        line+=" $m ${LAST_SECS}s${LAST_NOTE}"
    done
    say "$line"
done
"${LOAD[@]}" metrics --url "$URL" >"$WORK/metrics.after"
stop_gateway
OVERFLOWS=$(($(listen_overflows) - OVERFLOWS_BEFORE))
if [ "$(installed)" != "$INSTALLED_AT_START" ]; then
    say "   WARNING: the installed extension or gateway changed during the run: the figures may mix two builds; rerun"
fi

say ""
say "What the first run of each mode stored (project / source_format / cost_status):"
say "   copy:    $SPANS expected, $(cat "$WORK/stored.copy")"
say "   gateway: $SPANS expected, $(cat "$WORK/stored.gateway")"
if [ "$(cat "$WORK/fingerprint.copy")" = "$(cat "$WORK/fingerprint.gateway")" ]; then
    say "   every column but ingested_at of all $SPANS rows equal in both modes (md5 $(cat "$WORK/fingerprint.copy"))"
else
    check_failed "the rows stored by the COPY and by the gateway differ (md5 $(cat "$WORK/fingerprint.copy") vs $(cat "$WORK/fingerprint.gateway")); the first rows of each:"
    diff "$WORK/sample.copy" "$WORK/sample.gateway" | cut -c1-400 | sed 's/^/      /' || true
fi

MED_COPY=$(median <"$WORK/time.copy")
MED_GW=$(median <"$WORK/time.gateway")
SPS_COPY=$(calc "printf \"%.0f\", $SPANS / $MED_COPY")
SPS_GW=$(calc "printf \"%.0f\", $SPANS / $MED_GW")
RATIO=$(calc "printf \"%.3f\", $MED_COPY / $MED_GW")
say ""
say "$SPANS spans ($N requests of $PER_REQUEST), median of $ROUNDS rounds"
printf '   %-9s %10s %12s %12s   %s\n' mode 'median s' spans/s requests/s 'all rounds (s)'
printf '   %-9s %10.3f %12s %12.0f   %s\n' copy "$MED_COPY" "$SPS_COPY" "$(calc "print $N / $MED_COPY")" "$(list <"$WORK/time.copy")"
printf '   %-9s %10.3f %12s %12.0f   %s\n' gateway "$MED_GW" "$SPS_GW" "$(calc "print $N / $MED_GW")" "$(list <"$WORK/time.gateway")"
say ""
say "   acknowledgement latency (first send of a request to its 200), median over rounds: p50 $(median <"$WORK/p50") ms, p99 $(median <"$WORK/p99") ms, max $(median <"$WORK/max") ms"
say "     per round p99 (ms): $(list <"$WORK/p99"); max (ms): $(list <"$WORK/max")"
say "   sender CPU per gateway round (s): $(list <"$WORK/sender_cpu"); connections opened per round: $(list <"$WORK/connects") (the gateway closes a keep-alive connection after 5 requests); longest connect() per round (ms): $(list <"$WORK/connect_max"); listen queue overflows during the rounds (system-wide): $OVERFLOWS"
# Batch sizes and commits of the timed rounds: /metrics after less /metrics before (the
# ceiling run's 404s committed nothing).
awk '
    FNR == NR { if ($1 ~ /^llmtrace_gateway_(batch_requests|commit_seconds)_(bucket|sum|count)/) before[$1] = $2; next }
    $1 ~ /^llmtrace_gateway_batch_requests_bucket/ {
        v = $2 - before[$1]; le = $1; sub(/.*le="/, "", le); sub(/".*/, "", le)
        line = line sprintf(" <=%s:%d", le, v - prev); prev = v }
    $1 == "llmtrace_gateway_batch_requests_sum" { bsum = $2 - before[$1] }
    $1 == "llmtrace_gateway_batch_requests_count" { bcount = $2 - before[$1] }
    $1 == "llmtrace_gateway_commit_seconds_sum" { csum = $2 - before[$1] }
    $1 == "llmtrace_gateway_commit_seconds_count" { ccount = $2 - before[$1] }
    $1 ~ /^llmtrace_gateway_requests_total/ { p = $1; sub(/.*path="/, "", p); sub(/",status="/, " ", p); sub(/"}/, "", p); st = st sprintf("%s%s: %d", st == "" ? " " : ", ", p, $2) }
    END {
        printf "   gateway batches (all %d rounds): %d, %.1f requests each on average, %.1f ms per commit on average\n",
               rounds, bcount, bcount ? bsum / bcount : 0, ccount ? 1000 * csum / ccount : 0
        printf "   batch-size histogram (requests per batch: batches):%s\n", line
        printf "   requests by path and status (whole run, ceiling included):%s\n", st
    }' rounds="$ROUNDS" "$WORK/metrics.before" "$WORK/metrics.after"
grep -q 'not committed' "$WORK/gateway.log" && check_failed "the gateway failed batches: $(grep -m 3 'not committed' "$WORK/gateway.log")"
[ "${GW_RC:-0}" = 0 ] || check_failed "the gateway exited with status $GW_RC on SIGTERM"

VERDICT=$(awk -v a="$RATIO" -v b="$TARGET" 'BEGIN { print (a + 0 >= b + 0) ? "PASS" : "FAIL" }')
say ""
THROUGHPUT_LINE="$VERDICT: gateway throughput (OTLP protobuf, $SENDERS senders) is $RATIO x a direct COPY of the same spans as JSON (median spans/s $SPS_GW vs $SPS_COPY; target >= $TARGET); ack latency p50 $(median <"$WORK/p50") ms, p99 $(median <"$WORK/p99") ms"
say "$THROUGHPUT_LINE"

# ---------------------------------------------------------------------------
# Memory: a sender that never stops (MEMORY_CONNECTIONS requests in flight at all times,
# 429/503 retried at once) against a gateway with a small queue, while a session holding
# an EXCLUSIVE lock on llmtrace.spans stalls every commit twice. The gateway's VmRSS is
# sampled every 0.5 s.
# ---------------------------------------------------------------------------
MEMORY_VERDICT=SKIPPED
if [ "$MEMORY_SECONDS" != 0 ]; then
    STALL=$(calc "s = $STALL_SECONDS; m = $MEMORY_SECONDS / 4; print (s < m ? s : m)")
    MURL=http://127.0.0.1:$((GATEWAY_PORT + 1))
    say ""
    say "== memory: $MEMORY_SECONDS s of a sender that never stops ($MEMORY_CONNECTIONS requests in flight, 429/503 retried at once), gateway --queue-requests $MEMORY_QUEUE --threads $MEMORY_THREADS; commits stalled twice for $STALL s (LOCK TABLE llmtrace.spans IN EXCLUSIVE MODE)"
    reset_all
    GW_RC=0
    start_gateway $((GATEWAY_PORT + 1)) "$WORK/gateway-memory.log" --queue-requests "$MEMORY_QUEUE" --threads "$MEMORY_THREADS"
    MPID=$GW_PID
    rss_line() { awk '/^VmRSS/ { r = $2 } /^RssAnon/ { a = $2 } /^Threads/ { t = $2 } END { print r, a, t }' "/proc/$MPID/status"; }
    read -r IDLE_RSS _ IDLE_THREADS < <(rss_line)
    OVERFLOWS_BEFORE=$(listen_overflows)
    # VmRSS, RssAnon and threads every 0.5 s; apart from it (a request may wait), the queue
    # gauges of /metrics and how long curl's connect() took.
    (
        while kill -0 "$MPID" 2>/dev/null; do
            echo "$(date +%s.%N) $(rss_line)"
            sleep 0.5
        done
    ) >"$WORK/rss.txt" 2>/dev/null &
    SAMPLER_PID=$!
    (
        while kill -0 "$MPID" 2>/dev/null; do
            curl -s --max-time 5 -w 'connect %{time_connect}\n' "$MURL/metrics" |
                awk '$1 == "llmtrace_gateway_queue_requests" { r = $2 } $1 == "llmtrace_gateway_queue_bytes" { b = $2 }
                     $1 == "connect" { c = $2 } END { if (r != "") print r, b, c }'
            sleep 0.5
        done
    ) >"$WORK/queue.txt" 2>/dev/null &
    QUEUE_SAMPLER_PID=$!
    "${LOAD[@]}" flood --url "$MURL" --token "$TOKEN" --fixture "$FIX.pb" --seconds "$MEMORY_SECONDS" \
        --connections "$MEMORY_CONNECTIONS" --timeline "$WORK/timeline.txt" --seed "$SEED" >"$WORK/flood.out" 2>"$WORK/flood.err" &
    FLOOD_PID=$!
    lock_stall() { # prints "start end" (epoch seconds, the server's clock)
        "${PSQL[@]}" -At <<SQL
BEGIN;
LOCK TABLE llmtrace.spans IN EXCLUSIVE MODE;
SELECT extract(epoch FROM clock_timestamp());
SELECT pg_sleep($STALL);
SELECT extract(epoch FROM clock_timestamp());
COMMIT;
SQL
    }
    sleep "$(calc "print $MEMORY_SECONDS / 6")"
    lock_stall | grep -v '^$' | paste -sd' ' >"$WORK/stalls.txt"
    sleep "$(calc "x = $MEMORY_SECONDS / 2 - $MEMORY_SECONDS / 6 - $STALL; print (x > 0 ? x : 0)")"
    lock_stall | grep -v '^$' | paste -sd' ' >>"$WORK/stalls.txt"
    FLOOD_RC=0
    wait "$FLOOD_PID" || FLOOD_RC=$?
    FLOOD_PID=
    sleep 0.6
    "${LOAD[@]}" metrics --url "$MURL" >"$WORK/metrics.memory"
    read -r END_RSS _ < <(rss_line)
    HWM=$(awk '/^VmHWM/ { print $2 }' "/proc/$MPID/status")
    kill "$SAMPLER_PID" "$QUEUE_SAMPLER_PID" 2>/dev/null || true
    wait "$SAMPLER_PID" "$QUEUE_SAMPLER_PID" 2>/dev/null || true
    SAMPLER_PID=''
    QUEUE_SAMPLER_PID=''
    OVERFLOWS=$(($(listen_overflows) - OVERFLOWS_BEFORE))
    stop_gateway
    MF=$WORK/flood.out
    [ "$FLOOD_RC" = 0 ] || check_failed "the never-stopping sender failed (status $FLOOD_RC): $(tail -n 3 "$WORK/flood.err")"
    ACKED=$(kv "$MF" acked)
    STORED=$(q 'SELECT count(*) FROM llmtrace.spans')
    read -r RSS_MIN RSS_MAX ANON_MAX THREADS_MAX SAMPLES < <(awk '
        NR == 1 || $2 < mn { mn = $2 } $2 > mx { mx = $2 } $3 > am { am = $3 } $4 > tm { tm = $4 }
        END { print mn, mx, am, tm, NR }' "$WORK/rss.txt")
    read -r QREQ_MAX QBYTES_MAX QCONNECT_MAX QSAMPLES < <(awk '
        $1 > qr { qr = $1 } $2 > qb { qb = $2 } $3 > c { c = $3 } END { print qr + 0, qb + 0, c * 1000, NR }' "$WORK/queue.txt")
    # 200s and 429s in the 0.5 s buckets wholly inside the stalls (a stall starts when the
    # LOCK is granted, and the batch committed just before it is acknowledged just after)
    # and in the others.
    read -r IN200 IN429 OUT200 OUT429 < <(awk '
        FNR == NR { s[NR] = $1; e[NR] = $2; n = NR; next }
        { inside = 0; for (i = 1; i <= n; i++) if ($1 >= s[i] && $1 + 0.5 <= e[i]) inside = 1
          if (inside) { a += $2; b += $3 } else { c += $2; d += $3 } }
        END { print a + 0, b + 0, c + 0, d + 0 }' "$WORK/stalls.txt" "$WORK/timeline.txt")
    say "   sender: $(kv "$MF" seconds) s, $ACKED requests acknowledged ($(calc "printf \"%.0f\", $ACKED * $PER_REQUEST / $(kv "$MF" seconds)") spans/s), 429 x$(kv "$MF" status_429), 503 x$(kv "$MF" status_503), other statuses: $(kv "$MF" status_other), connection errors: $(kv "$MF" connection_errors), connections opened $(kv "$MF" connects), sender CPU $(kv "$MF" sender_cpu_s) s"
    say "   during the stalls: 200 x$IN200, 429 x$IN429; outside them: 200 x$OUT200, 429 x$OUT429 (stalls at $(awk -v t0="$(head -n 1 "$WORK/timeline.txt" | cut -d' ' -f1)" '{ printf "%s%.1f-%.1f s", (NR > 1 ? ", " : ""), $1 - t0, $2 - t0 }' "$WORK/stalls.txt") of the sender's run)"
    say "   gateway VmRSS: idle $((IDLE_RSS / 1024)) MB; under the sender min $((RSS_MIN / 1024)) MB, max $((RSS_MAX / 1024)) MB ($SAMPLES samples), at the end $((END_RSS / 1024)) MB; VmHWM $((HWM / 1024)) MB; RssAnon max $((ANON_MAX / 1024)) MB; threads $IDLE_THREADS idle, $THREADS_MAX max"
    say "   queue gauges ($QSAMPLES samples of /metrics): at most $QREQ_MAX requests, $(calc "printf \"%.2f\", $QBYTES_MAX / 1e6") MB waiting for a commit; longest connect(): curl $(calc "printf \"%.0f\", $QCONNECT_MAX") ms, the sender $(kv "$MF" connect_max_ms) ms; listen queue overflows (system-wide): $OVERFLOWS"
    say "   RSS per 0.5 s (MB): $(awk '{ printf "%d ", $2 / 1024 }' "$WORK/rss.txt")"
    say "   stored: $STORED spans for $ACKED acknowledged requests x $PER_REQUEST = $((ACKED * PER_REQUEST))"
    [ "$STORED" = $((ACKED * PER_REQUEST)) ] || check_failed "memory phase: $STORED spans stored, $((ACKED * PER_REQUEST)) acknowledged"
    [ "$(kv "$MF" status_other)" = none ] || check_failed "memory phase: answers other than 200/429/503: $(kv "$MF" status_other)"
    [ "$(q 'SELECT count(*) FROM llmtrace.ingest_errors')" = 0 ] || check_failed "memory phase: rows in llmtrace.ingest_errors"
    grep -q 'not committed' "$WORK/gateway-memory.log" && check_failed "memory phase: the gateway failed batches: $(grep -m 3 'not committed' "$WORK/gateway-memory.log")"
    [ "${GW_RC:-0}" = 0 ] || check_failed "memory phase: the gateway exited with status $GW_RC on SIGTERM"
    [ "$(wc -l <"$WORK/stalls.txt")" = 2 ] || check_failed "memory phase: the lock stalls did not run: $(cat "$WORK/stalls.txt")"
    MEMORY_VERDICT=PASS
    why=
    if [ $((RSS_MAX / 1024)) -ge "$MEMORY_LIMIT_MB" ] || [ $((HWM / 1024)) -ge "$MEMORY_LIMIT_MB" ]; then
        MEMORY_VERDICT=FAIL; why+=" VmRSS reached $((RSS_MAX / 1024)) MB (VmHWM $((HWM / 1024)) MB);"
    fi
    if [ "$IN429" = 0 ]; then MEMORY_VERDICT=FAIL; why+=" no 429 during the stalls;"; fi
    if [ "$QREQ_MAX" -gt "$MEMORY_QUEUE" ]; then MEMORY_VERDICT=FAIL; why+=" $QREQ_MAX requests queued (--queue-requests $MEMORY_QUEUE);"; fi
    say ""
    MEMORY_LINE="$MEMORY_VERDICT: gateway memory under a sender that never stops: VmRSS $((RSS_MIN / 1024))-$((RSS_MAX / 1024)) MB, VmHWM $((HWM / 1024)) MB (bound < $MEMORY_LIMIT_MB MB); queue at most $QREQ_MAX requests (--queue-requests $MEMORY_QUEUE); $IN429 answers 429 during the $STALL s stalls${why:+ (fails:$why)}"
    say "$MEMORY_LINE"
fi

say ""
say "$THROUGHPUT_LINE"
[ -z "${MEMORY_LINE:-}" ] || say "$MEMORY_LINE"
if [ "$CHECKS_FAILED" != 0 ]; then
    say "FAILED: $CHECKS_FAILED check(s) failed (see CHECK FAILED above): the figures do not measure what they claim"
    exit 1
fi
[ "$VERDICT" = PASS ] || exit 1
[ "$MEMORY_VERDICT" != FAIL ] || exit 1
say "done."
