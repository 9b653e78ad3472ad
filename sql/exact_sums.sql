--
-- exact_sums: the summary deltas and the alert windows sum costs exactly, as
-- numeric's sum() over the spans does (value and display scale), also for
-- costs that do not fit 1e-18 units (more than 18 decimals), where the sums
-- fall back to numeric. (A reported cost is at most 1e12 USD: a sum reaches
-- 10^20, the other fallback, only over 10^8 spans of one group.)
--
\set QUIET on
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS llmtrace CASCADE;
CREATE EXTENSION llmtrace;
RESET client_min_messages;
SET timezone = 'UTC';
UPDATE llmtrace.alert_rules SET enabled = false;
INSERT INTO llmtrace.alert_rules (name, kind, threshold, time_window, project)
VALUES ('ex cost', 'cost_per_window', 1e30, '1 hour', 'ex-mixed');

-- One statement per project, each span of it a separate cost.
CREATE FUNCTION pg_temp.costs(project text, costs text[]) RETURNS bigint LANGUAGE sql AS $$
    SELECT llmtrace.ingest_json(('[' || string_agg(format(
        '{"trace_id":"%s","span_id":"s%s","start_time":"%s","project":"%s","model":"m","cost_usd":%s}',
        project, i, to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), project, c), ',') || ']'))
    FROM unnest(costs) WITH ORDINALITY AS u(c, i)
$$;
SELECT pg_temp.costs('ex-scales', ARRAY['0.5', '0.25', '0.125', '3']) AS scales;
SELECT pg_temp.costs('ex-tiny', ARRAY['1.5e-20', '2.5e-21']) AS tiny;
SELECT pg_temp.costs('ex-huge', ARRAY['1e12', '2', '1e12']) AS huge;
SELECT pg_temp.costs('ex-mixed', ARRAY['0.1', '0.2', '1.5e-20', '0.3', '1e12', '0.4']) AS mixed;
SELECT pg_temp.costs('ex-none', ARRAY['null', 'null']) AS no_cost;

-- The spans' sums, and the deltas' (one delta row per group: a single statement).
SELECT s.project, s.total::text AS spans_sum, d.cost_usd::text AS daily_delta, r.cost_usd::text AS live_delta,
       s.total::text = d.cost_usd::text AND s.total::text = r.cost_usd::text AS same_text
FROM (SELECT project, coalesce(sum(cost_usd), 0) AS total FROM llmtrace.spans GROUP BY project) s
JOIN llmtrace.daily_deltas d USING (project)
JOIN llmtrace.rollup_deltas r USING (project)
ORDER BY s.project;

-- The alert window of the cost_per_window rule sums the same way (its one row,
-- moved or not yet moved into the minutes).
SELECT w.cost_usd::text AS window_sum,
       w.cost_usd::text = (SELECT sum(cost_usd)::text FROM llmtrace.spans WHERE project = 'ex-mixed') AS same_text
FROM (SELECT cost_usd FROM llmtrace.alert_window_deltas WHERE project = 'ex-mixed'
      UNION ALL
      SELECT cost_usd FROM llmtrace.alert_window_minutes
      WHERE scope_key = llmtrace.group_key('ex-mixed', NULL, NULL, NULL, NULL, NULL, 'window')) w;
