-- Hardening: what a hostile writer or a careless operator could do, one section
-- per finding. Each of these failed before the fix (see CHANGELOG 0.2.0).
\pset null '<null>'
SET client_min_messages = warning;
DROP ROLE IF EXISTS regress_hw, regress_hr, regress_ha;
CREATE ROLE regress_hw LOGIN IN ROLE llmtrace_writer;
CREATE ROLE regress_hr LOGIN IN ROLE llmtrace_reader;
CREATE ROLE regress_ha LOGIN IN ROLE llmtrace_admin;
GRANT CREATE ON SCHEMA public TO regress_hw;
RESET client_min_messages;

-- ---------------------------------------------------------------------------
-- 1. A writer attaching the ingest trigger to its own view (bigint payload)
--    crashed the server. Now the writer may not use the trigger functions at
--    all, and attached elsewhere by a superuser they refuse to run.
-- ---------------------------------------------------------------------------
SET ROLE regress_hw;
CREATE TEMP VIEW evil AS SELECT 1::bigint AS payload WHERE false;
CREATE TRIGGER evil INSTEAD OF INSERT ON evil
    FOR EACH ROW EXECUTE FUNCTION llmtrace.ingest_row_trigger();
CREATE TRIGGER evil_s AFTER INSERT ON evil
    FOR EACH STATEMENT EXECUTE FUNCTION llmtrace.ingest_statement_trigger();
RESET ROLE;
CREATE VIEW public.evil AS SELECT 1::bigint AS payload WHERE false;
CREATE TRIGGER evil INSTEAD OF INSERT ON public.evil
    FOR EACH ROW EXECUTE FUNCTION llmtrace.ingest_row_trigger();
INSERT INTO public.evil VALUES (42);
DROP TRIGGER evil ON public.evil;
CREATE TRIGGER evil_s AFTER INSERT ON public.evil
    FOR EACH STATEMENT EXECUTE FUNCTION llmtrace.ingest_statement_trigger();
CREATE FUNCTION public.evil_noop() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END';
CREATE TRIGGER evil INSTEAD OF INSERT ON public.evil FOR EACH ROW EXECUTE FUNCTION public.evil_noop();
INSERT INTO public.evil VALUES (42);
CREATE TABLE public.not_prices (x int);
CREATE TRIGGER evil AFTER INSERT ON public.not_prices
    FOR EACH STATEMENT EXECUTE FUNCTION llmtrace.prices_changed();
INSERT INTO public.not_prices VALUES (1);
DROP VIEW public.evil;
DROP TABLE public.not_prices;
DROP FUNCTION public.evil_noop();
SELECT 'still alive' AS server;
-- No llmtrace role holds EXECUTE on a trigger function.
SELECT r.rolname, p.proname
FROM pg_proc p CROSS JOIN pg_roles r
WHERE p.pronamespace = 'llmtrace'::regnamespace AND p.prorettype = 'trigger'::regtype
  AND r.rolname LIKE 'llmtrace\_%' AND has_function_privilege(r.oid, p.oid, 'EXECUTE')
ORDER BY 1, 2;

-- ---------------------------------------------------------------------------
-- 2. With session_replication_role = replica an INSERT reported success and
--    stored nothing. The ingest triggers now always fire.
-- ---------------------------------------------------------------------------
SET session_replication_role = replica;
INSERT INTO llmtrace.ingest (payload)
VALUES ('{"trace_id":"replica","span_id":"r1","start_time":"2025-01-01T00:00:00Z"}');
RESET session_replication_role;
SELECT trace_id, span_id FROM llmtrace.spans WHERE trace_id = 'replica';
SELECT tgname, tgenabled FROM pg_trigger
WHERE tgrelid IN ('llmtrace.ingest'::regclass, 'llmtrace.model_prices'::regclass)
  AND NOT tgisinternal ORDER BY tgname;

-- ---------------------------------------------------------------------------
-- 3. One 5,000-character id aborted a whole COPY (index row too large).
--    Ids are bounded in the normalizer: the span is quarantined, the rest stored.
-- ---------------------------------------------------------------------------
CREATE TEMP TABLE long_ids AS
SELECT i, CASE i
    WHEN 2 THEN '{"span_id":"b2","root_span_id":"' || repeat('r', 5000) || '","created":"2025-01-01T00:00:00Z"}'
    WHEN 3 THEN '{"id":"v3","timestamp":"2025-01-01T00:00:00Z","traceId":"' || repeat('t', 5000) || '"}'
    WHEN 4 THEN '{"trace_id":"' || repeat('n', 5000) || '","span_id":"n4","start_time":"2025-01-01T00:00:00Z"}'
    ELSE '{"trace_id":"long-ids","span_id":"ok' || i || '","start_time":"2025-01-01T00:00:00Z"}' END AS payload
