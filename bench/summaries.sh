#!/usr/bin/env bash
# llmtrace summaries benchmark: what the summaries (rollup deltas written at ingest, folded
# into hourly and daily rollups, llmtrace.daily_cost_summary) cost the ingest, whether
# concurrent writers into one group wait on each other, and how fast the summaries are read
# and refreshed over 5,000,000 stored spans compared with computing them from the spans.
# Starts its own throwaway cluster, prints each figure with its requirement and PASS/FAIL,
# and a summary table at the end. See bench/README.md.
#
#   bash bench/summaries.sh                                           # the full run (10-25 min)
#   N=2000 ROUNDS=2 PGBENCH_SECONDS=5 SPANS_5M=200000 bash bench/summaries.sh   # a quick one
#
# Exit status 0 when every part ran, whether its requirements passed or not (it is a
# benchmark: read the PASS/FAIL column); 1 when a part failed to run (an error, the log
# says which) or something was quarantined.
#
# Environment:
#   PARTS              which parts to run                                  (1 2 3 4)
#   N                  part 1: payloads of the gen_workload.sql workload   (20000)
#   ROUNDS             part 1: COPY rounds, each one rollups on + one off  (9)
#   PGBENCH_SECONDS    parts 2 and 3: seconds of each pgbench run          (20)
#   PGBENCH_RUNS       part 2: pgbench runs per setting (on, off)          (3)
#   PGBENCH_CLIENTS    part 2: pgbench clients (and threads)               (2)
#   HOT_CLIENTS        part 3: client counts                               (1 2 4 8)
#   HOT_ROUNDS         part 3: runs per client count (ascending, then descending)  (2)
#   HOT_SECONDS        part 3: seconds of each run                         (PGBENCH_SECONDS)
#   SAMPLE_INTERVAL    part 3: seconds between pg_stat_activity samples    (0.2)
#   SPANS_5M           part 4: spans stored                                (5000000)
#   DAYS               part 4: days they are spread over (up to now)       (90)
#   CHUNKS             part 4: COPYs they are loaded in, each followed by a refresh  (10)
#   PER_PAYLOAD        part 4: spans per payload (a JSON array)            (50)
#   USERS              part 4: distinct users (~3 sessions each)           (3000)
#   NEW_SPANS          part 4: spans of each new ingest before a refresh   (10000)
#   REFRESH_RUNS       part 4: new ingest + refresh repetitions            (3)
#   READ_RUNS          part 4: timed runs of each read (after one warm-up) (7)
#   FROMSPANS_RUNS     part 4: runs of the summary computed from the spans (2)
#   FROMSPANS_WORK_MEM part 4: work_mem of that query                      (256MB)
#   SEED               setseed() of gen_workload.sql                       (0.42)
#   PORT               port of the throwaway cluster                       (5496)
#   KEEP_WORKDIR       1: keep the temporary directory (cluster, files, logs)  (0)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)

PARTS=${PARTS:-1 2 3 4}
N=${N:-20000}
ROUNDS=${ROUNDS:-9}
PGBENCH_SECONDS=${PGBENCH_SECONDS:-20}
PGBENCH_RUNS=${PGBENCH_RUNS:-3}
PGBENCH_CLIENTS=${PGBENCH_CLIENTS:-2}
HOT_CLIENTS=${HOT_CLIENTS:-1 2 4 8}
HOT_ROUNDS=${HOT_ROUNDS:-2}
HOT_SECONDS=${HOT_SECONDS:-$PGBENCH_SECONDS}
SAMPLE_INTERVAL=${SAMPLE_INTERVAL:-0.2}
SPANS_5M=${SPANS_5M:-5000000}
DAYS=${DAYS:-90}
CHUNKS=${CHUNKS:-10}
PER_PAYLOAD=${PER_PAYLOAD:-50}
USERS=${USERS:-3000}
NEW_SPANS=${NEW_SPANS:-10000}
REFRESH_RUNS=${REFRESH_RUNS:-3}
READ_RUNS=${READ_RUNS:-7}
FROMSPANS_RUNS=${FROMSPANS_RUNS:-2}
FROMSPANS_WORK_MEM=${FROMSPANS_WORK_MEM:-256MB}
SEED=${SEED:-0.42}
PORT=${PORT:-5496}
KEEP_WORKDIR=${KEEP_WORKDIR:-0}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/llmtrace-summaries.XXXXXX")
chmod 755 "$WORK"          # the cluster runs as another OS user when we are root
CLUSTER=$WORK/cluster
LOG=$WORK/bench.log
RESULTS=$WORK/results.tsv  # figure <TAB> value <TAB> requirement <TAB> verdict
PIDS=$WORK/pids            # background processes started by this script
: >"$RESULTS"
: >"$PIDS"
PART_ERRORS=0

cleanup() {
    local rc=$?
    local pid
    while read -r pid; do
        [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
    done <"$PIDS"
    finish_run "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

export PGHOST=$CLUSTER/socket PGPORT=$PORT PGUSER=postgres PGDATABASE=postgres
unset PGOPTIONS PGAPPNAME
PSQL=(psql -X -q -v ON_ERROR_STOP=1)
BIGDB=llmtrace_5m

say() { printf '%s\n' "$*"; }
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"
# the numbers on stdin on one line
list() { paste -sd' ' -; }
qdb() { "${PSQL[@]}" -d "$1" -At -c "$2"; }
calc() { awk "BEGIN { $1 }"; }
# verdict of "a >= b" / "a < b"
ge() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || a == "nan" || b == "") print "n/a"; else print (a + 0 >= b + 0) ? "PASS" : "FAIL" }'; }
lt() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || a == "nan" || b == "") print "n/a"; else print (a + 0 < b + 0) ? "PASS" : "FAIL" }'; }
result() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >>"$RESULTS"; }
# a command with llmtrace.rollups on or off in its sessions (superuser-only setting)
rollups() { local v=$1; shift; PGOPTIONS="-c llmtrace.rollups=$v" "$@"; }
# Milliseconds of each run of a statement, one per line: `timed DB RUNS SQL;` runs the
# statement RUNS times in one session (psql \timing, results discarded).
timed() {
    local db=$1 runs=$2 sql=$3 i
    { echo '\timing on'; echo '\o /dev/null'
      for ((i = 0; i < runs; i++)); do printf '%s\n' "$sql"; done; } |
        "${PSQL[@]}" -d "$db" 2>>"$LOG" | awk '/^Time: / { print $2 }'
}
# The summary tables of the installed version: the tables of schema llmtrace but the spans
# (and their partitions), ingest_errors, the prices and what configures the extension
# (the hash secret, the project bindings).
SUMMARY_TABLES_SQL="SELECT c.oid::regclass::text AS t, c.relname FROM pg_class c
    WHERE c.relnamespace = 'llmtrace'::regnamespace AND c.relkind IN ('r', 'p') AND NOT c.relispartition
      AND c.relname NOT IN ('spans', 'ingest_errors', 'model_prices', 'prices_version', 'hash_secret',
                            'project_roles')"
