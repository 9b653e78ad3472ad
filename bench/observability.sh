#!/usr/bin/env bash
# llmtrace observability benchmark: what a health probe, a Prometheus scrape, the gateway's
# dashboard page and two Grafana panels cost to read over a history of stored spans, and the
# same figures computed the naive way from llmtrace.spans. The llmtrace reads come from the
# rollups and their pending deltas, the ingest minutes and the catalog, so they should cost the
# same whatever the history; the naive ones read the spans. The run loads SPANS spans over DAYS
# days, times every read, then loads as many spans again on the DAYS days before (twice the
# spans, twice the days) and times every read again. Starts its own throwaway cluster, prints
# each read and a summary table at the end. See bench/README.md.
#
#   bash bench/observability.sh                                   # the full run (~6 min on 2 cores)
#   SPANS=200000 DAYS=30 READ_RUNS=3 bash bench/observability.sh   # a quick one (~40 s)
#
# The reads, each as a LOGIN member of llmtrace_reader (as a probe, the exporter, the gateway's
# read DSN or Grafana connect), timed with psql's \timing (round trip included, rows discarded)
# in one session: one untimed run, then READ_RUNS runs; the median is reported. Then one
# EXPLAIN (ANALYZE, BUFFERS) of each, kept in the work directory: `pages` is the shared buffers
# its plan touched (hit + read), a measure of the data read that the machine's load does not
# move; `plan ms` and `exec ms` are its planning and execution times.
#   health             SELECT * FROM llmtrace.health
#   health_ok          SELECT llmtrace.health_ok()
#   prom_<name>        every query of integrations/prometheus/queries.yaml, read from the
#                      file (each `query: |` block)
#   dashboard          kDashboardSql of tools/gateway/llmtrace_gateway.cpp, read from the source
#                      (between `R"SQL(` and `)SQL"`), with $1 = HOURS written in as a literal
#                      (the gateway sends it as a parameter of an unnamed statement: planned
#                      for that value every time, as here)
#   grafana_cost_by_model, grafana_latency
#                      the panels 'Cost by model' and 'Latency p50 / p95 / p99' of
#                      integrations/grafana/dashboards/llmtrace-overview.json over the last HOURS
#                      hours, as Grafana sends them: bench/grafana_panels.js expands them with
#                      test/grafana/check.js's port of Grafana's variable and macro expansion
#                      (the variables at All: every value their query returns)
# and the naive way, from llmtrace.spans:
#   naive_health       spans of the last 5 minutes by source_format, and max(ingested_at)
#   naive_scrape       all-time spans, errors, cost, tokens by type and the duration histogram
#                      on the same buckets, per project, environment, provider and model
#   naive_dashboard    today's requests, errors, cost, tokens and percentile_cont latencies by
#                      model, and the same per hour for the last HOURS hours
#   naive_grafana_cost_by_model, naive_grafana_latency
#                      the two panels' figures from the spans, with the same macros
#                      ($__timeGroupAlias(start_time, ...), $__timeFilter(start_time)) and
#                      variables, expanded the same way
#
# The history (bench/gen_spans.sql): native spans in JSON arrays of PER_PAYLOAD, traces of 5
# spans, 4 projects x prod/staging x the first MODELS models (5: 3 providers, 40 label sets),
# USERS users, 6 features, log-normal durations and tokens, 2 % errors. Daily partitions first
# (llmtrace.ensure_partitions, as for a back-fill, so the COPYs do not go through the default
# partition), then CHUNKS COPYs into llmtrace.ingest in time order, each followed by
# llmtrace.fold_rollups() and llmtrace.refresh_daily_cost_summary() as a scheduler would run
# them; then llmtrace.maintain() and llmtrace.evaluate_alerts() (the scheduler's other jobs);
# VACUUM ANALYZE (what autovacuum would have done: the delta tables the folds emptied are
# truncated); then RECENT_SPANS spans of the last hour COPYed and left unfolded (deltas pending,
# as when the scheduler is behind). The recent spans of the second measurement add to the last
# hours, so the reads of a time window see RECENT_SPANS more spans there (the run prints how
# many the window holds each time); the doubling itself adds nothing to them. The database has
# llmtrace.retention_days = 0: the whole history is kept and no partition is overdue.
# llmtrace.ingest_deltas (what health reads of the traffic) holds the minutes of the run's own
# COPYs: fold_rollups() keeps a day of minutes whatever the history, so that does not change with
# the history either. The ingest itself is not measured here (bench/summaries.sh, bench/run.sh).
#
# Needs psql, awk and node (Node.js 18 or later, for bench/grafana_panels.js). Exit status 0
# when every read ran; 1 when something failed (the log in the kept work directory says what),
# was quarantined, or the installed extension changed during the run. No figure has a
# requirement: read the growth columns.
#
# Environment:
#   SPANS          spans of the history, and of its doubling                (2000000)
#   DAYS           days they are spread over, up to now; the doubling adds as many before  (90)
#   CHUNKS         COPYs each load is split into, each followed by a fold and a refresh  (4)
#   PER_PAYLOAD    spans per payload (a JSON array)                          (50)
#   USERS          distinct users (~3 sessions each)                         (3000)
#   MODELS         models used (the first ones of gen_spans.sql's 20)         (5)
#   RECENT_SPANS   spans of the last hour left unfolded before each measurement
#                  (an hour of the history's traffic: SPANS / DAYS / 24)
#   READ_RUNS      timed runs of each read, after one untimed one            (7)
#   HOURS          the dashboard's $1 and the Grafana time range (last HOURS hours)  (24)
#   PORT           port of the throwaway cluster                             (5489)
#   KEEP_WORKDIR   1: keep the temporary directory (cluster, SQL, plans, logs)  (0)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)

