#!/usr/bin/env bash
# llmtrace memory benchmark: what hostile payloads cost the backend that ingests them.
# Starts its own throwaway cluster, generates the payloads, ingests each one in a fresh
# session and prints, per payload, its size, the backend's peak private memory (RssAnon)
# during the statement, what it still holds after the statement, after COMMIT and after
# a following `SELECT 1`, and the memory contexts PostgreSQL knows of. See bench/README.md.
#
#   bash bench/memory.sh                # the full run (~1-2 min on 2 cores; ~4 GB of RAM)
#   QUICK=1 bash bench/memory.sh        # 1/10 of the sizes (~15 s)
#   PAYLOADS="otlp models" bash bench/memory.sh
#
# Environment (defaults; QUICK=1 divides the counts and sizes marked * by 10):
#   PAYLOADS          which payloads, in this order      (otlp array models invalid baseline)
#   OTLP_ATTRS        1. resource attributes *           (6000)
#   OTLP_SPANS        1. spans under that resource *     (6000)
#   ARRAY_SPANS       2. native spans in one JSON array * (1000000)
#   MODEL_SPANS       3. payload rows, one span each *   (2000)
#   MODEL_BYTES       3. length of each model name       (200000)
#   INVALID_PAYLOADS  4. invalid payload rows            (5)
#   INVALID_BYTES     4. bytes per invalid payload *     (40000000)
#   BASELINE_N        5. ordinary payloads (gen_workload.sql) * (20000)
#   MAX_PAYLOAD_BYTES value for llmtrace.max_payload_bytes when that setting exists (256MB)
#   DEFAULT_PASS      1: when llmtrace.max_payload_bytes exists, run every payload again
#                     with its default; 0: don't        (1)
#   SAMPLE_MS         milliseconds between RssAnon samples (10)
#   MEMORY_LIMIT_MB   address-space limit (prlimit --as) of each measured backend, so that
#                     a runaway backend fails with "out of memory" instead of waking the
#                     OOM killer; 0: no limit           (75 % of MemTotal)
#   PORT              port of the throwaway cluster     (5495)
#   KEEP_WORKDIR      1: keep the temporary directory (payloads, samples, logs)  (0)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)

QUICK=${QUICK:-0}
div=1
[ "$QUICK" = 1 ] && div=10
PAYLOADS=${PAYLOADS:-otlp array models invalid baseline}
OTLP_ATTRS=${OTLP_ATTRS:-$((6000 / div))}
OTLP_SPANS=${OTLP_SPANS:-$((6000 / div))}
ARRAY_SPANS=${ARRAY_SPANS:-$((1000000 / div))}
MODEL_SPANS=${MODEL_SPANS:-$((2000 / div))}
MODEL_BYTES=${MODEL_BYTES:-200000}
INVALID_PAYLOADS=${INVALID_PAYLOADS:-5}
INVALID_BYTES=${INVALID_BYTES:-$((40000000 / div))}
BASELINE_N=${BASELINE_N:-$((20000 / div))}
MAX_PAYLOAD_BYTES=${MAX_PAYLOAD_BYTES:-256MB}
DEFAULT_PASS=${DEFAULT_PASS:-1}
SAMPLE_MS=${SAMPLE_MS:-10}
MEMORY_LIMIT_MB=${MEMORY_LIMIT_MB:-$(awk '/^MemTotal:/ { printf "%d", $2 * 0.75 / 1024 }' /proc/meminfo)}
PORT=${PORT:-5495}
KEEP_WORKDIR=${KEEP_WORKDIR:-0}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/llmtrace-memory.XXXXXX")
chmod 755 "$WORK"          # the cluster runs as another OS user when we are root
CLUSTER=$WORK/cluster
LOG=$WORK/bench.log
DB=llmtrace_memory
SESSION_PID=
SAMPLER_PID=