# Empties the spans and every summary table of a database and checkpoints.
reset_all() {
    local tables
    tables=$(qdb "${1:-postgres}" "SELECT string_agg(t, ', ' ORDER BY t) FROM ($SUMMARY_TABLES_SQL) x")
    qdb "${1:-postgres}" "TRUNCATE llmtrace.spans, llmtrace.ingest_errors${tables:+, $tables}" >>"$LOG"
    qdb "${1:-postgres}" 'CHECKPOINT' >>"$LOG"
}
# Rows waiting to be folded: the sum over the tables named *deltas, and each of them.
deltas() {
    qdb "${1:-postgres}" "SELECT coalesce(sum(n), 0) || ' deltas' || coalesce(' (' || string_agg(relname || ' ' || n, ', ' ORDER BY relname) || ')', '')
        FROM (SELECT relname, (xpath('/row/n/text()', query_to_xml('SELECT count(*) AS n FROM ' || t, false, true, '')))[1]::text::bigint AS n
              FROM ($SUMMARY_TABLES_SQL) x WHERE relname LIKE '%deltas') y"
}
# Rows and size of each summary table (and of the view), on one line.
summary_sizes() {
    qdb "$1" "SELECT string_agg(relname || ' ' || n || ' rows ' || pg_size_pretty(pg_total_relation_size(t::regclass)), ', ' ORDER BY relname)
        FROM (SELECT t, relname, (xpath('/row/n/text()', query_to_xml('SELECT count(*) AS n FROM ' || t, false, true, '')))[1]::text::bigint AS n
              FROM ($SUMMARY_TABLES_SQL
                    UNION ALL SELECT 'llmtrace.daily_cost_summary_data', 'daily_cost_summary_data') x) y"
}
# The scheduler's work: the live fold and the daily refresh, one after the other in one
# session; prints the milliseconds of each ('fold refresh').
scheduler_tick() {
    timed "$1" 1 'SELECT llmtrace.fold_rollups(); SELECT llmtrace.refresh_daily_cost_summary();' | list
}
# A fingerprint of the installed extension (library and scripts): another `make install`
# during the run would make its figures mix two builds.
INSTALLED_FILES=("$(pg_config --pkglibdir)/llmtrace.so" "$(pg_config --sharedir)"/extension/llmtrace*)
installed() { cat "${INSTALLED_FILES[@]}" 2>/dev/null | md5sum | cut -c1-12; }
INSTALLED_AT_START=$(installed)
check_installed() { # after what
    local now_sum
    now_sum=$(installed)
    if [ "$now_sum" != "$INSTALLED_AT_START" ]; then
        say "   WARNING: the installed extension changed during the run (before the end of $1): figures from here on may mix two builds"
        result "installed extension unchanged ($1)" "changed" "unchanged" WARN
        INSTALLED_AT_START=$now_sum
    fi
}
# Nothing of a valid workload may be quarantined: prints the first errors and flags the run.
check_quarantine() { # db, what was run
    local n
    n=$(qdb "$1" 'SELECT count(*) FROM llmtrace.ingest_errors')
    [ "$n" = 0 ] && return 0
    say "   QUARANTINED: $2: $n rows in llmtrace.ingest_errors (every payload is valid). First errors:"
    "${PSQL[@]}" -d "$1" -c "SELECT error, sqlstate, left(payload, 160) AS payload
                             FROM llmtrace.ingest_errors ORDER BY id LIMIT 5"
    result "nothing quarantined ($2)" "$n rows" "0" FAIL
    echo 1 >"$WORK/quarantined"
}
# Runs a part in a subshell with errexit; an error ends that part only.
run_part() {
    local name=$1 rc
    shift
    set +e
    ( set -e; "$@" )
    rc=$?
    set -e
    if [ "$rc" != 0 ]; then
        say "   PART $name FAILED TO RUN (status $rc); see $LOG"
        result "part $name" "error (status $rc)" "runs" ERROR
        PART_ERRORS=$((PART_ERRORS + 1))
    fi
}
want() { [[ " $PARTS " == *" $1 "* ]]; }

say "== cluster on port $PORT in $WORK"
"$ROOT/scripts/pgcluster.sh" start "$CLUSTER" "$PORT" >>"$LOG"
"${PSQL[@]}" -c 'CREATE EXTENSION llmtrace' >>"$LOG"
say "llmtrace $(q "SELECT extversion FROM pg_extension WHERE extname = 'llmtrace'") (installed library of $(date -u -r "${INSTALLED_FILES[0]}" '+%Y-%m-%d %H:%M:%S UTC'), fingerprint $INSTALLED_AT_START), PostgreSQL $(q 'SHOW server_version'), $(nproc) CPUs"
"${PSQL[@]}" >>"$LOG" <<'SQL'
SET client_min_messages = warning;
CREATE SCHEMA bench_sum;
-- the payloads of the single-row INSERT runs (part 2)
CREATE TABLE bench_sum.lines (id serial PRIMARY KEY, payload text NOT NULL);

-- Samples the backends of application `app` every `step` seconds until they are gone (or
-- max_secs): how many samples saw one of them wait on a heavyweight lock (wait_event_type
-- Lock), how many saw an ungranted lock on a relation of schema llmtrace, how many saw a
-- Lock wait other than the relation extension lock (wait_event extend), the wait events
-- seen (event: backend-samples) and the ungranted locks (locktype:relation: samples).
-- It writes nothing, so it holds no transaction id.
CREATE FUNCTION bench_sum.sample_waits(app text, step float8, max_secs float8)
RETURNS TABLE (samples int, lock_samples int, llmtrace_lock_samples int, other_lock_samples int,
               busy int, waits text, locks text)
LANGUAGE plpgsql AS $$
DECLARE
    t_end timestamptz := clock_timestamp() + make_interval(secs => max_secs);
    seen  boolean := false;
    n int; nl int; nll int; nlo int; nb int;
    we jsonb := '{}';
    lk jsonb := '{}';
    r record;
    ks text[];
    kk text;