FROM generate_series(1, 70) i;
INSERT INTO llmtrace.ingest (payload) SELECT payload FROM long_ids ORDER BY i;
SELECT count(*) AS stored FROM llmtrace.spans WHERE trace_id = 'long-ids';
SELECT error, sqlstate, source_format, payload_bytes > 5000 AS big
FROM llmtrace.ingest_errors WHERE error LIKE '%longer than%' ORDER BY id;
-- In error mode the statement fails with a short message naming the field,
-- and the context names the right row.
SET llmtrace.on_error = 'error';
INSERT INTO llmtrace.ingest (payload) SELECT payload FROM long_ids WHERE i IN (1, 3) ORDER BY i;
RESET llmtrace.on_error;

-- ---------------------------------------------------------------------------
-- 4. One price row stopped all ingest. Non-finite and absurd prices are refused
--    where they are written; a row the engine cannot use (written before the
--    constraint existed) only leaves its own spans unpriced, with a status.
-- ---------------------------------------------------------------------------
\set VERBOSITY terse
INSERT INTO llmtrace.model_prices (provider, model, input_usd_per_mtok) VALUES ('x', 'nan-model', 'NaN');
INSERT INTO llmtrace.model_prices (provider, model, input_usd_per_mtok) VALUES ('x', 'inf-model', 'Infinity');
INSERT INTO llmtrace.model_prices (provider, model, input_usd_per_mtok, cached_input_usd_per_mtok)
VALUES ('x', 'absurd-model', 1, 1000000);
INSERT INTO llmtrace.model_prices (provider, model, input_usd_per_mtok, cache_write_usd_per_mtok)
VALUES ('x', 'scale-model', 1, 0.0000000000001);
\set VERBOSITY default
SELECT * FROM llmtrace.import_litellm_prices(
    '{"absurd/per-token": {"litellm_provider": "openai", "mode": "chat",
                           "input_cost_per_token": 2, "output_cost_per_token": 1},
      "fine/model": {"litellm_provider": "openai", "mode": "chat",
                     "input_cost_per_token": 0.000001, "output_cost_per_token": 0.000002}}');
SELECT model, input_usd_per_mtok FROM llmtrace.model_prices WHERE model IN ('absurd/per-token', 'fine/model');
-- A row that bypassed the constraint (superuser with the constraint dropped).
ALTER TABLE llmtrace.model_prices DROP CONSTRAINT model_prices_price_check;
INSERT INTO llmtrace.model_prices (provider, model, input_usd_per_mtok, cached_input_usd_per_mtok)
VALUES ('x', 'broken-model', 'NaN', 5000000);
SELECT llmtrace.ingest_json($$[
  {"trace_id":"price-row","span_id":"p1","start_time":"2025-01-01T00:00:00Z","provider":"x","model":"broken-model","usage":{"prompt_tokens":10,"completion_tokens":5}},
  {"trace_id":"price-row","span_id":"p2","start_time":"2025-01-01T00:00:00Z","provider":"openai","model":"gpt-4o","usage":{"prompt_tokens":10,"completion_tokens":5}},
  {"trace_id":"price-row","span_id":"p3","start_time":"2025-01-01T00:00:00Z"}]$$) AS stored;
SELECT span_id, model, cost_usd, cost_status FROM llmtrace.spans WHERE trace_id = 'price-row' ORDER BY span_id;
SELECT llmtrace.cost('x', 'broken-model', 10, 5) AS broken_cost;
DELETE FROM llmtrace.model_prices WHERE model = 'broken-model';
ALTER TABLE llmtrace.model_prices ADD CONSTRAINT model_prices_price_check CHECK (
        llmtrace.valid_price(input_usd_per_mtok)
        AND llmtrace.valid_price(output_usd_per_mtok)
        AND llmtrace.valid_price(cached_input_usd_per_mtok)
        AND llmtrace.valid_price(cache_write_usd_per_mtok)
        AND llmtrace.valid_price(tier_input_usd_per_mtok)
        AND llmtrace.valid_price(tier_output_usd_per_mtok)
        AND llmtrace.valid_price(tier_cached_input_usd_per_mtok)
        AND llmtrace.valid_price(tier_cache_write_usd_per_mtok));
