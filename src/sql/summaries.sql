-- ---------------------------------------------------------------------------
-- Summaries (this part is included in the install script and in the upgrade
-- script to 0.2.0).
--
-- How the figures stay exact and writers never wait on each other:
--   * ingest appends, in the same transaction as the spans, one row to
--     llmtrace.rollup_deltas per statement and group (hour x project x
--     environment x provider x model x feature x endpoint x user) with the sums
--     of the spans that statement newly stored (a re-delivered span is not
--     stored, so it adds nothing) and their latency sketch. Appending takes no
--     lock any other writer waits for; a rollback takes the rows with it.
--   * an UPDATE of stored spans (llmtrace.reprice()) appends correction rows:
--     the new values minus the old ones.
--   * llmtrace.fold_rollups() (run by llmtrace.refresh_daily_cost_summary(),
--     which a scheduler calls) moves the deltas into the hourly and daily
--     rollups in one transaction; only one fold runs at a time.
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
    latency             llmtrace.latency_sketch,
    session_ids         text[]
);

COMMENT ON TABLE llmtrace.rollup_deltas IS
    'Internal: what each ingest statement (or span UPDATE) added to the summaries, per hour and '
    'group, not yet folded into llmtrace.hourly_rollups and llmtrace.daily_rollups.';

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
    CONSTRAINT daily_rollups_grain_check CHECK (grain IN ('model', 'feature', 'endpoint', 'user')),
    CONSTRAINT daily_rollups_key UNIQUE (grain, day, group_key)
);

COMMENT ON TABLE llmtrace.daily_rollups IS
    'Daily (UTC) sums and latency sketches per model, feature, endpoint and user (grain), kept '
    'forever; users and sessions (distinct) on model rows; cost_usd is meaningful where '
    'costed_spans > 0.';

