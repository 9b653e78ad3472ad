-- Included by the timed sessions of run.sh (cancel_try.sql, terminate_victim.sql):
-- loads llmtrace, its settings, its prepared inserts and its price cache before
-- anything is timed, so that the timed statement is the ingest itself.
\set VERBOSITY terse
\set SHOW_CONTEXT never
BEGIN;
SELECT llmtrace.ingest_json('{"trace_id":"warm-up","span_id":"warm-up","start_time":"2025-01-01T00:00:00Z","model":"gpt-4o","usage":{"prompt_tokens":1,"completion_tokens":1}}') IS NULL AS warm_up \gset
ROLLBACK;
-- llmtrace.max_payload_bytes keeps its default: the payloads are sized to it.
SET llmtrace.on_error = 'quarantine';
