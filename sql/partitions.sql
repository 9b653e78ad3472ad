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
