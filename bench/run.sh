#!/usr/bin/env bash
# llmtrace ingest benchmark: llmtrace vs the same pipeline in PL/pgSQL vs a plain jsonb COPY.
# Starts its own throwaway cluster, generates the workload, prints tables of figures and
# ratios. Exits with status 1 when llmtrace quarantines anything of the workload (every
# payload of it is valid). See bench/README.md.
#
#   bash bench/run.sh                                   # the full run (~15-20 min)
#   N=2000 ROUNDS=2 MEMORY_SPANS=20000 PGBENCH_SECONDS=5 bash bench/run.sh   # a quick one
#
# Environment:
#   N                payloads in the workload                          (20000)
#   ROUNDS           timed COPY rounds per pipeline                    (5)
#   PGBENCH_SECONDS  length of each pgbench run, 0 skips pgbench       (20)
#   PGBENCH_CLIENTS  pgbench clients (and threads)                     (2)
#   MEMORY_SPANS     spans in the one-COPY memory run, 0 skips it      (1000000)
#   MEMORY_PIPELINE  llmtrace | plpgsql: pipeline of the memory run    (llmtrace; plpgsql
#                    when the extension is not installed)
#   SAMPLE_INTERVAL  seconds between memory samples                    (1)
#   LLMTRACE         auto: CREATE EXTENSION llmtrace and go on without it when that fails;
#                    1: fail when it fails; 0: baselines only           (auto)
#   MAKE_INSTALL     1: run `make install` in the repository first      (0)
#   SEED             setseed() of the generator                        (0.42)
#   PORT             port of the throwaway cluster                     (5497)
#   KEEP_WORKDIR     1: keep the temporary directory (cluster, workload, logs)  (0)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)

N=${N:-20000}
ROUNDS=${ROUNDS:-5}
PGBENCH_SECONDS=${PGBENCH_SECONDS:-20}
PGBENCH_CLIENTS=${PGBENCH_CLIENTS:-2}
MEMORY_SPANS=${MEMORY_SPANS:-1000000}
MEMORY_PIPELINE=${MEMORY_PIPELINE:-}
SAMPLE_INTERVAL=${SAMPLE_INTERVAL:-1}
LLMTRACE=${LLMTRACE:-auto}
MAKE_INSTALL=${MAKE_INSTALL:-0}
SEED=${SEED:-0.42}
PORT=${PORT:-5497}
KEEP_WORKDIR=${KEEP_WORKDIR:-0}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/llmtrace-bench.XXXXXX")
chmod 755 "$WORK"          # the cluster runs as another OS user when we are root
CLUSTER=$WORK/cluster
WORKLOAD=$WORK/workload.copy
LOG=$WORK/bench.log
MEM_COPY_PID=