SPANS=${SPANS:-2000000}
DAYS=${DAYS:-90}
CHUNKS=${CHUNKS:-4}
PER_PAYLOAD=${PER_PAYLOAD:-50}
USERS=${USERS:-3000}
MODELS=${MODELS:-5}
RECENT_SPANS=${RECENT_SPANS:-$(( SPANS / DAYS / 24 > 0 ? SPANS / DAYS / 24 : 1 ))}
READ_RUNS=${READ_RUNS:-7}
HOURS=${HOURS:-24}
PORT=${PORT:-5489}
KEEP_WORKDIR=${KEEP_WORKDIR:-0}

DASHBOARD_JSON=$ROOT/integrations/grafana/dashboards/llmtrace-overview.json
PROMETHEUS_YAML=$ROOT/integrations/prometheus/queries.yaml
GATEWAY_CPP=$ROOT/tools/gateway/llmtrace_gateway.cpp

WORK=$(mktemp -d "${TMPDIR:-/tmp}/llmtrace-observability.XXXXXX")
chmod 755 "$WORK"          # the cluster runs as another OS user when we are root
CLUSTER=$WORK/cluster
LOG=$WORK/bench.log
SQLDIR=$WORK/sql           # the reads, one file each (the Grafana ones rewritten per history)
PLANS=$WORK/plans          # EXPLAIN (ANALYZE, BUFFERS) of each read, per history
RESULTS=$WORK/results.tsv  # history <TAB> read <TAB> median ms <TAB> pages <TAB> runs <TAB> planning ms <TAB> execution ms
mkdir -p "$SQLDIR" "$PLANS"
: >"$RESULTS"

trap 'finish_run $?' EXIT
trap 'exit 130' INT TERM

DB=llmtrace_obs
READER=llmtrace_bench_reader
export PGHOST=$CLUSTER/socket PGPORT=$PORT PGUSER=postgres PGDATABASE=$DB
unset PGOPTIONS PGAPPNAME
PSQL=(psql -X -q -v ON_ERROR_STOP=1)
PSQL_READER=(psql -X -q -v ON_ERROR_STOP=1 -U "$READER")

say() { printf '%s\n' "$*"; }
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"
list() { paste -sd' ' -; }
calc() { awk "BEGIN { $1 }"; }
die() { say "FAILED: $*" >&2; exit 1; }

