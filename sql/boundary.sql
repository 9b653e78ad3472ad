--
-- boundary: a PostgreSQL error raised while the extension's C++ code writes
-- spans (a CHECK constraint, a trigger on a partition) aborts the statement
-- cleanly with its own SQLSTATE; nothing of the statement is stored and the
-- session goes on. Savepoints, PL/pgSQL exception blocks and rolled-back
-- transactions behave as for any other INSERT.
--
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
\pset null '<null>'
-- pg_regress runs every test of the suite in one database, and other tests
-- change the price table: start from a freshly created extension.
SET client_min_messages = warning;
DROP EXTENSION llmtrace CASCADE;
CREATE EXTENSION llmtrace;
RESET client_min_messages;
-- Terse errors: the DETAIL of a constraint violation shows the failing row,
-- ingested_at (the time of the run) included.
\set VERBOSITY terse

-- Spans from 2024 fall in the default partition (daily partitions are made
-- around the installation day).
SELECT llmtrace.ingest_json('{"trace_id":"b","span_id":"warmup","start_time":"2024-06-01T00:00:00Z"}') AS warmup;
SELECT tableoid::regclass AS partition, span_id FROM llmtrace.spans ORDER BY span_id;

-- ---------------------------------------------------------------------------
-- A CHECK constraint on llmtrace.spans rejects the extension's INSERT.
-- ---------------------------------------------------------------------------
ALTER TABLE llmtrace.spans ADD CONSTRAINT test_no_forbidden CHECK (model IS DISTINCT FROM 'forbidden');

SELECT llmtrace.ingest_json('{"trace_id":"b","span_id":"c1","start_time":"2024-06-01T00:00:00Z","model":"forbidden"}');
\set VERBOSITY sqlstate
SELECT llmtrace.ingest_json('{"trace_id":"b","span_id":"c1","start_time":"2024-06-01T00:00:00Z","model":"forbidden"}');
\set VERBOSITY terse
-- Not an input error: it is not quarantined, in either mode.
SELECT count(*) AS quarantined FROM llmtrace.ingest_errors;
-- The session goes on.
SELECT llmtrace.ingest_json('{"trace_id":"b","span_id":"c2","start_time":"2024-06-01T00:00:00Z","model":"allowed"}') AS next_ok;

-- A batch with one rejected span stores nothing, through every surface.
SELECT llmtrace.ingest_json('[{"trace_id":"b","span_id":"c3","start_time":"2024-06-01T00:00:00Z"},
                              {"trace_id":"b","span_id":"c4","start_time":"2024-06-01T00:00:00Z","model":"forbidden"}]');
INSERT INTO llmtrace.ingest (payload) VALUES
  ('{"trace_id":"b","span_id":"c5","start_time":"2024-06-01T00:00:00Z"}'),
  ('{"trace_id":"b","span_id":"c6","start_time":"2024-06-01T00:00:00Z","model":"forbidden"}');
-- 300 rows (more than one write batch of 256): the first batch is written, then one fails.
INSERT INTO llmtrace.ingest (payload)
SELECT format('{"trace_id":"b","span_id":"m%s","start_time":"2024-06-01T00:00:00Z","model":"%s"}',
              i, CASE WHEN i = 300 THEN 'forbidden' ELSE 'ok' END)
FROM generate_series(1, 300) i ORDER BY i;
COPY llmtrace.ingest (payload) FROM STDIN;
{"trace_id":"b","span_id":"c7","start_time":"2024-06-01T00:00:00Z"}
{"trace_id":"b","span_id":"c8","start_time":"2024-06-01T00:00:00Z","model":"forbidden"}
\.
SELECT span_id, model FROM llmtrace.spans ORDER BY span_id;

-- ---------------------------------------------------------------------------
-- Savepoints and exception blocks.
-- ---------------------------------------------------------------------------
BEGIN;
SELECT llmtrace.ingest_json('{"trace_id":"sp","span_id":"before","start_time":"2024-06-02T00:00:00Z"}') AS before;
SAVEPOINT s1;
INSERT INTO llmtrace.ingest (payload) VALUES ('{"trace_id":"sp","span_id":"bad","start_time":"2024-06-02T00:00:00Z","model":"forbidden"}');
ROLLBACK TO SAVEPOINT s1;
SELECT llmtrace.ingest_json('{"trace_id":"sp","span_id":"after","start_time":"2024-06-02T00:00:00Z"}') AS after;
SAVEPOINT s2;
SELECT llmtrace.ingest_json('{"trace_id":"sp","span_id":"undone","start_time":"2024-06-02T00:00:00Z"}') AS undone;
ROLLBACK TO SAVEPOINT s2;
SAVEPOINT s3;
INSERT INTO llmtrace.ingest (payload) VALUES ('{"trace_id":"sp","span_id":"released","start_time":"2024-06-02T00:00:00Z"}');
RELEASE SAVEPOINT s3;
COMMIT;
SELECT span_id FROM llmtrace.spans WHERE trace_id = 'sp' ORDER BY span_id;

