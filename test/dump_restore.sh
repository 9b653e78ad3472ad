#!/usr/bin/env bash
# pg_dump / pg_restore round trip of a database using llmtrace: user prices,
# edited seeded prices, spans, quarantined payloads, summaries, alert rules (user ones and edited
# defaults) and alerts come back exactly; seeded prices and rules are not duplicated; ingest works
# after the restore. Needs PGHOST/PGPORT/PGUSER of a running cluster.
set -euo pipefail
cd "$(dirname "$0")/.."
src=llmtrace_dump_src
dst=llmtrace_dump_dst
work=$(mktemp -d /tmp/llmtrace-dump.XXXXXX)
trap 'rm -rf "$work"; dropdb --if-exists "$src" >/dev/null 2>&1; dropdb --if-exists "$dst" >/dev/null 2>&1' EXIT
dropdb --if-exists "$src" >/dev/null 2>&1
dropdb --if-exists "$dst" >/dev/null 2>&1
createdb "$src"
createdb "$dst"
PSQL=(psql -X -q -v ON_ERROR_STOP=1 -At)

"${PSQL[@]}" -d "$src" >/dev/null <<'SQL'
CREATE EXTENSION llmtrace;
INSERT INTO llmtrace.model_prices (provider, model, match, input_usd_per_mtok, output_usd_per_mtok, valid_from)
VALUES ('azure', 'gpt-4o', 'exact', 2.75, 11, '2025-01-01'),
       (NULL, 'in-house-', 'prefix', 0.5, 1.5, '-infinity');
UPDATE llmtrace.model_prices SET output_usd_per_mtok = 9.5 WHERE model = 'o3';
SELECT llmtrace.ingest_json('[
 {"trace_id":"d1","span_id":"a","start_time":"2024-02-01T00:00:00Z","provider":"azure","model":"gpt-4o","usage":{"prompt_tokens":1000,"completion_tokens":10}},
 {"trace_id":"d1","span_id":"b","start_time":"2025-02-01T00:00:00Z","provider":"azure","model":"gpt-4o","usage":{"prompt_tokens":1000,"completion_tokens":10}},
 {"trace_id":"d1","span_id":"c","start_time":"2025-02-01T00:00:01Z","model":"in-house-7b","usage":{"prompt_tokens":1000,"completion_tokens":10}},
 {"trace_id":"d1","span_id":"d","start_time":"2025-02-02T00:00:01Z","model":"o3","usage":{"prompt_tokens":1000,"completion_tokens":1000}},
 {"trace_id":"d1","span_id":"bad"}]');
SELECT llmtrace.ingest_json('{"trace_id":"d1","span_id":"today","start_time":"' || to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') || '"}');
INSERT INTO llmtrace.alert_rules (name, kind, threshold, severity, project)
VALUES ('web cost', 'span_cost', 0.001, 'critical', 'web');
UPDATE llmtrace.alert_rules SET enabled = false WHERE name = 'span latency over 500 ms';
SELECT llmtrace.ingest_json('{"trace_id":"d1","span_id":"e","start_time":"2025-02-03T00:00:00Z","project":"web","model":"o3","usage":{"prompt_tokens":1000,"completion_tokens":1000}}');
-- A project binding.
INSERT INTO llmtrace.project_roles (role, project) VALUES ('llmtrace_reader', 'web');
SQL

fingerprint() {
    "${PSQL[@]}" -d "$1" <<'SQL'
SELECT 'prices', source, count(*) FROM llmtrace.model_prices GROUP BY source ORDER BY source;
SELECT 'user price', coalesce(provider, '*'), model, match, input_usd_per_mtok, output_usd_per_mtok, valid_from
FROM llmtrace.model_prices WHERE source = 'user' ORDER BY model, provider;
SELECT 'span', trace_id, span_id, start_time, cost_usd, cost_status, md5(attributes::text)
FROM llmtrace.spans ORDER BY span_id;
SELECT 'partition', count(*) FROM pg_inherits WHERE inhparent = 'llmtrace.spans'::regclass;
SELECT 'binding', role, project FROM llmtrace.project_roles ORDER BY 2, 3;
-- The secret of llmtrace.hash_user_ids is restored (user ids hash the same), not re-made.
SELECT 'hash secret', count(*), md5(string_agg(encode(secret, 'hex'), ',')) FROM llmtrace.hash_secret;
SELECT 'quarantine', error, sqlstate FROM llmtrace.ingest_errors ORDER BY id;
SELECT 'rule', id > 0, name, kind, threshold, severity, project, enabled, seeded FROM llmtrace.alert_rules ORDER BY name;
SELECT 'alert', id, rule, kind, value, scope, span_id FROM llmtrace.alerts ORDER BY id;
SELECT 'refresh', llmtrace.refresh_daily_cost_summary();
SELECT 'summary', day, provider, model, spans, errors, input_tokens, cost_usd, unpriced_spans,
       round(latency_p50_ms::numeric, 3), users, sessions
FROM llmtrace.daily_cost_summary ORDER BY day, model;
SELECT 'live', provider, model, is_total, spans, cost_usd FROM llmtrace.metrics_summary(2)
ORDER BY is_total, provider, model;
SELECT 'cost', llmtrace.cost('azure', 'gpt-4o', 1000, 10, 0, 0, '2025-06-01'),
       llmtrace.cost(NULL, 'in-house-13b', 1000, 10), llmtrace.cost('openai', 'o3', 0, 1000000);
SQL
}

fingerprint "$src" >"$work/before"
pg_dump -Fc -d "$src" -f "$work/dump"
pg_restore --exit-on-error --single-transaction -d "$dst" "$work/dump" 2>"$work/restore.err" || { cat "$work/restore.err"; exit 1; }
fingerprint "$dst" >"$work/after"
if ! diff -u "$work/before" "$work/after"; then
    echo "dump/restore: the restored database differs"
    exit 1
fi
# The restored database keeps working: a new span is stored, a re-delivered one is not.
new=$("${PSQL[@]}" -d "$dst" -c "SELECT llmtrace.ingest_json('[{\"trace_id\":\"d1\",\"span_id\":\"a\",\"start_time\":\"2024-02-01T00:00:00Z\"},{\"trace_id\":\"d2\",\"span_id\":\"z\",\"start_time\":\"2025-02-01T00:00:00Z\"}]')")
[ "$new" = 1 ] || { echo "dump/restore: ingest after restore stored $new spans, expected 1"; exit 1; }
# ... and an alert fired after the restore gets a new id.
fired=$("${PSQL[@]}" -d "$dst" -c "SELECT llmtrace.ingest_json('{\"trace_id\":\"d2\",\"span_id\":\"y\",\"start_time\":\"2025-02-04T00:00:00Z\",\"project\":\"web\",\"model\":\"o3\",\"usage\":{\"prompt_tokens\":1000,\"completion_tokens\":1000}}')" -c "SELECT count(*) FROM llmtrace.alerts")
[ "$(echo "$fired" | tail -1)" = 2 ] || { echo "dump/restore: alerts after restore: $fired, expected 2"; exit 1; }
echo "dump/restore: $(grep -c '^span' "$work/before") spans, $(grep -c '^user price' "$work/before") user prices, $(grep -c '^quarantine' "$work/before") quarantined payloads, $(grep -c '^rule' "$work/before") alert rules, $(grep -c '^alert' "$work/before") alerts restored identically"