# Milliseconds of each timed run of the read in file $1, one per line: one untimed run, then
# READ_RUNS, in one session of the reader role (psql \timing, rows discarded).
timed_read() {
    local file=$1 i
    { echo '\timing on'; echo '\o /dev/null'
      for ((i = 0; i <= READ_RUNS; i++)); do cat "$file"; echo ';'; done; } |
        "${PSQL_READER[@]}" 2>>"$LOG" | awk '/^Time: / { print $2 }' | tail -n +2
}
# EXPLAIN (ANALYZE, BUFFERS) of the read in file $1 into file $2, as the reader role, after one
# run in the same session (so that catalog lookups and the plans of PL/pgSQL functions are
# cached, as in the timed runs, and not counted as pages read).
explain_read() {
    { echo '\o /dev/null'; cat "$1"; echo ';'; echo '\o'
      printf 'EXPLAIN (ANALYZE, BUFFERS)\n'; cat "$1"; echo ';'; } | "${PSQL_READER[@]}" -At >"$2" 2>>"$LOG"
}
# Shared buffers touched by the plan in file $1 (hit + read of its top node; planning excluded).
plan_pages() {
    awk '/^Planning/ { exit }
         /Buffers: shared/ { n = 0
             if (match($0, /hit=[0-9]+/)) n += substr($0, RSTART + 4, RLENGTH - 4)
             if (match($0, /read=[0-9]+/)) n += substr($0, RSTART + 5, RLENGTH - 5)
             print n; found = 1; exit }
         END { if (!found) print 0 }' "$1"
}
plan_ms() { awk -v k="$2" 'index($0, k ": ") == 1 { print $3; exit }' "$1"; }

# A fingerprint of the installed extension: another `make install` during the run would make
# its figures mix two builds.
INSTALLED_FILES=("$(pg_config --pkglibdir)/llmtrace.so" "$(pg_config --sharedir)"/extension/llmtrace*)
installed() { cat "${INSTALLED_FILES[@]}" 2>/dev/null | md5sum | cut -c1-12; }
INSTALLED_AT_START=$(installed)
INSTALL_CHANGED=0
check_installed() {
    if [ "$(installed)" != "$INSTALLED_AT_START" ]; then
        say "   WARNING: the installed extension changed during the run (before the end of $1): figures from here on may mix two builds"
        INSTALL_CHANGED=1
        INSTALLED_AT_START=$(installed)
    fi
}

# ---------------------------------------------------------------------------
# The reads.
# ---------------------------------------------------------------------------
command -v node >/dev/null || die "node (Node.js 18 or later) is needed to expand the Grafana panels (bench/grafana_panels.js)"

# The Prometheus queries: each `query: |` block of queries.yaml, under the name of its metric.
awk -v dir="$SQLDIR" '
    /^[A-Za-z_][A-Za-z0-9_]*:[ \t]*$/ { name = substr($0, 1, index($0, ":") - 1); inq = 0; next }
    /^  query:[ \t]*\|/ { inq = 1; out = dir "/prom_" name ".sql"; printf "" > out; next }
    inq && /^[ \t]*$/ { print "" > out; next }
    inq && /^    / { print substr($0, 5) > out; next }
    { inq = 0 }' "$PROMETHEUS_YAML"
PROM_READS=()
for f in "$SQLDIR"/prom_*.sql; do
    [ -s "$f" ] && PROM_READS+=("$(basename "$f" .sql)")
done
[ "${#PROM_READS[@]}" -gt 0 ] || die "no query: block found in $PROMETHEUS_YAML"

# The gateway's dashboard query, $1 = HOURS.
awk '/kDashboardSql = R"SQL\(/ { f = 1; sub(/.*R"SQL\(/, ""); if ($0 != "") print; next }
     f && /\)SQL"/ { sub(/\)SQL".*/, ""); if ($0 != "") print; exit }
     f { print }' "$GATEWAY_CPP" | sed -E "s/\\\$1([^0-9]|$)/$HOURS\\1/g" >"$SQLDIR/dashboard.sql"
[ -s "$SQLDIR/dashboard.sql" ] || die "kDashboardSql not found in $GATEWAY_CPP"
! grep -q '\$[0-9]' "$SQLDIR/dashboard.sql" || die "the dashboard query has parameters other than \$1"

echo 'SELECT * FROM llmtrace.health' >"$SQLDIR/health.sql"
echo 'SELECT llmtrace.health_ok()' >"$SQLDIR/health_ok.sql"

