#!/usr/bin/env bash
# Multi-session tests of llmtrace: several real psql sessions (background
# processes) against a running cluster.
#
#   PGHOST=... PGPORT=... PGUSER=<superuser> bash test/sessions/run.sh [CHECK ...]
#
# Creates the database llmtrace_sessions (or $LLMTRACE_SESSIONS_DB; dropped and
# re-created, dropped again at the end), runs the checks (all, or those named),
# prints "ok - NAME" or "FAILED - NAME: reason" for each and ends with
# "N passed, N failed"; exits non-zero if any failed.
#
#   concurrent_copy_no_deadlock  8 sessions, one COPY each, of the same spans in
#                                different orders (+ spans of their own), released
#                                together by an advisory-lock barrier; every span
#                                stored and summarized once
#   redelivery_while_inserting   two transactions ingest the same span; the
#                                second waits, then stores nothing
#   cancel_is_fast               statement_timeout = 50ms on 4 large payloads: the
#                                error comes within 100 ms after the timeout
#                                (median of 3 tries; prints the medians) and the
#                                session still answers
#   terminate_is_fast            pg_terminate_backend at a random moment of a large
#                                ingest ends the session within 100 ms (median of
#                                3), and the server does not restart
#   maintenance_during_ingest    2 writers ingest spans of today and of back-filled
#                                days while a third session loops maintain() and
#                                apply_retention() (which drops old partitions):
#                                every span stored once, in the partition of its
#                                day, the default partition emptied, the old days
#                                dropped; prints the writers' slowest statement
#
# cancel_is_fast and terminate_is_fast make the server read payload files with
# pg_read_file, so the cluster must run on this machine. If PGDATA is set, its
# postmaster.pid is compared as well. LLMTRACE_SESSIONS_KEEP=1 keeps the work
# directory (logs of every session) and prints where it is.
set -uo pipefail
export LC_ALL=C PGCLIENTENCODING=UTF8 PGAPPNAME=llmtrace-sessions-driver
here=$(cd "$(dirname "$0")" && pwd)
DB=${LLMTRACE_SESSIONS_DB:-llmtrace_sessions}
export PGDATABASE=$DB
LIMIT_MS=100          # cancel / terminate must take effect within this
TIMEOUT_MS=50         # statement_timeout of cancel_is_fast
TRIES=3               # median of TRIES per payload
TRY_SECONDS=30        # a session that has not answered by then is given up
ALL_CHECKS=(concurrent_copy_no_deadlock redelivery_while_inserting cancel_is_fast terminate_is_fast
            maintenance_during_ingest)

