-- The session terminate_is_fast terminates: ingest :payload (a file the server
-- reads) in a transaction that is rolled back if it ever completes.
\ir session_setup.sql
BEGIN;
SELECT llmtrace.ingest_json(pg_read_file(:'payload'));
ROLLBACK;
\echo survived