cat >"$SQLDIR/naive_health.sql" <<'SQL'
SELECT f.source_format, f.spans, l.last_span
FROM (SELECT max(ingested_at) AS last_span FROM llmtrace.spans) l
LEFT JOIN (SELECT source_format, count(*) AS spans FROM llmtrace.spans
           WHERE ingested_at > now() - interval '5 minutes'
           GROUP BY source_format) f ON true
SQL
# naive_scrape is written once the extension is there (its histogram buckets come from
# llmtrace.duration_buckets()).
cat >"$SQLDIR/naive_dashboard.sql" <<SQL
SELECT json_build_object(
    'today_by_model', (SELECT json_agg(d ORDER BY d.cost_usd DESC NULLS LAST, d.requests DESC) FROM (
        SELECT provider, model, count(*) AS requests, count(*) FILTER (WHERE status = 'error') AS errors,
               sum(cost_usd) AS cost_usd, count(*) FILTER (WHERE cost_status IN ('unpriced', 'invalid_price')) AS unpriced_spans,
               sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens,
               percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY duration_ms) AS latency_ms
        FROM llmtrace.spans
        WHERE start_time >= date_trunc('day', now(), 'UTC')
        GROUP BY provider, model) d),
    'hourly', (SELECT json_agg(h ORDER BY h.hour) FROM (
        SELECT date_trunc('hour', start_time, 'UTC') AS hour, count(*) AS requests,
               count(*) FILTER (WHERE status = 'error') AS errors, sum(cost_usd) AS cost_usd,
               percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY duration_ms) AS latency_ms
        FROM llmtrace.spans
        WHERE start_time >= date_trunc('hour', now(), 'UTC') - ($HOURS - 1) * interval '1 hour'
        GROUP BY 1) h))
SQL
# The naive Grafana queries: templates expanded like the panels.
GRAFANA_FILTERS="  AND coalesce(project, '(none)') = ANY (ARRAY[\${project:sqlstring}]::text[])
  AND coalesce(environment, '(none)') = ANY (ARRAY[\${environment:sqlstring}]::text[])
  AND coalesce(model, '(none)') = ANY (ARRAY[\${model:sqlstring}]::text[])"
cat >"$WORK/naive_grafana_cost_by_model.tmpl" <<SQL
SELECT \$__timeGroupAlias(start_time, \$__interval), coalesce(model, '(none)') AS metric, sum(cost_usd) AS value
FROM llmtrace.spans
WHERE \$__timeFilter(start_time)
$GRAFANA_FILTERS
GROUP BY 1, 2
ORDER BY 1
SQL
cat >"$WORK/naive_grafana_latency.tmpl" <<SQL
SELECT \$__timeGroupAlias(start_time, \$__interval),
       percentile_cont(0.5) WITHIN GROUP (ORDER BY duration_ms) AS p50,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms) AS p95,
       percentile_cont(0.99) WITHIN GROUP (ORDER BY duration_ms) AS p99
FROM llmtrace.spans
WHERE \$__timeFilter(start_time)
$GRAFANA_FILTERS
GROUP BY 1
ORDER BY 1
SQL
# read name | Grafana panel title
GRAFANA_READS=("grafana_cost_by_model|Cost by model" "grafana_latency|Latency p50 / p95 / p99")

