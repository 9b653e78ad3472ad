--
-- redelivery: exporters and drains retry, so a span whose (trace_id, span_id)
-- is already stored is neither stored nor counted again; children may arrive
-- before their parents.
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

-- Show command tags (INSERT 0 n, COPY n).
\set QUIET off

\set span1 '{"trace_id":"rd","span_id":"one","name":"first delivery","start_time":"2024-04-01T12:00:00Z","model":"gpt-4o","usage":{"prompt_tokens":10,"completion_tokens":1}}'

-- The same payload twice in one statement: the view reports both rows, one span is stored.
INSERT INTO llmtrace.ingest (payload) VALUES (:'span1'), (:'span1');
SELECT trace_id, span_id, name FROM llmtrace.spans ORDER BY trace_id, span_id;

-- Again in a separate statement, and via COPY.
INSERT INTO llmtrace.ingest (payload) VALUES (:'span1');
COPY llmtrace.ingest (payload) FROM STDIN;
{"trace_id":"rd","span_id":"one","name":"first delivery","start_time":"2024-04-01T12:00:00Z","model":"gpt-4o","usage":{"prompt_tokens":10,"completion_tokens":1}}
{"trace_id":"rd","span_id":"one","name":"first delivery","start_time":"2024-04-01T12:00:00Z","model":"gpt-4o","usage":{"prompt_tokens":10,"completion_tokens":1}}
\.
-- ingest_json counts only spans newly stored: 0 for a re-delivery.
SELECT llmtrace.ingest_json(:'span1') AS redelivered;
-- Twice inside one array payload: counted once.
SELECT llmtrace.ingest_json('[{"trace_id":"rd","span_id":"two","start_time":"2024-04-01T12:00:01Z"},
                              {"trace_id":"rd","span_id":"two","start_time":"2024-04-01T12:00:01Z"}]') AS dup_in_array;
-- Within one transaction.
BEGIN;
SELECT llmtrace.ingest_json('{"trace_id":"rd","span_id":"three","start_time":"2024-04-01T12:00:02Z"}') AS first,
       llmtrace.ingest_json('{"trace_id":"rd","span_id":"three","start_time":"2024-04-01T12:00:02Z"}') AS second;
INSERT INTO llmtrace.ingest (payload) VALUES ('{"trace_id":"rd","span_id":"three","start_time":"2024-04-01T12:00:02Z"}');
COMMIT;
SELECT trace_id, span_id, name, input_tokens, cost_usd FROM llmtrace.spans ORDER BY trace_id, span_id;

-- A re-delivery is not an update: the first stored version stays.
SELECT llmtrace.ingest_json('{"trace_id":"rd","span_id":"one","name":"second delivery","start_time":"2024-04-01T12:00:00Z","model":"gpt-4o","usage":{"prompt_tokens":99999,"completion_tokens":1}}') AS changed_copy;
SELECT trace_id, span_id, name, input_tokens, cost_usd FROM llmtrace.spans WHERE span_id = 'one';

-- ---------------------------------------------------------------------------
-- Children before parents: nothing requires the parent to be there first.
-- ---------------------------------------------------------------------------
SELECT llmtrace.ingest_json('{"trace_id":"tree","span_id":"grandchild","parent_span_id":"child","name":"tool","start_time":"2024-04-02T00:00:02Z"}') AS grandchild;
SELECT llmtrace.ingest_json('{"trace_id":"tree","span_id":"child","parent_span_id":"root","name":"llm","start_time":"2024-04-02T00:00:01Z"}') AS child;
SELECT s.span_id, s.parent_span_id, p.span_id IS NOT NULL AS parent_stored
FROM llmtrace.spans s LEFT JOIN llmtrace.spans p ON p.trace_id = s.trace_id AND p.span_id = s.parent_span_id
WHERE s.trace_id = 'tree' ORDER BY s.span_id;
SELECT llmtrace.ingest_json('{"trace_id":"tree","span_id":"root","name":"request","start_time":"2024-04-02T00:00:00Z"}') AS root;
WITH RECURSIVE t AS (
  SELECT span_id, parent_span_id, name, 0 AS depth FROM llmtrace.spans
  WHERE trace_id = 'tree' AND parent_span_id IS NULL
  UNION ALL
  SELECT s.span_id, s.parent_span_id, s.name, t.depth + 1
  FROM llmtrace.spans s JOIN t ON s.parent_span_id = t.span_id AND s.trace_id = 'tree')
SELECT repeat('  ', depth) || span_id AS tree, name FROM t ORDER BY depth;