cleanup() {
    local rc=$?
    if [ -n "$SAMPLER_PID" ]; then kill "$SAMPLER_PID" 2>/dev/null || true; fi
    if [ -n "$SESSION_PID" ]; then kill "$SESSION_PID" 2>/dev/null || true; fi
    finish_run "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

export PGHOST=$CLUSTER/socket PGPORT=$PORT PGUSER=postgres PGDATABASE=$DB
PSQL=(psql -X -q -v ON_ERROR_STOP=1)

say() { printf '%s\n' "$*"; }
# finish_run (its own q, now and elapsed below keep their formats)
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
q() { "${PSQL[@]}" -At -c "$1"; }
gen() { python3 "$HERE/memory_payloads.py" "$@"; }
mb() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }

for w in $PAYLOADS; do
    case $w in
    otlp | array | models | invalid | baseline) ;;
    *) say "unknown payload '$w' in PAYLOADS (otlp array models invalid baseline)"; exit 2 ;;
    esac
done

say "== $(nproc) cores, $(awk '/^MemTotal:/ { printf "%.0f", $2 / 1048576 }' /proc/meminfo) GB; cluster on port $PORT in $WORK"
if [ "$MEMORY_LIMIT_MB" -gt 0 ]; then
    if command -v prlimit >/dev/null; then
        say "   address space of each measured backend limited to $MEMORY_LIMIT_MB MB (MEMORY_LIMIT_MB)"
    else
        say "   NOTE: no prlimit (util-linux); the backends' memory is not limited"
        MEMORY_LIMIT_MB=0
    fi
fi
"$ROOT/scripts/pgcluster.sh" start "$CLUSTER" "$PORT" >>"$LOG"
PGDATABASE=postgres "${PSQL[@]}" -c "CREATE DATABASE $DB" >>"$LOG"
if ! "${PSQL[@]}" -c 'CREATE EXTENSION llmtrace' >>"$LOG" 2>"$WORK/create_extension.err"; then
    say "CREATE EXTENSION llmtrace failed: $(head -n 1 "$WORK/create_extension.err")"
    say "(install the extension first: make && make install)"
    exit 1
fi
say "llmtrace $(q "SELECT extversion FROM pg_extension WHERE extname = 'llmtrace'") installed"

# llmtrace.max_payload_bytes exists only once the library is loaded (and maybe not at all).
LIMIT_DEFAULT=$("${PSQL[@]}" -At -c "LOAD 'llmtrace'" \
    -c "SELECT coalesce(current_setting('llmtrace.max_payload_bytes', true), '<none>')")
if [ "$LIMIT_DEFAULT" = '<none>' ] || [ -z "$LIMIT_DEFAULT" ]; then
    LIMIT_DEFAULT=
    say "llmtrace.max_payload_bytes: not defined by this build (payloads of any size are taken)"
else
    say "llmtrace.max_payload_bytes: default $LIMIT_DEFAULT; first pass with $MAX_PAYLOAD_BYTES"
fi

# ---------------------------------------------------------------------------
# Payloads.
# ---------------------------------------------------------------------------
declare -A FILE MODE DESC
say "== generating payloads"
t0=$(now)
for w in $PAYLOADS; do
    case $w in
    otlp)
        FILE[$w]=$WORK/otlp.json MODE[$w]=json
        gen otlp "${FILE[$w]}" --attrs "$OTLP_ATTRS" --spans "$OTLP_SPANS"
        DESC[$w]="1 OTLP request, $OTLP_ATTRS resource attributes x $OTLP_SPANS spans"
        ;;
    array)
        FILE[$w]=$WORK/array.json MODE[$w]=json
        gen array "${FILE[$w]}" --spans "$ARRAY_SPANS"
        DESC[$w]="1 JSON array of $ARRAY_SPANS native spans"
        ;;
    models)
        FILE[$w]=$WORK/models.copy MODE[$w]=copy
        gen models "${FILE[$w]}" --spans "$MODEL_SPANS" --model-bytes "$MODEL_BYTES"
        DESC[$w]="$MODEL_SPANS rows, 1 span each, distinct $MODEL_BYTES-byte model names, with usage"
        ;;
    invalid)
        FILE[$w]=$WORK/invalid.copy MODE[$w]=copy
        gen invalid "${FILE[$w]}" --payloads "$INVALID_PAYLOADS" --bytes "$INVALID_BYTES"
        DESC[$w]="$INVALID_PAYLOADS rows of $INVALID_BYTES bytes of truncated JSON, on_error = quarantine"
        ;;
    baseline)
        FILE[$w]=$WORK/baseline.copy MODE[$w]=copy
        "${PSQL[@]}" -v n="$BASELINE_N" -v out="${FILE[$w]}" -f "$HERE/gen_workload.sql" >>"$LOG"
        DESC[$w]="$BASELINE_N ordinary payloads of gen_workload.sql"
        ;;
    esac