-- The distinct users and sessions of each day and model group (by the
-- group's key and the SHA-256 of the id), so that distinct counts stay exact
-- when spans of a day arrive in several folds.
CREATE TABLE llmtrace.daily_users (
    day         date  NOT NULL,
    group_key   bytea NOT NULL,
    user_key    bytea NOT NULL,
    CONSTRAINT daily_users_key PRIMARY KEY (day, group_key, user_key)
);
COMMENT ON TABLE llmtrace.daily_users IS
    'Internal: the distinct users of each UTC day and model group (llmtrace.daily_rollups.users).';

CREATE TABLE llmtrace.daily_sessions (
    day         date  NOT NULL,
    group_key   bytea NOT NULL,
    session_key bytea NOT NULL,
    CONSTRAINT daily_sessions_key PRIMARY KEY (day, group_key, session_key)
);
COMMENT ON TABLE llmtrace.daily_sessions IS
    'Internal: the distinct sessions of each UTC day and model group (llmtrace.daily_rollups.sessions).';

-- Summaries survive pg_dump / pg_restore (they outlive the spans).
SELECT pg_catalog.pg_extension_config_dump('llmtrace.rollup_deltas', '');
SELECT pg_catalog.pg_extension_config_dump('llmtrace.hourly_rollups', '');
SELECT pg_catalog.pg_extension_config_dump('llmtrace.daily_rollups', '');
SELECT pg_catalog.pg_extension_config_dump('llmtrace.daily_rollups_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('llmtrace.daily_users', '');
SELECT pg_catalog.pg_extension_config_dump('llmtrace.daily_sessions', '');

-- The span UPDATE trigger: costs, tokens and status may change (reprice);
-- the rollups get the difference. What a sketch or a distinct count cannot
-- take back (a span's grouping columns, duration, session) may not change.
CREATE FUNCTION llmtrace.spans_updated()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
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
           OR (o.project, o.environment, o.provider, o.model, o.feature, o.endpoint, o.user_id,
               o.session_id, o.duration_ms)
              IS DISTINCT FROM
              (n.project, n.environment, n.provider, n.model, n.feature, n.endpoint, n.user_id,
               n.session_id, n.duration_ms)) THEN
        RAISE EXCEPTION 'llmtrace: an UPDATE of llmtrace.spans may change costs, tokens and status only'
            USING ERRCODE = '0A000',
                  DETAIL = 'The key, the grouping columns (project, environment, provider, model, '
                           'feature, endpoint, user_id, session_id) and duration_ms of a stored span '
                           'are what the summaries were built from.';
    END IF;
    INSERT INTO llmtrace.rollup_deltas
        (hour, project, environment, provider, model, feature, endpoint, user_id,
         spans, errors, costed_spans, unpriced_spans, input_tokens, output_tokens,
         cached_input_tokens, cache_write_tokens, reasoning_tokens, total_tokens, cost_usd)
    SELECT date_trunc('hour', x.start_time, 'UTC'), x.project, x.environment, x.provider, x.model,
           x.feature, x.endpoint, x.user_id, 0,
           sum(x.sign * (x.status = 'error')::int),
           sum(x.sign * (x.cost_usd IS NOT NULL)::int),
           sum(x.sign * (x.cost_status IN ('unpriced', 'invalid_price'))::int),
           sum(x.sign * coalesce(x.input_tokens, 0)), sum(x.sign * coalesce(x.output_tokens, 0)),
           sum(x.sign * coalesce(x.cached_input_tokens, 0)),
           sum(x.sign * coalesce(x.cache_write_tokens, 0)),
           sum(x.sign * coalesce(x.reasoning_tokens, 0)), sum(x.sign * coalesce(x.total_tokens, 0)),
           sum(x.sign * coalesce(x.cost_usd, 0))
    FROM (SELECT 1 AS sign, n.* FROM new_spans n
          UNION ALL
          SELECT -1 AS sign, o.* FROM old_spans o) x
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
    HAVING sum(x.sign * (x.status = 'error')::int) <> 0
        OR sum(x.sign * (x.cost_usd IS NOT NULL)::int) <> 0
        OR sum(x.sign * (x.cost_status IN ('unpriced', 'invalid_price'))::int) <> 0
        OR sum(x.sign * coalesce(x.input_tokens, 0)) <> 0
        OR sum(x.sign * coalesce(x.output_tokens, 0)) <> 0
        OR sum(x.sign * coalesce(x.cached_input_tokens, 0)) <> 0
        OR sum(x.sign * coalesce(x.cache_write_tokens, 0)) <> 0
        OR sum(x.sign * coalesce(x.reasoning_tokens, 0)) <> 0
        OR sum(x.sign * coalesce(x.total_tokens, 0)) <> 0
        OR sum(x.sign * coalesce(x.cost_usd, 0)) <> 0;
    RETURN NULL;
END
$$;

CREATE TRIGGER spans_summaries
    AFTER UPDATE ON llmtrace.spans
    REFERENCING OLD TABLE AS old_spans NEW TABLE AS new_spans
    FOR EACH STATEMENT EXECUTE FUNCTION llmtrace.spans_updated();
ALTER TABLE llmtrace.spans ENABLE ALWAYS TRIGGER spans_summaries;

-- Moves the deltas into the hourly and daily rollups. One statement: the
-- deltas a fold deletes are exactly those it adds. Folds run one at a time;
-- writers never wait for one.
CREATE FUNCTION llmtrace.fold_rollups()
RETURNS bigint
LANGUAGE plpgsql
SECURITY DEFINER
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
    model_groups AS (
        SELECT (d.hour AT TIME ZONE 'UTC')::date AS day,
               llmtrace.group_key(d.project, d.environment, d.provider, d.model, NULL, NULL, NULL) AS group_key,
               d.user_id, d.session_ids
        FROM d WHERE d.spans > 0 AND (d.user_id IS NOT NULL OR d.session_ids IS NOT NULL)
    ),
    new_users AS (
        INSERT INTO llmtrace.daily_users AS u (day, group_key, user_key)
        SELECT DISTINCT m.day, m.group_key, sha256(convert_to(m.user_id, 'UTF8'))
        FROM model_groups m WHERE m.user_id IS NOT NULL
        ON CONFLICT DO NOTHING
        RETURNING u.day, u.group_key
    ),
    new_sessions AS (
        INSERT INTO llmtrace.daily_sessions AS s (day, group_key, session_key)
        SELECT DISTINCT m.day, m.group_key, sha256(convert_to(sid, 'UTF8'))
        FROM model_groups m CROSS JOIN LATERAL unnest(m.session_ids) AS sid
        WHERE sid IS NOT NULL
        ON CONFLICT DO NOTHING
        RETURNING s.day, s.group_key
    ),
    distinct_counts AS (
        SELECT c.day, c.group_key,
               count(*) FILTER (WHERE c.is_user) AS users, count(*) FILTER (WHERE NOT c.is_user) AS sessions
        FROM (SELECT true AS is_user, * FROM new_users UNION ALL SELECT false, * FROM new_sessions) c
        GROUP BY c.day, c.group_key
    ),
    daily_sums AS (
        SELECT CASE WHEN grouping(d.model) = 0 THEN 'model' WHEN grouping(d.feature) = 0 THEN 'feature'
                    WHEN grouping(d.endpoint) = 0 THEN 'endpoint' ELSE 'user' END AS grain,
               (d.hour AT TIME ZONE 'UTC')::date AS day,
               d.project, d.environment, d.provider, d.model, d.feature, d.endpoint, d.user_id,
               sum(d.spans) AS spans, sum(d.errors) AS errors, sum(d.costed_spans) AS costed_spans,
               sum(d.unpriced_spans) AS unpriced_spans, sum(d.input_tokens) AS input_tokens,
               sum(d.output_tokens) AS output_tokens, sum(d.cached_input_tokens) AS cached_input_tokens,
               sum(d.cache_write_tokens) AS cache_write_tokens, sum(d.reasoning_tokens) AS reasoning_tokens,
               sum(d.total_tokens) AS total_tokens, sum(d.cost_usd) AS cost_usd,
               llmtrace.merge(d.latency) AS latency
        FROM d
        GROUP BY GROUPING SETS (((d.hour AT TIME ZONE 'UTC')::date, d.project, d.environment, d.provider, d.model),
                                ((d.hour AT TIME ZONE 'UTC')::date, d.project, d.environment, d.feature),
                                ((d.hour AT TIME ZONE 'UTC')::date, d.project, d.environment, d.endpoint),
                                ((d.hour AT TIME ZONE 'UTC')::date, d.project, d.environment, d.user_id))
    ),
    daily AS (
        INSERT INTO llmtrace.daily_rollups AS r
            (grain, day, project, environment, provider, model, feature, endpoint, user_id,
             spans, errors, costed_spans, unpriced_spans, input_tokens, output_tokens,
             cached_input_tokens, cache_write_tokens, reasoning_tokens, total_tokens, cost_usd,
             latency, users, sessions, group_key)
        SELECT s.grain, s.day, s.project, s.environment, s.provider, s.model, s.feature, s.endpoint,
               s.user_id, s.spans, s.errors, s.costed_spans, s.unpriced_spans, s.input_tokens,
               s.output_tokens, s.cached_input_tokens, s.cache_write_tokens, s.reasoning_tokens,
               s.total_tokens, s.cost_usd, s.latency,
               CASE WHEN s.grain = 'model' THEN coalesce(c.users, 0) END,
               CASE WHEN s.grain = 'model' THEN coalesce(c.sessions, 0) END,
               s.group_key
        FROM (SELECT x.*, llmtrace.group_key(x.project, x.environment, x.provider, x.model, x.feature,
                                             x.endpoint, x.user_id) AS group_key
              FROM daily_sums x) s
        LEFT JOIN distinct_counts c ON s.grain = 'model' AND c.day = s.day AND c.group_key = s.group_key
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
            users = r.users + excluded.users, sessions = r.sessions + excluded.sessions
    )
    SELECT count(*) INTO folded FROM d;
    -- Hourly rollups older than the retention go; daily ones stay.
    DELETE FROM llmtrace.hourly_rollups WHERE hour < horizon;
    RETURN folded;
END
$$;

COMMENT ON FUNCTION llmtrace.fold_rollups() IS
    'Folds the pending summary deltas into llmtrace.hourly_rollups and llmtrace.daily_rollups and '
    'drops hourly rollups older than llmtrace.rollup_retention_days; returns the deltas folded. '
    'llmtrace.refresh_daily_cost_summary() calls it.';

CREATE MATERIALIZED VIEW llmtrace.daily_cost_summary AS
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
CREATE UNIQUE INDEX daily_cost_summary_rollup_id ON llmtrace.daily_cost_summary (rollup_id);
CREATE INDEX daily_cost_summary_day ON llmtrace.daily_cost_summary (day);

COMMENT ON MATERIALIZED VIEW llmtrace.daily_cost_summary IS
    'One row per UTC day x project x environment x provider x model: spans, errors, tokens, cost '
    '(NULL when no span had one), unpriced spans, latency percentiles (within 1 %), distinct users '
    'and sessions. Current as of the last llmtrace.refresh_daily_cost_summary().';

CREATE FUNCTION llmtrace.refresh_daily_cost_summary()
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM llmtrace.fold_rollups();
    REFRESH MATERIALIZED VIEW CONCURRENTLY llmtrace.daily_cost_summary;
END
$$;

COMMENT ON FUNCTION llmtrace.refresh_daily_cost_summary() IS
    'Folds pending deltas into the rollups and refreshes llmtrace.daily_cost_summary '
    'concurrently (readers are not blocked). Call it from a scheduler, e.g. every minute.';

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
REVOKE ALL ON llmtrace.rollup_deltas, llmtrace.hourly_rollups, llmtrace.daily_rollups,
    llmtrace.daily_users, llmtrace.daily_sessions, llmtrace.daily_cost_summary FROM PUBLIC;
REVOKE ALL ON FUNCTION llmtrace.merge(llmtrace.latency_sketch, llmtrace.latency_sketch),
    llmtrace.spans_updated(), llmtrace.fold_rollups(), llmtrace.refresh_daily_cost_summary(),
    llmtrace.window_start(integer), llmtrace.live_rollup(text, integer),
    llmtrace.metrics_summary(integer), llmtrace.metrics_by_feature(integer),
    llmtrace.metrics_by_endpoint(integer), llmtrace.metrics_by_user(integer),
    llmtrace.rollup_retention_days(),
    llmtrace.group_key(text, text, text, text, text, text, text) FROM PUBLIC;
GRANT SELECT ON llmtrace.rollup_deltas, llmtrace.hourly_rollups, llmtrace.daily_rollups,
    llmtrace.daily_cost_summary TO llmtrace_reader, llmtrace_admin;
GRANT EXECUTE ON FUNCTION llmtrace.merge(llmtrace.latency_sketch, llmtrace.latency_sketch),
    llmtrace.window_start(integer), llmtrace.live_rollup(text, integer),
    llmtrace.metrics_summary(integer), llmtrace.metrics_by_feature(integer),
    llmtrace.metrics_by_endpoint(integer), llmtrace.metrics_by_user(integer),
    llmtrace.rollup_retention_days() TO llmtrace_reader, llmtrace_admin;
GRANT EXECUTE ON FUNCTION llmtrace.fold_rollups(), llmtrace.refresh_daily_cost_summary()
    TO llmtrace_admin;
