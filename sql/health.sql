-- llmtrace.health and llmtrace.health_ok(): a healthy database, then each
-- fault staged in turn (no traffic, a quarantine burst, missing future
-- partitions, an unpriced model, jobs that stopped), and what a bound reader
-- sees. Values that depend on the clock are shown only as what they imply.
\set QUIET on
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS llmtrace CASCADE;
CREATE EXTENSION llmtrace;
RESET client_min_messages;
SET timezone = 'UTC';

CREATE VIEW pg_temp.h AS
    SELECT check_name, status,
           CASE WHEN check_name IN ('spans_last_5m', 'quarantined_last_hour', 'unpriced_models',
                                 'partitions_ahead', 'partitions_behind', 'alerts_firing')
                THEN value::text
                ELSE CASE WHEN value IS NULL THEN 'null' ELSE 'set' END END AS value
    FROM llmtrace.health;
GRANT SELECT ON pg_temp.h TO PUBLIC;

-- A fresh install: no traffic, no partition, no job ran yet.
SELECT * FROM pg_temp.h;
SELECT llmtrace.health_ok();

-- A healthy database: partitions, spans of two formats, the periodic jobs.
SELECT partitions_created > 0 AS partitions_made FROM llmtrace.maintain();
SELECT llmtrace.ingest_json(format(
    '{"trace_id":"h%s","span_id":"s","start_time":"%s","duration_ms":%s,"provider":"openai",'
    '"model":"gpt-4o","project":"%s","usage":{"input_tokens":100,"output_tokens":10}}',
    i, to_char(now() - make_interval(mins => i), 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), 100 + i,
    CASE WHEN i % 2 = 0 THEN 'alpha' ELSE 'beta' END)) FROM generate_series(1, 30) i \g /dev/null
SELECT llmtrace.ingest_json('{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0af7651916cd43dd8448eb211c80319c",'
    '"spanId":"b7ad6b7169203331","name":"chat","startTimeUnixNano":"' ||
    (extract(epoch FROM now())::bigint * 1000000000)::text || '","endTimeUnixNano":"' ||
    (extract(epoch FROM now())::bigint * 1000000000 + 250000000)::text || '"}]}]}]}') AS otlp_stored;
SELECT llmtrace.fold_rollups() AS folded;
SELECT llmtrace.refresh_daily_cost_summary();
SELECT llmtrace.evaluate_alerts() >= 0 AS evaluated;
SELECT partitions_dropped FROM llmtrace.apply_retention();
SELECT * FROM pg_temp.h;
SELECT detail FROM llmtrace.health WHERE check_name = 'spans_last_5m';
SELECT llmtrace.health_ok();

-- Fault: no traffic. The minutes spans were last stored in move 10 minutes back.
UPDATE llmtrace.ingest_deltas SET minute = minute - interval '10 minutes';
SELECT * FROM pg_temp.h WHERE check_name IN ('spans_last_5m', 'last_span');
SELECT detail FROM llmtrace.health WHERE check_name = 'spans_last_5m';
SELECT llmtrace.health_ok() AS ok_without_traffic;
UPDATE llmtrace.ingest_deltas SET minute = minute + interval '10 minutes';

-- Fault: a quarantine burst (12 bad payloads against 31 spans).
SELECT llmtrace.ingest_json('{"trace_id": 1, "span_id":') FROM generate_series(1, 12) \g /dev/null
SELECT * FROM pg_temp.h WHERE check_name = 'quarantined_last_hour';
SELECT llmtrace.health_ok() AS ok_with_burst;
-- A few bad payloads among many spans only warn.
DELETE FROM llmtrace.ingest_errors WHERE id > (SELECT min(id) + 1 FROM llmtrace.ingest_errors);
SELECT * FROM pg_temp.h WHERE check_name = 'quarantined_last_hour';
SELECT llmtrace.health_ok() AS ok_with_two;
DELETE FROM llmtrace.ingest_errors;

