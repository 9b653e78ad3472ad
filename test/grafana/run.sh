#!/usr/bin/env bash
# The Grafana integration (integrations/grafana): validates the dashboards and provisioning files and
# runs every panel and variable query, with Grafana's macros expanded as Grafana does, against a
# database of sample spans, as a login role that is only a member of llmtrace_reader (what the
# provisioned data source connects as). test/grafana/check.js does the validating and running;
# this script prepares the database and then compares the main figures the dashboards show with
# the same figures computed by plain SQL over llmtrace.spans.
#
#   PGHOST=... PGPORT=... PGUSER=<superuser> bash test/grafana/run.sh
#
# Creates the database llmtrace_grafana (or $LLMTRACE_GRAFANA_DB; dropped and re-created, dropped
# again at the end) and the login role llmtrace_grafana_reader (dropped at the end); loads
# examples/sample_traces.jsonl moved to the current hour (as scripts/demo.sh does) and spans of
# several models, projects, environments, users and features over the last 20 hours and 3 days
# ago, with errors, an unpriced model, a quarantined payload and a span over the seeded cost alert
# rule; folds part of them into the rollups (fold_rollups, refresh_daily_cost_summary) and leaves
# the rest as live deltas. Prints "ok - ..." or "FAILED - ..." per check and ends with
# "N passed, N failed"; exits non-zero if any failed. Needs node (20) and psql.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
export LC_ALL=C PGCLIENTENCODING=UTF8
DB=${LLMTRACE_GRAFANA_DB:-llmtrace_grafana}
ROLE=llmtrace_grafana_reader

. test/lib.sh
finish() { echo "$passed passed, $failed failed"; [ "$failed" -eq 0 ]; exit; }

work=$(mktemp -d /tmp/llmtrace-grafana.XXXXXX)  # psql's \copy reads the spans file client-side
created_db=0
cleanup() {
    if [ "$created_db" = 1 ]; then
        psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1
        psql -X -q -d postgres -c "DROP ROLE IF EXISTS $ROLE" >/dev/null 2>&1
    fi
    rm -rf "$work"
}
trap cleanup EXIT

if ! command -v node >/dev/null; then
    not_ok "node is installed (the checker is test/grafana/check.js)"
    finish