checks=("$@")
[ ${#checks[@]} -eq 0 ] && checks=("${ALL_CHECKS[@]}")
for c in "${checks[@]}"; do
    [[ " ${ALL_CHECKS[*]} " == *" $c "* ]] || { echo "unknown check: $c (known: ${ALL_CHECKS[*]})" >&2; exit 2; }
done

work=$(mktemp -d /tmp/llmtrace-sessions.XXXXXX)
chmod 755 "$work"     # the server (another OS user) reads the payload files
passed=0
failed=0
bg_pids=()
declare -A sess_fd=() sess_pid=()

ok() { echo "ok - $1${2:+ ($2)}"; passed=$((passed + 1)); }
fail() { echo "FAILED - $1: $2"; failed=$((failed + 1)); }

# sql [psql options] -- one short statement as the driver, bounded in time.
sql() { timeout 30 psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# Ends every background session of this script: the clients (by their pid) and
# their backends (pg_terminate_backend), and waits until the backends are gone.
reap() {
    local fd name pid deadline left
    for name in "${!sess_fd[@]}"; do
        fd=${sess_fd[$name]}
        exec {fd}>&-
    done
    sess_fd=()
    for pid in "${bg_pids[@]}" "${sess_pid[@]}"; do
        kill "$pid" 2>/dev/null
    done
    for pid in "${bg_pids[@]}" "${sess_pid[@]}"; do
        wait "$pid" 2>/dev/null
    done
    bg_pids=()
    sess_pid=()
    deadline=$(($(now_ms) + 60000))
    while :; do
        left=$(sql -c "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                        WHERE datname = current_database() AND pid <> pg_backend_pid()
                          AND application_name LIKE 'llmtrace-sessions-%') t" 2>/dev/null) || left='?'
        [ "$left" = 0 ] && return 0
        [ "$(now_ms)" -gt "$deadline" ] && { echo "# $left backend(s) of $DB still running after 60 s" >&2; return 1; }
        sleep 0.1
    done
}

cleanup() {
    reap >/dev/null 2>&1
    timeout 60 psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1
    if [ "${LLMTRACE_SESSIONS_KEEP:-0}" = 1 ]; then echo "# work directory kept: $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- interactive sessions fed through a FIFO ---------------------------------
# sess_open NAME: a psql session (application_name llmtrace-sessions-NAME) that
# reads statements from a FIFO; output in $work/NAME.out and NAME.err.
sess_open() {
    local name=$1 fifo=$work/$1.in fd
    rm -f "$fifo"
    mkfifo "$fifo"
    (
        close_sess_fds
        PGAPPNAME=llmtrace-sessions-$name exec timeout "$TRY_SECONDS" \
            psql -X -q -At -v VERBOSITY=terse -v SHOW_CONTEXT=never <"$fifo" >"$work/$name.out" 2>"$work/$name.err"
    ) &
    sess_pid[$name]=$!
    exec {fd}>"$fifo"
    sess_fd[$name]=$fd
}
# In a background subshell: not the write ends of the sessions' FIFOs, or those
# sessions would never see the end of their input.
close_sess_fds() {
    local fd
    for fd in "${sess_fd[@]}"; do exec {fd}>&-; done
}
# sess_send NAME SQL: never kills this script if the session is gone (SIGPIPE).
sess_send() { (trap '' PIPE; printf '%s\n' "$2" >&"${sess_fd[$1]}") 2>/dev/null; }
# sess_close NAME: end of input; waits for the client to exit.
sess_close() {
    local fd=${sess_fd[$1]}
    exec {fd}>&-
    unset "sess_fd[$1]"
    wait "${sess_pid[$1]}" 2>/dev/null
    unset "sess_pid[$1]"
}
reset_tables() {
    sql -c "TRUNCATE llmtrace.spans, llmtrace.ingest_errors, llmtrace.rollup_deltas, llmtrace.hourly_rollups,
                     llmtrace.daily_rollups, llmtrace.daily_deltas" >/dev/null
}
median() { printf '%s\n' "$@" | sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
# verdict WHAT MS...: sets med and label ("WHAT 12 ms"). Fewer than TRIES values
# means the tries stopped after one got no answer at all: the label then gives
# the smallest time as a lower bound ("WHAT >=30000 ms").
verdict() {
    local what=$1
    shift
    if [ $# -lt $TRIES ]; then
        med=$(printf '%s\n' "$@" | sort -n | head -1)
        label="$what >=$med ms"
    else
        med=$(median "$@")
        label="$what $med ms"
    fi
}
# wait_until SECONDS SQL: until SQL returns a non-empty result (kept in last_out).
wait_until() {
    local deadline=$(($(now_ms) + $1 * 1000))
    while :; do
        last_out=$(sql -c "$2" 2>/dev/null)
        [ -n "$last_out" ] && return 0
        [ "$(now_ms)" -gt "$deadline" ] && return 1
        sleep 0.02
    done
}
# wait_session NAME SECONDS CONDITION: until the backend of session NAME
# satisfies CONDITION (SQL on pg_stat_activity); last_out is then its pid, else
# last_activity tells what the backend was doing.
wait_session() {
    local me="datname = current_database() AND application_name = 'llmtrace-sessions-$1'"
    wait_until "$2" "SELECT pid FROM pg_stat_activity WHERE $me AND ($3)" && return 0
    last_activity=$(sql -c "SELECT state || coalesce(' waiting for ' || wait_event_type || ':' || wait_event, '')
                            || ' after: ' || left(query, 60) FROM pg_stat_activity WHERE $me" 2>/dev/null)
    last_activity=${last_activity:-no backend}
    return 1
}
first_error() { grep -m1 -E '^(ERROR|FATAL|psql):' "$1" | cut -c1-160; }

# --- 1. concurrent_copy_no_deadlock -------------------------------------------
check_concurrent_copy_no_deadlock() {
    local name=concurrent_copy_no_deadlock n=8 shared=3000 private=300 key=7290417 i
    local dir=$work/copy
    mkdir -p "$dir"
    reset_tables || { fail $name "cannot empty the tables"; return; }
    # One native span per line; no backslashes (COPY text format).
    span_lines() {  # PREFIX COUNT
        awk -v p="$1" -v n="$2" 'BEGIN { for (k = 1; k <= n; k++)
            printf "{\"trace_id\":\"%st%d\",\"span_id\":\"s%d\",\"start_time\":\"2025-01-01T00:00:00Z\",\"name\":\"x\",\"model\":\"gpt-4o\",\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":5}}\n", p, k, k }'
    }
    span_lines "" $shared >"$dir/shared"
    for i in $(seq 1 $n); do
        { cat "$dir/shared"; span_lines "p$i-" $private; } |
            awk -v seed="$i" 'BEGIN { srand(seed) } { printf "%.12f\t%s\n", rand(), $0 }' |
            sort -t "$(printf '\t')" -k1,1 | cut -f2- >"$dir/copy$i"
    done

    # Barrier: the driver holds an advisory lock exclusively; every session first
    # waits for it in shared mode; the driver lets go once all n are waiting.
    PGAPPNAME=llmtrace-sessions-barrier timeout 60 psql -X -q -At -v ON_ERROR_STOP=1 >"$dir/barrier.out" 2>&1 <<SQL &
SELECT pg_advisory_lock($key);
SET statement_timeout = '30s';
DO \$\$ BEGIN
  WHILE (SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = $key AND NOT granted
           AND database = (SELECT oid FROM pg_database WHERE datname = current_database())) < $n LOOP
    PERFORM pg_sleep(0.005);
  END LOOP;
END \$\$;
SELECT pg_advisory_unlock($key);
SQL
    local barrier=$!
    bg_pids+=("$barrier")
    local deadline=$(($(now_ms) + 10000))
    until [ "$(sql -c "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = $key AND granted AND mode = 'ExclusiveLock'" 2>/dev/null)" = 1 ]; do
        [ "$(now_ms)" -gt "$deadline" ] && { fail $name "the barrier session did not take its lock: $(head -c 300 "$dir/barrier.out")"; return; }
        sleep 0.02
    done
    local pids=()
    for i in $(seq 1 $n); do
        PGAPPNAME=llmtrace-sessions-copy$i timeout 60 psql -X -q -At -v ON_ERROR_STOP=1 -v VERBOSITY=verbose -v SHOW_CONTEXT=never \
            -c "SELECT pg_advisory_lock_shared($key)" \
            -c "COPY llmtrace.ingest (payload) FROM STDIN" <"$dir/copy$i" >"$dir/copy$i.out" 2>"$dir/copy$i.err" &
        pids+=("$!")
        bg_pids+=("$!")
    done
    local rc bad=0 errs=()
    for i in $(seq 1 $n); do
        wait "${pids[$((i - 1))]}"
        rc=$?
        if [ $rc -ne 0 ]; then
            bad=$((bad + 1))
            errs+=("$(grep -m1 -oE '(ERROR|FATAL): +[^ ].*' "$dir/copy$i.err" | sed -E 's/^(ERROR|FATAL): +//' | cut -c1-60)")
            [ $rc -eq 124 ] && errs[-1]="no answer within 60 s"
        fi
    done
    wait "$barrier" 2>/dev/null
    local counts spans distinct quarantined expected=$((shared + n * private))
    counts=$(sql -F ' ' -c "SELECT count(*), count(DISTINCT (trace_id, span_id, start_time)) FROM llmtrace.spans;
                             SELECT count(*) FROM llmtrace.ingest_errors" | tr '\n' ' ')
    read -r spans distinct quarantined <<<"$counts"
    local problems=()
    if [ $bad -gt 0 ]; then
        problems+=("$bad of $n COPYs failed ($(printf '%s\n' "${errs[@]}" | sort | uniq -c | awk '{c = $1; $1 = ""; sub(/^ /, ""); printf "%s%s x%d", (NR > 1 ? ", " : ""), $0, c}'))")
    fi
    [ "${spans:-}" = $expected ] && [ "${distinct:-}" = $expected ] ||
        problems+=("${spans:-?} spans stored (${distinct:-?} distinct), expected $expected")
    [ "${quarantined:-}" = 0 ] || problems+=("${quarantined:-?} payloads quarantined")
    # The summaries count every span once, whichever session stored it.
    local summary oracle
    summary=$(sql -c "SELECT llmtrace.refresh_daily_cost_summary()" \
                  -c "SELECT concat_ws(' ', sum(spans), sum(input_tokens), sum(cost_usd)) FROM llmtrace.daily_cost_summary")
    oracle=$(sql -c "SELECT concat_ws(' ', count(*), sum(input_tokens), sum(cost_usd)) FROM llmtrace.spans")
    [ -n "$oracle" ] && [ "$(tail -1 <<<"$summary")" = "$oracle" ] ||
        problems+=("daily summary says $(tail -1 <<<"$summary"), the spans $oracle")
    if [ ${#problems[@]} -eq 0 ]; then
        ok $name "$n COPYs, $expected spans, summaries equal the spans"
    else
        fail $name "$(IFS=';'; echo "${problems[*]}" | sed 's/;/; /g')"
    fi
}

# --- 2. redelivery_while_inserting ---------------------------------------------
check_redelivery_while_inserting() {
    local name=redelivery_while_inserting
    local span='{"trace_id":"redeliver","span_id":"r1","start_time":"2025-01-01T00:00:00Z","model":"gpt-4o","usage":{"prompt_tokens":10,"completion_tokens":5}}'
    reset_tables || { fail $name "cannot empty the tables"; return; }
    sess_open r1
    sess_open r2
    sess_send r1 "BEGIN;"
    sess_send r1 "SELECT 'r1 stored ' || llmtrace.ingest_json('$span');"
    if ! wait_session r1 10 "state = 'idle in transaction' AND query LIKE '%ingest_json%'"; then
        fail $name "first session did not finish its insert: $last_activity $(first_error "$work/r1.err")"; return
    fi
    sess_send r2 "BEGIN;"
    sess_send r2 "SELECT 'r2 stored ' || llmtrace.ingest_json('$span');"
    if ! wait_session r2 10 "state = 'active' AND wait_event_type = 'Lock'"; then
        fail $name "second session did not wait for the first: $last_activity $(first_error "$work/r2.err")"; return
    fi
    sess_send r1 "COMMIT;"
    if ! wait_session r2 10 "state = 'idle in transaction' AND query LIKE '%ingest_json%'"; then
        fail $name "second session still busy after the first committed: $last_activity"; return
    fi
    sess_send r2 "COMMIT;"
    sess_close r1
    sess_close r2
    local rows out1 out2
    rows=$(sql -c "SELECT count(*) FROM llmtrace.spans WHERE trace_id = 'redeliver'")
    out1=$(tr '\n' ' ' <"$work/r1.out")
    out2=$(tr '\n' ' ' <"$work/r2.out")
    if [ "$out1" = "r1 stored 1 " ] && [ "$out2" = "r2 stored 0 " ] && [ "$rows" = 1 ] && [ ! -s "$work/r1.err" ] && [ ! -s "$work/r2.err" ]; then
        ok $name
    else
        fail $name "first returned '${out1% }', second '${out2% }', $rows rows; errors: $(first_error "$work/r1.err") $(first_error "$work/r2.err")"
    fi
}

# --- payloads of cancel_is_fast and terminate_is_fast ---------------------------
payloads_ready=
make_payloads() {
    [ -n "$payloads_ready" ] && return "$payloads_ready"
    local p=$work/payloads
    mkdir -p "$p" && chmod 755 "$p"
    # Payloads are just under llmtrace.max_payload_bytes (default 8MB): the
    # largest a writer can send. (The parse of one document is the one step
    # that cannot see a cancel; the limit bounds it.)
    # (a) a JSON array of 48,000 small native spans
    awk 'BEGIN { printf "["; for (i = 1; i <= 48000; i++)
        printf "%s{\"trace_id\":\"arr%d\",\"span_id\":\"s%d\",\"start_time\":\"2025-01-02T00:00:00Z\",\"name\":\"x\",\"model\":\"gpt-4o\",\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":5}}", (i > 1 ? "," : ""), int(i / 10), i
        print "]" }' >"$p/array.json"
    # (b) one native span whose metadata object has 430,000 keys
    awk 'BEGIN { printf "{\"trace_id\":\"meta\",\"span_id\":\"m1\",\"start_time\":\"2025-01-02T00:00:00Z\",\"metadata\":{"
        for (i = 1; i <= 430000; i++) printf "%s\"k%d\":%d", (i > 1 ? "," : ""), i, i
        print "}}" }' >"$p/metadata.json"
    # (c) OTLP: 5,000 resource attributes, 5,000 spans
    awk 'BEGIN { printf "{\"resourceSpans\":[{\"resource\":{\"attributes\":["
        for (i = 1; i <= 5000; i++) printf "%s{\"key\":\"res.attr.%d\",\"value\":{\"stringValue\":\"value %d\"}}", (i > 1 ? "," : ""), i, i
        printf "]},\"scopeSpans\":[{\"scope\":{\"name\":\"sessions\"},\"spans\":["
        for (i = 1; i <= 5000; i++) printf "%s{\"traceId\":\"%032x\",\"spanId\":\"%016x\",\"name\":\"chat\",\"startTimeUnixNano\":\"1735776000000000000\",\"endTimeUnixNano\":\"1735776001000000000\",\"attributes\":[{\"key\":\"gen_ai.request.model\",\"value\":{\"stringValue\":\"gpt-4o\"}},{\"key\":\"gen_ai.usage.input_tokens\",\"value\":{\"intValue\":\"10\"}}]}", (i > 1 ? "," : ""), 1 + int(i / 100), i
        print "]}]}]}" }' >"$p/otlp.json"
    # (d) 7.5 MB of invalid JSON: a valid prefix (an array of spans), truncated
    awk 'BEGIN { printf "["; for (i = 1; i <= 300000; i++)
        printf "%s{\"trace_id\":\"inv%d\",\"span_id\":\"s%d\",\"start_time\":\"2025-01-02T00:00:00Z\",\"name\":\"x\",\"model\":\"gpt-4o\",\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":5}}", (i > 1 ? "," : ""), int(i / 10), i }' |
        head -c 7500000 >"$p/invalid.json"
    # (e) the densest document: 7.5 MB of [0,0,0,...] (the most parser work per byte)
    awk 'BEGIN { printf "["; for (i = 1; i < 3750000; i++) printf "0,"; print "0]" }' >"$p/zeros.json"
    # (f) 40 MB: above the limit, refused before it is parsed
    awk 'BEGIN { printf "["; for (i = 1; i <= 260000; i++)
        printf "%s{\"trace_id\":\"big%d\",\"span_id\":\"s%d\",\"start_time\":\"2025-01-02T00:00:00Z\",\"name\":\"x\",\"model\":\"gpt-4o\",\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":5}}", (i > 1 ? "," : ""), int(i / 10), i
        print "]" }' >"$p/toolarge.json"
    chmod 644 "$p"/*.json
    # The server must be able to read them (and their pages are then cached).
    local f sizes
    for f in array metadata otlp invalid zeros toolarge; do
        if ! sizes=$(sql -c "SELECT octet_length(pg_read_file('$p/$f.json'))" 2>&1) ||
            [ "$sizes" != "$(stat -c %s "$p/$f.json")" ]; then
            payload_error="the server cannot read $p/$f.json (is the cluster on this machine?): $(head -c 200 <<<"$sizes")"
            payloads_ready=1
            return 1
        fi
    done
    payloads_ready=0
}

# cancel_try FILE: one try; sets try_ms (elapsed of the statement), try_load_ms
# (reading the file alone, in the same session), try_state (57014 = cancelled by
# the timeout, 00000 = completed, another SQLSTATE, "hung" or "dead") and
# try_alive (yes/no).
cancel_try() {
    local out=$work/try.out err=$work/try.err rc
    PGAPPNAME=llmtrace-sessions-cancel timeout "$TRY_SECONDS" psql -X -q -At \
        -v payload="$1" -v timeout="${TIMEOUT_MS}ms" -f "$here/cancel_try.sql" >"$out" 2>"$err"
    rc=$?
    try_load_ms=$(sed -nE 's/^Time: ([0-9.]+) ms.*/\1/p' "$out" | sed -n 1p)
    try_ms=$(sed -nE 's/^Time: ([0-9.]+) ms.*/\1/p' "$out" | sed -n 2p)
    try_state=$(sed -nE 's/^sqlstate (.*)/\1/p' "$out" | tail -1)
    try_alive=no
    grep -qx alive "$out" && [ $rc -eq 0 ] && try_alive=yes
    if [ $rc -eq 124 ]; then
        try_state=hung
        try_ms=$((TRY_SECONDS * 1000))
        reap >/dev/null 2>&1
    elif [ -z "$try_state" ]; then
        try_state=dead
    fi
    [ -z "$try_ms" ] && try_ms=$((TRY_SECONDS * 1000))
    try_err=$(grep -m1 -E '^(ERROR|FATAL|psql)' "$err" | cut -c1-120)
}