# Writes the Grafana reads (the panels and their naive counterparts) for the last HOURS hours.
write_grafana_reads() {
    local nowms entry name title
    nowms=$(date +%s%3N)
    for entry in "${GRAFANA_READS[@]}"; do
        name=${entry%%|*}; title=${entry#*|}
        node "$HERE/grafana_panels.js" --dashboard "$DASHBOARD_JSON" --panel "$title" --db "$DB" \
            --role "$READER" --hours "$HOURS" --now "$nowms" >"$SQLDIR/$name.sql" 2>>"$WORK/grafana.txt"
        node "$HERE/grafana_panels.js" --dashboard "$DASHBOARD_JSON" --panel "$title" --db "$DB" \
            --role "$READER" --hours "$HOURS" --now "$nowms" --sql "$WORK/naive_$name.tmpl" \
            >"$SQLDIR/naive_$name.sql" 2>>"$LOG"
    done
    tail -n "${#GRAFANA_READS[@]}" "$WORK/grafana.txt" | sed 's/^#/  /'
}

READS=(health health_ok "${PROM_READS[@]}" dashboard grafana_cost_by_model grafana_latency
       naive_health naive_scrape naive_dashboard naive_grafana_cost_by_model naive_grafana_latency)
describe() {
    case $1 in
    health) echo 'SELECT * FROM llmtrace.health' ;;
    health_ok) echo 'SELECT llmtrace.health_ok()' ;;
    prom_*) echo "queries.yaml: ${1#prom_}" ;;
    dashboard) echo "gateway page: kDashboardSql, \$1 = $HOURS" ;;
    grafana_cost_by_model) echo "Grafana: 'Cost by model', ${HOURS} h" ;;
    grafana_latency) echo "Grafana: 'Latency p50 / p95 / p99', ${HOURS} h" ;;
    naive_health) echo 'spans: last 5 min by format, max(ingested_at)' ;;
    naive_scrape) echo 'spans: all-time counters + histogram per label set' ;;
    naive_dashboard) echo "spans: today by model + ${HOURS} hourly, percentile_cont" ;;
    naive_grafana_cost_by_model) echo "spans: hourly cost by model, ${HOURS} h (Grafana macros)" ;;
    naive_grafana_latency) echo "spans: hourly percentile_cont, ${HOURS} h (Grafana macros)" ;;
    *) echo "$1" ;;
    esac
}

# ---------------------------------------------------------------------------
# The cluster and the history.
# ---------------------------------------------------------------------------
say "== cluster on port $PORT in $WORK"
"$ROOT/scripts/pgcluster.sh" start "$CLUSTER" "$PORT" >>"$LOG"
"${PSQL[@]}" -d postgres -c "CREATE DATABASE $DB" >>"$LOG"
"${PSQL[@]}" >>"$LOG" <<SQL
CREATE EXTENSION llmtrace;
CREATE ROLE $READER LOGIN IN ROLE llmtrace_reader;
ALTER DATABASE $DB SET llmtrace.retention_days = 0;
SQL
say "llmtrace $(q "SELECT extversion FROM pg_extension WHERE extname = 'llmtrace'") (installed library of $(date -u -r "${INSTALLED_FILES[0]}" '+%Y-%m-%d %H:%M:%S UTC'), fingerprint $INSTALLED_AT_START), PostgreSQL $(q 'SHOW server_version'), $(nproc) CPUs"
say "reads as role $READER (member of llmtrace_reader); READ_RUNS=$READ_RUNS after one untimed run; HOURS=$HOURS"

