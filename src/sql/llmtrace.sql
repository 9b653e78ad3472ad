-- llmtrace install script (the single source; the build appends the seeded price list).
\echo Use "CREATE EXTENSION llmtrace" to load this file. \quit

-- ---------------------------------------------------------------------------
-- Roles. Roles are cluster-wide objects, so they are created only when missing
-- and are not dropped with the extension. A role of that name that exists
-- already (made by this extension in another database, or by an
-- administrator beforehand) is adopted only when it is what this script
-- would have made: NOLOGIN, no SUPERUSER, CREATEDB, CREATEROLE, REPLICATION
-- or BYPASSRLS, and a member of no other role (so that llmtrace_writer may
-- only ingest, whatever else exists). Otherwise CREATE EXTENSION fails and
-- says which role and why. Its members are kept: they are how users get the
-- role, in every database of the cluster.
-- ---------------------------------------------------------------------------
DO $roles$
DECLARE
    r    text;
    why  text;
BEGIN
    FOREACH r IN ARRAY ARRAY['llmtrace_writer', 'llmtrace_reader', 'llmtrace_admin'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = r) THEN
            EXECUTE pg_catalog.format('CREATE ROLE %I NOLOGIN', r);
            CONTINUE;
        END IF;
        SELECT pg_catalog.concat_ws(', ',
                   CASE WHEN rolcanlogin THEN 'LOGIN' END,
                   CASE WHEN rolsuper THEN 'SUPERUSER' END,
                   CASE WHEN rolcreatedb THEN 'CREATEDB' END,
                   CASE WHEN rolcreaterole THEN 'CREATEROLE' END,
                   CASE WHEN rolreplication THEN 'REPLICATION' END,
                   CASE WHEN rolbypassrls THEN 'BYPASSRLS' END,
                   (SELECT 'member of ' || pg_catalog.string_agg(g.rolname::text, ', ' ORDER BY g.rolname)
                    FROM pg_catalog.pg_auth_members m JOIN pg_catalog.pg_roles g ON g.oid = m.roleid
                    WHERE m.member = p.oid))
        INTO why
        FROM pg_catalog.pg_roles p WHERE p.rolname = r;
        IF why <> '' THEN
            RAISE EXCEPTION 'llmtrace: the existing role % cannot be adopted (%)', r, why
                USING ERRCODE = '42501',
                      HINT = 'llmtrace''s roles are NOLOGIN group roles with no other attribute and no '
                             'membership of their own: change the role (ALTER ROLE ... NOLOGIN, REVOKE ...) '
                             'or drop it, then CREATE EXTENSION again.';
        END IF;
    END LOOP;
END
$roles$;

REVOKE ALL ON SCHEMA llmtrace FROM PUBLIC;
GRANT USAGE ON SCHEMA llmtrace TO llmtrace_writer, llmtrace_reader, llmtrace_admin;

-- ---------------------------------------------------------------------------
-- Spans: one row per normalized span, partitioned by day of start_time.
-- The key includes start_time (a partition key must be part of every unique
-- key); a re-delivered span carries the same start_time, so it is deduplicated.
-- ---------------------------------------------------------------------------
CREATE TABLE llmtrace.spans (
    trace_id            text        NOT NULL,
    span_id             text        NOT NULL,
    parent_span_id      text,
    name                text,
    kind                text,
    operation           text,
    start_time          timestamptz NOT NULL,
    end_time            timestamptz,
    duration_ms         double precision,
    status              text        NOT NULL,
    error_message       text,
    service             text,
    project             text,
    environment         text,
    endpoint            text,
    feature             text,
    provider            text,
    model               text,
    input_tokens        bigint,
    output_tokens       bigint,
    cached_input_tokens bigint,
    cache_write_tokens  bigint,
    reasoning_tokens    bigint,
    total_tokens        bigint,
    cost_usd            numeric,
    cost_status         text        NOT NULL,
    user_id             text,
    session_id          text,
    input               jsonb,
    output              jsonb,
    attributes          jsonb       NOT NULL DEFAULT '{}',
    source_format       text        NOT NULL,
    ingested_at         timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CONSTRAINT spans_pkey PRIMARY KEY (trace_id, span_id, start_time),
    CONSTRAINT spans_status_check CHECK (status IN ('ok', 'error', 'unset')),
    CONSTRAINT spans_cost_status_check
        CHECK (cost_status IN ('priced', 'reported', 'unpriced', 'no_usage', 'invalid_price',
                              'aggregate', 'unreconciled')),
    CONSTRAINT spans_source_format_check
        CHECK (source_format IN ('otlp', 'braintrust', 'vercel', 'native'))
) PARTITION BY RANGE (start_time);

