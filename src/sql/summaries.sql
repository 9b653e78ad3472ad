-- ---------------------------------------------------------------------------
-- Summaries (this part is included in the install script and in the upgrade
-- script to 0.2.0).
--
-- How the figures stay exact and writers never wait on each other:
--   * ingest appends, in the same transaction as the spans, one row per
--     statement and group to llmtrace.rollup_deltas (hour x project x
--     environment x provider x model x feature x endpoint x user) and to
--     llmtrace.daily_deltas (UTC day x project x environment x provider x
--     model, with the sets of users and sessions), with the sums of the spans
--     that statement newly stored (a re-delivered span is not stored, so it
--     adds nothing) and their latency sketch. Appending takes no lock any other
--     writer waits for; a rollback takes the rows with it.
--   * an UPDATE of stored spans (llmtrace.reprice()) appends correction rows:
--     the new values minus the old ones.
--   * llmtrace.fold_rollups() moves the live deltas into the hourly rollups and
--     the daily rollups by feature, endpoint and user;
--     llmtrace.refresh_daily_cost_summary() moves the daily deltas into the
--     daily rollups by model and rewrites the rows of the materialized view
--     whose rollups changed (src/entry/refresh.cpp). A scheduler
--     calls both; each runs one at a time, and each costs what its own new
--     deltas cost, whatever the history.
--   * live readers (llmtrace.metrics_summary() and friends) read the rollups
--     plus the deltas not folded yet in one snapshot: a committed transaction
--     is seen whole or not at all, an uncommitted one never.
--   * dropping spans (retention) changes no summary: nothing is computed
--     from llmtrace.spans.
-- ---------------------------------------------------------------------------

-- Two latency sketches merged (NULL is the empty sketch).
CREATE FUNCTION llmtrace.merge(a llmtrace.latency_sketch, b llmtrace.latency_sketch)
    RETURNS llmtrace.latency_sketch
    LANGUAGE c IMMUTABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'llmtrace_sketch_merge2';
COMMENT ON FUNCTION llmtrace.merge(llmtrace.latency_sketch, llmtrace.latency_sketch) IS
    'The merge of two latency sketches (NULL counts as empty).';

-- Sets of ids for exact distinct counts that merge (src/core/id_set.hpp):
-- the users and sessions of a day of a model group.
CREATE FUNCTION llmtrace.id_set_union(a bytea, b bytea) RETURNS bytea
    LANGUAGE c IMMUTABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'llmtrace_id_set_union';
CREATE FUNCTION llmtrace.id_set_count(bytea) RETURNS bigint
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'llmtrace_id_set_count';
CREATE FUNCTION llmtrace.id_set_of(ids text[]) RETURNS bytea
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'llmtrace_id_set_of';
CREATE FUNCTION llmtrace.id_set_merge_trans(internal, bytea) RETURNS internal
    LANGUAGE c PARALLEL SAFE AS 'MODULE_PATHNAME', 'llmtrace_id_set_merge_trans';
CREATE FUNCTION llmtrace.id_set_merge_final(internal) RETURNS bytea
    LANGUAGE c PARALLEL SAFE AS 'MODULE_PATHNAME', 'llmtrace_id_set_merge_final';
CREATE AGGREGATE llmtrace.id_set_merge(bytea) (
    SFUNC = llmtrace.id_set_merge_trans,
    STYPE = internal,
    FINALFUNC = llmtrace.id_set_merge_final
);
COMMENT ON FUNCTION llmtrace.id_set_union(bytea, bytea) IS
    'Internal: the union of two id sets (NULL is empty).';
COMMENT ON FUNCTION llmtrace.id_set_count(bytea) IS
    'Internal: the number of distinct ids of an id set (exact up to 1,048,576 ids, then estimated).';
COMMENT ON FUNCTION llmtrace.id_set_of(text[]) IS
    'Internal: the id set of the non-NULL ids of an array.';
COMMENT ON AGGREGATE llmtrace.id_set_merge(bytea) IS
    'Internal: the union of id sets.';

-- The setting llmtrace.rollup_retention_days (defined by the library, which
-- calling this loads).
CREATE FUNCTION llmtrace.rollup_retention_days()
    RETURNS integer
    LANGUAGE c STABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'llmtrace_rollup_retention_days';
COMMENT ON FUNCTION llmtrace.rollup_retention_days() IS
    'The value of the setting llmtrace.rollup_retention_days.';

CREATE TABLE llmtrace.rollup_deltas (
    hour                timestamptz NOT NULL,
    project             text,
    environment         text,
    provider            text,
    model               text,
    feature             text,
    endpoint            text,
    user_id             text,
    spans               bigint      NOT NULL,
    errors              bigint      NOT NULL,
    costed_spans        bigint      NOT NULL,
    unpriced_spans      bigint      NOT NULL,
    input_tokens        numeric     NOT NULL,
    output_tokens       numeric     NOT NULL,
    cached_input_tokens numeric     NOT NULL,
    cache_write_tokens  numeric     NOT NULL,
    reasoning_tokens    numeric     NOT NULL,
    total_tokens        numeric     NOT NULL,
    cost_usd            numeric     NOT NULL,
    latency             llmtrace.latency_sketch
);

COMMENT ON TABLE llmtrace.rollup_deltas IS
    'Internal: what each ingest statement (or span UPDATE) added to the live summaries, per hour '
    'and group, not yet folded into llmtrace.hourly_rollups and llmtrace.daily_rollups.';

CREATE TABLE llmtrace.daily_deltas (
    day                 date        NOT NULL,
    project             text,
    environment         text,
    provider            text,
    model               text,
    spans               bigint      NOT NULL,
    errors              bigint      NOT NULL,
    costed_spans        bigint      NOT NULL,
    unpriced_spans      bigint      NOT NULL,
    input_tokens        numeric     NOT NULL,
    output_tokens       numeric     NOT NULL,
    cached_input_tokens numeric     NOT NULL,
    cache_write_tokens  numeric     NOT NULL,
    reasoning_tokens    numeric     NOT NULL,
    total_tokens        numeric     NOT NULL,
    cost_usd            numeric     NOT NULL,
    latency             llmtrace.latency_sketch,
    user_keys           bytea,
    session_keys        bytea
);

COMMENT ON TABLE llmtrace.daily_deltas IS
    'Internal: what each ingest statement (or span UPDATE) added to the daily summary, per UTC day '
    'and model group with its users and sessions, not yet folded into llmtrace.daily_rollups.';