done
chmod 644 "$WORK"/*.json 2>/dev/null || true   # read by the server with pg_read_file()
declare -A ROWS LARGEST
for w in $PAYLOADS; do
    if [ "${MODE[$w]}" = copy ]; then
        read -r "ROWS[$w]" "LARGEST[$w]" < <(LC_ALL=C awk '{ if (length($0) + 1 > m) m = length($0) + 1 }
                                                   END { print NR, m }' "${FILE[$w]}")
    fi
done
say "   generated in $(elapsed "$t0" "$(now)") s"
for w in $PAYLOADS; do
    printf '   %-9s %8s MB  %s\n' "$w" "$(mb "$(stat -c %s "${FILE[$w]}")")" "${DESC[$w]}"
done

# ---------------------------------------------------------------------------
# One measured session: fresh backend, library loaded and price cache warmed, pid
# handed to the sampler; then BEGIN, the ingest statement, readings, COMMIT, readings,
# SELECT 1, reading. Results go to files in $1.
# ---------------------------------------------------------------------------
# anon_cmd DIR NAME: a shell command (for psql's \!) writing the backend's current RssAnon
# in kB to DIR/NAME. \! does not expand psql variables, so the pid is read from DIR/pid.
anon_cmd() { printf "awk '/^RssAnon:/ { print \$2 }' /proc/\$(cat %s/pid)/status > %s/%s" "$1" "$1" "$2"; }

# prlimit on another user's process needs CAP_SYS_RESOURCE, which root in a container may
# lack: run it as the cluster's owner (see scripts/pgcluster.sh).
as_cluster_owner() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# wait_cmd FILE: a shell command that waits (at most 60 s) until FILE exists
# shellcheck disable=SC2016  # expanded by the shell psql starts
wait_cmd() { printf 'i=0; while [ ! -e %s ] && [ $i -lt 12000 ]; do sleep 0.005; i=$((i + 1)); done' "$1"; }

measure() {
    local w=$1 set_limit=$2 d=$3
    mkdir -p "$d"
    local stmt
    if [ "${MODE[$w]}" = json ]; then
        stmt="SELECT llmtrace.ingest_json(pg_read_file('${FILE[$w]}'));"
    else
        stmt="\\copy llmtrace.ingest (payload) FROM '${FILE[$w]}'"
    fi
    local limit_sql=
    if [ "$set_limit" = 1 ]; then
        limit_sql="SELECT current_setting('llmtrace.max_payload_bytes', true) IS NOT NULL AS has_limit \\gset
\\if :has_limit
SET llmtrace.max_payload_bytes = '$MAX_PAYLOAD_BYTES';
\\endif"
    fi
    # (psql's \! does not expand psql variables: the shell reads the pid from $d/pid.)
    cat >"$d/session.sql" <<SQL
LOAD 'llmtrace';
SET llmtrace.on_error = 'quarantine';
$limit_sql
-- The price cache is loaded on its first use in a session: load it before measuring.
SELECT llmtrace.cost('openai', 'gpt-4o', 1, 1, 0, 0, now()) \g /dev/null
\o $d/pid.tmp
SELECT pg_backend_pid();
\o
\! mv $d/pid.tmp $d/pid
\! $(wait_cmd "$d/ready")
BEGIN;
\! date +%s.%N > $d/t0
\o $d/result
$stmt
\o
\! date +%s.%N > $d/t1
\if :ERROR
\! touch $d/failed
\endif
\! touch $d/stop; $(wait_cmd "$d/peak")
\! $(anon_cmd "$d" anon_stmt)
\if :ERROR
\else
\o $d/ctx_stmt
SELECT sum(total_bytes) FROM pg_backend_memory_contexts;
\o
\endif
COMMIT;
\! $(anon_cmd "$d" anon_xact)
\o $d/ctx_xact
SELECT sum(total_bytes) FROM pg_backend_memory_contexts;
\o
SELECT 1 \g /dev/null
\! $(anon_cmd "$d" anon_select1)
SQL

    psql -X -q -At -f "$d/session.sql" >"$d/stdout" 2>"$d/stderr" &
    SESSION_PID=$!
    local i
    for ((i = 0; i < 6000; i++)); do
        [ -e "$d/pid" ] && break
        kill -0 "$SESSION_PID" 2>/dev/null || break
        sleep 0.01
    done
    if [ -e "$d/pid" ]; then
        # (A ulimit set before pg_ctl does not reach the backends when runuser starts the
        # cluster: PAM resets it. prlimit sets it on the backend itself.)
        if [ "$MEMORY_LIMIT_MB" -gt 0 ]; then
            as_cluster_owner prlimit --pid "$(cat "$d/pid")" --as=$((MEMORY_LIMIT_MB * 1048576)) >>"$LOG" 2>&1 ||
                say "   NOTE: prlimit failed on the backend; its memory is not limited"
        fi
        python3 "$HERE/memory_payloads.py" sample "$d" --interval-ms "$SAMPLE_MS" &
        SAMPLER_PID=$!
    fi
    wait "$SESSION_PID" || true
    SESSION_PID=
    if [ -n "$SAMPLER_PID" ]; then
        # The session has ended: the sampler has stopped, or stops when the backend is gone.
        touch "$d/stop"
        wait "$SAMPLER_PID" || true
        SAMPLER_PID=
    fi
}

# kB in file $1 as MB, or "-"
kb_mb() { if [ -s "$1" ]; then awk '{ printf "%.1f", $1 / 1024; exit }' "$1"; else printf -- -; fi; }
b_mb() { if [ -s "$1" ] && [ -n "$(tr -d ' \n' <"$1")" ]; then awk '{ printf "%.1f", $1 / 1048576; exit }' "$1"; else printf -- -; fi; }

run_pass() {
    local pass=$1 set_limit=$2 title=$3
    local fmt='%-9s %11s %9s %6s %7s %7s %8s %7s %7s %7s %7s %7s %7s %8s\n'
    local rows=() notes=() w d
    say ""
    say "== $title"
    for w in $PAYLOADS; do
        d=$WORK/$pass.$w
        q 'TRUNCATE llmtrace.spans, llmtrace.ingest_errors' >>"$LOG"
        q 'CHECKPOINT' >>"$LOG"
        local err_before
        err_before=$(q "SELECT pg_total_relation_size('llmtrace.ingest_errors')")
        local t0
        t0=$(now)
        measure "$w" "$set_limit" "$d"
        if ! q 'SELECT 1' >/dev/null 2>&1; then
            # A backend killed (e.g. by the OOM killer) takes the server through crash recovery.
            notes+=("$w: the server was not answering after this session (a backend crashed?); see server.log")
            local i
            for ((i = 0; i < 120; i++)); do
                q 'SELECT 1' >/dev/null 2>&1 && break
                sleep 1
            done
            if ! q 'SELECT 1' >/dev/null 2>&1; then
                say "   the server is not answering after '$w'; see $CLUSTER/server.log"
                exit 1
            fi
        fi
        local spans quar err_after bytes
        spans=$(q 'SELECT count(*) FROM llmtrace.spans')
        quar=$(q 'SELECT count(*) FROM llmtrace.ingest_errors')
        err_after=$(q "SELECT pg_total_relation_size('llmtrace.ingest_errors')")
        bytes=$(stat -c %s "${FILE[$w]}")
        local peak=- ratio=- secs=-
        if [ -s "$d/peak" ]; then
            peak=$(awk '{ printf "%.1f", $1 / 1024 }' "$d/peak")
            ratio=$(awk -v b="$bytes" '{ printf "%.1f", $1 * 1024 / b }' "$d/peak")
            notes+=("$w: $(awk '{ print $2 }' "$d/peak") samples, peak VmRSS $(awk '{ printf "%.0f", $3 / 1024 }' "$d/peak") MB (shared buffers included)")
        fi
        if [ -s "$d/t0" ] && [ -s "$d/t1" ]; then secs=$(elapsed "$(cat "$d/t0")" "$(cat "$d/t1")"); fi
        # shellcheck disable=SC2059
        rows+=("$(printf "$fmt" "$w" "$bytes" "$spans" "$quar" "$secs" "$(kb_mb "$d/before")" "$peak" "$ratio" \
            "$(kb_mb "$d/anon_stmt")" "$(kb_mb "$d/anon_xact")" "$(kb_mb "$d/anon_select1")" \
            "$(b_mb "$d/ctx_stmt")" "$(b_mb "$d/ctx_xact")" \
            "$(awk -v a="$err_before" -v b="$err_after" 'BEGIN { printf "%+.1f", (b - a) / 1048576 }')")")
        if [ -e "$d/failed" ] || grep -q 'ERROR\|FATAL\|server closed' "$d/stderr"; then
            notes+=("$w: $(grep -m 2 -E 'ERROR|FATAL|server closed|out of memory' "$d/stderr" |
                sed -E 's/^psql:[^ ]*: //' | tr '\n' ' ')")
        fi
        if [ "$w" = invalid ] && [ "$peak" != - ]; then
            notes+=("$w: ${ROWS[$w]} rows in one COPY, the largest ${LARGEST[$w]} bytes: peak/largest row $(awk -v p="$peak" -v l="${LARGEST[$w]}" 'BEGIN { printf "%.1f", p * 1048576 / l }')")
        fi
        if [ "${MODE[$w]}" = json ] && [ -s "$d/result" ] && [ "$(cat "$d/result")" != "$spans" ]; then
            notes+=("$w: ingest_json returned $(cat "$d/result"), $spans rows in llmtrace.spans")
        fi
        say "   $w done in $(elapsed "$t0" "$(now)") s"
    done
    say ""
    say "$title"
    # shellcheck disable=SC2059
    printf "$fmt" payload bytes 'spans' 'quar.' 'stmt s' 'before' 'peak' 'peak/' \
        'after' 'after' 'after' 'ctx' 'ctx' 'errors'
    # shellcheck disable=SC2059
    printf "$fmt" '' '' stored '' '' MB 'RssAnon' bytes 'stmt' 'xact' 'SELECT1' 'stmt' 'xact' '+MB'
    printf '%s\n' "${rows[@]}"
    say "(RssAnon = the backend's private memory in MB: before the statement, peak during it, after it,"
    say " after COMMIT and after a further SELECT 1; ctx = sum(total_bytes) of pg_backend_memory_contexts"
    say " in MB after the statement and after COMMIT; errors +MB = growth of llmtrace.ingest_errors.)"
    local n
    for n in "${notes[@]}"; do say "   $n"; done
}

if [ -n "$LIMIT_DEFAULT" ]; then
    run_pass limit 1 "llmtrace.max_payload_bytes = $MAX_PAYLOAD_BYTES"
    if [ "$DEFAULT_PASS" = 1 ]; then
        run_pass default 0 "llmtrace.max_payload_bytes = $LIMIT_DEFAULT (default)"
    fi
else
    run_pass limit 1 "llmtrace (no llmtrace.max_payload_bytes setting)"
fi
say ""
say "done."
