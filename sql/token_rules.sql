--
-- token_rules: token normalization of every source, and cost.
--   input_tokens  = ALL input tokens (cache reads and cache writes included)
--   output_tokens = all output tokens (reasoning included)
--   total_tokens  = as sent, else input_tokens + output_tokens
--   cost_status   = reported (cost in the payload wins) / priced / unpriced
--                   (tokens but no price: cost NULL, never 0) / no_usage
-- Cost = uncached input x input price + cache reads x cached price
--        + cache writes x cache-write price + output x output price
--        (a missing part price falls back to the input price).
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

CREATE TEMP VIEW t AS
SELECT span_id, source_format AS fmt, provider, model, input_tokens AS input,
       output_tokens AS output, cached_input_tokens AS cached, cache_write_tokens AS cache_write,
       reasoning_tokens AS reasoning, total_tokens AS total, cost_usd, cost_status
FROM llmtrace.spans;

-- The seeded prices used below, USD per million tokens.
SELECT provider, model, input_usd_per_mtok AS input, output_usd_per_mtok AS output,
       cached_input_usd_per_mtok AS cached, cache_write_usd_per_mtok AS write,
       tier_threshold_tokens AS tier_above, tier_input_usd_per_mtok AS t_input,
       tier_output_usd_per_mtok AS t_output, tier_cached_input_usd_per_mtok AS t_cached,
       tier_cache_write_usd_per_mtok AS t_write
FROM llmtrace.model_prices
WHERE model IN ('gpt-4o', 'gpt-4o-mini', 'o3', 'claude-sonnet-4-20250514',
                'claude-3-haiku-20240307', 'gemini-2.5-pro', 'claude-sonnet-4-5-20250929')
  AND source = 'seed'
ORDER BY provider, model;

-- ---------------------------------------------------------------------------
-- OpenAI Chat Completions usage: prompt_tokens INCLUDES
-- prompt_tokens_details.cached_tokens; completion_tokens includes
-- completion_tokens_details.reasoning_tokens.
-- ---------------------------------------------------------------------------
SELECT llmtrace.ingest_json($json$
{"trace_id":"tok","span_id":"openai-chat","start_time":"2024-03-01T00:00:00Z",
 "provider":"openai","model":"gpt-4o",
 "usage":{"prompt_tokens":1000,"completion_tokens":200,"total_tokens":1200,
          "prompt_tokens_details":{"cached_tokens":400,"audio_tokens":0},
          "completion_tokens_details":{"reasoning_tokens":50,"audio_tokens":0}}}
$json$);
-- gpt-4o: uncached (1000 - 400) * 2.5 = 1500; cached 400 * 1.25 = 500;
--         output 200 * 10 = 2000 (reasoning is part of it); 4000 / 1e6 = 0.004
SELECT * FROM t WHERE span_id = 'openai-chat';

-- Without total_tokens, total = input + output.
SELECT llmtrace.ingest_json($json$
{"trace_id":"tok","span_id":"openai-chat-nototal","start_time":"2024-03-01T00:00:00Z",
 "provider":"openai","model":"gpt-4o-mini",
 "usage":{"prompt_tokens":1000,"completion_tokens":500}}
$json$);
-- gpt-4o-mini: 1000 * 0.15 + 500 * 0.6 = 150 + 300 = 450 -> 0.00045; total 1500
SELECT * FROM t WHERE span_id = 'openai-chat-nototal';

-- ---------------------------------------------------------------------------
-- OpenAI Responses API usage: input_tokens INCLUDES
-- input_tokens_details.cached_tokens; output_tokens includes
-- output_tokens_details.reasoning_tokens.
-- ---------------------------------------------------------------------------
SELECT llmtrace.ingest_json($json$
{"trace_id":"tok","span_id":"openai-responses","start_time":"2024-03-01T00:00:00Z",
 "provider":"openai","model":"o3",
 "usage":{"input_tokens":2000,"input_tokens_details":{"cached_tokens":1500},
          "output_tokens":500,"output_tokens_details":{"reasoning_tokens":300},
          "total_tokens":2500}}
$json$);
-- o3: uncached (2000 - 1500) * 2 = 1000; cached 1500 * 0.5 = 750; output 500 * 8 = 4000;
--     5750 / 1e6 = 0.00575
SELECT * FROM t WHERE span_id = 'openai-responses';