BEGIN
    samples := 0; lock_samples := 0; llmtrace_lock_samples := 0; other_lock_samples := 0; busy := 0;
    WHILE clock_timestamp() < t_end LOOP
        PERFORM pg_stat_clear_snapshot();
        SELECT count(*), count(*) FILTER (WHERE a.wait_event_type = 'Lock'),
               count(*) FILTER (WHERE a.wait_event_type = 'Lock' AND a.wait_event <> 'extend'),
               count(*) FILTER (WHERE a.state = 'active')
          INTO n, nl, nlo, nb
          FROM pg_stat_activity a WHERE a.application_name = app;
        IF n = 0 THEN
            EXIT WHEN seen;
        ELSE
            seen := true;
            samples := samples + 1;
            busy := busy + nb;
            FOR r IN SELECT a.wait_event_type || ':' || a.wait_event AS k, count(*) AS c
                     FROM pg_stat_activity a
                     WHERE a.application_name = app AND a.wait_event IS NOT NULL
                     GROUP BY 1 LOOP
                we := we || jsonb_build_object(r.k, coalesce((we ->> r.k)::int, 0) + r.c);
            END LOOP;
            -- the ungranted locks of those backends, in one look at pg_locks
            SELECT count(*) FILTER (WHERE s.nspname = 'llmtrace'),
                   array_agg(DISTINCT l.locktype || ':' || coalesce(l.relation::regclass::text, '-'))
              INTO nll, ks
              FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
              LEFT JOIN pg_class c ON c.oid = l.relation
              LEFT JOIN pg_namespace s ON s.oid = c.relnamespace
             WHERE NOT l.granted AND a.application_name = app;
            IF nl > 0 OR nll > 0 THEN
                lock_samples := lock_samples + (nl > 0)::int;
                other_lock_samples := other_lock_samples + (nlo > 0)::int;
                llmtrace_lock_samples := llmtrace_lock_samples + (nll > 0)::int;
                FOR kk IN SELECT unnest(ks) LOOP
                    lk := lk || jsonb_build_object(kk, coalesce((lk ->> kk)::int, 0) + 1);
                END LOOP;
            END IF;
        END IF;
        PERFORM pg_sleep(step);
    END LOOP;
    waits := (SELECT coalesce(string_agg(key || ' ' || value, ', ' ORDER BY value::int DESC, key), '-')
              FROM jsonb_each_text(we));
    locks := (SELECT coalesce(string_agg(key || ' ' || value, ', ' ORDER BY value::int DESC, key), '-')
              FROM jsonb_each_text(lk));
    RETURN NEXT;
END
$$;
SQL
# The workload days (gen_workload.sql: the 3 days before today) get their partitions.
q "SELECT llmtrace.ensure_partitions(current_date - 4, current_date + 1)" >>"$LOG"

# ---------------------------------------------------------------------------
# 1. COPY of the realistic workload, rollups on vs off.
# ---------------------------------------------------------------------------
part1() {
    local WORKLOAD=$WORK/workload.copy t0 secs spans r s order line payloads
    say ""
    say "== 1. COPY of the gen_workload.sql workload ($N payloads), rollups on vs off, $ROUNDS rounds"
    t0=$(now)
    "${PSQL[@]}" -v n="$N" -v seed="$SEED" -v out="$WORKLOAD" -f "$HERE/gen_workload.sql" >>"$LOG"
    "${PSQL[@]}" -c "\\copy bench_sum.lines (payload) FROM '$WORKLOAD'" >>"$LOG"
    q 'ANALYZE bench_sum.lines' >>"$LOG"
    payloads=$(q 'SELECT count(*) FROM bench_sum.lines')
    say "   generated $payloads payloads, $(calc "printf \"%.1f\", $(wc -c <"$WORKLOAD") / 1e6") MB, in $(elapsed "$t0" "$(now)") s"
    : >"$WORK/copy.on"; : >"$WORK/copy.off"; : >"$WORK/fold.on"; : >"$WORK/refresh.on"
    for ((r = 0; r < ROUNDS; r++)); do
        if ((r % 2 == 0)); then order=(on off); else order=(off on); fi
        line="   round $((r + 1)):"
        for s in "${order[@]}"; do
            reset_all
            t0=$(now)
            rollups "$s" "${PSQL[@]}" -c "\\copy llmtrace.ingest (payload) FROM '$WORKLOAD'" >>"$LOG"
            secs=$(elapsed "$t0" "$(now)")
            echo "$secs" >>"$WORK/copy.$s"
            check_quarantine postgres "COPY rollups $s, round $((r + 1))"
            spans=$(q 'SELECT count(*) FROM llmtrace.spans')
            echo "$spans" >"$WORK/spans.$s"
            line+=" $s ${secs}s"
            if [ "$s" = on ]; then
                # not part of the ingest: what the scheduler's work on these deltas costs
                local dl tick check
                dl=$(deltas)
                tick=$(scheduler_tick postgres)
                echo "${tick% *}" >>"$WORK/fold.on"; echo "${tick#* }" >>"$WORK/refresh.on"
                echo "$dl" >"$WORK/deltas.on"
                # every stored span is in the live summary and in the daily view
                check=$(q "SELECT (SELECT spans FROM llmtrace.metrics_summary(24 * 5) WHERE is_total)
                                  || ' ' || (SELECT coalesce(sum(spans), 0) FROM llmtrace.daily_cost_summary)
                                  || ' ' || (SELECT count(*) FROM llmtrace.spans)")
                read -r c_live c_view c_spans <<<"$check"
                if [ "$c_live" != "$c_spans" ] || [ "$c_view" != "$c_spans" ]; then
                    say "   MISMATCH: llmtrace.spans holds $c_spans spans, metrics_summary(120) counts $c_live, daily_cost_summary $c_view"
                    result "summaries count every stored span (part 1)" "$c_live, $c_view vs $c_spans" "equal" FAIL
                fi
                line+=" ($dl; then fold_rollups() ${tick% *} ms, refresh_daily_cost_summary() ${tick#* } ms)"
            else
                local deltas_off
                deltas_off=$(deltas)
                if [ "${deltas_off%% *}" != 0 ]; then
                    say "   NOTE: rollups off still wrote deltas: $deltas_off"
                fi
            fi
        done
        say "$line"
    done
    local mon moff pon poff ratio
    mon=$(median <"$WORK/copy.on"); moff=$(median <"$WORK/copy.off")
    pon=$(calc "printf \"%.0f\", $payloads / $mon"); poff=$(calc "printf \"%.0f\", $payloads / $moff")
    ratio=$(calc "printf \"%.3f\", $moff / $mon")
    say ""
    printf '   %-12s %10s %12s %10s %10s   %s\n' rollups 'median s' payloads/s spans/s spans 'all rounds (s)'
    printf '   %-12s %10.3f %12s %10.0f %10s   %s\n' on "$mon" "$pon" "$(calc "print $(cat "$WORK/spans.on") / $mon")" "$(cat "$WORK/spans.on")" "$(list <"$WORK/copy.on")"
    printf '   %-12s %10.3f %12s %10.0f %10s   %s\n' off "$moff" "$poff" "$(calc "print $(cat "$WORK/spans.off") / $moff")" "$(cat "$WORK/spans.off")" "$(list <"$WORK/copy.off")"
    say "   throughput ratio on/off: $ratio  (requirement >= 0.90: $(ge "$ratio" 0.90))"
    say "   after each rollups-on COPY (not timed with it), the scheduler's work on its $(cat "$WORK/deltas.on"): fold_rollups() median $(median <"$WORK/fold.on") ms, refresh_daily_cost_summary() median $(median <"$WORK/refresh.on") ms"
    [ "$(cat "$WORK/spans.on")" = "$(cat "$WORK/spans.off")" ] ||
        say "   WARNING: rollups on stored $(cat "$WORK/spans.on") spans, off $(cat "$WORK/spans.off")"
    result "1. COPY payloads/s, rollups on" "$pon" "-" ""
    result "1. COPY payloads/s, rollups off" "$poff" "-" ""
    result "1. COPY throughput ratio on/off" "$ratio" ">= 0.90" "$(ge "$ratio" 0.90)"
}