COMMENT ON TABLE llmtrace.spans IS
    'Normalized LLM spans, one row per span; partitioned by day of start_time.';

-- Spans whose day has no partition of its own (back-fills, clock skew) land here.
CREATE TABLE llmtrace.spans_default PARTITION OF llmtrace.spans DEFAULT;

-- No daily partition is created here: tables made by this script belong to the
-- extension and would collide with a restored dump. llmtrace.ensure_partitions()
-- and llmtrace.maintain() (from a scheduler) create them and move rows out of
-- the default partition (src/sql/operations.sql).
SELECT pg_catalog.pg_extension_config_dump('llmtrace.spans_default', '');

-- ---------------------------------------------------------------------------
-- Quarantine for payloads (or single spans of a batch) that could not be
-- normalized while llmtrace.on_error = 'quarantine'.
-- ---------------------------------------------------------------------------
CREATE TABLE llmtrace.ingest_errors (
    id                bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    received_at       timestamptz NOT NULL DEFAULT pg_catalog.now(),
    payload           text,
    error             text        NOT NULL,
    sqlstate          text        NOT NULL,
    location          text,
    source_format     text,
    payload_bytes     bigint,
    payload_sha256    bytea,
    payload_truncated boolean     NOT NULL DEFAULT false
);

SELECT pg_catalog.pg_extension_config_dump('llmtrace.ingest_errors', '');

COMMENT ON TABLE llmtrace.ingest_errors IS
    'Payloads, or single spans of a batch, that could not be normalized, with the reason.';
COMMENT ON COLUMN llmtrace.ingest_errors.payload IS
    'The payload as received, or the one bad span of a batch (see location), cut at '
    'llmtrace.quarantine_max_bytes; NULL for a NULL payload and when llmtrace.store_content = none.';
COMMENT ON COLUMN llmtrace.ingest_errors.payload_bytes IS
    'Length in bytes of the whole payload as received.';
COMMENT ON COLUMN llmtrace.ingest_errors.payload_sha256 IS
    'SHA-256 of the whole payload as received: sha256(convert_to(payload_text, ''UTF8'')).';
COMMENT ON COLUMN llmtrace.ingest_errors.payload_truncated IS
    'True when payload holds only a prefix of the payload or bad span.';
COMMENT ON COLUMN llmtrace.ingest_errors.location IS
    'Where in the payload the bad span sits, e.g. resourceSpans[0].scopeSpans[1].spans[3].';

-- ---------------------------------------------------------------------------
-- Prices, USD per million tokens. provider NULL matches any provider.
-- ---------------------------------------------------------------------------

