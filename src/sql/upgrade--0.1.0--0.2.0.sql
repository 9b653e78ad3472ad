-- llmtrace 0.1.0 -> 0.2.0: hardening (see CHANGELOG.md).
\echo Use "ALTER EXTENSION llmtrace UPDATE TO '0.2.0'" to load this file. \quit

-- A price row the engine cannot use gives its spans cost_status 'invalid_price'.
-- Added NOT VALID and validated afterwards: validation does not block ingest.
ALTER TABLE llmtrace.spans DROP CONSTRAINT spans_cost_status_check;
ALTER TABLE llmtrace.spans ADD CONSTRAINT spans_cost_status_check
    CHECK (cost_status IN ('priced', 'reported', 'unpriced', 'no_usage', 'invalid_price',
                              'aggregate', 'unreconciled')) NOT VALID;
ALTER TABLE llmtrace.spans VALIDATE CONSTRAINT spans_cost_status_check;

-- ensure_partitions becomes a wrapper run as the extension owner
-- (src/sql/operations.sql, below).
DROP FUNCTION llmtrace.ensure_partitions(date, date);

-- Quarantine: bounded payload text, with the length and hash of the payload.
ALTER TABLE llmtrace.ingest_errors ALTER COLUMN payload DROP NOT NULL;
ALTER TABLE llmtrace.ingest_errors ADD COLUMN payload_bytes bigint;
ALTER TABLE llmtrace.ingest_errors ADD COLUMN payload_sha256 bytea;
ALTER TABLE llmtrace.ingest_errors ADD COLUMN payload_truncated boolean NOT NULL DEFAULT false;
UPDATE llmtrace.ingest_errors
SET payload_bytes = pg_catalog.octet_length(payload),
    payload_sha256 = pg_catalog.sha256(pg_catalog.convert_to(payload, 'UTF8'))
WHERE payload <> '';
UPDATE llmtrace.ingest_errors SET payload = NULL WHERE payload = '' AND sqlstate = '22004'
    AND error = 'the payload is NULL';

COMMENT ON COLUMN llmtrace.ingest_errors.payload IS
    'The payload as received, or the one bad span of a batch (see location), cut at '
    'llmtrace.quarantine_max_bytes; NULL for a NULL payload and when llmtrace.store_content = none.';
COMMENT ON COLUMN llmtrace.ingest_errors.payload_bytes IS
    'Length in bytes of the whole payload as received.';
COMMENT ON COLUMN llmtrace.ingest_errors.payload_sha256 IS
    'SHA-256 of the whole payload as received: sha256(convert_to(payload_text, ''UTF8'')).';
COMMENT ON COLUMN llmtrace.ingest_errors.payload_truncated IS
    'True when payload holds only a prefix of the payload or bad span.';

-- Prices: finite, >= 0, < 1,000,000 USD per million tokens, at most 12 decimals.
CREATE FUNCTION llmtrace.valid_price(p numeric)
RETURNS boolean
LANGUAGE sql
IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT p IS NULL
        OR (p >= 0 AND p < 1000000 AND coalesce(scale(p) <= 12, false))
$$;

COMMENT ON FUNCTION llmtrace.valid_price(numeric) IS
    'True for a price llmtrace can use: NULL, or 0 <= p < 1000000 with at most 12 decimals.';

ALTER TABLE llmtrace.model_prices DROP CONSTRAINT model_prices_price_check;
ALTER TABLE llmtrace.model_prices ADD CONSTRAINT model_prices_price_check CHECK (
        llmtrace.valid_price(input_usd_per_mtok)
        AND llmtrace.valid_price(output_usd_per_mtok)
        AND llmtrace.valid_price(cached_input_usd_per_mtok)
        AND llmtrace.valid_price(cache_write_usd_per_mtok)
        AND llmtrace.valid_price(tier_input_usd_per_mtok)
        AND llmtrace.valid_price(tier_output_usd_per_mtok)
        AND llmtrace.valid_price(tier_cached_input_usd_per_mtok)
        AND llmtrace.valid_price(tier_cache_write_usd_per_mtok));

