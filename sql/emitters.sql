-- Payloads captured from real emitters (tools/capture: the Vercel AI SDK 5, 6
-- and 7 with its mock models and with the real Anthropic and OpenAI provider
-- packages against a local stand-in API, the OpenTelemetry OpenAI
-- instrumentation, Strands Agents, the Braintrust SDK), ingested as sent.
-- Each model call is counted once; what is not stored is listed.
\pset null '<null>'
SET timezone = 'UTC';
TRUNCATE llmtrace.spans, llmtrace.ingest_errors;
CREATE TEMP TABLE fixture (name text, trace_id text);
\set payload `cat test/data/emitters/ai-sdk-v5.agent.json`
SELECT llmtrace.ingest_json(:'payload') > 0 AS stored_ai_sdk_v5_agent;
INSERT INTO fixture SELECT DISTINCT 'ai-sdk-v5.agent', trace_id FROM llmtrace.spans
WHERE trace_id NOT IN (SELECT trace_id FROM fixture);
\set payload `cat test/data/emitters/ai-sdk-v5.generate-object.json`
SELECT llmtrace.ingest_json(:'payload') > 0 AS stored_ai_sdk_v5_generate_object;
INSERT INTO fixture SELECT DISTINCT 'ai-sdk-v5.generate-object', trace_id FROM llmtrace.spans
WHERE trace_id NOT IN (SELECT trace_id FROM fixture);
\set payload `cat test/data/emitters/ai-sdk-v5.generate-text.json`
SELECT llmtrace.ingest_json(:'payload') > 0 AS stored_ai_sdk_v5_generate_text;
INSERT INTO fixture SELECT DISTINCT 'ai-sdk-v5.generate-text', trace_id FROM llmtrace.spans
WHERE trace_id NOT IN (SELECT trace_id FROM fixture);
\set payload `cat test/data/emitters/ai-sdk-v5.provider-anthropic.json`
SELECT llmtrace.ingest_json(:'payload') > 0 AS stored_ai_sdk_v5_provider_anthropic;
INSERT INTO fixture SELECT DISTINCT 'ai-sdk-v5.provider-anthropic', trace_id FROM llmtrace.spans
WHERE trace_id NOT IN (SELECT trace_id FROM fixture);
\set payload `cat test/data/emitters/ai-sdk-v5.provider-openai.json`
SELECT llmtrace.ingest_json(:'payload') > 0 AS stored_ai_sdk_v5_provider_openai;
INSERT INTO fixture SELECT DISTINCT 'ai-sdk-v5.provider-openai', trace_id FROM llmtrace.spans
WHERE trace_id NOT IN (SELECT trace_id FROM fixture);
\set payload `cat test/data/emitters/ai-sdk-v5.stream-text.json`
SELECT llmtrace.ingest_json(:'payload') > 0 AS stored_ai_sdk_v5_stream_text;
INSERT INTO fixture SELECT DISTINCT 'ai-sdk-v5.stream-text', trace_id FROM llmtrace.spans
WHERE trace_id NOT IN (SELECT trace_id FROM fixture);
\set payload `cat test/data/emitters/ai-sdk-v5.tool-loop.json`
SELECT llmtrace.ingest_json(:'payload') > 0 AS stored_ai_sdk_v5_tool_loop;
INSERT INTO fixture SELECT DISTINCT 'ai-sdk-v5.tool-loop', trace_id FROM llmtrace.spans
WHERE trace_id NOT IN (SELECT trace_id FROM fixture);
\set payload `cat test/data/emitters/ai-sdk-v6.agent.json`
SELECT llmtrace.ingest_json(:'payload') > 0 AS stored_ai_sdk_v6_agent;
INSERT INTO fixture SELECT DISTINCT 'ai-sdk-v6.agent', trace_id FROM llmtrace.spans
WHERE trace_id NOT IN (SELECT trace_id FROM fixture);
\set payload `cat test/data/emitters/ai-sdk-v6.generate-object.json`
SELECT llmtrace.ingest_json(:'payload') > 0 AS stored_ai_sdk_v6_generate_object;
INSERT INTO fixture SELECT DISTINCT 'ai-sdk-v6.generate-object', trace_id FROM llmtrace.spans
WHERE trace_id NOT IN (SELECT trace_id FROM fixture);
\set payload `cat test/data/emitters/ai-sdk-v6.generate-text.json`
SELECT llmtrace.ingest_json(:'payload') > 0 AS stored_ai_sdk_v6_generate_text;
INSERT INTO fixture SELECT DISTINCT 'ai-sdk-v6.generate-text', trace_id FROM llmtrace.spans
WHERE trace_id NOT IN (SELECT trace_id FROM fixture);
\set payload `cat test/data/emitters/ai-sdk-v6.provider-anthropic.json`
SELECT llmtrace.ingest_json(:'payload') > 0 AS stored_ai_sdk_v6_provider_anthropic;
INSERT INTO fixture SELECT DISTINCT 'ai-sdk-v6.provider-anthropic', trace_id FROM llmtrace.spans
WHERE trace_id NOT IN (SELECT trace_id FROM fixture);
\set payload `cat test/data/emitters/ai-sdk-v6.provider-openai.json`
SELECT llmtrace.ingest_json(:'payload') > 0 AS stored_ai_sdk_v6_provider_openai;
INSERT INTO fixture SELECT DISTINCT 'ai-sdk-v6.provider-openai', trace_id FROM llmtrace.spans
WHERE trace_id NOT IN (SELECT trace_id FROM fixture);
\set payload `cat test/data/emitters/ai-sdk-v6.stream-text.json`
SELECT llmtrace.ingest_json(:'payload') > 0 AS stored_ai_sdk_v6_stream_text;
INSERT INTO fixture SELECT DISTINCT 'ai-sdk-v6.stream-text', trace_id FROM llmtrace.spans
WHERE trace_id NOT IN (SELECT trace_id FROM fixture);
\set payload `cat test/data/emitters/ai-sdk-v6.tool-loop.json`
SELECT llmtrace.ingest_json(:'payload') > 0 AS stored_ai_sdk_v6_tool_loop;
INSERT INTO fixture SELECT DISTINCT 'ai-sdk-v6.tool-loop', trace_id FROM llmtrace.spans
WHERE trace_id NOT IN (SELECT trace_id FROM fixture);
\set payload `cat test/data/emitters/ai-sdk-v7-legacy.agent.json`
SELECT llmtrace.ingest_json(:'payload') > 0 AS stored_ai_sdk_v7_legacy_agent;
INSERT INTO fixture SELECT DISTINCT 'ai-sdk-v7-legacy.agent', trace_id FROM llmtrace.spans
WHERE trace_id NOT IN (SELECT trace_id FROM fixture);
\set payload `cat test/data/emitters/ai-sdk-v7-legacy.generate-object.json`
SELECT llmtrace.ingest_json(:'payload') > 0 AS stored_ai_sdk_v7_legacy_generate_object;
INSERT INTO fixture SELECT DISTINCT 'ai-sdk-v7-legacy.generate-object', trace_id FROM llmtrace.spans
WHERE trace_id NOT IN (SELECT trace_id FROM fixture);
\set payload `cat test/data/emitters/ai-sdk-v7-legacy.generate-text.json`
SELECT llmtrace.ingest_json(:'payload') > 0 AS stored_ai_sdk_v7_legacy_generate_text;
INSERT INTO fixture SELECT DISTINCT 'ai-sdk-v7-legacy.generate-text', trace_id FROM llmtrace.spans
WHERE trace_id NOT IN (SELECT trace_id FROM fixture);
\set payload `cat test/data/emitters/ai-sdk-v7-legacy.provider-anthropic.json`
SELECT llmtrace.ingest_json(:'payload') > 0 AS stored_ai_sdk_v7_legacy_provider_anthropic;
INSERT INTO fixture SELECT DISTINCT 'ai-sdk-v7-legacy.provider-anthropic', trace_id FROM llmtrace.spans
WHERE trace_id NOT IN (SELECT trace_id FROM fixture);
\set payload `cat test/data/emitters/ai-sdk-v7-legacy.provider-openai.json`
SELECT llmtrace.ingest_json(:'payload') > 0 AS stored_ai_sdk_v7_legacy_provider_openai;
INSERT INTO fixture SELECT DISTINCT 'ai-sdk-v7-legacy.provider-openai', trace_id FROM llmtrace.spans
WHERE trace_id NOT IN (SELECT trace_id FROM fixture);
\set payload `cat test/data/emitters/ai-sdk-v7-legacy.stream-text.json`
SELECT llmtrace.ingest_json(:'payload') > 0 AS stored_ai_sdk_v7_legacy_stream_text;
INSERT INTO fixture SELECT DISTINCT 'ai-sdk-v7-legacy.stream-text', trace_id FROM llmtrace.spans
WHERE trace_id NOT IN (SELECT trace_id FROM fixture);
\set payload `cat test/data/emitters/ai-sdk-v7-legacy.tool-loop.json`
SELECT llmtrace.ingest_json(:'payload') > 0 AS stored_ai_sdk_v7_legacy_tool_loop;
INSERT INTO fixture SELECT DISTINCT 'ai-sdk-v7-legacy.tool-loop', trace_id FROM llmtrace.spans
WHERE trace_id NOT IN (SELECT trace_id FROM fixture);
\set payload `cat test/data/emitters/ai-sdk-v7-otel-all.agent.json`
SELECT llmtrace.ingest_json(:'payload') > 0 AS stored_ai_sdk_v7_otel_all_agent;
INSERT INTO fixture SELECT DISTINCT 'ai-sdk-v7-otel-all.agent', trace_id FROM llmtrace.spans
WHERE trace_id NOT IN (SELECT trace_id FROM fixture);
\set payload `cat test/data/emitters/ai-sdk-v7-otel-all.generate-object.json`
SELECT llmtrace.ingest_json(:'payload') > 0 AS stored_ai_sdk_v7_otel_all_generate_object;
INSERT INTO fixture SELECT DISTINCT 'ai-sdk-v7-otel-all.generate-object', trace_id FROM llmtrace.spans
WHERE trace_id NOT IN (SELECT trace_id FROM fixture);
\set payload `cat test/data/emitters/ai-sdk-v7-otel-all.generate-text.json`
SELECT llmtrace.ingest_json(:'payload') > 0 AS stored_ai_sdk_v7_otel_all_generate_text;
INSERT INTO fixture SELECT DISTINCT 'ai-sdk-v7-otel-all.generate-text', trace_id FROM llmtrace.spans
WHERE trace_id NOT IN (SELECT trace_id FROM fixture);
\set payload `cat test/data/emitters/ai-sdk-v7-otel-all.stream-text.json`
SELECT llmtrace.ingest_json(:'payload') > 0 AS stored_ai_sdk_v7_otel_all_stream_text;
INSERT INTO fixture SELECT DISTINCT 'ai-sdk-v7-otel-all.stream-text', trace_id FROM llmtrace.spans
WHERE trace_id NOT IN (SELECT trace_id FROM fixture);
\set payload `cat test/data/emitters/ai-sdk-v7-otel-all.tool-loop.json`
SELECT llmtrace.ingest_json(:'payload') > 0 AS stored_ai_sdk_v7_otel_all_tool_loop;
INSERT INTO fixture SELECT DISTINCT 'ai-sdk-v7-otel-all.tool-loop', trace_id FROM llmtrace.spans
WHERE trace_id NOT IN (SELECT trace_id FROM fixture);
\set payload `cat test/data/emitters/ai-sdk-v7-otel.agent.json`
SELECT llmtrace.ingest_json(:'payload') > 0 AS stored_ai_sdk_v7_otel_agent;
INSERT INTO fixture SELECT DISTINCT 'ai-sdk-v7-otel.agent', trace_id FROM llmtrace.spans
WHERE trace_id NOT IN (SELECT trace_id FROM fixture);
\set payload `cat test/data/emitters/ai-sdk-v7-otel.generate-object.json`
SELECT llmtrace.ingest_json(:'payload') > 0 AS stored_ai_sdk_v7_otel_generate_object;
INSERT INTO fixture SELECT DISTINCT 'ai-sdk-v7-otel.generate-object', trace_id FROM llmtrace.spans
WHERE trace_id NOT IN (SELECT trace_id FROM fixture);
\set payload `cat test/data/emitters/ai-sdk-v7-otel.generate-text.json`
SELECT llmtrace.ingest_json(:'payload') > 0 AS stored_ai_sdk_v7_otel_generate_text;
INSERT INTO fixture SELECT DISTINCT 'ai-sdk-v7-otel.generate-text', trace_id FROM llmtrace.spans
WHERE trace_id NOT IN (SELECT trace_id FROM fixture);
\set payload `cat test/data/emitters/ai-sdk-v7-otel.provider-anthropic.json`
SELECT llmtrace.ingest_json(:'payload') > 0 AS stored_ai_sdk_v7_otel_provider_anthropic;
INSERT INTO fixture SELECT DISTINCT 'ai-sdk-v7-otel.provider-anthropic', trace_id FROM llmtrace.spans
WHERE trace_id NOT IN (SELECT trace_id FROM fixture);
\set payload `cat test/data/emitters/ai-sdk-v7-otel.provider-openai.json`
SELECT llmtrace.ingest_json(:'payload') > 0 AS stored_ai_sdk_v7_otel_provider_openai;
INSERT INTO fixture SELECT DISTINCT 'ai-sdk-v7-otel.provider-openai', trace_id FROM llmtrace.spans
WHERE trace_id NOT IN (SELECT trace_id FROM fixture);
\set payload `cat test/data/emitters/ai-sdk-v7-otel.stream-text.json`
SELECT llmtrace.ingest_json(:'payload') > 0 AS stored_ai_sdk_v7_otel_stream_text;
INSERT INTO fixture SELECT DISTINCT 'ai-sdk-v7-otel.stream-text', trace_id FROM llmtrace.spans
WHERE trace_id NOT IN (SELECT trace_id FROM fixture);
\set payload `cat test/data/emitters/ai-sdk-v7-otel.tool-loop.json`
SELECT llmtrace.ingest_json(:'payload') > 0 AS stored_ai_sdk_v7_otel_tool_loop;
INSERT INTO fixture SELECT DISTINCT 'ai-sdk-v7-otel.tool-loop', trace_id FROM llmtrace.spans
WHERE trace_id NOT IN (SELECT trace_id FROM fixture);
\set payload `cat test/data/emitters/braintrust.traced-manual.json`
SELECT llmtrace.ingest_json(:'payload') > 0 AS stored_braintrust_traced_manual;
INSERT INTO fixture SELECT DISTINCT 'braintrust.traced-manual', trace_id FROM llmtrace.spans
WHERE trace_id NOT IN (SELECT trace_id FROM fixture);
\set payload `cat test/data/emitters/braintrust.wrap-ai-sdk-v6-tool-loop.json`
SELECT llmtrace.ingest_json(:'payload') > 0 AS stored_braintrust_wrap_ai_sdk_v6_tool_loop;
INSERT INTO fixture SELECT DISTINCT 'braintrust.wrap-ai-sdk-v6-tool-loop', trace_id FROM llmtrace.spans
WHERE trace_id NOT IN (SELECT trace_id FROM fixture);
\set payload `cat test/data/emitters/braintrust.wrap-anthropic.json`
SELECT llmtrace.ingest_json(:'payload') > 0 AS stored_braintrust_wrap_anthropic;
INSERT INTO fixture SELECT DISTINCT 'braintrust.wrap-anthropic', trace_id FROM llmtrace.spans
WHERE trace_id NOT IN (SELECT trace_id FROM fixture);
\set payload `cat test/data/emitters/braintrust.wrap-openai-chat.json`
SELECT llmtrace.ingest_json(:'payload') > 0 AS stored_braintrust_wrap_openai_chat;
INSERT INTO fixture SELECT DISTINCT 'braintrust.wrap-openai-chat', trace_id FROM llmtrace.spans
WHERE trace_id NOT IN (SELECT trace_id FROM fixture);
\set payload `cat test/data/emitters/braintrust.wrap-openai-responses.json`
SELECT llmtrace.ingest_json(:'payload') > 0 AS stored_braintrust_wrap_openai_responses;
INSERT INTO fixture SELECT DISTINCT 'braintrust.wrap-openai-responses', trace_id FROM llmtrace.spans
WHERE trace_id NOT IN (SELECT trace_id FROM fixture);
\set payload `cat test/data/emitters/openai-instrumentation.chat-stream.json`
SELECT llmtrace.ingest_json(:'payload') > 0 AS stored_openai_instrumentation_chat_stream;
INSERT INTO fixture SELECT DISTINCT 'openai-instrumentation.chat-stream', trace_id FROM llmtrace.spans
WHERE trace_id NOT IN (SELECT trace_id FROM fixture);
\set payload `cat test/data/emitters/openai-instrumentation.chat.json`
SELECT llmtrace.ingest_json(:'payload') > 0 AS stored_openai_instrumentation_chat;
INSERT INTO fixture SELECT DISTINCT 'openai-instrumentation.chat', trace_id FROM llmtrace.spans
WHERE trace_id NOT IN (SELECT trace_id FROM fixture);
\set payload `cat test/data/emitters/openai-instrumentation.responses.json`
SELECT llmtrace.ingest_json(:'payload') > 0 AS stored_openai_instrumentation_responses;
INSERT INTO fixture SELECT DISTINCT 'openai-instrumentation.responses', trace_id FROM llmtrace.spans
WHERE trace_id NOT IN (SELECT trace_id FROM fixture);
\set payload `cat test/data/emitters/strands-default.converse-nostream.json`
SELECT llmtrace.ingest_json(:'payload') > 0 AS stored_strands_default_converse_nostream;
INSERT INTO fixture SELECT DISTINCT 'strands-default.converse-nostream', trace_id FROM llmtrace.spans
WHERE trace_id NOT IN (SELECT trace_id FROM fixture);
\set payload `cat test/data/emitters/strands-default.tool-loop-stream.json`
SELECT llmtrace.ingest_json(:'payload') > 0 AS stored_strands_default_tool_loop_stream;
INSERT INTO fixture SELECT DISTINCT 'strands-default.tool-loop-stream', trace_id FROM llmtrace.spans
WHERE trace_id NOT IN (SELECT trace_id FROM fixture);
\set payload `cat test/data/emitters/strands-latest.tool-loop-stream.json`
SELECT llmtrace.ingest_json(:'payload') > 0 AS stored_strands_latest_tool_loop_stream;
INSERT INTO fixture SELECT DISTINCT 'strands-latest.tool-loop-stream', trace_id FROM llmtrace.spans
WHERE trace_id NOT IN (SELECT trace_id FROM fixture);

