-- Cost cases worked out by hand from the seeded list prices (USD per million
-- tokens, data/model_prices.csv). input_tokens always counts ALL input tokens,
-- cached reads and cache writes included.
--   gpt-4o             2.5 in / 10 out / 1.25 cached / (no write price)
--   gpt-4o-mini        0.15 / 0.6 / 0.075
--   gpt-4o-2024-05-13  5 / 15 / (no cached price) -- a dated version with its own price
--   o3                 2 / 8 / 0.5
--   claude-sonnet-4-5  3 / 15 / 0.3 / 3.75 write; above 200000 input: 6 / 22.5 / 0.6 / 7.5
--   claude-opus-4-1    15 / 75 / 1.5 / 18.75
--   claude-3-haiku-20240307  0.25 / 1.25 / 0.03 / 0.3
--   claude-haiku-4-5-20251001 1 / 5 / 0.1 / 1.25
--   gemini-2.5-pro     1.25 / 10 / 0.125; above 200000: 2.5 / 15 / 0.25 / 0.25 write
--   gemini-2.5-flash   0.3 / 2.5 / 0.03
--   deepseek-chat      0.28 / 0.42 / 0.028
--   bedrock claude-sonnet-4-5-20250929-v1:0 as claude-sonnet-4-5

-- User prices for precedence, valid_from and precision cases.
INSERT INTO llmtrace.model_prices (provider, model, match, input_usd_per_mtok, output_usd_per_mtok, valid_from) VALUES
  (NULL, 'test-model', 'exact', 1, 1, '-infinity'),
  (NULL, 'test-model', 'exact', 2, 2, '2025-01-01 00:00:00+00'),
  (NULL, 'acme-', 'prefix', 4, 8, '-infinity'),
  (NULL, 'acme-large', 'prefix', 6, 12, '-infinity'),
  (NULL, 'acme-large-2', 'exact', 9, 18, '-infinity'),
  (NULL, 'shared-model', 'exact', 1, 1, '-infinity'),
  ('azure', 'shared-model', 'exact', 2, 2, '-infinity'),
  (NULL, 'tiny-model', 'exact', 0.000000000001, 0, '-infinity'),
  (NULL, 'odd-model', 'exact', 1.123456789012, 0, '-infinity');

CREATE TEMP TABLE cases (n int, what text, provider text, model text, input_tokens bigint,
                         output_tokens bigint, cached bigint, cache_write bigint, at timestamptz,
                         expected numeric);
