#!/usr/bin/env bash
# integrations/prometheus/queries.yaml under the real prometheus-postgres-exporter (Debian 12:
# 0.11.1), scraped with curl:
#   a login role that is only a member of llmtrace_reader runs the exporter; spans of two projects,
#   several models, error spans, spans without a model or a duration, ingested over several days
#   (45 and 40 days back too), maintain()ed into day partitions, folded and summarized;
#   every llmtrace metric family is there with its TYPE; every counter (spans, errors, tokens by
#   type, cost) and every histogram series (buckets, +Inf, sum, count) equals what SQL over
#   llmtrace.spans computes for its label set (the span durations lie far from the bucket bounds,
#   so the sketch's 1 % cannot move a span across one); buckets are cumulative;
#   apply_retention() with retention_days 30 drops the two old days (their spans are gone) and no
#   series decreases or disappears; spans ingested afterwards (also into a series whose spans
#   were all dropped, a new series and a dropped day) raise every series by exactly their own
#   figures; pg_up 1, no scrape error, no error in the exporter's log; a role without
#   llmtrace_reader gets a scrape error and no llmtrace series (what the health checks look for).
# The committed file is scraped as it is (cache_seconds 30) and, for the scrapes after a change,
# as a copy that differs only in cache_seconds 0 (no waiting for the cache).
# Uses the cluster of PGHOST/PGPORT (PGUSER a superuser) if PGHOST is set (scripts/test.sh), in a
# database of its own, dropped at the end; else starts a throwaway cluster. Takes a few seconds.
# Ends with "N passed, N failed".
#   LLMTRACE_PROM_TEST_PORT   the throwaway cluster's port (default 5492)
#   LLMTRACE_PROM_HTTP_PORT   the first HTTP port tried for the exporters (default 19187)
#   LLMTRACE_PROM_EXPORTER    the exporter binary (default: prometheus-postgres-exporter on PATH)
#   LLMTRACE_PROM_KEEP=1      keep the database and the work directory (scrapes, logs)
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
root=$(pwd)
YAML=$root/integrations/prometheus/queries.yaml
PORT=${LLMTRACE_PROM_TEST_PORT:-5492}
HTTP_PORT=${LLMTRACE_PROM_HTTP_PORT:-19187}
EXPORTER=${LLMTRACE_PROM_EXPORTER:-$(command -v prometheus-postgres-exporter)}
DB=llmtrace_prom
ROLE=llmtrace_prom_exporter     # member of llmtrace_reader only
NOREAD=llmtrace_prom_noread     # member of nothing
KEEP=${LLMTRACE_PROM_KEEP:-0}

. test/lib.sh

work=$(mktemp -d /tmp/llmtrace-prom.XXXXXX)
chmod 755 "$work"
exporter_pids=()
own_cluster=0
PSQL=(psql -X -q -A -t -v ON_ERROR_STOP=1)
q() { "${PSQL[@]}" -d "$DB" -c "$1"; }  # as PGUSER (a superuser)

