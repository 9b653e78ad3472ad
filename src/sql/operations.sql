-- ---------------------------------------------------------------------------
-- Operations: partitions ahead of time, the default partition emptied,
-- retention by dropping whole partitions. (Part of the install script and of
-- the upgrade to 0.2.0.)
--
-- The functions users call (maintain, apply_retention, ensure_partitions) are
-- C wrappers (llmtrace_as_owner): they run the SQL function of the same name
-- with the suffix _internal as the extension's owner in a security-restricted
-- context (what REFRESH MATERIALIZED VIEW does for a view's owner), so
-- llmtrace_admin can maintain tables it does not own without any function
-- being SECURITY DEFINER. The _internal functions are granted to nobody.
--
-- Locks. A partition attached while a writer routes rows with the partition
-- layout it read before would send that writer's rows of the new day to the
-- default partition, whose new constraint refuses them (the writer's statement
-- fails). So partitions are attached only while no writer is inside
-- llmtrace.spans: every new table is made and filled first (moving a day out
-- of the default partition copies its rows while writers go on), then
-- llmtrace.spans and llmtrace.sampled_spans are taken in EXCLUSIVE mode (readers
-- go on) and their default partitions in ACCESS EXCLUSIVE mode, for the rows
-- that changed meanwhile, the deletes and the attaches only. Dropping a
-- partition takes llmtrace.spans exclusively for a moment. Every lock is waited
-- for at most llmtrace.maintenance_lock_timeout: when a long transaction is
-- busy in the table, the call leaves everything for the next one (days_busy,
-- partitions_busy), so maintenance never queues writers behind it for longer.
-- ---------------------------------------------------------------------------

-- The keys of spans sampled out by llmtrace.sample_rate: counted in the
-- summaries and alerts but not stored, they are remembered here so that a
-- re-delivery is recognized and not counted again. Partitioned like
-- llmtrace.spans, maintained and dropped with it.
CREATE TABLE llmtrace.sampled_spans (
    trace_id   text        NOT NULL,
    span_id    text        NOT NULL,
    start_time timestamptz NOT NULL,
    CONSTRAINT sampled_spans_pkey PRIMARY KEY (trace_id, span_id, start_time)
) PARTITION BY RANGE (start_time);

COMMENT ON TABLE llmtrace.sampled_spans IS
    'Keys of the spans llmtrace.sample_rate left out of llmtrace.spans (they are in the summaries): '
    'a re-delivered one is recognized. Partitioned by day like llmtrace.spans.';

CREATE TABLE llmtrace.sampled_spans_default PARTITION OF llmtrace.sampled_spans DEFAULT;
SELECT pg_catalog.pg_extension_config_dump('llmtrace.sampled_spans_default', '');

-- Phase 1 for one UTC day of llmtrace.spans or llmtrace.sampled_spans
-- (parent), without blocking writers: when the day has no partition yet, makes
-- its table (with its bound as a constraint, so that ATTACH need not scan it)
-- and copies the day's rows waiting in the default partition into it. Returns
-- whether it made one.
CREATE FUNCTION llmtrace.prepare_day_partition_internal(parent text, day date)
RETURNS boolean
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET TimeZone = 'UTC'
AS $$
DECLARE
    part text := parent || '_p' || to_char(day, 'YYYYMMDD');
    lo   timestamptz := day::timestamp AT TIME ZONE 'UTC';
    hi   timestamptz := (day + 1)::timestamp AT TIME ZONE 'UTC';
BEGIN
    IF parent NOT IN ('spans', 'sampled_spans') THEN
        RAISE EXCEPTION 'llmtrace: % is not a partitioned table of llmtrace', parent USING ERRCODE = '22023';
    END IF;
    IF EXISTS (SELECT 1 FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
               WHERE i.inhparent = ('llmtrace.' || parent)::regclass
                 AND c.relnamespace = 'llmtrace'::regnamespace AND c.relname = part) THEN
        RETURN false;
    END IF;
    -- A leftover table of that name (a detached partition, say) is not ours to drop.
    IF EXISTS (SELECT 1 FROM pg_class c WHERE c.relnamespace = 'llmtrace'::regnamespace
                                          AND c.relname = part) THEN
        RAISE EXCEPTION 'llmtrace: table llmtrace.% exists but is not a partition of llmtrace.%', part, parent
            USING ERRCODE = '42P07',
                  HINT = 'Attach it (ALTER TABLE ... ATTACH PARTITION ...) or rename it.';
    END IF;
    EXECUTE format('CREATE TABLE llmtrace.%I (LIKE llmtrace.%I INCLUDING DEFAULTS '
                   'INCLUDING CONSTRAINTS INCLUDING STORAGE)', part, parent);
    EXECUTE format('ALTER TABLE llmtrace.%I ADD CONSTRAINT %I CHECK '
                   '(start_time IS NOT NULL AND start_time >= %L AND start_time < %L)',
                   part, part || '_bound', lo, hi);
    EXECUTE format('INSERT INTO llmtrace.%I SELECT * FROM llmtrace.%I '
                   'WHERE start_time >= %L AND start_time < %L', part, parent || '_default', lo, hi);
    RETURN true;
END
$$;

-- Phase 2 for a table phase 1 made, with llmtrace.spans, llmtrace.sampled_spans
-- and their default partitions locked by the caller: the rows that changed
-- (reprice) or arrived since the copy, the delete from the default partition,
-- the attach. Returns the rows moved out of the default partition.
CREATE FUNCTION llmtrace.attach_day_partition_internal(parent text, day date)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET TimeZone = 'UTC'
AS $$
DECLARE
    part text := parent || '_p' || to_char(day, 'YYYYMMDD');
    def  text := parent || '_default';
    lo   timestamptz := day::timestamp AT TIME ZONE 'UTC';
    hi   timestamptz := (day + 1)::timestamp AT TIME ZONE 'UTC';
    n    bigint;
BEGIN
    EXECUTE format('DELETE FROM llmtrace.%I p WHERE NOT EXISTS (SELECT 1 FROM '
                   'llmtrace.%I d WHERE (d.trace_id, d.span_id, d.start_time) '
                   '= (p.trace_id, p.span_id, p.start_time) AND d = p)', part, def);
    EXECUTE format('INSERT INTO llmtrace.%1$I SELECT d.* FROM llmtrace.%4$I d '
                   'WHERE d.start_time >= %2$L AND d.start_time < %3$L AND NOT EXISTS '
                   '(SELECT 1 FROM llmtrace.%1$I p WHERE (p.trace_id, p.span_id, p.start_time) '
                   '= (d.trace_id, d.span_id, d.start_time))', part, lo, hi, def);
    EXECUTE format('DELETE FROM llmtrace.%I WHERE start_time >= %L AND start_time < %L', def, lo, hi);
    GET DIAGNOSTICS n = ROW_COUNT;
    EXECUTE format('ALTER TABLE llmtrace.%I ATTACH PARTITION llmtrace.%I '
                   'FOR VALUES FROM (%L) TO (%L)', parent, part, lo, hi);
    EXECUTE format('ALTER TABLE llmtrace.%I DROP CONSTRAINT %I', part, part || '_bound');
    RETURN n;
END
$$;

-- The partitions of the given UTC days, both tables, both phases. All or
-- nothing: when the locks of phase 2 are not granted within
-- llmtrace.maintenance_lock_timeout, nothing is made and busy_days says how
-- many days were left for the next call. Nothing to make: no lock is taken.
CREATE FUNCTION llmtrace.make_day_partitions_internal(days date[], OUT created integer,
                                                      OUT days_moved integer, OUT moved_rows bigint,
                                                      OUT busy_days integer)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    d    date;
    t    text;
    made date[] := '{}';
    work date[] := '{}';
    n    bigint;
BEGIN
    created := 0; days_moved := 0; moved_rows := 0; busy_days := 0;
    BEGIN
        FOREACH d IN ARRAY days LOOP
            IF llmtrace.prepare_day_partition_internal('spans', d) THEN
                made := made || d;
                work := work || d;
            END IF;
            IF llmtrace.prepare_day_partition_internal('sampled_spans', d) AND NOT d = ANY (work) THEN
                work := work || d;
            END IF;
        END LOOP;
        IF cardinality(work) = 0 THEN
            RETURN;
        END IF;
        PERFORM set_config('lock_timeout', llmtrace.maintenance_lock_timeout_internal(), true);
        LOCK TABLE llmtrace.spans, llmtrace.sampled_spans IN EXCLUSIVE MODE;
        LOCK TABLE llmtrace.spans_default, llmtrace.sampled_spans_default IN ACCESS EXCLUSIVE MODE;
        PERFORM set_config('lock_timeout', '0', true);
        FOREACH d IN ARRAY work LOOP
            n := 0;
            FOREACH t IN ARRAY ARRAY['spans', 'sampled_spans'] LOOP
                IF EXISTS (SELECT 1 FROM pg_class WHERE relnamespace = 'llmtrace'::regnamespace
                                                    AND relname = t || '_p' || to_char(d, 'YYYYMMDD')
                                                    AND NOT relispartition) THEN
                    n := n + llmtrace.attach_day_partition_internal(t, d);
                END IF;
            END LOOP;
            IF n > 0 THEN
                days_moved := days_moved + 1;
                moved_rows := moved_rows + n;
            END IF;
        END LOOP;
        created := cardinality(made);
    EXCEPTION WHEN lock_not_available THEN
        -- (PL/pgSQL variables keep what they were given before the rollback.)
        created := 0; days_moved := 0; moved_rows := 0; busy_days := cardinality(work);
    END;
END
$$;

-- The lock timeout maintenance waits with, as a setting value.
CREATE FUNCTION llmtrace.maintenance_lock_timeout_internal()
RETURNS text
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT current_setting('llmtrace.maintenance_lock_timeout')
$$;

-- Creates the missing daily partitions for [from_day, to_day] (UTC days) and
-- moves the rows of those days out of the default partition.
CREATE FUNCTION llmtrace.ensure_partitions_internal(from_day date, to_day date)
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r record;
BEGIN
    IF from_day IS NULL OR to_day IS NULL OR to_day < from_day THEN
        RAISE EXCEPTION 'ensure_partitions: invalid day range % .. %', from_day, to_day
            USING ERRCODE = '22023';
    END IF;
    IF to_day - from_day > 3660 THEN
        RAISE EXCEPTION 'ensure_partitions: at most 3661 days at a time'
            USING ERRCODE = '22023';
    END IF;
    r := llmtrace.make_day_partitions_internal(
             ARRAY(SELECT g::date FROM generate_series(from_day, to_day, interval '1 day') g));
    IF r.busy_days > 0 THEN
        RAISE EXCEPTION 'ensure_partitions: llmtrace.spans stayed busy for llmtrace.maintenance_lock_timeout'
            USING ERRCODE = '55P03', HINT = 'Call it again, or raise llmtrace.maintenance_lock_timeout.';
    END IF;
    RETURN r.created;
END
$$;

CREATE FUNCTION llmtrace.ensure_partitions(from_day date, to_day date)
RETURNS integer
LANGUAGE c
VOLATILE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'llmtrace_as_owner';

COMMENT ON FUNCTION llmtrace.ensure_partitions(date, date) IS
    'Creates the missing daily partitions of llmtrace.spans between two UTC days (at most 3661), '
    'moving rows of those days out of the default partition. Returns the number created.';

-- One maintenance pass: see llmtrace.maintain().
CREATE FUNCTION llmtrace.maintain_internal(days_ahead integer,
                                           OUT partitions_created integer,
                                           OUT days_moved integer,
                                           OUT rows_moved bigint,
                                           OUT days_busy integer)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET TimeZone = 'UTC'
AS $$
DECLARE
    today date := (now() AT TIME ZONE 'UTC')::date;
    d     date;
    r     record;
    days  date[];
BEGIN
    partitions_created := 0; days_moved := 0; rows_moved := 0; days_busy := 0;
    IF days_ahead IS NULL OR days_ahead < 0 OR days_ahead > 366 THEN
        RAISE EXCEPTION 'maintain: days_ahead must be between 0 and 366, not %', days_ahead
            USING ERRCODE = '22023';
    END IF;
    -- One maintenance at a time; a second caller finds nothing to wait for.
    IF NOT pg_try_advisory_xact_lock(pg_catalog.hashtext('llmtrace.maintain'), 0) THEN
        RAISE NOTICE 'llmtrace.maintain: another maintenance is running; nothing done';
        RETURN;
    END IF;
    -- Days that have spans in the default partition (back-fills, clock skew),
    -- oldest first, then yesterday, today and the days ahead.
    SELECT array_agg(x ORDER BY x) INTO days
    FROM (SELECT (start_time AT TIME ZONE 'UTC')::date AS x FROM llmtrace.spans_default
          UNION
          SELECT (start_time AT TIME ZONE 'UTC')::date FROM llmtrace.sampled_spans_default) s;
    days := coalesce(days, '{}');
    FOR d IN SELECT g::date FROM generate_series(today - 1, today + days_ahead, interval '1 day') g LOOP
        IF NOT d = ANY (days) THEN
            days := days || d;
        END IF;
    END LOOP;
    r := llmtrace.make_day_partitions_internal(days);
    partitions_created := r.created;
    days_moved := r.days_moved;
    rows_moved := r.moved_rows;
    days_busy := r.busy_days;
    PERFORM llmtrace.note_job_run('maintain', pg_catalog.jsonb_build_object(
        'partitions_created', partitions_created, 'days_moved', days_moved,
        'rows_moved', rows_moved, 'days_busy', days_busy));
END
$$;

CREATE FUNCTION llmtrace.maintain(days_ahead integer DEFAULT 7,
                                  OUT partitions_created integer,
                                  OUT days_moved integer,
                                  OUT rows_moved bigint,
                                  OUT days_busy integer)
LANGUAGE c
VOLATILE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'llmtrace_as_owner';

COMMENT ON FUNCTION llmtrace.maintain(integer) IS
    'Idempotent maintenance for a scheduler: creates the daily partitions of llmtrace.spans from '
    'yesterday to days_ahead days ahead and moves spans out of the default partition into '
    'partitions of their days. A day whose table is busy for llmtrace.maintenance_lock_timeout '
    'is left for the next call (days_busy).';

-- Drops the daily partitions whose whole day is older than retention_days.
CREATE FUNCTION llmtrace.apply_retention_internal(OUT partitions_dropped integer,
                                                  OUT dropped text[],
                                                  OUT partitions_busy integer,
                                                  OUT cutoff timestamptz)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET TimeZone = 'UTC'
AS $$
DECLARE
    days integer := current_setting('llmtrace.retention_days')::integer;
    p    record;
BEGIN
    partitions_dropped := 0; dropped := '{}'; partitions_busy := 0;
    IF days = 0 THEN
        PERFORM llmtrace.note_job_run('apply_retention', '{"retention_days": 0}');
        RETURN;  -- spans are kept forever
    END IF;
    cutoff := now() - make_interval(days => days);
    IF NOT pg_try_advisory_xact_lock(pg_catalog.hashtext('llmtrace.maintain'), 0) THEN
        RAISE NOTICE 'llmtrace.apply_retention: maintenance is running; nothing done';
        RETURN;
    END IF;
    PERFORM set_config('lock_timeout', llmtrace.maintenance_lock_timeout_internal(), true);
    FOR p IN
        SELECT c.oid::regclass AS rel, c.relname,
               (regexp_match(pg_get_expr(c.relpartbound, c.oid),
                             '^FOR VALUES FROM \(''([^'']+)''\) TO \(''([^'']+)''\)$'))[2]::timestamptz AS hi
        FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent IN ('llmtrace.spans'::regclass, 'llmtrace.sampled_spans'::regclass)
          AND c.relnamespace = 'llmtrace'::regnamespace
          AND c.relname ~ '^(spans|sampled_spans)_p[0-9]{8}$'
        ORDER BY c.relname
    LOOP
        CONTINUE WHEN p.hi IS NULL OR p.hi > cutoff;
        IF partitions_busy > 0 THEN
            partitions_busy := partitions_busy + 1;
            CONTINUE;
        END IF;
        BEGIN
            LOCK TABLE llmtrace.spans, llmtrace.sampled_spans IN ACCESS EXCLUSIVE MODE;
            EXECUTE format('DROP TABLE %s', p.rel);
            partitions_dropped := partitions_dropped + 1;
            dropped := dropped || p.relname::text;
        EXCEPTION WHEN lock_not_available THEN
            partitions_busy := partitions_busy + 1;
        END;
    END LOOP;
    PERFORM llmtrace.note_job_run('apply_retention', pg_catalog.jsonb_build_object(
        'retention_days', days, 'partitions_dropped', partitions_dropped,
        'partitions_busy', partitions_busy));
END
$$;

CREATE FUNCTION llmtrace.apply_retention(OUT partitions_dropped integer,
                                         OUT dropped text[],
                                         OUT partitions_busy integer,
                                         OUT cutoff timestamptz)
LANGUAGE c
VOLATILE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'llmtrace_as_owner';

COMMENT ON FUNCTION llmtrace.apply_retention() IS
    'Drops the daily partitions of llmtrace.spans whose whole day is older than '
    'llmtrace.retention_days (0: keep forever); no row-by-row DELETE. Summaries, rollups, alerts '
    'and the quarantine are kept. Run llmtrace.maintain() first so back-filled spans are in '
    'partitions of their days. A partition that is busy for llmtrace.maintenance_lock_timeout '
    'is left for the next call (partitions_busy).';

COMMENT ON FUNCTION llmtrace.prepare_day_partition_internal(text, date) IS
    'Internal (granted to nobody): makes the table of one UTC day''s partition and copies the day''s '
    'rows of the default partition into it, without blocking writers.';
COMMENT ON FUNCTION llmtrace.attach_day_partition_internal(text, date) IS
    'Internal (granted to nobody): moves the rest of the day out of the default partition and '
    'attaches the table, the tables locked by the caller.';
COMMENT ON FUNCTION llmtrace.make_day_partitions_internal(date[]) IS
    'Internal (granted to nobody): the partitions of UTC days of llmtrace.spans and '
    'llmtrace.sampled_spans, all or nothing.';
COMMENT ON FUNCTION llmtrace.maintenance_lock_timeout_internal() IS
    'Internal (granted to nobody): llmtrace.maintenance_lock_timeout as a lock_timeout value.';
COMMENT ON FUNCTION llmtrace.ensure_partitions_internal(date, date) IS
    'Internal (granted to nobody): llmtrace.ensure_partitions(), run as the extension owner.';
COMMENT ON FUNCTION llmtrace.maintain_internal(integer) IS
    'Internal (granted to nobody): llmtrace.maintain(), run as the extension owner.';
COMMENT ON FUNCTION llmtrace.apply_retention_internal() IS
    'Internal (granted to nobody): llmtrace.apply_retention(), run as the extension owner.';

CREATE FUNCTION llmtrace.sample_keep(trace_id text, rate double precision)
RETURNS boolean
LANGUAGE c
IMMUTABLE STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'llmtrace_sample_keep';

COMMENT ON FUNCTION llmtrace.sample_keep(text, double precision) IS
    'Whether llmtrace.sample_rate = rate keeps the trace (its spans stored in llmtrace.spans): '
    'the same answer for a trace id in every session; a trace kept at a rate is kept at every '
    'higher one. Error spans are stored whatever it says.';

-- Privileges: the wrappers are the admin's; the _internal functions nobody's.
REVOKE ALL ON TABLE llmtrace.sampled_spans, llmtrace.sampled_spans_default FROM PUBLIC;
REVOKE ALL ON FUNCTION llmtrace.prepare_day_partition_internal(text, date),
    llmtrace.attach_day_partition_internal(text, date), llmtrace.make_day_partitions_internal(date[]),
    llmtrace.maintenance_lock_timeout_internal(), llmtrace.ensure_partitions_internal(date, date),
    llmtrace.maintain_internal(integer), llmtrace.apply_retention_internal(),
    llmtrace.ensure_partitions(date, date), llmtrace.maintain(integer), llmtrace.apply_retention()
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION llmtrace.ensure_partitions(date, date), llmtrace.maintain(integer),
    llmtrace.apply_retention() TO llmtrace_admin;
-- Retention is the admin's policy: the settings are superuser-only, and the admin's.
GRANT SET ON PARAMETER llmtrace.retention_days, llmtrace.maintenance_lock_timeout,
    llmtrace.sample_rate TO llmtrace_admin;
GRANT EXECUTE ON FUNCTION llmtrace.sample_keep(text, double precision)
    TO llmtrace_reader, llmtrace_admin;

-- ---------------------------------------------------------------------------
-- Privacy: the secret of llmtrace.hash_user_ids. One row, made here with
-- PostgreSQL's strong random source (gen_random_uuid), readable by the
-- extension's owner only. It is part of a pg_dump, so user ids hash the same
-- after a restore: the restored row replaces the one CREATE EXTENSION made.
-- ---------------------------------------------------------------------------
CREATE TABLE llmtrace.hash_secret (
    id     integer NOT NULL DEFAULT 1 PRIMARY KEY CHECK (id = 1),
    secret bytea   NOT NULL CHECK (octet_length(secret) >= 32)
);

COMMENT ON TABLE llmtrace.hash_secret IS
    'The key of llmtrace.hash_user_ids (HMAC-SHA-256): one row, readable by the extension owner only. '
    'Replacing it changes the stored value of every user id from then on.';

CREATE FUNCTION llmtrace.hash_secret_replace()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    DELETE FROM llmtrace.hash_secret;
    RETURN NEW;
END
$$;

COMMENT ON FUNCTION llmtrace.hash_secret_replace() IS
    'Trigger: a new secret (a restored dump''s) replaces the one there.';

CREATE TRIGGER hash_secret_replace BEFORE INSERT ON llmtrace.hash_secret
    FOR EACH ROW EXECUTE FUNCTION llmtrace.hash_secret_replace();

INSERT INTO llmtrace.hash_secret (secret)
VALUES (pg_catalog.decode(pg_catalog.replace(pg_catalog.gen_random_uuid()::text
                                             || pg_catalog.gen_random_uuid()::text
                                             || pg_catalog.gen_random_uuid()::text, '-', ''), 'hex'));

SELECT pg_catalog.pg_extension_config_dump('llmtrace.hash_secret', '');

REVOKE ALL ON llmtrace.hash_secret FROM PUBLIC;
REVOKE ALL ON FUNCTION llmtrace.hash_secret_replace() FROM PUBLIC;
-- What is stored of content and user ids is the admin's decision, not a
-- writer's: both settings are superuser-only, and the admin's.
GRANT SET ON PARAMETER llmtrace.hash_user_ids TO llmtrace_admin;

-- ---------------------------------------------------------------------------
-- Braintrust merge rows that arrive after their span: the stored span is
-- completed (end time and duration, output and input, tokens, model and
-- provider when it had none, status, attributes), and its cost recomputed
-- from the prices (a cost the payload reported is kept). The summaries follow
-- through llmtrace.spans_updated(). Called by ingest only; false when no span
-- of that trace and span id is stored (the merge row is then quarantined).
-- ---------------------------------------------------------------------------
CREATE FUNCTION llmtrace.apply_span_merge_internal(
    p_trace_id text, p_span_id text, p_end timestamptz, p_model text, p_provider text,
    p_input_tokens bigint, p_output_tokens bigint, p_cached bigint, p_cache_write bigint,
    p_reasoning bigint, p_total bigint, p_reported_cost double precision, p_error boolean,
    p_error_message text, p_input jsonb, p_output jsonb, p_attributes jsonb)
RETURNS boolean
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    s         llmtrace.spans;
    v_model   text;
    v_prov    text;
    v_in      bigint;
    v_out     bigint;
    v_cached  bigint;
    v_cw      bigint;
    v_cost    numeric;
    v_status  text;
BEGIN
    SELECT * INTO s FROM llmtrace.spans
    WHERE trace_id = p_trace_id AND span_id = p_span_id
    ORDER BY start_time DESC LIMIT 1 FOR UPDATE;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    v_model := coalesce(s.model, p_model);
    v_prov := coalesce(s.provider, p_provider);
    v_in := coalesce(p_input_tokens, s.input_tokens);
    v_out := coalesce(p_output_tokens, s.output_tokens);
    v_cached := coalesce(p_cached, s.cached_input_tokens);
    v_cw := coalesce(p_cache_write, s.cache_write_tokens);
    v_cost := s.cost_usd;
    v_status := s.cost_status;
    IF p_reported_cost IS NOT NULL THEN
        v_cost := p_reported_cost::numeric;
        v_status := 'reported';
    ELSIF s.cost_status IN ('priced', 'unpriced', 'no_usage', 'invalid_price')
          AND num_nonnulls(v_in, v_out, v_cached, v_cw) > 0 THEN
        IF v_model IS NULL THEN
            v_cost := NULL;
            v_status := 'unpriced';
        ELSE
            v_cost := llmtrace.cost(v_prov, v_model, coalesce(v_in, 0), coalesce(v_out, 0),
                                    coalesce(v_cached, 0), coalesce(v_cw, 0), s.start_time);
            v_status := CASE WHEN v_cost IS NULL THEN 'unpriced' ELSE 'priced' END;
        END IF;
    END IF;
    UPDATE llmtrace.spans SET
        end_time = coalesce(p_end, end_time),
        duration_ms = CASE WHEN duration_ms IS NULL AND p_end IS NOT NULL AND p_end >= start_time
                           THEN extract(epoch FROM p_end - start_time)::double precision * 1000
                           ELSE duration_ms END,
        model = v_model,
        provider = v_prov,
        input_tokens = v_in,
        output_tokens = v_out,
        cached_input_tokens = v_cached,
        cache_write_tokens = v_cw,
        reasoning_tokens = coalesce(p_reasoning, reasoning_tokens),
        total_tokens = coalesce(p_total, total_tokens),
        cost_usd = v_cost,
        cost_status = v_status,
        status = CASE WHEN p_error THEN 'error' ELSE status END,
        error_message = coalesce(p_error_message, error_message),
        input = coalesce(p_input, input),
        output = coalesce(p_output, output),
        attributes = attributes || coalesce(p_attributes, '{}')
    WHERE trace_id = s.trace_id AND span_id = s.span_id AND start_time = s.start_time;
    RETURN true;
END
$$;

COMMENT ON FUNCTION llmtrace.apply_span_merge_internal(text, text, timestamptz, text, text, bigint, bigint,
    bigint, bigint, bigint, bigint, double precision, boolean, text, jsonb, jsonb, jsonb) IS
    'Internal (granted to nobody): completes a stored span with a Braintrust merge row that came later.';
REVOKE ALL ON FUNCTION llmtrace.apply_span_merge_internal(text, text, timestamptz, text, text, bigint, bigint,
    bigint, bigint, bigint, bigint, double precision, boolean, text, jsonb, jsonb, jsonb) FROM PUBLIC;