CREATE OR REPLACE FUNCTION llmtrace.import_litellm_prices(doc jsonb,
                                               OUT added integer, OUT changed integer,
                                               OUT unchanged integer, OUT skipped integer)
LANGUAGE plpgsql
VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    e       record;
    prov    text;
    m       text;
    tk      text;
    p       numeric[];
    thr     bigint;
    cur     llmtrace.model_prices;
    existed boolean;
    at_time timestamptz := now();
BEGIN
    added := 0; changed := 0; unchanged := 0; skipped := 0;
    IF doc IS NULL OR jsonb_typeof(doc) <> 'object' THEN
        RAISE EXCEPTION 'import_litellm_prices: expected a JSON object keyed by model name'
            USING ERRCODE = '22023';
    END IF;
    FOR e IN SELECT key, value FROM jsonb_each(doc) ORDER BY key LOOP
        IF e.key = 'sample_spec' OR jsonb_typeof(e.value) <> 'object'
           OR coalesce(e.value->>'mode', 'chat') NOT IN ('chat', 'responses', 'completion', 'embedding')
           OR llmtrace.litellm_price(e.value->'input_cost_per_token') IS NULL THEN
            skipped := skipped + 1;
            CONTINUE;
        END IF;
        prov := llmtrace.litellm_provider(e.value->>'litellm_provider');
        m := lower(e.key);
        thr := NULL;
        p := ARRAY[llmtrace.litellm_price(e.value->'input_cost_per_token'),
                   llmtrace.litellm_price(e.value->'output_cost_per_token'),
                   llmtrace.litellm_price(e.value->'cache_read_input_token_cost'),
                   llmtrace.litellm_price(e.value->'cache_creation_input_token_cost'),
                   NULL, NULL, NULL, NULL];
        FOREACH tk IN ARRAY ARRAY['200k', '128k', '272k'] LOOP
            IF llmtrace.litellm_price(e.value->('input_cost_per_token_above_' || tk || '_tokens')) IS NOT NULL THEN
                thr := left(tk, -1)::bigint * 1000;
                p[5] := llmtrace.litellm_price(e.value->('input_cost_per_token_above_' || tk || '_tokens'));
                p[6] := llmtrace.litellm_price(e.value->('output_cost_per_token_above_' || tk || '_tokens'));
                p[7] := llmtrace.litellm_price(e.value->('cache_read_input_token_cost_above_' || tk || '_tokens'));
                p[8] := llmtrace.litellm_price(e.value->('cache_creation_input_token_cost_above_' || tk || '_tokens'));
                EXIT;
            END IF;
        END LOOP;
        -- A price the engine cannot use (2 USD per token is 2,000,000 per Mtok)
        -- is refused here rather than by the table's constraint, which would
        -- abort the whole import.
        IF NOT (SELECT bool_and(llmtrace.valid_price(x)) FROM unnest(p) AS x) THEN
            RAISE WARNING 'import_litellm_prices: skipping %: a price is out of range (at most 999999.999999999999 USD per million tokens)', e.key;
            skipped := skipped + 1;
            CONTINUE;
        END IF;
        IF EXISTS (SELECT 1 FROM llmtrace.model_prices mp
                   WHERE mp.source = 'user' AND coalesce(mp.provider, '') = coalesce(prov, '')
                     AND lower(mp.model) = m AND mp.match = 'exact') THEN
            skipped := skipped + 1;
            CONTINUE;
        END IF;
        SELECT * INTO cur FROM llmtrace.model_prices mp
        WHERE coalesce(mp.provider, '') = coalesce(prov, '') AND lower(mp.model) = m
          AND mp.match = 'exact'
        ORDER BY mp.valid_from DESC
        LIMIT 1;
        existed := FOUND;
        IF existed AND ARRAY[cur.input_usd_per_mtok, cur.output_usd_per_mtok,
                           cur.cached_input_usd_per_mtok, cur.cache_write_usd_per_mtok,
                           cur.tier_input_usd_per_mtok, cur.tier_output_usd_per_mtok,
                           cur.tier_cached_input_usd_per_mtok, cur.tier_cache_write_usd_per_mtok]
                     IS NOT DISTINCT FROM p
                 AND cur.tier_threshold_tokens IS NOT DISTINCT FROM thr THEN
            unchanged := unchanged + 1;
            CONTINUE;
        END IF;
        -- A second import in the same transaction replaces the row it wrote.
        DELETE FROM llmtrace.model_prices mp
        WHERE coalesce(mp.provider, '') = coalesce(prov, '') AND lower(mp.model) = m
          AND mp.match = 'exact' AND mp.source = 'litellm'
          AND mp.valid_from = CASE WHEN existed THEN at_time ELSE '-infinity' END;
        INSERT INTO llmtrace.model_prices
            (provider, model, match, input_usd_per_mtok, output_usd_per_mtok,
             cached_input_usd_per_mtok, cache_write_usd_per_mtok, tier_threshold_tokens,
             tier_input_usd_per_mtok, tier_output_usd_per_mtok, tier_cached_input_usd_per_mtok,
             tier_cache_write_usd_per_mtok, valid_from, source)
        VALUES (prov, m, 'exact', p[1], p[2], p[3], p[4], thr, p[5], p[6], p[7], p[8],
                CASE WHEN existed THEN at_time ELSE '-infinity' END, 'litellm');
        IF existed THEN
            changed := changed + 1;
        ELSE
            added := added + 1;
        END IF;
    END LOOP;
