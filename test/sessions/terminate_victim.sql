-- The session terminate_is_fast terminates: ingest :payload (a file the server
-- reads) in a transaction that is rolled back if it ever completes. The
-- payload is sent six times (re-deliveries after the first), so the session is
-- still ingesting whenever, within its first 400 ms, it is terminated.
\ir session_setup.sql
BEGIN;
SELECT llmtrace.ingest_json(pg_read_file(:'payload'));
SELECT llmtrace.ingest_json(pg_read_file(:'payload'));
SELECT llmtrace.ingest_json(pg_read_file(:'payload'));
SELECT llmtrace.ingest_json(pg_read_file(:'payload'));
SELECT llmtrace.ingest_json(pg_read_file(:'payload'));
SELECT llmtrace.ingest_json(pg_read_file(:'payload'));
ROLLBACK;
\echo survived