-- A price the cost engine can use: NULL (absent), or a finite number in
-- [0, 1000000) with at most 12 decimal places.
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
CREATE TABLE llmtrace.model_prices (
    id                             bigint      GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    provider                       text,
    model                          text        NOT NULL,
    match                          text        NOT NULL DEFAULT 'exact',
    input_usd_per_mtok             numeric     NOT NULL,
    output_usd_per_mtok            numeric,
    cached_input_usd_per_mtok      numeric,
    cache_write_usd_per_mtok       numeric,
    tier_threshold_tokens          bigint,
    tier_input_usd_per_mtok        numeric,
    tier_output_usd_per_mtok       numeric,
    tier_cached_input_usd_per_mtok numeric,
    tier_cache_write_usd_per_mtok  numeric,
    valid_from                     timestamptz NOT NULL DEFAULT '-infinity',
    source                         text        NOT NULL DEFAULT 'user',
    CONSTRAINT model_prices_match_check CHECK (match IN ('exact', 'prefix')),
    CONSTRAINT model_prices_source_check CHECK (source IN ('seed', 'user', 'litellm')),
    CONSTRAINT model_prices_model_check CHECK (model <> ''),
    CONSTRAINT model_prices_tier_check CHECK (
        (tier_threshold_tokens IS NULL) = (tier_input_usd_per_mtok IS NULL)
        AND (tier_threshold_tokens IS NULL OR tier_threshold_tokens > 0)),
    -- Every price is a finite number >= 0 and < 1,000,000 USD per million
    -- tokens with at most 12 decimal places, so every cost is computed exactly
    -- in fixed point (see src/core/cost.hpp). NaN and infinity are refused.
    CONSTRAINT model_prices_price_check CHECK (
        llmtrace.valid_price(input_usd_per_mtok)
        AND llmtrace.valid_price(output_usd_per_mtok)
        AND llmtrace.valid_price(cached_input_usd_per_mtok)
        AND llmtrace.valid_price(cache_write_usd_per_mtok)
        AND llmtrace.valid_price(tier_input_usd_per_mtok)
        AND llmtrace.valid_price(tier_output_usd_per_mtok)
        AND llmtrace.valid_price(tier_cached_input_usd_per_mtok)
        AND llmtrace.valid_price(tier_cache_write_usd_per_mtok))
);

CREATE UNIQUE INDEX model_prices_key
    ON llmtrace.model_prices (coalesce(provider, ''), pg_catalog.lower(model), match, valid_from);

COMMENT ON TABLE llmtrace.model_prices IS
    'Model prices in USD per million tokens; exact beats prefix, longest prefix wins, '
    'the row in force at the span start (valid_from) is used.';

-- A seeded or imported row a user edits becomes the user's row: pg_dump keeps
-- it and the importer leaves it alone. A seeded row edited this way gets a
-- positive id. (The importer and upgrade scripts never UPDATE: they DELETE and
-- INSERT.) Setting source explicitly is honoured.
CREATE FUNCTION llmtrace.model_prices_user_edit()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NEW.source = OLD.source AND OLD.source <> 'user' THEN
        NEW.source := 'user';
    END IF;
    IF NEW.source <> 'seed' AND NEW.id < 0 THEN
        NEW.id := nextval('llmtrace.model_prices_id_seq');
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER model_prices_user_edit
    BEFORE UPDATE ON llmtrace.model_prices
    FOR EACH ROW EXECUTE FUNCTION llmtrace.model_prices_user_edit();

-- A row for the same provider, model, match and valid_from as a seeded row
-- replaces the seeded row: that is how a price is overridden with INSERT, and
-- how a user's override wins again when a dump is restored.
CREATE FUNCTION llmtrace.model_prices_replace_seed()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NEW.source <> 'seed' THEN
        DELETE FROM llmtrace.model_prices mp
        WHERE mp.source = 'seed' AND coalesce(mp.provider, '') = coalesce(NEW.provider, '')
          AND lower(mp.model) = lower(NEW.model) AND mp.match = NEW.match
          AND mp.valid_from = NEW.valid_from;
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER model_prices_replace_seed
    BEFORE INSERT ON llmtrace.model_prices
    FOR EACH ROW EXECUTE FUNCTION llmtrace.model_prices_replace_seed();

-- User rows (source <> 'seed') are part of a pg_dump; seeded rows come with the extension.
SELECT pg_catalog.pg_extension_config_dump('llmtrace.model_prices', 'WHERE source <> ''seed''');
SELECT pg_catalog.pg_extension_config_dump('llmtrace.model_prices_id_seq', '');

-- ---------------------------------------------------------------------------
-- Price maintenance.
-- ---------------------------------------------------------------------------

