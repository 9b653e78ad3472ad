#!/usr/bin/env bash
# The llmtrace demo: builds and installs the extension, starts a throwaway
# PostgreSQL cluster, creates the extension, ingests sample traces of every
# format with COPY, prints what was stored, what it cost, the daily summary and
# the live summary, shows an alert arriving at a session that LISTENs and the
# health checks, then serves the dashboard page with llmtrace-gateway and ends
# by printing its address (it waits for Enter in a terminal, or
# LLMTRACE_DEMO_KEEP seconds), and stops.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=${LLMTRACE_DEMO_PORT:-5498}
scripts/install-deps.sh
make -j2 >/dev/null
make install >/dev/null
work=$(mktemp -d /tmp/llmtrace-demo.XXXXXX)
chmod 755 "$work"
trap 'scripts/pgcluster.sh stop "$work/pg" >/dev/null 2>&1 || true' EXIT
eval "export $(scripts/pgcluster.sh start "$work/pg" "$PORT")"
# The sample traces moved to the current hour, so the live summary of the last 24 hours shows them.
scripts/sample-traces.sh >"$work/traces.copy"
chmod 644 "$work/traces.copy"
cat >"$work/demo.sql" <<'SQL'
\pset border 1
\echo '== CREATE EXTENSION llmtrace'
CREATE EXTENSION llmtrace;
\echo '== COPY llmtrace.ingest (payload) FROM the sample file (OTLP, native, Braintrust, Vercel, two bad payloads)'
\copy llmtrace.ingest (payload) FROM pstdin
\echo '== Spans stored'
SELECT source_format, trace_id, span_id, coalesce(parent_span_id, '-') AS parent, name, status,
       provider, model, input_tokens AS "in", cached_input_tokens AS cached,
       cache_write_tokens AS cache_w, output_tokens AS "out", cost_usd, cost_status
FROM llmtrace.spans ORDER BY start_time, span_id;
\echo '== Cost by project and model'
SELECT coalesce(project, '-') AS project, model, count(*) AS spans,
       count(*) FILTER (WHERE status = 'error') AS errors,
       sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens,
       sum(cost_usd) AS cost_usd,
       count(*) FILTER (WHERE cost_status = 'unpriced') AS unpriced
FROM llmtrace.spans WHERE model IS NOT NULL
GROUP BY 1, 2 ORDER BY cost_usd DESC NULLS LAST;
\echo '== What the price table says for one call (llmtrace.cost)'
SELECT llmtrace.cost('anthropic', 'claude-sonnet-4-5', 13400, 450, 12000, 500) AS claude_call_usd;
\echo '== Models seen without a price (llmtrace.unpriced_models); add one and reprice'
SELECT provider, model, spans, input_tokens, output_tokens FROM llmtrace.unpriced_models;
INSERT INTO llmtrace.model_prices (provider, model, input_usd_per_mtok, output_usd_per_mtok)
VALUES ('acme', 'acme-large-2', 0.8, 2.4);
SELECT llmtrace.reprice('-infinity', 'infinity') AS spans_repriced;
SELECT span_id, model, cost_usd, cost_status FROM llmtrace.spans WHERE model = 'acme-large-2';
\echo '== Daily cost summary (llmtrace.refresh_daily_cost_summary(), then the materialized view)'
SELECT llmtrace.refresh_daily_cost_summary();
SELECT day, coalesce(project, '-') AS project, coalesce(environment, '-') AS env,
       coalesce(provider, '-') AS provider, coalesce(model, '-') AS model, spans, errors,
       total_tokens, cost_usd, unpriced_spans AS unpriced,
       round(latency_p50_ms::numeric, 1) AS p50_ms, round(latency_p95_ms::numeric, 1) AS p95_ms,
       users, sessions
FROM llmtrace.daily_cost_summary ORDER BY day, cost_usd DESC NULLS LAST, model;
\echo '== Live summary of the last 24 hours (llmtrace.metrics_summary(24), no refresh needed)'
SELECT CASE WHEN is_total THEN 'TOTAL' ELSE coalesce(provider, '-') END AS provider,
       coalesce(model, '') AS model, spans, errors, round(error_rate::numeric, 3) AS error_rate,
       input_tokens, output_tokens, cost_usd, unpriced_spans AS unpriced,
       round(latency_p50_ms::numeric, 1) AS p50_ms, round(latency_p95_ms::numeric, 1) AS p95_ms,
       round(latency_p99_ms::numeric, 1) AS p99_ms
FROM llmtrace.metrics_summary(24);
\echo '== Live cost per user (llmtrace.metrics_by_user(24))'
SELECT CASE WHEN is_total THEN 'TOTAL' ELSE coalesce(user_id, '(none)') END AS user_id, spans,
       total_tokens, cost_usd
