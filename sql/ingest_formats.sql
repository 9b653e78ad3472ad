--
-- ingest_formats: every input format (OTLP, Braintrust, Vercel, native, arrays)
-- through the three ingest surfaces (INSERT into the view, COPY, ingest_json).
--
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
SET extra_float_digits = 0;
\pset null '<null>'
-- pg_regress runs every test of the suite in one database, and other tests
-- change the price table: start from a freshly created extension.
SET client_min_messages = warning;
DROP EXTENSION llmtrace CASCADE;
CREATE EXTENSION llmtrace;
RESET client_min_messages;

-- Every SPEC column except ingested_at (its value depends on the day of the run).
CREATE TEMP VIEW s AS
SELECT trace_id, span_id, parent_span_id, name, kind, operation, start_time, end_time,
       duration_ms, status, error_message, service, project, environment, endpoint, feature,
       provider, model, input_tokens, output_tokens, cached_input_tokens, cache_write_tokens,
       reasoning_tokens, total_tokens, cost_usd, cost_status, user_id, session_id,
       input, output, attributes, source_format
FROM llmtrace.spans;

-- Show command tags: an INSERT into the view reports its rows (INSERT 0 1).
\set QUIET off

-- The spans table has exactly the SPEC columns, with the SPEC types.
SELECT attname, format_type(atttypid, atttypmod) AS type
FROM pg_attribute
WHERE attrelid = 'llmtrace.spans'::regclass AND attnum > 0 AND NOT attisdropped
ORDER BY attnum;

-- ---------------------------------------------------------------------------
-- OTLP, one resource, one scope, one span.
--   * upper-case hex ids are lower-cased
--   * startTimeUnixNano as a string, endTimeUnixNano as a number
--   * kind as an integer (3 = client), status code as an integer (1 = ok)
--   * resource attributes service.name and deployment.environment go to columns
--   * unknown fields (span level, resource level, request level) are ignored for
--     the columns and kept in attributes
-- ---------------------------------------------------------------------------
INSERT INTO llmtrace.ingest (payload) VALUES ($json$
{"resourceSpans":[{
  "resource":{"attributes":[
     {"key":"service.name","value":{"stringValue":"chat-api"}},
     {"key":"deployment.environment","value":{"stringValue":"prod"}},
     {"key":"host.name","value":{"stringValue":"web-1"}}],
   "droppedAttributesCount":0},
  "scopeSpans":[{
    "scope":{"name":"opentelemetry.instrumentation.openai","version":"0.1.0"},
    "spans":[{
      "traceId":"5B8EFFF798038103D269B633813FC60C",
      "spanId":"EEE19B7EC3C1B174",
      "parentSpanId":"",
      "name":"chat gpt-4o",
      "kind":3,
      "startTimeUnixNano":"1709287200000000000",
      "endTimeUnixNano":1709287201250000000,
      "attributes":[
        {"key":"gen_ai.operation.name","value":{"stringValue":"chat"}},
        {"key":"gen_ai.provider.name","value":{"stringValue":"openai"}},
        {"key":"gen_ai.request.model","value":{"stringValue":"gpt-4o"}},
        {"key":"gen_ai.usage.input_tokens","value":{"intValue":"1000"}},
        {"key":"gen_ai.usage.output_tokens","value":{"intValue":200}},
        {"key":"http.status_code","value":{"intValue":"200"}},
        {"key":"retry","value":{"boolValue":false}},
        {"key":"temperature","value":{"doubleValue":0.5}},
        {"key":"tags","value":{"arrayValue":{"values":[{"stringValue":"a"},{"stringValue":"b"}]}}}
      ],
      "droppedAttributesCount":0,
      "flags":257,
      "traceState":"vendor=x",
      "status":{"code":1},
      "someFutureField":{"x":1}
    }]
  }],
  "schemaUrl":"https://opentelemetry.io/schemas/1.26.0"
}]}
$json$);

\x on
SELECT * FROM s ORDER BY trace_id, span_id;
\x off

