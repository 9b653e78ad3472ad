--
-- summaries: llmtrace.daily_cost_summary and the live metrics functions equal
-- the same figures computed by plain SQL over llmtrace.spans (pg_ivm-style
-- oracle: EXCEPT ALL both ways for counts and sums, percentiles within 1 % of
-- percentile_disc), after mixed ingest of every format, late and re-delivered
-- spans, rollbacks and reprice; before and after the deltas are folded.
--
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
\pset null '<null>'
SET client_min_messages = warning;
DROP EXTENSION llmtrace CASCADE;
CREATE EXTENSION llmtrace;
RESET client_min_messages;

-- ---------------------------------------------------------------------------
-- The oracles: the summaries as plain SQL over llmtrace.spans.
-- ---------------------------------------------------------------------------
CREATE TEMP VIEW oracle_daily AS
SELECT (start_time AT TIME ZONE 'UTC')::date AS day, project, environment, provider, model,
       count(*) AS spans, count(*) FILTER (WHERE status = 'error') AS errors,
       count(*) FILTER (WHERE status = 'error')::float8 / count(*) AS error_rate,
       coalesce(sum(input_tokens), 0) AS input_tokens, coalesce(sum(output_tokens), 0) AS output_tokens,
       coalesce(sum(cached_input_tokens), 0) AS cached_input_tokens,
       coalesce(sum(cache_write_tokens), 0) AS cache_write_tokens,
       coalesce(sum(reasoning_tokens), 0) AS reasoning_tokens, coalesce(sum(total_tokens), 0) AS total_tokens,
       sum(cost_usd) AS cost_usd,
       count(*) FILTER (WHERE cost_status IN ('unpriced', 'invalid_price')) AS unpriced_spans,
       percentile_disc(0.5) WITHIN GROUP (ORDER BY duration_ms) AS p50,
       percentile_disc(0.95) WITHIN GROUP (ORDER BY duration_ms) AS p95,
       percentile_disc(0.99) WITHIN GROUP (ORDER BY duration_ms) AS p99,
       count(DISTINCT user_id) AS users, count(DISTINCT session_id) AS sessions
FROM llmtrace.spans
GROUP BY 1, 2, 3, 4, 5;

-- The live figures of a window, grouped by one dimension (model: provider + model).
CREATE TEMP TABLE grains (grain text, fn text);
INSERT INTO grains VALUES ('model', 'metrics_summary'), ('feature', 'metrics_by_feature'),
                          ('endpoint', 'metrics_by_endpoint'), ('user', 'metrics_by_user');
CREATE FUNCTION pg_temp.oracle_live(grain text, hours int)
RETURNS TABLE (k1 text, k2 text, is_total boolean, spans bigint, errors bigint, error_rate float8,
               input_tokens numeric, output_tokens numeric, cached_input_tokens numeric,
               cache_write_tokens numeric, reasoning_tokens numeric, total_tokens numeric,
               cost_usd numeric, unpriced_spans bigint, p50 float8, p95 float8, p99 float8)
LANGUAGE sql AS $$
    SELECT k1, k2, grouping(k1, k2) <> 0, count(*), count(*) FILTER (WHERE status = 'error'),
           count(*) FILTER (WHERE status = 'error')::float8 / nullif(count(*), 0),
           coalesce(sum(input_tokens), 0), coalesce(sum(output_tokens), 0),
           coalesce(sum(cached_input_tokens), 0), coalesce(sum(cache_write_tokens), 0),
           coalesce(sum(reasoning_tokens), 0), coalesce(sum(total_tokens), 0), sum(cost_usd),
           count(*) FILTER (WHERE cost_status IN ('unpriced', 'invalid_price')),
           percentile_disc(0.5) WITHIN GROUP (ORDER BY duration_ms),
           percentile_disc(0.95) WITHIN GROUP (ORDER BY duration_ms),
           percentile_disc(0.99) WITHIN GROUP (ORDER BY duration_ms)
    FROM (SELECT CASE grain WHEN 'model' THEN provider WHEN 'feature' THEN feature
                            WHEN 'endpoint' THEN endpoint ELSE user_id END AS k1,
                 CASE grain WHEN 'model' THEN model END AS k2, s.*
          FROM llmtrace.spans s WHERE start_time >= llmtrace.window_start(hours)) x
    GROUP BY GROUPING SETS ((k1, k2), ())