-- ---------------------------------------------------------------------------
-- Anthropic Messages usage: input_tokens EXCLUDES cache_read_input_tokens and
-- cache_creation_input_tokens; the input_tokens column is the sum of the three.
-- ---------------------------------------------------------------------------
SELECT llmtrace.ingest_json($json$
{"trace_id":"tok","span_id":"anthropic-cache","start_time":"2024-03-01T00:00:00Z",
 "provider":"anthropic","model":"claude-sonnet-4-20250514",
 "usage":{"input_tokens":100,"cache_read_input_tokens":2000,
          "cache_creation_input_tokens":500,"output_tokens":300,
          "cache_creation":{"ephemeral_5m_input_tokens":500,"ephemeral_1h_input_tokens":0},
          "service_tier":"standard"}}
$json$);
-- input column 100 + 2000 + 500 = 2600; total 2600 + 300 = 2900
-- claude-sonnet-4-20250514: uncached 100 * 3 = 300; cache reads 2000 * 0.3 = 600;
--   cache writes 500 * 3.75 = 1875; output 300 * 15 = 4500; 7275 / 1e6 = 0.007275
SELECT * FROM t WHERE span_id = 'anthropic-cache';

-- The Anthropic shape is recognized by its cache fields even without a provider.
SELECT llmtrace.ingest_json($json$
{"trace_id":"tok","span_id":"anthropic-noprovider","start_time":"2024-03-01T00:00:00Z",
 "model":"claude-3-haiku-20240307",
 "usage":{"input_tokens":10,"cache_read_input_tokens":1000,"cache_creation_input_tokens":0,
          "output_tokens":20}}
$json$);
-- input 10 + 1000 + 0 = 1010
-- claude-3-haiku-20240307: 10 * 0.25 = 2.5; 1000 * 0.03 = 30; 0 * 0.3 = 0; 20 * 1.25 = 25;
--   57.5 / 1e6 = 0.0000575
SELECT * FROM t WHERE span_id = 'anthropic-noprovider';

-- provider anthropic without cache fields: input_tokens as sent.
SELECT llmtrace.ingest_json($json$
{"trace_id":"tok","span_id":"anthropic-plain","start_time":"2024-03-01T00:00:00Z",
 "provider":"Anthropic","model":"claude-3-haiku-20240307",
 "usage":{"input_tokens":100,"output_tokens":50}}
$json$);
-- 100 * 0.25 + 50 * 1.25 = 25 + 62.5 = 87.5 -> 0.0000875
SELECT * FROM t WHERE span_id = 'anthropic-plain';

-- Above the long-context tier threshold (200000 input tokens, counted with the
-- cache reads and writes) every part uses the tier prices.
SELECT llmtrace.ingest_json($json$
{"trace_id":"tok","span_id":"anthropic-tier","start_time":"2024-03-01T00:00:00Z",
 "provider":"anthropic","model":"claude-sonnet-4-20250514",
 "usage":{"input_tokens":1000,"cache_read_input_tokens":200000,
          "cache_creation_input_tokens":0,"output_tokens":1000}}
$json$);
-- input 201000 > 200000 -> tier prices 6 / 22.5 / 0.6 / 7.5:
--   uncached 1000 * 6 = 6000; cache reads 200000 * 0.6 = 120000; output 1000 * 22.5 = 22500;
--   148500 / 1e6 = 0.1485
SELECT * FROM t WHERE span_id = 'anthropic-tier';

