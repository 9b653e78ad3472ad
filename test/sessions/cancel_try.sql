-- One try of cancel_is_fast: ingest :payload (a file the server reads) under
-- statement_timeout = :timeout, print psql's elapsed time and the SQLSTATE, then
-- show that the backend still answers. Variables: payload, timeout.
-- The first "Time:" line is how long reading the file alone takes in this
-- session (run.sh does not count that part against the ingest if it exceeds the
-- timeout), the second is the timed ingest.
\ir session_setup.sql
SELECT ascii(pg_read_file(:'payload')) AS first_byte \gset
\timing on
SELECT ascii(pg_read_file(:'payload')) AS first_byte \gset
\timing off
BEGIN;
SET LOCAL statement_timeout = :'timeout';
\timing on
SELECT llmtrace.ingest_json(pg_read_file(:'payload'));
\timing off
\echo sqlstate :SQLSTATE
ROLLBACK;
-- A statement that completes just as its timeout expires leaves the timeout's
-- cancel pending, and PostgreSQL delivers it to the next statement: this
-- ROLLBACK. The transaction is then still open (aborted); end it.
\if :ERROR
ROLLBACK;
\endif
SELECT 'alive';