cleanup() {
    local p
    for p in "${exporter_pids[@]}"; do
        kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
    done
    if [ "$own_cluster" = 1 ]; then
        "$root/scripts/pgcluster.sh" stop "$work/pg" >/dev/null 2>&1
    elif [ "$KEEP" != 1 ] && [ -n "${PGHOST:-}" ]; then
        "${PSQL[@]}" -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" \
            -c "DROP ROLE IF EXISTS $ROLE" -c "DROP ROLE IF EXISTS $NOREAD" >/dev/null 2>&1
    fi
    if [ "$KEEP" = 1 ]; then echo "# kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

finish() {
    local f
    if [ "$failed" -gt 0 ]; then
        for f in "$work"/*.log; do
            [ -s "$f" ] || continue
            echo "--- $(basename "$f") (last 10 lines)"
            tail -10 "$f"
        done
    fi
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
    exit
}

if [ -z "$EXPORTER" ] || [ ! -x "$EXPORTER" ]; then
    not_ok "prometheus-postgres-exporter is installed (Debian: apt-get install prometheus-postgres-exporter)"
    finish
fi
if ! command -v curl >/dev/null; then
    not_ok "curl is installed (Debian: apt-get install curl)"
    finish
fi
note "exporter: $EXPORTER ($("$EXPORTER" --version 2>&1 | head -1))"

# --- the cluster, the database, the roles ------------------------------------------------------
if [ -z "${PGHOST:-}" ]; then
    if ! eval "export $("$root/scripts/pgcluster.sh" start "$work/pg" "$PORT")"; then
        tail -20 "$work/pg/server.log" 2>/dev/null
        not_ok "a throwaway cluster starts on port $PORT"
        finish
    fi
    own_cluster=1
fi
note "cluster: PGHOST=$PGHOST PGPORT=${PGPORT:-5432}"
# The roles after CREATE EXTENSION, which makes llmtrace_reader in a fresh cluster.
"${PSQL[@]}" -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "DROP ROLE IF EXISTS $ROLE" \
    -c "DROP ROLE IF EXISTS $NOREAD" -c "CREATE DATABASE $DB" >/dev/null 2>"$work/setup.log" &&
    q "CREATE EXTENSION llmtrace" 2>>"$work/setup.log" &&
    q "CREATE ROLE $ROLE LOGIN IN ROLE llmtrace_reader" 2>>"$work/setup.log" &&
    q "CREATE ROLE $NOREAD LOGIN" 2>>"$work/setup.log"
if [ "$(q "SELECT to_regclass('llmtrace.prometheus_counters') IS NOT NULL
             AND to_regclass('llmtrace.prometheus_latency') IS NOT NULL
             AND EXISTS (SELECT FROM pg_roles WHERE rolname = '$ROLE')" 2>>"$work/setup.log")" = t ]; then
    ok "set-up: database $DB, CREATE EXTENSION llmtrace (views prometheus_counters, prometheus_latency), role $ROLE"
else
    cat "$work/setup.log"
    not_ok "set-up: database $DB, CREATE EXTENSION llmtrace with the views llmtrace.prometheus_counters and llmtrace.prometheus_latency, role $ROLE"
    finish
fi
r=$(q "SELECT r.rolsuper OR r.rolbypassrls OR r.rolcreaterole OR r.rolcreatedb, coalesce((
         SELECT string_agg(b.rolname, ',' ORDER BY b.rolname) FROM pg_auth_members m
         JOIN pg_roles b ON b.oid = m.roleid WHERE m.member = r.oid), '')
       FROM pg_roles r WHERE r.rolname = '$ROLE'")
if [ "$r" = "f|llmtrace_reader" ]; then
    ok "$ROLE: no superuser or other attribute, member of llmtrace_reader only"
else
    not_ok "$ROLE: no superuser or other attribute, member of llmtrace_reader only; got '$r'"
fi

# --- spans -------------------------------------------------------------------------------------
# ingest BATCH ROWS: ROWS is a VALUES list of (project, environment, provider, model, usage shape,
# days back, spans); every fifth span has no duration, every fourth is an error, the durations
# come from a list whose values lie at least 10 % away from every bucket bound
# (10, 20, 40, ..., 81920 ms); spans of day 0 start in the last minutes, others at 01:00 UTC.
# Trace ids start with 'prom-BATCH-'. Prints the spans newly stored.
ingest() {
    q "SELECT sum(llmtrace.ingest_json(p)) FROM (
         SELECT jsonb_strip_nulls(jsonb_build_object(
           'trace_id', format('prom-%s-%s-%s-%s-%s', '$1', g.project, g.model, g.days, i),
           'span_id', 's' || i,
           'start_time', to_char(CASE WHEN g.days = 0 THEN now() - i * interval '1 second'
                           ELSE date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
                                - g.days * interval '1 day' + interval '1 hour' + i * interval '1 minute'
                         END AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'),
           'duration_ms', CASE WHEN i % 5 = 3 THEN NULL
                          ELSE ('{5,15,30,55,110,123.4,230,450,900,1800,3700,7300,14500,29000,58000,120000}'::float8[])
                               [1 + (i * 7 + g.days) % 16] END,
           'status', CASE WHEN i % 4 = 1 THEN 'error' ELSE 'ok' END,
           'name', 'call ' || i,
           'project', nullif(g.project, ''), 'environment', nullif(g.environment, ''),
           'provider', nullif(g.provider, ''), 'model', nullif(g.model, ''),
           'usage', CASE g.shape
             WHEN 'openai' THEN jsonb_build_object('prompt_tokens', 1000 + 13 * i, 'completion_tokens', 200 + 7 * i,
                 'prompt_tokens_details', jsonb_build_object('cached_tokens', 100 + i),
                 'completion_tokens_details', jsonb_build_object('reasoning_tokens', 20 + i))
             WHEN 'anthropic' THEN jsonb_build_object('input_tokens', 100 + 3 * i, 'output_tokens', 30 + i,
                 'cache_read_input_tokens', 500 + i, 'cache_creation_input_tokens', 200 + 2 * i)
             WHEN 'plain' THEN jsonb_build_object('input_tokens', 50 + i, 'output_tokens', 5 + i)
           END,
           'cost_usd', CASE WHEN g.shape = 'plain' AND i % 2 = 0 THEN 0.0125 * i END))::text AS p
         FROM (VALUES $2) AS g(project, environment, provider, model, shape, days, n)
         CROSS JOIN LATERAL generate_series(1, g.n) AS i) x"
}
b1=$(ingest b1 "
    ('alpha', 'prod',    'openai',    'gpt-4o',                    'openai',    45, 6),
    ('alpha', 'prod',    'openai',    'gpt-4o',                    'openai',    40, 6),
    ('alpha', 'prod',    'openai',    'gpt-4o',                    'openai',    10, 6),
    ('alpha', 'prod',    'openai',    'gpt-4o',                    'openai',     2, 6),
    ('alpha', 'prod',    'openai',    'gpt-4o',                    'openai',     0, 6),
    ('alpha', 'prod',    'anthropic', 'claude-sonnet-4-20250514',  'anthropic', 40, 5),
    ('alpha', 'prod',    'anthropic', 'claude-sonnet-4-20250514',  'anthropic',  2, 5),
    ('alpha', 'prod',    'anthropic', 'claude-sonnet-4-20250514',  'anthropic',  0, 5),
    ('alpha', 'staging', 'openai',    'gpt-4o-mini',               'openai',    10, 4),
    ('alpha', 'staging', 'openai',    'gpt-4o-mini',               'openai',     0, 4),
    ('alpha', 'prod',    'acme',      'acme-llm-1',                'plain',     40, 4),
    ('alpha', 'prod',    'acme',      'acme-llm-1',                'plain',      0, 4),
    ('beta',  'prod',    'openai',    'gpt-4o',                    'openai',    45, 3),
    ('beta',  'prod',    'openai',    'gpt-4o',                    'openai',     0, 3),
    ('beta',  'prod',    '',          '',                          'none',      45, 4),
    ('beta',  'prod',    '',          '',                          'none',      10, 4),
    ('beta',  'prod',    '',          '',                          'none',       0, 4),
    ('beta',  'staging', 'anthropic', 'claude-3-5-haiku-20241022', 'anthropic', 45, 3),
    ('beta',  'staging', 'anthropic', 'claude-3-5-haiku-20241022', 'anthropic', 40, 3),
    ('',      '',        '',          '',                          'none',       0, 2)" 2>&1)
expect_b1=$(q "SELECT 6*5 + 5*3 + 4*2 + 4*2 + 3*2 + 4*3 + 3*2 + 2")
if [ "$b1" = "$expect_b1" ]; then
    ok "ingest: $b1 spans over 20 (label set, day) groups, days 45, 40, 10, 2 and 0 back"
else
    not_ok "ingest: $expect_b1 spans stored; got '$b1'"
fi
facts=$(q "SELECT count(*) FILTER (WHERE status = 'error') || ' errors, '
                  || count(*) FILTER (WHERE duration_ms IS NULL) || ' without a duration, '
                  || count(*) FILTER (WHERE model IS NULL) || ' without a model, '
                  || count(*) FILTER (WHERE cost_status = 'reported') || ' with a reported cost, '
                  || count(*) FILTER (WHERE cost_status = 'priced') || ' priced, '
                  || count(*) FILTER (WHERE cost_status = 'unpriced') || ' unpriced; tokens: '
                  || sum(cached_input_tokens) || ' cached, ' || sum(cache_write_tokens) || ' cache writes, '
                  || sum(reasoning_tokens) || ' reasoning'
           FROM llmtrace.spans")
note "stored spans: $facts"

# Day partitions for the back-filled days, then the summaries.
day_of() { q "SELECT to_char((now() AT TIME ZONE 'UTC')::date - $1, 'YYYYMMDD')"; }
d45=$(day_of 45) d40=$(day_of 40) d10=$(day_of 10)
if q "SELECT llmtrace.maintain()" >/dev/null &&
    [ "$(q "SELECT count(*) FROM llmtrace.spans_default")" = 0 ] &&
    [ "$(q "SELECT to_regclass('llmtrace.spans_p$d45') IS NOT NULL AND to_regclass('llmtrace.spans_p$d40') IS NOT NULL
              AND to_regclass('llmtrace.spans_p$d10') IS NOT NULL")" = t ]; then
    ok "llmtrace.maintain(): the back-filled days are in their partitions (spans_p$d45, spans_p$d40, spans_p$d10), spans_default empty"
else
    not_ok "llmtrace.maintain(): the back-filled days in spans_p$d45, spans_p$d40, spans_p$d10 and spans_default empty"
fi
summarize() { q "SELECT llmtrace.fold_rollups()" >/dev/null && q "SELECT llmtrace.refresh_daily_cost_summary()" >/dev/null; }
if summarize; then ok "llmtrace.fold_rollups() and llmtrace.refresh_daily_cost_summary()"; else
    not_ok "llmtrace.fold_rollups() and llmtrace.refresh_daily_cost_summary()"
fi

# --- what the test compares in SQL -------------------------------------------------------------
# Scrapes are loaded into prom_check.samples; prom_check.got(a, b) is scrape a minus scrape b
# (b NULL: scrape a) for the llmtrace_ series; prom_check.expected(pat) what the same series must
# be for the spans whose trace id is LIKE pat, computed from llmtrace.spans.
if ! "${PSQL[@]}" -d "$DB" >/dev/null 2>"$work/check-sql.log" <<'SQL'; then
CREATE SCHEMA prom_check;
CREATE TABLE prom_check.samples (scrape text, name text, labels text, value float8);
CREATE VIEW prom_check.s AS
SELECT scrape, name,
       coalesce(substring(labels FROM '(?:^|,)project="([^"]*)"'), '') AS project,
       coalesce(substring(labels FROM '(?:^|,)environment="([^"]*)"'), '') AS environment,
       coalesce(substring(labels FROM '(?:^|,)provider="([^"]*)"'), '') AS provider,
       coalesce(substring(labels FROM '(?:^|,)model="([^"]*)"'), '') AS model,
       coalesce(substring(labels FROM '(?:^|,)type="([^"]*)"'), '') AS type,
       coalesce(substring(labels FROM '(?:^|,)le="([^"]*)"'), '') AS le,
       value
FROM prom_check.samples;

CREATE FUNCTION prom_check.got(a text, b text)
RETURNS TABLE (name text, project text, environment text, provider text, model text, type text, le text,
               v float8, in_a boolean, in_b boolean)
LANGUAGE sql STABLE AS $$
  SELECT coalesce(x.name, y.name), coalesce(x.project, y.project), coalesce(x.environment, y.environment),
         coalesce(x.provider, y.provider), coalesce(x.model, y.model), coalesce(x.type, y.type),
         coalesce(x.le, y.le), coalesce(x.value, 0) - coalesce(y.value, 0), x.name IS NOT NULL, y.name IS NOT NULL
  FROM (SELECT * FROM prom_check.s WHERE scrape = a AND name LIKE 'llmtrace\_%' AND name NOT LIKE 'llmtrace\_health\_%') x
  FULL JOIN (SELECT * FROM prom_check.s WHERE scrape = b AND name LIKE 'llmtrace\_%' AND name NOT LIKE 'llmtrace\_health\_%') y
    USING (name, project, environment, provider, model, type, le)
$$;

CREATE FUNCTION prom_check.expected(pat text)
RETURNS TABLE (name text, project text, environment text, provider text, model text, type text, le text, v float8)
LANGUAGE sql STABLE AS $$
  WITH sp AS (
    SELECT coalesce(s.project, '') AS project, coalesce(s.environment, '') AS environment,
           coalesce(s.provider, '') AS provider, coalesce(s.model, '') AS model, s.status, s.duration_ms,
           s.cost_usd, s.input_tokens, s.output_tokens, s.cached_input_tokens, s.cache_write_tokens, s.reasoning_tokens
    FROM llmtrace.spans s WHERE s.trace_id LIKE pat)
  SELECT x.name, sp.project, sp.environment, sp.provider, sp.model, x.type, '', sum(x.v)::float8
  FROM sp CROSS JOIN LATERAL (VALUES
      ('llmtrace_spans_total', '', 1::numeric),
      ('llmtrace_errors_total', '', (sp.status = 'error')::int::numeric),
      ('llmtrace_cost_usd_total', '', coalesce(sp.cost_usd, 0)),
      ('llmtrace_tokens_total', 'input', coalesce(sp.input_tokens, 0)::numeric),
      ('llmtrace_tokens_total', 'output', coalesce(sp.output_tokens, 0)::numeric),
      ('llmtrace_tokens_total', 'cached_input', coalesce(sp.cached_input_tokens, 0)::numeric),
      ('llmtrace_tokens_total', 'cache_write', coalesce(sp.cache_write_tokens, 0)::numeric),
      ('llmtrace_tokens_total', 'reasoning', coalesce(sp.reasoning_tokens, 0)::numeric)) AS x(name, type, v)
  GROUP BY 1, 2, 3, 4, 5, 6
  UNION ALL
  SELECT x.name, sp.project, sp.environment, sp.provider, sp.model, '', x.le, sum(x.v)::float8
  FROM sp CROSS JOIN LATERAL (
      SELECT 'llmtrace_span_duration_seconds_count', '', 1::float8
      UNION ALL SELECT 'llmtrace_span_duration_seconds_sum', '', sp.duration_ms / 1000
      UNION ALL SELECT 'llmtrace_span_duration_seconds_bucket', b.le,
                       (CASE WHEN b.le = '+Inf' OR sp.duration_ms <= b.le::float8 * 1000 THEN 1 ELSE 0 END)::float8
      -- the OpenTelemetry GenAI gen_ai.client.operation.duration bucket bounds, as the exporter writes them
      FROM unnest('{0.01,0.02,0.04,0.08,0.16,0.32,0.64,1.28,2.56,5.12,10.24,20.48,40.96,81.92,+Inf}'::text[]) AS b(le)
    ) AS x(name, le, v)
  WHERE sp.duration_ms IS NOT NULL
  GROUP BY 1, 2, 3, 4, 5, 7
$$;

-- compare(a, b, pat): scrape a (minus scrape b) against the spans LIKE pat: series compared,
-- series that differ (beyond 1e-9 relative: costs and sums are floating point), and the first few.
-- Without b, a series expected but not scraped differs, and so does a scraped series that is
-- not expected unless it is 0 (a histogram of spans without a duration).
CREATE FUNCTION prom_check.compare(a text, b text, pat text)
RETURNS TABLE (compared bigint, differ bigint, detail text)
LANGUAGE sql STABLE AS $$
  WITH j AS (
    SELECT name, project, environment, provider, model, type, le, g.v AS got, e.v AS want,
           CASE WHEN b IS NULL THEN (e.v IS NULL AND g.v <> 0) OR g.v IS NULL
                                    OR abs(g.v - e.v) > 1e-9 * greatest(abs(g.v), abs(e.v)) + 1e-12
                ELSE abs(coalesce(g.v, 0) - coalesce(e.v, 0))
                     > 1e-9 * greatest(abs(coalesce(g.v, 0)), abs(coalesce(e.v, 0))) + 1e-12 END AS bad
    FROM (SELECT name, project, environment, provider, model, type, le, v FROM prom_check.got(a, b)) g
    FULL JOIN prom_check.expected(pat) e USING (name, project, environment, provider, model, type, le))
  SELECT count(*), count(*) FILTER (WHERE bad),
         string_agg(format('%s{project=%s,environment=%s,provider=%s,model=%s%s%s} scraped %s, SQL %s',
                           name, project, environment, provider, model,
                           CASE WHEN type <> '' THEN ',type=' || type ELSE '' END,
                           CASE WHEN le <> '' THEN ',le=' || le ELSE '' END,
                           coalesce(got::text, 'none'), coalesce(want::text, 'none')), '; ')
           FILTER (WHERE bad)
  FROM j
$$;
SQL
    cat "$work/check-sql.log"
    not_ok "the comparison functions (schema prom_check) are created"
    finish
fi

# --- the exporters -----------------------------------------------------------------------------
# start_exporter NAME ROLE YAML: runs the exporter as the test's OS user, connected as ROLE, with
# the log in $work/NAME.log; sets exporter_port; waits until its landing page answers.
start_exporter() {
    local name=$1 role=$2 yaml=$3 pid
    exporter_port=$(free_port "$HTTP_PORT")
    DATA_SOURCE_NAME="host=$PGHOST port=${PGPORT:-5432} dbname=$DB user=$role sslmode=disable" \
        "$EXPORTER" --web.listen-address="127.0.0.1:$exporter_port" --extend.query-path="$yaml" \
        --disable-default-metrics --disable-settings-metrics --log.level=info >"$work/$name.log" 2>&1 &
    pid=$!
    exporter_pids+=("$pid")
    for _ in $(seq 1 100); do
        [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$exporter_port/")" = 200 ] && return 0
        kill -0 "$pid" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}
# scrape NAME PORT: GET /metrics into $work/NAME.prom and its samples into prom_check.samples.
scrape() {
    curl -sf --max-time 60 "http://127.0.0.1:$2/metrics" >"$work/$1.prom" || return 1
    sed -nE 's/^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? ([^ ]+)$/\1\t\3\t\4/p' "$work/$1.prom" |
        awk -v s="$1" '{ print s "\t" $0 }' | q "COPY prom_check.samples FROM STDIN"
}
sample() { q "SELECT string_agg(value::text, ',') FROM prom_check.s WHERE scrape = '$1' AND name = '$2'"; }
# healthy NAME: pg_up 1, pg_exporter_last_scrape_error 0, the queries file loaded, every collector
# succeeded, and the exporter's log has no error (a failing query is logged at level info, err=...).
healthy() {
    local up err load coll logerr
    up=$(sample "$1" pg_up) err=$(sample "$1" pg_exporter_last_scrape_error)
    load=$(sample "$1" pg_exporter_user_queries_load_error)
    coll=$(q "SELECT count(*) FROM prom_check.s WHERE scrape = '$1' AND name = 'pg_scrape_collector_success' AND value <> 1")
    logerr=$(grep -E 'level=(error|warn)|err=|Error running query' "$work/$2.log" | head -3 | tr '\n' ' ')
    if [ "$up" = 1 ] && [ "$err" = 0 ] && [ "$load" = 0 ] && [ "$coll" = 0 ] && [ -z "$logerr" ]; then
        ok "scrape $1: pg_up 1, pg_exporter_last_scrape_error 0, user_queries_load_error 0, collectors succeeded, no error in the log"
    else
        not_ok "scrape $1: pg_up 1 ($up), pg_exporter_last_scrape_error 0 ($err), user_queries_load_error 0 ($load), failed collectors 0 ($coll), log: ${logerr:-clean}"
    fi
}
# check_compare LABEL A B PAT
check_compare() {
    local r n bad detail
    r=$(q "SELECT compared || '|' || differ || '|' || coalesce(detail, '') FROM prom_check.compare('$2', ${3:-NULL}, '$4')")
    n=${r%%|*} r=${r#*|} bad=${r%%|*} detail=${r#*|}
    if [ -n "$n" ] && [ "$n" -gt 0 ] && [ "$bad" = 0 ]; then ok "$1 ($n series)"; else
        not_ok "$1: $bad of $n series differ: ${detail:0:1500}"
    fi
}

# A copy of the committed file with cache_seconds 0, for the scrapes after a change.
nocache=$work/queries-nocache.yaml
sed -E 's/^(  cache_seconds:) 30$/\1 0/' "$YAML" >"$nocache"
namespaces=$(grep -cE '^[a-z_]+:$' "$YAML")
if [ "$namespaces" = 4 ] && [ "$(grep -cE '^  master: true$' "$YAML")" = 4 ] &&
    [ "$(grep -cE '^  cache_seconds: 0$' "$nocache")" = 4 ] &&
    diff <(grep -v '^  cache_seconds:' "$YAML") <(grep -v '^  cache_seconds:' "$nocache") >/dev/null; then
    ok "queries.yaml: 4 namespaces, each master: true and cache_seconds 30; the test copy differs only in cache_seconds 0"
else
    not_ok "queries.yaml: 4 namespaces, each master: true and cache_seconds 30 (the test copy: cache_seconds 0, nothing else changed)"
fi

if start_exporter committed "$ROLE" "$YAML"; then
    port_committed=$exporter_port
    ok "the exporter starts as $(id -un), connected as $ROLE, with integrations/prometheus/queries.yaml (127.0.0.1:$port_committed)"
else
    not_ok "the exporter starts with integrations/prometheus/queries.yaml"
    finish
fi
if start_exporter nocache "$ROLE" "$nocache"; then
    port_nocache=$exporter_port
else
    not_ok "the exporter starts with the test copy (cache_seconds 0)"
    finish
fi

if scrape a1 "$port_committed" && scrape b1 "$port_nocache"; then
    ok "GET /metrics from both exporters ($(grep -c '^llmtrace_' "$work/a1.prom") llmtrace samples each)"
else
    not_ok "GET /metrics from both exporters"
    finish
fi
healthy a1 committed
healthy b1 nocache
types=""
for f in "llmtrace_spans_total counter" "llmtrace_errors_total counter" "llmtrace_tokens_total counter" \
    "llmtrace_cost_usd_total counter" "llmtrace_span_duration_seconds histogram"; do
    set -- $f
    grep -qx "# TYPE $1 $2" "$work/a1.prom" && grep -q "^$1[{_]" "$work/a1.prom" || types="$types $1 ($2)"
done
if [ -z "$types" ]; then
    ok "families with their TYPE: llmtrace_spans_total, llmtrace_errors_total, llmtrace_tokens_total, llmtrace_cost_usd_total (counter), llmtrace_span_duration_seconds (histogram)"
else
    not_ok "families with their TYPE, missing:$types"
fi
r=$(q "SELECT string_agg(DISTINCT name, ' ' ORDER BY name) FROM prom_check.s WHERE scrape = 'a1' AND name LIKE 'llmtrace%'")
if [ "$r" = "llmtrace_cost_usd_total llmtrace_errors_total llmtrace_health_status llmtrace_health_value llmtrace_span_duration_seconds_bucket llmtrace_span_duration_seconds_count llmtrace_span_duration_seconds_sum llmtrace_spans_total llmtrace_tokens_total" ]; then
    ok "no other llmtrace series (no untyped column exported)"
else
    not_ok "the llmtrace series are the 7 families only; got: $r"
fi
# llmtrace_health_status{check}: one gauge per row of llmtrace.health, its status as 0/1/2.
for f in "llmtrace_health_status gauge" "llmtrace_health_value gauge"; do
    set -- $f
    if grep -qx "# TYPE $1 $2" "$work/a1.prom"; then ok "family $1 with TYPE $2"; else not_ok "family $1 with TYPE $2"; fi
done
want=$(q "SELECT string_agg(check_name || '=' || CASE status WHEN 'ok' THEN 0 WHEN 'warn' THEN 1 ELSE 2 END, ' ' ORDER BY check_name)
          FROM llmtrace.health")
got=$(q "SELECT string_agg(substring(labels FROM 'check=\"([^\"]*)\"') || '=' || value::int, ' '
                           ORDER BY substring(labels FROM 'check=\"([^\"]*)\"'))
         FROM prom_check.samples WHERE scrape = 'a1' AND name = 'llmtrace_health_status'")
if [ -n "$want" ] && [ "$got" = "$want" ]; then
    ok "llmtrace_health_status equals llmtrace.health, check by check ($got)"
else
    not_ok "llmtrace_health_status equals llmtrace.health: scraped '$got', SQL '$want'"
fi
r=$(q "SELECT count(*) FILTER (WHERE v <> 0 OR NOT in_a OR NOT in_b) || '/' || count(*) FROM prom_check.got('a1', 'b1')")
if [ "${r%%/*}" = 0 ]; then ok "the committed file and the test copy give the same series (${r#*/})"; else
    not_ok "the committed file and the test copy give the same series: ${r%%/*} of ${r#*/} differ"
