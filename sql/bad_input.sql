--
-- bad_input: payloads (or spans of a batch) that cannot be normalized.
--   llmtrace.on_error = 'quarantine' (default): they go to llmtrace.ingest_errors
--     with the reason, a SQLSTATE and their location; the statement goes on.
--   llmtrace.on_error = 'error': the statement fails with a precise SQLSTATE and
--     a message naming what and where; nothing of it is stored.
-- Never a crashed backend, a silently dropped payload or a half-stored batch.
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

CREATE TEMP TABLE bad (ord int PRIMARY KEY, label text NOT NULL, payload text);
INSERT INTO bad VALUES
 -- malformed or truncated JSON
 (1,  'malformed',            '{not json}'),
 (2,  'truncated',            '{"trace_id":"t","span_id":"s","start_time":"2024-05-01T00:00:00Z"'),
 (3,  'truncated string',     '{"trace_id":"t","span_id":"s'),
 (4,  'trailing garbage',     '{"trace_id":"t","span_id":"s","start_time":"2024-05-01T00:00:00Z"} x'),
 (5,  'two documents',        '{"trace_id":"t","span_id":"s1","start_time":"2024-05-01T00:00:00Z"} {"trace_id":"t","span_id":"s2","start_time":"2024-05-01T00:00:00Z"}'),
 (6,  'empty string',         ''),
 (7,  'only whitespace',      E' \n\t '),
 -- JSON scalars and unknown formats
 (8,  'scalar number',        '42'),
 (9,  'scalar string',        '"hello"'),
 (10, 'scalar null',          'null'),
 (11, 'unknown format',       '{"hello":1}'),
 (12, 'empty object',         '{}'),
 -- wrong types
 (13, 'tokens as object',     '{"trace_id":"t","span_id":"s","start_time":"2024-05-01T00:00:00Z","usage":{"prompt_tokens":{"n":5}}}'),
 (14, 'start_time boolean',   '{"trace_id":"t","span_id":"s","start_time":true}'),
 (15, 'usage as string',      '{"trace_id":"t","span_id":"s","start_time":"2024-05-01T00:00:00Z","usage":"lots"}'),
 (16, 'span_id as object',    '{"trace_id":"t","span_id":{"id":1},"start_time":"2024-05-01T00:00:00Z"}'),
 (17, 'fractional tokens',    '{"trace_id":"t","span_id":"s","start_time":"2024-05-01T00:00:00Z","usage":{"prompt_tokens":10.5}}'),
 (18, 'unknown status',       '{"trace_id":"t","span_id":"s","start_time":"2024-05-01T00:00:00Z","status":"maybe"}'),
 (19, 'bad timestamp text',   '{"trace_id":"t","span_id":"s","start_time":"yesterday"}'),
 (20, 'impossible date',      '{"trace_id":"t","span_id":"s","start_time":"2024-02-30T00:00:00Z"}'),
 (21, 'end before start',     '{"trace_id":"t","span_id":"s","start_time":"2024-05-01T00:00:01Z","end_time":"2024-05-01T00:00:00Z"}'),
 (22, 'metadata not object',  '{"span_id":"s","root_span_id":"r","metadata":["m"],"metrics":{"start":1714521600}}'),
 -- \u0000 and lone surrogates
 (23, 'NUL in a string',      '{"trace_id":"t","span_id":"s","start_time":"2024-05-01T00:00:00Z","name":"a\u0000b"}'),
 (24, 'NUL in nested input',  '{"trace_id":"t","span_id":"s","start_time":"2024-05-01T00:00:00Z","input":[{"content":"x\u0000"}]}'),
 (25, 'NUL in a key',         '{"trace_id":"t","span_id":"s","start_time":"2024-05-01T00:00:00Z","metadata":{"k\u0000":1}}'),
 (26, 'lone high surrogate',  '{"trace_id":"t","span_id":"s","start_time":"2024-05-01T00:00:00Z","name":"\ud800"}'),
 (27, 'lone low surrogate',   '{"trace_id":"t","span_id":"s","start_time":"2024-05-01T00:00:00Z","name":"\udc00"}'),
 (28, 'high then not low',    '{"trace_id":"t","span_id":"s","start_time":"2024-05-01T00:00:00Z","name":"\ud800\u0041"}'),
 -- huge and negative numbers
 (29, 'number 1e400',         '{"trace_id":"t","span_id":"s","start_time":"2024-05-01T00:00:00Z","x":1e400}'),
 (30, '30-digit integer',     '{"trace_id":"t","span_id":"s","start_time":"2024-05-01T00:00:00Z","x":123456789012345678901234567890}'),
 (31, 'tokens 1e308',         '{"trace_id":"t","span_id":"s","start_time":"2024-05-01T00:00:00Z","usage":{"prompt_tokens":1e308}}'),
 (32, 'tokens above 1e15',    '{"trace_id":"t","span_id":"s","start_time":"2024-05-01T00:00:00Z","usage":{"completion_tokens":1000000000000001}}'),
 (33, 'tokens uint64',        '{"trace_id":"t","span_id":"s","start_time":"2024-05-01T00:00:00Z","usage":{"prompt_tokens":18446744073709551615}}'),
 (34, 'negative tokens',      '{"trace_id":"t","span_id":"s","start_time":"2024-05-01T00:00:00Z","usage":{"prompt_tokens":-5}}'),
 (35, 'negative as string',   '{"trace_id":"t","span_id":"s","start_time":"2024-05-01T00:00:00Z","usage":{"prompt_tokens":"-5"}}'),
 (36, 'negative cost',        '{"trace_id":"t","span_id":"s","start_time":"2024-05-01T00:00:00Z","cost_usd":-0.01}'),
 (37, 'huge duration',        '{"trace_id":"t","span_id":"s","start_time":"2024-05-01T00:00:00Z","duration_ms":1e300}'),
 (38, 'negative duration',    '{"id":"v","timestamp":1714521600000,"duration":-1}'),
 (39, 'epoch out of range',   '{"trace_id":"t","span_id":"s","start_time":1e300}'),
 (40, 'negative epoch',       '{"trace_id":"t","span_id":"s","start_time":-1}'),
 -- very deep nesting
 (43, '200000-deep array',    repeat('[', 200000) || repeat(']', 200000)),
 (44, '600-deep object',      '{"trace_id":"t","span_id":"s","start_time":"2024-05-01T00:00:00Z","metadata":' || repeat('{"a":', 600) || '1' || repeat('}', 600) || '}'),
 -- missing ids and times
 (46, 'native no span_id',    '{"trace_id":"t","start_time":"2024-05-01T00:00:00Z"}'),
 (47, 'native empty span_id', '{"trace_id":"t","span_id":"","start_time":"2024-05-01T00:00:00Z"}'),
 (48, 'native no trace_id',   '{"span_id":"s","start_time":"2024-05-01T00:00:00Z"}'),
 (49, 'native no start',      '{"trace_id":"t","span_id":"s"}'),
 (50, 'vercel no timestamp',  '{"id":"v","timestamp":null}'),
 (51, 'OTLP no traceId',      '{"resourceSpans":[{"scopeSpans":[{"spans":[{"spanId":"aaaaaaaaaaaaaaaa","startTimeUnixNano":"1714521600000000000","attributes":[]}]}]}]}'),
 (52, 'OTLP no start',        '{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","spanId":"aaaaaaaaaaaaaaaa","attributes":[]}]}]}]}'),
 (53, 'OTLP bad hex id',      '{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"not-hex","spanId":"aaaaaaaaaaaaaaaa","startTimeUnixNano":"1714521600000000000","attributes":[]}]}]}]}'),
 (54, 'OTLP zero trace id',   '{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"00000000000000000000000000000000","spanId":"aaaaaaaaaaaaaaaa","startTimeUnixNano":"1714521600000000000","attributes":[]}]}]}]}'),
 (55, 'OTLP unknown kind',    '{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","spanId":"aaaaaaaaaaaaaaaa","kind":"SPAN_KIND_BOGUS","startTimeUnixNano":"1714521600000000000","attributes":[]}]}]}]}'),
 (56, 'OTLP kind 9',          '{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","spanId":"aaaaaaaaaaaaaaaa","kind":9,"startTimeUnixNano":"1714521600000000000","attributes":[]}]}]}]}'),
 (57, 'OTLP status code 7',   '{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","spanId":"aaaaaaaaaaaaaaaa","status":{"code":7},"startTimeUnixNano":"1714521600000000000","attributes":[]}]}]}]}'),
 (58, 'OTLP attributes obj',  '{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","spanId":"aaaaaaaaaaaaaaaa","startTimeUnixNano":"1714521600000000000","attributes":{"a":1}}]}]}]}'),
 (59, 'OTLP spans not array', '{"resourceSpans":[{"scopeSpans":[{"spans":{"traceId":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}}]}]}'),
 (60, 'resourceSpans string', '{"resourceSpans":"none"}');

