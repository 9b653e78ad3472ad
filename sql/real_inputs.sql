-- Real inputs: payloads shaped exactly like what real emitters send (the source
-- of each is named above it), stored right and counted once.
\pset null '<null>'
SET timezone = 'UTC';

-- ---------------------------------------------------------------------------
-- Vercel Log Drain records (vercel.com/docs/drains/reference/logs): a JSON
-- array body. Status from statusCode / proxy.statusCode >= 400 or level
-- error/fatal (statusCode -1: the function crashed); endpoint from path, else
-- proxy.path, without the query string; spanId (the traced request's span) is
-- the parent.
-- ---------------------------------------------------------------------------
SELECT llmtrace.ingest_json($$[
 {"id":"1573817187330377061717300000","message":"GET /api/chat 200","timestamp":1717300000000,
  "type":"middleware-invocation","source":"lambda","projectId":"prj_gthXRBQ6ohfXoXXXXX",
  "deploymentId":"dpl_233NRGRjVZX1caZrXWtz5g1TAksD","buildId":"bld_cotnkcr76","host":"my-app-abc123.vercel.app",
  "path":"/api/chat","entrypoint":"api/chat.ts","requestId":"643af4e3-975a-4cc7-9e7a-1eda11539d90",
  "statusCode":200,"level":"info","environment":"production","branch":"main","executionRegion":"iad1",
  "traceId":"1b02cd14bb8642fd092bc23f54c7ffcd","spanId":"f24e8631bd11faa7",
  "proxy":{"timestamp":1717300000000,"method":"GET","host":"my-app.vercel.app","path":"/api/chat?stream=1",
           "userAgent":["Mozilla/5.0"],"referer":"https://my-app.vercel.app","statusCode":200,
           "clientIp":"120.75.16.101","region":"iad1","scheme":"https","vercelCache":"MISS"}},
 {"id":"1573817187330377061717300001","message":"Error: upstream model timed out\n    at handler (api/chat.ts:42:11)",
  "timestamp":1717300001000,"source":"lambda","projectId":"prj_gthXRBQ6ohfXoXXXXX",
  "deploymentId":"dpl_233NRGRjVZX1caZrXWtz5g1TAksD","host":"my-app-abc123.vercel.app",
  "requestId":"0f9d8e27-3f3a-4b57-b6a2-9e4b6d9a8c11","level":"error","environment":"production",
  "proxy":{"timestamp":1717300001000,"method":"POST","host":"my-app.vercel.app","path":"/api/summarize?lang=en",
           "userAgent":["curl/8.4.0"],"statusCode":500,"clientIp":"120.75.16.101","region":"iad1","scheme":"https"}},
 {"id":"1573817187330377061717300002","message":"Task timed out after 10.01 seconds","timestamp":1717300002000,
  "source":"lambda","projectId":"prj_gthXRBQ6ohfXoXXXXX","deploymentId":"dpl_233NRGRjVZX1caZrXWtz5g1TAksD",
  "host":"my-app-abc123.vercel.app","path":"/api/search","requestId":"5f0e7b0c-1c9e-4a3b-8f3e-2d2c5e8b7a61",
  "statusCode":-1,"level":"info"}
]$$) AS stored;
SELECT span_id, trace_id, parent_span_id, name, status, left(error_message, 40) AS error_message, endpoint,
       project, environment, start_time, cost_status, attributes->>'level' AS level,
       attributes->'proxy'->>'statusCode' AS proxy_status, attributes ? 'message' AS keeps_message
FROM llmtrace.spans WHERE source_format = 'vercel' ORDER BY span_id;

-- The webhook record used by existing trace-processor integrations: status a
-- word (or an HTTP code), tokens a number (the total).
SELECT llmtrace.ingest_json('{"id":"test-trace-123","timestamp":"2025-10-21T00:00:00Z","duration":250,"status":"success","url":"/api/test","method":"GET","metadata":{"model":"gpt-4","tokens":1000}}') AS stored;
SELECT llmtrace.ingest_json('{"id":"test-trace-124","timestamp":"2025-10-21T00:00:01Z","duration":90,"status":"failed","url":"https://my-app.vercel.app/api/test?q=1","method":"POST","metadata":{"model":"gpt-4","tokens":{"input":900,"output":100}}}') AS stored;
SELECT llmtrace.ingest_json('{"id":"test-trace-125","timestamp":"2025-10-21T00:00:02Z","duration":40,"status":503,"url":"/api/test","method":"GET","metadata":{"model":"gpt-4","tokens":12}}') AS stored;
SELECT span_id, name, status, error_message, endpoint, duration_ms, model, input_tokens, output_tokens,
       total_tokens, cost_usd, cost_status
FROM llmtrace.spans WHERE span_id LIKE 'test-trace-%' ORDER BY span_id;

-- Vercel Trace Drains send OTLP; the docs' example writes "kind": "server".
SELECT llmtrace.ingest_json($${"resourceSpans":[{"resource":{"attributes":[
  {"key":"service.name","value":{"stringValue":"vercel-function"}},
  {"key":"vercel.projectId","value":{"stringValue":"prj_123"}},
  {"key":"vercel.deploymentId","value":{"stringValue":"dpl_456"}}]},
  "scopeSpans":[{"scope":{"name":"vercel"},"spans":[{"traceId":"7bba9f33312b3dbb8b2c2c62bb7abe2d",
  "spanId":"086e83747d0e381e","name":"GET /api/users","kind":"server",
  "startTimeUnixNano":"1694723400000000000","endTimeUnixNano":"1694723400150000000",
  "attributes":[{"key":"http.method","value":{"stringValue":"GET"}},
                {"key":"http.route","value":{"stringValue":"/api/users"}},
                {"key":"http.status_code","value":{"intValue":"200"}}],
  "status":{"code":1}}]}]}]}$$) AS stored;
SELECT name, kind, status, endpoint, service, attributes->'otel.resource' AS resource
FROM llmtrace.spans WHERE trace_id = '7bba9f33312b3dbb8b2c2c62bb7abe2d';

-- ---------------------------------------------------------------------------
-- Exclusive counts under inclusive names. Strands Agents puts Bedrock's
-- inputTokens (cache excluded) into gen_ai.usage.input_tokens; its total
-- proves it: 58291 = 4299 + 631 + 35574 + 17787. The span is stored, not
-- quarantined, normalized, with the rule that applied in attributes.
-- ---------------------------------------------------------------------------
SELECT llmtrace.ingest_json($${"resourceSpans":[{"resource":{"attributes":[
  {"key":"service.name","value":{"stringValue":"strands-agents"}}]},
  "scopeSpans":[{"scope":{"name":"strands.telemetry.tracer"},"spans":[
  {"traceId":"4bf92f3577b34da6a3ce929d0e0e4736","spanId":"00f067aa0ba902b7","name":"chat","kind":1,
   "startTimeUnixNano":"1750000000000000000","endTimeUnixNano":"1750000004200000000",
   "attributes":[
    {"key":"gen_ai.system","value":{"stringValue":"strands-agents"}},
    {"key":"gen_ai.operation.name","value":{"stringValue":"chat"}},
    {"key":"gen_ai.request.model","value":{"stringValue":"us.anthropic.claude-sonnet-4-5-20250929-v1:0"}},
    {"key":"gen_ai.usage.prompt_tokens","value":{"intValue":"4299"}},
    {"key":"gen_ai.usage.input_tokens","value":{"intValue":"4299"}},
    {"key":"gen_ai.usage.completion_tokens","value":{"intValue":"631"}},
    {"key":"gen_ai.usage.output_tokens","value":{"intValue":"631"}},
    {"key":"gen_ai.usage.total_tokens","value":{"intValue":"58291"}},
    {"key":"gen_ai.usage.cache_read_input_tokens","value":{"intValue":"35574"}},
    {"key":"gen_ai.usage.cache_write_input_tokens","value":{"intValue":"17787"}}],
   "status":{"code":1}}]}]}]}$$) AS stored;
SELECT name, status, provider, model, input_tokens, cached_input_tokens, cache_write_tokens, output_tokens,
       total_tokens, cost_usd, cost_status, attributes->>'llmtrace.token_rule' AS rule,
       attributes->'llmtrace.raw_usage' AS raw
FROM llmtrace.spans WHERE trace_id = '4bf92f3577b34da6a3ce929d0e0e4736';

-- Counts no rule reconciles: the span is still stored with its timing and
-- status; raw counts in attributes, no token columns, no cost.
SELECT llmtrace.ingest_json('{"trace_id":"unrec","span_id":"u1","start_time":"2025-06-01T00:00:00Z","end_time":"2025-06-01T00:00:02Z","status":"error","error":"rate limited","model":"gpt-4o","usage":{"prompt_tokens":100,"completion_tokens":5,"prompt_tokens_details":{"cached_tokens":150}}}') AS stored;
-- A usage object of token counts no rule recognizes: visible, not no_usage.
SELECT llmtrace.ingest_json('{"trace_id":"unrec","span_id":"u2","start_time":"2025-06-01T00:00:00Z","model":"mystery","usage":{"tokens_in":10,"tokens_out":3}}') AS stored;
SELECT span_id, status, duration_ms, input_tokens, total_tokens, cost_usd, cost_status,
       attributes->>'llmtrace.token_rule' AS rule, attributes->'llmtrace.raw_usage' AS raw
FROM llmtrace.spans WHERE trace_id = 'unrec' ORDER BY span_id;

-- ---------------------------------------------------------------------------
-- Usage shapes that were silently no_usage.
-- ---------------------------------------------------------------------------
-- Amazon Bedrock Converse usage in a native record (inputTokens excludes the cache).
SELECT llmtrace.ingest_json('{"trace_id":"shapes","span_id":"bedrock","start_time":"2025-06-01T00:00:00Z","provider":"bedrock","model":"us.anthropic.claude-sonnet-4-5-20250929-v1:0","usage":{"inputTokens":4299,"outputTokens":631,"totalTokens":58291,"cacheReadInputTokens":35574,"cacheWriteInputTokens":17787}}') AS stored;
-- Gemini behind an OpenAI-compatible endpoint: completion_tokens leaves out the
-- reasoning, the total tells (12 + 40 + 300 = 352).
SELECT llmtrace.ingest_json('{"trace_id":"shapes","span_id":"gemini-compat","start_time":"2025-06-01T00:00:00Z","provider":"google","model":"gemini-2.5-flash","usage":{"prompt_tokens":12,"completion_tokens":40,"total_tokens":352,"completion_tokens_details":{"reasoning_tokens":300}}}') AS stored;
-- gen_ai.usage.cache_write_input_tokens; AI SDK 6+ token details; AI SDK 5 with Anthropic
-- (the ai.response.providerMetadata of @ai-sdk/anthropic 2.x holds Anthropic's raw usage).
SELECT llmtrace.ingest_json($${"resourceSpans":[{"scopeSpans":[{"spans":[
  {"traceId":"5b8efff798038103d269b633813fc61c","spanId":"aaaaaaaaaaaaaa01","name":"chat",
   "startTimeUnixNano":"1750000000000000000","attributes":[
    {"key":"gen_ai.provider.name","value":{"stringValue":"anthropic"}},
    {"key":"gen_ai.request.model","value":{"stringValue":"claude-sonnet-4-5"}},
    {"key":"gen_ai.usage.input_tokens","value":{"intValue":"1000"}},
    {"key":"gen_ai.usage.cache_write_input_tokens","value":{"intValue":"600"}},
    {"key":"gen_ai.usage.output_tokens","value":{"intValue":"10"}}]},
  {"traceId":"5b8efff798038103d269b633813fc61c","spanId":"aaaaaaaaaaaaaa02","name":"ai.generateText.doGenerate",
   "startTimeUnixNano":"1750000000000000000","attributes":[
    {"key":"ai.operationId","value":{"stringValue":"ai.generateText.doGenerate"}},
    {"key":"ai.model.provider","value":{"stringValue":"anthropic.messages"}},
    {"key":"ai.model.id","value":{"stringValue":"claude-sonnet-4-5"}},
    {"key":"ai.usage.inputTokens","value":{"intValue":"1000"}},
    {"key":"ai.usage.inputTokenDetails.noCacheTokens","value":{"intValue":"100"}},
    {"key":"ai.usage.inputTokenDetails.cacheReadTokens","value":{"intValue":"700"}},
    {"key":"ai.usage.inputTokenDetails.cacheWriteTokens","value":{"intValue":"200"}},
    {"key":"ai.usage.outputTokens","value":{"intValue":"50"}},
    {"key":"ai.usage.outputTokenDetails.textTokens","value":{"intValue":"30"}},
    {"key":"ai.usage.outputTokenDetails.reasoningTokens","value":{"intValue":"20"}}]},
  {"traceId":"5b8efff798038103d269b633813fc61c","spanId":"aaaaaaaaaaaaaa03","name":"ai.generateText.doGenerate",
   "startTimeUnixNano":"1750000000000000000","attributes":[
    {"key":"ai.operationId","value":{"stringValue":"ai.generateText.doGenerate"}},
    {"key":"ai.model.provider","value":{"stringValue":"anthropic.messages"}},
    {"key":"ai.model.id","value":{"stringValue":"claude-sonnet-4-5"}},
    {"key":"ai.usage.inputTokens","value":{"intValue":"34"}},
    {"key":"ai.usage.outputTokens","value":{"intValue":"250"}},
    {"key":"ai.usage.totalTokens","value":{"intValue":"284"}},
    {"key":"ai.usage.cachedInputTokens","value":{"intValue":"1200"}},
    {"key":"gen_ai.usage.input_tokens","value":{"intValue":"34"}},
    {"key":"gen_ai.usage.output_tokens","value":{"intValue":"250"}},
    {"key":"ai.response.providerMetadata","value":{"stringValue":"{\"anthropic\":{\"usage\":{\"input_tokens\":34,\"cache_creation_input_tokens\":123,\"cache_read_input_tokens\":1200,\"service_tier\":\"standard\",\"output_tokens\":250},\"cacheCreationInputTokens\":123}}"}}]}]}]}]}$$) AS stored;
SELECT span_id, provider, model, input_tokens, cached_input_tokens, cache_write_tokens, output_tokens,
       reasoning_tokens, total_tokens, cost_usd, cost_status, attributes->>'llmtrace.token_rule' AS rule
FROM llmtrace.spans WHERE trace_id IN ('shapes', '5b8efff798038103d269b633813fc61c') ORDER BY span_id;

-- ---------------------------------------------------------------------------
-- Content in span events (OpenLIT, the older GenAI convention):
-- gen_ai.content.prompt / gen_ai.content.completion.
-- ---------------------------------------------------------------------------
SELECT llmtrace.ingest_json($${"resourceSpans":[{"scopeSpans":[{"scope":{"name":"openlit.otel.tracing"},"spans":[
  {"traceId":"6b8efff798038103d269b633813fc61c","spanId":"bbbbbbbbbbbbbb01","name":"openai.chat.completions",
   "kind":3,"startTimeUnixNano":"1750000000000000000","endTimeUnixNano":"1750000001000000000",
   "attributes":[{"key":"gen_ai.system","value":{"stringValue":"openai"}},
                 {"key":"gen_ai.request.model","value":{"stringValue":"gpt-4o-mini"}},
                 {"key":"gen_ai.usage.input_tokens","value":{"intValue":"12"}},
                 {"key":"gen_ai.usage.output_tokens","value":{"intValue":"8"}}],
   "events":[{"timeUnixNano":"1750000000500000000","name":"gen_ai.content.prompt",
              "attributes":[{"key":"gen_ai.prompt","value":{"stringValue":"user: What is LLM observability?"}}]},
             {"timeUnixNano":"1750000000900000000","name":"gen_ai.content.completion",
              "attributes":[{"key":"gen_ai.completion","value":{"stringValue":"Monitoring LLM calls."}}]}]}]}]}]}$$) AS stored;
SELECT input, output, jsonb_array_length(attributes->'otel.events') AS events_kept
FROM llmtrace.spans WHERE trace_id = '6b8efff798038103d269b633813fc61c';

-- ---------------------------------------------------------------------------
-- Usage counted once. The AI SDK's outer span (ai.generateText) repeats the
-- usage of its doGenerate children; an in-process invoke_agent span repeats
-- its children's. Their numbers stay in attributes (cost_status 'aggregate');
-- summing the columns counts every model call once. A remote agent (kind
-- client) is a call of its own.
-- ---------------------------------------------------------------------------
SELECT llmtrace.ingest_json($${"resourceSpans":[{"scopeSpans":[{"scope":{"name":"ai"},"spans":[
  {"traceId":"7b8efff798038103d269b633813fc61c","spanId":"cccccccccccccc01","name":"ai.generateText",
   "startTimeUnixNano":"1750000000000000000","endTimeUnixNano":"1750000003000000000","attributes":[
    {"key":"ai.operationId","value":{"stringValue":"ai.generateText"}},
    {"key":"operation.name","value":{"stringValue":"ai.generateText my-feature"}},
    {"key":"ai.model.provider","value":{"stringValue":"openai.chat"}},
    {"key":"ai.model.id","value":{"stringValue":"gpt-4o"}},
    {"key":"ai.usage.promptTokens","value":{"intValue":"3000"}},
    {"key":"ai.usage.completionTokens","value":{"intValue":"300"}}]},
  {"traceId":"7b8efff798038103d269b633813fc61c","spanId":"cccccccccccccc02","parentSpanId":"cccccccccccccc01",
   "name":"ai.generateText.doGenerate","kind":3,
   "startTimeUnixNano":"1750000000000000000","endTimeUnixNano":"1750000001000000000","attributes":[
    {"key":"ai.operationId","value":{"stringValue":"ai.generateText.doGenerate"}},
    {"key":"ai.model.provider","value":{"stringValue":"openai.chat"}},
    {"key":"ai.model.id","value":{"stringValue":"gpt-4o"}},
    {"key":"gen_ai.usage.input_tokens","value":{"intValue":"1000"}},
    {"key":"gen_ai.usage.output_tokens","value":{"intValue":"100"}}]},
  {"traceId":"7b8efff798038103d269b633813fc61c","spanId":"cccccccccccccc03","parentSpanId":"cccccccccccccc01",
   "name":"ai.generateText.doGenerate","kind":3,
   "startTimeUnixNano":"1750000001000000000","endTimeUnixNano":"1750000003000000000","attributes":[
    {"key":"ai.operationId","value":{"stringValue":"ai.generateText.doGenerate"}},
    {"key":"ai.model.provider","value":{"stringValue":"openai.chat"}},
    {"key":"ai.model.id","value":{"stringValue":"gpt-4o"}},
    {"key":"gen_ai.usage.input_tokens","value":{"intValue":"2000"}},
    {"key":"gen_ai.usage.output_tokens","value":{"intValue":"200"}}]},
  {"traceId":"7b8efff798038103d269b633813fc61c","spanId":"cccccccccccccc04","name":"invoke_agent planner",
   "kind":1,"startTimeUnixNano":"1750000000000000000","attributes":[
    {"key":"gen_ai.operation.name","value":{"stringValue":"invoke_agent"}},
    {"key":"gen_ai.request.model","value":{"stringValue":"gpt-4o"}},
    {"key":"gen_ai.usage.input_tokens","value":{"intValue":"3000"}},
    {"key":"gen_ai.usage.output_tokens","value":{"intValue":"300"}}]},
  {"traceId":"7b8efff798038103d269b633813fc61c","spanId":"cccccccccccccc05","name":"invoke_agent remote",
   "kind":3,"startTimeUnixNano":"1750000000000000000","attributes":[
    {"key":"gen_ai.operation.name","value":{"stringValue":"invoke_agent"}},
    {"key":"gen_ai.provider.name","value":{"stringValue":"openai"}},
    {"key":"gen_ai.request.model","value":{"stringValue":"gpt-4o"}},
    {"key":"gen_ai.usage.input_tokens","value":{"intValue":"10"}},
    {"key":"gen_ai.usage.output_tokens","value":{"intValue":"1"}}]}]}]}]}$$) AS stored;
SELECT span_id, name, model, input_tokens, output_tokens, cost_usd, cost_status,
       attributes->>'ai.usage.promptTokens' AS kept_prompt_tokens,
       attributes->>'gen_ai.usage.input_tokens' AS kept_input_tokens
FROM llmtrace.spans WHERE trace_id = '7b8efff798038103d269b633813fc61c' ORDER BY span_id;
-- The trace's sums count each model call once: 1000 + 2000 + 10 input tokens.
SELECT sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens, sum(cost_usd) AS cost_usd
FROM llmtrace.spans WHERE trace_id = '7b8efff798038103d269b633813fc61c';