-- What each ingest statement stored, per minute of the ingest (the
-- transaction's start, as llmtrace.spans.ingested_at) and source format:
-- llmtrace.health reads the traffic of the last minutes from it without
-- scanning spans. Appended like the other deltas (no lock another writer
-- waits for); llmtrace.fold_rollups() compacts it to one row per minute and
-- format, keeps a day of minutes and the last minute of each format.
CREATE TABLE llmtrace.ingest_deltas (
    minute              timestamptz NOT NULL,
    source_format       text,
    spans               bigint      NOT NULL,
    errors              bigint      NOT NULL,
    costed_spans        bigint      NOT NULL,
    unpriced_spans      bigint      NOT NULL,
    input_tokens        numeric     NOT NULL,
    output_tokens       numeric     NOT NULL,
    cached_input_tokens numeric     NOT NULL,
    cache_write_tokens  numeric     NOT NULL,
    reasoning_tokens    numeric     NOT NULL,
    total_tokens        numeric     NOT NULL,
    cost_usd            numeric     NOT NULL,
    latency             llmtrace.latency_sketch
);

COMMENT ON TABLE llmtrace.ingest_deltas IS
    'Internal: spans stored per minute of ingest and source format (what llmtrace.health reports '
    'of the traffic); compacted by llmtrace.fold_rollups().';

-- The key of a group: SHA-256 of its grouping values (NULL distinct from every
-- string). Unique keys are on this hash, not on the values themselves, which
-- can be longer than an index entry may be.
CREATE FUNCTION llmtrace.group_key(project text, environment text, provider text, model text,
                                   feature text, endpoint text, user_id text)
    RETURNS bytea
    LANGUAGE c IMMUTABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'llmtrace_group_key';
COMMENT ON FUNCTION llmtrace.group_key(text, text, text, text, text, text, text) IS
    'Internal: the key of a rollup group, SHA-256 of its grouping values.';

-- The rollups. grain says which columns group the row: model (project,
-- environment, provider, model), feature, endpoint or user (project,
-- environment and that column); the other grouping columns are NULL.
-- costed_spans counts spans with a cost: cost_usd is meaningful when it is > 0.
CREATE TABLE llmtrace.hourly_rollups (
    grain               text        NOT NULL,
    hour                timestamptz NOT NULL,
    project             text,
    environment         text,
    provider            text,
    model               text,
    feature             text,
    endpoint            text,
    user_id             text,
    spans               bigint      NOT NULL,
    errors              bigint      NOT NULL,
    costed_spans        bigint      NOT NULL,
    unpriced_spans      bigint      NOT NULL,
    input_tokens        numeric     NOT NULL,
    output_tokens       numeric     NOT NULL,
    cached_input_tokens numeric     NOT NULL,
    cache_write_tokens  numeric     NOT NULL,
    reasoning_tokens    numeric     NOT NULL,
    total_tokens        numeric     NOT NULL,
    cost_usd            numeric     NOT NULL,
    latency             llmtrace.latency_sketch,
    group_key           bytea       NOT NULL,
    CONSTRAINT hourly_rollups_grain_check CHECK (grain IN ('model', 'feature', 'endpoint', 'user')),
    CONSTRAINT hourly_rollups_key UNIQUE (grain, hour, group_key)
);

-- The retention delete of each fold finds old rows without a scan.
CREATE INDEX hourly_rollups_hour ON llmtrace.hourly_rollups (hour);

COMMENT ON TABLE llmtrace.hourly_rollups IS
    'Hourly sums and latency sketches per model, feature, endpoint and user (grain), kept for '
    'llmtrace.rollup_retention_days; cost_usd is meaningful where costed_spans > 0.';

CREATE TABLE llmtrace.daily_rollups (
    id                  bigint      GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    grain               text        NOT NULL,
    day                 date        NOT NULL,
    project             text,
    environment         text,
    provider            text,
    model               text,
    feature             text,
    endpoint            text,
    user_id             text,
    spans               bigint      NOT NULL,
    errors              bigint      NOT NULL,
    costed_spans        bigint      NOT NULL,
    unpriced_spans      bigint      NOT NULL,
    input_tokens        numeric     NOT NULL,
    output_tokens       numeric     NOT NULL,
    cached_input_tokens numeric     NOT NULL,
    cache_write_tokens  numeric     NOT NULL,
    reasoning_tokens    numeric     NOT NULL,
    total_tokens        numeric     NOT NULL,
    cost_usd            numeric     NOT NULL,
    latency             llmtrace.latency_sketch,
    users               bigint,
    sessions            bigint,
    group_key           bytea       NOT NULL,
    users_set           bytea,
    sessions_set        bytea,
    CONSTRAINT daily_rollups_grain_check CHECK (grain IN ('model', 'feature', 'endpoint', 'user')),
    CONSTRAINT daily_rollups_key UNIQUE (grain, day, group_key)
);

COMMENT ON TABLE llmtrace.daily_rollups IS
    'Daily (UTC) sums and latency sketches per model, feature, endpoint and user (grain), kept '
    'forever; users and sessions (distinct) on model rows, which llmtrace.refresh_daily_cost_summary() '
    'keeps; cost_usd is meaningful where costed_spans > 0.';

-- All-time sums per model group (project x environment x provider x model),
-- kept by the fold of the daily deltas with the daily rollups: what the
-- Prometheus counters read, at a cost that does not grow with the days kept.
CREATE TABLE llmtrace.total_rollups (
    project             text,
    environment         text,
    provider            text,
    model               text,
    spans               bigint      NOT NULL,
    errors              bigint      NOT NULL,
    costed_spans        bigint      NOT NULL,
    unpriced_spans      bigint      NOT NULL,
    input_tokens        numeric     NOT NULL,
    output_tokens       numeric     NOT NULL,
    cached_input_tokens numeric     NOT NULL,
    cache_write_tokens  numeric     NOT NULL,
    reasoning_tokens    numeric     NOT NULL,
    total_tokens        numeric     NOT NULL,
    cost_usd            numeric     NOT NULL,
    latency             llmtrace.latency_sketch,
    group_key           bytea       NOT NULL PRIMARY KEY
);

COMMENT ON TABLE llmtrace.total_rollups IS
    'All-time sums and latency sketch per project x environment x provider x model, kept by '
    'llmtrace.refresh_daily_cost_summary() with the model rows of llmtrace.daily_rollups (it does '
    'not follow manual edits of those); read by the Prometheus views.';

-- Summaries survive pg_dump / pg_restore (they outlive the spans).
SELECT pg_catalog.pg_extension_config_dump('llmtrace.rollup_deltas', '');
SELECT pg_catalog.pg_extension_config_dump('llmtrace.hourly_rollups', '');
SELECT pg_catalog.pg_extension_config_dump('llmtrace.daily_rollups', '');
SELECT pg_catalog.pg_extension_config_dump('llmtrace.daily_rollups_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('llmtrace.total_rollups', '');
SELECT pg_catalog.pg_extension_config_dump('llmtrace.daily_deltas', '');
SELECT pg_catalog.pg_extension_config_dump('llmtrace.ingest_deltas', '');

-- The span UPDATE trigger: costs, tokens and status may change (reprice);
-- the rollups get the difference. What a sketch or a distinct count cannot
-- take back (a span's grouping columns, duration, session) may not change.
CREATE FUNCTION llmtrace.spans_updated_internal()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_TABLE_SCHEMA <> 'llmtrace' OR TG_TABLE_NAME <> 'spans' OR TG_LEVEL <> 'STATEMENT'
       OR TG_OP <> 'UPDATE' THEN
        RAISE EXCEPTION 'llmtrace.spans_updated() is the statement UPDATE trigger of llmtrace.spans'
            USING ERRCODE = '39P01';
    END IF;
    IF EXISTS (
        SELECT 1
        FROM old_spans o FULL JOIN new_spans n
          ON o.trace_id = n.trace_id AND o.span_id = n.span_id AND o.start_time = n.start_time
        WHERE o.trace_id IS NULL OR n.trace_id IS NULL
           OR (o.project, o.environment, o.feature, o.endpoint, o.user_id, o.session_id)
              IS DISTINCT FROM
              (n.project, n.environment, n.feature, n.endpoint, n.user_id, n.session_id)
           OR (o.provider IS NOT NULL AND o.provider IS DISTINCT FROM n.provider)
           OR (o.model IS NOT NULL AND o.model IS DISTINCT FROM n.model)
           OR (o.duration_ms IS NOT NULL AND o.duration_ms IS DISTINCT FROM n.duration_ms)) THEN
        RAISE EXCEPTION 'llmtrace: an UPDATE of llmtrace.spans may change costs, tokens and status only'
            USING ERRCODE = '0A000',
                  DETAIL = 'The key, the grouping columns (project, environment, provider, model, '
                           'feature, endpoint, user_id, session_id) and duration_ms of a stored span '
                           'are what the summaries were built from; only a provider, model or duration '
                           'the span did not have may be added (a Braintrust row completing its span).';
    END IF;
    -- A span that moves to another group (a model it did not have) leaves one
    -- (spans -1) and joins the other (+1, with its user and session); a
    -- duration it did not have joins the latency sketch of its new group.
    WITH x AS (
        SELECT 1 AS sign, n.*,
               CASE WHEN o.duration_ms IS NULL THEN n.duration_ms END AS added_duration,
               (o.provider, o.model) IS DISTINCT FROM (n.provider, n.model) AS moved
        FROM new_spans n JOIN old_spans o USING (trace_id, span_id, start_time)
        UNION ALL
        SELECT -1 AS sign, o.*, NULL::double precision, false
        FROM old_spans o
    ),
    diff AS (
        SELECT date_trunc('hour', x.start_time, 'UTC') AS hour, x.project, x.environment, x.provider,
               x.model, x.feature, x.endpoint, x.user_id,
               sum(x.sign) AS spans,
               llmtrace.latency_sketch(x.added_duration) AS latency,
               array_agg(x.user_id) FILTER (WHERE x.moved AND x.user_id IS NOT NULL) AS moved_users,
               array_agg(x.session_id) FILTER (WHERE x.moved AND x.session_id IS NOT NULL) AS moved_sessions,
               sum(x.sign * (x.status = 'error')::int) AS errors,
               sum(x.sign * (x.cost_usd IS NOT NULL)::int) AS costed_spans,
               sum(x.sign * (x.cost_status IN ('unpriced', 'invalid_price'))::int) AS unpriced_spans,
               sum(x.sign * coalesce(x.input_tokens, 0)) AS input_tokens,
               sum(x.sign * coalesce(x.output_tokens, 0)) AS output_tokens,
               sum(x.sign * coalesce(x.cached_input_tokens, 0)) AS cached_input_tokens,
               sum(x.sign * coalesce(x.cache_write_tokens, 0)) AS cache_write_tokens,
               sum(x.sign * coalesce(x.reasoning_tokens, 0)) AS reasoning_tokens,
               sum(x.sign * coalesce(x.total_tokens, 0)) AS total_tokens,
               sum(x.sign * coalesce(x.cost_usd, 0)) AS cost_usd
        FROM x
        GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
    ),
    changed AS (
        SELECT * FROM diff
        WHERE (spans, errors, costed_spans, unpriced_spans, input_tokens, output_tokens, cached_input_tokens,
               cache_write_tokens, reasoning_tokens, total_tokens, cost_usd)
              IS DISTINCT FROM (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
           OR latency IS NOT NULL OR moved_users IS NOT NULL OR moved_sessions IS NOT NULL
    ),
    live AS (
        INSERT INTO llmtrace.rollup_deltas
            (hour, project, environment, provider, model, feature, endpoint, user_id,
             spans, errors, costed_spans, unpriced_spans, input_tokens, output_tokens,
             cached_input_tokens, cache_write_tokens, reasoning_tokens, total_tokens, cost_usd, latency)
        SELECT c.hour, c.project, c.environment, c.provider, c.model, c.feature, c.endpoint, c.user_id,
               c.spans, c.errors, c.costed_spans, c.unpriced_spans, c.input_tokens, c.output_tokens,
               c.cached_input_tokens, c.cache_write_tokens, c.reasoning_tokens, c.total_tokens, c.cost_usd,
               c.latency
        FROM changed c
    )
    INSERT INTO llmtrace.daily_deltas
        (day, project, environment, provider, model, spans, errors, costed_spans, unpriced_spans,
         input_tokens, output_tokens, cached_input_tokens, cache_write_tokens, reasoning_tokens,
         total_tokens, cost_usd, latency, user_keys, session_keys)
    SELECT (c.hour AT TIME ZONE 'UTC')::date, c.project, c.environment, c.provider, c.model, sum(c.spans),
           sum(c.errors), sum(c.costed_spans), sum(c.unpriced_spans), sum(c.input_tokens),
           sum(c.output_tokens), sum(c.cached_input_tokens), sum(c.cache_write_tokens),
           sum(c.reasoning_tokens), sum(c.total_tokens), sum(c.cost_usd), llmtrace.merge(c.latency),
           llmtrace.id_set_merge(llmtrace.id_set_of(c.moved_users)),
           llmtrace.id_set_merge(llmtrace.id_set_of(c.moved_sessions))
    FROM changed c
    GROUP BY 1, 2, 3, 4, 5;
    RETURN NULL;
END
$$;

-- llmtrace.spans_updated(): llmtrace.spans_updated_internal() run as the extension owner in a
-- security-restricted context (src/entry/owner.cpp), not SECURITY DEFINER.
CREATE FUNCTION llmtrace.spans_updated()
RETURNS trigger
LANGUAGE c
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'llmtrace_as_owner';

CREATE TRIGGER spans_summaries
    AFTER UPDATE ON llmtrace.spans
    REFERENCING OLD TABLE AS old_spans NEW TABLE AS new_spans
    FOR EACH STATEMENT EXECUTE FUNCTION llmtrace.spans_updated();
ALTER TABLE llmtrace.spans ENABLE ALWAYS TRIGGER spans_summaries;

-- Moves the live deltas into the hourly rollups (kept
-- llmtrace.rollup_retention_days) and the daily rollups by feature, endpoint
-- and user. One statement: the deltas a fold deletes are exactly those it
-- adds. Folds run one at a time; writers never wait for one.
CREATE FUNCTION llmtrace.fold_rollups_internal()
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    folded  bigint;
    horizon timestamptz := date_trunc('day', now(), 'UTC')
                           - make_interval(days => llmtrace.rollup_retention_days());
BEGIN
    PERFORM pg_advisory_xact_lock(pg_catalog.hashtext('llmtrace.fold_rollups'));
    WITH d AS (
        DELETE FROM llmtrace.rollup_deltas RETURNING *
    ),
    hourly AS (
        INSERT INTO llmtrace.hourly_rollups AS r
            (grain, hour, project, environment, provider, model, feature, endpoint, user_id,
             spans, errors, costed_spans, unpriced_spans, input_tokens, output_tokens,
             cached_input_tokens, cache_write_tokens, reasoning_tokens, total_tokens, cost_usd, latency,
             group_key)
        SELECT g.*, llmtrace.group_key(g.project, g.environment, g.provider, g.model, g.feature,
                                       g.endpoint, g.user_id)
        FROM (SELECT CASE WHEN grouping(d.model) = 0 THEN 'model' WHEN grouping(d.feature) = 0 THEN 'feature'
                          WHEN grouping(d.endpoint) = 0 THEN 'endpoint' ELSE 'user' END,
                     d.hour, d.project, d.environment, d.provider, d.model, d.feature, d.endpoint, d.user_id,
                     sum(d.spans), sum(d.errors), sum(d.costed_spans), sum(d.unpriced_spans),
                     sum(d.input_tokens), sum(d.output_tokens), sum(d.cached_input_tokens),
                     sum(d.cache_write_tokens), sum(d.reasoning_tokens), sum(d.total_tokens),
                     sum(d.cost_usd), llmtrace.merge(d.latency)
              FROM d
              WHERE d.hour >= horizon
              GROUP BY GROUPING SETS ((d.hour, d.project, d.environment, d.provider, d.model),
                                      (d.hour, d.project, d.environment, d.feature),
                                      (d.hour, d.project, d.environment, d.endpoint),
                                      (d.hour, d.project, d.environment, d.user_id))) g
        ON CONFLICT (grain, hour, group_key)
        DO UPDATE SET spans = r.spans + excluded.spans, errors = r.errors + excluded.errors,
            costed_spans = r.costed_spans + excluded.costed_spans,
            unpriced_spans = r.unpriced_spans + excluded.unpriced_spans,
            input_tokens = r.input_tokens + excluded.input_tokens,
            output_tokens = r.output_tokens + excluded.output_tokens,
            cached_input_tokens = r.cached_input_tokens + excluded.cached_input_tokens,
            cache_write_tokens = r.cache_write_tokens + excluded.cache_write_tokens,
            reasoning_tokens = r.reasoning_tokens + excluded.reasoning_tokens,
            total_tokens = r.total_tokens + excluded.total_tokens,
            cost_usd = r.cost_usd + excluded.cost_usd,
            latency = llmtrace.merge(r.latency, excluded.latency)
    ),
    daily AS (
        INSERT INTO llmtrace.daily_rollups AS r
            (grain, day, project, environment, provider, model, feature, endpoint, user_id,
             spans, errors, costed_spans, unpriced_spans, input_tokens, output_tokens,
             cached_input_tokens, cache_write_tokens, reasoning_tokens, total_tokens, cost_usd,
             latency, group_key)
        SELECT g.*, llmtrace.group_key(g.project, g.environment, g.provider, g.model, g.feature,
                                       g.endpoint, g.user_id)
        FROM (SELECT CASE WHEN grouping(d.feature) = 0 THEN 'feature'
                          WHEN grouping(d.endpoint) = 0 THEN 'endpoint' ELSE 'user' END,
                     (d.hour AT TIME ZONE 'UTC')::date AS day, d.project, d.environment,
                     NULL::text AS provider, NULL::text AS model, d.feature, d.endpoint, d.user_id,
                     sum(d.spans), sum(d.errors), sum(d.costed_spans), sum(d.unpriced_spans),
                     sum(d.input_tokens), sum(d.output_tokens), sum(d.cached_input_tokens),
                     sum(d.cache_write_tokens), sum(d.reasoning_tokens), sum(d.total_tokens),
                     sum(d.cost_usd), llmtrace.merge(d.latency)
              FROM d
              GROUP BY GROUPING SETS (((d.hour AT TIME ZONE 'UTC')::date, d.project, d.environment, d.feature),
                                      ((d.hour AT TIME ZONE 'UTC')::date, d.project, d.environment, d.endpoint),
                                      ((d.hour AT TIME ZONE 'UTC')::date, d.project, d.environment, d.user_id))) g
        ON CONFLICT (grain, day, group_key)
        DO UPDATE SET spans = r.spans + excluded.spans, errors = r.errors + excluded.errors,
            costed_spans = r.costed_spans + excluded.costed_spans,
            unpriced_spans = r.unpriced_spans + excluded.unpriced_spans,
            input_tokens = r.input_tokens + excluded.input_tokens,
            output_tokens = r.output_tokens + excluded.output_tokens,
            cached_input_tokens = r.cached_input_tokens + excluded.cached_input_tokens,
            cache_write_tokens = r.cache_write_tokens + excluded.cache_write_tokens,
            reasoning_tokens = r.reasoning_tokens + excluded.reasoning_tokens,
            total_tokens = r.total_tokens + excluded.total_tokens,
            cost_usd = r.cost_usd + excluded.cost_usd,
            latency = llmtrace.merge(r.latency, excluded.latency)
    )
    SELECT count(*) INTO folded FROM d;
    -- Hourly rollups older than the retention go; daily ones stay.
    DELETE FROM llmtrace.hourly_rollups WHERE hour < horizon;
    -- The ingest minutes: one row per minute and format, a day of them, and
    -- the last minute of each format (when it was last seen).
    WITH d AS (
        DELETE FROM llmtrace.ingest_deltas RETURNING *
    ),
    g AS (
        SELECT d.minute, d.source_format, sum(d.spans) AS spans, sum(d.errors) AS errors,
               sum(d.costed_spans) AS costed_spans, sum(d.unpriced_spans) AS unpriced_spans,
               sum(d.input_tokens) AS input_tokens, sum(d.output_tokens) AS output_tokens,
               sum(d.cached_input_tokens) AS cached_input_tokens,
               sum(d.cache_write_tokens) AS cache_write_tokens,
               sum(d.reasoning_tokens) AS reasoning_tokens, sum(d.total_tokens) AS total_tokens,
               sum(d.cost_usd) AS cost_usd, llmtrace.merge(d.latency) AS latency,
               max(d.minute) OVER (PARTITION BY d.source_format) AS last_minute
        FROM d
        GROUP BY d.minute, d.source_format
    )
    INSERT INTO llmtrace.ingest_deltas
    SELECT g.minute, g.source_format, g.spans, g.errors, g.costed_spans, g.unpriced_spans,
           g.input_tokens, g.output_tokens, g.cached_input_tokens, g.cache_write_tokens,
           g.reasoning_tokens, g.total_tokens, g.cost_usd, g.latency
    FROM g
    WHERE g.minute >= now() - interval '1 day' OR g.minute = g.last_minute;
    PERFORM llmtrace.note_job_run('fold_rollups', pg_catalog.jsonb_build_object('deltas_folded', folded));
    RETURN folded;
END
$$;

COMMENT ON FUNCTION llmtrace.fold_rollups_internal() IS
    'Internal (granted to nobody): llmtrace.fold_rollups(), run as the extension owner.';

-- llmtrace.fold_rollups(): llmtrace.fold_rollups_internal() run as the extension owner in a
-- security-restricted context (src/entry/owner.cpp), not SECURITY DEFINER.
CREATE FUNCTION llmtrace.fold_rollups()
RETURNS bigint
LANGUAGE c
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'llmtrace_as_owner';

COMMENT ON FUNCTION llmtrace.fold_rollups() IS
    'Folds the pending live deltas into llmtrace.hourly_rollups and the feature, endpoint and user '
    'rows of llmtrace.daily_rollups, and drops hourly rollups older than '
    'llmtrace.rollup_retention_days; returns the deltas folded. Call it from a scheduler.';

-- What llmtrace.refresh_daily_cost_summary() has to rewrite in the view: the
-- ids of the model rows of llmtrace.daily_rollups changed since it last ran,
-- whoever changed them (the fold, or an administrator's UPDATE or DELETE); a
-- NULL id when the table was truncated (the whole view is refreshed).
CREATE TABLE llmtrace.daily_view_changes (
    rollup_id bigint
);

COMMENT ON TABLE llmtrace.daily_view_changes IS
    'Internal: ids of the model rows of llmtrace.daily_rollups changed since the last '
    'llmtrace.refresh_daily_cost_summary() (NULL: truncated).';

CREATE FUNCTION llmtrace.daily_rollups_changed_internal()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        INSERT INTO llmtrace.daily_view_changes VALUES (NULL);
    ELSIF TG_OP = 'INSERT' THEN
        INSERT INTO llmtrace.daily_view_changes SELECT n.id FROM new_rows n WHERE n.grain = 'model';
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO llmtrace.daily_view_changes SELECT o.id FROM old_rows o WHERE o.grain = 'model';
    ELSE
        INSERT INTO llmtrace.daily_view_changes
            SELECT n.id FROM new_rows n WHERE n.grain = 'model'
            UNION SELECT o.id FROM old_rows o WHERE o.grain = 'model';
    END IF;
    RETURN NULL;
END
$$;

-- llmtrace.daily_rollups_changed(): llmtrace.daily_rollups_changed_internal() run as the extension owner in a
-- security-restricted context (src/entry/owner.cpp), not SECURITY DEFINER.
CREATE FUNCTION llmtrace.daily_rollups_changed()
RETURNS trigger
LANGUAGE c
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'llmtrace_as_owner';

COMMENT ON FUNCTION llmtrace.daily_rollups_changed() IS
    'Internal: the triggers of llmtrace.daily_rollups that note changed rows in '
    'llmtrace.daily_view_changes.';

CREATE TRIGGER daily_rollups_inserted AFTER INSERT ON llmtrace.daily_rollups
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION llmtrace.daily_rollups_changed();
CREATE TRIGGER daily_rollups_updated AFTER UPDATE ON llmtrace.daily_rollups
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION llmtrace.daily_rollups_changed();
CREATE TRIGGER daily_rollups_deleted AFTER DELETE ON llmtrace.daily_rollups
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION llmtrace.daily_rollups_changed();
CREATE TRIGGER daily_rollups_truncated AFTER TRUNCATE ON llmtrace.daily_rollups
    FOR EACH STATEMENT EXECUTE FUNCTION llmtrace.daily_rollups_changed();
ALTER TABLE llmtrace.daily_rollups ENABLE ALWAYS TRIGGER daily_rollups_inserted;
ALTER TABLE llmtrace.daily_rollups ENABLE ALWAYS TRIGGER daily_rollups_updated;
ALTER TABLE llmtrace.daily_rollups ENABLE ALWAYS TRIGGER daily_rollups_deleted;
ALTER TABLE llmtrace.daily_rollups ENABLE ALWAYS TRIGGER daily_rollups_truncated;

-- Moves the daily deltas into the daily rollups by model, with their distinct
-- users and sessions; returns the number of deltas folded. One at a time (the
-- advisory lock): the union of each changed row's id sets is computed once,
-- from the row as the previous fold left it. Writers never wait for it.
-- Internal: llmtrace.refresh_daily_cost_summary() calls it.
CREATE FUNCTION llmtrace.fold_daily_rollups()
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    folded bigint;
BEGIN
    PERFORM pg_advisory_xact_lock(pg_catalog.hashtext('llmtrace.fold_daily_rollups'));
    WITH d AS (
        DELETE FROM llmtrace.daily_deltas RETURNING *
    ),
    g AS (
        SELECT d.day, d.project, d.environment, d.provider, d.model,
               llmtrace.group_key(d.project, d.environment, d.provider, d.model, NULL, NULL, NULL) AS group_key,
               sum(d.spans) AS spans, sum(d.errors) AS errors, sum(d.costed_spans) AS costed_spans,
               sum(d.unpriced_spans) AS unpriced_spans, sum(d.input_tokens) AS input_tokens,
               sum(d.output_tokens) AS output_tokens, sum(d.cached_input_tokens) AS cached_input_tokens,
               sum(d.cache_write_tokens) AS cache_write_tokens, sum(d.reasoning_tokens) AS reasoning_tokens,
               sum(d.total_tokens) AS total_tokens, sum(d.cost_usd) AS cost_usd,
               llmtrace.merge(d.latency) AS latency,
               coalesce(llmtrace.id_set_merge(d.user_keys), '\x00'::bytea) AS users_set,
               coalesce(llmtrace.id_set_merge(d.session_keys), '\x00'::bytea) AS sessions_set
        FROM d
        GROUP BY d.day, d.project, d.environment, d.provider, d.model
    ),
    m AS (
        SELECT g.*, llmtrace.id_set_union(r.users_set, g.users_set) AS all_users,
               llmtrace.id_set_union(r.sessions_set, g.sessions_set) AS all_sessions
        FROM g
        LEFT JOIN llmtrace.daily_rollups r
            ON r.grain = 'model' AND r.day = g.day AND r.group_key = g.group_key
    ),
    up AS (
        INSERT INTO llmtrace.daily_rollups AS r
            (grain, day, project, environment, provider, model,
             spans, errors, costed_spans, unpriced_spans, input_tokens, output_tokens,
             cached_input_tokens, cache_write_tokens, reasoning_tokens, total_tokens, cost_usd,
             latency, users_set, sessions_set, users, sessions, group_key)
        SELECT 'model', m.day, m.project, m.environment, m.provider, m.model,
               m.spans, m.errors, m.costed_spans, m.unpriced_spans, m.input_tokens, m.output_tokens,
               m.cached_input_tokens, m.cache_write_tokens, m.reasoning_tokens, m.total_tokens,
               m.cost_usd, m.latency, m.all_users, m.all_sessions,
               llmtrace.id_set_count(m.all_users), llmtrace.id_set_count(m.all_sessions), m.group_key
        FROM m
        ON CONFLICT (grain, day, group_key)
        DO UPDATE SET spans = r.spans + excluded.spans, errors = r.errors + excluded.errors,
            costed_spans = r.costed_spans + excluded.costed_spans,
            unpriced_spans = r.unpriced_spans + excluded.unpriced_spans,
            input_tokens = r.input_tokens + excluded.input_tokens,
            output_tokens = r.output_tokens + excluded.output_tokens,
            cached_input_tokens = r.cached_input_tokens + excluded.cached_input_tokens,
            cache_write_tokens = r.cache_write_tokens + excluded.cache_write_tokens,
            reasoning_tokens = r.reasoning_tokens + excluded.reasoning_tokens,
            total_tokens = r.total_tokens + excluded.total_tokens,
            cost_usd = r.cost_usd + excluded.cost_usd,
            latency = llmtrace.merge(r.latency, excluded.latency),
            users_set = excluded.users_set, sessions_set = excluded.sessions_set,
            users = excluded.users, sessions = excluded.sessions
    ),
    tot AS (
        INSERT INTO llmtrace.total_rollups AS r
            (project, environment, provider, model, spans, errors, costed_spans, unpriced_spans,
             input_tokens, output_tokens, cached_input_tokens, cache_write_tokens, reasoning_tokens,
             total_tokens, cost_usd, latency, group_key)
        SELECT g.project, g.environment, g.provider, g.model, sum(g.spans), sum(g.errors),
               sum(g.costed_spans), sum(g.unpriced_spans), sum(g.input_tokens), sum(g.output_tokens),
               sum(g.cached_input_tokens), sum(g.cache_write_tokens), sum(g.reasoning_tokens),
               sum(g.total_tokens), sum(g.cost_usd), llmtrace.merge(g.latency), g.group_key
        FROM g
        GROUP BY g.project, g.environment, g.provider, g.model, g.group_key
        ON CONFLICT (group_key)
        DO UPDATE SET spans = r.spans + excluded.spans, errors = r.errors + excluded.errors,
            costed_spans = r.costed_spans + excluded.costed_spans,
            unpriced_spans = r.unpriced_spans + excluded.unpriced_spans,
            input_tokens = r.input_tokens + excluded.input_tokens,
            output_tokens = r.output_tokens + excluded.output_tokens,
            cached_input_tokens = r.cached_input_tokens + excluded.cached_input_tokens,
            cache_write_tokens = r.cache_write_tokens + excluded.cache_write_tokens,
            reasoning_tokens = r.reasoning_tokens + excluded.reasoning_tokens,
            total_tokens = r.total_tokens + excluded.total_tokens,
            cost_usd = r.cost_usd + excluded.cost_usd,
            latency = llmtrace.merge(r.latency, excluded.latency)
    )
    SELECT count(*) INTO folded FROM d;
    PERFORM llmtrace.note_job_run('refresh_daily_cost_summary',
                                  pg_catalog.jsonb_build_object('deltas_folded', folded));
    RETURN folded;
END
$$;

COMMENT ON FUNCTION llmtrace.fold_daily_rollups() IS
    'Internal: folds the pending daily deltas into the model rows of llmtrace.daily_rollups; '
    'returns the deltas folded. llmtrace.refresh_daily_cost_summary() calls it.';

CREATE MATERIALIZED VIEW llmtrace.daily_cost_summary_data AS
    SELECT r.day, r.project, r.environment, r.provider, r.model,
           r.spans, r.errors, r.errors::double precision / nullif(r.spans, 0) AS error_rate,
           r.input_tokens, r.output_tokens, r.cached_input_tokens, r.cache_write_tokens,
           r.reasoning_tokens, r.total_tokens,
           CASE WHEN r.costed_spans > 0 THEN r.cost_usd END AS cost_usd,
           r.unpriced_spans,
           llmtrace.quantile(r.latency, 0.5) AS latency_p50_ms,
           llmtrace.quantile(r.latency, 0.95) AS latency_p95_ms,
           llmtrace.quantile(r.latency, 0.99) AS latency_p99_ms,
           r.users, r.sessions, r.id AS rollup_id
    FROM llmtrace.daily_rollups r
    WHERE r.grain = 'model';

-- REFRESH ... CONCURRENTLY needs a unique index on plain columns; rollup_id
-- is never NULL, so unchanged rows are matched and left alone.
CREATE UNIQUE INDEX daily_cost_summary_rollup_id ON llmtrace.daily_cost_summary_data (rollup_id);
CREATE INDEX daily_cost_summary_day ON llmtrace.daily_cost_summary_data (day);

COMMENT ON MATERIALIZED VIEW llmtrace.daily_cost_summary_data IS
    'Internal: the rows of llmtrace.daily_cost_summary (the view readers query, which applies the '
    'project rule of llmtrace.project_roles), every project. Current as of the last '
    'llmtrace.refresh_daily_cost_summary().';

-- Folds the daily deltas and rewrites the view rows of the rollups that
-- changed, under the lock of REFRESH ... CONCURRENTLY (src/entry/refresh.cpp):
-- what it costs depends on what is new, not on how many days are summarized.
CREATE FUNCTION llmtrace.refresh_daily_cost_summary()
RETURNS void
LANGUAGE c
VOLATILE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'llmtrace_refresh_daily_cost_summary';

COMMENT ON FUNCTION llmtrace.refresh_daily_cost_summary() IS
    'Folds the pending daily deltas into llmtrace.daily_rollups and rewrites the rows of '
    'llmtrace.daily_cost_summary whose rollups changed, with the lock of REFRESH ... CONCURRENTLY '
    '(readers are not blocked). Call it from a scheduler, e.g. every minute, with '
    'llmtrace.fold_rollups().';

-- The first hour of a live window of `hours` hours: the current UTC hour and
-- the hours - 1 before it.
CREATE FUNCTION llmtrace.window_start(hours integer)
RETURNS timestamptz
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    retention integer := llmtrace.rollup_retention_days();
BEGIN
    IF hours IS NULL OR hours < 1 OR hours > retention * 24 THEN
        RAISE EXCEPTION 'llmtrace: hours must be between 1 and % (llmtrace.rollup_retention_days = %), got %',
                        retention * 24, retention, coalesce(hours::text, 'NULL')
            USING ERRCODE = '22023',
                  HINT = 'Longer periods: llmtrace.daily_cost_summary or llmtrace.daily_rollups.';
    END IF;
    RETURN date_trunc('hour', now(), 'UTC') - make_interval(hours => hours - 1);
END
$$;

COMMENT ON FUNCTION llmtrace.window_start(integer) IS
    'Start of the live window of the metrics functions: the start of the current UTC hour '
    'minus hours - 1 hours.';

-- The live figures of one grain over the window, plus a total row (is_total).
-- key1/key2: provider/model for grain model; feature, endpoint or user_id.
CREATE FUNCTION llmtrace.live_rollup(grain text, hours integer)
RETURNS TABLE (key1 text, key2 text, is_total boolean, spans bigint, errors bigint,
               error_rate double precision, input_tokens numeric, output_tokens numeric,
               cached_input_tokens numeric, cache_write_tokens numeric, reasoning_tokens numeric,
               total_tokens numeric, cost_usd numeric, unpriced_spans bigint,
               latency_p50_ms double precision, latency_p95_ms double precision,
               latency_p99_ms double precision)
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    WITH w AS (SELECT llmtrace.window_start(hours) AS lo),
    src AS (
        SELECT r.provider, r.model, r.feature, r.endpoint, r.user_id, r.spans, r.errors,
               r.costed_spans, r.unpriced_spans, r.input_tokens, r.output_tokens,
               r.cached_input_tokens, r.cache_write_tokens, r.reasoning_tokens, r.total_tokens,
               r.cost_usd, r.latency
        FROM llmtrace.hourly_rollups r, w
        WHERE r.grain = live_rollup.grain AND r.hour >= w.lo
        UNION ALL
        SELECT d.provider, d.model, d.feature, d.endpoint, d.user_id, d.spans, d.errors,
               d.costed_spans, d.unpriced_spans, d.input_tokens, d.output_tokens,
               d.cached_input_tokens, d.cache_write_tokens, d.reasoning_tokens, d.total_tokens,
               d.cost_usd, d.latency
        FROM llmtrace.rollup_deltas d, w
        WHERE d.hour >= w.lo
    ),
    keyed AS (
        SELECT CASE live_rollup.grain WHEN 'model' THEN src.provider WHEN 'feature' THEN src.feature
                    WHEN 'endpoint' THEN src.endpoint WHEN 'user' THEN src.user_id END AS k1,
               CASE live_rollup.grain WHEN 'model' THEN src.model END AS k2, src.*
        FROM src
    ),
    agg AS (
        SELECT k.k1, k.k2, grouping(k.k1, k.k2) <> 0 AS total,
               sum(k.spans)::bigint AS spans, sum(k.errors)::bigint AS errors,
               sum(k.costed_spans) AS costed, sum(k.unpriced_spans)::bigint AS unpriced,
               sum(k.input_tokens) AS input_tokens, sum(k.output_tokens) AS output_tokens,
               sum(k.cached_input_tokens) AS cached_input_tokens,
               sum(k.cache_write_tokens) AS cache_write_tokens,
               sum(k.reasoning_tokens) AS reasoning_tokens, sum(k.total_tokens) AS total_tokens,
               sum(k.cost_usd) AS cost_usd, llmtrace.merge(k.latency) AS latency
        FROM keyed k
        GROUP BY GROUPING SETS ((k.k1, k.k2), ())
    )
    SELECT a.k1, a.k2, a.total, coalesce(a.spans, 0), coalesce(a.errors, 0),
           a.errors::double precision / nullif(a.spans, 0),
           coalesce(a.input_tokens, 0), coalesce(a.output_tokens, 0),
           coalesce(a.cached_input_tokens, 0), coalesce(a.cache_write_tokens, 0),
           coalesce(a.reasoning_tokens, 0), coalesce(a.total_tokens, 0),
           CASE WHEN a.costed > 0 THEN a.cost_usd END, coalesce(a.unpriced, 0),
           llmtrace.quantile(a.latency, 0.5), llmtrace.quantile(a.latency, 0.95),
           llmtrace.quantile(a.latency, 0.99)
    FROM agg a
    WHERE a.total OR a.spans > 0
    ORDER BY a.total, CASE WHEN a.costed > 0 THEN a.cost_usd END DESC NULLS LAST, a.spans DESC,
             a.k1 NULLS LAST, a.k2 NULLS LAST
$$;

COMMENT ON FUNCTION llmtrace.live_rollup(text, integer) IS
    'Internal: the live figures of one grain (model, feature, endpoint, user) over the last hours '
    'hours, read by the metrics functions.';

CREATE FUNCTION llmtrace.metrics_summary(hours integer DEFAULT 24)
RETURNS TABLE (provider text, model text, is_total boolean, spans bigint, errors bigint,
               error_rate double precision, input_tokens numeric, output_tokens numeric,
               cached_input_tokens numeric, cache_write_tokens numeric, reasoning_tokens numeric,
               total_tokens numeric, cost_usd numeric, unpriced_spans bigint,
               latency_p50_ms double precision, latency_p95_ms double precision,
               latency_p99_ms double precision)
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT * FROM llmtrace.live_rollup('model', hours) $$;

COMMENT ON FUNCTION llmtrace.metrics_summary(integer) IS
    'Live figures per provider and model, plus a total row (is_total), for the spans that '
    'started in the current UTC hour and the hours - 1 before it; no refresh needed.';

CREATE FUNCTION llmtrace.metrics_by_feature(hours integer DEFAULT 24)
RETURNS TABLE (feature text, is_total boolean, spans bigint, errors bigint,
               error_rate double precision, input_tokens numeric, output_tokens numeric,
               cached_input_tokens numeric, cache_write_tokens numeric, reasoning_tokens numeric,
               total_tokens numeric, cost_usd numeric, unpriced_spans bigint,
               latency_p50_ms double precision, latency_p95_ms double precision,
               latency_p99_ms double precision)
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT key1, is_total, spans, errors, error_rate, input_tokens, output_tokens,
           cached_input_tokens, cache_write_tokens, reasoning_tokens, total_tokens, cost_usd,
           unpriced_spans, latency_p50_ms, latency_p95_ms, latency_p99_ms
    FROM llmtrace.live_rollup('feature', hours)
$$;

COMMENT ON FUNCTION llmtrace.metrics_by_feature(integer) IS
    'Live figures per feature, plus a total row, over the same window as llmtrace.metrics_summary().';

CREATE FUNCTION llmtrace.metrics_by_endpoint(hours integer DEFAULT 24)
RETURNS TABLE (endpoint text, is_total boolean, spans bigint, errors bigint,
               error_rate double precision, input_tokens numeric, output_tokens numeric,
               cached_input_tokens numeric, cache_write_tokens numeric, reasoning_tokens numeric,
               total_tokens numeric, cost_usd numeric, unpriced_spans bigint,
               latency_p50_ms double precision, latency_p95_ms double precision,
               latency_p99_ms double precision)
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT key1, is_total, spans, errors, error_rate, input_tokens, output_tokens,
           cached_input_tokens, cache_write_tokens, reasoning_tokens, total_tokens, cost_usd,
           unpriced_spans, latency_p50_ms, latency_p95_ms, latency_p99_ms
    FROM llmtrace.live_rollup('endpoint', hours)
$$;

COMMENT ON FUNCTION llmtrace.metrics_by_endpoint(integer) IS
    'Live figures per endpoint, plus a total row, over the same window as llmtrace.metrics_summary().';

CREATE FUNCTION llmtrace.metrics_by_user(hours integer DEFAULT 24)
RETURNS TABLE (user_id text, is_total boolean, spans bigint, errors bigint,
               error_rate double precision, input_tokens numeric, output_tokens numeric,
               cached_input_tokens numeric, cache_write_tokens numeric, reasoning_tokens numeric,
               total_tokens numeric, cost_usd numeric, unpriced_spans bigint,
               latency_p50_ms double precision, latency_p95_ms double precision,
               latency_p99_ms double precision)
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT key1, is_total, spans, errors, error_rate, input_tokens, output_tokens,
           cached_input_tokens, cache_write_tokens, reasoning_tokens, total_tokens, cost_usd,
           unpriced_spans, latency_p50_ms, latency_p95_ms, latency_p99_ms
    FROM llmtrace.live_rollup('user', hours)
$$;

COMMENT ON FUNCTION llmtrace.metrics_by_user(integer) IS
    'Live figures (cost per user for bill-back) per user_id, plus a total row, over the same '
    'window as llmtrace.metrics_summary().';

-- Privileges of the summaries. Readers read them (the live functions run as
-- the caller, so they read the rollup tables themselves); the admin refreshes.
REVOKE ALL ON llmtrace.rollup_deltas, llmtrace.daily_deltas, llmtrace.hourly_rollups,
    llmtrace.daily_rollups, llmtrace.daily_cost_summary_data, llmtrace.daily_view_changes FROM PUBLIC;
REVOKE ALL ON FUNCTION llmtrace.merge(llmtrace.latency_sketch, llmtrace.latency_sketch),
    llmtrace.spans_updated(), llmtrace.daily_rollups_changed(), llmtrace.fold_rollups(),
    llmtrace.refresh_daily_cost_summary(),
    llmtrace.window_start(integer), llmtrace.live_rollup(text, integer),
    llmtrace.metrics_summary(integer), llmtrace.metrics_by_feature(integer),
    llmtrace.metrics_by_endpoint(integer), llmtrace.metrics_by_user(integer),
    llmtrace.rollup_retention_days(),
    llmtrace.group_key(text, text, text, text, text, text, text), llmtrace.fold_daily_rollups(),
    llmtrace.id_set_union(bytea, bytea), llmtrace.id_set_count(bytea), llmtrace.id_set_of(text[]),
    llmtrace.id_set_merge_trans(internal, bytea), llmtrace.id_set_merge_final(internal) FROM PUBLIC;
REVOKE ALL ON ROUTINE llmtrace.id_set_merge(bytea) FROM PUBLIC;
GRANT SELECT ON llmtrace.rollup_deltas, llmtrace.hourly_rollups, llmtrace.daily_rollups
    TO llmtrace_reader, llmtrace_admin;
GRANT EXECUTE ON FUNCTION llmtrace.merge(llmtrace.latency_sketch, llmtrace.latency_sketch),
    llmtrace.window_start(integer), llmtrace.live_rollup(text, integer),
    llmtrace.metrics_summary(integer), llmtrace.metrics_by_feature(integer),
    llmtrace.metrics_by_endpoint(integer), llmtrace.metrics_by_user(integer),
    llmtrace.rollup_retention_days() TO llmtrace_reader, llmtrace_admin;
GRANT EXECUTE ON FUNCTION llmtrace.fold_rollups(),
    llmtrace.refresh_daily_cost_summary() TO llmtrace_admin;