-- ---------------------------------------------------------------------------
-- Gemini usageMetadata: promptTokenCount INCLUDES cachedContentTokenCount;
-- candidatesTokenCount EXCLUDES thoughtsTokenCount (output = both).
-- ---------------------------------------------------------------------------
SELECT llmtrace.ingest_json($json$
{"trace_id":"tok","span_id":"gemini","start_time":"2024-03-01T00:00:00Z",
 "provider":"gemini","model":"gemini-2.5-pro",
 "usage":{"promptTokenCount":1000,"cachedContentTokenCount":400,"candidatesTokenCount":200,
          "thoughtsTokenCount":100,"totalTokenCount":1300}}
$json$);
-- output 200 + 100 = 300
-- gemini-2.5-pro: uncached 600 * 1.25 = 750; cached 400 * 0.125 = 50; output 300 * 10 = 3000;
--   3800 / 1e6 = 0.0038
SELECT * FROM t WHERE span_id = 'gemini';

SELECT llmtrace.ingest_json($json$
{"trace_id":"tok","span_id":"gemini-tier","start_time":"2024-03-01T00:00:00Z",
 "provider":"google","model":"gemini-2.5-pro",
 "usage":{"promptTokenCount":250000,"candidatesTokenCount":1000}}
$json$);
-- 250000 > 200000 -> tier 2.5 / 15: 250000 * 2.5 + 1000 * 15 = 625000 + 15000 -> 0.64
SELECT * FROM t WHERE span_id = 'gemini-tier';

-- ---------------------------------------------------------------------------
-- Braintrust metrics: prompt_tokens INCLUDES prompt_cached_tokens and
-- prompt_cache_creation_tokens; completion_reasoning_tokens is part of
-- completion_tokens; tokens is the total.
-- ---------------------------------------------------------------------------
SELECT llmtrace.ingest_json($json$
{"id":"r1","span_id":"braintrust","root_span_id":"tok","span_attributes":{"type":"llm"},
 "metadata":{"model":"claude-sonnet-4-20250514","provider":"anthropic"},
 "metrics":{"start":1709251200,"end":1709251201,"prompt_tokens":1000,
            "prompt_cached_tokens":200,"prompt_cache_creation_tokens":100,
            "completion_tokens":100,"completion_reasoning_tokens":40,"tokens":1100}}
$json$);
-- claude-sonnet-4-20250514: uncached (1000 - 200 - 100) * 3 = 2100; cached 200 * 0.3 = 60;
--   writes 100 * 3.75 = 375; output 100 * 15 = 1500; 4035 / 1e6 = 0.004035
SELECT * FROM t WHERE span_id = 'braintrust';

-- ---------------------------------------------------------------------------
-- Vercel metadata.tokens: input INCLUDES the cached input tokens.
-- ---------------------------------------------------------------------------
SELECT llmtrace.ingest_json($json$
{"id":"vercel","traceId":"tok","timestamp":"2024-03-01T00:00:00Z","duration":100,"status":200,
 "metadata":{"model":"gpt-4o-mini","provider":"openai",
             "tokens":{"inputTokens":1000,"cachedInputTokens":600,"outputTokens":100,
                       "reasoningTokens":20}}}
$json$);
-- gpt-4o-mini: uncached 400 * 0.15 = 60; cached 600 * 0.075 = 45; output 100 * 0.6 = 60;
--   165 / 1e6 = 0.000165; total 1100
SELECT * FROM t WHERE span_id = 'vercel';