BUCKETS=$(q "SELECT string_agg(format('count(*) FILTER (WHERE duration_ms <= %s)', b * 1000), ', ' ORDER BY b)
             FROM unnest(llmtrace.duration_buckets()) b")
cat >"$SQLDIR/naive_scrape.sql" <<SQL
SELECT coalesce(project, '') AS project, coalesce(environment, '') AS environment,
       coalesce(provider, '') AS provider, coalesce(model, '') AS model,
       count(*) AS spans_total, count(*) FILTER (WHERE status = 'error') AS errors_total,
       sum(cost_usd) AS cost_usd_total,
       sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens,
       sum(cached_input_tokens) AS cached_input_tokens, sum(cache_write_tokens) AS cache_write_tokens,
       sum(reasoning_tokens) AS reasoning_tokens,
       ARRAY[$BUCKETS] AS duration_seconds_bucket,
       sum(duration_ms) / 1000 AS duration_seconds_sum, count(duration_ms) AS duration_seconds_count
FROM llmtrace.spans
GROUP BY 1, 2, 3, 4
SQL

# load TAG FROM_EPOCH TO_EPOCH SEED0: SPANS spans starting in [from, to), CHUNKS COPYs in time
# order, each followed by the scheduler's fold and refresh.
load_history() {
    local tag=$1 from=$2 to=$3 seed0=$4 c n a b file seed t0 gen secs tick loaded=0 per_chunk
    per_chunk=$(( (SPANS + CHUNKS - 1) / CHUNKS ))
    for ((c = 0; c < CHUNKS && loaded < SPANS; c++)); do
        n=$per_chunk
        ((loaded + n <= SPANS)) || n=$((SPANS - loaded))
        a=$((from + (to - from) * c / CHUNKS))
        b=$((from + (to - from) * (c + 1) / CHUNKS))
        file=$WORK/spans.copy
        seed=$(calc "printf \"%.4f\", $seed0 + 0.4 * $c / $CHUNKS")
        t0=$(now)
        "${PSQL[@]}" -v n="$n" -v per="$PER_PAYLOAD" -v users="$USERS" -v models="$MODELS" -v seed="$seed" \
            -v prefix="$tag$c" -v from_ts="$(date -u -d "@$a" +%FT%TZ)" -v to_ts="$(date -u -d "@$b" +%FT%TZ)" \
            -v out="$file" -f "$HERE/gen_spans.sql" >>"$LOG"
        gen=$(elapsed "$t0" "$(now)")
        t0=$(now)
        "${PSQL[@]}" -c "\\copy llmtrace.ingest (payload) FROM '$file'" >>"$LOG"
        secs=$(elapsed "$t0" "$(now)")
        rm -f "$file"
        tick=$({ echo '\timing on'; echo 'SELECT llmtrace.fold_rollups();'; echo 'SELECT llmtrace.refresh_daily_cost_summary();'; } |
               "${PSQL[@]}" -At 2>>"$LOG" | awk '/^Time: / { print $2 }' | list)
        loaded=$((loaded + n))
        say "   COPY $((c + 1))/$CHUNKS: $n spans $(date -u -d "@$a" '+%Y-%m-%d %H:%M')..$(date -u -d "@$b" '+%m-%d %H:%M') UTC (generated in ${gen}s): ${secs}s; fold_rollups() ${tick% *} ms, refresh_daily_cost_summary() ${tick#* } ms"
    done
}

# What autovacuum would have done after the load: the delta tables, emptied by the folds, are
# truncated, the statistics are current.
vacuum_after_load() {
    local t0
    t0=$(now)
    q 'VACUUM ANALYZE' >>"$LOG"
    q 'CHECKPOINT' >>"$LOG"
    say "   VACUUM ANALYZE: $(elapsed "$t0" "$(now)")s"
}
# RECENT_SPANS spans of the last hour, COPYed and left unfolded (then ANALYZE of the delta tables).
recent_unfolded() {
    local tag=$1 seed=$2 file=$WORK/recent.copy from to
    from=$(q "SELECT extract(epoch FROM now() - interval '1 hour')::bigint")
    to=$(q "SELECT extract(epoch FROM now() - interval '1 minute')::bigint")
    "${PSQL[@]}" -v n="$RECENT_SPANS" -v per="$PER_PAYLOAD" -v users="$USERS" -v models="$MODELS" -v seed="$seed" \
        -v prefix="$tag" -v from_ts="$(date -u -d "@$from" +%FT%TZ)" -v to_ts="$(date -u -d "@$to" +%FT%TZ)" \
        -v out="$file" -f "$HERE/gen_spans.sql" >>"$LOG"
    "${PSQL[@]}" -c "\\copy llmtrace.ingest (payload) FROM '$file'" >>"$LOG"
    rm -f "$file"
    q 'ANALYZE llmtrace.rollup_deltas, llmtrace.daily_deltas, llmtrace.ingest_deltas' >>"$LOG"
    say "   $RECENT_SPANS spans of the last hour COPYed and left unfolded: $(q "SELECT (SELECT count(*) FROM llmtrace.rollup_deltas) || ' live deltas ('
        || pg_size_pretty(pg_relation_size('llmtrace.rollup_deltas')) || '), ' || (SELECT count(*) FROM llmtrace.daily_deltas) || ' daily deltas pending, '
        || (SELECT count(*) FROM llmtrace.ingest_deltas) || ' rows of ingest minutes'")"
}

quarantine_check() {
    local n
    n=$(q 'SELECT count(*) FROM llmtrace.ingest_errors')
    [ "$n" = 0 ] || die "$n rows in llmtrace.ingest_errors (every generated payload is valid): $(q 'SELECT error FROM llmtrace.ingest_errors ORDER BY id LIMIT 1')"
}

describe_history() {
    say "   history: $(q "SELECT count(*) || ' spans, ' || count(DISTINCT (start_time AT TIME ZONE 'UTC')::date) || ' days ('
                              || to_char(min(start_time) AT TIME ZONE 'UTC', 'YYYY-MM-DD') || '..' || to_char(max(start_time) AT TIME ZONE 'UTC', 'YYYY-MM-DD') || '), '
                              || count(DISTINCT (project, environment, provider, model)) || ' label sets'
                       FROM llmtrace.spans")"
    say "   spans: $(q "SELECT count(*) || ' partitions, ' || pg_size_pretty(sum(pg_total_relation_size(c.oid))) || ' with indexes'
                        FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'llmtrace.spans'::regclass")"
    say "   daily_rollups: $(q "SELECT count(*) || ' rows (' || count(*) FILTER (WHERE grain = 'model') || ' of grain model), ' || pg_size_pretty(pg_total_relation_size('llmtrace.daily_rollups')) FROM llmtrace.daily_rollups"); hourly_rollups: $(q "SELECT count(*) || ' rows, ' || pg_size_pretty(pg_total_relation_size('llmtrace.hourly_rollups')) FROM llmtrace.hourly_rollups"); alerts: $(q 'SELECT count(*) FROM llmtrace.alerts')"
    say "   in the last $HOURS hours: $(q "SELECT count(*) FROM llmtrace.spans WHERE start_time > now() - interval '$HOURS hours'") spans; today (UTC): $(q "SELECT count(*) FROM llmtrace.spans WHERE start_time >= date_trunc('day', now(), 'UTC')") spans"
    say "   health: $(q "SELECT string_agg(coalesce(j ->> 'check', j ->> 'check_name') || ' ' || (j ->> 'status'), ', ')
                      FROM (SELECT to_jsonb(h) AS j FROM llmtrace.health h) x")"
    # The scrape and the spans count the same spans.
    local c s
    c=$(q 'SELECT sum(spans)::bigint FROM llmtrace.prometheus_counters')
    s=$(q 'SELECT count(*) FROM llmtrace.spans')
    [ "$c" = "$s" ] || say "   WARNING: llmtrace.prometheus_counters counts $c spans, llmtrace.spans holds $s"
}

# measure LABEL: every read, warm, median of READ_RUNS, and its plan.
measure() {
    local label=$1 r ms med pages plan pms ems
    say "   Grafana time range and variables:"
    write_grafana_reads
    printf '   %-30s %-58s %10s %10s %10s %10s   %s\n' read what 'median ms' pages 'plan ms' 'exec ms' 'all runs (ms)'
    for r in "${READS[@]}"; do
        ms=$(timed_read "$SQLDIR/$r.sql")
        [ "$(printf '%s\n' "$ms" | grep -c .)" = "$READ_RUNS" ] || die "read $r did not run $READ_RUNS times (see $LOG)"
        med=$(median <<<"$ms")
        plan=$PLANS/$label.$r.txt
        explain_read "$SQLDIR/$r.sql" "$plan"
        pages=$(plan_pages "$plan")
        pms=$(plan_ms "$plan" 'Planning Time'); ems=$(plan_ms "$plan" 'Execution Time')
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$label" "$r" "$med" "$pages" "$(list <<<"$ms")" "$pms" "$ems" >>"$RESULTS"
        printf '   %-30s %-58s %10s %10s %10s %10s   %s\n' "$r" "$(describe "$r")" "$med" "$pages" "$pms" "$ems" "$(list <<<"$ms")"
    done
}

# ---------------------------------------------------------------------------
# 1. The history: SPANS spans over DAYS days up to now.
# ---------------------------------------------------------------------------
START=$(q "SELECT extract(epoch FROM now())::bigint")
say ""
say "== 1. history: $SPANS spans over $DAYS days up to now"
q "SELECT llmtrace.ensure_partitions(current_date - $DAYS, current_date + 1)" >>"$LOG"
load_history a "$((START - DAYS * 86400))" "$((START - 600))" 0.05
say "   maintain(): $(q 'SELECT row_to_json(m) FROM llmtrace.maintain() m'); evaluate_alerts(): $(q 'SELECT llmtrace.evaluate_alerts()')"
vacuum_after_load
recent_unfolded r1 -0.3
quarantine_check
describe_history
H1=$(q "SELECT count(*) || ' spans over ' || count(DISTINCT (start_time AT TIME ZONE 'UTC')::date) || ' days' FROM llmtrace.spans")
measure 1x
check_installed "the first measurement"

# ---------------------------------------------------------------------------
# 2. Twice the history: as many spans again on the DAYS days before.
# ---------------------------------------------------------------------------
say ""
say "== 2. twice the history: $SPANS more spans on the $DAYS days before"
q "SELECT llmtrace.ensure_partitions(current_date - $((2 * DAYS + 1)), current_date - $DAYS)" >>"$LOG"
load_history b "$((START - 2 * DAYS * 86400))" "$((START - DAYS * 86400))" 0.5
say "   maintain(): $(q 'SELECT row_to_json(m) FROM llmtrace.maintain() m'); evaluate_alerts(): $(q 'SELECT llmtrace.evaluate_alerts()')"
vacuum_after_load
recent_unfolded r2 -0.6
quarantine_check
describe_history
H2=$(q "SELECT count(*) || ' spans over ' || count(DISTINCT (start_time AT TIME ZONE 'UTC')::date) || ' days' FROM llmtrace.spans")
measure 2x
check_installed "the second measurement"

# ---------------------------------------------------------------------------
# Summary.
# ---------------------------------------------------------------------------
get() { awk -F'\t' -v l="$1" -v r="$2" -v c="$3" '$1 == l && $2 == r { print $c; exit }' "$RESULTS"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || a + 0 == 0) print "-"; else printf "%.2f", b / a }'; }
say ""
say "== summary (medians of $READ_RUNS warm runs, ms; pages: shared buffers the plan touched)"
say "   1x: $H1; 2x: $H2"
printf '%-30s %11s %11s %7s %10s %10s %7s\n' read '1x ms' '2x ms' '2x/1x' '1x pages' '2x pages' '2x/1x'
for r in "${READS[@]}"; do
    m1=$(get 1x "$r" 3); m2=$(get 2x "$r" 3); p1=$(get 1x "$r" 4); p2=$(get 2x "$r" 4)
    printf '%-30s %11s %11s %7s %10s %10s %7s\n' "$r" "$m1" "$m2" "$(ratio "$m1" "$m2")" "$p1" "$p2" "$(ratio "$p1" "$p2")"