-- Once the price is fixed, reprice() prices those spans.
INSERT INTO llmtrace.model_prices (provider, model, input_usd_per_mtok, output_usd_per_mtok)
VALUES ('x', 'broken-model', 1, 2);
SELECT llmtrace.reprice('2024-12-31', '2025-01-02') AS repriced;
SELECT span_id, cost_usd, cost_status FROM llmtrace.spans WHERE trace_id = 'price-row' ORDER BY span_id;

-- ---------------------------------------------------------------------------
-- 5. Quarantine without bounds: five 40 MB payloads grew it by 207 MB. Only a
--    prefix is kept, with the payload's length and SHA-256; with
--    store_content = 'none' nothing of the payload is kept.
-- ---------------------------------------------------------------------------
SET llmtrace.quarantine_max_bytes = 100;
CREATE TEMP TABLE bigbad AS
SELECT '{"trace_id":"q","span_id":"q1","input":"' || repeat('é', 3000000) AS payload;
INSERT INTO llmtrace.ingest (payload) SELECT payload FROM bigbad;
SELECT octet_length(e.payload) AS kept, e.payload_bytes = octet_length(b.payload) AS length_ok,
       e.payload_sha256 = sha256(convert_to(b.payload, 'UTF8')) AS hash_ok, e.payload_truncated,
       e.payload = left(b.payload, char_length(e.payload)) AS is_prefix
FROM llmtrace.ingest_errors e, bigbad b WHERE e.payload_bytes > 1000000;
-- A bad span of a batch: its JSON, cut; the length and hash are the whole payload's.
SELECT llmtrace.ingest_json('[{"trace_id":"q","span_id":"q2","start_time":"2025-01-01T00:00:00Z"},'
                            '{"trace_id":"q","span_id":"q3","input":"' || repeat('x', 500) || '"}]') AS stored;
SELECT location, octet_length(payload) AS kept, payload_truncated, payload_bytes
FROM llmtrace.ingest_errors WHERE location = '[1]' AND payload LIKE '{"trace_id":"q"%';
SET llmtrace.store_content = 'none';
SELECT llmtrace.ingest_json('{"trace_id":"q","span_id":"q4","input":"a secret prompt"}') AS stored;
SELECT payload, payload_bytes, payload_sha256 IS NOT NULL AS hashed, error
FROM llmtrace.ingest_errors ORDER BY id DESC LIMIT 1;
RESET llmtrace.store_content;
RESET llmtrace.quarantine_max_bytes;
-- The limits are the superuser's: a writer cannot raise them.
SET ROLE regress_hw;
SET llmtrace.quarantine_max_bytes = '1GB';
SET llmtrace.max_payload_bytes = '1GB';
RESET ROLE;
-- A payload above llmtrace.max_payload_bytes is bad input (54000), not parsed.
SET llmtrace.max_payload_bytes = '1kB';
INSERT INTO llmtrace.ingest (payload)
VALUES ('{"trace_id":"big","span_id":"b1","start_time":"2025-01-01T00:00:00Z","x":"' || repeat('y', 2000) || '"}');
SELECT sqlstate, error, payload_bytes FROM llmtrace.ingest_errors ORDER BY id DESC LIMIT 1;
SET llmtrace.on_error = 'error';
SELECT llmtrace.ingest_json('{"trace_id":"big","span_id":"b2","start_time":"2025-01-01T00:00:00Z","x":"' || repeat('y', 2000) || '"}');
RESET llmtrace.on_error;
RESET llmtrace.max_payload_bytes;