# ---------------------------------------------------------------------------
# 2. pgbench single-row INSERT of a random workload payload, rollups on vs off.
# ---------------------------------------------------------------------------
part2() {
    local payloads i s order tps
    payloads=$(q 'SELECT count(*) FROM bench_sum.lines')
    if [ "$payloads" = 0 ]; then
        say ""
        say "== 2. generating the workload ($N payloads) for pgbench"
        "${PSQL[@]}" -v n="$N" -v seed="$SEED" -v out="$WORK/workload.copy" -f "$HERE/gen_workload.sql" >>"$LOG"
        "${PSQL[@]}" -c "\\copy bench_sum.lines (payload) FROM '$WORK/workload.copy'" >>"$LOG"
        q 'ANALYZE bench_sum.lines' >>"$LOG"
        payloads=$(q 'SELECT count(*) FROM bench_sum.lines')
    fi
    say ""
    say "== 2. pgbench: single-row INSERT of a random payload, $PGBENCH_CLIENTS clients, ${PGBENCH_SECONDS}s, $PGBENCH_RUNS runs each of rollups on and off (alternating)"
    write_insert_script "$WORK/pgbench.sql" "$payloads" llmtrace.ingest bench_sum.lines
    : >"$WORK/tps.on"; : >"$WORK/tps.off"
    for ((i = 0; i < PGBENCH_RUNS; i++)); do
        if ((i % 2 == 0)); then order=(on off); else order=(off on); fi
        for s in "${order[@]}"; do
            reset_all
            rollups "$s" pgbench -n -c "$PGBENCH_CLIENTS" -j "$PGBENCH_CLIENTS" -T "$PGBENCH_SECONDS" \
                -f "$WORK/pgbench.sql" >"$WORK/pgbench.out" 2>&1 ||
                { say "   pgbench FAILED: $(tail -n 3 "$WORK/pgbench.out")"; return 1; }
            tps=$(awk '/^tps = / { printf "%.1f", $3; exit }' "$WORK/pgbench.out")
            echo "$tps" >>"$WORK/tps.$s"
            check_quarantine postgres "pgbench rollups $s"
            say "   run $((i + 1)) rollups $s: $tps TPS, $(awk '/^latency average = / { print $4; exit }' "$WORK/pgbench.out") ms average, $(q 'SELECT count(*) FROM llmtrace.spans') spans, $(deltas)"
        done
    done
    local ton toff ratio
    ton=$(median <"$WORK/tps.on"); toff=$(median <"$WORK/tps.off")
    ratio=$(calc "printf \"%.3f\", $ton / $toff")
    say "   median TPS rollups on $ton ($(list <"$WORK/tps.on")), off $toff ($(list <"$WORK/tps.off"))"
    say "   TPS ratio on/off: $ratio  (requirement >= 0.85: $(ge "$ratio" 0.85))"
    result "2. pgbench INSERT TPS, rollups on" "$ton" "-" ""
    result "2. pgbench INSERT TPS, rollups off" "$toff" "-" ""
    result "2. pgbench INSERT TPS ratio on/off" "$ratio" ">= 0.85" "$(ge "$ratio" 0.85)"
}