INSERT INTO cases VALUES
  -- 1: 1M input x 2.5
  (1, 'input only', 'openai', 'gpt-4o', 1000000, 0, 0, 0, '2025-06-01', 2.5),
  -- 2: 1M output x 10
  (2, 'output only', 'openai', 'gpt-4o', 0, 1000000, 0, 0, '2025-06-01', 10),
  -- 3: 600 x 2.5 + 400 x 1.25 + 200 x 10 = 1500 + 500 + 2000 = 4000 -> 0.004
  (3, 'OpenAI cached input', 'openai', 'gpt-4o', 1000, 200, 400, 0, '2025-06-01', 0.004),
  -- 4: 1 x 2.5 = 2.5e-6
  (4, 'one token', 'openai', 'gpt-4o', 1, 0, 0, 0, '2025-06-01', 0.0000025),
  -- 5: 234 x 0.15 + 1000 x 0.075 + 567 x 0.6 = 35.1 + 75 + 340.2 = 450.3 -> 0.0004503
  (5, 'mini with cache', 'openai', 'gpt-4o-mini', 1234, 567, 1000, 0, '2025-06-01', 0.0004503),
  -- 6: dated version's own price; no cached price -> input price 5:
  --    500 x 5 + 500 x 5 + 100 x 15 = 6500 -> 0.0065
  (6, 'dated version priced on its own', 'openai', 'gpt-4o-2024-05-13', 1000, 100, 500, 0, '2025-06-01', 0.0065),
  -- 7-9: name variants resolve to gpt-4o: as case 3
  (7, 'case difference', 'openai', 'GPT-4o', 1000, 200, 400, 0, '2025-06-01', 0.004),
  (8, 'provider-prefixed name', 'openai', 'openai/gpt-4o', 1000, 200, 400, 0, '2025-06-01', 0.004),
  (9, 'unknown dated snapshot -> base', 'openai', 'gpt-4o-2099-01-01', 1000, 200, 400, 0, '2025-06-01', 0.004),
  -- 10: Anthropic usage 100 uncached + 1000 read + 500 write = 1600 input:
  --     100 x 3 + 1000 x 0.3 + 500 x 3.75 + 300 x 15 = 300 + 300 + 1875 + 4500 = 6975
  (10, 'Anthropic cache read and write', 'anthropic', 'claude-sonnet-4-5', 1600, 300, 1000, 500, '2025-06-01', 0.006975),
  -- 11: exactly at the threshold: base prices: 200000 x 3 + 1000 x 15 = 615000 -> 0.615
  (11, 'tier: exactly at threshold', 'anthropic', 'claude-sonnet-4-5', 200000, 1000, 0, 0, '2025-06-01', 0.615),
  -- 12: one above: tier prices: 200001 x 6 + 1000 x 22.5 = 1200006 + 22500 = 1222506
  (12, 'tier: one above threshold', 'anthropic', 'claude-sonnet-4-5', 200001, 1000, 0, 0, '2025-06-01', 1.222506),
  -- 13: tier, every part: 40000 x 6 + 200000 x 0.6 + 10000 x 7.5 + 2000 x 22.5
  --     = 240000 + 120000 + 75000 + 45000 = 480000 -> 0.48
  (13, 'tier: all parts', 'anthropic', 'claude-sonnet-4-5', 250000, 2000, 200000, 10000, '2025-06-01', 0.48),
  -- 14: at threshold: 200000 x 1.25 + 500 x 10 = 255000 -> 0.255
  (14, 'gemini tier at threshold', 'google', 'gemini-2.5-pro', 200000, 500, 0, 0, '2025-06-01', 0.255),
  -- 15: above: 200001 x 2.5 + 500 x 15 = 500002.5 + 7500 = 507502.5 -> 0.5075025
  (15, 'gemini tier one above', 'google', 'gemini-2.5-pro', 200001, 500, 0, 0, '2025-06-01', 0.5075025),
  -- 16: tier with cache: 150000 x 2.5 + 100000 x 0.25 + 50000 x 0.25 = 375000 + 25000 + 12500
  (16, 'gemini tier cached + write', 'google', 'gemini-2.5-pro', 300000, 0, 100000, 50000, '2025-06-01', 0.4125),
  -- 17: below tier, no write price -> input price 1.25: 1000 x 1.25 = 1250
  (17, 'missing write price falls back to input', 'google', 'gemini-2.5-pro', 1000, 0, 0, 1000, '2025-06-01', 0.00125),
  -- 18: 1000 x 1.25 + 100 x 10 = 2250
  (18, 'cloud name models/...', 'gcp.gemini', 'models/gemini-2.5-pro', 1000, 100, 0, 0, '2025-06-01', 0.00225),
  -- 19: 0.3 + 2.5
  (19, 'flash 1M/1M', 'google', 'gemini-2.5-flash', 1000000, 1000000, 0, 0, '2025-06-01', 2.8),
  -- 20: 1000 x 3 + 100 x 15 = 4500
  (20, 'Bedrock id with region prefix', 'aws.bedrock', 'us.anthropic.claude-sonnet-4-5-20250929-v1:0', 1000, 100, 0, 0, '2025-06-01', 0.0045),
  -- 21: 1000 x 0.25 + 100 x 1.25 = 375
  (21, 'Bedrock id priced from the Anthropic row', 'aws.bedrock', 'anthropic.claude-3-haiku-20240307-v1:0', 1000, 100, 0, 0, '2025-06-01', 0.000375),
  -- 22: 1000 x 1 + 100 x 5 = 1500
  (22, 'Vertex @ version', 'gcp.vertex_ai', 'claude-haiku-4-5@20251001', 1000, 100, 0, 0, '2025-06-01', 0.0015),
  -- 23: reasoning is part of output: 500 x 2 + 2000 x 8 = 17000
  (23, 'reasoning tokens in output', 'openai', 'o3', 500, 2000, 0, 0, '2025-06-01', 0.017),
  -- 24: 200 x 0.28 + 800 x 0.028 + 100 x 0.42 = 56 + 22.4 + 42 = 120.4
  (24, 'deepseek cache hit', 'deepseek', 'deepseek-chat', 1000, 100, 800, 0, '2025-06-01', 0.0001204),
  -- 25: 900 x 0.28 + 100 x 0.28 (no write price) = 280
  (25, 'deepseek cache write at input price', 'deepseek', 'deepseek-chat', 1000, 0, 0, 100, '2025-06-01', 0.00028),
  -- 26: no price -> NULL, never 0
  (26, 'unknown model', 'acmecorp', 'no-such-model', 1000, 100, 0, 0, '2025-06-01', NULL),
  -- 27: zero tokens cost zero
  (27, 'zero tokens', 'openai', 'gpt-4o', 0, 0, 0, 0, '2025-06-01', 0),
  -- 28: 10^12 x 2.5 / 10^6 = 2500000
  (28, 'huge count', 'openai', 'gpt-4o', 1000000000000, 0, 0, 0, '2025-06-01', 2500000),
  -- 29: 3 x 0.15 + 7 x 0.6 = 0.45 + 4.2 = 4.65 -> 0.00000465
  (29, 'tiny amounts stay exact', 'openai', 'gpt-4o-mini', 3, 7, 0, 0, '2025-06-01', 0.00000465),
  -- 30: 2 x 15 + 1 x 1.5 + 7 x 75 = 30 + 1.5 + 525 = 556.5
  (30, 'opus few tokens', 'anthropic', 'claude-opus-4-1', 3, 7, 1, 0, '2025-06-01', 0.0005565),
  -- 31-33: valid_from: 1 before 2025-01-01, 2 from then on (the boundary itself uses the new row)
  (31, 'valid_from: old price', NULL, 'test-model', 1000000, 0, 0, 0, '2024-12-31 23:59:59+00', 1),
  (32, 'valid_from: at the switch', NULL, 'test-model', 1000000, 0, 0, 0, '2025-01-01 00:00:00+00', 2),
  (33, 'valid_from: after', NULL, 'test-model', 1000000, 0, 0, 0, '2025-06-01', 2),
  -- 34-36: prefix rows: 'acme-' (4) and 'acme-large' (6); exact 'acme-large-2' (9)
  (34, 'prefix', NULL, 'acme-small', 1000000, 0, 0, 0, '2025-06-01', 4),
  (35, 'longest prefix wins', NULL, 'acme-large-3', 1000000, 0, 0, 0, '2025-06-01', 6),
  (36, 'exact beats prefix', NULL, 'acme-large-2', 1000000, 0, 0, 0, '2025-06-01', 9),
  -- 37-38: provider-specific row beats the any-provider row
  (37, 'provider-scoped row', 'azure', 'shared-model', 1000000, 0, 0, 0, '2025-06-01', 2),
  (38, 'any-provider row', 'openai', 'shared-model', 1000000, 0, 0, 0, '2025-06-01', 1),
  -- 39: 1 token x 1e-12 per Mtok = 1e-18 USD, the smallest unit
  (39, 'smallest unit', NULL, 'tiny-model', 1, 0, 0, 0, '2025-06-01', 0.000000000000000001),
  -- 40: 1000001 x 1.123456789012 / 1e6 = 1.123456789012 + 0.000001123456789012
  (40, 'twelve-decimal price', NULL, 'odd-model', 1000001, 0, 0, 0, '2025-06-01', 1.123457912468789012);