-- ===========================================================================
-- on_error = 'quarantine' (the default)
-- ===========================================================================
SET llmtrace.on_error = 'quarantine';
-- Every bad payload stores no span (ingest_json returns 0) and does not fail.
SELECT ord, label, llmtrace.ingest_json(payload) AS stored FROM bad ORDER BY ord;
SHOW llmtrace.on_error;

-- Each is in ingest_errors: the reason, a SQLSTATE, the location (NULL for a
-- whole payload) and the format when it was recognized. The payload is kept
-- whole (or, for a span of a batch, that span).
SELECT b.ord, e.error, e.sqlstate, e.location, e.source_format,
       left(e.payload, 80) AS payload
FROM llmtrace.ingest_errors e JOIN bad b ON b.payload = e.payload
ORDER BY e.id;
SELECT count(*) AS quarantined, count(*) FILTER (WHERE payload IN (SELECT payload FROM bad)) AS whole_payloads,
       sum(length(payload)) FILTER (WHERE payload LIKE '[[[%') AS deep_payload_bytes
FROM llmtrace.ingest_errors;
SELECT count(*) AS spans FROM llmtrace.spans;
-- A bad span of an OTLP payload is quarantined as that span, at its location.
SELECT error, sqlstate, location, source_format FROM llmtrace.ingest_errors
WHERE payload NOT IN (SELECT payload FROM bad) ORDER BY id;