-- PL/pgSQL exception block: the error is caught with its SQLSTATE.
DO $$
DECLARE
    n bigint;
BEGIN
    BEGIN
        n := llmtrace.ingest_json('{"trace_id":"pl","span_id":"bad","start_time":"2024-06-03T00:00:00Z","model":"forbidden"}');
        RAISE NOTICE 'stored %', n;
    EXCEPTION WHEN check_violation THEN
        RAISE NOTICE 'caught %: %', SQLSTATE, SQLERRM;
    END;
    n := llmtrace.ingest_json('{"trace_id":"pl","span_id":"good","start_time":"2024-06-03T00:00:00Z"}');
    RAISE NOTICE 'then stored %', n;
    BEGIN
        INSERT INTO llmtrace.ingest (payload) VALUES
          ('{"trace_id":"pl","span_id":"v1","start_time":"2024-06-03T00:00:00Z"}'),
          ('{"trace_id":"pl","span_id":"v2","start_time":"2024-06-03T00:00:00Z","model":"forbidden"}');
    EXCEPTION WHEN OTHERS THEN
        RAISE NOTICE 'caught %: %', SQLSTATE, SQLERRM;
    END;
END
$$;
SELECT span_id FROM llmtrace.spans WHERE trace_id = 'pl' ORDER BY span_id;

ALTER TABLE llmtrace.spans DROP CONSTRAINT test_no_forbidden;

-- ---------------------------------------------------------------------------
-- A BEFORE INSERT trigger on a partition raises its own error (and SQLSTATE),
-- or skips a row.
-- ---------------------------------------------------------------------------
CREATE FUNCTION pg_temp.span_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.name = 'explode' THEN
        RAISE EXCEPTION 'span % refused by the test trigger', NEW.span_id
            USING ERRCODE = 'P0042', HINT = 'rename the span';
    END IF;
    IF NEW.name = 'skip' THEN
        RETURN NULL;
    END IF;
    NEW.feature := coalesce(NEW.feature, 'set-by-trigger');
    RETURN NEW;
END
$$;
CREATE TRIGGER test_span_guard BEFORE INSERT ON llmtrace.spans_default
    FOR EACH ROW EXECUTE FUNCTION pg_temp.span_guard();

SELECT llmtrace.ingest_json('{"trace_id":"trg","span_id":"t1","name":"explode","start_time":"2024-06-05T00:00:00Z"}');
\set VERBOSITY sqlstate
INSERT INTO llmtrace.ingest (payload) VALUES ('{"trace_id":"trg","span_id":"t2","name":"explode","start_time":"2024-06-05T00:00:00Z"}');
\set VERBOSITY terse
-- Every field of the error (SQLSTATE, message, hint) comes through unchanged.
DO $$
DECLARE
    st text; msg text; hint text;
BEGIN
    PERFORM llmtrace.ingest_json('{"trace_id":"trg","span_id":"t2","name":"explode","start_time":"2024-06-05T00:00:00Z"}');
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, hint = PG_EXCEPTION_HINT;
    RAISE NOTICE 'sqlstate %, message "%", hint "%"', st, msg, hint;
END
$$;
-- In error mode too the database error comes through unchanged.
SET llmtrace.on_error = 'error';
COPY llmtrace.ingest (payload) FROM STDIN;
{"trace_id":"trg","span_id":"t3","name":"fine","start_time":"2024-06-05T00:00:00Z"}
{"trace_id":"trg","span_id":"t4","name":"explode","start_time":"2024-06-05T00:00:00Z"}
\.
RESET llmtrace.on_error;
-- A row skipped by the trigger is not counted as stored.
SELECT llmtrace.ingest_json('[{"trace_id":"trg","span_id":"t5","name":"skip","start_time":"2024-06-05T00:00:00Z"},
                              {"trace_id":"trg","span_id":"t6","name":"fine","start_time":"2024-06-05T00:00:00Z"}]') AS stored;
SELECT span_id, name, feature FROM llmtrace.spans WHERE trace_id = 'trg' ORDER BY span_id;
DROP TRIGGER test_span_guard ON llmtrace.spans_default;