-- ---------------------------------------------------------------------------
-- OTLP (OTel GenAI): gen_ai.usage.input_tokens INCLUDES cache reads and writes.
-- ---------------------------------------------------------------------------
SELECT llmtrace.ingest_json($json$
{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"22222222222222222222222222222222",
 "spanId":"2222222222222201","name":"otlp-cache","startTimeUnixNano":"1709251200000000000",
 "attributes":[
  {"key":"gen_ai.provider.name","value":{"stringValue":"anthropic"}},
  {"key":"gen_ai.request.model","value":{"stringValue":"claude-sonnet-4-20250514"}},
  {"key":"gen_ai.usage.input_tokens","value":{"intValue":"2600"}},
  {"key":"gen_ai.usage.cache_read.input_tokens","value":{"intValue":"2000"}},
  {"key":"gen_ai.usage.cache_creation.input_tokens","value":{"intValue":"500"}},
  {"key":"gen_ai.usage.output_tokens","value":{"intValue":"300"}}]}]}]}]}
$json$);
-- the same call as 'anthropic-cache' above, told the OTel way: same columns, same cost 0.007275
SELECT * FROM t WHERE span_id IN ('anthropic-cache', '2222222222222201') ORDER BY span_id;

-- ---------------------------------------------------------------------------
-- cost_status
-- ---------------------------------------------------------------------------
-- reported: a cost in the payload wins over the price table.
SELECT llmtrace.ingest_json($json$
[{"trace_id":"cs","span_id":"reported-native","start_time":"2024-03-01T00:00:00Z",
  "provider":"openai","model":"gpt-4o","usage":{"prompt_tokens":1000,"completion_tokens":200},
  "cost_usd":0.0123},
 {"trace_id":"cs","span_id":"reported-string","start_time":"2024-03-01T00:00:00Z",
  "model":"unknown-model","usage":{"prompt_tokens":10,"completion_tokens":2},"cost_usd":"0.5"},
 {"trace_id":"cs","span_id":"reported-zero","start_time":"2024-03-01T00:00:00Z",
  "model":"gpt-4o","usage":{"prompt_tokens":10,"completion_tokens":2},"cost_usd":0},
 {"trace_id":"cs","span_id":"reported-nousage","start_time":"2024-03-01T00:00:00Z",
  "cost_usd":1.25},
 {"id":"bt-rep","span_id":"reported-braintrust","root_span_id":"cs","span_parents":[],
  "metadata":{"model":"gpt-4o"},
  "metrics":{"start":1709251200,"prompt_tokens":10,"completion_tokens":2,"cost":0.042}},
 {"id":"reported-vercel","traceId":"cs","timestamp":1709251200000,"duration":1,
  "metadata":{"model":"gpt-4o","tokens":{"input":10,"output":2},"cost":0.007}},
 {"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"33333333333333333333333333333333",
  "spanId":"3333333333333301","name":"reported-otlp","startTimeUnixNano":"1709251200000000000",
  "attributes":[{"key":"gen_ai.request.model","value":{"stringValue":"gpt-4o"}},
                {"key":"gen_ai.usage.input_tokens","value":{"intValue":"10"}},
                {"key":"gen_ai.usage.cost","value":{"doubleValue":0.25}}]}]}]}]}]
$json$);
-- priced: computed from the price table.
-- unpriced: tokens but no price for the model (or no model): cost NULL, never 0.
-- no_usage: no token counts at all.
SELECT llmtrace.ingest_json($json$
[{"trace_id":"cs","span_id":"priced","start_time":"2024-03-01T00:00:00Z",
  "provider":"openai","model":"gpt-4o","usage":{"prompt_tokens":1000,"completion_tokens":200}},
 {"trace_id":"cs","span_id":"priced-zero-tokens","start_time":"2024-03-01T00:00:00Z",
  "provider":"openai","model":"gpt-4o","usage":{"prompt_tokens":0,"completion_tokens":0}},
 {"trace_id":"cs","span_id":"unpriced-model","start_time":"2024-03-01T00:00:00Z",
  "provider":"acme","model":"acme-llm-7b","usage":{"prompt_tokens":1000,"completion_tokens":200}},
 {"trace_id":"cs","span_id":"unpriced-nomodel","start_time":"2024-03-01T00:00:00Z",
  "usage":{"prompt_tokens":1000,"completion_tokens":200}},
 {"trace_id":"cs","span_id":"no-usage","start_time":"2024-03-01T00:00:00Z",
  "provider":"openai","model":"gpt-4o"},
 {"trace_id":"cs","span_id":"no-usage-empty","start_time":"2024-03-01T00:00:00Z",
  "provider":"openai","model":"gpt-4o","usage":{}}]
$json$);
-- priced: 1000 * 2.5 + 200 * 10 = 4500 -> 0.0045
SELECT * FROM t WHERE span_id LIKE 'reported%' OR span_id LIKE 'priced%'
   OR span_id LIKE 'unpriced%' OR span_id LIKE 'no-usage%' OR span_id = '3333333333333301'
