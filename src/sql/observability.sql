-- ---------------------------------------------------------------------------
-- Seeing it: the health of ingest, the views Grafana and the Prometheus
-- exporter read, and the schedules. (Part of the install script and of the
-- upgrade to 0.2.0.)
--
-- Nothing here reads llmtrace.spans: the figures come from the rollups and
-- their pending deltas (src/sql/summaries.sql), the ingest minutes
-- (llmtrace.ingest_deltas), the catalog and llmtrace.job_runs, so a probe or a
-- scrape costs the same whatever the history.
-- ---------------------------------------------------------------------------

-- When each periodic function last ran, and what it did.
CREATE TABLE llmtrace.job_runs (
    job         text        PRIMARY KEY,
    last_run    timestamptz NOT NULL,
    last_result jsonb       NOT NULL DEFAULT '{}'
);

SELECT pg_catalog.pg_extension_config_dump('llmtrace.job_runs', '');

COMMENT ON TABLE llmtrace.job_runs IS
    'When each periodic function (maintain, apply_retention, fold_rollups, '
    'refresh_daily_cost_summary, evaluate_alerts) last ran, and what it did; read by llmtrace.health.';

-- Notes a run. Never waits: while another transaction is noting the same job
-- (it holds the job's advisory lock until it ends), that note stands for both.
CREATE FUNCTION llmtrace.note_job_run(job text, result jsonb)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF pg_try_advisory_xact_lock(pg_catalog.hashtext('llmtrace.job_runs'), pg_catalog.hashtext(job)) THEN
        INSERT INTO llmtrace.job_runs AS j (job, last_run, last_result)
        VALUES (note_job_run.job, clock_timestamp(), result)
        ON CONFLICT ON CONSTRAINT job_runs_pkey
        DO UPDATE SET last_run = excluded.last_run, last_result = excluded.last_result;
    END IF;
END
$$;

COMMENT ON FUNCTION llmtrace.note_job_run(text, jsonb) IS
    'Internal (granted to nobody): notes a run of a periodic function in llmtrace.job_runs.';

-- The quarantine of the last hour is found by time, not by a scan.
CREATE INDEX ingest_errors_received_at ON llmtrace.ingest_errors (received_at);

-- The hourly figures, folded or not: every grain of llmtrace.hourly_rollups
-- plus the pending live deltas (each delta row counted once per grain). Rows
-- are not unique per group: sum them and merge the sketches.
CREATE VIEW llmtrace.hourly_metrics WITH (security_invoker = true) AS
    SELECT r.grain, r.hour, r.project, r.environment, r.provider, r.model, r.feature, r.endpoint,
           r.user_id, r.spans, r.errors, r.costed_spans, r.unpriced_spans, r.input_tokens,
           r.output_tokens, r.cached_input_tokens, r.cache_write_tokens, r.reasoning_tokens,
           r.total_tokens, r.cost_usd, r.latency
    FROM llmtrace.hourly_rollups r
    UNION ALL
    SELECT g.grain, d.hour, d.project, d.environment,
           CASE WHEN g.grain = 'model' THEN d.provider END,
           CASE WHEN g.grain = 'model' THEN d.model END,
           CASE WHEN g.grain = 'feature' THEN d.feature END,
           CASE WHEN g.grain = 'endpoint' THEN d.endpoint END,
           CASE WHEN g.grain = 'user' THEN d.user_id END,
           d.spans, d.errors, d.costed_spans, d.unpriced_spans, d.input_tokens,
           d.output_tokens, d.cached_input_tokens, d.cache_write_tokens, d.reasoning_tokens,
           d.total_tokens, d.cost_usd, d.latency
    FROM llmtrace.rollup_deltas d
    CROSS JOIN (VALUES ('model'), ('feature'), ('endpoint'), ('user')) g (grain);

COMMENT ON VIEW llmtrace.hourly_metrics IS
    'Live hourly figures by grain (model: provider and model; feature; endpoint; user), with '
    'project and environment: the hourly rollups plus what is not folded yet. Rows are not unique '
    'per group: GROUP BY and sum, llmtrace.merge(latency) for percentiles. cost_usd sums the '
    'priced spans (costed_spans). Kept llmtrace.rollup_retention_days.';

-- The daily figures by model, folded or not, for every day ever ingested.
CREATE VIEW llmtrace.daily_metrics WITH (security_invoker = true) AS
    SELECT r.day, r.project, r.environment, r.provider, r.model, r.spans, r.errors,
           r.costed_spans, r.unpriced_spans, r.input_tokens, r.output_tokens,
           r.cached_input_tokens, r.cache_write_tokens, r.reasoning_tokens, r.total_tokens,
           r.cost_usd, r.latency
    FROM llmtrace.daily_rollups r
    WHERE r.grain = 'model'
    UNION ALL
    SELECT d.day, d.project, d.environment, d.provider, d.model, d.spans, d.errors,
           d.costed_spans, d.unpriced_spans, d.input_tokens, d.output_tokens,
           d.cached_input_tokens, d.cache_write_tokens, d.reasoning_tokens, d.total_tokens,
           d.cost_usd, d.latency
    FROM llmtrace.daily_deltas d;

COMMENT ON VIEW llmtrace.daily_metrics IS
    'Live daily figures per UTC day x project x environment x provider x model, for every day '
    'ever ingested (retention does not drop them): the daily rollups plus what is not folded yet. '
    'Rows are not unique per group: GROUP BY and sum.';

-- Counters for Prometheus (integrations/prometheus/queries.yaml): all-time
-- sums per label set, from llmtrace.total_rollups (kept by the fold with the
-- daily rollups, which retention never drops) plus the daily deltas not
-- folded yet: dropping span partitions does not lower them, and a scrape costs
-- the label sets, not the days kept.
CREATE VIEW llmtrace.total_metrics WITH (security_invoker = true) AS
    SELECT r.project, r.environment, r.provider, r.model, r.spans, r.errors, r.costed_spans,
           r.unpriced_spans, r.input_tokens, r.output_tokens, r.cached_input_tokens,
           r.cache_write_tokens, r.reasoning_tokens, r.total_tokens, r.cost_usd, r.latency
    FROM llmtrace.total_rollups r
    UNION ALL
    SELECT d.project, d.environment, d.provider, d.model, d.spans, d.errors, d.costed_spans,
           d.unpriced_spans, d.input_tokens, d.output_tokens, d.cached_input_tokens,
           d.cache_write_tokens, d.reasoning_tokens, d.total_tokens, d.cost_usd, d.latency
    FROM llmtrace.daily_deltas d;

COMMENT ON VIEW llmtrace.total_metrics IS
    'All-time figures per project x environment x provider x model (retention does not lower '
    'them): llmtrace.total_rollups plus the daily deltas not folded yet. Rows are not unique per '
    'group: GROUP BY and sum.';

CREATE VIEW llmtrace.prometheus_counters WITH (security_invoker = true) AS
    SELECT coalesce(m.project, '') AS project, coalesce(m.environment, '') AS environment,
           coalesce(m.provider, '') AS provider, coalesce(m.model, '') AS model,
           sum(m.spans)::double precision AS spans, sum(m.errors)::double precision AS errors,
           sum(m.input_tokens)::double precision AS input_tokens,
           sum(m.output_tokens)::double precision AS output_tokens,
           sum(m.cached_input_tokens)::double precision AS cached_input_tokens,
           sum(m.cache_write_tokens)::double precision AS cache_write_tokens,
           sum(m.reasoning_tokens)::double precision AS reasoning_tokens,
           sum(m.cost_usd)::double precision AS cost_usd
    FROM llmtrace.total_metrics m
    GROUP BY 1, 2, 3, 4;

COMMENT ON VIEW llmtrace.prometheus_counters IS
    'All-time spans, errors, tokens by type and cost (USD) per project, environment, provider and '
    'model, for Prometheus counters: retention does not lower them. A reprice() or a span that '
    'gains its model later moves figures between series.';

-- The OpenTelemetry GenAI bucket bounds of gen_ai.client.operation.duration (seconds).
CREATE FUNCTION llmtrace.duration_buckets()
RETURNS double precision[]
LANGUAGE sql
IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT '{0.01,0.02,0.04,0.08,0.16,0.32,0.64,1.28,2.56,5.12,10.24,20.48,40.96,81.92}'::double precision[] $$;

COMMENT ON FUNCTION llmtrace.duration_buckets() IS
    'The bucket upper bounds (seconds) of the OpenTelemetry GenAI metric '
    'gen_ai.client.operation.duration, used by llmtrace.prometheus_latency.';

-- A Prometheus histogram of span durations per label set, all-time, from the
-- merged daily sketches: cumulative counts at the OTel GenAI bounds.
CREATE VIEW llmtrace.prometheus_latency WITH (security_invoker = true) AS
    SELECT h.project, h.environment, h.provider, h.model,
           llmtrace.duration_buckets() AS duration_seconds,
           llmtrace.cumulative_counts(h.sketch, ARRAY(SELECT b * 1000 FROM unnest(llmtrace.duration_buckets()) b))
               AS duration_seconds_bucket,
           llmtrace.sketch_sum(h.sketch) / 1000 AS duration_seconds_sum,
           llmtrace.sketch_count(h.sketch) AS duration_seconds_count
    FROM (SELECT coalesce(m.project, '') AS project, coalesce(m.environment, '') AS environment,
                 coalesce(m.provider, '') AS provider, coalesce(m.model, '') AS model,
                 llmtrace.merge(m.latency) AS sketch
          FROM llmtrace.total_metrics m
          GROUP BY 1, 2, 3, 4) h
    WHERE h.sketch IS NOT NULL;

COMMENT ON VIEW llmtrace.prometheus_latency IS
    'All-time span durations per project, environment, provider and model as a Prometheus '
    'histogram (seconds): duration_seconds holds the OTel GenAI bucket bounds, '
    'duration_seconds_bucket the cumulative counts at them, then the sum and the count.';

-- How many spans wait in the default partition (at most 100,000 counted):
-- spans of days without a partition, until llmtrace.maintain() moves them. A
-- reader may not read a partition itself (its rows escape the parent's
-- row-level security), so the count is taken as the owner.
CREATE FUNCTION llmtrace.default_partition_spans_internal()
RETURNS bigint
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT count(*) FROM (SELECT 1 FROM llmtrace.spans_default LIMIT 100000) x $$;

COMMENT ON FUNCTION llmtrace.default_partition_spans_internal() IS
    'Internal (granted to nobody): llmtrace.default_partition_spans(), run as the extension owner.';

CREATE FUNCTION llmtrace.default_partition_spans()
RETURNS bigint
LANGUAGE c
STABLE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'llmtrace_as_owner';

COMMENT ON FUNCTION llmtrace.default_partition_spans() IS
    'How many spans wait in the default partition of llmtrace.spans (counted up to 100,000), '
    'until llmtrace.maintain() moves them into partitions of their days.';

-- The checks of llmtrace.health. Runs as the caller: row-level security shows
-- a reader bound to projects the quarantine, rollups and rules of its own.
-- Thresholds: see the COMMENT of llmtrace.health.
CREATE FUNCTION llmtrace.health_checks()
RETURNS TABLE (check_name text, status text, value double precision, detail text)
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
SET TimeZone = 'UTC'
AS $$
DECLARE
    now_ts      timestamptz := now();
    retention   integer;
    n           bigint;
    m           bigint;
    t           timestamptz;
    txt         text;
    ahead       integer;
    behind      integer;
    default_rows bigint;
    pending     bigint;
    j           record;
BEGIN
    -- The library defines the settings read below; calling it loads it.
    PERFORM llmtrace.rollup_retention_days();
    retention := coalesce(current_setting('llmtrace.retention_days', true), '0')::integer;

    -- Traffic of the last 5 minutes, by source format.
    SELECT coalesce(sum(x.spans), 0),
           string_agg(x.source_format || ' ' || x.spans, ', ' ORDER BY x.source_format)
      INTO n, txt
    FROM (SELECT d.source_format, sum(d.spans) AS spans FROM llmtrace.ingest_deltas d
          WHERE d.minute > now_ts - interval '5 minutes' GROUP BY d.source_format) x;
    check_name := 'spans_last_5m'; value := n;
    status := CASE WHEN n > 0 THEN 'ok' ELSE 'warn' END;
    detail := CASE WHEN n > 0 THEN txt ELSE 'no span stored in the last 5 minutes' END;
    RETURN NEXT;

    -- Time since the last span was stored.
    SELECT max(d.minute) INTO t FROM llmtrace.ingest_deltas d;
    check_name := 'last_span';
    IF t IS NULL THEN
        value := NULL; status := 'warn'; detail := 'no span stored yet';
    ELSE
        value := greatest(0, extract(epoch FROM now_ts - t))::double precision;
        status := CASE WHEN value <= 300 THEN 'ok' ELSE 'warn' END;
        detail := 'last span stored in the minute of ' || to_char(t, 'YYYY-MM-DD"T"HH24:MI"Z"');
    END IF;
    RETURN NEXT;

    -- The quarantine of the last hour, against the spans of the hour.
    SELECT count(*) INTO n
    FROM (SELECT 1 FROM llmtrace.ingest_errors e WHERE e.received_at > now_ts - interval '1 hour' LIMIT 100000) x;
    SELECT coalesce(sum(d.spans), 0) INTO m FROM llmtrace.ingest_deltas d
    WHERE d.minute > now_ts - interval '1 hour';
    check_name := 'quarantined_last_hour'; value := n;
    status := CASE WHEN n >= 10 AND n >= 0.05 * (n + m) THEN 'fail' WHEN n > 0 THEN 'warn' ELSE 'ok' END;
    detail := CASE WHEN n >= 100000 THEN 'at least 100000' ELSE n::text END
              || ' payloads or spans quarantined, ' || m || ' spans stored in the last hour'
              || CASE WHEN n > 0 THEN ' (see llmtrace.ingest_errors)' ELSE '' END;
    RETURN NEXT;

    -- Models seen without a price in the last 24 hours.
    SELECT count(*), string_agg(x.label, ', ' ORDER BY x.spans DESC, x.label)
      INTO n, txt
    FROM (SELECT coalesce(h.provider, '?') || '/' || coalesce(h.model, '?') || ' (unpriced spans: '
                     || sum(h.unpriced_spans) || ')' AS label, sum(h.unpriced_spans) AS spans
          FROM llmtrace.hourly_metrics h
          WHERE h.grain = 'model' AND h.hour >= date_trunc('hour', now_ts) - interval '23 hours'
          GROUP BY h.provider, h.model
          HAVING sum(h.unpriced_spans) > 0) x;
    check_name := 'unpriced_models'; value := n;
    status := CASE WHEN n > 0 THEN 'warn' ELSE 'ok' END;
    detail := CASE WHEN n > 0 THEN txt || ': add prices to llmtrace.model_prices, then llmtrace.reprice()'
                   ELSE 'every model of the last 24 hours has a price' END;
    RETURN NEXT;

    -- Daily partitions from today on, and those retention should have dropped.
    WITH p AS (
        SELECT to_date(substr(c.relname, 8), 'YYYYMMDD') AS day
        FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'llmtrace.spans'::regclass AND c.relname ~ '^spans_p[0-9]{8}$'
    )
    SELECT coalesce((SELECT min(g.k) - 1 FROM generate_series(0, 367) g (k)
                     WHERE NOT EXISTS (SELECT 1 FROM p WHERE p.day = (now_ts::date + g.k))), 367),
           (SELECT count(*) FROM p
            WHERE retention > 0 AND p.day + 1 <= (now_ts - make_interval(days => retention))::date)
      INTO ahead, behind;
    check_name := 'partitions_ahead'; value := greatest(ahead, 0);
    status := CASE WHEN ahead < 1 THEN 'fail' WHEN ahead < 3 THEN 'warn' ELSE 'ok' END;
    detail := CASE WHEN ahead < 0 THEN 'no partition for today: spans go to the default partition; run llmtrace.maintain()'
                   WHEN ahead = 0 THEN 'no partition for tomorrow; run llmtrace.maintain()'
                   ELSE 'daily partitions through ' || (now_ts::date + ahead) END;
    RETURN NEXT;

    default_rows := llmtrace.default_partition_spans();
    check_name := 'partitions_behind'; value := behind;
    status := CASE WHEN behind > 0 OR coalesce(default_rows, 0) > 0 THEN 'warn' ELSE 'ok' END;
    detail := behind || ' daily partitions older than llmtrace.retention_days = ' || retention
              || CASE WHEN retention = 0 THEN ' (spans kept forever)' ELSE '' END
              || '; ' || CASE WHEN default_rows >= 100000 THEN 'at least 100000' ELSE default_rows::text END
              || ' spans waiting in the default partition';
    RETURN NEXT;

    -- Rollup lag: deltas waiting for llmtrace.fold_rollups() and
    -- llmtrace.refresh_daily_cost_summary(), and when those last ran.
    FOR j IN
        SELECT x.job, x.tbl, r.last_run
        FROM (VALUES ('fold_rollups', 'rollup_deltas'), ('refresh_daily_cost_summary', 'daily_deltas')) x (job, tbl)
        LEFT JOIN llmtrace.job_runs r ON r.job = x.job
    LOOP
        IF j.tbl = 'rollup_deltas' THEN
            SELECT count(*) INTO pending FROM (SELECT 1 FROM llmtrace.rollup_deltas LIMIT 100000) x;
        ELSE
            SELECT count(*) INTO pending FROM (SELECT 1 FROM llmtrace.daily_deltas LIMIT 100000) x;
        END IF;
        check_name := 'rollup_lag_' || j.job;
        value := CASE WHEN j.last_run IS NOT NULL THEN extract(epoch FROM now_ts - j.last_run) END;
        status := CASE WHEN pending = 0 THEN 'ok'
                       WHEN j.last_run IS NULL OR j.last_run < now_ts - interval '1 hour' THEN 'fail'
                       WHEN j.last_run < now_ts - interval '10 minutes' THEN 'warn'
                       ELSE 'ok' END;
        detail := CASE WHEN pending >= 100000 THEN 'at least 100000' ELSE pending::text END
                  || ' deltas waiting; llmtrace.' || j.job || '() '
                  || CASE WHEN j.last_run IS NULL THEN 'never ran'
                          ELSE 'last ran at ' || to_char(j.last_run, 'YYYY-MM-DD"T"HH24:MI:SS"Z"') END;
        RETURN NEXT;
    END LOOP;

    -- The last maintenance and retention runs.
    SELECT r.last_run, r.last_result::text INTO t, txt FROM llmtrace.job_runs r WHERE r.job = 'maintain';
    check_name := 'last_maintenance';
    value := CASE WHEN t IS NOT NULL THEN extract(epoch FROM now_ts - t) END;
    status := CASE WHEN t IS NULL OR t < now_ts - interval '1 day' THEN 'warn' ELSE 'ok' END;
    detail := CASE WHEN t IS NULL THEN 'llmtrace.maintain() never ran'
                   ELSE 'llmtrace.maintain() ran at ' || to_char(t, 'YYYY-MM-DD"T"HH24:MI:SS"Z"') || ': ' || txt END;
    RETURN NEXT;

    t := NULL; txt := NULL;
    SELECT r.last_run, r.last_result::text INTO t, txt FROM llmtrace.job_runs r WHERE r.job = 'apply_retention';
    check_name := 'last_retention';
    value := CASE WHEN t IS NOT NULL THEN extract(epoch FROM now_ts - t) END;
    status := CASE WHEN retention > 0 AND (t IS NULL OR t < now_ts - interval '2 days') THEN 'warn' ELSE 'ok' END;
    detail := CASE WHEN t IS NULL THEN 'llmtrace.apply_retention() never ran'
                   ELSE 'llmtrace.apply_retention() ran at ' || to_char(t, 'YYYY-MM-DD"T"HH24:MI:SS"Z"') || ': ' || txt END
              || CASE WHEN retention = 0 THEN ' (llmtrace.retention_days = 0: spans kept forever)' ELSE '' END;
    RETURN NEXT;

    -- Alert evaluation of the windowed rules, and what is firing.
    t := NULL;
    SELECT r.last_run INTO t FROM llmtrace.job_runs r WHERE r.job = 'evaluate_alerts';
    SELECT count(*) INTO n FROM llmtrace.alert_rules r
    WHERE r.enabled AND r.kind IN ('error_rate', 'p95_latency', 'tokens_per_window', 'cost_per_window',
                                   'quarantine_rate', 'no_traffic', 'daily_cost');
    check_name := 'alert_evaluation';
    value := CASE WHEN t IS NOT NULL THEN extract(epoch FROM now_ts - t) END;
    status := CASE WHEN n > 0 AND (t IS NULL OR t < now_ts - interval '5 minutes') THEN 'warn' ELSE 'ok' END;
    detail := CASE WHEN t IS NULL THEN 'llmtrace.evaluate_alerts() never ran'
                   ELSE 'llmtrace.evaluate_alerts() ran at ' || to_char(t, 'YYYY-MM-DD"T"HH24:MI:SS"Z"') END
              || ' (' || n || ' enabled rules it evaluates)';
    RETURN NEXT;

    SELECT count(*), string_agg(DISTINCT r.name, ', ') INTO n, txt
    FROM llmtrace.alert_state s JOIN llmtrace.alert_rules r ON r.id = s.rule_id
    WHERE s.firing;
    SELECT count(*) INTO m FROM llmtrace.alerts a
    WHERE a.fired_at > now_ts - interval '1 hour' AND a.state = 'firing';
    check_name := 'alerts_firing'; value := n;
    status := CASE WHEN n > 0 THEN 'warn' ELSE 'ok' END;
    detail := n || ' windowed rules firing' || CASE WHEN n > 0 THEN ' (' || txt || ')' ELSE '' END
              || '; ' || m || ' alerts fired in the last hour';
    RETURN NEXT;
END
$$;

COMMENT ON FUNCTION llmtrace.health_checks() IS
    'The rows of llmtrace.health.';

CREATE VIEW llmtrace.health AS
    SELECT c.check_name, c.status, c.value, c.detail FROM llmtrace.health_checks() c;

COMMENT ON VIEW llmtrace.health IS
    'One row per check of ingest health: status ok, warn or fail, a value and a detail. '
    'spans_last_5m (spans stored in the last 5 minutes, by source format; warn at 0), last_span '
    '(seconds since; warn over 300), quarantined_last_hour (fail at 10 or more and 5 % or more of '
    'what came in; warn above 0), unpriced_models (last 24 h; warn above 0), partitions_ahead '
    '(days with a partition after today; fail under 1, warn under 3), partitions_behind '
    '(partitions older than llmtrace.retention_days, spans in the default partition; warn), '
    'rollup_lag_fold_rollups and rollup_lag_refresh_daily_cost_summary (seconds since the '
    'function last ran, when deltas wait: warn over 10 minutes, fail over an hour or never), '
    'last_maintenance (warn over a day), last_retention (warn over 2 days), alert_evaluation '
    '(warn over 5 minutes), alerts_firing (windowed rules firing; warn above 0).';

CREATE FUNCTION llmtrace.health_ok()
RETURNS boolean
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT NOT EXISTS (SELECT 1 FROM llmtrace.health_checks() c WHERE c.status = 'fail') $$;

COMMENT ON FUNCTION llmtrace.health_ok() IS
    'True when no check of llmtrace.health fails (warnings do not count): for a load balancer or '
    'a probe, e.g. psql -Atc ''SELECT llmtrace.health_ok()''.';

-- The periodic functions under pg_cron, as the caller (whose jobs they are;
-- a member of llmtrace_admin). Idempotent: pg_cron updates a job of the same
-- name and user.
CREATE FUNCTION llmtrace.schedule_defaults()
RETURNS TABLE (jobname text, schedule text, command text, jobid bigint)
LANGUAGE plpgsql
VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF to_regprocedure('cron.schedule(text,text,text)') IS NULL THEN
        RAISE EXCEPTION 'llmtrace.schedule_defaults: pg_cron is not installed in this database'
            USING ERRCODE = '55000',
                  HINT = 'Set shared_preload_libraries = ''pg_cron'' and cron.database_name to this '
                         'database, restart, CREATE EXTENSION pg_cron; or schedule the functions the '
                         'README lists with another scheduler.';
    END IF;
    IF NOT pg_has_role(current_user, 'llmtrace_admin', 'MEMBER') THEN
        RAISE EXCEPTION 'llmtrace.schedule_defaults: % is not a member of llmtrace_admin', current_user
            USING ERRCODE = '42501',
                  HINT = 'The jobs run as the role that schedules them, and the periodic functions are llmtrace_admin''s.';
    END IF;
    FOR jobname, schedule, command IN
        VALUES ('llmtrace-maintain', '7 * * * *', 'SELECT llmtrace.maintain()'),
               ('llmtrace-retention', '17 3 * * *', 'SELECT llmtrace.apply_retention()'),
               ('llmtrace-fold-rollups', '* * * * *', 'SELECT llmtrace.fold_rollups()'),
               ('llmtrace-refresh-summary', '* * * * *', 'SELECT llmtrace.refresh_daily_cost_summary()'),
               ('llmtrace-evaluate-alerts', '* * * * *', 'SELECT llmtrace.evaluate_alerts()')
    LOOP
        EXECUTE 'SELECT cron.schedule($1, $2, $3)' INTO jobid USING jobname, schedule, command;
        RETURN NEXT;
    END LOOP;
END
$$;

COMMENT ON FUNCTION llmtrace.schedule_defaults() IS
    'Schedules the periodic functions with pg_cron (in the database pg_cron runs in), as the '
    'calling member of llmtrace_admin: llmtrace.maintain() hourly, llmtrace.apply_retention() daily, '
    'llmtrace.fold_rollups(), llmtrace.refresh_daily_cost_summary() and llmtrace.evaluate_alerts() '
    'every minute. Idempotent (jobs of the same name are updated); returns the jobs.';

-- A reader bound to projects sees the daily deltas and all-time sums of its
-- projects only.
ALTER TABLE llmtrace.total_rollups ENABLE ROW LEVEL SECURITY;
CREATE POLICY total_rollups_project ON llmtrace.total_rollups FOR ALL
    USING ((SELECT llmtrace.visible_projects()) IS NULL
           OR project = ANY ((SELECT llmtrace.visible_projects())::text[]))
    WITH CHECK ((SELECT llmtrace.visible_projects()) IS NULL
           OR project = ANY ((SELECT llmtrace.visible_projects())::text[]));
ALTER TABLE llmtrace.daily_deltas ENABLE ROW LEVEL SECURITY;
CREATE POLICY daily_deltas_project ON llmtrace.daily_deltas FOR ALL
    USING ((SELECT llmtrace.visible_projects()) IS NULL
           OR project = ANY ((SELECT llmtrace.visible_projects())::text[]))
    WITH CHECK ((SELECT llmtrace.visible_projects()) IS NULL
           OR project = ANY ((SELECT llmtrace.visible_projects())::text[]));

REVOKE ALL ON llmtrace.job_runs, llmtrace.ingest_deltas, llmtrace.hourly_metrics,
    llmtrace.daily_metrics, llmtrace.total_rollups, llmtrace.total_metrics, llmtrace.prometheus_counters, llmtrace.prometheus_latency,
    llmtrace.health FROM PUBLIC;
REVOKE ALL ON FUNCTION llmtrace.note_job_run(text, jsonb), llmtrace.duration_buckets(),
    llmtrace.default_partition_spans_internal(), llmtrace.default_partition_spans(),
    llmtrace.health_checks(), llmtrace.health_ok(), llmtrace.schedule_defaults() FROM PUBLIC;
-- The key sets of the daily deltas stay the owner's.
GRANT SELECT (day, project, environment, provider, model, spans, errors, costed_spans,
    unpriced_spans, input_tokens, output_tokens, cached_input_tokens, cache_write_tokens,
    reasoning_tokens, total_tokens, cost_usd, latency) ON llmtrace.daily_deltas
    TO llmtrace_reader, llmtrace_admin;
GRANT SELECT ON llmtrace.job_runs, llmtrace.ingest_deltas, llmtrace.alert_state,
    llmtrace.hourly_metrics, llmtrace.daily_metrics, llmtrace.total_rollups, llmtrace.total_metrics,
    llmtrace.prometheus_counters,
    llmtrace.prometheus_latency, llmtrace.health TO llmtrace_reader, llmtrace_admin;
GRANT EXECUTE ON FUNCTION llmtrace.duration_buckets(), llmtrace.default_partition_spans(),
    llmtrace.health_checks(), llmtrace.health_ok()
    TO llmtrace_reader, llmtrace_admin;
GRANT EXECUTE ON FUNCTION llmtrace.schedule_defaults() TO llmtrace_admin;