done
say ""
# what a reader asks | llmtrace reads (summed) | the naive read
PAIRS=("probe: llmtrace.health|health|naive_health"
       "probe: llmtrace.health_ok()|health_ok|naive_health"
       "scrape: queries.yaml ($(echo "${PROM_READS[@]}" | wc -w) queries)|$(IFS=+; echo "${PROM_READS[*]}")|naive_scrape"
       "page: the gateway's dashboard|dashboard|naive_dashboard"
       "Grafana: Cost by model|grafana_cost_by_model|naive_grafana_cost_by_model"
       "Grafana: Latency p50/p95/p99|grafana_latency|naive_grafana_latency")
sum_reads() { # label reads(+)
    local t=0 r v
    for r in ${2//+/ }; do v=$(get "$1" "$r" 3); t=$(calc "print $t + ${v:-0}"); done
    calc "printf \"%.3f\", $t"
}
printf '%-34s %11s %11s %9s   %11s %11s %9s\n' '' 'llmtrace' 'naive' 'naive /' 'llmtrace' 'naive' 'naive /'
printf '%-34s %11s %11s %9s   %11s %11s %9s\n' 'what is read' '1x ms' '1x ms' llmtrace '2x ms' '2x ms' llmtrace
for p in "${PAIRS[@]}"; do
    IFS='|' read -r what ours naive <<<"$p"
    o1=$(sum_reads 1x "$ours"); o2=$(sum_reads 2x "$ours")
    n1=$(get 1x "$naive" 3); n2=$(get 2x "$naive" 3)
    printf '%-34s %11s %11s %9s   %11s %11s %9s\n' "$what" "$o1" "$n1" "$(ratio "$o1" "$n1")" "$o2" "$n2" "$(ratio "$o2" "$n2")"
done
say "(figures of this run on $(nproc) CPUs; plans in $PLANS, kept with KEEP_WORKDIR=1)"
[ "$INSTALL_CHANGED" = 0 ] || exit 1
exit 0