cleanup() {
    local rc=$?
    if [ -n "$MEM_COPY_PID" ]; then kill "$MEM_COPY_PID" 2>/dev/null || true; fi
    finish_run "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

export PGHOST=$CLUSTER/socket PGPORT=$PORT PGUSER=postgres PGDATABASE=postgres
PSQL=(psql -X -q -v ON_ERROR_STOP=1)

say() { printf '%s\n' "$*"; }
# q, now, elapsed, median, write_insert_script
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"

if [ "$MAKE_INSTALL" = 1 ]; then
    say "== make install"
    make -C "$ROOT" install >>"$LOG" 2>&1 || { say "make install failed, see $LOG"; exit 1; }
fi

say "== cluster on port $PORT in $WORK"
"$ROOT/scripts/pgcluster.sh" start "$CLUSTER" "$PORT" >>"$LOG"

HAVE_LLMTRACE=0
if [ "$LLMTRACE" != 0 ]; then
    if "${PSQL[@]}" -c 'CREATE EXTENSION llmtrace' >>"$LOG" 2>"$WORK/create_extension.err"; then
        HAVE_LLMTRACE=1
        say "llmtrace $(q "SELECT extversion FROM pg_extension WHERE extname = 'llmtrace'") installed"
    else
        say "NOTE: CREATE EXTENSION llmtrace failed: $(head -n 1 "$WORK/create_extension.err")"
        if [ "$LLMTRACE" = 1 ]; then
            say "      (run 'make install' first, or MAKE_INSTALL=1). LLMTRACE=1: stopping."
            exit 1
        fi
        say "      (run 'make install' first, or MAKE_INSTALL=1). Going on with the baselines only."
    fi
fi

# ---------------------------------------------------------------------------
# Workload and schemas.
# ---------------------------------------------------------------------------
say "== generating $N payloads"
t0=$(now)
"${PSQL[@]}" -v n="$N" -v seed="$SEED" -v out="$WORKLOAD" -f "$HERE/gen_workload.sql"
say "   generated in $(elapsed "$t0" "$(now)") s"

"${PSQL[@]}" -f "$HERE/plpgsql_pipeline.sql" >>"$LOG"
"${PSQL[@]}" >>"$LOG" <<'SQL'
SET client_min_messages = warning;
DROP SCHEMA IF EXISTS bench_floor CASCADE;
CREATE SCHEMA bench_floor;
-- (a) the floor: the same COPY into a plain table, jsonb parsing included
CREATE TABLE bench_floor.raw (payload jsonb);
-- the payloads for the single-row INSERT runs
CREATE TABLE bench_floor.lines (id serial PRIMARY KEY, payload text NOT NULL);
SQL
"${PSQL[@]}" -c "\\copy bench_floor.lines (payload) FROM '$WORKLOAD'"
"${PSQL[@]}" -c 'ANALYZE bench_floor.lines'

# The spans a correct pipeline stores: distinct (trace_id, span_id, start) over all payloads.
EXPECTED_SPANS=$(q "
WITH docs AS (
    SELECT CASE WHEN jsonb_typeof(p) = 'array' THEN e ELSE p END AS d
    FROM (SELECT payload::jsonb AS p FROM bench_floor.lines) AS l
    LEFT JOIN LATERAL jsonb_array_elements(CASE WHEN jsonb_typeof(p) = 'array' THEN p END) AS e
           ON true
), k AS (
    SELECT lower(sp ->> 'traceId') AS t, lower(sp ->> 'spanId') AS s, sp ->> 'startTimeUnixNano' AS st
    FROM docs, jsonb_array_elements(d -> 'resourceSpans') AS rs,
         jsonb_array_elements(rs -> 'scopeSpans') AS ss, jsonb_array_elements(ss -> 'spans') AS sp
    WHERE d ? 'resourceSpans'
    UNION ALL
    SELECT coalesce(d ->> 'root_span_id', d ->> 'span_id'), d ->> 'span_id', d -> 'metrics' ->> 'start'
    FROM docs WHERE d ? 'root_span_id'
    UNION ALL
    SELECT d ->> 'trace_id', d ->> 'span_id', d ->> 'start_time'
    FROM docs WHERE d ? 'trace_id' AND NOT d ? 'root_span_id'
    UNION ALL
    SELECT coalesce(d ->> 'traceId', d ->> 'requestId', d ->> 'id'), d ->> 'id', d ->> 'timestamp'
    FROM docs WHERE d ? 'timestamp' AND NOT d ? 'trace_id' AND NOT d ? 'root_span_id'
)
SELECT count(DISTINCT (t, s, st)) FROM k")
PAYLOADS=$(q 'SELECT count(*) FROM bench_floor.lines')
BYTES=$(wc -c <"$WORKLOAD")
say "   $PAYLOADS payloads, $(awk -v b="$BYTES" 'BEGIN { printf "%.1f", b / 1e6 }') MB, $EXPECTED_SPANS distinct spans"

PIPELINES=(floor plpgsql)
[ "$HAVE_LLMTRACE" = 1 ] && PIPELINES+=(llmtrace)

# target of COPY / INSERT, tables to empty, spans table, per pipeline
target() {
    case $1 in
    floor) echo bench_floor.raw ;;
    plpgsql) echo bench_plpgsql.ingest ;;
    llmtrace) echo llmtrace.ingest ;;
    esac
}
spans_table() {
    case $1 in
    floor) echo bench_floor.raw ;;
    plpgsql) echo bench_plpgsql.spans ;;
    llmtrace) echo llmtrace.spans ;;
    esac
}
reset_pipeline() {
    case $1 in
    floor) q 'TRUNCATE bench_floor.raw' ;;
    plpgsql) q 'TRUNCATE bench_plpgsql.spans, bench_plpgsql.ingest_errors' ;;
    llmtrace) q 'TRUNCATE llmtrace.spans, llmtrace.ingest_errors' ;;
    esac
    q 'CHECKPOINT'
}
# Every payload of the workload is valid: llmtrace must store all of it. Anything in
# llmtrace.ingest_errors after an llmtrace run fails the benchmark (figures of a pipeline
# that drops part of its input mean nothing).
check_quarantine() { # what was run
    local n
    n=$(q 'SELECT count(*) FROM llmtrace.ingest_errors')
    if [ "$n" = 0 ]; then return 0; fi
    say "FAILED: $1: $n rows in llmtrace.ingest_errors; the workload must be stored entirely. First errors:"
    "${PSQL[@]}" -c "SELECT error, sqlstate, location, left(payload, 200) AS payload
                     FROM llmtrace.ingest_errors ORDER BY id LIMIT 5"
    exit 1
}
# The cost_status values of the stored spans, on one line: "priced 25255, aggregate 5035, ..."
cost_statuses() {
    q "SELECT string_agg(cost_status || ' ' || n, ', ' ORDER BY n DESC, cost_status)
       FROM (SELECT cost_status, count(*) AS n FROM $1 GROUP BY 1) AS c"
}