END
$$;

-- reprice() also recomputes spans priced by a row the engine could not use.
CREATE OR REPLACE FUNCTION llmtrace.reprice(from_time timestamptz, to_time timestamptz)
RETURNS bigint
LANGUAGE plpgsql
VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n bigint;
BEGIN
    IF from_time IS NULL OR to_time IS NULL OR to_time < from_time THEN
        RAISE EXCEPTION 'reprice: invalid time range % .. %', from_time, to_time
            USING ERRCODE = '22023';
    END IF;
    UPDATE llmtrace.spans s
    SET cost_usd = c.cost,
        cost_status = CASE WHEN c.cost IS NULL THEN 'unpriced' ELSE 'priced' END
    FROM (SELECT trace_id, span_id, start_time,
                 CASE WHEN model IS NOT NULL
                      AND num_nonnulls(input_tokens, output_tokens, cached_input_tokens,
                                       cache_write_tokens) > 0
                      THEN llmtrace.cost(provider, model, input_tokens, output_tokens,
                                         cached_input_tokens, cache_write_tokens, start_time)
                 END AS cost
          FROM llmtrace.spans
          WHERE start_time >= from_time AND start_time < to_time
            AND cost_status IN ('priced', 'unpriced', 'invalid_price')) c
    WHERE s.start_time >= from_time AND s.start_time < to_time
      AND s.trace_id = c.trace_id AND s.span_id = c.span_id AND s.start_time = c.start_time
      AND (s.cost_usd IS DISTINCT FROM c.cost OR s.cost_status = 'invalid_price');
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;

-- The version of the price table (see src/pg/price_cache.cpp).
CREATE TABLE llmtrace.prices_version (
    version bigint NOT NULL
);
INSERT INTO llmtrace.prices_version VALUES (0);

COMMENT ON TABLE llmtrace.prices_version IS
    'Internal: one row, bumped by every change to llmtrace.model_prices.';

CREATE FUNCTION llmtrace.model_prices_version_internal()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    UPDATE llmtrace.prices_version SET version = version + 1;
    RETURN NULL;
END
$$;

