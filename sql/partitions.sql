-- Daily partitions of llmtrace.spans: spans of a day without a partition go to
-- the default partition; ensure_partitions creates partitions and moves rows.
\set QUIET on
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS llmtrace CASCADE;
CREATE EXTENSION llmtrace;
RESET client_min_messages;
SET timezone = 'UTC';

-- CREATE EXTENSION makes only the default partition (no day-dependent tables
-- that a restored dump would collide with).
SELECT inhrelid::regclass AS partition FROM pg_inherits
WHERE inhparent = 'llmtrace.spans'::regclass ORDER BY 1;

SELECT llmtrace.ingest_json('[{"trace_id":"p","span_id":"1","start_time":"2024-07-01T23:59:59.999999Z"},
                              {"trace_id":"p","span_id":"2","start_time":"2024-07-02T00:00:00Z"},
                              {"trace_id":"p","span_id":"3","start_time":"2024-07-09T12:00:00Z"}]') AS stored;
SELECT tableoid::regclass AS partition, span_id FROM llmtrace.spans ORDER BY span_id;

-- Three days: 07-01 and 07-02 have rows in the default partition, which move.
SELECT llmtrace.ensure_partitions('2024-07-01', '2024-07-03') AS created;
SELECT tableoid::regclass AS partition, span_id FROM llmtrace.spans ORDER BY span_id;
SELECT inhrelid::regclass AS partition, pg_get_expr(c.relpartbound, c.oid) AS bound
FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
WHERE inhparent = 'llmtrace.spans'::regclass ORDER BY 1;
-- The moved partition has the primary key too: re-delivery is still skipped.
SELECT llmtrace.ingest_json('{"trace_id":"p","span_id":"1","start_time":"2024-07-01T23:59:59.999999Z"}') AS redelivered;
SELECT llmtrace.ingest_json('{"trace_id":"p","span_id":"4","start_time":"2024-07-03T08:00:00Z"}') AS new_day;
SELECT tableoid::regclass AS partition, span_id FROM llmtrace.spans WHERE span_id = '4';

-- Idempotent; bad ranges are refused.
SELECT llmtrace.ensure_partitions('2024-07-01', '2024-07-03') AS created_again;
SELECT llmtrace.ensure_partitions('2024-07-03', '2024-07-01');
SELECT llmtrace.ensure_partitions(NULL, '2024-07-01');

-- ---------------------------------------------------------------------------
-- llmtrace.maintain(): partitions ahead of time, the default partition emptied.
-- A 120-day back-fill (spans of every day from 120 days ago to today), with
-- tokens and prices, so the summaries have something to keep.
-- ---------------------------------------------------------------------------
SET client_min_messages = warning;
DROP EXTENSION llmtrace CASCADE;
CREATE EXTENSION llmtrace;
RESET client_min_messages;
SELECT sum(llmtrace.ingest_json(format(
    '{"trace_id":"bf%s","span_id":"1","start_time":"%s","duration_ms":100,'
    '"model":"gpt-4o","provider":"openai","user_id":"u%s","usage":{"prompt_tokens":1000,"completion_tokens":100}}',
    d, to_char(date_trunc('day', now()) - make_interval(days => d) + interval '1 hour',
               'YYYY-MM-DD"T"HH24:MI:SS"Z"'), d % 7)))
    AS backfilled
FROM generate_series(0, 120) d;
SELECT count(*) AS spans_in_default FROM llmtrace.spans_default;
SELECT llmtrace.fold_rollups() IS NOT NULL AS folded, llmtrace.refresh_daily_cost_summary() IS NOT NULL AS refreshed;
CREATE TEMP TABLE before_daily AS SELECT * FROM llmtrace.daily_cost_summary;
CREATE TEMP TABLE before_live AS SELECT * FROM llmtrace.metrics_summary(24 * 30);