-- Per emitter: spans by cost_status, and the token and cost sums of the columns.
SELECT f.name, count(*) AS spans,
       count(*) FILTER (WHERE s.cost_status = 'priced') AS priced,
       count(*) FILTER (WHERE s.cost_status = 'aggregate') AS aggregate,
       count(*) FILTER (WHERE s.cost_status = 'unreconciled') AS unreconciled,
       count(*) FILTER (WHERE s.cost_status = 'no_usage') AS no_usage,
       sum(s.input_tokens) AS input, sum(s.cached_input_tokens) AS cached,
       sum(s.cache_write_tokens) AS cache_write, sum(s.output_tokens) AS output,
       sum(s.reasoning_tokens) AS reasoning, sum(s.cost_usd) AS cost_usd
FROM fixture f JOIN llmtrace.spans s USING (trace_id)
GROUP BY f.name ORDER BY f.name;

-- Usage counted once: every aggregate span repeats usage that the model-call
-- spans of its trace carry in their columns. Its kept input count equals the
-- sum of theirs (AI SDK 6 and 7, Strands), or, for AI SDK 5, whose outer
-- generateText span keeps only the last step's usage, one of them.
SELECT f.name, s.name AS aggregate_span, a.kept_input, t.children_input,
       a.kept_input = t.children_input AS equals_sum,
       a.kept_input IN (SELECT c.input_tokens FROM llmtrace.spans c
                        WHERE c.trace_id = s.trace_id AND c.cost_status <> 'aggregate') AS equals_one