-- ---------------------------------------------------------------------------
-- OTLP, several resources and scopes; kind and status codes as enum names;
-- deployment.environment.name; resource attributes apply to every span below.
-- ---------------------------------------------------------------------------
SELECT llmtrace.ingest_json($json$
{"resourceSpans":[
 {"resource":{"attributes":[
     {"key":"service.name","value":{"stringValue":"svc-a"}},
     {"key":"deployment.environment.name","value":{"stringValue":"staging"}}]},
  "scopeSpans":[
   {"scope":{"name":"scope-a1"},
    "spans":[
     {"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331",
      "name":"root","kind":"SPAN_KIND_SERVER",
      "startTimeUnixNano":"1709290800000000000","endTimeUnixNano":"1709290802000000000",
      "status":{"code":"STATUS_CODE_OK"},"attributes":[]},
     {"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"00f067aa0ba902b7",
      "parentSpanId":"b7ad6b7169203331","name":"llm","kind":"SPAN_KIND_CLIENT",
      "startTimeUnixNano":1709290800500000000,"endTimeUnixNano":1709290801500000000,
      "status":{"code":"STATUS_CODE_ERROR","message":"rate limited"},
      "attributes":[{"key":"gen_ai.request.model","value":{"stringValue":"gpt-4o-mini"}}]}]},
   {"scope":{"name":"scope-a2","attributes":[{"key":"scope.attr","value":{"intValue":"7"}}]},
    "spans":[
     {"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"1111111111111111",
      "parentSpanId":"b7ad6b7169203331","name":"tool","kind":1,
      "startTimeUnixNano":"1709290801000000000","endTimeUnixNano":"1709290801100000000",
      "status":{"code":0},"attributes":[]}]}]},
 {"resource":{"attributes":[
     {"key":"service.name","value":{"stringValue":"svc-b"}},
     {"key":"deployment.environment","value":{"stringValue":"prod"}}]},
  "scopeSpans":[
   {"spans":[
     {"traceId":"4bf92f3577b34da6a3ce929d0e0e4736","spanId":"2222222222222222",
      "name":"b-one","kind":2,
      "startTimeUnixNano":"1709290800000000000","endTimeUnixNano":"1709290800250000000",
      "status":{},"attributes":[]},
     {"traceId":"4bf92f3577b34da6a3ce929d0e0e4736","spanId":"3333333333333333",
      "name":"b-two","kind":"SPAN_KIND_PRODUCER",
      "startTimeUnixNano":"1709290800000000000","attributes":[]}]}]}
]}
$json$);

SELECT trace_id, span_id, parent_span_id, name, kind, status, error_message, service,
       environment, model, start_time, end_time, duration_ms, attributes
FROM s WHERE source_format = 'otlp' AND trace_id IN
  ('0af7651916cd43dd8448eb211c80319c', '4bf92f3577b34da6a3ce929d0e0e4736')
ORDER BY trace_id, span_id;

-- ---------------------------------------------------------------------------
-- OTLP batch of many spans (built with SQL): 3 resources x 2 scopes x 50 spans.
-- ---------------------------------------------------------------------------
SELECT llmtrace.ingest_json(
  '{"resourceSpans":[' ||
  (SELECT string_agg(format(
     '{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"batch-%s"}}]},"scopeSpans":[%s]}',
     r,
     (SELECT string_agg(format('{"scope":{"name":"sc%s"},"spans":[%s]}', sc,
        (SELECT string_agg(format(
           '{"traceId":"%s","spanId":"%s","name":"op","kind":1,"startTimeUnixNano":"%s","endTimeUnixNano":"%s","attributes":[{"key":"gen_ai.request.model","value":{"stringValue":"gpt-4o"}},{"key":"gen_ai.usage.input_tokens","value":{"intValue":"%s"}},{"key":"gen_ai.usage.output_tokens","value":{"intValue":"%s"}}]}',
           lpad(to_hex(r), 32, 'a'), lpad(to_hex(r * 1000 + sc * 100 + i), 16, '0'),
           1709294400000000000 + i::bigint * 1000000000,
           1709294400000000000 + i::bigint * 1000000000 + 100000000,
           i * 10, i), ',')
         FROM generate_series(1, 50) i)), ',')
      FROM generate_series(1, 2) sc)), ',')
   FROM generate_series(1, 3) r) ||
  ']}');

SELECT service, count(*) AS spans, count(DISTINCT trace_id) AS traces,
       sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens,
       sum(total_tokens) AS total_tokens, sum(cost_usd) AS cost_usd,
       min(start_time) AS first_start, max(end_time) AS last_end,
       count(*) FILTER (WHERE duration_ms = 100) AS dur_100ms,
       count(DISTINCT attributes->'scope'->>'name') AS scopes
FROM s WHERE service LIKE 'batch-%'
GROUP BY service ORDER BY service;

-- ---------------------------------------------------------------------------
-- Braintrust span log event.
-- ---------------------------------------------------------------------------
INSERT INTO llmtrace.ingest (payload) VALUES ($json$
{"id":"row-bt-1","span_id":"bt-span-1","root_span_id":"bt-root-1","span_parents":["bt-root-1"],
 "span_attributes":{"name":"Chat Completion","type":"llm","purpose":"scorer"},
 "input":[{"role":"user","content":"What is 2+2?"}],
 "output":[{"role":"assistant","content":"4"}],
 "metadata":{"model":"gpt-4o-mini","provider":"openai","user_id":"u-bt","temperature":0},
 "metrics":{"start":1709287200.5,"end":1709287201.75,"prompt_tokens":120,
            "completion_tokens":30,"tokens":150,"time_to_first_token":0.21},
 "project_id":"proj-bt","experiment_id":"exp-1","created":"2024-03-01T10:00:00.123Z",
 "_xact_id":"1000192656880881099"}
$json$);