# ---------------------------------------------------------------------------
# 3. Single-row ingest into one model and one hour at 1, 2, 4, 8 clients, with lock-wait
#    sampling.
# ---------------------------------------------------------------------------
part3() {
    local hour r c order tps spid out maxsecs
    hour=$(q "SELECT extract(epoch FROM date_trunc('hour', now()))::bigint")
    say ""
    say "== 3. pgbench: single-row ingest into ONE group (openai gpt-4o-mini, one user, hour $(q "SELECT to_char(to_timestamp($hour) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') || ' UTC'")), clients: $HOT_CLIENTS; ${HOT_SECONDS}s per run, $HOT_ROUNDS round(s); pg_stat_activity sampled every ${SAMPLE_INTERVAL}s"
    cat >"$WORK/hot.sql" <<SQL
\set r random(1, 999999999999)
\set s random(0, 59)
\set d random(50, 5000)
INSERT INTO llmtrace.ingest (payload) VALUES ('{"trace_id":"hot-' || :client_id || '-' || :r || '","span_id":"s1","start_time":' || ($hour + :s) || ',"duration_ms":' || :d || ',"provider":"openai","model":"gpt-4o-mini","user_id":"u1","session_id":"sess1","project":"p1","environment":"prod","feature":"chat","endpoint":"/api/chat","usage":{"prompt_tokens":1000,"completion_tokens":10}}');
SQL
    maxsecs=$((HOT_SECONDS + 60))
    local clients_up clients_down
    read -r -a clients_up <<<"$HOT_CLIENTS"
    clients_down=()
    for ((i = ${#clients_up[@]} - 1; i >= 0; i--)); do clients_down+=("${clients_up[i]}"); done
    for c in "${clients_up[@]}"; do : >"$WORK/hot.tps.$c"; : >"$WORK/hot.waits.$c"; done
    : >"$WORK/hot.locks"
    for ((r = 0; r < HOT_ROUNDS; r++)); do
        if ((r % 2 == 0)); then order=("${clients_up[@]}"); else order=("${clients_down[@]}"); fi
        for c in "${order[@]}"; do
            reset_all
            out=$WORK/hot.sample.$c.$r
            PGAPPNAME=bench_sampler "${PSQL[@]}" -AtF '|' \
                -c "SELECT * FROM bench_sum.sample_waits('bench_hot', $SAMPLE_INTERVAL, $maxsecs)" \
                >"$out" 2>>"$LOG" &
            spid=$!
            echo "$spid" >>"$PIDS"
            PGAPPNAME=bench_hot pgbench -n -c "$c" -j "$c" -T "$HOT_SECONDS" -f "$WORK/hot.sql" \
                >"$WORK/hot.out" 2>&1 ||
                { say "   pgbench FAILED: $(tail -n 3 "$WORK/hot.out")"; kill "$spid" 2>/dev/null; return 1; }
            wait "$spid" || { say "   the sampler FAILED, see $LOG"; return 1; }
            tps=$(awk '/^tps = / { printf "%.1f", $3; exit }' "$WORK/hot.out")
            echo "$tps" >>"$WORK/hot.tps.$c"
            cat "$out" >>"$WORK/hot.waits.$c"
            check_quarantine postgres "one-group pgbench, $c clients"
            IFS='|' read -r samples locks llocks olocks busy waits lockdet <"$out"
            say "   $c client(s): $tps TPS, $(q 'SELECT count(*) FROM llmtrace.spans') spans, $(deltas); $samples samples, $locks with a Lock wait ($olocks other than relation extension), $llocks with an ungranted lock on an llmtrace relation; avg active $(calc "d = ${samples:-0}; if (d < 1) d = 1; printf \"%.2f\", ${busy:-0} / d")"
            say "      wait events (backend-samples): $waits"
            [ "$lockdet" = - ] || { say "      ungranted locks (samples): $lockdet"; echo "$lockdet" >>"$WORK/hot.locks"; }
        done
    done
    say ""
    printf '   %-8s %10s %10s %12s %8s %12s %14s   %s\n' clients 'TPS' 'vs 1' 'vs best <n' verdict samples 'Lock waits' 'runs (TPS)'
    local best=0 first="" t v ratio1 ratiob total_lock=0 total_other=0 total_samples=0 all_pass=PASS
    for c in "${clients_up[@]}"; do
        t=$(median <"$WORK/hot.tps.$c" | awk '{ printf "%.1f", $1 }')
        [ -n "$first" ] || first=$t
        ratio1=$(calc "printf \"%.2f\", $t / $first")
        if [ "$best" = 0 ]; then
            v=PASS; ratiob=-
        else
            ratiob=$(calc "printf \"%.2f\", $t / $best")
            v=$(ge "$ratiob" 0.90)
        fi
        [ "$v" = PASS ] || all_pass=FAIL
        local s l o
        s=$(awk -F'|' '{ n += $1 } END { print n + 0 }' "$WORK/hot.waits.$c")
        l=$(awk -F'|' '{ n += ($2 > $3 ? $2 : $3) } END { print n + 0 }' "$WORK/hot.waits.$c")
        o=$(awk -F'|' '{ n += $4 } END { print n + 0 }' "$WORK/hot.waits.$c")
        total_samples=$((total_samples + s)); total_lock=$((total_lock + l)); total_other=$((total_other + o))
        printf '   %-8s %10s %10s %12s %8s %12s %14s   %s\n' "$c" "$t" "$ratio1" "$ratiob" "$v" "$s" "$l" "$(list <"$WORK/hot.tps.$c")"
        result "3. one-group ingest TPS, $c client(s)" "$t (x$ratio1 of 1 client)" ">= 0.9 x best of fewer" "$v"
        best=$(calc "x = ($t > $best) ? $t : $best; print x")
    done
    say "   rule: PASS when TPS(n) >= 0.90 x the highest median TPS at fewer clients (machine: $(nproc) CPUs)"
    say "   samples with an ingest backend waiting on a heavyweight lock: $total_lock of $total_samples"
    if [ -s "$WORK/hot.locks" ]; then
        say "   ungranted locks over all runs (locktype:relation samples): $(tr -s ',' '\n' <"$WORK/hot.locks" |
            awk '{ n[$1] += $2 } END { for (k in n) printf "%s %d, ", k, n[k] }' | sed 's/, $//')"
        say "   (locktype extend = the relation extension lock: a backend waits while another adds a page to the table)"
    fi
    # The requirement is about summary rows: a wait for a row (tuple, transactionid) or any
    # lock other than the extension lock every table growing from several sessions has.
    say "   of which a Lock wait other than relation extension (a row, a transaction, an advisory lock): $total_other (requirement 0: $( [ "$total_other" = 0 ] && echo PASS || echo FAIL))"
    result "3. Lock waits other than relation extension" "$total_other of $total_samples samples" "0" "$( [ "$total_other" = 0 ] && echo PASS || echo FAIL)"
    result "3.   relation extension waits (info)" "$total_lock of $total_samples samples" "-" ""
}

# ---------------------------------------------------------------------------
# 4. 5,000,000 spans over 90 days: read and refresh times.
# ---------------------------------------------------------------------------
FROMSPANS_SQL="SELECT (start_time AT TIME ZONE 'UTC')::date AS day, project, environment, provider, model,
       count(*) AS spans, count(*) FILTER (WHERE status = 'error') AS errors,
       sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens,
       sum(cached_input_tokens) AS cached_input_tokens, sum(cache_write_tokens) AS cache_write_tokens,
       sum(reasoning_tokens) AS reasoning_tokens, sum(total_tokens) AS total_tokens,
       sum(cost_usd) AS cost_usd,
       count(*) FILTER (WHERE cost_status IN ('unpriced', 'invalid_price')) AS unpriced_spans,
       percentile_disc(0.5) WITHIN GROUP (ORDER BY duration_ms) AS latency_p50_ms,
       percentile_disc(0.95) WITHIN GROUP (ORDER BY duration_ms) AS latency_p95_ms,
       percentile_disc(0.99) WITHIN GROUP (ORDER BY duration_ms) AS latency_p99_ms,
       count(DISTINCT user_id) AS users, count(DISTINCT session_id) AS sessions
FROM llmtrace.spans
GROUP BY 1, 2, 3, 4, 5"

part4() {
    local c t0 secs from to n per_chunk file ms seed
    say ""
    say "== 4. $SPANS_5M spans over $DAYS days (database $BIGDB): read and refresh times"
    q "DROP DATABASE IF EXISTS $BIGDB" >>"$LOG" 2>&1
    q "CREATE DATABASE $BIGDB" >>"$LOG"
    qdb "$BIGDB" 'CREATE EXTENSION llmtrace' >>"$LOG"
    qdb "$BIGDB" "SELECT llmtrace.ensure_partitions(current_date - $DAYS, current_date + 1)" >/dev/null
    # the spans start in [now - DAYS days, now - 10 min), loaded in CHUNKS COPYs in time
    # order, each followed by llmtrace.fold_rollups() and llmtrace.refresh_daily_cost_summary()
    # as a scheduler would
    local start_epoch end_epoch
    start_epoch=$(q "SELECT extract(epoch FROM now() - interval '$DAYS days')::bigint")
    end_epoch=$(q "SELECT extract(epoch FROM now() - interval '10 minutes')::bigint")
    per_chunk=$(( (SPANS_5M + CHUNKS - 1) / CHUNKS ))
    : >"$WORK/load.gen"; : >"$WORK/load.copy"; : >"$WORK/load.fold"; : >"$WORK/load.refresh"
    local loaded=0
    for ((c = 0; c < CHUNKS && loaded < SPANS_5M; c++)); do
        n=$per_chunk
        ((loaded + n <= SPANS_5M)) || n=$((SPANS_5M - loaded))
        from=$((start_epoch + (end_epoch - start_epoch) * c / CHUNKS))
        to=$((start_epoch + (end_epoch - start_epoch) * (c + 1) / CHUNKS))
        file=$WORK/spans.$c.copy
        seed=$(calc "printf \"%.4f\", 0.05 + 0.9 * $c / $CHUNKS")
        t0=$(now)
        "${PSQL[@]}" -d "$BIGDB" -v n="$n" -v per="$PER_PAYLOAD" -v users="$USERS" -v seed="$seed" \
            -v prefix="h$c" -v from_ts="$(date -u -d "@$from" +%FT%TZ)" -v to_ts="$(date -u -d "@$to" +%FT%TZ)" \
            -v out="$file" -f "$HERE/gen_spans.sql" >>"$LOG"
        elapsed "$t0" "$(now)" >>"$WORK/load.gen"; echo >>"$WORK/load.gen"
        t0=$(now)
        "${PSQL[@]}" -d "$BIGDB" -c "\\copy llmtrace.ingest (payload) FROM '$file'" >>"$LOG"
        secs=$(elapsed "$t0" "$(now)")
        echo "$secs" >>"$WORK/load.copy"
        rm -f "$file"
        local dl tick
        dl=$(deltas "$BIGDB")
        tick=$(scheduler_tick "$BIGDB")
        echo "${tick% *}" >>"$WORK/load.fold"; echo "${tick#* }" >>"$WORK/load.refresh"
        loaded=$((loaded + n))
        say "   chunk $((c + 1))/$CHUNKS: $n spans $(date -u -d "@$from" '+%m-%d %H:%M')..$(date -u -d "@$to" '+%m-%d %H:%M') UTC: COPY ${secs}s ($(calc "printf \"%.0f\", $n / $secs") spans/s), $dl; fold_rollups() $(calc "printf \"%.1f\", ${tick% *} / 1000")s, refresh_daily_cost_summary() $(calc "printf \"%.1f\", ${tick#* } / 1000")s"
    done
    check_quarantine "$BIGDB" "loading $SPANS_5M spans"
    local stored
    stored=$(qdb "$BIGDB" 'SELECT count(*) FROM llmtrace.spans')
    say "   stored $stored spans; generation $(awk '{ s += $1 } END { printf "%.0f", s }' "$WORK/load.gen")s, COPY $(awk '{ s += $1 } END { printf "%.0f", s }' "$WORK/load.copy")s ($(calc "printf \"%.0f\", $stored / $(awk '{ s += $1 } END { print s }' "$WORK/load.copy")") spans/s), folds $(awk '{ s += $1 } END { printf "%.0f", s / 1000 }' "$WORK/load.fold")s and refreshes $(awk '{ s += $1 } END { printf "%.0f", s / 1000 }' "$WORK/load.refresh")s in all"
    t0=$(now)
    qdb "$BIGDB" 'VACUUM ANALYZE' >>"$LOG"
    say "   VACUUM ANALYZE (what autovacuum would have done): $(elapsed "$t0" "$(now)")s"
    say "   sizes: spans $(qdb "$BIGDB" "SELECT pg_size_pretty(sum(pg_total_relation_size(c.oid))) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'llmtrace.spans'::regclass"); $(summary_sizes "$BIGDB")"

    # Reads, warm: one untimed run, then READ_RUNS timed ones.
    local m_metrics m_month
    timed "$BIGDB" $((READ_RUNS + 1)) 'SELECT * FROM llmtrace.metrics_summary(24);' | tail -n +2 >"$WORK/read.metrics"
    timed "$BIGDB" $((READ_RUNS + 1)) 'SELECT * FROM llmtrace.daily_cost_summary WHERE day >= current_date - 30;' | tail -n +2 >"$WORK/read.month"
    m_metrics=$(median <"$WORK/read.metrics"); m_month=$(median <"$WORK/read.month")
    say "   metrics_summary(24): median $m_metrics ms ($(list <"$WORK/read.metrics")); $(qdb "$BIGDB" 'SELECT count(*) FROM llmtrace.metrics_summary(24)') rows  (requirement < 50 ms: $(lt "$m_metrics" 50))"
    say "   daily_cost_summary, day >= current_date - 30: median $m_month ms ($(list <"$WORK/read.month")); $(qdb "$BIGDB" 'SELECT count(*) FROM llmtrace.daily_cost_summary WHERE day >= current_date - 30') rows  (requirement < 50 ms: $(lt "$m_month" 50))"
    result "4. metrics_summary(24) ms, $stored spans" "$m_metrics" "< 50" "$(lt "$m_metrics" 50)"
    result "4. daily_cost_summary month ms" "$m_month" "< 50" "$(lt "$m_month" 50)"

    # New spans, then the refresh a scheduler would run.
    local i day0 nowe dl live tick
    : >"$WORK/refresh"; : >"$WORK/fold"; : >"$WORK/noop.fold"; : >"$WORK/noop.refresh"
    : >"$WORK/noop.view"; : >"$WORK/live.unfolded"
    for ((i = 1; i <= REFRESH_RUNS; i++)); do
        day0=$(q "SELECT extract(epoch FROM date_trunc('day', now(), 'UTC') - interval '2 days')::bigint")
        nowe=$(q "SELECT extract(epoch FROM now() - interval '1 minute')::bigint")
        file=$WORK/new.$i.copy
        "${PSQL[@]}" -d "$BIGDB" -v n="$NEW_SPANS" -v per="$PER_PAYLOAD" -v users="$USERS" \
            -v seed="$(calc "printf \"%.3f\", -0.1 - 0.2 * $i")" -v prefix="new$i" \
            -v from_ts="$(date -u -d "@$day0" +%FT%TZ)" -v to_ts="$(date -u -d "@$nowe" +%FT%TZ)" \
            -v out="$file" -f "$HERE/gen_spans.sql" >>"$LOG"
        t0=$(now)
        "${PSQL[@]}" -d "$BIGDB" -c "\\copy llmtrace.ingest (payload) FROM '$file'" >>"$LOG"
        secs=$(elapsed "$t0" "$(now)")
        rm -f "$file"
        dl=$(deltas "$BIGDB")
        live=$(timed "$BIGDB" 4 'SELECT * FROM llmtrace.metrics_summary(24);' | tail -n +2 | median)
        echo "$live" >>"$WORK/live.unfolded"
        # the measured figure: the refresh with the new spans pending; then the live fold
        tick=$(timed "$BIGDB" 1 'SELECT llmtrace.refresh_daily_cost_summary(); SELECT llmtrace.fold_rollups();' | list)
        echo "${tick% *}" >>"$WORK/refresh"; echo "${tick#* }" >>"$WORK/fold"
        # the same with nothing new: what every scheduler tick costs, and the view's
        # REFRESH ... CONCURRENTLY alone
        local noop
        noop=$(timed "$BIGDB" 1 'SELECT llmtrace.fold_rollups(); SELECT llmtrace.refresh_daily_cost_summary(); REFRESH MATERIALIZED VIEW CONCURRENTLY llmtrace.daily_cost_summary_data;' | list)
        read -r nf_fold nf_refresh nf_view <<<"$noop"
        echo "$nf_fold" >>"$WORK/noop.fold"; echo "$nf_refresh" >>"$WORK/noop.refresh"; echo "$nf_view" >>"$WORK/noop.view"
        say "   new ingest $i: $NEW_SPANS spans (today and the 2 days before) in ${secs}s, $dl; metrics_summary(24) with them unfolded $live ms; refresh_daily_cost_summary() ${tick% *} ms, then fold_rollups() ${tick#* } ms; with nothing new: fold_rollups() $nf_fold ms, refresh_daily_cost_summary() $nf_refresh ms, REFRESH MATERIALIZED VIEW CONCURRENTLY alone $nf_view ms"
    done
    check_quarantine "$BIGDB" "new ingests"
    local m_refresh
    m_refresh=$(median <"$WORK/refresh")

    # The same summary computed from the spans.
    : >"$WORK/fromspans"
    for ((i = 1; i <= FROMSPANS_RUNS; i++)); do
        printf 'SET work_mem = %s;\n\\timing on\nCREATE TEMP TABLE bench_from_spans AS %s;\n' \
            "'$FROMSPANS_WORK_MEM'" "$FROMSPANS_SQL" >"$WORK/fromspans.sql"
        if ((i == FROMSPANS_RUNS)); then
            cat >>"$WORK/fromspans.sql" <<'SQL'