-- LiteLLM provider names -> llmtrace's normalized provider names.
CREATE FUNCTION llmtrace.litellm_provider(name text)
RETURNS text
LANGUAGE sql
IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE lower(name)
        WHEN 'text-completion-openai' THEN 'openai'
        WHEN 'gemini' THEN 'google'
        WHEN 'vertex_ai-language-models' THEN 'google'
        WHEN 'vertex_ai-embedding-models' THEN 'google'
        WHEN 'vertex_ai' THEN 'google'
        WHEN 'bedrock_converse' THEN 'bedrock'
        WHEN 'azure_ai' THEN 'azure'
        WHEN 'mistral_ai' THEN 'mistral'
        ELSE nullif(lower(name), '')
    END
$$;

COMMENT ON FUNCTION llmtrace.litellm_provider(text) IS
    'Maps a LiteLLM litellm_provider value to the provider name llmtrace stores.';

-- USD per token (a JSON number) -> USD per million tokens, at most 12 decimals.
CREATE FUNCTION llmtrace.litellm_price(per_token jsonb)
RETURNS numeric
LANGUAGE sql
IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE WHEN jsonb_typeof(per_token) = 'number' AND per_token::numeric >= 0
                THEN trim_scale(round(per_token::numeric * 1000000, 12)) END
$$;

COMMENT ON FUNCTION llmtrace.litellm_price(jsonb) IS
    'Converts a LiteLLM per-token price to USD per million tokens (NULL when absent or invalid).';