\x on
SELECT * FROM s WHERE source_format = 'braintrust' ORDER BY trace_id, span_id;
\x off

-- ---------------------------------------------------------------------------
-- Vercel trace drain record.
-- ---------------------------------------------------------------------------
INSERT INTO llmtrace.ingest (payload) VALUES ($json$
{"id":"vc-req-1","timestamp":1709287200000,"duration":850,"status":200,
 "url":"https://app.example.com/api/chat?session=abc","method":"POST",
 "projectId":"prj_123","environment":"production","source":"lambda","region":"iad1",
 "metadata":{"model":"claude-3-haiku-20240307","provider":"anthropic",
             "tokens":{"input":500,"output":50,"cached":100},"userId":"u-vc","sessionId":"sess-vc",
             "cacheHit":false}}
$json$);

\x on
SELECT * FROM s WHERE source_format = 'vercel' ORDER BY trace_id, span_id;
\x off

-- ---------------------------------------------------------------------------
-- Native record.
-- ---------------------------------------------------------------------------
INSERT INTO llmtrace.ingest (payload) VALUES ($json$
{"trace_id":"nat-trace-1","span_id":"nat-span-1","parent_span_id":"nat-root",
 "name":"summarize","kind":"client","operation":"chat",
 "start_time":"2024-03-01T10:00:00Z","duration_ms":1234.5,"status":"ok",
 "service":"summarizer","project":"docs","environment":"prod","endpoint":"/v1/summarize",
 "feature":"tl;dr","provider":"OpenAI","model":"gpt-4o",
 "usage":{"prompt_tokens":1000,"completion_tokens":200,"total_tokens":1200,
          "prompt_tokens_details":{"cached_tokens":400}},
 "user_id":"u-nat","session_id":"s-nat",
 "input":[{"role":"user","content":"Summarize: \"quoted\"\nsecond line"}],
 "output":{"role":"assistant","content":"ok"},
 "metadata":{"request_id":"req-9"},"custom_field":[1,2,3]}
$json$);

\x on
SELECT * FROM s WHERE source_format = 'native' ORDER BY trace_id, span_id;
\x off

-- ---------------------------------------------------------------------------
-- A JSON array mixing every format: one INSERT row gives all its spans.
-- ---------------------------------------------------------------------------
INSERT INTO llmtrace.ingest (payload) VALUES ($json$
[
 {"trace_id":"mix-1","span_id":"mix-native","name":"native-in-array","start_time":"2024-03-02T00:00:00Z"},
 {"span_id":"mix-bt","root_span_id":"mix-1","span_parents":["mix-native"],
  "span_attributes":{"name":"bt-in-array","type":"task"},"metrics":{"start":1709337600}},
 {"id":"mix-vc","traceId":"mix-1","parentId":"mix-native","timestamp":"2024-03-02T00:00:01Z",
  "duration":10,"status":500,"url":"/api/x","method":"GET"},
 {"resourceSpans":[{"scopeSpans":[{"spans":[
   {"traceId":"ABCDEF0123456789ABCDEF0123456789","spanId":"ABCDEF0123456789","name":"otlp-in-array",
    "kind":"SPAN_KIND_INTERNAL","startTimeUnixNano":"1709337602000000000","attributes":[]},
   {"traceId":"abcdef0123456789abcdef0123456789","spanId":"abcdef0123456780",
    "parentSpanId":"ABCDEF0123456789","name":"otlp-child","startTimeUnixNano":"1709337603000000000",
    "endTimeUnixNano":"1709337603500000000","attributes":[]}]}]}]}
]
$json$);

SELECT source_format, trace_id, span_id, parent_span_id, name, kind, operation, status,
       error_message, endpoint, start_time, end_time, duration_ms
FROM s WHERE start_time >= '2024-03-02' ORDER BY start_time, span_id;