\timing off
\echo CHECK
-- The refreshed view against the spans: every count and sum exact, percentiles within
-- the sketch's error. A group without any token count sums to NULL from the spans and
-- to 0 in the view: tokens are compared as coalesce(sum, 0).
CREATE TEMP VIEW j AS
    SELECT coalesce(f.input_tokens, 0) AS f_in, coalesce(f.output_tokens, 0) AS f_out,
           coalesce(f.total_tokens, 0) AS f_total, coalesce(f.day, v.day) AS g_day, coalesce(f.project, v.project) AS g_project,
           coalesce(f.environment, v.environment) AS g_environment,
           coalesce(f.provider, v.provider) AS g_provider, coalesce(f.model, v.model) AS g_model,
           f.*, v.spans AS v_spans, v.errors AS v_errors, v.input_tokens AS v_in,
           v.output_tokens AS v_out, v.total_tokens AS v_total, v.cost_usd AS v_cost,
           v.unpriced_spans AS v_unpriced, v.users AS v_users, v.sessions AS v_sessions,
           v.latency_p50_ms AS v_p50, v.latency_p95_ms AS v_p95, v.latency_p99_ms AS v_p99,
           v.day AS v_day, f.day AS f_day
    FROM bench_from_spans f
    FULL JOIN llmtrace.daily_cost_summary v
      ON v.day = f.day AND v.project IS NOT DISTINCT FROM f.project
     AND v.environment IS NOT DISTINCT FROM f.environment
     AND v.provider IS NOT DISTINCT FROM f.provider AND v.model IS NOT DISTINCT FROM f.model;