-- Fault: missing future partitions (tomorrow's and later dropped).
DO $$
DECLARE r record;
BEGIN
    FOR r IN SELECT c.oid::regclass AS rel FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
             WHERE i.inhparent IN ('llmtrace.spans'::regclass, 'llmtrace.sampled_spans'::regclass)
               AND c.relname ~ '_p[0-9]{8}$'
               AND to_date(right(c.relname, 8), 'YYYYMMDD') > (now() AT TIME ZONE 'UTC')::date LOOP
        EXECUTE format('DROP TABLE %s', r.rel);
    END LOOP;
END $$;
SELECT * FROM pg_temp.h WHERE check_name = 'partitions_ahead';
SELECT detail FROM llmtrace.health WHERE check_name = 'partitions_ahead';
SELECT llmtrace.health_ok() AS ok_without_tomorrow;
-- A span of the day after tomorrow now waits in the default partition.
SELECT llmtrace.ingest_json(format('{"trace_id":"late","span_id":"1","start_time":"%s"}',
    to_char(now() + interval '2 days', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'))) AS stored_in_default;
SELECT * FROM pg_temp.h WHERE check_name = 'partitions_behind';
SELECT detail FROM llmtrace.health WHERE check_name = 'partitions_behind';
SELECT partitions_created FROM llmtrace.maintain();
SELECT * FROM pg_temp.h WHERE check_name IN ('partitions_ahead', 'partitions_behind');
SELECT llmtrace.health_ok() AS ok_after_maintain;

-- Fault: an unpriced model (tokens, no price).
SELECT llmtrace.ingest_json(format(
    '{"trace_id":"u","span_id":"1","start_time":"%s","provider":"acme","model":"acme-mystery-9",'
    '"project":"beta","usage":{"input_tokens":500,"output_tokens":50}}',
    to_char(now(), 'YYYY-MM-DD"T"HH24:MI:SS"Z"'))) AS unpriced_stored;
SELECT * FROM pg_temp.h WHERE check_name = 'unpriced_models';
SELECT detail FROM llmtrace.health WHERE check_name = 'unpriced_models';
SELECT llmtrace.health_ok() AS ok_with_unpriced;

-- Fault: the fold stopped. Deltas wait; a fold last run two hours ago fails.
UPDATE llmtrace.job_runs SET last_run = now() - interval '2 hours' WHERE job = 'fold_rollups';
SELECT * FROM pg_temp.h WHERE check_name LIKE 'rollup_lag%';
SELECT llmtrace.health_ok() AS ok_with_stale_fold;
SELECT llmtrace.fold_rollups() > 0 AS folded;
SELECT * FROM pg_temp.h WHERE check_name = 'rollup_lag_fold_rollups';

-- Fault: maintenance and retention stopped.
UPDATE llmtrace.job_runs SET last_run = now() - interval '3 days' WHERE job IN ('maintain', 'apply_retention');
SELECT * FROM pg_temp.h WHERE check_name IN ('last_maintenance', 'last_retention');

-- The traffic minutes are compacted by the fold, a day kept and the last of each format.
INSERT INTO llmtrace.ingest_deltas
SELECT minute - interval '3 days', source_format, spans, errors, costed_spans, unpriced_spans,
       input_tokens, output_tokens, cached_input_tokens, cache_write_tokens, reasoning_tokens,
       total_tokens, cost_usd, latency FROM llmtrace.ingest_deltas;
SELECT llmtrace.fold_rollups() >= 0 AS folded;
SELECT source_format, count(*) AS minutes, min(minute) > now() - interval '1 day' AS recent_only
FROM llmtrace.ingest_deltas GROUP BY 1 ORDER BY 1;

-- The all-time sums (llmtrace.total_rollups, read by the Prometheus views) follow the daily
-- rollups they are folded with, a reprice's corrections included; the counters equal the spans.
INSERT INTO llmtrace.model_prices (provider, model, input_usd_per_mtok, output_usd_per_mtok)
VALUES ('acme', 'acme-mystery-9', 1, 2);
SELECT llmtrace.reprice('-infinity', 'infinity') AS repriced;
SELECT llmtrace.refresh_daily_cost_summary();
SELECT count(*) AS groups, count(*) FILTER (WHERE t.group_key IS NULL OR d.spans IS DISTINCT FROM t.spans
           OR d.errors IS DISTINCT FROM t.errors OR d.input_tokens IS DISTINCT FROM t.input_tokens
           OR d.cost_usd IS DISTINCT FROM t.cost_usd
           OR d.durations IS DISTINCT FROM llmtrace.sketch_count(t.latency)) AS groups_differ
FROM (SELECT group_key, sum(spans) AS spans, sum(errors) AS errors, sum(input_tokens) AS input_tokens,
             sum(cost_usd) AS cost_usd, llmtrace.sketch_count(llmtrace.merge(latency)) AS durations
      FROM llmtrace.daily_rollups WHERE grain = 'model' GROUP BY group_key) d
FULL JOIN llmtrace.total_rollups t USING (group_key);
SELECT c.project, c.provider, c.model, c.spans, c.input_tokens, c.cost_usd,
       (SELECT count(*) FROM llmtrace.spans s WHERE s.model IS NOT DISTINCT FROM nullif(c.model, '')
           AND s.project IS NOT DISTINCT FROM nullif(c.project, '')) AS spans_stored,
       (SELECT sum(s.cost_usd) FROM llmtrace.spans s WHERE s.model IS NOT DISTINCT FROM nullif(c.model, '')
           AND s.project IS NOT DISTINCT FROM nullif(c.project, '')) AS cost_stored
FROM llmtrace.prometheus_counters c ORDER BY c.model, c.project;

-- A reader bound to project alpha sees alpha's unpriced models only; a
-- writer may not read health at all.
CREATE ROLE health_reader LOGIN IN ROLE llmtrace_reader;
CREATE ROLE health_writer LOGIN IN ROLE llmtrace_writer;
INSERT INTO llmtrace.project_roles VALUES ('health_reader', 'alpha');
SET ROLE health_reader;
SELECT * FROM pg_temp.h WHERE check_name = 'unpriced_models';
SELECT llmtrace.health_ok() IS NOT NULL AS reader_can_probe;
RESET ROLE;
SET ROLE health_writer;
SELECT count(*) FROM llmtrace.health;
SELECT llmtrace.health_ok();
RESET ROLE;

-- schedule_defaults needs pg_cron (run under real pg_cron by test/cron/run.sh).
\set VERBOSITY terse
SELECT * FROM llmtrace.schedule_defaults();
\set VERBOSITY default
DROP ROLE health_reader;
DROP ROLE health_writer;