FROM llmtrace.metrics_by_user(24);
\echo '== Quarantined input (llmtrace.ingest_errors)'
SELECT sqlstate, coalesce(location, '(whole payload)') AS location, error FROM llmtrace.ingest_errors ORDER BY id;
SQL
psql -X -q -v ON_ERROR_STOP=1 -f "$work/demo.sql" <"$work/traces.copy"
cat >"$work/alerts.sql" <<'SQL'
\pset border 1
\echo '== Alerts the sample traces fired while they were ingested (llmtrace.recent_alerts())'
SELECT id, rule, kind, severity, value, threshold, scope->>'model' AS model, span_id
FROM llmtrace.recent_alerts(10) ORDER BY id;
SQL
psql -X -q -v ON_ERROR_STOP=1 -f "$work/alerts.sql"
echo '== An alert arriving by LISTEN: llmtrace-listen listens on llmtrace_alerts while another'
echo '   session ingests a span that costs 25 USD (the seeded rule "span cost over 10 USD" fires once)'
listen_bin=$(pg_config --bindir)/llmtrace-listen
[ -x "$listen_bin" ] || listen_bin=/usr/lib/postgresql/$(pg_config --version | sed -E 's/[^0-9]*([0-9]+).*/\1/')/bin/llmtrace-listen
"$listen_bin" --dsn "host=$PGHOST port=$PGPORT user=postgres dbname=postgres" >"$work/listen.out" 2>"$work/listen.err" &
listener=$!
for _ in $(seq 1 50); do
    [ "$(psql -X -A -t -c "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'llmtrace-listen'")" = 1 ] && break
    sleep 0.1
done
sleep 0.5
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
psql -X -q -A -t -v ON_ERROR_STOP=1 -c "SELECT 'ingested ' || llmtrace.ingest_json('{\"trace_id\":\"demo-alert\",\"span_id\":\"big\",\"start_time\":\"$now\",\"duration_ms\":120,\"provider\":\"openai\",\"model\":\"gpt-4o\",\"project\":\"checkout\",\"cost_usd\":25}') || ' span'"
for _ in $(seq 1 50); do [ -s "$work/listen.out" ] && break; sleep 0.1; done
kill -TERM "$listener"
wait "$listener" || true
echo "llmtrace-listen printed:"
cat "$work/listen.out"

echo '== Health (llmtrace.health, llmtrace.health_ok()) after the periodic functions ran once'
psql -X -q -v ON_ERROR_STOP=1 <<'SQL'
\pset border 1
SELECT partitions_created FROM llmtrace.maintain();
SELECT llmtrace.fold_rollups() AS deltas_folded;
SELECT llmtrace.refresh_daily_cost_summary();
SELECT llmtrace.evaluate_alerts() AS windowed_alerts;
SELECT partitions_dropped FROM llmtrace.apply_retention();
SELECT check_name, status, round(value::numeric, 1) AS value, detail FROM llmtrace.health;
SELECT llmtrace.health_ok();
CREATE ROLE demo_reader LOGIN IN ROLE llmtrace_reader;
SQL

# The dashboard page: llmtrace-gateway serves it at /, reading as a llmtrace_reader role.
HTTP_PORT=${LLMTRACE_DEMO_HTTP_PORT:-8318}
gateway_bin=$(dirname "$listen_bin")/llmtrace-gateway
"$gateway_bin" --listen "127.0.0.1:$HTTP_PORT" --dsn "host=$PGHOST port=$PGPORT user=postgres dbname=postgres" \
    --read-dsn "host=$PGHOST port=$PGPORT user=demo_reader dbname=postgres" --token demo-token=demo \
    >"$work/gateway.log" 2>&1 &
gateway=$!
trap 'kill -TERM "$gateway" 2>/dev/null; wait "$gateway" 2>/dev/null; scripts/pgcluster.sh stop "$work/pg" >/dev/null 2>&1 || true' EXIT
for _ in $(seq 1 50); do curl -fsS "http://127.0.0.1:$HTTP_PORT/health" >/dev/null 2>&1 && break; sleep 0.1; done
keep=${LLMTRACE_DEMO_KEEP:-}
if [ -z "$keep" ] && [ -t 0 ]; then
    echo "== The dashboard page (today's cost by model, cost and requests over time, latency, errors, alerts)."
    echo "   Open it in a browser; press Enter to stop the demo:"
    echo "http://127.0.0.1:$HTTP_PORT/"
    read -r _
else
    echo "== The dashboard page (LLMTRACE_DEMO_KEEP=${keep:-0} seconds before the demo stops):"
    echo "http://127.0.0.1:$HTTP_PORT/"
    sleep "${keep:-0}"
fi