$$;
CREATE FUNCTION pg_temp.live(grain text, hours int)
RETURNS TABLE (k1 text, k2 text, is_total boolean, spans bigint, errors bigint, error_rate float8,
               input_tokens numeric, output_tokens numeric, cached_input_tokens numeric,
               cache_write_tokens numeric, reasoning_tokens numeric, total_tokens numeric,
               cost_usd numeric, unpriced_spans bigint, p50 float8, p95 float8, p99 float8)
LANGUAGE plpgsql AS $$
BEGIN
    IF grain = 'model' THEN
        RETURN QUERY SELECT m.provider, m.model, m.is_total, m.spans, m.errors, m.error_rate,
            m.input_tokens, m.output_tokens, m.cached_input_tokens, m.cache_write_tokens,
            m.reasoning_tokens, m.total_tokens, m.cost_usd, m.unpriced_spans,
            m.latency_p50_ms, m.latency_p95_ms, m.latency_p99_ms FROM llmtrace.metrics_summary(hours) m;
    ELSE
        RETURN QUERY EXECUTE format('SELECT m.%I, NULL::text, m.is_total, m.spans, m.errors, m.error_rate,
            m.input_tokens, m.output_tokens, m.cached_input_tokens, m.cache_write_tokens,
            m.reasoning_tokens, m.total_tokens, m.cost_usd, m.unpriced_spans,
            m.latency_p50_ms, m.latency_p95_ms, m.latency_p99_ms FROM llmtrace.%I($1) m',
            CASE grain WHEN 'user' THEN 'user_id' ELSE grain END,
            (SELECT fn FROM grains g WHERE g.grain = live.grain)) USING hours;
    END IF;
END
$$;