-- ---------------------------------------------------------------------------
-- 6. cost(): writers may not read prices, cold cache or warm (they could after
--    an ingest warmed it); readers may. int64 overflow was a wrapped number.
-- ---------------------------------------------------------------------------
\c - regress_hw
SELECT llmtrace.cost('openai', 'gpt-4o', 100, 10) AS cold;
SELECT llmtrace.ingest_json('{"trace_id":"warm","span_id":"w1","start_time":"2025-01-01T00:00:00Z","model":"gpt-4o","usage":{"prompt_tokens":1,"completion_tokens":1}}') AS stored;
SELECT llmtrace.cost('openai', 'gpt-4o', 100, 10) AS warm;
-- A role given EXECUTE on cost() but no SELECT on the prices gets no price,
-- though this backend's price cache is warm.
\c - postgres
GRANT EXECUTE ON FUNCTION llmtrace.cost(text, text, bigint, bigint, bigint, bigint, timestamptz) TO regress_hw;
\c - regress_hw
SELECT llmtrace.ingest_json('{"trace_id":"warm","span_id":"w2","start_time":"2025-01-01T00:00:00Z","model":"gpt-4o","usage":{"prompt_tokens":1,"completion_tokens":1}}') AS stored;
SELECT llmtrace.cost('openai', 'gpt-4o', 100, 10) AS execute_without_select;
\c - postgres
REVOKE EXECUTE ON FUNCTION llmtrace.cost(text, text, bigint, bigint, bigint, bigint, timestamptz) FROM regress_hw;
\c - regress_hr
SELECT llmtrace.cost('openai', 'gpt-4o', 100, 10) AS reader;
SELECT llmtrace.cost('openai', 'gpt-4o', 0, 0, 9000000000000000000, 9000000000000000000);
SELECT llmtrace.cost('openai', 'gpt-4o', 1000000000000001, 0);
SELECT llmtrace.cost('openai', 'gpt-4o', 1000000000000000, 1000000000000000, 1000000000000000, 0) AS largest;

-- ---------------------------------------------------------------------------
-- 7. llmtrace_admin could not run ensure_partitions().
-- ---------------------------------------------------------------------------
\c - regress_ha
SELECT llmtrace.ensure_partitions('2031-01-01', '2031-01-02') AS created;
SELECT count(*) AS partitions FROM pg_class WHERE relname IN ('spans_p20310101', 'spans_p20310102');
\c - postgres

-- ---------------------------------------------------------------------------
-- 8. A key sent twice: the first filled the columns, the last the attributes.
--    The last one counts everywhere (jsonb's rule).
-- ---------------------------------------------------------------------------
SELECT llmtrace.ingest_json('{"trace_id":"dup","span_id":"d1","start_time":"2025-01-01T00:00:00Z","model":"gpt-4o",'
                            '"usage":{"prompt_tokens":1,"completion_tokens":1},'
                            '"usage":{"prompt_tokens":100,"completion_tokens":20},"model":"gpt-4o-mini"}') AS stored;
SELECT model, input_tokens, output_tokens, attributes->'usage' AS usage_attribute
FROM llmtrace.spans WHERE trace_id = 'dup';

-- ---------------------------------------------------------------------------
-- 9. Control characters from a writer's JSON escapes reached error text raw.
-- ---------------------------------------------------------------------------
SELECT llmtrace.ingest_json('{"trace_id":"ctl","span_id":"c1","start_time":"\u001b[2J\r\nfake log line"}') AS stored;
SELECT error, error ~ '[\x01-\x1f]' AS has_control_characters
FROM llmtrace.ingest_errors ORDER BY id DESC LIMIT 1;

-- ---------------------------------------------------------------------------
-- 10. A failed write named the wrong row and carried the whole 64-row INSERT as
--     context. The context is short and names the payload rows of the spans.
-- ---------------------------------------------------------------------------
ALTER TABLE llmtrace.spans ADD CONSTRAINT regress_no_boom CHECK (name IS DISTINCT FROM 'boom');
ALTER TABLE llmtrace.spans ALTER COLUMN ingested_at SET DEFAULT '2025-01-01 00:00:00+00';
\set VERBOSITY default
INSERT INTO llmtrace.ingest (payload)
SELECT '{"trace_id":"ctx","span_id":"c' || i || '","start_time":"2025-01-01T00:00:00Z","name":"'
       || CASE WHEN i = 3 THEN 'boom' ELSE 'fine' END || '"}'
FROM generate_series(1, 3) i;
ALTER TABLE llmtrace.spans DROP CONSTRAINT regress_no_boom;
ALTER TABLE llmtrace.spans ALTER COLUMN ingested_at SET DEFAULT pg_catalog.now();

DROP OWNED BY regress_hw, regress_hr, regress_ha;
DROP ROLE regress_hw, regress_hr, regress_ha;