-- Loads a LiteLLM model_prices_and_context_window.json document. A model seen for
-- the first time is added with valid_from -infinity; a model whose prices changed
-- gets a new row valid from now, so spans keep the price that was in force; an
-- identical price is left alone, so importing the same file twice changes nothing.
-- Rows users entered themselves (source 'user') are never touched: such models
-- are skipped, as are entries that are not text models or carry no input price.
CREATE FUNCTION llmtrace.import_litellm_prices(doc jsonb,
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

COMMENT ON FUNCTION llmtrace.import_litellm_prices(jsonb) IS
    'Loads LiteLLM''s model_prices_and_context_window.json: adds new models, adds a row valid '
    'from now for changed prices, leaves identical prices and user rows alone. Idempotent.';

-- ---------------------------------------------------------------------------
-- C entry points.
-- ---------------------------------------------------------------------------
CREATE FUNCTION llmtrace.ingest_row_trigger()
RETURNS trigger
LANGUAGE c
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'llmtrace_ingest_row_trigger';

CREATE FUNCTION llmtrace.ingest_statement_trigger()
RETURNS trigger
LANGUAGE c
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'llmtrace_ingest_statement_trigger';

CREATE FUNCTION llmtrace.ingest_json(payload text)
RETURNS bigint
LANGUAGE c
VOLATILE CALLED ON NULL INPUT
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'llmtrace_ingest_json';

COMMENT ON FUNCTION llmtrace.ingest_json(text) IS
    'Ingests one JSON payload (OTLP, Braintrust, Vercel, native, or an array of them); '
    'returns the number of spans newly stored (re-delivered spans are not counted). A NULL '
    'payload is bad input: quarantined or an error, by llmtrace.on_error.';

-- @OTLP@

CREATE FUNCTION llmtrace.cost(provider text, model text,
                              input_tokens bigint, output_tokens bigint,
                              cached_input_tokens bigint DEFAULT 0,
                              cache_write_tokens bigint DEFAULT 0,
                              at timestamptz DEFAULT pg_catalog.now())
RETURNS numeric
LANGUAGE c
STABLE
PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'llmtrace_cost';

COMMENT ON FUNCTION llmtrace.cost(text, text, bigint, bigint, bigint, bigint, timestamptz) IS
    'Cost in USD of one call from llmtrace.model_prices; input_tokens counts ALL input '
    'tokens (cached and cache writes included). NULL when the model has no price.';

CREATE FUNCTION llmtrace.prices_changed()
RETURNS trigger
LANGUAGE c
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'llmtrace_prices_changed';

-- Every change to the price table invalidates the price cache of every backend
-- (and of the changing transaction itself, statement by statement).
CREATE TRIGGER model_prices_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON llmtrace.model_prices
    FOR EACH STATEMENT EXECUTE FUNCTION llmtrace.prices_changed();

-- The version of the price table: bumped in the same transaction as every
-- change, so a backend's cache can tell whether the snapshot of a statement
-- sees the prices it holds (a statement prices with the prices its snapshot
-- sees; see src/pg/price_cache.cpp).
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

-- Price changes reach the caches also when applied with
-- session_replication_role = replica (logical replication, restores).
ALTER TABLE llmtrace.model_prices ENABLE ALWAYS TRIGGER model_prices_changed;
ALTER TABLE llmtrace.model_prices ENABLE ALWAYS TRIGGER model_prices_version;

-- ---------------------------------------------------------------------------
-- The ingest surface: INSERT or COPY one JSON document per row.
-- The view stores nothing itself; its INSTEAD OF trigger normalizes the payload
-- and its statement trigger writes the buffered spans when the statement ends.
-- ---------------------------------------------------------------------------
CREATE VIEW llmtrace.ingest AS
    SELECT NULL::text AS payload WHERE false;

COMMENT ON VIEW llmtrace.ingest IS
    'Write-only ingest surface: INSERT INTO llmtrace.ingest (payload) VALUES (...) or '
    'COPY llmtrace.ingest (payload) FROM STDIN, one JSON document per row.';

CREATE TRIGGER ingest_row
    INSTEAD OF INSERT ON llmtrace.ingest
    FOR EACH ROW EXECUTE FUNCTION llmtrace.ingest_row_trigger();

CREATE TRIGGER ingest_statement
    AFTER INSERT ON llmtrace.ingest
    FOR EACH STATEMENT EXECUTE FUNCTION llmtrace.ingest_statement_trigger();

-- The ingest triggers fire also under session_replication_role = replica: a
-- trigger that does not fire would let INSERT report success and store
-- nothing. ALTER TABLE ... ENABLE ALWAYS TRIGGER refuses views, so the
-- catalog is set directly (what that command does for tables); the GRANTs
-- below invalidate the view's cached definition in every backend.
UPDATE pg_catalog.pg_trigger SET tgenabled = 'A'
WHERE tgrelid = 'llmtrace.ingest'::pg_catalog.regclass
  AND tgname IN ('ingest_row', 'ingest_statement');

-- ---------------------------------------------------------------------------
-- Cost maintenance.
-- ---------------------------------------------------------------------------

-- Recomputes the cost of the stored spans that started in [from_time, to_time)
-- from the current price table (after a price was added or corrected). Costs
-- reported in the payload are kept. Returns the number of spans whose cost changed.
CREATE FUNCTION llmtrace.reprice(from_time timestamptz, to_time timestamptz)
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

COMMENT ON FUNCTION llmtrace.reprice(timestamptz, timestamptz) IS
    'Recomputes stored span costs in [from_time, to_time) from llmtrace.model_prices; '
    'reported costs are kept. Returns the number of spans whose cost changed.';

CREATE VIEW llmtrace.unpriced_models AS
    SELECT provider, model, count(*) AS spans,
           sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens,
           min(start_time) AS first_seen, max(start_time) AS last_seen
    FROM llmtrace.spans
    WHERE cost_status = 'unpriced'
    GROUP BY provider, model;

COMMENT ON VIEW llmtrace.unpriced_models IS
    'Models seen with tokens but without a price, with span counts: add a price, then '
    'call llmtrace.reprice().';

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

-- @SUMMARIES@

-- @ALERTS@

-- @OPERATIONS@

-- @TENANTS@

-- @OBSERVABILITY@

-- ---------------------------------------------------------------------------
-- Privileges: only the llmtrace roles get anything.
-- ---------------------------------------------------------------------------
REVOKE ALL ON ALL TABLES IN SCHEMA llmtrace FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA llmtrace FROM PUBLIC;

-- Trigger functions need no EXECUTE grant to fire (PostgreSQL checks it only
-- at CREATE TRIGGER), so no role gets one: nobody can attach them elsewhere.
GRANT INSERT ON llmtrace.ingest TO llmtrace_writer, llmtrace_admin;
-- Whether content is stored is the admin's decision, not a writer's: the
-- setting is superuser-only (a session cannot override a database-wide
-- 'none'), and llmtrace_admin may set it too.
GRANT SET ON PARAMETER llmtrace.store_content TO llmtrace_admin;
GRANT EXECUTE ON FUNCTION llmtrace.ingest_json(text) TO llmtrace_writer, llmtrace_admin;

-- Readers: spans, prices, the quarantine; cost() reads prices, so it is theirs
-- (and the admin's), not the writer's, who may only ingest.
GRANT SELECT ON llmtrace.spans, llmtrace.model_prices, llmtrace.unpriced_models,
    llmtrace.ingest_errors TO llmtrace_reader, llmtrace_admin;
GRANT EXECUTE ON FUNCTION llmtrace.cost(text, text, bigint, bigint, bigint, bigint, timestamptz)
    TO llmtrace_reader, llmtrace_admin;

-- Admin: prices, partitions, the quarantine, cost maintenance.
GRANT DELETE ON llmtrace.ingest_errors TO llmtrace_admin;
GRANT INSERT, UPDATE, DELETE ON llmtrace.model_prices TO llmtrace_admin;
GRANT USAGE ON SEQUENCE llmtrace.model_prices_id_seq TO llmtrace_admin;
GRANT EXECUTE ON FUNCTION llmtrace.import_litellm_prices(jsonb), llmtrace.litellm_price(jsonb),
    llmtrace.litellm_provider(text), llmtrace.valid_price(numeric) TO llmtrace_admin;
GRANT EXECUTE ON FUNCTION llmtrace.reprice(timestamptz, timestamptz) TO llmtrace_admin;
GRANT UPDATE (cost_usd, cost_status) ON llmtrace.spans TO llmtrace_admin;

-- Latency sketches: readers and admins (the summaries built on them are theirs).
GRANT EXECUTE ON ROUTINE llmtrace.latency_sketch(double precision), llmtrace.merge(llmtrace.latency_sketch),
    llmtrace.quantile(llmtrace.latency_sketch, double precision),
    llmtrace.cumulative_counts(llmtrace.latency_sketch, double precision[]),
    llmtrace.sketch_count(llmtrace.latency_sketch), llmtrace.sketch_sum(llmtrace.latency_sketch),
    llmtrace.sketch_min(llmtrace.latency_sketch), llmtrace.sketch_max(llmtrace.latency_sketch)
    TO llmtrace_reader, llmtrace_admin;

-- ---------------------------------------------------------------------------
-- Seeded list prices (data/model_prices.csv, see tools/litellm_prices_to_csv.py).
-- Seeded rows have negative ids, every other row a positive one, so rows of a
-- restored dump never collide with the seeds a new CREATE EXTENSION made.
-- Columns: provider, model, match, input, output, cached_input, cache_write,
-- tier_threshold_tokens, tier_input, tier_output, tier_cached_input, tier_cache_write.
-- ---------------------------------------------------------------------------
INSERT INTO llmtrace.model_prices
    (id, provider, model, match, input_usd_per_mtok, output_usd_per_mtok,
     cached_input_usd_per_mtok, cache_write_usd_per_mtok, tier_threshold_tokens,
     tier_input_usd_per_mtok, tier_output_usd_per_mtok, tier_cached_input_usd_per_mtok,
     tier_cache_write_usd_per_mtok, source)
SELECT -row_number() OVER (), nullif(f[1], ''), f[2], f[3], f[4]::numeric, nullif(f[5], '')::numeric,
       nullif(f[6], '')::numeric, nullif(f[7], '')::numeric, nullif(f[8], '')::bigint,
       nullif(f[9], '')::numeric, nullif(f[10], '')::numeric, nullif(f[11], '')::numeric,
       nullif(f[12], '')::numeric, 'seed'
FROM (SELECT pg_catalog.string_to_array(line, ',') AS f
      FROM pg_catalog.regexp_split_to_table($csv$
-- @MODEL_PRICES_CSV@
$csv$, E'\n') AS line
      WHERE line <> '' AND line NOT LIKE '#%' AND line NOT LIKE 'provider,%') AS rows;