-- Mismatches between every summary and its oracle (expect no rows): counts
-- and sums exactly, both ways; each percentile within 1 % of percentile_disc.
CREATE FUNCTION pg_temp.mismatches(hours int)
RETURNS TABLE (summary text, side text, detail text)
LANGUAGE sql AS $$
    WITH mv AS (SELECT day, project, environment, provider, model, spans, errors, error_rate,
                       input_tokens, output_tokens, cached_input_tokens, cache_write_tokens,
                       reasoning_tokens, total_tokens, cost_usd, unpriced_spans, users, sessions
                FROM llmtrace.daily_cost_summary),
         ov AS (SELECT day, project, environment, provider, model, spans, errors, error_rate,
                       input_tokens, output_tokens, cached_input_tokens, cache_write_tokens,
                       reasoning_tokens, total_tokens, cost_usd, unpriced_spans, users, sessions
                FROM oracle_daily)
    SELECT 'daily_cost_summary', 'only in summary', x::text FROM (SELECT * FROM mv EXCEPT ALL SELECT * FROM ov) x
    UNION ALL
    SELECT 'daily_cost_summary', 'only in oracle', x::text FROM (SELECT * FROM ov EXCEPT ALL SELECT * FROM mv) x
    UNION ALL
    SELECT 'daily_cost_summary', 'percentile', format('%s %s/%s: %s %s %s vs %s %s %s', o.day, o.provider,
           o.model, s.latency_p50_ms, s.latency_p95_ms, s.latency_p99_ms, o.p50, o.p95, o.p99)
    FROM llmtrace.daily_cost_summary s JOIN oracle_daily o
      ON s.day = o.day AND s.project IS NOT DISTINCT FROM o.project
     AND s.environment IS NOT DISTINCT FROM o.environment
     AND s.provider IS NOT DISTINCT FROM o.provider AND s.model IS NOT DISTINCT FROM o.model
    WHERE NOT (abs(s.latency_p50_ms - o.p50) <= 0.01 * o.p50 AND abs(s.latency_p95_ms - o.p95) <= 0.01 * o.p95
               AND abs(s.latency_p99_ms - o.p99) <= 0.01 * o.p99)
       OR (s.latency_p50_ms IS NULL) <> (o.p50 IS NULL)
    UNION ALL
    SELECT g.fn, x.side, x.detail
    FROM grains g CROSS JOIN LATERAL (
        SELECT 'only in summary' AS side, y::text AS detail
        FROM (SELECT k1, k2, is_total, spans, errors, error_rate, input_tokens, output_tokens,
                     cached_input_tokens, cache_write_tokens, reasoning_tokens, total_tokens,
                     cost_usd, unpriced_spans FROM pg_temp.live(g.grain, hours)
              EXCEPT ALL
              SELECT k1, k2, is_total, spans, errors, error_rate, input_tokens, output_tokens,
                     cached_input_tokens, cache_write_tokens, reasoning_tokens, total_tokens,
                     cost_usd, unpriced_spans FROM pg_temp.oracle_live(g.grain, hours)) y
        UNION ALL
        SELECT 'only in oracle', y::text
        FROM (SELECT k1, k2, is_total, spans, errors, error_rate, input_tokens, output_tokens,
                     cached_input_tokens, cache_write_tokens, reasoning_tokens, total_tokens,
                     cost_usd, unpriced_spans FROM pg_temp.oracle_live(g.grain, hours)
              EXCEPT ALL
              SELECT k1, k2, is_total, spans, errors, error_rate, input_tokens, output_tokens,
                     cached_input_tokens, cache_write_tokens, reasoning_tokens, total_tokens,
                     cost_usd, unpriced_spans FROM pg_temp.live(g.grain, hours)) y
        UNION ALL
        SELECT 'percentile', format('%s/%s: %s %s %s vs %s %s %s', l.k1, l.k2, l.p50, l.p95, l.p99, o.p50, o.p95, o.p99)
        FROM pg_temp.live(g.grain, hours) l JOIN pg_temp.oracle_live(g.grain, hours) o
          ON l.k1 IS NOT DISTINCT FROM o.k1 AND l.k2 IS NOT DISTINCT FROM o.k2 AND l.is_total = o.is_total
        WHERE NOT (abs(l.p50 - o.p50) <= 0.01 * o.p50 AND abs(l.p95 - o.p95) <= 0.01 * o.p95
                   AND abs(l.p99 - o.p99) <= 0.01 * o.p99)
           OR (l.p50 IS NULL) <> (o.p50 IS NULL)) x
$$;