-- A valid surrogate pair, a string that only looks like an escape, nesting
-- just under the limit, and too deep JSON carried inside a string attribute
-- (kept as a JSON string) are fine.
SELECT llmtrace.ingest_json('{"trace_id":"ok","span_id":"emoji","start_time":"2024-05-01T00:00:00Z","name":"\ud83d\ude00 \\u0000"}') AS emoji,
       llmtrace.ingest_json('{"trace_id":"ok","span_id":"deep-500","start_time":"2024-05-01T00:00:00Z","metadata":' || repeat('[', 500) || repeat(']', 500) || '}') AS deep_500,
       llmtrace.ingest_json('{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"99999999999999999999999999999999","spanId":"9999999999999999","startTimeUnixNano":"1714521600000000000","attributes":[{"key":"input.value","value":{"stringValue":"' || repeat('[', 600) || repeat(']', 600) || '"}}]}]}]}]}') AS deep_in_string;
SELECT span_id, name, jsonb_array_length(attributes->'metadata') AS metadata_len,
       jsonb_typeof(input) AS input_type, length(input #>> '{}') AS input_len
FROM llmtrace.spans WHERE trace_id IN ('ok', '99999999999999999999999999999999') ORDER BY span_id;

TRUNCATE llmtrace.ingest_errors;

-- An array with one bad element among good ones: the good ones are stored, the
-- bad one is quarantined alone with its location.
SELECT llmtrace.ingest_json($json$
[{"trace_id":"arr","span_id":"a0","start_time":"2024-05-02T00:00:00Z"},
 {"trace_id":"arr","start_time":"2024-05-02T00:00:01Z","model":"no span id"},
 {"trace_id":"arr","span_id":"a2","start_time":"2024-05-02T00:00:02Z"},
 42,
 [{"trace_id":"arr","span_id":"nested"}],
 {"hello":"world"},
 {"trace_id":"arr","span_id":"a6","start_time":"2024-05-02T00:00:06Z","usage":{"prompt_tokens":-1}},
 {"trace_id":"arr","span_id":"a7","start_time":"2024-05-02T00:00:07Z"}]
$json$) AS stored;
SELECT span_id FROM llmtrace.spans WHERE trace_id = 'arr' ORDER BY span_id;
SELECT error, sqlstate, location, source_format, left(payload, 80) AS payload
FROM llmtrace.ingest_errors ORDER BY id;
TRUNCATE llmtrace.ingest_errors;

-- An OTLP batch with bad spans: the good spans are stored; each bad span is
-- quarantined with its path in the batch; a bad scope or resource entry too.
SELECT llmtrace.ingest_json($json$
{"resourceSpans":[
 {"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"svc"}}]},
  "scopeSpans":[
   {"spans":[
     {"traceId":"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb","spanId":"bbbbbbbbbbbbbb01","startTimeUnixNano":"1714608000000000000","attributes":[]},
     {"traceId":"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb","spanId":"bbbbbbbbbbbbbb02","startTimeUnixNano":"1714608000000000000",
      "attributes":[{"key":"gen_ai.usage.input_tokens","value":{"intValue":"-3"}}]},
     {"traceId":"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb","spanId":"bbbbbbbbbbbbbb03","startTimeUnixNano":"1714608000000000000","attributes":[]}]},
   {"spans":[
     {"spanId":"bbbbbbbbbbbbbb04","startTimeUnixNano":"1714608000000000000","attributes":[]},
     "not a span"]},
   7]},
 {"resource":"not an object","scopeSpans":[]},
 {"scopeSpans":[{"spans":[
     {"traceId":"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb","spanId":"bbbbbbbbbbbbbb05","startTimeUnixNano":"1714608000000000000","attributes":[]}]}]}
]}
$json$) AS stored;
SELECT span_id, service FROM llmtrace.spans WHERE trace_id = 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb' ORDER BY span_id;
SELECT error, sqlstate, location, source_format, left(payload, 80) AS payload
FROM llmtrace.ingest_errors ORDER BY id;
TRUNCATE llmtrace.ingest_errors;

-- Through the view: INSERT and COPY go on past a bad row.
\set QUIET off
INSERT INTO llmtrace.ingest (payload) VALUES
  ('{"trace_id":"view","span_id":"v1","start_time":"2024-05-03T00:00:00Z"}'),
  ('{"trace_id":"view","span_id":'),
  ('{"trace_id":"view","span_id":"v3","start_time":"2024-05-03T00:00:00Z"}');
COPY llmtrace.ingest (payload) FROM STDIN;
{"trace_id":"view","span_id":"c1","start_time":"2024-05-03T00:00:00Z"}
{"trace_id":"view","span_id":"c2","start_time":"2024-05-03T00:00:00Z","name":"nul \\u0000 here"}
not json at all
{"trace_id":"view","span_id":"c4","start_time":"2024-05-03T00:00:00Z"}
\.
\set QUIET on
SELECT span_id FROM llmtrace.spans WHERE trace_id = 'view' ORDER BY span_id;
SELECT error, sqlstate, location, source_format, payload
FROM llmtrace.ingest_errors ORDER BY id;
TRUNCATE llmtrace.ingest_errors;

-- A NULL payload: ingest_json is STRICT (NULL in, NULL out); a NULL row in
-- the view is quarantined like any bad payload (payload '', SQLSTATE 22004).
SELECT llmtrace.ingest_json(NULL) AS null_payload;
INSERT INTO llmtrace.ingest (payload) VALUES (NULL);
INSERT INTO llmtrace.ingest (payload) VALUES ('{"trace_id":"view","span_id":"v9","start_time":"2024-05-03T00:00:00Z"}'), (NULL);
SELECT count(*) AS v9 FROM llmtrace.spans WHERE span_id = 'v9';
SELECT error, sqlstate, payload = '' AS empty_payload FROM llmtrace.ingest_errors ORDER BY id;
-- In error mode a NULL row fails the statement.
SET llmtrace.on_error = 'error';
INSERT INTO llmtrace.ingest (payload) VALUES (NULL);
RESET llmtrace.on_error;
TRUNCATE llmtrace.ingest_errors;

-- A large payload: a ~50 MB OTLP batch of 10000 spans, built with SQL, under a
-- raised llmtrace.max_payload_bytes (the default, 8MB, refuses it: see hardening).
SET llmtrace.max_payload_bytes = '64MB';
CREATE TEMP TABLE big AS
SELECT '{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"big"}}]},"scopeSpans":[{"spans":[' ||
       string_agg(format('{"traceId":"%s","spanId":"%s","name":"big span %s","kind":3,"startTimeUnixNano":"%s","endTimeUnixNano":"%s","attributes":[{"key":"gen_ai.request.model","value":{"stringValue":"gpt-4o-mini"}},{"key":"gen_ai.usage.input_tokens","value":{"intValue":"%s"}},{"key":"gen_ai.usage.output_tokens","value":{"intValue":"7"}},{"key":"pad","value":{"stringValue":"%s"}}]}',
                         lpad(to_hex(i / 100 + 1), 32, '0'), lpad(to_hex(i), 16, '0'), i,
                         1714780800000000000 + i::bigint * 1000, 1714780800000000000 + i::bigint * 1000 + 500000,
                         i % 1000, repeat('x', 4500)), ',' ORDER BY i) ||
       ']}]}]}' AS payload
FROM generate_series(1, 10000) i;
SELECT length(payload) > 49000000 AS about_50mb FROM big;
SELECT llmtrace.ingest_json(payload) AS stored FROM big;
-- 10000 spans; input tokens: 10 x (0 + 1 + ... + 999) = 4995000; output 70000;
-- cost gpt-4o-mini: 4995000 * 0.15 + 70000 * 0.6 = 749250 + 42000 -> 0.79125
SELECT count(*) AS spans, count(DISTINCT trace_id) AS traces, sum(input_tokens) AS input_tokens,
       sum(output_tokens) AS output_tokens, sum(cost_usd) AS cost_usd,
       min(length(attributes->>'pad')) AS pad_len
FROM llmtrace.spans WHERE service = 'big';
-- Re-sent: nothing new.
SELECT llmtrace.ingest_json(payload) AS resent FROM big;
SELECT count(*) AS quarantined FROM llmtrace.ingest_errors;
RESET llmtrace.max_payload_bytes;

-- ===========================================================================
-- on_error = 'error'
-- ===========================================================================
SET llmtrace.on_error = 'error';
SHOW llmtrace.on_error;
\set VERBOSITY default
SELECT llmtrace.ingest_json('{"trace_id":"t","span_id":"s","start_time":"2024-05-01T00:00:00Z"');
SELECT llmtrace.ingest_json('');
SELECT llmtrace.ingest_json('{"hello":1}');
SELECT llmtrace.ingest_json('[1,2]');
SELECT llmtrace.ingest_json('{"trace_id":"t","span_id":"s","start_time":true}');
SELECT llmtrace.ingest_json('{"trace_id":"t","span_id":"s","start_time":"2024-05-01T00:00:00Z","usage":{"prompt_tokens":{"n":5}}}');
SELECT llmtrace.ingest_json('{"trace_id":"t","span_id":"s","start_time":"2024-05-01T00:00:00Z","name":"a\u0000b"}');
SELECT llmtrace.ingest_json('{"trace_id":"t","span_id":"s","start_time":"2024-05-01T00:00:00Z","name":"\ud800"}');
SELECT llmtrace.ingest_json('{"trace_id":"t","span_id":"s","start_time":"2024-05-01T00:00:00Z","x":1e400}');
SELECT llmtrace.ingest_json('{"trace_id":"t","span_id":"s","start_time":"2024-05-01T00:00:00Z","usage":{"prompt_tokens":1e308}}');
SELECT llmtrace.ingest_json('{"trace_id":"t","span_id":"s","start_time":"2024-05-01T00:00:00Z","usage":{"prompt_tokens":-5}}');
SELECT llmtrace.ingest_json(repeat('[', 200000) || repeat(']', 200000));
SELECT llmtrace.ingest_json('{"trace_id":"t","start_time":"2024-05-01T00:00:00Z"}');
INSERT INTO llmtrace.ingest (payload) VALUES ('{"resourceSpans":[{"scopeSpans":[{"spans":[{"spanId":"aaaaaaaaaaaaaaaa","startTimeUnixNano":"1714521600000000000","attributes":[]}]}]}]}');
INSERT INTO llmtrace.ingest (payload) VALUES ('42');

-- SQLSTATEs only.
\set VERBOSITY sqlstate
SELECT llmtrace.ingest_json('{not json}');                                                          -- 22P02
SELECT llmtrace.ingest_json('{"trace_id":"t","span_id":"s","start_time":"2024-05-01T00:00:00Z","name":"a\u0000b"}'); -- 22P05
SELECT llmtrace.ingest_json('{"trace_id":"t","span_id":"s","start_time":"2024-05-01T00:00:00Z","x":1e400}');  -- 22003
SELECT llmtrace.ingest_json('{"trace_id":"t","span_id":"s"}');                                      -- 22004
SELECT llmtrace.ingest_json('{"trace_id":"t","span_id":"s","start_time":"yesterday"}');             -- 22007
SELECT llmtrace.ingest_json('{"trace_id":"t","span_id":"s","start_time":-1}');                      -- 22008
SELECT llmtrace.ingest_json('{"hello":1}');                                                         -- 22023
\set VERBOSITY default

-- Every bad payload of the table above, with its SQLSTATE and message.
DO $$
DECLARE
    r record;
    n bigint;
BEGIN
    FOR r IN SELECT ord, label, payload FROM bad ORDER BY ord LOOP
        BEGIN
            n := llmtrace.ingest_json(r.payload);
            RAISE NOTICE '% %: stored % (no error)', r.ord, r.label, n;
        EXCEPTION WHEN OTHERS THEN
            RAISE NOTICE '% %: % %', r.ord, r.label, SQLSTATE, left(SQLERRM, 200);
        END;
    END LOOP;
END
$$;

-- Nothing was quarantined, and no span of those payloads was stored.
SELECT count(*) AS quarantined FROM llmtrace.ingest_errors;
SELECT count(*) AS spans_of_bad_payloads FROM llmtrace.spans WHERE trace_id IN ('t', 'r', 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa');

-- A batch with one bad span stores nothing: no half-stored batch.
SELECT llmtrace.ingest_json($json$
{"resourceSpans":[{"scopeSpans":[{"spans":[
  {"traceId":"cccccccccccccccccccccccccccccccc","spanId":"cccccccccccccc01","startTimeUnixNano":"1714608000000000000","attributes":[]},
  {"traceId":"cccccccccccccccccccccccccccccccc","spanId":"cccccccccccccc02","startTimeUnixNano":"1714608000000000000",
   "attributes":[{"key":"gen_ai.usage.output_tokens","value":{"stringValue":"many"}}]},
  {"traceId":"cccccccccccccccccccccccccccccccc","spanId":"cccccccccccccc03","startTimeUnixNano":"1714608000000000000","attributes":[]}]}]}]}
$json$);
SELECT llmtrace.ingest_json('[{"trace_id":"half","span_id":"h1","start_time":"2024-05-05T00:00:00Z"},{"trace_id":"half","span_id":"h2"}]');
INSERT INTO llmtrace.ingest (payload) VALUES
  ('{"trace_id":"half","span_id":"h3","start_time":"2024-05-05T00:00:00Z"}'),
  ('{"trace_id":"half","span_id":"h4","start_time":"2024-05-05T00:00:00Z","usage":{"prompt_tokens":-1}}'),
  ('{"trace_id":"half","span_id":"h5","start_time":"2024-05-05T00:00:00Z"}');
-- 300 good rows (more than one internal write batch of 256 spans), then a bad one.
INSERT INTO llmtrace.ingest (payload)
SELECT CASE WHEN i <= 300
            THEN format('{"trace_id":"half","span_id":"m%s","start_time":"2024-05-05T00:00:00Z"}', i)
            ELSE '{"trace_id":"half"' END
FROM generate_series(1, 301) i ORDER BY i;
COPY llmtrace.ingest (payload) FROM STDIN;
{"trace_id":"half","span_id":"c1","start_time":"2024-05-05T00:00:00Z"}
{"trace_id":"half","span_id":"c2","start_time":"2024-05-05T00:00:00Z","end_time":"2024-05-04T00:00:00Z"}
{"trace_id":"half","span_id":"c3","start_time":"2024-05-05T00:00:00Z"}
\.
SELECT count(*) AS stored FROM llmtrace.spans
WHERE trace_id IN ('half', 'cccccccccccccccccccccccccccccccc');
SELECT count(*) AS quarantined FROM llmtrace.ingest_errors;

-- The session goes on: the next good ingest works, in both modes.
\set QUIET off
INSERT INTO llmtrace.ingest (payload) VALUES ('{"trace_id":"after","span_id":"e1","start_time":"2024-05-06T00:00:00Z"}');
\set QUIET on
SELECT llmtrace.ingest_json('{"trace_id":"after","span_id":"e2","start_time":"2024-05-06T00:00:00Z"}') AS e2;
RESET llmtrace.on_error;
SHOW llmtrace.on_error;
SELECT llmtrace.ingest_json('{"trace_id":"after","span_id":"q1","start_time":"2024-05-06T00:00:00Z"}') AS q1,
       llmtrace.ingest_json('{"trace_id":"after"}') AS q2_bad;
SELECT span_id FROM llmtrace.spans WHERE trace_id = 'after' ORDER BY span_id;
SELECT error, sqlstate, payload FROM llmtrace.ingest_errors ORDER BY id;

-- Invalid settings are refused.
SET llmtrace.on_error = 'ignore';