-- llmtrace.model_prices_version(): llmtrace.model_prices_version_internal() run as the extension owner in a
-- security-restricted context (src/entry/owner.cpp), not SECURITY DEFINER.
CREATE FUNCTION llmtrace.model_prices_version()
RETURNS trigger
LANGUAGE c
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'llmtrace_as_owner';

CREATE TRIGGER model_prices_version
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON llmtrace.model_prices
    FOR EACH STATEMENT EXECUTE FUNCTION llmtrace.model_prices_version();

ALTER TABLE llmtrace.model_prices ENABLE ALWAYS TRIGGER model_prices_changed;
ALTER TABLE llmtrace.model_prices ENABLE ALWAYS TRIGGER model_prices_version;

-- The ingest functions switch to the extension owner themselves, in a
-- security-restricted context (src/pg/owner.hpp): no longer SECURITY DEFINER.
ALTER FUNCTION llmtrace.ingest_row_trigger() SECURITY INVOKER;
ALTER FUNCTION llmtrace.ingest_statement_trigger() SECURITY INVOKER;
ALTER FUNCTION llmtrace.ingest_json(text) SECURITY INVOKER;

-- NULL payloads are bad input in ingest_json too.
ALTER FUNCTION llmtrace.ingest_json(text) CALLED ON NULL INPUT;
COMMENT ON FUNCTION llmtrace.ingest_json(text) IS
    'Ingests one JSON payload (OTLP, Braintrust, Vercel, native, or an array of them); '
    'returns the number of spans newly stored (re-delivered spans are not counted). A NULL '
    'payload is bad input: quarantined or an error, by llmtrace.on_error.';

-- The ingest triggers fire under session_replication_role = replica too.
UPDATE pg_catalog.pg_trigger SET tgenabled = 'A'
WHERE tgrelid = 'llmtrace.ingest'::pg_catalog.regclass
  AND tgname IN ('ingest_row', 'ingest_statement');

-- ---------------------------------------------------------------------------
-- llmtrace.latency_sketch: a mergeable latency sketch (DDSketch, relative
-- accuracy 0.5 %: every quantile within 1 %). Built from values by the
-- aggregate llmtrace.latency_sketch(double precision), merged by
-- llmtrace.merge(latency_sketch); both have combine functions, so parallel
-- query (and later shards) merge partial states. The C functions below run no
-- SQL, so they pin no search_path (a SET clause would run for every row).
-- ---------------------------------------------------------------------------
CREATE TYPE llmtrace.latency_sketch;

CREATE FUNCTION llmtrace.latency_sketch_in(cstring) RETURNS llmtrace.latency_sketch
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'llmtrace_sketch_in';
CREATE FUNCTION llmtrace.latency_sketch_out(llmtrace.latency_sketch) RETURNS cstring
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'llmtrace_sketch_out';
CREATE FUNCTION llmtrace.latency_sketch_recv(internal) RETURNS llmtrace.latency_sketch
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'llmtrace_sketch_recv';
CREATE FUNCTION llmtrace.latency_sketch_send(llmtrace.latency_sketch) RETURNS bytea
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'llmtrace_sketch_send';

CREATE TYPE llmtrace.latency_sketch (
    INPUT = llmtrace.latency_sketch_in,
    OUTPUT = llmtrace.latency_sketch_out,
    RECEIVE = llmtrace.latency_sketch_recv,
    SEND = llmtrace.latency_sketch_send,
    INTERNALLENGTH = VARIABLE,
    STORAGE = extended
);

COMMENT ON TYPE llmtrace.latency_sketch IS
    'Mergeable latency sketch (DDSketch, 0.5 % relative accuracy); text form '
    '{"alpha":..,"count":..,"sum":..,"min":..,"max":..,"zero":..,"buckets":[[index,count],...]}.';

CREATE FUNCTION llmtrace.latency_sketch_add(internal, double precision) RETURNS internal
    LANGUAGE c PARALLEL SAFE AS 'MODULE_PATHNAME', 'llmtrace_sketch_add';