# ---------------------------------------------------------------------------
# 1. COPY throughput: ROUNDS rounds, the order of the pipelines rotating each round.
# ---------------------------------------------------------------------------
say ""
say "== COPY of $PAYLOADS payloads, $ROUNDS rounds"
declare -A SPANS FAILED
COST_STATUSES=
for ((r = 0; r < ROUNDS; r++)); do
    order=()
    for ((i = 0; i < ${#PIPELINES[@]}; i++)); do
        order+=("${PIPELINES[(i + r) % ${#PIPELINES[@]}]}")
    done
    line="   round $((r + 1)):"
    for p in "${order[@]}"; do
        [ -n "${FAILED[$p]:-}" ] && continue
        reset_pipeline "$p"
        t0=$(now)
        if "${PSQL[@]}" -c "\\copy $(target "$p") (payload) FROM '$WORKLOAD'" >>"$LOG" 2>"$WORK/copy.err"; then
            t1=$(now)
            secs=$(elapsed "$t0" "$t1")
            echo "$secs" >>"$WORK/times.$p"
            SPANS[$p]=$(q "SELECT count(*) FROM $(spans_table "$p")")
            line+=" $p ${secs}s"
            if [ "$p" = llmtrace ]; then
                check_quarantine "COPY round $((r + 1))"
                [ -n "$COST_STATUSES" ] || COST_STATUSES=$(cost_statuses llmtrace.spans)
            fi
        else
            FAILED[$p]=1
            say "   $p: COPY FAILED: $(head -n 3 "$WORK/copy.err")"
        fi
    done
    say "$line"
done

# VmHWM (peak resident set) of the backend that runs one COPY, read just before it exits.
declare -A HWM ANON
for p in "${PIPELINES[@]}"; do
    [ -n "${FAILED[$p]:-}" ] && continue
    reset_pipeline "$p"
    out=$("${PSQL[@]}" 2>>"$LOG" <<SQL || true
SELECT pg_backend_pid() AS backend_pid \gset
\copy $(target "$p") (payload) FROM '$WORKLOAD'
\setenv BENCH_BACKEND_PID :backend_pid
\! grep -E '^(VmHWM|RssAnon):' /proc/\$BENCH_BACKEND_PID/status
SQL
)
    if [ "$p" = llmtrace ]; then check_quarantine "COPY (peak RSS run)"; fi
    HWM[$p]=$(awk '/^VmHWM:/ { printf "%.0f", $2 / 1024 }' <<<"$out")
    ANON[$p]=$(awk '/^RssAnon:/ { printf "%.0f", $2 / 1024 }' <<<"$out")
done

say ""
say "COPY $PAYLOADS payloads ($EXPECTED_SPANS distinct spans), median of $ROUNDS rounds"
printf '%-10s %10s %12s %12s %10s %14s %12s\n' pipeline 'median s' payloads/s spans/s spans 'peak RSS MB' 'RssAnon MB'
declare -A MED
for p in "${PIPELINES[@]}"; do
    if [ -n "${FAILED[$p]:-}" ] || [ ! -s "$WORK/times.$p" ]; then
        printf '%-10s %10s\n' "$p" FAILED
        continue
    fi
    MED[$p]=$(median <"$WORK/times.$p")
    if [ "$p" = floor ]; then sps=-; spans=-; else
        spans=${SPANS[$p]}
        sps=$(awk -v s="$spans" -v t="${MED[$p]}" 'BEGIN { printf "%.0f", s / t }')
    fi
    printf '%-10s %10.3f %12.0f %12s %10s %14s %12s\n' "$p" "${MED[$p]}" \
        "$(awk -v n="$PAYLOADS" -v t="${MED[$p]}" 'BEGIN { print n / t }')" "$sps" "$spans" \
        "${HWM[$p]:-?}" "${ANON[$p]:-?}"
done
for p in plpgsql llmtrace; do
    if [ -n "${SPANS[$p]:-}" ] && [ "${SPANS[$p]}" != "$EXPECTED_SPANS" ]; then
        say "WARNING: $p stored ${SPANS[$p]} spans, a correct pipeline stores $EXPECTED_SPANS"
    fi
done
if [ -n "$COST_STATUSES" ]; then say "llmtrace cost_status: $COST_STATUSES (nothing quarantined)"; fi
ratio() { # time ratio a/b and the matching throughput ratio
    awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0 && b > 0) printf "%.3f (throughput x%.2f)", a / b, b / a
                                     else printf "n/a" }'
}
if [ -n "${MED[llmtrace]:-}" ]; then
    say "time ratio llmtrace/plpgsql: $(ratio "${MED[llmtrace]}" "${MED[plpgsql]}")"
    say "time ratio llmtrace/floor:   $(ratio "${MED[llmtrace]}" "${MED[floor]}")"
fi
say "time ratio plpgsql/floor:    $(ratio "${MED[plpgsql]}" "${MED[floor]}")"
[ -n "${MED[llmtrace]:-}" ] || say "(llmtrace not measured)"
say "(peak RSS = the backend's VmHWM during one COPY; it includes the shared buffers it touched.)"

# ---------------------------------------------------------------------------
# 2. Single-row INSERTs: pgbench, one random payload per transaction.
# ---------------------------------------------------------------------------
if [ "$PGBENCH_SECONDS" -gt 0 ]; then
    say ""
    say "== pgbench: single-row INSERT of a random payload, $PGBENCH_CLIENTS clients, ${PGBENCH_SECONDS}s each"
    declare -A TPS LAT
    for p in "${PIPELINES[@]}"; do
        [ -n "${FAILED[$p]:-}" ] && continue
        reset_pipeline "$p"
        case $p in
        llmtrace) sel='l.payload' ;;
        *) sel='l.payload::jsonb' ;;
        esac
        write_insert_script "$WORK/pgbench.$p.sql" "$PAYLOADS" "$(target "$p")" bench_floor.lines "$sel"
        if pgbench -n -c "$PGBENCH_CLIENTS" -j "$PGBENCH_CLIENTS" -T "$PGBENCH_SECONDS" \
                -f "$WORK/pgbench.$p.sql" >"$WORK/pgbench.$p.out" 2>&1; then
            TPS[$p]=$(awk '/^tps = / { printf "%.0f", $3; exit }' "$WORK/pgbench.$p.out")
            LAT[$p]=$(awk '/^latency average = / { print $4; exit }' "$WORK/pgbench.$p.out")
        else
            say "   $p: pgbench FAILED: $(tail -n 3 "$WORK/pgbench.$p.out")"
        fi
        if [ "$p" = llmtrace ]; then check_quarantine pgbench; fi
    done
    printf '%-10s %10s %14s %12s\n' pipeline TPS 'latency ms' 'rows stored'
    for p in "${PIPELINES[@]}"; do
        [ -n "${TPS[$p]:-}" ] || continue
        printf '%-10s %10s %14s %12s\n' "$p" "${TPS[$p]}" "${LAT[$p]:-?}" \
            "$(q "SELECT count(*) FROM $(spans_table "$p")")"
    done
    tps_ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0 && b > 0) printf "%.3f", a / b; else printf "n/a" }'; }
    if [ -n "${TPS[llmtrace]:-}" ]; then
        [ -n "${TPS[plpgsql]:-}" ] && say "TPS ratio llmtrace/plpgsql: $(tps_ratio "${TPS[llmtrace]}" "${TPS[plpgsql]}")"
        [ -n "${TPS[floor]:-}" ] && say "TPS ratio llmtrace/floor:   $(tps_ratio "${TPS[llmtrace]}" "${TPS[floor]}")"
    elif [ -n "${TPS[plpgsql]:-}" ] && [ -n "${TPS[floor]:-}" ]; then
        say "TPS ratio plpgsql/floor:    $(tps_ratio "${TPS[plpgsql]}" "${TPS[floor]}")   (llmtrace not measured)"
    fi