fi

check_compare "every counter (spans, errors, tokens by type, cost) and histogram series equals SQL over llmtrace.spans, per label set" a1 "" 'prom-%'
r=$(q "SELECT count(DISTINCT (project, environment, provider, model)) || ' label sets, '
              || count(DISTINCT (project, environment, provider, model)) FILTER (WHERE model = '') || ' without a model, '
              || count(DISTINCT type) FILTER (WHERE type <> '') || ' token types, '
              || count(DISTINCT le) FILTER (WHERE le <> '') || ' buckets'
       FROM prom_check.s WHERE scrape = 'a1' AND name LIKE 'llmtrace%'")
note "scraped: $r"

# Buckets cumulative (never lower at a higher bound), +Inf equal to _count, bounds as OTel's.
check_buckets() {
    local r
    r=$(q "WITH b AS (SELECT project, environment, provider, model, le, value,
                             lag(value) OVER (PARTITION BY project, environment, provider, model
                                              ORDER BY le::float8) AS prev
                      FROM prom_check.s WHERE scrape = '$1' AND name = 'llmtrace_span_duration_seconds_bucket'),
                c AS (SELECT project, environment, provider, model, value
                      FROM prom_check.s WHERE scrape = '$1' AND name = 'llmtrace_span_duration_seconds_count')
           SELECT (SELECT count(*) FROM b WHERE value < prev) || '|'
               || (SELECT count(*) FROM c LEFT JOIN b ON b.le = '+Inf' AND (b.project, b.environment, b.provider, b.model)
                                             = (c.project, c.environment, c.provider, c.model)
                   WHERE b.value IS DISTINCT FROM c.value) || '|'
               || (SELECT count(*) FROM c) || '|'
               || (SELECT count(*) FROM (SELECT project, environment, provider, model,
                                                string_agg(le, ',' ORDER BY le::float8) AS les FROM b GROUP BY 1, 2, 3, 4) x
                   WHERE les <> '0.01,0.02,0.04,0.08,0.16,0.32,0.64,1.28,2.56,5.12,10.24,20.48,40.96,81.92,+Inf')")
    IFS='|' read -r down inf n bounds <<<"$r"
    if [ "$down" = 0 ] && [ "$inf" = 0 ] && [ "$bounds" = 0 ] && [ "${n:-0}" -gt 0 ]; then
        ok "scrape $1: $n histograms with le 0.01 ... 81.92, +Inf; cumulative over le; +Inf bucket = _count"
    else
        not_ok "scrape $1: histograms cumulative over le ($down decreases), +Inf = _count ($inf differ), OTel bounds ($bounds differ), of $n"
    fi
}
check_buckets a1

# --- retention ---------------------------------------------------------------------------------
before=$(q "SELECT count(*) FROM llmtrace.spans")
old=$(q "SELECT count(*) FROM llmtrace.spans WHERE start_time < (now() AT TIME ZONE 'UTC')::date - 30")
r=$(q "SET llmtrace.retention_days = 30; SELECT partitions_dropped || '|' || array_to_string(dropped, ' ') FROM llmtrace.apply_retention()" 2>&1)
after=$(q "SELECT count(*) FROM llmtrace.spans")
gone=$(q "SELECT to_regclass('llmtrace.spans_p$d45') IS NULL AND to_regclass('llmtrace.spans_p$d40') IS NULL
             AND to_regclass('llmtrace.spans_p$d10') IS NOT NULL
             AND NOT EXISTS (SELECT FROM llmtrace.spans WHERE start_time < (now() AT TIME ZONE 'UTC')::date - 30)")
if [ "$gone" = t ] && [ "$old" -gt 0 ] && [ "$after" = $((before - old)) ]; then
    ok "llmtrace.apply_retention() (retention_days 30) dropped ${r#*|}: spans $before -> $after (the $old of days 45 and 40 deleted)"
else
    not_ok "llmtrace.apply_retention() (retention_days 30) drops spans_p$d45 and spans_p$d40 and their $old spans: got '$r', spans $before -> $after"
fi
summarize || not_ok "fold_rollups() and refresh_daily_cost_summary() after the retention"

if scrape b2 "$port_nocache"; then :; else not_ok "GET /metrics after the retention"; fi
healthy b2 nocache
r=$(q "SELECT count(*) FILTER (WHERE v < 0) || '|' || count(*) FILTER (WHERE NOT in_a) || '|'
              || count(*) FILTER (WHERE v <> 0) || '|' || count(*) || '|'
              || coalesce(string_agg(name || ' ' || project || '/' || model || ' ' || v, '; ') FILTER (WHERE v < 0 OR NOT in_a), '')
       FROM prom_check.got('b2', 'b1')")
IFS='|' read -r down vanished changed n detail <<<"$r"
if [ "$down" = 0 ] && [ "$vanished" = 0 ] && [ "${n:-0}" -gt 0 ]; then
    ok "after the retention no counter or histogram series decreased or disappeared ($n series, $changed changed)"
else
    not_ok "after the retention no series decreased ($down did) or disappeared ($vanished did), of $n: ${detail:0:1000}"
fi
if [ "$changed" = 0 ]; then ok "after the retention every series is unchanged"; else
    not_ok "after the retention every series is unchanged: $changed changed"
fi
r=$(q "SELECT (SELECT value FROM prom_check.s WHERE scrape = 'b2' AND name = 'llmtrace_spans_total'
                AND project = 'beta' AND environment = 'staging')
        || '|' || (SELECT count(*) FROM llmtrace.spans WHERE project = 'beta' AND environment = 'staging')")
if [ "${r%%|*}" = 6 ] && [ "${r#*|}" = 0 ]; then
    ok "beta/staging/claude-3-5-haiku: all its spans dropped, llmtrace_spans_total still 6"
else
    not_ok "beta/staging/claude-3-5-haiku: all its spans dropped (left: ${r#*|}), llmtrace_spans_total still 6 (${r%%|*})"
fi
check_buckets b2

# --- more spans --------------------------------------------------------------------------------
b3=$(ingest b3 "
    ('alpha', 'prod',    'openai',    'gpt-4o',                    'openai',     0, 5),
    ('beta',  'staging', 'anthropic', 'claude-3-5-haiku-20241022', 'anthropic',  0, 4),
    ('gamma', 'prod',    'openai',    'gpt-4o',                    'openai',     0, 3),
    ('gamma', 'prod',    'openai',    'gpt-4o',                    'openai',    45, 2),
    ('beta',  'prod',    '',          '',                          'none',       0, 3),
    ('alpha', 'prod',    'acme',      'acme-llm-1',                'plain',      0, 4)" 2>&1)
if [ "$b3" = 21 ] && summarize; then ok "ingest after the retention: 21 spans (a new project, a series whose spans were all dropped, a dropped day)"; else
    not_ok "ingest after the retention: 21 spans stored, fold and refresh; got '$b3'"
fi
if scrape b3 "$port_nocache"; then :; else not_ok "GET /metrics after the new spans"; fi
healthy b3 nocache
check_compare "every series rose by exactly what SQL over the new spans gives" b3 "'b2'" 'prom-b3-%'
r=$(q "SELECT count(*) FILTER (WHERE v > 0) || '|' || count(*) FILTER (WHERE v < 0)
       FROM prom_check.got('b3', 'b2') WHERE name IN ('llmtrace_spans_total', 'llmtrace_span_duration_seconds_count')")
if [ "${r%%|*}" -ge 10 ] && [ "${r#*|}" = 0 ]; then
    ok "llmtrace_spans_total and _count increased for ${r%%|*} series, decreased for none"
else
    not_ok "llmtrace_spans_total and _count increased for at least 10 series (${r%%|*}), decreased for none (${r#*|})"
fi
check_buckets b3

# --- a role without llmtrace_reader ------------------------------------------------------------
if start_exporter noread "$NOREAD" "$nocache" && scrape n1 "$exporter_port"; then
    n=$(q "SELECT count(*) FROM prom_check.s WHERE scrape = 'n1' AND name LIKE 'llmtrace%'")
    if [ "$(sample n1 pg_exporter_last_scrape_error)" = 1 ] && [ "$n" = 0 ] &&
        grep -q 'permission denied' "$work/noread.log"; then
        ok "connected as $NOREAD (no llmtrace_reader): pg_exporter_last_scrape_error 1, no llmtrace series, 'permission denied' in the log"
    else
        not_ok "connected as $NOREAD (no llmtrace_reader): a scrape error, no llmtrace series ($n), 'permission denied' in the log"
    fi
else
    not_ok "the exporter connected as $NOREAD starts and answers /metrics"
fi

finish