CREATE FUNCTION llmtrace.latency_sketch_merge_trans(internal, llmtrace.latency_sketch) RETURNS internal
    LANGUAGE c PARALLEL SAFE AS 'MODULE_PATHNAME', 'llmtrace_sketch_merge_trans';
CREATE FUNCTION llmtrace.latency_sketch_combine(internal, internal) RETURNS internal
    LANGUAGE c PARALLEL SAFE AS 'MODULE_PATHNAME', 'llmtrace_sketch_combine';
CREATE FUNCTION llmtrace.latency_sketch_serialize(internal) RETURNS bytea
    LANGUAGE c STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'llmtrace_sketch_serialize';
CREATE FUNCTION llmtrace.latency_sketch_deserialize(bytea, internal) RETURNS internal
    LANGUAGE c STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'llmtrace_sketch_deserialize';
CREATE FUNCTION llmtrace.latency_sketch_final(internal) RETURNS llmtrace.latency_sketch
    LANGUAGE c PARALLEL SAFE AS 'MODULE_PATHNAME', 'llmtrace_sketch_final';

CREATE AGGREGATE llmtrace.latency_sketch(double precision) (
    SFUNC = llmtrace.latency_sketch_add,
    STYPE = internal,
    FINALFUNC = llmtrace.latency_sketch_final,
    COMBINEFUNC = llmtrace.latency_sketch_combine,
    SERIALFUNC = llmtrace.latency_sketch_serialize,
    DESERIALFUNC = llmtrace.latency_sketch_deserialize,
    PARALLEL = SAFE
);

COMMENT ON AGGREGATE llmtrace.latency_sketch(double precision) IS
    'The latency sketch of the non-NULL values (milliseconds, >= 0); NULL for no value.';

CREATE AGGREGATE llmtrace.merge(llmtrace.latency_sketch) (
    SFUNC = llmtrace.latency_sketch_merge_trans,
    STYPE = internal,
    FINALFUNC = llmtrace.latency_sketch_final,
    COMBINEFUNC = llmtrace.latency_sketch_combine,
    SERIALFUNC = llmtrace.latency_sketch_serialize,
    DESERIALFUNC = llmtrace.latency_sketch_deserialize,
    PARALLEL = SAFE
);

COMMENT ON AGGREGATE llmtrace.merge(llmtrace.latency_sketch) IS
    'Merges latency sketches exactly: the merge of the sketches of parts is the sketch of the whole.';

CREATE FUNCTION llmtrace.quantile(sketch llmtrace.latency_sketch, q double precision)
    RETURNS double precision
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'llmtrace_sketch_quantile';
COMMENT ON FUNCTION llmtrace.quantile(llmtrace.latency_sketch, double precision) IS
    'The q-quantile (0 <= q <= 1) of a sketch, ranked as percentile_disc, within 1 % relative error; '
    'q = 0 and q = 1 give the exact minimum and maximum.';

CREATE FUNCTION llmtrace.cumulative_counts(sketch llmtrace.latency_sketch, upper_bounds double precision[])
    RETURNS bigint[]
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'llmtrace_sketch_cumulative_counts';
COMMENT ON FUNCTION llmtrace.cumulative_counts(llmtrace.latency_sketch, double precision[]) IS
    'For each upper bound, how many values are at most it (Prometheus/OpenTelemetry histogram '
    'buckets); a value counts under a bound when its bucket''s value does.';