fi
PSQL=(psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$DB")
q() { "${PSQL[@]}" -c "$1"; }

# --- the database, the extension and the reader login -------------------------------------------
if ! psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB" >/dev/null; then
    not_ok "CREATE DATABASE $DB (PGHOST/PGPORT/PGUSER of a superuser)"
    finish
fi
created_db=1
if "${PSQL[@]}" >/dev/null <<SQL; then
CREATE EXTENSION llmtrace;
SET client_min_messages = warning;
DROP ROLE IF EXISTS $ROLE;
CREATE ROLE $ROLE LOGIN IN ROLE llmtrace_reader;
SQL
    ok "CREATE EXTENSION llmtrace; login role $ROLE, a member of llmtrace_reader only"
else
    not_ok "CREATE EXTENSION llmtrace and the login role $ROLE"
    finish
fi

# --- spans ----------------------------------------------------------------------------------------
# The sample traces moved to the current hour (scripts/sample-traces.sh, as the demo does).
scripts/sample-traces.sh >"$work/traces.copy"

# Batch 1, folded into the rollups: 4 models x 20 hours (each hour one span per model, 5 to 25
# minutes before the hour mark of "hours ago"), spread over projects, environments (NULL too),
# users and features, one in 7 an error; and spans of 3 days ago for the daily history.
batch1=$(cat <<'SQL'
INSERT INTO llmtrace.ingest (payload)
SELECT jsonb_strip_nulls(jsonb_build_object(
    'trace_id', format('g1-%s-%s', h, m.i), 'span_id', 's1',
    'name', (ARRAY['chat', 'retrieve', 'summarize', 'classify'])[m.i],
    'start_time', to_char((now() - make_interval(hours => h, mins => 5 + 5 * m.i)) AT TIME ZONE 'UTC',
                          'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
    'duration_ms', 80 + 37 * h + 150 * m.i,
    'provider', m.provider, 'model', m.model,
    'usage', CASE WHEN m.provider = 'anthropic'
                  THEN jsonb_build_object('input_tokens', 300 + 10 * h, 'cache_read_input_tokens', 900,
                                          'cache_creation_input_tokens', 50 + h, 'output_tokens', 120 + h)
                  ELSE jsonb_build_object('prompt_tokens', 1000 + 25 * h, 'completion_tokens', 150 + 3 * h,
                                          'prompt_tokens_details', jsonb_build_object('cached_tokens', 256 * (h % 3)))
             END,
    'status', CASE WHEN (h + m.i) % 7 = 0 THEN 'error' ELSE 'ok' END,
    'project', (ARRAY['checkout', 'support', 'research', NULL])[1 + (h + m.i) % 4],
    'environment', (ARRAY['prod', 'staging', NULL])[1 + h % 3],
    'user_id', 'u-' || (h % 5), 'feature', (ARRAY['chat', 'search', 'summaries'])[1 + h % 3],
    'endpoint', '/v1/' || (ARRAY['chat', 'search'])[1 + h % 2]))::text
FROM generate_series(1, 20) AS h,
     (VALUES (1, 'openai', 'gpt-4o'), (2, 'openai', 'gpt-4o-mini'), (3, 'anthropic', 'claude-sonnet-4-5'),
             (4, 'google', 'gemini-2.5-flash')) AS m(i, provider, model);
INSERT INTO llmtrace.ingest (payload)
SELECT jsonb_build_object('trace_id', 'g1-old-' || d, 'span_id', 's1', 'name', 'chat',
    'start_time', to_char((now() - make_interval(days => 3, hours => d)) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
    'duration_ms', 400, 'provider', 'openai', 'model', 'gpt-4o', 'project', 'checkout', 'environment', 'prod',
    'usage', jsonb_build_object('prompt_tokens', 5000, 'completion_tokens', 700))::text
FROM generate_series(1, 3) AS d;
SQL
)
# Batch 2, left as live deltas: a project whose name has a quote and no environment, an unpriced
# model, a span reporting 25 USD (over the seeded "span cost over 10 USD" rule), more of the current
# hour, and a payload that is not JSON (quarantined).
batch2=$(cat <<'SQL'
INSERT INTO llmtrace.ingest (payload)
SELECT jsonb_build_object('trace_id', 'g2-' || k, 'span_id', 's1', 'name', 'answer',
    'start_time', to_char((now() - make_interval(mins => 3 * k)) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
    'duration_ms', 150 * k, 'provider', 'openai', 'model', 'gpt-4o-mini', 'project', 'o''brien labs',
    'user_id', 'u-o''neil', 'feature', 'q&a',
    'usage', jsonb_build_object('prompt_tokens', 700, 'completion_tokens', 90),
    'status', CASE WHEN k = 2 THEN 'error' ELSE 'ok' END)::text
FROM generate_series(1, 4) AS k;
INSERT INTO llmtrace.ingest (payload)
SELECT jsonb_build_object('trace_id', 'g2-acme-' || k, 'span_id', 's1', 'name', 'draft',
    'start_time', to_char((now() - make_interval(hours => k, mins => 1)) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
    'duration_ms', 640, 'provider', 'acme', 'model', 'acme-large-2', 'project', 'research', 'environment', 'staging',
    'user_id', 'u-1', 'feature', 'summaries',
    'usage', jsonb_build_object('prompt_tokens', 3000, 'completion_tokens', 400))::text
FROM generate_series(0, 2) AS k;
INSERT INTO llmtrace.ingest (payload)
SELECT jsonb_build_object('trace_id', 'g2-big', 'span_id', 's1', 'name', 'long report',
    'start_time', to_char((now() - interval '7 minutes') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
    'duration_ms', 42000, 'provider', 'openai', 'model', 'gpt-4o', 'project', 'checkout', 'environment', 'prod',
    'user_id', 'u-9', 'feature', 'reports', 'cost_usd', 25,
    'usage', jsonb_build_object('prompt_tokens', 200000, 'completion_tokens', 16000))::text;
INSERT INTO llmtrace.ingest (payload) VALUES ('{"trace_id": "g2-broken", "span_id": ');
SQL
)
if "${PSQL[@]}" -c "\\copy llmtrace.ingest (payload) FROM '$work/traces.copy'" >/dev/null &&
    "${PSQL[@]}" -c "$batch1" >/dev/null &&
    q "SELECT llmtrace.fold_rollups()" >/dev/null && q "SELECT llmtrace.refresh_daily_cost_summary()" >/dev/null &&
    "${PSQL[@]}" -c "$batch2" >/dev/null; then
    ok "spans loaded: $(q "SELECT count(*) FROM llmtrace.spans") spans, $(q "SELECT count(*) FROM llmtrace.rollup_deltas") live deltas not folded, $(q "SELECT count(*) FROM llmtrace.ingest_errors") quarantined, $(q "SELECT count(*) FROM llmtrace.alerts") alerts"
else
    not_ok "loading the spans"
    finish
fi
for what in "live deltas not folded:SELECT count(*) FROM llmtrace.rollup_deltas" \
    "folded hourly rollups:SELECT count(*) FROM llmtrace.hourly_rollups" \
    "an alert of the cost rule:SELECT count(*) FROM llmtrace.alerts WHERE kind = 'span_cost'" \
    "unpriced spans:SELECT count(*) FROM llmtrace.spans WHERE cost_status = 'unpriced'" \
    "quarantined payloads:SELECT count(*) FROM llmtrace.ingest_errors"; do
    n=$(q "${what#*:}")
    if [ "${n:-0}" -gt 0 ]; then ok "the data has ${what%%:*} ($n)"; else not_ok "the data has ${what%%:*}"; fi
done

# --- the dashboards --------------------------------------------------------------------------------
node test/grafana/check.js --db "$DB" --role "$ROLE" --hours 24 --results "$work/results.json" >"$work/check.out" 2>&1
status=$?
sed '$ s/^/# check.js: /' "$work/check.out"
tally=$(tail -1 "$work/check.out")
if [[ $tally =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
    passed=$((passed + BASH_REMATCH[1]))
    failed=$((failed + BASH_REMATCH[2]))
    [ "$status" -ne 0 ] && [ "${BASH_REMATCH[2]}" = 0 ] && not_ok "check.js exited with $status"
else
    not_ok "check.js ended without its tally (exit $status)"
fi
[ -s "$work/results.json" ] || finish
[ "${LLMTRACE_GRAFANA_KEEP:-0}" = 1 ] && cp "$work/results.json" "${TMPDIR:-/tmp}/llmtrace-grafana-results.json"

# --- what the dashboards show against plain SQL over llmtrace.spans -----------------------------------
# The time range the checker used, and the spans the hourly rollups of that range count: those
# whose UTC hour starts within it.
range_from=$(node -p "new Date(require('$work/results.json').range.from).toISOString()")
range_to=$(node -p "new Date(require('$work/results.json').range.to).toISOString()")
in_range="date_trunc('hour', start_time, 'UTC') BETWEEN '$range_from' AND '$range_to'"
# shown NAME: the result of panel NAME (dashboard/title/refId) as lines of tab-separated values.
shown() {
    node -e '
        const r = require(process.argv[1]).results[process.argv[2]];
        if (!r || r.error) { console.log("(no result)"); process.exit(); }
        for (const row of r.rows) console.log(row.map((v) => (v === null ? "" : v)).join("\t"));
    ' "$work/results.json" "$1"
}
# rows NAME: how many rows panel NAME returned.
rows() {
    node -e 'const r = require(process.argv[1]).results[process.argv[2]]; console.log(r && r.rows ? r.rows.length : -1)' \
        "$work/results.json" "$1"
}
# same NAME EXPECTED ACTUAL: equal line by line, numbers within a relative 1e-9.
same() {
    if node -e '
        const [a, b] = [process.argv[1], process.argv[2]].map((s) => s.split("\n").map((l) => l.split("\t")));
        const eq = (x, y) => x === y || (x !== "" && y !== "" && !isNaN(x) && !isNaN(y) &&
            Math.abs(Number(x) - Number(y)) <= 1e-9 * Math.max(1, Math.abs(Number(x))));
        process.exit(a.length === b.length && a.every((row, i) => row.length === b[i].length && row.every((v, j) => eq(v, b[i][j]))) ? 0 : 1);
    ' "$2" "$3"; then
        ok "$1"
    else
        not_ok "$1: expected [$(tr '\n\t' '; ' <<<"$2")], shown [$(tr '\n\t' '; ' <<<"$3")]"
    fi
}
O=llmtrace-overview
same "Requests = count(*) of the spans" "$(q "SELECT count(*) FROM llmtrace.spans WHERE $in_range")" "$(shown "$O/Requests/A")"
same "Cost = sum(cost_usd) of the spans" "$(q "SELECT coalesce(sum(cost_usd), 0) FROM llmtrace.spans WHERE $in_range")" "$(shown "$O/Cost/A")"
same "Cost per request = sum(cost_usd) / spans with a cost" \
    "$(q "SELECT sum(cost_usd) / count(cost_usd) FROM llmtrace.spans WHERE $in_range")" "$(shown "$O/Cost per request/A")"
same "Error rate = errors / spans" \
    "$(q "SELECT (count(*) FILTER (WHERE status = 'error'))::float8 / count(*) FROM llmtrace.spans WHERE $in_range")" "$(shown "$O/Error rate/A")"
for col in input_tokens output_tokens cached_input_tokens cache_write_tokens reasoning_tokens; do
    title=$(sed -e 's/_/ /g' -e 's/^./\U&/' <<<"$col")
    same "$title = sum($col) of the spans" "$(q "SELECT coalesce(sum($col), 0) FROM llmtrace.spans WHERE $in_range")" "$(shown "$O/$title/A")"
done
same "Unpriced spans = spans with tokens and no usable price" \
    "$(q "SELECT count(*) FROM llmtrace.spans WHERE $in_range AND cost_status IN ('unpriced', 'invalid_price')")" "$(shown "$O/Unpriced spans/A")"
same "Latency p95 = the sketch of the spans' durations" \
    "$(q "SELECT llmtrace.quantile(llmtrace.latency_sketch(duration_ms), 0.95) FROM llmtrace.spans WHERE $in_range")" "$(shown "$O/Latency p95/A")"
same "Model cost: requests and cost per provider and model" \
    "$(q "SELECT coalesce(provider, '(none)'), coalesce(model, '(none)'), count(*), coalesce(sum(cost_usd)::text, '')
          FROM llmtrace.spans WHERE $in_range GROUP BY 1, 2 ORDER BY sum(cost_usd) DESC NULLS LAST, count(*) DESC, 1, 2" | tr '|' '\t')" \
    "$(shown "$O/Model cost/A" | cut -f1-3,9)"
same "Top users by cost: requests and cost per user" \
    "$(q "SELECT coalesce(user_id, '(none)'), count(*), coalesce(sum(cost_usd)::text, '')
          FROM llmtrace.spans WHERE $in_range GROUP BY 1 ORDER BY sum(cost_usd) DESC NULLS LAST, count(*) DESC, 1 LIMIT 20" | tr '|' '\t')" \
    "$(shown "$O/Top users by cost/A" | cut -f1,2,5)"
same "Top features by cost: requests and cost per feature" \
    "$(q "SELECT coalesce(feature, '(none)'), count(*), coalesce(sum(cost_usd)::text, '')
          FROM llmtrace.spans WHERE $in_range GROUP BY 1 ORDER BY sum(cost_usd) DESC NULLS LAST, count(*) DESC, 1 LIMIT 20" | tr '|' '\t')" \
    "$(shown "$O/Top features by cost/A" | cut -f1,2,5)"
same "Requests by model: spans per hour and model" \
    "$(q "SELECT extract(epoch from date_trunc('hour', start_time, 'UTC'))::bigint, coalesce(model, '(none)'), count(*)
          FROM llmtrace.spans WHERE $in_range GROUP BY 1, 2 ORDER BY 1, 2" | tr '|' '\t')" \
    "$(shown "$O/Requests by model/A" | sort -t$'\t' -k1,1n -k2,2 | awk -F'\t' -v OFS='\t' '{ $1 = sprintf("%d", $1); print }')"
same "Cost by token type: the parts of each hour add up to sum(cost_usd) of its spans" \
    "$(q "SELECT extract(epoch from date_trunc('hour', start_time, 'UTC'))::bigint, round(coalesce(sum(cost_usd), 0), 9)
          FROM llmtrace.spans WHERE $in_range GROUP BY 1 ORDER BY 1" | tr '|' '\t')" \
    "$(shown "$O/Cost by token type/A" | awk -F'\t' -v OFS='\t' '{ printf "%d\t%.9f\n", $1, $2 + $3 + $4 + $5 + $6 }' | sort -n)"
same "Daily cost by model: cost per day and model, every day" \
    "$(q "SELECT extract(epoch from (start_time AT TIME ZONE 'UTC')::date)::bigint, coalesce(model, '(none)'), coalesce(sum(cost_usd), 0)
          FROM llmtrace.spans WHERE (start_time AT TIME ZONE 'UTC')::date BETWEEN ('$range_from'::timestamptz AT TIME ZONE 'UTC')::date
                AND ('$range_to'::timestamptz AT TIME ZONE 'UTC')::date GROUP BY 1, 2 ORDER BY 1, 2" | tr '|' '\t')" \
    "$(shown "$O/Daily cost by model (all history)/A" | sort -t$'\t' -k1,1n -k2,2 | awk -F'\t' -v OFS='\t' '{ $1 = sprintf("%d", $1); print }')"
same "Recent alerts: the alerts fired in the range" \
    "$(q "SELECT least(count(*), 100) FROM llmtrace.alerts WHERE fired_at BETWEEN '$range_from' AND '$range_to'")" "$(rows "$O/Recent alerts/A")"
same "Quarantined payloads: the payloads refused in the range" \
    "$(q "SELECT least(count(*), 100) FROM llmtrace.ingest_errors WHERE received_at BETWEEN '$range_from' AND '$range_to'")" "$(rows "$O/Quarantined payloads/A")"
same "Slowest spans: the longest span of the range first" \
    "$(q "SELECT max(duration_ms) FROM llmtrace.spans WHERE start_time BETWEEN '$range_from' AND '$range_to'")" \
    "$(shown "llmtrace-spans/Slowest spans/A" | head -1 | cut -f8)"
same "Ingest health: the checks and statuses of llmtrace.health, failing first" \
    "$(q "SELECT check_name, status FROM llmtrace.health
          ORDER BY CASE status WHEN 'fail' THEN 0 WHEN 'warn' THEN 1 ELSE 2 END, check_name" | tr '|' '\t')" \
    "$(shown "$O/Ingest health (llmtrace.health)/A" | cut -f1,2)"
same "the project variable lists every project, NULL as (none)" \
    "$(q "SELECT DISTINCT coalesce(project, '(none)') FROM llmtrace.spans WHERE $in_range ORDER BY 1")" \
    "$(shown "$O/variable project")"

finish