-- 121 days of back-fill plus the days ahead (yesterday..today+7 minus the two
-- already counted among them): every day gets its partition, the default empties.
SELECT partitions_created, days_moved, rows_moved, days_busy FROM llmtrace.maintain();
SELECT count(*) AS spans_in_default FROM llmtrace.spans_default;
SELECT count(*) AS day_partitions,
       count(*) FILTER (WHERE c.relname > 'spans_p' || to_char(now() AT TIME ZONE 'UTC', 'YYYYMMDD')) AS ahead
FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
WHERE i.inhparent = 'llmtrace.spans'::regclass AND c.relname ~ '^spans_p[0-9]{8}$';
-- Every span is in the partition of its day.
SELECT count(*) AS misplaced FROM llmtrace.spans s
WHERE s.tableoid::regclass::text <> 'llmtrace.spans_p' || to_char(s.start_time AT TIME ZONE 'UTC', 'YYYYMMDD');
-- Idempotent: a second call has nothing to do.
SELECT partitions_created, days_moved, rows_moved, days_busy FROM llmtrace.maintain();
SELECT llmtrace.maintain(-1);
SELECT llmtrace.maintain(367);

-- ---------------------------------------------------------------------------
-- llmtrace.apply_retention(): whole partitions older than retention_days go.
-- ---------------------------------------------------------------------------
SHOW llmtrace.retention_days;
SELECT partitions_dropped, cardinality(dropped) AS names, partitions_busy,
       cutoff = now() - interval '90 days' AS cutoff_is_90_days
FROM llmtrace.apply_retention();
-- A partition goes when its whole day is older than the cutoff: days 0..90
-- ago stay (day 90 ends after now() - 90 days), days 91..120 go.
SELECT min(start_time) > now() - interval '91 days' AS nothing_older_than_91_days,
       count(*) AS spans_left FROM llmtrace.spans;
SELECT count(*) AS expired_partitions_left
FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
WHERE i.inhparent = 'llmtrace.spans'::regclass AND c.relname ~ '^spans_p[0-9]{8}$'
  AND to_date(substr(c.relname, 8), 'YYYYMMDD') + 1 <= (now() - interval '90 days') AT TIME ZONE 'UTC';
-- Summaries and rollups are untouched: the same before and after.
SELECT llmtrace.fold_rollups() IS NOT NULL AS folded, llmtrace.refresh_daily_cost_summary() IS NOT NULL AS refreshed;
SELECT (SELECT count(*) FROM before_daily) AS daily_rows,
       NOT EXISTS (SELECT * FROM before_daily EXCEPT SELECT * FROM llmtrace.daily_cost_summary)
   AND NOT EXISTS (SELECT * FROM llmtrace.daily_cost_summary EXCEPT SELECT * FROM before_daily) AS daily_unchanged,
       NOT EXISTS (SELECT * FROM before_live EXCEPT SELECT * FROM llmtrace.metrics_summary(24 * 30))
   AND NOT EXISTS (SELECT * FROM llmtrace.metrics_summary(24 * 30) EXCEPT SELECT * FROM before_live) AS live_unchanged;
SELECT sum(spans) AS spans_in_daily_summary FROM llmtrace.daily_cost_summary;
-- Ingest into a day whose partition was dropped still works: the span waits in
-- the default partition, and the next maintain()/apply_retention() pair takes it.
SELECT llmtrace.ingest_json(format('{"trace_id":"late","span_id":"1","start_time":"%s"}',
                                   to_char(now() - interval '100 days', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'))) AS stored_old_day;
SELECT count(*) AS spans_in_default FROM llmtrace.spans_default;
SELECT partitions_created, rows_moved FROM llmtrace.maintain();
SELECT partitions_dropped FROM llmtrace.apply_retention();
SELECT count(*) AS late_left FROM llmtrace.spans WHERE trace_id = 'late';
-- retention_days = 0 keeps everything.
SET llmtrace.retention_days = 0;
SELECT partitions_dropped, cutoff FROM llmtrace.apply_retention();
RESET llmtrace.retention_days;

-- A table planted under a partition's name is not taken over.
CREATE TABLE llmtrace.spans_p20300101 (x int);
SELECT llmtrace.ensure_partitions('2030-01-01', '2030-01-01');
DROP TABLE llmtrace.spans_p20300101;