CREATE FUNCTION llmtrace.sketch_count(llmtrace.latency_sketch) RETURNS bigint
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'llmtrace_sketch_count';
CREATE FUNCTION llmtrace.sketch_sum(llmtrace.latency_sketch) RETURNS double precision
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'llmtrace_sketch_sum';
CREATE FUNCTION llmtrace.sketch_min(llmtrace.latency_sketch) RETURNS double precision
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'llmtrace_sketch_min';
CREATE FUNCTION llmtrace.sketch_max(llmtrace.latency_sketch) RETURNS double precision
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'llmtrace_sketch_max';
COMMENT ON FUNCTION llmtrace.sketch_count(llmtrace.latency_sketch) IS 'Number of values in a sketch.';
COMMENT ON FUNCTION llmtrace.sketch_sum(llmtrace.latency_sketch) IS 'Sum of the values of a sketch.';
COMMENT ON FUNCTION llmtrace.sketch_min(llmtrace.latency_sketch) IS 'Exact minimum of a sketch (NULL if empty).';
COMMENT ON FUNCTION llmtrace.sketch_max(llmtrace.latency_sketch) IS 'Exact maximum of a sketch (NULL if empty).';

REVOKE ALL ON ROUTINE llmtrace.latency_sketch_in(cstring), llmtrace.latency_sketch_out(llmtrace.latency_sketch),
    llmtrace.latency_sketch_recv(internal), llmtrace.latency_sketch_send(llmtrace.latency_sketch),
    llmtrace.latency_sketch_add(internal, double precision),
    llmtrace.latency_sketch_merge_trans(internal, llmtrace.latency_sketch),
    llmtrace.latency_sketch_combine(internal, internal), llmtrace.latency_sketch_serialize(internal),
    llmtrace.latency_sketch_deserialize(bytea, internal), llmtrace.latency_sketch_final(internal),
    llmtrace.latency_sketch(double precision), llmtrace.merge(llmtrace.latency_sketch),
    llmtrace.quantile(llmtrace.latency_sketch, double precision),
    llmtrace.cumulative_counts(llmtrace.latency_sketch, double precision[]),
    llmtrace.sketch_count(llmtrace.latency_sketch), llmtrace.sketch_sum(llmtrace.latency_sketch),
    llmtrace.sketch_min(llmtrace.latency_sketch), llmtrace.sketch_max(llmtrace.latency_sketch) FROM PUBLIC;
GRANT EXECUTE ON ROUTINE llmtrace.latency_sketch(double precision), llmtrace.merge(llmtrace.latency_sketch),
    llmtrace.quantile(llmtrace.latency_sketch, double precision),
    llmtrace.cumulative_counts(llmtrace.latency_sketch, double precision[]),
    llmtrace.sketch_count(llmtrace.latency_sketch), llmtrace.sketch_sum(llmtrace.latency_sketch),
    llmtrace.sketch_min(llmtrace.latency_sketch), llmtrace.sketch_max(llmtrace.latency_sketch)
    TO llmtrace_reader, llmtrace_admin;

-- Privileges: trigger functions need no EXECUTE grant; cost() is for readers.
REVOKE ALL ON llmtrace.prices_version FROM PUBLIC;
REVOKE ALL ON FUNCTION llmtrace.valid_price(numeric), llmtrace.model_prices_version() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION llmtrace.ingest_row_trigger(), llmtrace.ingest_statement_trigger()
    FROM llmtrace_writer, llmtrace_admin;
REVOKE EXECUTE ON FUNCTION llmtrace.prices_changed(), llmtrace.model_prices_user_edit(),
    llmtrace.model_prices_replace_seed() FROM llmtrace_admin;
REVOKE EXECUTE ON FUNCTION llmtrace.cost(text, text, bigint, bigint, bigint, bigint, timestamptz)
    FROM llmtrace_writer;