-- ---------------------------------------------------------------------------
-- COPY: one JSON document per line. In COPY text format a backslash is an
-- escape, so JSON escapes are written with doubled backslashes (\\n, \\").
-- ---------------------------------------------------------------------------
COPY llmtrace.ingest (payload) FROM STDIN;
{"trace_id":"copy-1","span_id":"c1","name":"first","start_time":"2024-03-03T08:00:00Z","end_time":"2024-03-03T08:00:02Z","input":"line one\\nline two \\"q\\" back\\\\slash \\u00e9"}
{"trace_id":"copy-1","span_id":"c2","parent_span_id":"c1","name":"second","start_time":1709452800.5,"duration_ms":20}
{"span_id":"c3","root_span_id":"copy-1","span_parents":["c1"],"span_attributes":{"name":"third","type":"tool"},"metrics":{"start":1709452801,"end":1709452801.5}}
{"id":"c4","traceId":"copy-1","timestamp":"2024-03-03T08:00:03+02:00","duration":5,"status":"ok"}
[{"trace_id":"copy-1","span_id":"c5","start_time":"2024-03-03T08:00:04Z"},{"trace_id":"copy-1","span_id":"c6","start_time":1709452805000}]
\.

SELECT source_format, span_id, parent_span_id, name, kind, operation, status,
       start_time, end_time, duration_ms, input
FROM s WHERE trace_id = 'copy-1' ORDER BY span_id;
SELECT jsonb_typeof(input) AS input_type, input #>> '{}' AS input_text
FROM s WHERE trace_id = 'copy-1' AND span_id = 'c1';

-- Multi-row INSERT into the view: one row per payload.
INSERT INTO llmtrace.ingest (payload) VALUES
  ('{"trace_id":"multi","span_id":"m1","start_time":"2024-03-04T00:00:00Z"}'),
  ('{"trace_id":"multi","span_id":"m2","start_time":"2024-03-04T00:00:01Z"}'),
  ('[{"trace_id":"multi","span_id":"m3","start_time":"2024-03-04T00:00:02Z"},{"trace_id":"multi","span_id":"m4","start_time":"2024-03-04T00:00:03Z"}]');
-- INSERT ... SELECT works too.
INSERT INTO llmtrace.ingest (payload)
SELECT format('{"trace_id":"multi","span_id":"m%s","start_time":"2024-03-04T00:01:%sZ"}', i, lpad(i::text, 2, '0'))
FROM generate_series(5, 9) i;
SELECT span_id, start_time FROM s WHERE trace_id = 'multi' ORDER BY span_id;

-- Braintrust batches: {"events": [...]} (the REST API's insert body) and
-- {"rows": [...], "api_version": 2} (what the SDK posts to /logs3) are their
-- lists; a merge row in the batch completes its first row. An object with
-- other keys besides the list is not a batch.
SELECT llmtrace.ingest_json($json$
{"events":[
 {"id":"bte-1","span_id":"bte-1","root_span_id":"bte-root","span_parents":[],"span_attributes":{"name":"root","type":"task"},
  "metrics":{"start":1709287300,"end":1709287302}},
 {"id":"bte-2","span_id":"bte-2","root_span_id":"bte-root","span_parents":["bte-1"],"span_attributes":{"name":"llm","type":"llm"},
  "metadata":{"model":"gpt-4o-mini"},"metrics":{"start":1709287300.5}},
 {"id":"bte-2","span_id":"bte-2","_is_merge":true,"metrics":{"end":1709287301.5,"prompt_tokens":10,"completion_tokens":2},
  "output":"ok"}]}
$json$) AS events_batch;
SELECT llmtrace.ingest_json($json$
{"rows":[{"id":"btr-1","span_id":"btr-1","root_span_id":"btr-root","span_parents":[],"span_attributes":{"name":"r","type":"task"},
          "metrics":{"start":1709287400,"end":1709287401}}],
 "api_version":2}
$json$) AS rows_batch;
SELECT span_id, parent_span_id, name, model, input_tokens, output_tokens, duration_ms, output
FROM s WHERE trace_id IN ('bte-root', 'btr-root') ORDER BY span_id;
SELECT llmtrace.ingest_json('{"events":[{"id":"x"}],"project_id":"p"}') AS not_a_batch;
SELECT error, location FROM llmtrace.ingest_errors ORDER BY id DESC LIMIT 1;

-- ingest_json returns the number of spans newly stored.
SELECT llmtrace.ingest_json('{"trace_id":"ij","span_id":"ij1","start_time":"2024-03-05T00:00:00Z"}') AS one,
       llmtrace.ingest_json('[{"trace_id":"ij","span_id":"ij2","start_time":"2024-03-05T00:00:00Z"},{"trace_id":"ij","span_id":"ij3","start_time":"2024-03-05T00:00:00Z"}]') AS two,
       llmtrace.ingest_json('[]') AS empty_array,
       llmtrace.ingest_json('{"resourceSpans":[]}') AS empty_otlp,
       llmtrace.ingest_json(NULL) AS null_payload;

-- Totals.
SELECT source_format, count(*) FROM llmtrace.spans GROUP BY source_format ORDER BY source_format;
SELECT count(*) AS quarantined FROM llmtrace.ingest_errors;