-- Every case: the cost, and whether it is exactly what was worked out by hand.
SELECT n, what,
       llmtrace.cost(provider, model, input_tokens, output_tokens, cached, cache_write, at) AS cost,
       llmtrace.cost(provider, model, input_tokens, output_tokens, cached, cache_write, at)
           IS NOT DISTINCT FROM expected AS exact
FROM cases ORDER BY n;

-- numeric, not float: a sum of many small costs has no rounding error.
SELECT pg_typeof(llmtrace.cost('openai', 'gpt-4o-mini', 3, 7, 0, 0)) AS type,
       sum(llmtrace.cost('openai', 'gpt-4o-mini', 3, 7, 0, 0)) AS sum_of_100000,
       sum(llmtrace.cost('openai', 'gpt-4o-mini', 3, 7, 0, 0)) = 0.465 AS exact
FROM generate_series(1, 100000);

-- Defaults and NULLs: cached and cache writes default to 0, `at` to now().
SELECT llmtrace.cost('openai', 'gpt-4o', 1000, 200) AS no_cache,
       llmtrace.cost(NULL, 'gpt-4o', 1000, 200) AS no_provider,
       llmtrace.cost('openai', NULL, 1000, 200) AS no_model;

-- Inconsistent counts are refused, not priced.
SELECT llmtrace.cost('openai', 'gpt-4o', 100, 0, 200, 0);
SELECT llmtrace.cost('openai', 'gpt-4o', -1, 0);

