-- Privacy: llmtrace.store_content = 'redact' masks e-mail addresses, API keys,
-- bearer tokens, JWTs and card numbers (Luhn) in content, attributes, error
-- messages and quarantined payloads, before anything is written;
-- llmtrace.hash_user_ids stores a keyed hash of user ids. Both are the
-- admin's settings.
\set QUIET on
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS llmtrace CASCADE;
CREATE EXTENSION llmtrace;
DROP ROLE IF EXISTS regress_privacy_w;
DROP ROLE IF EXISTS regress_privacy_a;
CREATE ROLE regress_privacy_w IN ROLE llmtrace_writer;
CREATE ROLE regress_privacy_a IN ROLE llmtrace_admin;
RESET client_min_messages;
SET timezone = 'UTC';

SET llmtrace.store_content = 'redact';

-- A native record: messages with personal data and secrets, metadata with
-- keys, and an error message quoting a key.
SELECT llmtrace.ingest_json($${
  "trace_id":"priv","span_id":"1","start_time":"2025-05-01T10:00:00Z","duration_ms":900,
  "model":"gpt-4o","provider":"openai","user_id":"alice@example.com",
  "error":"401 from upstream: Incorrect API key provided: sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z",
  "input":[{"role":"system","content":"You are a support bot. Escalate to ops-team@acme.io."},
           {"role":"user","content":"My card 4111 1111 1111 1111 was charged twice; the other one, 5555-5555-5555-4444, too. Call me on 555-123-4567 or mail jane.doe+billing@mail.example.co.uk"}],
  "output":{"role":"assistant","content":"Sorry Jane! Order #12345 (ref 4111 1111 1111 1112) is refunded; the sky-high fee is risk-free now."},
  "metadata":{"headers":{"authorization":"Bearer abcdEFGH1234ijklMNOP5678","x-trace":"3f786850e387550fdab836ed7e6dc881de23001b"},
              "aws_key":"AKIAIOSFODNN7EXAMPLE","gh":"ghp_1234567890abcdefghijklmnopqrstuvwxyzAB",
              "anthropic":"sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789",
              "session_jwt":"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
              "request_id":"7f9c2ba4-e88f-4b1a-9c3e-1d2f3a4b5c6d","amount":"1234567890123","task":"task-1234",
              "when":"2025-05-01T10:00:00.123Z","sha256":"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}
}$$) AS stored;
SELECT jsonb_pretty(input) AS input, jsonb_pretty(output) AS output, error_message
FROM llmtrace.spans WHERE trace_id = 'priv';
SELECT jsonb_pretty(attributes) AS attributes FROM llmtrace.spans WHERE trace_id = 'priv';

-- OTLP: content attributes (gen_ai.prompt) and other attributes are masked too.
SELECT llmtrace.ingest_json($${"resourceSpans":[{"resource":{"attributes":[
  {"key":"service.name","value":{"stringValue":"chat"}}]},"scopeSpans":[{"spans":[{
  "traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331","name":"chat gpt-4o",
  "startTimeUnixNano":"1746093600000000000","endTimeUnixNano":"1746093601000000000",
  "attributes":[{"key":"gen_ai.request.model","value":{"stringValue":"gpt-4o"}},
    {"key":"gen_ai.prompt","value":{"stringValue":"[{\"role\":\"user\",\"content\":\"reset the password of bob@corp.example and use token ghp_abcdefghijklmnopqrstuvwxyz0123456789\"}]"}},
    {"key":"http.request.header.authorization","value":{"arrayValue":{"values":[{"stringValue":"Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJib2IifQ.c2lnbmF0dXJlLXZhbHVl"}]}}},
    {"key":"app.note","value":{"stringValue":"customer 378282246310005 paid; commit 3f786850e387550fdab836ed7e6dc881de23001b"}}]}]}]}]}$$) AS stored;
SELECT input, attributes - 'llmtrace.token_rule' AS attributes
FROM llmtrace.spans WHERE trace_id = '0af7651916cd43dd8448eb211c80319c';

-- Nothing of what was masked is anywhere in the stored rows.
SELECT count(*) AS leaks FROM llmtrace.spans s, unnest(ARRAY[
    'ops-team@acme.io', 'jane.doe+billing@mail.example.co.uk', '4111 1111 1111 1111', '5555-5555-5555-4444',
    'sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z', 'abcdEFGH1234ijklMNOP5678', 'AKIAIOSFODNN7EXAMPLE',
    'ghp_1234567890abcdefghijklmnopqrstuvwxyzAB', 'sk-ant-api03', 'SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c',
    'bob@corp.example', 'ghp_abcdefghijklmnopqrstuvwxyz0123456789', 'c2lnbmF0dXJlLXZhbHVl', '378282246310005']) AS secret
WHERE s::text LIKE '%' || secret || '%';

-- A quarantined payload is masked as well (the bad span's JSON or the payload prefix).
SELECT llmtrace.ingest_json('{"trace_id":"bad","span_id":"1","start_time":"not a time","input":"mail me at eve@example.org, card 4012888888881881"}') AS stored;
SELECT payload, payload_bytes FROM llmtrace.ingest_errors;

-- full keeps content as sent.
SET llmtrace.store_content = 'full';
SELECT llmtrace.ingest_json('{"trace_id":"full","span_id":"1","start_time":"2025-05-01T10:00:00Z","input":"mail me at eve@example.org"}') AS stored;
SELECT input FROM llmtrace.spans WHERE trace_id = 'full';

-- ---------------------------------------------------------------------------
-- llmtrace.hash_user_ids: a keyed hash, the same for the same user, the raw
-- id never written (not in spans, not in the summaries).
-- ---------------------------------------------------------------------------
SET llmtrace.hash_user_ids = on;
SELECT llmtrace.ingest_json($$[
  {"trace_id":"h1","span_id":"1","start_time":"2025-05-02T10:00:00Z","user_id":"carol-4711","model":"gpt-4o","usage":{"prompt_tokens":10,"completion_tokens":5}},
  {"trace_id":"h2","span_id":"1","start_time":"2025-05-02T11:00:00Z","user_id":"carol-4711","model":"gpt-4o","usage":{"prompt_tokens":10,"completion_tokens":5}},
  {"trace_id":"h3","span_id":"1","start_time":"2025-05-02T12:00:00Z","user_id":"dave","model":"gpt-4o","usage":{"prompt_tokens":10,"completion_tokens":5}}]$$) AS stored;
SELECT trace_id, length(user_id) AS len, user_id ~ '^[0-9a-f]{64}$' AS hex,
       user_id = first_value(user_id) OVER (ORDER BY trace_id) AS same_as_h1
FROM llmtrace.spans WHERE trace_id LIKE 'h_' ORDER BY trace_id;
SELECT count(*) AS raw_ids_stored FROM llmtrace.spans WHERE user_id IN ('carol-4711', 'dave');
SELECT count(*) AS raw_ids_in_rollups FROM llmtrace.rollup_deltas WHERE user_id IN ('carol-4711', 'dave');
SELECT count(DISTINCT user_id) AS hashed_users_in_rollups FROM llmtrace.rollup_deltas WHERE user_id ~ '^[0-9a-f]{64}$';
-- The value depends on the database's secret: a new secret, another value.
SELECT user_id AS before FROM llmtrace.spans WHERE trace_id = 'h1' \gset
INSERT INTO llmtrace.hash_secret (secret) VALUES (decode(repeat('ab', 32), 'hex'));
\c
SET llmtrace.hash_user_ids = on;
SELECT llmtrace.ingest_json('{"trace_id":"h4","span_id":"1","start_time":"2025-05-02T10:00:00Z","user_id":"carol-4711"}') AS stored;
SELECT user_id <> :'before' AS differs, user_id ~ '^[0-9a-f]{64}$' AS hex FROM llmtrace.spans WHERE trace_id = 'h4';
SELECT count(*) AS secrets FROM llmtrace.hash_secret;
-- No secret: a clear error, not an unkeyed hash.
DELETE FROM llmtrace.hash_secret;
\c
SET llmtrace.hash_user_ids = on;
SELECT llmtrace.ingest_json('{"trace_id":"h5","span_id":"1","start_time":"2025-05-02T10:00:00Z","user_id":"x"}');
RESET llmtrace.hash_user_ids;
SELECT llmtrace.ingest_json('{"trace_id":"h5","span_id":"1","start_time":"2025-05-02T10:00:00Z","user_id":"x"}') AS stored_unhashed;

-- ---------------------------------------------------------------------------
-- Who may change them: a superuser and llmtrace_admin, not a writer (so a
-- writer cannot override a database-wide 'redact' or hash_user_ids).
-- ---------------------------------------------------------------------------
SET ROLE regress_privacy_w;
SET llmtrace.store_content = 'full';
SET llmtrace.hash_user_ids = off;
SELECT count(*) FROM llmtrace.hash_secret;
RESET ROLE;
SET ROLE regress_privacy_a;
SET llmtrace.store_content = 'redact';
SET llmtrace.hash_user_ids = on;
SELECT count(*) FROM llmtrace.hash_secret;
RESET ROLE;
RESET llmtrace.store_content;
RESET llmtrace.hash_user_ids;

SET client_min_messages = warning;
DROP ROLE regress_privacy_w;
DROP ROLE regress_privacy_a;