REVOKE UPDATE ON llmtrace.spans FROM llmtrace_admin;
GRANT UPDATE (cost_usd, cost_status) ON llmtrace.spans TO llmtrace_admin;
GRANT EXECUTE ON FUNCTION llmtrace.valid_price(numeric) TO llmtrace_admin;
-- (also invalidates the view's cached triggers in every backend)
GRANT INSERT ON llmtrace.ingest TO llmtrace_writer, llmtrace_admin;
-- Whether content is stored is the admin's decision, not a writer's: the
-- setting is superuser-only (a session cannot override a database-wide
-- 'none'), and llmtrace_admin may set it too.
GRANT SET ON PARAMETER llmtrace.store_content TO llmtrace_admin;

-- @OTLP@

-- @SUMMARIES@

-- @ALERTS@

-- @OPERATIONS@

-- @TENANTS@

-- @OBSERVABILITY@

-- The summaries start with every span stored before the upgrade: one scan of
-- llmtrace.spans for each delta table, folded by the first
-- llmtrace.fold_rollups() and llmtrace.refresh_daily_cost_summary().
INSERT INTO llmtrace.rollup_deltas
    (hour, project, environment, provider, model, feature, endpoint, user_id,
     spans, errors, costed_spans, unpriced_spans, input_tokens, output_tokens,
     cached_input_tokens, cache_write_tokens, reasoning_tokens, total_tokens, cost_usd, latency)
SELECT pg_catalog.date_trunc('hour', s.start_time, 'UTC'), s.project, s.environment, s.provider,
       s.model, s.feature, s.endpoint, s.user_id,
       count(*), count(*) FILTER (WHERE s.status = 'error'), count(s.cost_usd),
       count(*) FILTER (WHERE s.cost_status IN ('unpriced', 'invalid_price')),
       coalesce(sum(s.input_tokens), 0), coalesce(sum(s.output_tokens), 0),
       coalesce(sum(s.cached_input_tokens), 0), coalesce(sum(s.cache_write_tokens), 0),
       coalesce(sum(s.reasoning_tokens), 0), coalesce(sum(s.total_tokens), 0),
       coalesce(sum(s.cost_usd), 0),
       llmtrace.latency_sketch(s.duration_ms) FILTER (WHERE s.duration_ms BETWEEN 0 AND 1e15)
FROM llmtrace.spans s
GROUP BY 1, 2, 3, 4, 5, 6, 7, 8;

INSERT INTO llmtrace.daily_deltas
    (day, project, environment, provider, model,
     spans, errors, costed_spans, unpriced_spans, input_tokens, output_tokens,
     cached_input_tokens, cache_write_tokens, reasoning_tokens, total_tokens, cost_usd, latency,
     user_keys, session_keys)
SELECT (s.start_time AT TIME ZONE 'UTC')::date, s.project, s.environment, s.provider, s.model,
       count(*), count(*) FILTER (WHERE s.status = 'error'), count(s.cost_usd),
       count(*) FILTER (WHERE s.cost_status IN ('unpriced', 'invalid_price')),
       coalesce(sum(s.input_tokens), 0), coalesce(sum(s.output_tokens), 0),
       coalesce(sum(s.cached_input_tokens), 0), coalesce(sum(s.cache_write_tokens), 0),
       coalesce(sum(s.reasoning_tokens), 0), coalesce(sum(s.total_tokens), 0),
       coalesce(sum(s.cost_usd), 0),
       llmtrace.latency_sketch(s.duration_ms) FILTER (WHERE s.duration_ms BETWEEN 0 AND 1e15),
       llmtrace.id_set_of(coalesce(pg_catalog.array_agg(DISTINCT s.user_id) FILTER (WHERE s.user_id IS NOT NULL), '{}')),
       llmtrace.id_set_of(coalesce(pg_catalog.array_agg(DISTINCT s.session_id) FILTER (WHERE s.session_id IS NOT NULL), '{}'))
FROM llmtrace.spans s
GROUP BY 1, 2, 3, 4, 5;

-- When each format was last seen (llmtrace.health): the minute of the last
-- span stored, counting nothing new.
INSERT INTO llmtrace.ingest_deltas
SELECT pg_catalog.date_trunc('minute', max(s.ingested_at), 'UTC'), s.source_format,
       0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, NULL
FROM llmtrace.spans s
GROUP BY s.source_format;
