--
-- ingest_vocabularies: the attribute vocabularies inside OTLP spans (OTel GenAI
-- current and older names, OpenInference, Vercel AI SDK, OpenLLMetry) and the
-- precedence between them. An attribute that does not win a column stays in
-- attributes.
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

-- One OTLP span (trace 1111..., start 2024-03-01 10:00:00, 1 s) with the given
-- attributes. attrs is a json object (key order kept): strings become
-- stringValue, integers intValue (as a string, as OTLP/JSON writes int64),
-- other numbers doubleValue, booleans boolValue.
CREATE FUNCTION pg_temp.kvs(attrs json) RETURNS json LANGUAGE sql AS $$
  SELECT coalesce(json_agg(json_build_object('key', key, 'value',
           CASE json_typeof(value)
             WHEN 'string' THEN json_build_object('stringValue', value)
             WHEN 'number' THEN CASE WHEN value::text ~ '^-?[0-9]+$'
                                     THEN json_build_object('intValue', value::text)
                                     ELSE json_build_object('doubleValue', value) END
             WHEN 'boolean' THEN json_build_object('boolValue', value) END)), '[]')
  FROM json_each(attrs)
$$;
CREATE FUNCTION pg_temp.otlp(span_id text, attrs json, resource json DEFAULT '{}')
RETURNS text LANGUAGE sql AS $$
  SELECT json_build_object('resourceSpans', json_build_array(json_build_object(
    'resource', json_build_object('attributes', pg_temp.kvs(resource)),
    'scopeSpans', json_build_array(json_build_object('spans', json_build_array(
      json_build_object(
        'traceId', '11111111111111111111111111111111', 'spanId', span_id, 'name', 'vocab',
        'kind', 3, 'startTimeUnixNano', '1709287200000000000',
        'endTimeUnixNano', '1709287201000000000',
        'attributes', pg_temp.kvs(attrs))))))))::text
$$;

-- What the helper produces:
SELECT jsonb_pretty(pg_temp.otlp('0000000000000001',
  '{"gen_ai.request.model":"gpt-4o","gen_ai.usage.input_tokens":10,"x":0.5,"y":true}',
  '{"service.name":"svc"}')::jsonb);

CREATE TEMP VIEW v AS
SELECT span_id, provider, model, operation, input_tokens, output_tokens,
       cached_input_tokens, cache_write_tokens, reasoning_tokens, total_tokens,
       cost_usd, cost_status, status, error_message, user_id, session_id,
       service, project, environment, endpoint, feature
FROM llmtrace.spans WHERE trace_id = '11111111111111111111111111111111';

-- Prices used below (USD per million tokens).
SELECT provider, model, input_usd_per_mtok AS input, output_usd_per_mtok AS output,
       cached_input_usd_per_mtok AS cached, cache_write_usd_per_mtok AS cache_write,
       tier_threshold_tokens AS tier_at
FROM llmtrace.model_prices
WHERE model IN ('gpt-4o', 'gpt-4o-mini', 'claude-sonnet-4-20250514', 'claude-3-haiku-20240307')
ORDER BY provider, model;

\x on
-- ---------------------------------------------------------------------------
-- 1. OTel GenAI, current names. gen_ai.usage.input_tokens already includes the
--    cache reads and cache writes. The response model wins over the request
--    model (it names the exact version); the request model stays in attributes.
--    Messages carried as JSON strings are stored as JSON.
-- ---------------------------------------------------------------------------
SELECT llmtrace.ingest_json(pg_temp.otlp('a000000000000001', $${
  "gen_ai.provider.name":"anthropic",
  "gen_ai.operation.name":"chat",
  "gen_ai.request.model":"claude-sonnet-4",
  "gen_ai.response.model":"claude-sonnet-4-20250514",
  "gen_ai.usage.input_tokens":1500,
  "gen_ai.usage.output_tokens":300,
  "gen_ai.usage.cache_read.input_tokens":1000,
  "gen_ai.usage.cache_creation.input_tokens":200,
  "gen_ai.input.messages":"[{\"role\":\"user\",\"parts\":[{\"type\":\"text\",\"content\":\"Hi\"}]}]",
  "gen_ai.output.messages":"[{\"role\":\"assistant\",\"parts\":[{\"type\":\"text\",\"content\":\"Hello\"}],\"finish_reason\":\"stop\"}]",
  "gen_ai.request.temperature":0.2,
  "user.id":"u-1","session.id":"s-1"}$$));
