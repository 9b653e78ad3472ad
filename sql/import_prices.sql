-- llmtrace.import_litellm_prices on the real LiteLLM price file (test/data/,
-- a copy of the file the seeded prices were made from).
\set doc `cat test/data/model_prices_and_context_window.json`

-- The seeded rows, as the oracle: importing the same file into an empty table
-- must give exactly the same prices.
CREATE TEMP TABLE seeded AS
    SELECT provider, model, match, input_usd_per_mtok, output_usd_per_mtok,
           cached_input_usd_per_mtok, cache_write_usd_per_mtok, tier_threshold_tokens,
           tier_input_usd_per_mtok, tier_output_usd_per_mtok, tier_cached_input_usd_per_mtok,
           tier_cache_write_usd_per_mtok
    FROM llmtrace.model_prices WHERE source = 'seed';
SELECT count(*) AS seeded_rows FROM seeded;

-- Over the seeds: everything is already there.
SELECT * FROM llmtrace.import_litellm_prices(:'doc'::jsonb);

-- Into an empty table: 195 text-model prices added; image, audio and
-- realtime entries skipped.
DELETE FROM llmtrace.model_prices;
SELECT * FROM llmtrace.import_litellm_prices(:'doc'::jsonb);
SELECT source, count(*) FROM llmtrace.model_prices GROUP BY source;
-- Same prices as the seed, both ways (numeric equality ignores trailing zeros).
SELECT count(*) AS missing FROM (
    SELECT * FROM seeded
    EXCEPT
    SELECT provider, model, match, input_usd_per_mtok, output_usd_per_mtok,
           cached_input_usd_per_mtok, cache_write_usd_per_mtok, tier_threshold_tokens,
           tier_input_usd_per_mtok, tier_output_usd_per_mtok, tier_cached_input_usd_per_mtok,
           tier_cache_write_usd_per_mtok
    FROM llmtrace.model_prices) d;
SELECT count(*) AS extra FROM (
    SELECT provider, model, match, input_usd_per_mtok, output_usd_per_mtok,
           cached_input_usd_per_mtok, cache_write_usd_per_mtok, tier_threshold_tokens,
           tier_input_usd_per_mtok, tier_output_usd_per_mtok, tier_cached_input_usd_per_mtok,
           tier_cache_write_usd_per_mtok
    FROM llmtrace.model_prices
    EXCEPT
    SELECT * FROM seeded) d;

-- Facts from the file: per-token prices become per-million prices; long-context tiers.
SELECT provider, model, input_usd_per_mtok, output_usd_per_mtok, cached_input_usd_per_mtok,
       cache_write_usd_per_mtok, tier_threshold_tokens, tier_input_usd_per_mtok,
       tier_output_usd_per_mtok, tier_cached_input_usd_per_mtok, tier_cache_write_usd_per_mtok
FROM llmtrace.model_prices
WHERE model IN ('gpt-4o', 'gpt-4o-2024-05-13', 'claude-sonnet-4-5', 'gemini-2.5-pro',
                'claude-3-haiku-20240307', 'deepseek-chat')
ORDER BY provider, model;
SELECT count(*) FILTER (WHERE tier_threshold_tokens = 200000) AS tier_200k,
       count(*) FILTER (WHERE tier_threshold_tokens = 272000) AS tier_272k,
       count(*) FILTER (WHERE tier_threshold_tokens = 128000) AS tier_128k
FROM llmtrace.model_prices;

-- Idempotent: the same file again changes nothing.
SELECT * FROM llmtrace.import_litellm_prices(:'doc'::jsonb);

-- A changed price: a new row valid from now; the old price stays for old spans.
SELECT * FROM llmtrace.import_litellm_prices(
    jsonb_set(:'doc'::jsonb, '{gpt-4o,input_cost_per_token}', '3e-06'));
SELECT input_usd_per_mtok, valid_from = '-infinity' AS from_the_beginning, source
FROM llmtrace.model_prices WHERE model = 'gpt-4o' ORDER BY valid_from;
SELECT llmtrace.cost('openai', 'gpt-4o', 1000000, 0, 0, 0, '2025-01-01') AS before_change,
       llmtrace.cost('openai', 'gpt-4o', 1000000, 0, 0, 0, now()) AS after_change;

-- A price a user edited or entered is never overwritten: that model is skipped.
UPDATE llmtrace.model_prices SET input_usd_per_mtok = 0.1, output_usd_per_mtok = 0.2
WHERE model = 'gpt-4o-mini';
INSERT INTO llmtrace.model_prices (provider, model, input_usd_per_mtok, valid_from)
VALUES ('openai', 'gpt-4.1', 1.5, '2026-01-01');
SELECT * FROM llmtrace.import_litellm_prices(
    jsonb_set(jsonb_set(:'doc'::jsonb, '{gpt-4o-mini,input_cost_per_token}', '1e-06'),
              '{gpt-4.1,input_cost_per_token}', '1e-06'));
SELECT model, input_usd_per_mtok, output_usd_per_mtok, valid_from, source FROM llmtrace.model_prices
WHERE model IN ('gpt-4o-mini', 'gpt-4.1') ORDER BY model, valid_from;

-- A seeded row edited by a user becomes a user row (kept by pg_dump).
UPDATE llmtrace.model_prices SET source = 'seed' WHERE model = 'o3';
UPDATE llmtrace.model_prices SET output_usd_per_mtok = 9 WHERE model = 'o3';
SELECT model, output_usd_per_mtok, source FROM llmtrace.model_prices WHERE model = 'o3';

-- Entries that are not usable are skipped, and a document that is not an object is refused.
SELECT * FROM llmtrace.import_litellm_prices('{"x": {"mode": "chat"}, "y": 1, "sample_spec": {}, "z": {"mode": "image_generation", "input_cost_per_token": 1e-06}}');
SELECT * FROM llmtrace.import_litellm_prices('[1, 2]');
