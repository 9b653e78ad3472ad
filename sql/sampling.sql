-- llmtrace.sample_rate: whole traces are stored or left out by a hash of the
-- trace id, error spans are always stored; summaries, costs and alerts count
-- every span. Oracle: the summaries of a 10 % sampled run equal those of an
-- unsampled run of the same spans.
\set QUIET on
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS llmtrace CASCADE;
CREATE EXTENSION llmtrace;
RESET client_min_messages;
SET timezone = 'UTC';

-- 2,000 traces of 3 spans each (a root and two model calls), every 25th with
-- an error span, in the last day; one payload per trace.
CREATE TEMP TABLE workload AS
SELECT k, format($$[
  {"trace_id":"t%1$s","span_id":"root","name":"handle","start_time":"%2$s","duration_ms":%3$s,"project":"p%4$s","user_id":"u%5$s"},
  {"trace_id":"t%1$s","span_id":"c1","parent_span_id":"root","start_time":"%2$s","duration_ms":%6$s,
   "model":"gpt-4o","provider":"openai","project":"p%4$s","user_id":"u%5$s","feature":"f%7$s",
   "usage":{"prompt_tokens":%8$s,"completion_tokens":%9$s,"prompt_tokens_details":{"cached_tokens":%10$s}}},
  {"trace_id":"t%1$s","span_id":"c2","parent_span_id":"root","start_time":"%2$s","duration_ms":%11$s,
   "model":"claude-sonnet-4-5","provider":"anthropic","project":"p%4$s","user_id":"u%5$s"%12$s,
   "usage":{"input_tokens":%9$s,"output_tokens":%10$s,"cache_read_input_tokens":%8$s}}]$$,
  k, to_char(date_trunc('hour', now()) - make_interval(mins => k % 600), 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
  100 + k % 900, k % 3, k % 97, 50 + k % 400, k % 5, 1000 + k, 100 + k % 300, k % 500,
  20 + k % 700, CASE WHEN k % 25 = 0 THEN ',"error":"upstream 529 overloaded"' ELSE '' END) AS payload
FROM generate_series(1, 2000) k;

INSERT INTO llmtrace.alert_rules (name, kind, threshold, cooldown) VALUES ('sampling big span', 'span_cost', 0.02, '0');

CREATE TEMP TABLE oracle_counts AS
SELECT sum(llmtrace.ingest_json(payload)) AS accepted FROM workload;
SELECT llmtrace.fold_rollups() IS NOT NULL AS folded, llmtrace.refresh_daily_cost_summary() IS NOT NULL AS refreshed;
-- As text: the extension (and its types) is dropped before the second run.
CREATE TEMP TABLE oracle_daily AS SELECT r::text AS r FROM llmtrace.daily_cost_summary r;
CREATE TEMP TABLE oracle_hourly AS SELECT r::text AS r FROM llmtrace.hourly_rollups r;
CREATE TEMP TABLE oracle_live AS SELECT r::text AS r FROM llmtrace.metrics_by_feature(48) r;
CREATE TEMP TABLE oracle_users AS SELECT r::text AS r FROM llmtrace.metrics_by_user(48) r;
CREATE TEMP TABLE oracle_alerts AS SELECT (rule, kind, value, scope, span_id)::text AS r FROM llmtrace.alerts;
SELECT accepted, (SELECT count(*) FROM llmtrace.spans) AS stored, (SELECT count(*) FROM oracle_alerts) AS alerts
FROM oracle_counts;

-- The same spans at 10 %.
SET client_min_messages = warning;
DROP EXTENSION llmtrace CASCADE;
CREATE EXTENSION llmtrace;
RESET client_min_messages;
INSERT INTO llmtrace.alert_rules (name, kind, threshold, cooldown) VALUES ('sampling big span', 'span_cost', 0.02, '0');
SET llmtrace.sample_rate = 0.1;
SELECT sum(llmtrace.ingest_json(payload)) AS accepted FROM workload;
SELECT llmtrace.fold_rollups() IS NOT NULL AS folded, llmtrace.refresh_daily_cost_summary() IS NOT NULL AS refreshed;

-- About a tenth of the traces are stored, and every error span.
SELECT count(DISTINCT trace_id) FILTER (WHERE span_id = 'root') AS whole_traces_stored,
       count(DISTINCT trace_id) FILTER (WHERE span_id = 'root') BETWEEN 150 AND 250 AS about_a_tenth,
       count(*) FILTER (WHERE status = 'error') AS error_spans_stored
FROM llmtrace.spans;
SELECT count(*) AS error_spans_sent FROM workload WHERE k % 25 = 0;
-- Every trace without an error is stored whole or not at all, as sample_keep() says.
SELECT count(*) AS partial_traces
FROM (SELECT w.k, count(s.span_id) AS n
      FROM workload w LEFT JOIN llmtrace.spans s ON s.trace_id = 't' || w.k
      WHERE w.k % 25 <> 0 GROUP BY w.k) t
WHERE n NOT IN (0, 3);
SELECT count(*) AS disagree_with_sample_keep
FROM workload w
WHERE llmtrace.sample_keep('t' || w.k, 0.1) <> EXISTS (SELECT 1 FROM llmtrace.spans s WHERE s.trace_id = 't' || w.k AND s.span_id = 'root');
-- A dropped trace with an error keeps its error span only.
SELECT count(*) AS dropped_error_traces_with_more_than_the_error_span
FROM workload w
WHERE w.k % 25 = 0 AND NOT llmtrace.sample_keep('t' || w.k, 0.1)
  AND (SELECT count(*) FROM llmtrace.spans s WHERE s.trace_id = 't' || w.k) <> 1;
-- The keys of the others are remembered: every span is in exactly one place.
SELECT (SELECT count(*) FROM llmtrace.spans) + (SELECT count(*) FROM llmtrace.sampled_spans) AS spans_and_keys,
       (SELECT count(*) FROM llmtrace.spans s JOIN llmtrace.sampled_spans k USING (trace_id, span_id, start_time)) AS in_both;

-- The summaries, costs and alerts equal those of the unsampled run.
CREATE TEMP VIEW now_daily AS SELECT r::text AS r FROM llmtrace.daily_cost_summary r;
CREATE TEMP VIEW now_hourly AS SELECT r::text AS r FROM llmtrace.hourly_rollups r;
CREATE TEMP VIEW now_live AS SELECT r::text AS r FROM llmtrace.metrics_by_feature(48) r;
CREATE TEMP VIEW now_users AS SELECT r::text AS r FROM llmtrace.metrics_by_user(48) r;
CREATE TEMP VIEW now_alerts AS SELECT (rule, kind, value, scope, span_id)::text AS r FROM llmtrace.alerts;
SELECT (SELECT count(*) FROM oracle_daily) > 0 AS daily_rows,
       NOT EXISTS (SELECT * FROM oracle_daily EXCEPT ALL SELECT * FROM now_daily)
   AND NOT EXISTS (SELECT * FROM now_daily EXCEPT ALL SELECT * FROM oracle_daily) AS daily_equal,
       (SELECT count(*) FROM oracle_hourly) > 0 AS hourly_rows,
       NOT EXISTS (SELECT * FROM oracle_hourly EXCEPT ALL SELECT * FROM now_hourly)
   AND NOT EXISTS (SELECT * FROM now_hourly EXCEPT ALL SELECT * FROM oracle_hourly) AS hourly_equal,
       NOT EXISTS (SELECT * FROM oracle_live EXCEPT ALL SELECT * FROM now_live)
   AND NOT EXISTS (SELECT * FROM now_live EXCEPT ALL SELECT * FROM oracle_live) AS live_equal,
       NOT EXISTS (SELECT * FROM oracle_users EXCEPT ALL SELECT * FROM now_users)
   AND NOT EXISTS (SELECT * FROM now_users EXCEPT ALL SELECT * FROM oracle_users) AS users_equal,
       (SELECT count(*) FROM oracle_alerts) AS alerts,
       NOT EXISTS (SELECT * FROM oracle_alerts EXCEPT ALL SELECT * FROM now_alerts)
   AND NOT EXISTS (SELECT * FROM now_alerts EXCEPT ALL SELECT * FROM oracle_alerts) AS alerts_equal;
SELECT sum(spans) AS spans_in_summary, sum(cost_usd) > 0 AS costed FROM llmtrace.daily_cost_summary;

-- A re-delivery of everything counts nothing, sampled out or stored.
SELECT sum(llmtrace.ingest_json(payload)) AS accepted_again FROM workload;
SELECT llmtrace.fold_rollups() IS NOT NULL AS folded, llmtrace.refresh_daily_cost_summary() IS NOT NULL AS refreshed;
SELECT NOT EXISTS (SELECT * FROM oracle_daily EXCEPT ALL SELECT * FROM now_daily)
   AND NOT EXISTS (SELECT * FROM now_daily EXCEPT ALL SELECT * FROM oracle_daily) AS daily_still_equal,
       NOT EXISTS (SELECT * FROM oracle_hourly EXCEPT ALL SELECT * FROM now_hourly)
   AND NOT EXISTS (SELECT * FROM now_hourly EXCEPT ALL SELECT * FROM oracle_hourly) AS hourly_still_equal;

-- maintain() and apply_retention() keep the keys with the spans.
SELECT partitions_created > 0 AS made, rows_moved FROM llmtrace.maintain(1);
SELECT count(*) AS keys_in_default FROM llmtrace.sampled_spans_default;
SELECT count(*) AS keys_partitions FROM pg_inherits
WHERE inhparent = 'llmtrace.sampled_spans'::regclass AND inhrelid <> 'llmtrace.sampled_spans_default'::regclass;

-- sample_keep: deterministic, monotone in the rate, the bounds.
SELECT llmtrace.sample_keep('abc', 1), llmtrace.sample_keep('abc', 0),
       llmtrace.sample_keep('t1', 0.5) = llmtrace.sample_keep('t1', 0.5) AS deterministic;
SELECT count(*) AS kept_at_lower_not_at_higher FROM generate_series(1, 5000) k
WHERE llmtrace.sample_keep('t' || k, 0.2) AND NOT llmtrace.sample_keep('t' || k, 0.3);
-- The rate is the admin's setting (a writer cannot store what the admin
-- samples out, nor the opposite); out of range values are refused.
SET client_min_messages = warning;
DROP ROLE IF EXISTS regress_sampling_w;
DROP ROLE IF EXISTS regress_sampling_a;
RESET client_min_messages;
CREATE ROLE regress_sampling_w IN ROLE llmtrace_writer;
CREATE ROLE regress_sampling_a IN ROLE llmtrace_admin;
SET ROLE regress_sampling_w;
SET llmtrace.sample_rate = 1;
SELECT llmtrace.sample_keep('t1', 0.5);
RESET ROLE;
SET ROLE regress_sampling_a;
SET llmtrace.sample_rate = 0.5;
SELECT llmtrace.sample_keep('t1', 0.5) IS NOT NULL AS admin_may_call;
RESET ROLE;
DROP ROLE regress_sampling_w;
DROP ROLE regress_sampling_a;
SET llmtrace.sample_rate = 1.5;
SET llmtrace.sample_rate = -0.1;
RESET llmtrace.sample_rate;