-- claude-sonnet-4-20250514: 3 in / 15 out / 0.3 cached / 3.75 cache write per Mtok
--   uncached input 1500 - 1000 - 200 = 300 -> 300 * 3    =  900
--   cache reads    1000                    -> 1000 * 0.3 =  300
--   cache writes   200                     -> 200 * 3.75 =  750
--   output         300                     -> 300 * 15   = 4500
--   total 6450 / 1e6 = 0.00645 USD; total_tokens 1500 + 300 = 1800
SELECT v.*, s.input, s.output, s.attributes
FROM v JOIN llmtrace.spans s USING (span_id) WHERE span_id = 'a000000000000001';

-- ---------------------------------------------------------------------------
-- 2. OTel GenAI, older names: gen_ai.system, gen_ai.usage.prompt_tokens /
--    completion_tokens, gen_ai.prompt / gen_ai.completion. A content string that
--    is not JSON is stored as a JSON string.
-- ---------------------------------------------------------------------------
SELECT llmtrace.ingest_json(pg_temp.otlp('a000000000000002', $${
  "gen_ai.system":"OpenAI",
  "gen_ai.request.model":"gpt-4o-mini",
  "gen_ai.usage.prompt_tokens":100,
  "gen_ai.usage.completion_tokens":50,
  "gen_ai.prompt":"[{\"role\":\"user\",\"content\":\"2+2?\"}]",
  "gen_ai.completion":"4"}$$));
-- gpt-4o-mini: 100 * 0.15 + 50 * 0.6 = 15 + 30 = 45 -> 0.000045 USD
SELECT v.*, s.input, s.output, s.attributes
FROM v JOIN llmtrace.spans s USING (span_id) WHERE span_id = 'a000000000000002';

-- ---------------------------------------------------------------------------
-- 3. OpenInference: llm.model_name, llm.provider, llm.token_count.*,
--    openinference.span.kind (LLM -> chat), input.value / output.value.
--    input.value beats the indexed llm.input_messages.N.message.* attributes,
--    which then stay in attributes.
-- ---------------------------------------------------------------------------
SELECT llmtrace.ingest_json(pg_temp.otlp('a000000000000003', $${
  "openinference.span.kind":"LLM",
  "llm.model_name":"gpt-4o",
  "llm.provider":"openai",
  "llm.token_count.prompt":2000,
  "llm.token_count.completion":100,
  "llm.token_count.total":2100,
  "llm.token_count.prompt_details.cache_read":500,
  "input.value":"{\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}",
  "input.mime_type":"application/json",
  "output.value":"Hi there!",
  "llm.input_messages.0.message.role":"user",
  "llm.input_messages.0.message.content":"hello",
  "llm.invocation_parameters":"{\"temperature\":0}"}$$));
-- gpt-4o: uncached (2000 - 500) * 2.5 = 3750; cached 500 * 1.25 = 625;
--         output 100 * 10 = 1000; total 5375 -> 0.005375 USD
SELECT v.*, s.input, s.output, s.attributes
FROM v JOIN llmtrace.spans s USING (span_id) WHERE span_id = 'a000000000000003';

-- Without input.value / output.value the indexed messages become the content:
-- an array of {role, content} objects in index order (sent out of order here).
SELECT llmtrace.ingest_json(pg_temp.otlp('a000000000000004', $${
  "openinference.span.kind":"LLM",
  "llm.model_name":"gpt-4o-mini",
  "llm.input_messages.1.message.role":"user",
  "llm.input_messages.1.message.content":"What is PostgreSQL?",
  "llm.input_messages.0.message.role":"system",
  "llm.input_messages.0.message.content":"Be brief.",
  "llm.output_messages.0.message.role":"assistant",
  "llm.output_messages.0.message.content":"A database."}$$));
SELECT v.*, s.input, s.output, s.attributes
FROM v JOIN llmtrace.spans s USING (span_id) WHERE span_id = 'a000000000000004';

-- openinference.span.kind values map to operations.
SELECT llmtrace.ingest_json(pg_temp.otlp('a000000000000005', '{"openinference.span.kind":"EMBEDDING"}')),
       llmtrace.ingest_json(pg_temp.otlp('a000000000000006', '{"openinference.span.kind":"TOOL"}')),
       llmtrace.ingest_json(pg_temp.otlp('a000000000000007', '{"openinference.span.kind":"RETRIEVER"}')),
       llmtrace.ingest_json(pg_temp.otlp('a000000000000008', '{"openinference.span.kind":"AGENT"}')),
       llmtrace.ingest_json(pg_temp.otlp('a000000000000009', '{"openinference.span.kind":"SOMETHING_NEW"}'));
\x off
SELECT span_id, operation, cost_status FROM v
WHERE span_id BETWEEN 'a000000000000005' AND 'a000000000000009' ORDER BY span_id;
\x on

