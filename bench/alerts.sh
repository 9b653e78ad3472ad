#!/usr/bin/env bash
# llmtrace alerts benchmark: what checking the alert rules at ingest costs. The same ingest
# with the default rules enabled and with every rule disabled, measured in one run, in
# alternating order:
#   1. COPY of the gen_workload.sql workload (a COPY per round and setting)
#   2. single-row INSERT of a random payload from pgbench (2 clients)
# Requirement (issue "Alerts"): enabled >= 0.9 x disabled for both. Starts its own throwaway
# cluster and uses the installed extension (make install first).
#
#   bash bench/alerts.sh                                   # the default run (~6 min)
#   N=5000 ROUNDS=3 PGBENCH_SECONDS=5 bash bench/alerts.sh  # a quick one
#
# Environment: N (20000 payloads), ROUNDS (5), PGBENCH_SECONDS (20), PGBENCH_RUNS (5),
# PGBENCH_CLIENTS (2), SEED (0.42), PORT (5494), KEEP_WORKDIR (0).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
N=${N:-20000}
ROUNDS=${ROUNDS:-5}
PGBENCH_SECONDS=${PGBENCH_SECONDS:-20}
PGBENCH_RUNS=${PGBENCH_RUNS:-5}
PGBENCH_CLIENTS=${PGBENCH_CLIENTS:-2}
SEED=${SEED:-0.42}
PORT=${PORT:-5494}
KEEP_WORKDIR=${KEEP_WORKDIR:-0}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/llmtrace-alerts.XXXXXX")
chmod 755 "$WORK"
CLUSTER=$WORK/cluster
LOG=$WORK/bench.log
cleanup() {
    "$ROOT/scripts/pgcluster.sh" stop "$CLUSTER" >/dev/null 2>&1 || true
    if [ "$KEEP_WORKDIR" = 1 ]; then echo "work directory kept: $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
export PGHOST=$CLUSTER/socket PGPORT=$PORT PGUSER=postgres PGDATABASE=postgres
unset PGOPTIONS PGAPPNAME
PSQL=(psql -X -q -v ON_ERROR_STOP=1)
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"
verdict() { awk -v a="$1" 'BEGIN { print (a + 0 >= 0.9) ? "PASS" : "FAIL" }'; }
# rules on|off: the seeded defaults enabled, or every rule disabled
rules() { q "UPDATE llmtrace.alert_rules SET enabled = $([ "$1" = on ] && echo true || echo false)" >/dev/null; }
reset_all() {
    q "TRUNCATE llmtrace.spans, llmtrace.ingest_errors, llmtrace.rollup_deltas, llmtrace.daily_deltas,
                llmtrace.alerts, llmtrace.alert_state, llmtrace.alert_window_deltas,
                llmtrace.alert_window_minutes" >/dev/null
    q "CHECKPOINT" >/dev/null
}

echo "== cluster on port $PORT in $WORK"
"$ROOT/scripts/pgcluster.sh" start "$CLUSTER" "$PORT" >>"$LOG"
q 'CREATE EXTENSION llmtrace' >>"$LOG"
q "SELECT llmtrace.ensure_partitions(current_date - 4, current_date + 1)" >>"$LOG"
echo "llmtrace $(q "SELECT extversion FROM pg_extension WHERE extname = 'llmtrace'"), PostgreSQL $(q 'SHOW server_version'), $(nproc) CPUs"
echo "rules enabled in the 'on' runs: $(q "SELECT string_agg(name, '; ' ORDER BY id) FROM llmtrace.alert_rules")"

# 1. COPY
# Live traffic: the spans start within the windows of the windowed rules (from 2 minutes
# before the run to 3 minutes after its start; a start ahead of the clock counts in the
# current minute), so every span is counted by each windowed rule.
base=$(q "SELECT to_char((now() + interval '3 minutes') AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')")
"${PSQL[@]}" -v n="$N" -v seed="$SEED" -v base_time="$base" -v spread=300 -v out="$WORK/workload.copy" \
    -f "$HERE/gen_workload.sql" >>"$LOG"
echo ""
echo "== 1. COPY of the gen_workload.sql workload ($N payloads), rules on vs off, $ROUNDS rounds"
: >"$WORK/copy.on"; : >"$WORK/copy.off"
for ((r = 0; r < ROUNDS; r++)); do
    if ((r % 2 == 0)); then order=(on off); else order=(off on); fi
    line="   round $((r + 1)):"
    for s in "${order[@]}"; do
        reset_all
        rules "$s"
        t0=$(now)
        "${PSQL[@]}" -c "\\copy llmtrace.ingest (payload) FROM '$WORK/workload.copy'" >>"$LOG"
        secs=$(elapsed "$t0" "$(now)")
        echo "$secs" >>"$WORK/copy.$s"
        line+=" $s ${secs}s ($(q 'SELECT count(*) FROM llmtrace.alerts') alerts)"
    done
    echo "$line"
done
c_on=$(median <"$WORK/copy.on"); c_off=$(median <"$WORK/copy.off")
copy_ratio=$(awk -v a="$c_on" -v b="$c_off" 'BEGIN { printf "%.3f", b / a }')
echo "   median: rules on ${c_on}s, off ${c_off}s; throughput ratio on/off $copy_ratio (requirement >= 0.9: $(verdict "$copy_ratio"))"

# 2. pgbench single-row INSERT
q "CREATE TABLE IF NOT EXISTS public.bench_lines (id serial PRIMARY KEY, payload text NOT NULL)" >/dev/null
"${PSQL[@]}" -c "\\copy public.bench_lines (payload) FROM '$WORK/workload.copy'" >>"$LOG"
payloads=$(q 'SELECT count(*) FROM public.bench_lines')
write_insert_script "$WORK/pgbench.sql" "$payloads" llmtrace.ingest public.bench_lines
echo ""
echo "== 2. pgbench: single-row INSERT of a random payload, $PGBENCH_CLIENTS clients, ${PGBENCH_SECONDS}s, $PGBENCH_RUNS runs each of rules on and off"
: >"$WORK/tps.on"; : >"$WORK/tps.off"
for ((r = 0; r < PGBENCH_RUNS; r++)); do
    if ((r % 2 == 0)); then order=(on off); else order=(off on); fi
    for s in "${order[@]}"; do
        reset_all
        rules "$s"
        tps=$(pgbench -n -c "$PGBENCH_CLIENTS" -j "$PGBENCH_CLIENTS" -T "$PGBENCH_SECONDS" -f "$WORK/pgbench.sql" 2>>"$LOG" |
              awk '/^tps = / { printf "%.1f", $3; exit }')
        echo "$tps" >>"$WORK/tps.$s"
        echo "   run $((r + 1)) rules $s: $tps TPS ($(q 'SELECT count(*) FROM llmtrace.alerts') alerts)"
    done
done
t_on=$(median <"$WORK/tps.on"); t_off=$(median <"$WORK/tps.off")
tps_ratio=$(awk -v a="$t_on" -v b="$t_off" 'BEGIN { printf "%.3f", a / b }')
echo "   median TPS: rules on $t_on, off $t_off; ratio on/off $tps_ratio (requirement >= 0.9: $(verdict "$tps_ratio"))"

echo ""
echo "== summary"
printf '%-44s %-12s %-12s %s\n' figure value requirement verdict
printf '%-44s %-12s %-12s %s\n' "1. COPY throughput ratio rules on/off" "$copy_ratio" ">= 0.9" "$(verdict "$copy_ratio")"
printf '%-44s %-12s %-12s %s\n' "2. pgbench INSERT TPS ratio rules on/off" "$tps_ratio" ">= 0.9" "$(verdict "$tps_ratio")"