# --- 3. cancel_is_fast ----------------------------------------------------------
check_cancel_is_fast() {
    local name=cancel_is_fast f t over overs results=() problems=() all_ok=1 med label
    make_payloads || { fail $name "$payload_error"; return; }
    reset_tables || { fail $name "cannot empty the tables"; return; }
    local start0
    start0=$(sql -c "SELECT pg_postmaster_start_time()")
    for f in array metadata otlp invalid zeros toolarge; do
        overs=()
        for t in $(seq 1 $TRIES); do
            cancel_try "$work/payloads/$f.json"
            # Time beyond the timeout (a statement that completed first counts 0).
            # The ingest cannot see the cancel before PostgreSQL has read the file:
            # if that alone takes longer than the timeout, count from its end.
            over=$(awk -v e="$try_ms" -v t=$TIMEOUT_MS -v l="${try_load_ms:-0}" \
                'BEGIN { if (l > t) t = l; d = e - t; printf "%d", (d < 0 ? 0 : d + 0.5) }')
            overs+=("$over")
            case $try_state in
            57014 | 00000) ;;
            *) problems+=("$f: try $t ended with ${try_state}${try_err:+ ($try_err)}") ;;
            esac
            [ "$try_alive" = yes ] || problems+=("$f: the session did not answer SELECT after try $t")
            [ "$try_state" = hung ] && break   # no more minutes on this payload
        done
        verdict "$f" "${overs[@]}"
        results+=("$label")
        [ "$med" -ge $LIMIT_MS ] && all_ok=0
    done
    [ "$(sql -c "SELECT pg_postmaster_start_time()")" = "$start0" ] || problems+=("the server restarted")
    local summary
    summary=$(IFS=,; echo "${results[*]}" | sed 's/,/, /g')
    if [ $all_ok = 1 ] && [ ${#problems[@]} -eq 0 ]; then
        ok $name "$summary"
    else
        fail $name "$summary (from the ${TIMEOUT_MS} ms statement_timeout to the error, median of $TRIES, limit $LIMIT_MS ms)${problems[*]:+; $(IFS=';'; echo "${problems[*]}" | sed 's/;/; /g')}"
    fi
}

# --- 4. terminate_is_fast -------------------------------------------------------
postmaster_id() {
    local pid=
    [ -n "${PGDATA:-}" ] && [ -r "$PGDATA/postmaster.pid" ] && pid=$(head -1 "$PGDATA/postmaster.pid")
    echo "$(sql -c "SELECT pg_postmaster_start_time()") ${pid}"
}

check_terminate_is_fast() {
    local name=terminate_is_fast t pid t0 t1 ms times=() problems=() id0 vpid med label
    make_payloads || { fail $name "$payload_error"; return; }
    reset_tables || { fail $name "cannot empty the tables"; return; }
    id0=$(postmaster_id)
    for t in $(seq 1 $TRIES); do
        rm -f "$work/victim.end"
        # The killer is connected before anything is timed.
        sess_open killer
        sess_send killer "SELECT 'killer ready';"
        if ! wait_session killer 10 "state = 'idle' AND query LIKE '%killer ready%'"; then
            problems+=("try $t: the killer session did not connect: $(first_error "$work/killer.err")")
            reap >/dev/null 2>&1
            continue
        fi
        (
            close_sess_fds
            PGAPPNAME=llmtrace-sessions-victim timeout "$TRY_SECONDS" psql -X -q -At \
                -v payload="$work/payloads/array.json" -f "$here/terminate_victim.sql" >"$work/victim.out" 2>"$work/victim.err"
            echo $(($(date +%s%N) / 1000)) >"$work/victim.end"   # when the client saw its session end (us)
        ) &
        vpid=$!
        bg_pids+=("$vpid")
        if ! wait_session victim 10 "state = 'active' AND query LIKE '%pg_read_file%'"; then
            problems+=("try $t: the ingest did not start: $last_activity $(first_error "$work/victim.err")")
            reap >/dev/null 2>&1
            continue
        fi
        pid=$last_out
        sleep "0.$((100 + RANDOM % 300))"   # a random moment 100-400 ms into the ingest
        t0=$(($(date +%s%N) / 1000))
        sess_send killer "SELECT 'terminated ' || pg_terminate_backend($pid);"
        wait "$vpid" 2>/dev/null
        sess_close killer
        if [ -s "$work/victim.end" ]; then
            t1=$(cat "$work/victim.end")
            ms=$(((t1 - t0 + 500) / 1000))
        else
            ms=$((TRY_SECONDS * 1000))
        fi
        grep -qx 'terminated true' "$work/killer.out" ||
            problems+=("try $t: pg_terminate_backend did not succeed: $(tr '\n' ' ' <"$work/killer.out") $(first_error "$work/killer.err")")
        if grep -qx survived "$work/victim.out"; then
            problems+=("try $t: the ingest completed before it was terminated")
        elif ! grep -q 'terminating connection due to administrator command' "$work/victim.err"; then
            problems+=("try $t: the session ended with: $(first_error "$work/victim.err")")
        fi
        wait_until 10 "SELECT 'gone' WHERE NOT EXISTS (SELECT FROM pg_stat_activity WHERE pid = $pid)" >/dev/null ||
            problems+=("try $t: backend $pid still present 10 s after its client left")
        reap >/dev/null 2>&1
        times+=("$ms")
        [ "$ms" -ge $((TRY_SECONDS * 1000)) ] && break   # no more minutes on this
    done
    [ "$(postmaster_id)" = "$id0" ] || problems+=("the server restarted ($id0 -> $(postmaster_id))")
    if [ ${#times[@]} -eq 0 ]; then
        fail $name "$(IFS=';'; echo "${problems[*]}" | sed 's/;/; /g')"
        return
    fi
    verdict array "${times[@]}"
    if [ "$med" -lt $LIMIT_MS ] && [ ${#problems[@]} -eq 0 ]; then
        ok $name "$label"
    else
        fail $name "$label (from pg_terminate_backend until the session ended, median of $TRIES, limit $LIMIT_MS ms)${problems[*]:+; $(IFS=';'; echo "${problems[*]}" | sed 's/;/; /g')}"
    fi
}

# --- 5. maintenance_during_ingest ---------------------------------------------
check_maintenance_during_ingest() {
    local name=maintenance_during_ingest writers=2 stmts=300 per=20 rounds=60 w d k
    local dir=$work/maint
    mkdir -p "$dir"
    reset_tables || { fail $name "cannot empty the tables"; return; }
    # Old days (200 and 201 days ago) with a partition each, for retention to drop.
    sql -c "SELECT llmtrace.ingest_json(format('[{\"trace_id\":\"old\",\"span_id\":\"1\",\"start_time\":\"%s\"},{\"trace_id\":\"old\",\"span_id\":\"2\",\"start_time\":\"%s\"}]',
                to_char(now() - interval '200 days', 'YYYY-MM-DD\"T\"12:00:00\"Z\"'),
                to_char(now() - interval '201 days', 'YYYY-MM-DD\"T\"12:00:00\"Z\"')))" >/dev/null &&
        sql -c "SELECT llmtrace.maintain(0)" >/dev/null ||
        { fail $name "cannot set up the old days"; return; }
    # Days the writers write: today, yesterday and back-filled days without a
    # partition (their spans land in the default partition until maintain()).
    local days=()
    for d in 0 1 33 47 61; do days+=("$(date -u -d "$d days ago" +%Y-%m-%d)"); done
    for w in $(seq 1 $writers); do
        {
            echo '\timing on'
            for k in $(seq 1 $stmts); do
                printf "SELECT llmtrace.ingest_json('["
                for d in $(seq 1 $per); do
                    [ "$d" -gt 1 ] && printf ','
                    printf '{"trace_id":"mdi-%s-%s","span_id":"%s","start_time":"%sT12:%02d:00Z","model":"gpt-4o","usage":{"prompt_tokens":10,"completion_tokens":5}}' \
                        "$w" "$k" "$d" "${days[$(((k + d) % ${#days[@]}))]}" "$((d % 60))"
                done
                echo "]');"
            done
        } >"$dir/writer$w.sql"
    done
    {
        echo "SET llmtrace.maintenance_lock_timeout = '200ms';"
        echo "SET llmtrace.retention_days = 100;"
        for k in $(seq 1 $rounds); do
            echo "SELECT * FROM llmtrace.maintain(2);"
            echo "SELECT * FROM llmtrace.apply_retention();"
            echo "SELECT pg_sleep(0.05);"
        done
    } >"$dir/maint.sql"
    for w in $(seq 1 $writers); do
        PGAPPNAME=llmtrace-sessions-writer$w timeout 300 psql -X -q -At -v ON_ERROR_STOP=1 -f "$dir/writer$w.sql" \
            >"$dir/writer$w.out" 2>"$dir/writer$w.err" &
        bg_pids+=($!)
    done
    PGAPPNAME=llmtrace-sessions-maint timeout 300 psql -X -q -At -v ON_ERROR_STOP=1 -f "$dir/maint.sql" \
        >"$dir/maint.out" 2>"$dir/maint.err" &
    bg_pids+=($!)
    local pid rc=0
    for pid in "${bg_pids[@]}"; do wait "$pid" || rc=1; done
    bg_pids=()
    local problems=()
    for w in $(seq 1 $writers); do
        [ -s "$dir/writer$w.err" ] && problems+=("writer $w: $(first_error "$dir/writer$w.err")")
    done
    [ -s "$dir/maint.err" ] && problems+=("maintenance: $(first_error "$dir/maint.err")")
    [ $rc -ne 0 ] && [ ${#problems[@]} -eq 0 ] && problems+=("a session failed")
    sql -c "SELECT llmtrace.maintain(0)" >/dev/null || problems+=("the final maintain() failed")
    local expected=$((writers * stmts * per))
    local got misplaced in_default old busy moved slowest
    got=$(sql -c "SELECT count(*) FROM llmtrace.spans WHERE trace_id LIKE 'mdi-%'")
    misplaced=$(sql -c "SELECT count(*) FROM llmtrace.spans s WHERE s.trace_id LIKE 'mdi-%'
                          AND s.tableoid::regclass::text <> 'llmtrace.spans_p' || to_char(s.start_time AT TIME ZONE 'UTC', 'YYYYMMDD')")
    in_default=$(sql -c "SELECT count(*) FROM llmtrace.spans_default")
    old=$(sql -c "SELECT count(*) FROM llmtrace.spans WHERE trace_id = 'old'")
    # maintain() rows: partitions_created|days_moved|rows_moved|days_busy
    busy=$(awk -F'|' 'NF == 4 && $2 ~ /^[0-9]+$/ { b += $4 } END { print b + 0 }' "$dir/maint.out")
    moved=$(awk -F'|' 'NF == 4 && $2 ~ /^[0-9]+$/ { m += $3 } END { print m + 0 }' "$dir/maint.out")
    slowest=$(cat "$dir"/writer*.out | awk '/^Time: / { if ($2 > m) m = $2 } END { printf "%d", m }')
    [ "$got" = "$expected" ] || problems+=("$got spans stored of $expected")
    [ "$misplaced" = 0 ] || problems+=("$misplaced spans outside the partition of their day")
    [ "$in_default" = 0 ] || problems+=("$in_default spans left in the default partition")
    [ "$old" = 0 ] || problems+=("the old days were not dropped")
    [ "${slowest:-0}" -lt 5000 ] || problems+=("a writer statement took ${slowest} ms")
    if [ ${#problems[@]} -eq 0 ]; then
        ok $name "$expected spans, $moved moved out of the default partition meanwhile, writers' slowest statement ${slowest} ms, busy skips $busy"
    else
        fail $name "$(IFS=';'; echo "${problems[*]}" | sed 's/;/; /g')"
    fi
}

# --- main -------------------------------------------------------------------------
setup_err=$(
    timeout 60 psql -X -q -d postgres -v ON_ERROR_STOP=1 -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" 2>&1 &&
        timeout 60 psql -X -q -d postgres -v ON_ERROR_STOP=1 -c "CREATE DATABASE $DB TEMPLATE template0 ENCODING 'UTF8' LOCALE 'C'" 2>&1 &&
        sql -c "CREATE EXTENSION llmtrace" 2>&1
) || {
    echo "FAILED - setup: cannot create database $DB with llmtrace: $(head -c 300 <<<"$setup_err")"
    echo "0 passed, 1 failed"
    exit 1
}

for c in "${checks[@]}"; do
    "check_$c"
    reap >/dev/null 2>&1
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