-- ---------------------------------------------------------------------------
-- 4. Vercel AI SDK: ai.model.id, ai.model.provider ("openai.chat" -> openai),
--    ai.usage.promptTokens / completionTokens, ai.operationId,
--    ai.prompt.messages (JSON string), ai.response.text.
-- ---------------------------------------------------------------------------
SELECT llmtrace.ingest_json(pg_temp.otlp('b000000000000001', $${
  "ai.operationId":"ai.generateText.doGenerate",
  "ai.model.id":"gpt-4o-mini",
  "ai.model.provider":"openai.chat",
  "ai.usage.promptTokens":300,
  "ai.usage.completionTokens":40,
  "ai.prompt.messages":"[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"Tell a joke\"}]}]",
  "ai.response.text":"Why did the chicken...",
  "ai.response.finishReason":"stop",
  "ai.telemetry.functionId":"joke-feature",
  "ai.telemetry.metadata.userId":"u-ai",
  "operation.name":"ai.generateText.doGenerate"}$$));
-- gpt-4o-mini: 300 * 0.15 + 40 * 0.6 = 45 + 24 = 69 -> 0.000069 USD
SELECT v.*, s.input, s.output, s.attributes
FROM v JOIN llmtrace.spans s USING (span_id) WHERE span_id = 'b000000000000001';

-- AI SDK 5 names: ai.usage.inputTokens (includes cached), ai.usage.cachedInputTokens,
-- ai.usage.outputTokens, ai.usage.reasoningTokens (part of the output).
SELECT llmtrace.ingest_json(pg_temp.otlp('b000000000000002', $${
  "ai.operationId":"ai.streamText.doStream",
  "ai.model.id":"gpt-4o",
  "ai.model.provider":"openai.responses",
  "ai.usage.inputTokens":1200,
  "ai.usage.cachedInputTokens":1024,
  "ai.usage.outputTokens":80,
  "ai.usage.reasoningTokens":64,
  "ai.usage.totalTokens":1280}$$));
-- gpt-4o: uncached (1200 - 1024) * 2.5 = 440; cached 1024 * 1.25 = 1280;
--         output 80 * 10 = 800; total 2520 -> 0.00252 USD
SELECT v.*, s.attributes
FROM v JOIN llmtrace.spans s USING (span_id) WHERE span_id = 'b000000000000002';

-- ai.operationId -> operation; other providers of the AI SDK.
SELECT llmtrace.ingest_json(pg_temp.otlp('b000000000000003', '{"ai.operationId":"ai.embed.doEmbed","ai.model.provider":"openai.embedding"}')),
       llmtrace.ingest_json(pg_temp.otlp('b000000000000004', '{"ai.operationId":"ai.toolCall","ai.model.provider":"anthropic.messages"}')),
       llmtrace.ingest_json(pg_temp.otlp('b000000000000005', '{"ai.operationId":"ai.streamObject","ai.model.provider":"google.generative-ai"}'));
\x off
SELECT span_id, provider, operation FROM v
WHERE span_id BETWEEN 'b000000000000003' AND 'b000000000000005' ORDER BY span_id;
\x on

-- ---------------------------------------------------------------------------
-- 5. OpenLLMetry (Traceloop): llm.usage.total_tokens, llm.request.type,
--    indexed gen_ai.prompt.N.* / gen_ai.completion.N.* messages.
-- ---------------------------------------------------------------------------
SELECT llmtrace.ingest_json(pg_temp.otlp('c000000000000001', $${
  "llm.request.type":"chat",
  "gen_ai.system":"Anthropic",
  "gen_ai.request.model":"claude-3-haiku-20240307",
  "gen_ai.usage.prompt_tokens":400,
  "gen_ai.usage.completion_tokens":100,
  "llm.usage.total_tokens":500,
  "gen_ai.prompt.0.role":"system",
  "gen_ai.prompt.0.content":"You are terse.",
  "gen_ai.prompt.1.role":"user",
  "gen_ai.prompt.1.content":"Hi",
  "gen_ai.completion.0.role":"assistant",
  "gen_ai.completion.0.content":"Hello.",
  "gen_ai.completion.0.finish_reason":"end_turn",
  "traceloop.workflow.name":"greeter"}$$));
-- claude-3-haiku-20240307: 400 * 0.25 + 100 * 1.25 = 100 + 125 = 225 -> 0.000225 USD
SELECT v.*, s.input, s.output, s.attributes
FROM v JOIN llmtrace.spans s USING (span_id) WHERE span_id = 'c000000000000001';

-- Only a total token count: it cannot be split into priced parts -> unpriced.
SELECT llmtrace.ingest_json(pg_temp.otlp('c000000000000002', $${
  "llm.request.type":"completion",
  "gen_ai.request.model":"gpt-4o",
  "llm.usage.total_tokens":500}$$));