SELECT count(*) FILTER (WHERE f_day IS NOT NULL) || '|' || count(*) FILTER (WHERE v_day IS NOT NULL)
       || '|' || count(*) FILTER (WHERE f_day IS NULL OR v_day IS NULL)
       || '|' || count(*) FILTER (WHERE both_ AND (spans, errors, f_in, f_out, f_total,
                                                 unpriced_spans, users, sessions, cost_usd)
                                                IS DISTINCT FROM
                                                (v_spans, v_errors, v_in, v_out, v_total, v_unpriced,
                                                 v_users, v_sessions, v_cost))
       || '|' || concat_ws(' ',
                   'spans ' || count(*) FILTER (WHERE both_ AND spans IS DISTINCT FROM v_spans),
                   'errors ' || count(*) FILTER (WHERE both_ AND errors IS DISTINCT FROM v_errors),
                   'tokens ' || count(*) FILTER (WHERE both_ AND (f_in, f_out, f_total)
                                                               IS DISTINCT FROM (v_in, v_out, v_total)),
                   'unpriced ' || count(*) FILTER (WHERE both_ AND unpriced_spans IS DISTINCT FROM v_unpriced),
                   'cost ' || count(*) FILTER (WHERE both_ AND cost_usd IS DISTINCT FROM v_cost),
                   'users ' || count(*) FILTER (WHERE both_ AND users IS DISTINCT FROM v_users),
                   'sessions ' || count(*) FILTER (WHERE both_ AND sessions IS DISTINCT FROM v_sessions))
       || '|' || coalesce(round(max(greatest(abs(v_p50 / nullif(latency_p50_ms, 0) - 1),
                                             abs(v_p95 / nullif(latency_p95_ms, 0) - 1),
                                             abs(v_p99 / nullif(latency_p99_ms, 0) - 1)))::numeric * 100, 2)::text, '-')
       || '|' || coalesce(round((percentile_cont(0.5) WITHIN GROUP (ORDER BY abs(v_p99 / nullif(latency_p99_ms, 0) - 1)))::numeric * 100, 2)::text, '-')
