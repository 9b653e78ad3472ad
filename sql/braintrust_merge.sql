-- Braintrust sends a span as a first row (start, input) and later merge rows
-- ("_is_merge": true: end, output, tokens, often the model). A merge row that
-- comes in a later payload (or a later line of the same COPY) completes the
-- stored span; the summaries follow it: the span moves to the group of the
-- model it did not have, its duration joins the latency sketch, its tokens
-- and cost count. A merge row of a span never stored is quarantined.
\set QUIET on
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS llmtrace CASCADE;
CREATE EXTENSION llmtrace;
RESET client_min_messages;
SET timezone = 'UTC';
SELECT extract(epoch FROM date_trunc('hour', now()) - interval '1 hour')::bigint AS t0 \gset

-- First rows: no end, no tokens, no model.
SELECT llmtrace.ingest_json(replace($$[
  {"id":"a","span_id":"a","root_span_id":"ta","span_parents":[],"span_attributes":{"name":"chat","type":"llm"},
   "metadata":{"user_id":"u1","session_id":"s1"},"metrics":{"start":T0},"input":[{"role":"user","content":"hi"}]},
  {"id":"b","span_id":"b","root_span_id":"tb","span_parents":[],"span_attributes":{"name":"chat","type":"llm"},
   "metadata":{"model":"gpt-4o","provider":"openai","user_id":"u2"},"metrics":{"start":T0}}]$$, 'T0', :'t0')) AS first_rows;
SELECT llmtrace.fold_rollups() >= 0 AS folded, llmtrace.refresh_daily_cost_summary() IS NOT NULL AS refreshed;
SELECT model, spans, input_tokens, cost_usd, latency_p50_ms, users FROM llmtrace.daily_cost_summary ORDER BY model;

-- The merges, in later statements: "a" gets its model, end and tokens; "b" its end and tokens.
SELECT llmtrace.ingest_json(replace($$
  {"id":"a","span_id":"a","root_span_id":"ta","_is_merge":true,"metadata":{"model":"gpt-4o","provider":"openai"},
   "metrics":{"end":T0.5,"prompt_tokens":1000,"completion_tokens":100},"output":{"role":"assistant","content":"hello"}}$$,
  'T0', :'t0')) AS merged_a;
INSERT INTO llmtrace.ingest (payload) VALUES (replace($$
  {"id":"b","span_id":"b","root_span_id":"tb","_is_merge":true,"metrics":{"end":T1.25,"prompt_tokens":200,"completion_tokens":20}}$$,
  'T1', (:t0 + 1)::text));
SELECT trace_id, model, provider, input_tokens, output_tokens, cost_usd, cost_status, duration_ms, output,
       input IS NOT NULL AS input_kept
FROM llmtrace.spans ORDER BY trace_id;

-- A first row and its merge as two lines of one COPY: the merge finds it.
COPY llmtrace.ingest (payload) FROM STDIN;
{"id":"c","span_id":"c","root_span_id":"tc","span_parents":[],"span_attributes":{"name":"chat","type":"llm"},"metadata":{"user_id":"u3"},"metrics":{"start":1764000000}}
{"id":"c","span_id":"c","root_span_id":"tc","_is_merge":true,"metadata":{"model":"gpt-4o-mini","provider":"openai"},"metrics":{"end":1764000001,"prompt_tokens":50,"completion_tokens":5}}
\.
SELECT trace_id, model, input_tokens, duration_ms, cost_status FROM llmtrace.spans WHERE trace_id = 'tc';

-- The summaries equal the spans, by group (the emptied model-less group is not shown).
SELECT llmtrace.fold_rollups() >= 0 AS folded, llmtrace.refresh_daily_cost_summary() IS NOT NULL AS refreshed;
SELECT model, spans, input_tokens, output_tokens, cost_usd, latency_p50_ms, users, sessions
FROM llmtrace.daily_cost_summary ORDER BY day, model;
SELECT (d.day, d.model, d.spans, d.input_tokens, d.cost_usd) IS NOT DISTINCT FROM
       (o.day, o.model, o.spans, o.input_tokens, o.cost_usd) AS daily_equals_spans
FROM llmtrace.daily_cost_summary d
FULL JOIN (SELECT (start_time AT TIME ZONE 'UTC')::date AS day, model, count(*) AS spans,
                  sum(input_tokens) AS input_tokens, sum(cost_usd) AS cost_usd
           FROM llmtrace.spans GROUP BY 1, 2) o USING (day, model)
ORDER BY d.day, d.model;
SELECT m.spans = o.spans AND m.input_tokens = o.input_tokens AND m.cost_usd = o.cost_usd AS live_equals_spans
FROM llmtrace.metrics_summary(48) m,
     (SELECT count(*) AS spans, sum(input_tokens) AS input_tokens, sum(cost_usd) AS cost_usd
      FROM llmtrace.spans WHERE start_time >= llmtrace.window_start(48)) o
WHERE m.is_total;

-- A merge row of a span never stored is quarantined; a merge delivered
-- again changes nothing.
SELECT llmtrace.ingest_json('{"id":"zz","span_id":"zz","root_span_id":"tz","_is_merge":true,"metrics":{"end":1764590002}}') AS orphan;
SELECT error, source_format FROM llmtrace.ingest_errors;
SELECT llmtrace.ingest_json(replace($$
  {"id":"a","span_id":"a","root_span_id":"ta","_is_merge":true,"metadata":{"model":"gpt-4o","provider":"openai"},
   "metrics":{"end":T0.5,"prompt_tokens":1000,"completion_tokens":100}}$$, 'T0', :'t0')) AS merged_again;
SELECT llmtrace.fold_rollups() >= 0 AS folded;
SELECT spans, input_tokens, cost_usd FROM llmtrace.metrics_summary(48) WHERE is_total;