fi

# ---------------------------------------------------------------------------
# 3. Memory flatness: ~MEMORY_SPANS spans in ONE COPY, backend RSS sampled meanwhile.
# The workload is repeated with the id tag changed (a000 -> a001, ...), so every
# copy holds new spans (see gen_workload.sql, gw_id).
# ---------------------------------------------------------------------------
if [ "$MEMORY_SPANS" -gt 0 ]; then
    mp=${MEMORY_PIPELINE:-llmtrace}
    if [ "$mp" = llmtrace ] && { [ "$HAVE_LLMTRACE" != 1 ] || [ -n "${FAILED[llmtrace]:-}" ]; }; then
        if [ -n "$MEMORY_PIPELINE" ]; then
            say ""
            say "== memory run skipped: llmtrace is not available"
            mp=
        else
            mp=plpgsql
            say ""
            say "NOTE: llmtrace is not available; the memory run measures the plpgsql pipeline."
        fi
    fi
    if [ -n "$mp" ]; then
        copies=$(( (MEMORY_SPANS + EXPECTED_SPANS - 1) / EXPECTED_SPANS ))
        [ "$copies" -gt 4096 ] && copies=4096
        say ""
        say "== memory: $mp, one COPY of $copies x the workload (~$((copies * EXPECTED_SPANS)) spans)"
        MEMFILE=$WORK/memory.copy
        : >"$MEMFILE"
        for ((c = 0; c < copies; c++)); do
            tag=$(printf 'a%03x' "$c")
            TAG=$(printf 'A%03X' "$c")
            sed "s/\"a000/\"$tag/g; s/\"A000/\"$TAG/g; s/\"req_a000/\"req_$tag/g" "$WORKLOAD" >>"$MEMFILE"
        done
        reset_pipeline "$mp"
        SAMPLES=$WORK/memory.samples
        : >"$SAMPLES"
        t0=$(now)
        PGAPPNAME=llmtrace_bench_memory "${PSQL[@]}" -c "\\copy $(target "$mp") (payload) FROM '$MEMFILE'" \
            >>"$LOG" 2>"$WORK/memory.err" &
        MEM_COPY_PID=$!
        bpid=
        for ((i = 0; i < 600; i++)); do
            bpid=$(q "SELECT pid FROM pg_stat_activity WHERE application_name = 'llmtrace_bench_memory' LIMIT 1")
            [ -n "$bpid" ] && break
            kill -0 "$MEM_COPY_PID" 2>/dev/null || break
            sleep 0.05
        done
        # one line per sample: seconds since start, VmRSS kB, RssAnon kB, VmHWM kB
        while [ -n "$bpid" ] && kill -0 "$MEM_COPY_PID" 2>/dev/null; do
            st=$(awk '/^VmRSS:/ { r = $2 } /^RssAnon:/ { a = $2 } /^VmHWM:/ { h = $2 }
                      END { if (r != "") print r, a, h }' "/proc/$bpid/status" 2>/dev/null || true)
            [ -n "$st" ] && echo "$(elapsed "$t0" "$(now)") $st" >>"$SAMPLES"
            sleep "$SAMPLE_INTERVAL"
        done
        mem_rc=0
        wait "$MEM_COPY_PID" || mem_rc=$?
        MEM_COPY_PID=
        mem_secs=$(elapsed "$t0" "$(now)")
        if [ "$mem_rc" != 0 ]; then
            say "   COPY FAILED: $(head -n 3 "$WORK/memory.err")"
        elif [ ! -s "$SAMPLES" ]; then
            say "   the COPY ended before its backend could be sampled (${mem_secs}s); raise MEMORY_SPANS"
        else
            if [ "$mp" = llmtrace ]; then check_quarantine "memory run"; fi
            mem_spans=$(q "SELECT count(*) FROM $(spans_table "$mp")")
            say "   $mem_spans spans stored in ${mem_secs}s ($(awk -v s="$mem_spans" -v t="$mem_secs" 'BEGIN { printf "%.0f", s / t }') spans/s), $(wc -l <"$SAMPLES") samples"
            awk -v interval="$SAMPLE_INTERVAL" '
                { t[NR] = $1; rss[NR] = $2; anon[NR] = $3; hwm = $4 }
                function at(f) { i = int(NR * f + 0.5); if (i < 1) i = 1; if (i > NR) i = NR; return i }
                function mb(k) { return k / 1024 }
                function verdict(a, b) { d = b - a; if (d < 0) d = -d
                                         return (d <= 0.2 * a || d <= 50 * 1024) ? "FLAT" : "GROWING" }
                END {
                    i10 = at(0.1); i50 = at(0.5); i90 = at(0.9)
                    peak = 0; peaka = 0
                    for (i = 1; i <= NR; i++) { if (rss[i] > peak) peak = rss[i]; if (anon[i] > peaka) peaka = anon[i] }
                    printf "   %-22s %8s %8s %8s %8s %8s\n", "MB at % of the run", "10%", "50%", "90%", "last", "peak"
                    printf "   %-22s %8.0f %8.0f %8.0f %8.0f %8.0f   (VmHWM %.0f)\n", "VmRSS", mb(rss[i10]), mb(rss[i50]), mb(rss[i90]), mb(rss[NR]), mb(peak), mb(hwm)
                    printf "   %-22s %8.0f %8.0f %8.0f %8.0f %8.0f\n", "RssAnon (private)", mb(anon[i10]), mb(anon[i50]), mb(anon[i90]), mb(anon[NR]), mb(peaka)
                    printf "   VmRSS %s, RssAnon %s (last sample within 20%% or 50 MB of the sample at 10%%)\n", verdict(rss[i10], rss[NR]), verdict(anon[i10], anon[NR])
                }' "$SAMPLES"
            say "   (VmRSS counts the shared buffers the backend touched, up to shared_buffers = $(q 'SHOW shared_buffers'); RssAnon is its private memory)"
        fi
        rm -f "$MEMFILE"
    fi
fi
say ""
say "done."