FROM fixture f JOIN llmtrace.spans s USING (trace_id)
CROSS JOIN LATERAL (SELECT coalesce(s.attributes->>'gen_ai.usage.input_tokens',
                                    s.attributes->>'ai.usage.inputTokens',
                                    s.attributes->>'ai.usage.promptTokens')::bigint AS kept_input) a
CROSS JOIN LATERAL (SELECT sum(c.input_tokens) AS children_input FROM llmtrace.spans c
                    WHERE c.trace_id = s.trace_id AND c.cost_status <> 'aggregate') t
WHERE s.cost_status = 'aggregate' AND a.kept_input IS NOT NULL
ORDER BY f.name, s.start_time, s.span_id;

-- Token rules that changed counts, and why.
SELECT f.name, s.name, s.attributes->>'llmtrace.token_rule' AS rule, s.input_tokens, s.cached_input_tokens,
       s.cache_write_tokens, s.output_tokens, s.total_tokens
FROM fixture f JOIN llmtrace.spans s USING (trace_id)
WHERE s.attributes ? 'llmtrace.token_rule'
ORDER BY f.name, s.start_time, s.span_id;

-- What was not stored.
SELECT error, sqlstate, location, source_format, count(*) FROM llmtrace.ingest_errors
GROUP BY 1, 2, 3, 4 ORDER BY 3;