ORDER BY cost_status, span_id;
-- An unpriced span never has a cost of 0.
SELECT count(*) AS unpriced_with_cost FROM llmtrace.spans
WHERE cost_status = 'unpriced' AND cost_usd IS NOT NULL;

-- ---------------------------------------------------------------------------
-- Model name resolution: case, gateway paths, dated snapshots, Bedrock ids.
-- ---------------------------------------------------------------------------
SELECT llmtrace.ingest_json(format(
  '{"trace_id":"names","span_id":"%s","start_time":"2024-03-01T00:00:00Z","provider":%s,"model":"%s","usage":{"prompt_tokens":1000000,"completion_tokens":1000000}}',
  coalesce(p, '-') || ' ' || m, coalesce(to_json(p)::text, 'null'), m)) AS stored,
  p AS provider, m AS model
FROM (VALUES ('openai', 'gpt-4o'), ('OpenAI', 'GPT-4o'), (NULL, 'openai/gpt-4o'),
             ('openai', 'gpt-4o-2099-01-01'), ('azure', 'gpt-4o'),
             ('bedrock', 'us.anthropic.claude-sonnet-4-5-20250929-v1:0'),
             ('anthropic', 'claude-3-haiku@20240307'), ('openai', 'gpt-4o-but-not-really'))
     AS v(p, m)
ORDER BY m, p;
-- 1M input + 1M output tokens: gpt-4o 2.5 + 10 = 12.5; claude-sonnet-4-5 3 + 15 = 18 (the
-- tier starts above 200000 input tokens: 6 + 22.5 = 28.5); claude-3-haiku 0.25 + 1.25 = 1.5
SELECT span_id AS sent, provider, model, cost_usd, cost_status FROM t
WHERE span_id IN (SELECT span_id FROM llmtrace.spans WHERE trace_id = 'names')
ORDER BY span_id;

-- ---------------------------------------------------------------------------
-- User prices: the row in force at the span's start time; exact beats prefix;
-- the longest prefix wins.
-- ---------------------------------------------------------------------------
INSERT INTO llmtrace.model_prices (provider, model, match, input_usd_per_mtok, output_usd_per_mtok, valid_from)
VALUES ('acme', 'acme-pro', 'exact', 1, 2, '-infinity'),
       ('acme', 'acme-pro', 'exact', 3, 4, '2024-06-01T00:00:00Z'),
       ('acme', 'acme-', 'prefix', 10, 20, '-infinity'),
       ('acme', 'acme-turbo-', 'prefix', 100, 200, '-infinity');