-- Spans of the last hours (relative to now, so that the live window sees
-- them), of several projects, environments, models (one without a price),
-- features, endpoints, users and sessions; errors; reported costs; Anthropic
-- usage with cache reads and writes.
CREATE FUNCTION pg_temp.native(i int, hours_back int, prefix text DEFAULT 'g')
RETURNS text LANGUAGE sql AS $$
    SELECT jsonb_strip_nulls(jsonb_build_object(
        'trace_id', prefix || (i / 4), 'span_id', prefix || '-' || i,
        'start_time', to_char((now() - make_interval(hours => hours_back, secs => i % 3000)) AT TIME ZONE 'UTC',
                              'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
        'duration_ms', CASE WHEN i % 17 = 0 THEN NULL ELSE round(((i * 7919) % 10007)::numeric / 7 + (i % 5) * 900, 3) END,
        'project', (ARRAY['shop', 'support', NULL])[1 + i % 3],
        'environment', (ARRAY['prod', 'staging'])[1 + i % 2],
        'provider', (ARRAY['openai', 'anthropic', 'openai', 'acme'])[1 + i % 4],
        'model', (ARRAY['gpt-4o-mini', 'claude-sonnet-4-5', 'gpt-4o', 'acme-large-9'])[1 + i % 4],
        'feature', (ARRAY['chat', 'search', 'summarize', NULL, 'tagging'])[1 + i % 5],
        'endpoint', (ARRAY['/api/chat', '/api/search', NULL])[1 + i % 3],
        'user_id', CASE WHEN i % 11 = 0 THEN NULL ELSE 'user-' || (i % 23) END,
        'session_id', CASE WHEN i % 13 = 0 THEN NULL ELSE 'sess-' || (i % 37) END,
        'error', CASE WHEN i % 19 = 0 THEN 'upstream 529' END,
        'cost_usd', CASE WHEN i % 29 = 0 THEN 0.000123 * i END,
        'usage', CASE WHEN i % 4 = 1
                      THEN jsonb_build_object('input_tokens', 100 + i, 'output_tokens', 10 + i % 50,
                                              'cache_read_input_tokens', i % 7 * 100,
                                              'cache_creation_input_tokens', i % 3 * 10)
                      WHEN i % 23 = 0 THEN NULL
                      ELSE jsonb_build_object('prompt_tokens', 1000 + i, 'completion_tokens', 20 + i % 90,
                                              'prompt_tokens_details', jsonb_build_object('cached_tokens', i % 5 * 100),
                                              'completion_tokens_details', jsonb_build_object('reasoning_tokens', i % 3 * 5))
                 END))::text
$$;

-- ---------------------------------------------------------------------------
-- Mixed ingest.
-- ---------------------------------------------------------------------------
-- Every captured emitter fixture and the sample traces (OTLP, Braintrust,
-- Vercel, native; one of them bad input, quarantined).
\set f1 `cat test/data/emitters/ai-sdk-v5.agent.json`
\set f2 `cat test/data/emitters/ai-sdk-v6.tool-loop.json`
\set f3 `cat test/data/emitters/ai-sdk-v7-otel.provider-anthropic.json`
\set f4 `cat test/data/emitters/ai-sdk-v7-otel-all.agent.json`
\set f5 `cat test/data/otlp-trace-example.json`
INSERT INTO llmtrace.ingest (payload) VALUES (:'f1'), (:'f2'), (:'f3'), (:'f4'), (:'f5');
\copy llmtrace.ingest (payload) FROM 'examples/sample_traces.jsonl'
-- 3,000 spans in one statement: more than the buffer (the sort path) and more
-- groups than one delta batch holds.
INSERT INTO llmtrace.ingest (payload) SELECT pg_temp.native(i, i % 30) FROM generate_series(1, 3000) i;
-- Arrays of spans through ingest_json, one statement each.
SELECT sum(llmtrace.ingest_json('[' || (SELECT string_agg(pg_temp.native(i, 1), ',') FROM generate_series(j * 10, j * 10 + 9) i) || ']'))
FROM generate_series(400, 420) j;
-- Late spans: days and weeks back (the daily summary of those days changes).
INSERT INTO llmtrace.ingest (payload) SELECT pg_temp.native(i, 24 * (2 + i % 20), 'late') FROM generate_series(1, 200) i;
-- Re-deliveries: the same spans again, in one statement, via COPY and via ingest_json.
INSERT INTO llmtrace.ingest (payload) SELECT pg_temp.native(i, i % 30) FROM generate_series(1, 500) i;
INSERT INTO llmtrace.ingest (payload) VALUES (:'f1'), (:'f1'), (:'f5');
\copy llmtrace.ingest (payload) FROM 'examples/sample_traces.jsonl'
SELECT llmtrace.ingest_json(pg_temp.native(7, 7 % 30)) AS redelivered_stores;
-- Rolled back: a transaction, a savepoint, an exception block.
BEGIN;
INSERT INTO llmtrace.ingest (payload) SELECT pg_temp.native(i, 2, 'rb') FROM generate_series(1, 300) i;
ROLLBACK;
BEGIN;
INSERT INTO llmtrace.ingest (payload) SELECT pg_temp.native(i, 2, 'kept') FROM generate_series(1, 50) i;
SAVEPOINT s;
INSERT INTO llmtrace.ingest (payload) SELECT pg_temp.native(i, 2, 'sp') FROM generate_series(1, 300) i;
SELECT llmtrace.ingest_json(pg_temp.native(1, 3, 'sp-json')) AS in_savepoint;
ROLLBACK TO SAVEPOINT s;
COMMIT;
DO $$
BEGIN
    PERFORM llmtrace.ingest_json(pg_temp.native(1, 3, 'exc'));
    INSERT INTO llmtrace.ingest (payload) SELECT pg_temp.native(i, 3, 'exc') FROM generate_series(2, 40) i;
    RAISE EXCEPTION 'undo';
EXCEPTION WHEN raise_exception THEN
    NULL;
END
$$;

SELECT count(*) AS spans, count(*) FILTER (WHERE span_id LIKE 'rb%' OR span_id LIKE 'sp%' OR span_id LIKE 'exc%') AS rolled_back
FROM llmtrace.spans;
SELECT count(*) > 0 AS has_deltas FROM llmtrace.rollup_deltas;

-- Live figures from the deltas alone (nothing folded yet); the daily summary
-- is refreshed below. The window of 840 hours (35 days) covers the late spans.
SELECT * FROM pg_temp.mismatches(840) WHERE summary <> 'daily_cost_summary';
SELECT * FROM pg_temp.mismatches(24) WHERE summary <> 'daily_cost_summary';
SELECT * FROM pg_temp.mismatches(1) WHERE summary <> 'daily_cost_summary';

-- Fold (the live rollups) and refresh (the daily summary): every summary
-- equals its oracle.
SELECT llmtrace.fold_rollups() >= 0 AS folded;
SELECT llmtrace.refresh_daily_cost_summary();
SELECT (SELECT count(*) FROM llmtrace.rollup_deltas) + (SELECT count(*) FROM llmtrace.daily_deltas) AS deltas_left;
SELECT * FROM pg_temp.mismatches(840);
SELECT * FROM pg_temp.mismatches(24);
SELECT * FROM pg_temp.mismatches(3);

-- More ingest after the fold: rollups plus new deltas.
INSERT INTO llmtrace.ingest (payload) SELECT pg_temp.native(i, i % 5, 'after') FROM generate_series(1, 400) i;
SELECT * FROM pg_temp.mismatches(24) WHERE summary <> 'daily_cost_summary';

-- ---------------------------------------------------------------------------
-- Reprice: a price for the unpriced model; the summaries follow.
-- ---------------------------------------------------------------------------
SELECT count(*) AS unpriced_acme FROM llmtrace.spans WHERE model = 'acme-large-9' AND cost_status = 'unpriced';
INSERT INTO llmtrace.model_prices (provider, model, input_usd_per_mtok, output_usd_per_mtok)
VALUES ('acme', 'acme-large-9', 0.5, 1.5);
SELECT llmtrace.reprice('-infinity', 'infinity') > 0 AS repriced;
SELECT count(*) AS unpriced_acme FROM llmtrace.spans WHERE model = 'acme-large-9' AND cost_status = 'unpriced';
SELECT * FROM pg_temp.mismatches(840) WHERE summary <> 'daily_cost_summary';
-- A price change for a priced model too, then the price removed again.
UPDATE llmtrace.model_prices SET input_usd_per_mtok = 0.6 WHERE model = 'acme-large-9';
SELECT llmtrace.reprice(now() - interval '3 days', now() + interval '1 day') > 0 AS repriced;
DELETE FROM llmtrace.model_prices WHERE model = 'acme-large-9';
SELECT llmtrace.reprice(now() - interval '1 day', now() + interval '1 day') > 0 AS repriced;
SELECT llmtrace.fold_rollups() >= 0 AS folded;
SELECT llmtrace.refresh_daily_cost_summary();
SELECT * FROM pg_temp.mismatches(840);

-- An UPDATE that a summary cannot follow is refused.
UPDATE llmtrace.spans SET model = 'other' WHERE span_id = 'g-1';
UPDATE llmtrace.spans SET duration_ms = 1 WHERE span_id = 'g-2';
-- Costs and status may change.
UPDATE llmtrace.spans SET cost_usd = 1.25, cost_status = 'reported', status = 'error' WHERE span_id = 'g-3';
SELECT * FROM pg_temp.mismatches(840) WHERE summary <> 'daily_cost_summary';

-- ---------------------------------------------------------------------------
-- Dropping spans changes no summary (retention drops whole partitions).
-- ---------------------------------------------------------------------------
SELECT llmtrace.fold_rollups() >= 0 AS folded;
SELECT llmtrace.refresh_daily_cost_summary();
CREATE TEMP TABLE before_drop AS SELECT * FROM llmtrace.daily_cost_summary;
CREATE TEMP TABLE live_before AS SELECT * FROM llmtrace.metrics_summary(840);
DELETE FROM llmtrace.spans WHERE start_time < now() - interval '10 days';
SELECT llmtrace.fold_rollups() >= 0 AS folded;
SELECT llmtrace.refresh_daily_cost_summary();
SELECT count(*) AS changed_rows FROM (
    (SELECT * FROM llmtrace.daily_cost_summary EXCEPT ALL SELECT * FROM before_drop)
    UNION ALL
    (SELECT * FROM before_drop EXCEPT ALL SELECT * FROM llmtrace.daily_cost_summary)) x;
SELECT count(*) AS changed_live_rows FROM (
    (SELECT * FROM llmtrace.metrics_summary(840) EXCEPT ALL SELECT * FROM live_before)
    UNION ALL
    (SELECT * FROM live_before EXCEPT ALL SELECT * FROM llmtrace.metrics_summary(840))) x;

-- ---------------------------------------------------------------------------
-- Hourly retention: hourly rollups older than llmtrace.rollup_retention_days
-- go at the next fold; daily ones stay.
-- ---------------------------------------------------------------------------
SELECT count(*) > 0 AS has_old_hourly FROM llmtrace.hourly_rollups WHERE hour < now() - interval '5 days';
SET llmtrace.rollup_retention_days = 5;
SELECT llmtrace.fold_rollups() AS folded;
SELECT count(*) AS old_hourly FROM llmtrace.hourly_rollups WHERE hour < date_trunc('day', now(), 'UTC') - interval '5 days';
SELECT count(*) > 0 AS has_old_daily FROM llmtrace.daily_rollups WHERE day < current_date - 5;
-- Windows longer than the hourly rollups hold are refused.
SELECT count(*) FROM llmtrace.metrics_summary(24 * 5);
SELECT count(*) FROM llmtrace.metrics_summary(24 * 5 + 1);
RESET llmtrace.rollup_retention_days;
SELECT count(*) FROM llmtrace.metrics_summary(0);
SELECT count(*) FROM llmtrace.metrics_summary(NULL);
SET llmtrace.rollup_retention_days = 0;

-- ---------------------------------------------------------------------------
-- Grouping values longer than an index entry may be (a hostile writer's) are
-- summarized like any other: rollups are keyed by a hash of the values.
-- ---------------------------------------------------------------------------
SELECT llmtrace.ingest_json(jsonb_build_object('trace_id', 'long', 'span_id', 'l1',
    'start_time', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), 'duration_ms', 5,
    'project', repeat('p', 9000), 'provider', 'openai', 'model', repeat('m', 9000),
    'feature', repeat('f', 9000), 'endpoint', '/' || repeat('e', 9000),
    'user_id', repeat('u', 9000), 'session_id', repeat('s', 9000),
    'usage', jsonb_build_object('prompt_tokens', 3, 'completion_tokens', 4))::text) AS stored;
SELECT llmtrace.fold_rollups() >= 0 AS folded;
SELECT llmtrace.refresh_daily_cost_summary();
-- (Spans of days more than 10 days back were deleted above: the daily summary
-- is compared for today only.)
SELECT * FROM pg_temp.mismatches(24)
WHERE summary <> 'daily_cost_summary' OR detail LIKE current_date || '%' OR detail LIKE '(' || current_date || '%';
SELECT grain, length(model) AS model_length, spans FROM llmtrace.hourly_rollups
WHERE length(coalesce(project, '')) = 9000 ORDER BY grain;

-- ---------------------------------------------------------------------------
-- The exact figures of a small known set, in a fresh window of the past.
-- ---------------------------------------------------------------------------
TRUNCATE llmtrace.spans, llmtrace.rollup_deltas, llmtrace.daily_deltas, llmtrace.hourly_rollups,
         llmtrace.daily_rollups;
SELECT llmtrace.ingest_json('[
 {"trace_id":"k","span_id":"1","start_time":"2026-01-05T10:00:00Z","duration_ms":100,"provider":"openai","model":"gpt-4o","user_id":"ann","session_id":"s1","usage":{"prompt_tokens":1000,"completion_tokens":100}},
 {"trace_id":"k","span_id":"2","start_time":"2026-01-05T11:00:00Z","duration_ms":200,"provider":"openai","model":"gpt-4o","user_id":"bob","session_id":"s1","usage":{"prompt_tokens":2000,"completion_tokens":200},"error":"timeout"},
 {"trace_id":"k","span_id":"3","start_time":"2026-01-05T12:00:00Z","duration_ms":0,"provider":"openai","model":"gpt-4o","user_id":"ann","session_id":"s2","cost_usd":0.5},
 {"trace_id":"k","span_id":"4","start_time":"2026-01-05T13:00:00Z","duration_ms":3600000,"model":"mystery-model","usage":{"prompt_tokens":10,"completion_tokens":1}},
 {"trace_id":"k","span_id":"5","start_time":"2026-01-06T00:00:00Z","provider":"openai","model":"gpt-4o"}]') AS stored;
SELECT llmtrace.fold_rollups() >= 0 AS folded;
SELECT llmtrace.refresh_daily_cost_summary();
SELECT day, provider, model, spans, errors, error_rate, input_tokens, output_tokens, total_tokens,
       cost_usd, unpriced_spans, round(latency_p50_ms::numeric, 1) AS p50, round(latency_p95_ms::numeric, 1) AS p95,
       round(latency_p99_ms::numeric, 1) AS p99, users, sessions
FROM llmtrace.daily_cost_summary ORDER BY day, model;
SELECT * FROM pg_temp.mismatches(1);

-- The oracle has teeth: a span stored with the summaries off (a superuser
-- setting for measuring their cost) shows up as a mismatch of every summary.
SET llmtrace.rollups = off;
SELECT llmtrace.ingest_json('{"trace_id":"k","span_id":"6","start_time":"2026-01-05T10:30:00Z","duration_ms":5,"provider":"openai","model":"gpt-4o","usage":{"prompt_tokens":1,"completion_tokens":1}}') AS stored;
RESET llmtrace.rollups;
SELECT llmtrace.fold_rollups() >= 0 AS folded;
SELECT llmtrace.refresh_daily_cost_summary();
SELECT summary, side, count(*) FROM pg_temp.mismatches(1) GROUP BY 1, 2 ORDER BY 1, 2;

-- ---------------------------------------------------------------------------
-- The refresh rewrites the view rows whose rollups changed, whoever changed
-- them; the view always holds what its own definition gives (what REFRESH
-- MATERIALIZED VIEW would store).
-- ---------------------------------------------------------------------------
CREATE FUNCTION pg_temp.view_drift() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    def text := rtrim(pg_get_viewdef('llmtrace.daily_cost_summary_data'::regclass), E' ;\n');
    n bigint;
BEGIN
    EXECUTE format('SELECT count(*) FROM ((SELECT * FROM llmtrace.daily_cost_summary_data EXCEPT ALL '
                   'SELECT * FROM (%s) a) UNION ALL (SELECT * FROM (%s) b EXCEPT ALL '
                   'SELECT * FROM llmtrace.daily_cost_summary_data)) x', def, def) INTO n;
    RETURN n;
END
$$;
SELECT pg_temp.view_drift() AS drift, count(*) AS view_rows FROM llmtrace.daily_cost_summary;
-- A new span of one day: the other day's view row is not rewritten.
CREATE TEMP TABLE before_refresh AS SELECT day, model, xmin::text AS version FROM llmtrace.daily_cost_summary_data;
SELECT llmtrace.ingest_json('{"trace_id":"k","span_id":"7","start_time":"2026-01-06T10:30:00Z","duration_ms":5,"provider":"openai","model":"gpt-4o","usage":{"prompt_tokens":1,"completion_tokens":1}}') AS stored;
SELECT llmtrace.refresh_daily_cost_summary();
SELECT b.day, b.model, v.xmin::text = b.version AS same_row_version, v.spans
FROM before_refresh b JOIN llmtrace.daily_cost_summary_data v USING (day, model) ORDER BY 1, 2;
SELECT pg_temp.view_drift() AS drift, (SELECT count(*) FROM llmtrace.daily_view_changes) AS changes_left;
-- An administrator's UPDATE and DELETE of daily rollups reach the view.
UPDATE llmtrace.daily_rollups SET spans = spans + 10 WHERE grain = 'model' AND model = 'mystery-model';
DELETE FROM llmtrace.daily_rollups WHERE grain = 'model' AND day = '2026-01-06';
SELECT pg_temp.view_drift() AS drift_before_refresh;  -- the check sees a stale view
SELECT llmtrace.refresh_daily_cost_summary();
SELECT day, model, spans FROM llmtrace.daily_cost_summary ORDER BY 1, 2;
SELECT pg_temp.view_drift() AS drift;
-- A plain REFRESH in between changes nothing for the next one.
REFRESH MATERIALIZED VIEW llmtrace.daily_cost_summary_data;
SELECT llmtrace.ingest_json('{"trace_id":"k","span_id":"8","start_time":"2026-01-05T10:40:00Z","duration_ms":7,"provider":"openai","model":"gpt-4o"}') AS stored;
SELECT llmtrace.refresh_daily_cost_summary();
SELECT pg_temp.view_drift() AS drift, count(*) AS view_rows FROM llmtrace.daily_cost_summary;
-- TRUNCATE: the whole view is refreshed.
TRUNCATE llmtrace.daily_rollups;
SELECT llmtrace.refresh_daily_cost_summary();
SELECT pg_temp.view_drift() AS drift, count(*) AS view_rows FROM llmtrace.daily_cost_summary;
-- A view left unpopulated (WITH NO DATA) is populated by the next refresh.
REFRESH MATERIALIZED VIEW llmtrace.daily_cost_summary_data WITH NO DATA;
SELECT llmtrace.ingest_json('{"trace_id":"k","span_id":"9","start_time":"2026-01-07T10:00:00Z","duration_ms":9,"provider":"openai","model":"gpt-4o"}') AS stored;
SELECT llmtrace.refresh_daily_cost_summary();
SELECT pg_temp.view_drift() AS drift, count(*) AS view_rows FROM llmtrace.daily_cost_summary;
-- More changed rows than are worth a lookup each (5,001 days of deltas): one
-- full diff instead, with the same result.
INSERT INTO llmtrace.daily_deltas
SELECT date '2000-01-01' + i, 'bulk', NULL, 'openai', 'gpt-4o', 1, 0, 1, 0, 1, 1, 0, 0, 0, 2, 0.01,
       NULL, NULL, NULL
FROM generate_series(1, 5001) i;
SELECT llmtrace.refresh_daily_cost_summary();
SELECT pg_temp.view_drift() AS drift, count(*) AS view_rows,
       count(*) FILTER (WHERE project = 'bulk') AS bulk_rows FROM llmtrace.daily_cost_summary;