-- ---------------------------------------------------------------------------
-- Errors in the middle of a transaction, and rolled-back transactions.
-- ---------------------------------------------------------------------------
SET llmtrace.on_error = 'error';
BEGIN;
SELECT llmtrace.ingest_json('{"trace_id":"tx","span_id":"x1","start_time":"2024-06-06T00:00:00Z"}') AS x1;
SELECT llmtrace.ingest_json('{"trace_id":"tx","span_id":"x2"}');
SELECT llmtrace.ingest_json('{"trace_id":"tx","span_id":"x3","start_time":"2024-06-06T00:00:00Z"}');
ROLLBACK;
RESET llmtrace.on_error;
SELECT count(*) AS tx_spans FROM llmtrace.spans WHERE trace_id = 'tx';

-- A rolled-back transaction stores nothing (spans and quarantined payloads alike).
BEGIN;
INSERT INTO llmtrace.ingest (payload) VALUES ('{"trace_id":"rb","span_id":"r1","start_time":"2024-06-07T00:00:00Z"}');
SELECT llmtrace.ingest_json('{"trace_id":"rb","span_id":"r2","start_time":"2024-06-07T00:00:00Z"}') AS r2;
COPY llmtrace.ingest (payload) FROM STDIN;
{"trace_id":"rb","span_id":"r3","start_time":"2024-06-07T00:00:00Z"}
{"trace_id":"rb"}
\.
SELECT span_id FROM llmtrace.spans WHERE trace_id = 'rb' ORDER BY span_id;
SELECT count(*) AS quarantined_in_tx FROM llmtrace.ingest_errors;
ROLLBACK;
SELECT count(*) AS rb_spans FROM llmtrace.spans WHERE trace_id = 'rb';
SELECT count(*) AS quarantined FROM llmtrace.ingest_errors;
-- The same spans go in once the transaction commits.
BEGIN;
INSERT INTO llmtrace.ingest (payload) VALUES ('{"trace_id":"rb","span_id":"r1","start_time":"2024-06-07T00:00:00Z"}');
SELECT llmtrace.ingest_json('{"trace_id":"rb","span_id":"r2","start_time":"2024-06-07T00:00:00Z"}') AS r2;
COMMIT;
SELECT span_id FROM llmtrace.spans WHERE trace_id = 'rb' ORDER BY span_id;

-- Everything stored in this test.
SELECT trace_id, count(*) FROM llmtrace.spans GROUP BY trace_id ORDER BY trace_id;
-- The test objects are gone.
SELECT count(*) AS test_constraints FROM pg_constraint WHERE conname LIKE 'test\_%';
SELECT count(*) AS test_triggers FROM pg_trigger WHERE tgname LIKE 'test\_%';

-- ---------------------------------------------------------------------------
-- Statements of more than one write batch (their rows wait in a tuplesort
-- until the statement ends) under savepoints, rollbacks and exception blocks,
-- with a work_mem small enough that the sort spills to temporary files.
-- ---------------------------------------------------------------------------
TRUNCATE llmtrace.spans;
SET work_mem = '64kB';
BEGIN;
SAVEPOINT a;
INSERT INTO llmtrace.ingest (payload)
SELECT format('{"trace_id":"sp","span_id":"r%s","start_time":"2024-06-02T00:00:00Z"}', i)
FROM generate_series(1, 2000) i;
ROLLBACK TO SAVEPOINT a;
INSERT INTO llmtrace.ingest (payload)
SELECT format('{"trace_id":"sp","span_id":"k%s","start_time":"2024-06-02T00:00:00Z"}', i)
FROM generate_series(1, 2000) i;
COMMIT;
SELECT left(span_id, 1) AS kind, count(*) FROM llmtrace.spans WHERE trace_id = 'sp' GROUP BY 1 ORDER BY 1;
BEGIN;
INSERT INTO llmtrace.ingest (payload)
SELECT format('{"trace_id":"sp","span_id":"x%s","start_time":"2024-06-02T00:00:00Z"}', i)
FROM generate_series(1, 2000) i;
ROLLBACK;
DO $$
BEGIN
    INSERT INTO llmtrace.ingest (payload)
    SELECT format('{"trace_id":"sp","span_id":"d%s","start_time":"2024-06-02T00:00:00Z"}', i)
    FROM generate_series(1, 2000) i;
    RAISE EXCEPTION 'undo';
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE 'caught: %', SQLERRM;
END
$$;
-- In an exception block that does not fail, the rows stay.
DO $$
BEGIN
    INSERT INTO llmtrace.ingest (payload)
    SELECT format('{"trace_id":"sp","span_id":"e%s","start_time":"2024-06-02T00:00:00Z"}', i)
    FROM generate_series(1, 2000) i;
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE 'not reached';
END
$$;
SELECT left(span_id, 1) AS kind, count(*) FROM llmtrace.spans WHERE trace_id = 'sp' GROUP BY 1 ORDER BY 1;
RESET work_mem;