FROM (SELECT *, f_day IS NOT NULL AND v_day IS NOT NULL AS both_ FROM j) AS j;
\echo LIVE
SELECT (SELECT spans FROM llmtrace.metrics_summary(24) WHERE is_total) || '|' ||
       (SELECT count(*) FROM llmtrace.spans WHERE start_time >= llmtrace.window_start(24));
\echo DIFFS
SELECT g_day, g_project, g_environment, g_provider, g_model,
       'spans ' || coalesce(spans::text, '-') || '/' || coalesce(v_spans::text, '-'),
       'errors ' || coalesce(errors::text, '-') || '/' || coalesce(v_errors::text, '-'),
       'unpriced ' || coalesce(unpriced_spans::text, '-') || '/' || coalesce(v_unpriced::text, '-'),
       'tokens ' || f_in || '+' || f_out || '=' || f_total || '/'
                 || coalesce(v_in || '+' || v_out || '=' || v_total, '-'),
       'users ' || coalesce(users::text, '-') || '/' || coalesce(v_users::text, '-'),
       'sessions ' || coalesce(sessions::text, '-') || '/' || coalesce(v_sessions::text, '-'),
       'cost ' || coalesce(cost_usd::text, '-') || '/' || coalesce(v_cost::text, '-')
FROM j
WHERE f_day IS NULL OR v_day IS NULL
   OR (spans, errors, f_in, f_out, f_total, unpriced_spans, users, sessions, cost_usd)
      IS DISTINCT FROM (v_spans, v_errors, v_in, v_out, v_total, v_unpriced, v_users, v_sessions, v_cost)
ORDER BY 1, 2, 3, 4, 5
LIMIT 5;
\echo END
SQL
        fi
        "${PSQL[@]}" -d "$BIGDB" -At -f "$WORK/fromspans.sql" >"$WORK/fromspans.out" 2>>"$LOG"
        awk '/^Time: / { print $2; exit }' "$WORK/fromspans.out" >>"$WORK/fromspans"
    done
    local m_from ratio pct
    m_from=$(median <"$WORK/fromspans")
    ratio=$(calc "printf \"%.4f\", $m_refresh / $m_from")
    pct=$(calc "printf \"%.2f\", 100 * $m_refresh / $m_from")
    say "   summary computed from llmtrace.spans (CREATE TEMP TABLE AS ..., work_mem $FROMSPANS_WORK_MEM): median $m_from ms ($(list <"$WORK/fromspans"))"
    say "   refresh_daily_cost_summary() after $NEW_SPANS new spans: median $m_refresh ms ($(list <"$WORK/refresh")) = $pct % of it  (requirement < 1 %: $(lt "$ratio" 0.01))"
    local m_fold m_tick
    m_fold=$(median <"$WORK/fold")
    m_tick=$(calc "printf \"%.3f\", $m_refresh + $m_fold")
    say "   fold_rollups() after it (the live rollups; the scheduler's other call): median $m_fold ms ($(list <"$WORK/fold")); both: $m_tick ms = $(calc "printf \"%.2f\", 100 * $m_tick / $m_from") % of the from-spans time"
    say "   with nothing new: fold_rollups() median $(median <"$WORK/noop.fold") ms, refresh_daily_cost_summary() median $(median <"$WORK/noop.refresh") ms, REFRESH MATERIALIZED VIEW CONCURRENTLY alone median $(median <"$WORK/noop.view") ms; metrics_summary(24) with ~$NEW_SPANS new spans unfolded: median $(median <"$WORK/live.unfolded") ms"
    local chk live2 nf nv only diff percol pmax p99med
    chk=$(awk 'f { print; exit } /^CHECK$/ { f = 1 }' "$WORK/fromspans.out")
    live2=$(awk 'f { print; exit } /^LIVE$/ { f = 1 }' "$WORK/fromspans.out")
    IFS='|' read -r nf nv only diff percol pmax p99med <<<"$chk"
    say "   check, view vs spans: $nf groups (UTC day x project x environment x provider x model) from the spans, $nv in the view, $only in one only, $diff with a different figure ($percol); latency percentiles: largest deviation $pmax %, median p99 deviation $p99med %"
    if [ "$only" != 0 ] || [ "$diff" != 0 ]; then
        say "   first differences (from the spans / in the view):"
        awk '/^END$/ { f = 0 } f { print "      " $0 } /^DIFFS$/ { f = 1 }' "$WORK/fromspans.out"
        result "4. daily_cost_summary = the spans" "$((only + diff)) of $nf groups differ" "exact" FAIL
    fi
    say "   check, metrics_summary(24) total spans vs spans since window_start(24): ${live2%|*} vs ${live2#*|}"
    [ "${live2%|*}" = "${live2#*|}" ] || result "4. metrics_summary(24) = the spans" "${live2%|*} vs ${live2#*|}" "equal" FAIL
    result "4. refresh after $NEW_SPANS new spans, ms" "$m_refresh" "-" ""
    result "4. summary from the spans, ms" "$m_from" "-" ""
    result "4. refresh / from-spans" "$pct %" "< 1 %" "$(lt "$ratio" 0.01)"
    result "4. fold_rollups() after them, ms (info)" "$m_fold" "-" ""
}

want 1 && { run_part 1 part1; check_installed "part 1"; }
want 2 && { run_part 2 part2; check_installed "part 2"; }
want 3 && { run_part 3 part3; check_installed "part 3"; }
want 4 && { run_part 4 part4; check_installed "part 4"; }

say ""
say "== summary"
printf '%-48s %-26s %-24s %s\n' figure value requirement verdict
printf '%-48s %-26s %-24s %s\n' ------ ----- ----------- -------
while IFS=$'\t' read -r f v r x; do
    printf '%-48s %-26s %-24s %s\n' "$f" "$v" "$r" "$x"
done <"$RESULTS"
say "(figures measured in this run on $(nproc) CPUs; ratios compare settings measured in the same run)"
if [ "$PART_ERRORS" != 0 ] || [ -e "$WORK/quarantined" ]; then
    exit 1
fi
exit 0
