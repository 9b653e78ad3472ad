#!/usr/bin/env bash
# The llmtrace demo: builds and installs the extension, starts a throwaway
# PostgreSQL cluster, creates the extension, ingests sample traces of every
# format with COPY, prints what was stored and what it cost, and stops.
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
# COPY's text format treats backslashes as escapes: double them so JSON escapes survive.
sed 's/\\/\\\\/g' examples/sample_traces.jsonl >"$work/traces.copy"
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
\echo '== Quarantined input (llmtrace.ingest_errors)'
SELECT sqlstate, coalesce(location, '(whole payload)') AS location, error FROM llmtrace.ingest_errors ORDER BY id;
SQL
psql -X -q -v ON_ERROR_STOP=1 -f "$work/demo.sql" <"$work/traces.copy"