SELECT llmtrace.ingest_json($json$
[{"trace_id":"user-prices","span_id":"pro-march","start_time":"2024-03-01T00:00:00Z",
  "provider":"acme","model":"acme-pro","usage":{"prompt_tokens":1000000,"completion_tokens":1000000}},
 {"trace_id":"user-prices","span_id":"pro-july","start_time":"2024-07-01T00:00:00Z",
  "provider":"acme","model":"acme-pro","usage":{"prompt_tokens":1000000,"completion_tokens":1000000}},
 {"trace_id":"user-prices","span_id":"prefix-short","start_time":"2024-03-01T00:00:00Z",
  "provider":"acme","model":"acme-mini","usage":{"prompt_tokens":1000000,"completion_tokens":1000000}},
 {"trace_id":"user-prices","span_id":"prefix-long","start_time":"2024-03-01T00:00:00Z",
  "provider":"acme","model":"acme-turbo-2","usage":{"prompt_tokens":1000000,"completion_tokens":1000000}}]
$json$);
-- pro-march: 1 + 2 = 3; pro-july (price from 2024-06-01): 3 + 4 = 7;
-- acme-mini: prefix acme- 10 + 20 = 30; acme-turbo-2: longest prefix acme-turbo- 100 + 200 = 300
SELECT span_id, model, cost_usd, cost_status FROM t
WHERE span_id IN (SELECT span_id FROM llmtrace.spans WHERE trace_id = 'user-prices')
ORDER BY span_id;

-- ---------------------------------------------------------------------------
-- llmtrace.cost(provider, model, input, output, cached, cache_write, at)
-- ---------------------------------------------------------------------------
SELECT llmtrace.cost('openai', 'gpt-4o', 1000, 200, 400, 0, '2024-03-01') AS openai_chat,   -- 0.004
       llmtrace.cost('openai', 'gpt-4o', 1000, 200) AS defaults,                           -- 0.0045
       llmtrace.cost(NULL, 'gpt-4o', 1000, 200) AS any_provider,                           -- 0.0045
       llmtrace.cost('anthropic', 'claude-sonnet-4-20250514', 2600, 300, 2000, 500) AS anthropic, -- 0.007275
       llmtrace.cost('google', 'gemini-2.5-pro', 250000, 1000) AS gemini_tier,             -- 0.64
       llmtrace.cost('openai', 'gpt-4o', 0, 0) AS zero,                                    -- 0
       llmtrace.cost('acme', 'no-such-model', 1000, 200) AS unknown;                       -- NULL
-- The price in force at `at`.
SELECT llmtrace.cost('acme', 'acme-pro', 1000000, 1000000, 0, 0, '2024-05-31 23:59:59+00') AS before_june,  -- 3
       llmtrace.cost('acme', 'acme-pro', 1000000, 1000000, 0, 0, '2024-06-01 00:00:00+00') AS from_june;   -- 7
-- NULL token counts count as 0; a NULL model or time gives NULL.
SELECT llmtrace.cost('openai', 'gpt-4o', NULL, 1000000) AS null_input,   -- 10
       llmtrace.cost('openai', NULL, 1, 1) AS null_model,
       llmtrace.cost('openai', 'gpt-4o', 1, 1, 0, 0, NULL) AS null_at;
-- Large counts stay exact (numeric).
SELECT llmtrace.cost('openai', 'gpt-4o', 1000000000000, 1000000000000) AS trillion; -- 2500000 + 10000000
SELECT llmtrace.cost('openai', 'gpt-4o-mini', 7, 3, 1, 0) AS tiny;  -- (6 * 0.15 + 1 * 0.075 + 3 * 0.6) / 1e6
\set VERBOSITY sqlstate
SELECT llmtrace.cost('openai', 'gpt-4o', -1, 0);
\set VERBOSITY default
SELECT llmtrace.cost('openai', 'gpt-4o', 0, -5);

-- Stored costs agree with llmtrace.cost() for every priced span.
SELECT count(*) AS priced_spans,
       count(*) FILTER (WHERE cost_usd = llmtrace.cost(provider, model, coalesce(input_tokens, 0),
                          coalesce(output_tokens, 0), coalesce(cached_input_tokens, 0),
                          coalesce(cache_write_tokens, 0), start_time)) AS agreeing
FROM llmtrace.spans WHERE cost_status = 'priced';

DELETE FROM llmtrace.model_prices WHERE provider = 'acme';
SELECT count(*) AS quarantined FROM llmtrace.ingest_errors;