-- The same in OTLP: the child's batch first, then the parent's.
SELECT llmtrace.ingest_json('{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"44444444444444444444444444444444","spanId":"4444444444444402","parentSpanId":"4444444444444401","name":"child","startTimeUnixNano":"1711929601000000000","attributes":[]}]}]}]}') AS otlp_child;
SELECT llmtrace.ingest_json('{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"44444444444444444444444444444444","spanId":"4444444444444401","name":"parent","startTimeUnixNano":"1711929600000000000","attributes":[]}]}]}]}') AS otlp_parent;
SELECT span_id, parent_span_id, name FROM llmtrace.spans
WHERE trace_id = '44444444444444444444444444444444' ORDER BY span_id;

-- ---------------------------------------------------------------------------
-- An OTLP batch re-sent in full stores nothing new; a batch that overlaps an
-- earlier one stores only the new spans. Ids differing only in hex case are
-- the same span.
-- ---------------------------------------------------------------------------
CREATE TEMP TABLE batch AS
SELECT '{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"batcher"}}]},"scopeSpans":[{"spans":[' ||
       string_agg(format('{"traceId":"55555555555555555555555555555555","spanId":"%s","name":"s%s","startTimeUnixNano":"%s","attributes":[]}',
                         lpad(to_hex(i), 16, '0'), i, 1711929600000000000 + i::bigint * 1000000), ',' ORDER BY i) ||
       ']}]}]}' AS payload
FROM generate_series(1, 200) i;
SELECT llmtrace.ingest_json(payload) AS first_delivery FROM batch;
SELECT llmtrace.ingest_json(payload) AS full_resend FROM batch;
INSERT INTO llmtrace.ingest (payload) SELECT payload FROM batch;
SELECT llmtrace.ingest_json('{"resourceSpans":[{"scopeSpans":[{"spans":[' ||
       string_agg(format('{"traceId":"55555555555555555555555555555555","spanId":"%s","name":"s%s","startTimeUnixNano":"%s","attributes":[]}',
                         upper(lpad(to_hex(i), 16, '0')), i, 1711929600000000000 + i::bigint * 1000000), ',' ORDER BY i) ||
       ']}]}]}') AS resend_upper_case_hex
FROM generate_series(1, 200) i;
-- spans 151..250: 50 of them already stored, 50 new
SELECT llmtrace.ingest_json('{"resourceSpans":[{"scopeSpans":[{"spans":[' ||
       string_agg(format('{"traceId":"55555555555555555555555555555555","spanId":"%s","name":"s%s","startTimeUnixNano":"%s","attributes":[]}',
                         lpad(to_hex(i), 16, '0'), i, 1711929600000000000 + i::bigint * 1000000), ',' ORDER BY i) ||
       ']}]}]}') AS overlapping
FROM generate_series(151, 250) i;
SELECT count(*) AS spans, count(DISTINCT span_id) AS distinct_ids,
       count(*) FILTER (WHERE service = 'batcher') AS from_first_batch
FROM llmtrace.spans WHERE trace_id = '55555555555555555555555555555555';

-- Every (trace_id, span_id) is stored once.
SELECT trace_id, span_id, count(*) FROM llmtrace.spans
GROUP BY trace_id, span_id HAVING count(*) > 1 ORDER BY trace_id, span_id;
SELECT count(*) AS total_spans FROM llmtrace.spans;
SELECT count(*) AS quarantined FROM llmtrace.ingest_errors;

-- Spans of one key sent twice in one statement: the first sent is the one
-- stored, whether the statement's rows wait in memory or in its sort.
INSERT INTO llmtrace.ingest (payload) VALUES
 ('{"trace_id":"dup-small","span_id":"1","start_time":"2025-01-01T00:00:00Z","name":"first"}'),
 ('{"trace_id":"dup-small","span_id":"1","start_time":"2025-01-01T00:00:00Z","name":"second"}'),
 ('[{"trace_id":"dup-small","span_id":"2","start_time":"2025-01-01T00:00:00Z","name":"first"},{"trace_id":"dup-small","span_id":"2","start_time":"2025-01-01T00:00:00Z","name":"second"}]');
INSERT INTO llmtrace.ingest (payload)
SELECT CASE WHEN i IN (10, 400, 599) THEN format('{"trace_id":"dup-big","span_id":"d","start_time":"2025-01-01T00:00:00Z","name":"n%s"}', i)
            ELSE format('{"trace_id":"dup-fill-%s","span_id":"1","start_time":"2025-01-01T00:00:00Z"}', i) END
FROM generate_series(1, 600) i;
SELECT trace_id, span_id, name FROM llmtrace.spans WHERE trace_id IN ('dup-small', 'dup-big') ORDER BY 1, 2;