-- Prices are exact decimals with at most 12 places, never negative.
\set VERBOSITY terse
INSERT INTO llmtrace.model_prices (model, input_usd_per_mtok) VALUES ('bad-model', 0.0000000000001);
INSERT INTO llmtrace.model_prices (model, input_usd_per_mtok) VALUES ('bad-model', -1);
\set VERBOSITY default

-- The same rules on ingested spans: reported cost wins, unpriced is NULL (never
-- 0), no usage is no_usage; OpenAI-style and Anthropic-style usage of the same
-- call (1600 input of which 1000 cached and 500 written, 300 output) cost the same.
INSERT INTO llmtrace.ingest (payload) VALUES
  ('{"trace_id":"cost","span_id":"reported","start_time":"2025-06-01T00:00:00Z","model":"gpt-4o","usage":{"prompt_tokens":1000,"completion_tokens":200},"cost_usd":0.5}'),
  ('{"trace_id":"cost","span_id":"reported-zero","start_time":"2025-06-01T00:00:00Z","model":"gpt-4o","usage":{"prompt_tokens":1000,"completion_tokens":200},"cost_usd":0}'),
  ('{"trace_id":"cost","span_id":"priced","start_time":"2025-06-01T00:00:00Z","model":"gpt-4o","provider":"openai","usage":{"prompt_tokens":1000,"completion_tokens":200,"prompt_tokens_details":{"cached_tokens":400}}}'),
  ('{"trace_id":"cost","span_id":"unpriced","start_time":"2025-06-01T00:00:00Z","model":"no-such-model","usage":{"prompt_tokens":1000,"completion_tokens":200}}'),
  ('{"trace_id":"cost","span_id":"no-usage","start_time":"2025-06-01T00:00:00Z","model":"gpt-4o"}'),
  ('{"trace_id":"cost","span_id":"anthropic-style","start_time":"2025-06-01T00:00:00Z","provider":"anthropic","model":"claude-sonnet-4-5","usage":{"input_tokens":100,"cache_read_input_tokens":1000,"cache_creation_input_tokens":500,"output_tokens":300}}'),
  ('{"trace_id":"cost","span_id":"otel-style","start_time":"2025-06-01T00:00:00Z","provider":"anthropic","model":"claude-sonnet-4-5","usage":{"prompt_tokens":1600,"completion_tokens":300,"prompt_tokens_details":{"cached_tokens":1000},"cache_creation_input_tokens":500}}');
SELECT span_id, input_tokens, cached_input_tokens, cache_write_tokens, output_tokens, cost_usd, cost_status
FROM llmtrace.spans WHERE trace_id = 'cost' ORDER BY span_id;

-- A price added later: reprice corrects the stored cost; reported costs stay.
INSERT INTO llmtrace.model_prices (model, input_usd_per_mtok, output_usd_per_mtok) VALUES ('no-such-model', 1, 2);
-- 1000 x 1 + 200 x 2 = 1400 -> 0.0014
SELECT llmtrace.reprice('2025-01-01', '2026-01-01') AS repriced;
SELECT span_id, cost_usd, cost_status FROM llmtrace.spans WHERE trace_id = 'cost' ORDER BY span_id;
SELECT * FROM llmtrace.unpriced_models;
SELECT llmtrace.reprice('2026-01-01', '2025-01-01');