SELECT v.* FROM v WHERE span_id = 'c000000000000002';

-- ---------------------------------------------------------------------------
-- 6. Precedence when two or more vocabularies send the same fact:
--    OTel GenAI current > OTel older > OpenInference > AI SDK > OpenLLMetry,
--    whatever the order of the attributes. Losers stay in attributes.
-- ---------------------------------------------------------------------------
SELECT llmtrace.ingest_json(pg_temp.otlp('d000000000000001', $${
  "llm.usage.prompt_tokens":7,
  "ai.usage.promptTokens":8,
  "llm.token_count.prompt":9,
  "gen_ai.usage.prompt_tokens":10,
  "gen_ai.usage.input_tokens":100,
  "ai.usage.completionTokens":2,
  "gen_ai.usage.output_tokens":20,
  "llm.token_count.completion":3,
  "llm.provider":"azure",
  "gen_ai.provider.name":"openai",
  "gen_ai.system":"azure.ai.openai",
  "ai.model.id":"gpt-4o-mini",
  "llm.model_name":"gpt-4o",
  "ai.operationId":"ai.embed",
  "gen_ai.operation.name":"chat",
  "openinference.span.kind":"TOOL"}$$));
-- gpt-4o (openai): 100 * 2.5 + 20 * 10 = 450 -> 0.00045 USD
SELECT v.*, s.attributes
FROM v JOIN llmtrace.spans s USING (span_id) WHERE span_id = 'd000000000000001';

-- The same facts in the opposite order give the same columns.
SELECT llmtrace.ingest_json(pg_temp.otlp('d000000000000002', $${
  "openinference.span.kind":"TOOL",
  "gen_ai.operation.name":"chat",
  "ai.operationId":"ai.embed",
  "llm.model_name":"gpt-4o",
  "ai.model.id":"gpt-4o-mini",
  "gen_ai.system":"azure.ai.openai",
  "gen_ai.provider.name":"openai",
  "llm.provider":"azure",
  "llm.token_count.completion":3,
  "gen_ai.usage.output_tokens":20,
  "ai.usage.completionTokens":2,
  "gen_ai.usage.input_tokens":100,
  "gen_ai.usage.prompt_tokens":10,
  "llm.token_count.prompt":9,
  "ai.usage.promptTokens":8,
  "llm.usage.prompt_tokens":7}$$));
\x off
SELECT a.provider = b.provider AND a.model = b.model AND a.operation = b.operation
       AND a.input_tokens = b.input_tokens AND a.output_tokens = b.output_tokens
       AND a.cost_usd = b.cost_usd AS same_columns,
       sa.attributes = sb.attributes AS same_attributes
FROM v a, v b, llmtrace.spans sa, llmtrace.spans sb
WHERE a.span_id = 'd000000000000001' AND b.span_id = 'd000000000000002'
  AND sa.span_id = a.span_id AND sb.span_id = b.span_id;
\x on

-- Span attributes override resource attributes for the same column; resource
-- attributes that map to no column are kept under attributes.resource.
SELECT llmtrace.ingest_json(pg_temp.otlp('e000000000000001',
  '{"deployment.environment":"canary","llmtrace.project":"proj-span","gen_ai.request.model":"gpt-4o"}',
  '{"service.name":"res-svc","deployment.environment.name":"prod","llmtrace.project":"proj-res","llmtrace.feature":"res-feature","gen_ai.provider.name":"openai","k8s.pod.name":"pod-1"}'));
SELECT v.*, s.attributes
FROM v JOIN llmtrace.spans s USING (span_id) WHERE span_id = 'e000000000000001';

-- error.type marks a span whose status is unset as an error.
SELECT llmtrace.ingest_json(pg_temp.otlp('e000000000000002',
  '{"gen_ai.request.model":"gpt-4o","error.type":"timeout"}'));
SELECT span_id, status, error_message FROM v WHERE span_id = 'e000000000000002';
\x off

-- Provider names are normalized to lower-case canonical names.
SELECT p AS sent, llmtrace.ingest_json(pg_temp.otlp(
         lpad(to_hex(ord), 16, 'f'), json_build_object('gen_ai.provider.name', p))) AS stored
FROM unnest(ARRAY['OpenAI', 'Anthropic', 'gcp.vertex_ai', 'gcp.gemini', 'aws.bedrock',
                  'azure.ai.openai', 'mistral_ai', 'x_ai']) WITH ORDINALITY AS t(p, ord)
ORDER BY ord;
SELECT span_id, provider FROM v WHERE span_id LIKE 'ffff%' ORDER BY span_id;

SELECT count(*) AS quarantined FROM llmtrace.ingest_errors;
