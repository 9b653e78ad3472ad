--
-- privileges: the llmtrace_writer / llmtrace_reader / llmtrace_admin roles,
-- what each may do, SET search_path on every function, COMMENTs on the
-- user-facing objects.
--
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
\pset null '<null>'
-- pg_regress runs every test of the suite in one database, and other tests
-- change the price table: start from a freshly created extension.
SET client_min_messages = warning;
DROP EXTENSION llmtrace CASCADE;
CREATE EXTENSION llmtrace;
RESET client_min_messages;

-- The three roles exist (created by CREATE EXTENSION when missing), cannot log
-- in and hold no attributes.
SELECT rolname, rolcanlogin, rolsuper, rolcreaterole, rolcreatedb, rolbypassrls
FROM pg_roles WHERE rolname IN ('llmtrace_writer', 'llmtrace_reader', 'llmtrace_admin')
ORDER BY rolname;

-- Test login roles (roles are cluster-wide: unique names, dropped at the end).
SET client_min_messages = warning;
DROP ROLE IF EXISTS regress_llmtrace_w;
DROP ROLE IF EXISTS regress_llmtrace_r;
DROP ROLE IF EXISTS regress_llmtrace_a;
DROP ROLE IF EXISTS regress_llmtrace_none;
RESET client_min_messages;
CREATE ROLE regress_llmtrace_w LOGIN IN ROLE llmtrace_writer;
CREATE ROLE regress_llmtrace_r LOGIN IN ROLE llmtrace_reader;
CREATE ROLE regress_llmtrace_a LOGIN IN ROLE llmtrace_admin;
CREATE ROLE regress_llmtrace_none LOGIN;

-- Privileges per role on the core tables and views.
SELECT r.rolname, c.relname,
       has_table_privilege(r.oid, c.oid, 'SELECT') AS sel,
       has_table_privilege(r.oid, c.oid, 'INSERT') AS ins,
       has_table_privilege(r.oid, c.oid, 'UPDATE') AS upd,
       has_table_privilege(r.oid, c.oid, 'DELETE') AS del,
       has_table_privilege(r.oid, c.oid, 'TRUNCATE') AS trunc
FROM pg_roles r
CROSS JOIN pg_class c
WHERE r.rolname IN ('regress_llmtrace_w', 'regress_llmtrace_r', 'regress_llmtrace_a', 'regress_llmtrace_none')
  AND c.relnamespace = 'llmtrace'::regnamespace
  AND c.relname IN ('ingest', 'spans', 'ingest_errors', 'model_prices')
ORDER BY r.rolname, c.relname;
SELECT r.rolname, p.oid::regprocedure AS function, has_function_privilege(r.oid, p.oid, 'EXECUTE') AS exec
FROM pg_roles r
CROSS JOIN pg_proc p
WHERE r.rolname IN ('regress_llmtrace_w', 'regress_llmtrace_r', 'regress_llmtrace_a', 'regress_llmtrace_none')
  AND p.pronamespace = 'llmtrace'::regnamespace
  AND p.proname IN ('ingest_json', 'cost', 'ensure_partitions')
ORDER BY r.rolname, p.oid::regprocedure::text;

-- ---------------------------------------------------------------------------
-- llmtrace_writer: may only ingest.
-- ---------------------------------------------------------------------------
INSERT INTO llmtrace.alert_rules (name, kind, threshold, time_window, project)
VALUES ('priv window', 'tokens_per_window', 1000, '1 hour', 'privwin');
-- (the window deltas were not moved within the last second: ingest moves them)
UPDATE llmtrace.alert_window_compaction SET compacted_at = '-infinity';
SET ROLE regress_llmtrace_w;
\set QUIET off
INSERT INTO llmtrace.ingest (payload) VALUES ('{"trace_id":"priv","span_id":"w1","start_time":"2024-07-01T00:00:00Z","model":"gpt-4o","usage":{"prompt_tokens":100,"completion_tokens":10}}');
COPY llmtrace.ingest (payload) FROM STDIN;
{"trace_id":"priv","span_id":"w2","start_time":"2024-07-01T00:00:01Z"}
\.
\set QUIET on
SELECT llmtrace.ingest_json('{"trace_id":"priv","span_id":"w3","start_time":"2024-07-01T00:00:02Z"}') AS w3;
-- A bad payload from the writer is quarantined all the same.
SELECT llmtrace.ingest_json('{"trace_id":"priv"}') AS bad;
SELECT llmtrace.cost('openai', 'gpt-4o', 100, 10) AS cost;
-- ... but cannot read or write anything directly.
SELECT count(*) FROM llmtrace.spans;
SELECT * FROM llmtrace.ingest;
SELECT count(*) FROM llmtrace.ingest_errors;
INSERT INTO llmtrace.spans (trace_id, span_id, start_time, status, cost_status, source_format)
VALUES ('priv', 'forged', '2024-07-01', 'ok', 'no_usage', 'native');
UPDATE llmtrace.spans SET cost_usd = 0;
DELETE FROM llmtrace.spans;
INSERT INTO llmtrace.ingest_errors (payload, error, sqlstate) VALUES ('x', 'y', 'z');
UPDATE llmtrace.model_prices SET input_usd_per_mtok = 0;
SELECT llmtrace.ensure_partitions('2024-07-01', '2024-07-02');
-- Nor read or forge summaries.
SELECT count(*) FROM llmtrace.metrics_summary();
SELECT count(*) FROM llmtrace.daily_cost_summary;
SELECT count(*) FROM llmtrace.rollup_deltas;
INSERT INTO llmtrace.rollup_deltas (hour, spans, errors, costed_spans, unpriced_spans, input_tokens,
    output_tokens, cached_input_tokens, cache_write_tokens, reasoning_tokens, total_tokens, cost_usd)
VALUES (now(), 1000, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1000000);
SELECT llmtrace.refresh_daily_cost_summary();
-- Nor read, forge or silence alerts (its spans fire them all the same).
SELECT llmtrace.ingest_json('{"trace_id":"priv","span_id":"w4","start_time":"2024-07-01T00:00:04Z","provider":"openai","model":"gpt-4o","cost_usd":11}') AS w4;
SELECT count(*) FROM llmtrace.alerts;
SELECT count(*) FROM llmtrace.recent_alerts();
SELECT llmtrace.fire_span_alerts('{-1}', '{x}', '{x}', '{x}', '{x}', '{1000}', '{t}', '{s}');
INSERT INTO llmtrace.alerts (rule, kind, severity, scope) VALUES ('forged', 'span_cost', 'critical', '{}');
UPDATE llmtrace.alert_rules SET enabled = false;
DELETE FROM llmtrace.alert_state;
SELECT llmtrace.evaluate_alerts();
SELECT llmtrace.ingest_json(jsonb_build_object('trace_id', 'priv', 'span_id', 'w5', 'project', 'privwin',
    'start_time', now(), 'model', 'gpt-4o', 'usage', jsonb_build_object('prompt_tokens', 2000))::text) AS w5;
SELECT llmtrace.evaluate_window_rules(NULL, true);
SELECT count(*) FROM llmtrace.alert_window_minutes;
INSERT INTO llmtrace.alert_window_deltas (minute, spans, errors, tokens, cost_usd, quarantined)
VALUES (now(), 1000, 1000, 0, 0, 0);
SET llmtrace.notify_channel = 'elsewhere';
SET llmtrace.store_content = 'full';
-- Nor through RETURNING, nor by changing what is stored or sampled.
INSERT INTO llmtrace.ingest (payload) VALUES ('{"trace_id":"priv","span_id":"w7","start_time":"2024-07-01T00:00:07Z"}') RETURNING *;
SET llmtrace.sample_rate = 0;
SET llmtrace.hash_user_ids = off;
SET llmtrace.retention_days = 1;
SELECT llmtrace.maintain();
SELECT llmtrace.apply_retention();
SELECT llmtrace.fold_rollups();
SELECT count(*) FROM llmtrace.project_roles;
SELECT llmtrace.visible_projects();
RESET ROLE;
-- Nor before the library is loaded in its session: set then, the value waits
-- as a placeholder, and loading the library refuses it (a warning); the
-- database's 'none' holds and no content is stored.
ALTER DATABASE :"DBNAME" SET llmtrace.store_content = 'none';
\set superuser :USER
\c - regress_llmtrace_w
SET llmtrace.store_content = 'full';
SELECT llmtrace.ingest_json('{"trace_id":"priv","span_id":"w6","start_time":"2024-07-01T00:00:06Z","input":"a secret prompt","output":"a secret answer"}') AS w6;
SHOW llmtrace.store_content;
\c - :superuser
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
ALTER DATABASE :"DBNAME" RESET llmtrace.store_content;
SELECT input IS NULL AND output IS NULL AS no_content FROM llmtrace.spans WHERE span_id = 'w6';
DELETE FROM llmtrace.spans WHERE span_id = 'w6';
SELECT rule, value, span_id FROM llmtrace.alerts WHERE span_id = 'w4';
-- the writer's windowed span fired its rule when the statement ended
SELECT rule, state, value FROM llmtrace.alerts WHERE rule = 'priv window';
DELETE FROM llmtrace.alert_rules WHERE name = 'priv window';

-- ---------------------------------------------------------------------------
-- llmtrace_reader: may read spans (and see quarantined payloads), not ingest.
-- ---------------------------------------------------------------------------
SET ROLE regress_llmtrace_r;
SELECT trace_id, span_id, model, cost_usd, cost_status FROM llmtrace.spans ORDER BY trace_id, span_id;
SELECT error, sqlstate, payload FROM llmtrace.ingest_errors ORDER BY id;
SELECT count(*) > 0 AS sees_prices FROM llmtrace.model_prices;
SELECT llmtrace.cost('openai', 'gpt-4o', 100, 10) AS cost;
INSERT INTO llmtrace.ingest (payload) VALUES ('{"trace_id":"priv","span_id":"r1","start_time":"2024-07-01T00:00:00Z"}');
SELECT llmtrace.ingest_json('{"trace_id":"priv","span_id":"r2","start_time":"2024-07-01T00:00:00Z"}');
INSERT INTO llmtrace.spans (trace_id, span_id, start_time, status, cost_status, source_format)
VALUES ('priv', 'forged', '2024-07-01', 'ok', 'no_usage', 'native');
DELETE FROM llmtrace.ingest_errors;
INSERT INTO llmtrace.model_prices (model, input_usd_per_mtok) VALUES ('reader-model', 1);
-- Summaries: read, not refreshed or written.
SELECT provider, model, is_total, spans FROM llmtrace.metrics_summary(24 * 35) ORDER BY is_total, provider, model;
SELECT count(*) >= 0 AS reads FROM llmtrace.metrics_by_user(), llmtrace.daily_cost_summary, llmtrace.daily_rollups;
SELECT llmtrace.refresh_daily_cost_summary();
SELECT llmtrace.fold_rollups();
DELETE FROM llmtrace.hourly_rollups;
-- Alerts and rules: read, not written.
SELECT rule, span_id FROM llmtrace.recent_alerts(10);
SELECT count(*) AS rules FROM llmtrace.alert_rules;
INSERT INTO llmtrace.alert_rules (name, kind, threshold) VALUES ('reader rule', 'span_cost', 1);
DELETE FROM llmtrace.alerts;
SELECT llmtrace.evaluate_alerts();
RESET ROLE;

-- ---------------------------------------------------------------------------
-- llmtrace_admin: prices and quarantine housekeeping (and ingest).
-- ---------------------------------------------------------------------------
SET ROLE regress_llmtrace_a;
-- whether content is stored is the admin's to set
SET llmtrace.store_content = 'none';
SHOW llmtrace.store_content;
RESET llmtrace.store_content;
INSERT INTO llmtrace.model_prices (provider, model, input_usd_per_mtok, output_usd_per_mtok)
VALUES ('regress', 'regress-model', 1, 2);
SELECT llmtrace.ingest_json('{"trace_id":"priv","span_id":"a1","start_time":"2024-07-01T00:00:03Z","provider":"regress","model":"regress-model","usage":{"prompt_tokens":1000000,"completion_tokens":1000000}}') AS a1;
SELECT span_id, cost_usd, cost_status FROM llmtrace.spans WHERE span_id = 'a1';
DELETE FROM llmtrace.model_prices WHERE provider = 'regress';
DELETE FROM llmtrace.ingest_errors;
SELECT count(*) AS quarantined FROM llmtrace.ingest_errors;
-- Summaries: reprice corrects them (UPDATE of span costs), refresh folds them.
INSERT INTO llmtrace.model_prices (provider, model, input_usd_per_mtok, output_usd_per_mtok)
VALUES ('regress', 'regress-model', 3, 4);
SELECT llmtrace.reprice('2024-07-01', '2024-07-02') AS repriced;
SELECT llmtrace.refresh_daily_cost_summary();
SELECT day, provider, model, spans, cost_usd FROM llmtrace.daily_cost_summary
WHERE provider = 'regress' ORDER BY day;
SELECT sum(cost_usd) AS spans_cost FROM llmtrace.spans WHERE provider = 'regress';
DELETE FROM llmtrace.model_prices WHERE provider = 'regress';
-- Alert rules are the admin's; the alerts themselves are written by ingest only.
INSERT INTO llmtrace.alert_rules (name, kind, threshold, severity) VALUES ('admin rule', 'span_latency', 1000, 'critical');
UPDATE llmtrace.alert_rules SET enabled = false WHERE name = 'admin rule';
DELETE FROM llmtrace.alert_rules WHERE name = 'admin rule';
SELECT llmtrace.evaluate_alerts() >= 0 AS evaluates;
SELECT count(*) > 0 AS reads_alerts FROM llmtrace.recent_alerts();
DELETE FROM llmtrace.alerts;
-- Every function the README gives the admin runs for it (each line: no error).
SELECT llmtrace.fold_rollups() >= 0 AS fold_rollups;
SELECT partitions_busy = 0 AS apply_retention FROM llmtrace.apply_retention();
SELECT days_busy = 0 AS maintain FROM llmtrace.maintain(0);
SELECT llmtrace.ensure_partitions('2024-07-01', '2024-07-01') >= 0 AS ensure_partitions;
SELECT (llmtrace.import_litellm_prices('{}')).added = 0 AS import_litellm_prices;
SELECT llmtrace.cost('openai', 'gpt-4o', 1000, 10) > 0 AS cost;
SELECT count(*) > 0 AS metrics FROM llmtrace.metrics_summary(24), llmtrace.metrics_by_feature(24),
    llmtrace.metrics_by_endpoint(24), llmtrace.metrics_by_user(24);
SELECT llmtrace.quantile(llmtrace.latency_sketch(x), 0.5) AS sketches FROM generate_series(1, 3) x;
SELECT llmtrace.sample_keep('t', 1) AS sample_keep, llmtrace.visible_projects() IS NULL AS visible_projects;
INSERT INTO llmtrace.project_roles (role, project) VALUES ('regress_llmtrace_none', 'p');
DELETE FROM llmtrace.project_roles WHERE project = 'p';
SET llmtrace.sample_rate = 0.5;
SET llmtrace.hash_user_ids = on;
SET llmtrace.retention_days = 30;
SET llmtrace.maintenance_lock_timeout = '2s';
RESET llmtrace.sample_rate;
RESET llmtrace.hash_user_ids;
RESET llmtrace.retention_days;
RESET llmtrace.maintenance_lock_timeout;
RESET ROLE;

-- ---------------------------------------------------------------------------
-- Anyone else: no access to the schema at all.
-- ---------------------------------------------------------------------------
SET ROLE regress_llmtrace_none;
INSERT INTO llmtrace.ingest (payload) VALUES ('{"trace_id":"priv","span_id":"n1","start_time":"2024-07-01T00:00:00Z"}');
SELECT llmtrace.ingest_json('{"trace_id":"priv","span_id":"n2","start_time":"2024-07-01T00:00:00Z"}');
SELECT count(*) FROM llmtrace.spans;
RESET ROLE;

SELECT span_id FROM llmtrace.spans WHERE trace_id = 'priv' ORDER BY span_id;

-- ---------------------------------------------------------------------------
-- Every function of the schema pins its search_path. None is SECURITY
-- DEFINER (expect no rows): what must act with more rights than its caller
-- switches to the extension owner in a security-restricted context (the C
-- entry points themselves, the rest through llmtrace_as_owner wrappers).
-- ---------------------------------------------------------------------------
SELECT p.oid::regprocedure AS security_definer_function
FROM pg_proc p WHERE p.pronamespace = 'llmtrace'::regnamespace AND p.prosecdef
ORDER BY p.oid::regprocedure::text;
SELECT p.oid::regprocedure AS runs_as_owner
FROM pg_proc p WHERE p.pronamespace = 'llmtrace'::regnamespace
  AND (p.prosrc = 'llmtrace_as_owner'
       OR p.prosrc IN ('llmtrace_ingest_row_trigger', 'llmtrace_ingest_statement_trigger',
                       'llmtrace_ingest_json', 'llmtrace_refresh_daily_cost_summary'))
ORDER BY p.oid::regprocedure::text;
-- ... and their implementations are granted to nobody.
SELECT p.oid::regprocedure AS internal_granted
FROM pg_proc p WHERE p.pronamespace = 'llmtrace'::regnamespace AND p.proname LIKE '%\_internal'
  AND EXISTS (SELECT 1 FROM aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
              WHERE a.grantee <> p.proowner AND a.privilege_type = 'EXECUTE');
-- No function of the schema lacks a pinned search_path (expect no rows), but
-- for aggregates (which have no SET clause), the latency sketch's and id
-- sets' C functions and group_key(), which run no SQL and are called for
-- every row of a query.
SELECT p.oid::regprocedure AS function_without_search_path
FROM pg_proc p WHERE p.pronamespace = 'llmtrace'::regnamespace
  AND NOT EXISTS (SELECT 1 FROM unnest(p.proconfig) c WHERE c LIKE 'search\_path=%')
  AND p.prokind <> 'a'
  AND NOT (p.prolang = (SELECT oid FROM pg_language WHERE lanname = 'c')
           AND (p.proname LIKE 'latency\_sketch\_%' OR p.proname IN ('group_key', 'sample_keep') OR p.proname LIKE 'id\_set\_%'
                OR 'llmtrace.latency_sketch'::regtype IN (p.prorettype, coalesce(p.proargtypes[0], 0))))
ORDER BY 1::text;
SELECT p.oid::regprocedure AS function, p.proconfig
FROM pg_proc p WHERE p.pronamespace = 'llmtrace'::regnamespace
  AND p.proname IN ('ingest_json', 'cost', 'ensure_partitions')
ORDER BY p.oid::regprocedure::text;

-- ---------------------------------------------------------------------------
-- COMMENTs: every table, view and non-trigger function of the schema has one
-- (expect no rows), and those of the core objects read as follows.
-- ---------------------------------------------------------------------------
SELECT c.relname AS relation_without_comment
FROM pg_class c
WHERE c.relnamespace = 'llmtrace'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm')
  AND NOT c.relispartition AND obj_description(c.oid, 'pg_class') IS NULL
ORDER BY 1;
SELECT p.oid::regprocedure AS function_without_comment
FROM pg_proc p
WHERE p.pronamespace = 'llmtrace'::regnamespace AND p.prorettype <> 'trigger'::regtype
  AND obj_description(p.oid, 'pg_proc') IS NULL
  AND p.proname NOT LIKE 'latency\_sketch\_%'  -- the type's I/O and aggregate support
  AND p.proname NOT LIKE 'id\_set\_merge\_%'    -- aggregate support
ORDER BY 1::text;
SELECT c.relname, obj_description(c.oid, 'pg_class') AS comment
FROM pg_class c
WHERE c.relnamespace = 'llmtrace'::regnamespace
  AND c.relname IN ('ingest', 'spans', 'ingest_errors', 'model_prices')
ORDER BY c.relname;
SELECT p.oid::regprocedure AS function, obj_description(p.oid, 'pg_proc') AS comment
FROM pg_proc p
WHERE p.pronamespace = 'llmtrace'::regnamespace AND p.proname IN ('ingest_json', 'cost', 'ensure_partitions')
ORDER BY p.oid::regprocedure::text;
SELECT obj_description(e.oid, 'pg_extension') IS NOT NULL AS extension_has_comment
FROM pg_extension e WHERE extname = 'llmtrace';
-- The settings are documented.
SELECT name, context, short_desc IS NOT NULL AND extra_desc IS NOT NULL AS documented
FROM pg_settings WHERE name IN ('llmtrace.on_error', 'llmtrace.store_content') ORDER BY name;

DROP ROLE regress_llmtrace_w;
DROP ROLE regress_llmtrace_r;
DROP ROLE regress_llmtrace_a;
DROP ROLE regress_llmtrace_none;

-- Pre-existing roles are adopted only when they are what CREATE EXTENSION
-- would have made (NOLOGIN, no other attribute, a member of no role):
-- otherwise it fails, naming the role and why.
\set VERBOSITY terse
SET client_min_messages = warning;
DROP EXTENSION llmtrace CASCADE;
RESET client_min_messages;
ALTER ROLE llmtrace_writer LOGIN;
CREATE EXTENSION llmtrace;
ALTER ROLE llmtrace_writer NOLOGIN;
ALTER ROLE llmtrace_admin BYPASSRLS CREATEDB;
CREATE EXTENSION llmtrace;
ALTER ROLE llmtrace_admin NOBYPASSRLS NOCREATEDB;
GRANT pg_read_all_data, pg_signal_backend TO llmtrace_writer;
CREATE EXTENSION llmtrace;
REVOKE pg_read_all_data, pg_signal_backend FROM llmtrace_writer;
CREATE EXTENSION llmtrace;
SELECT count(*) AS llmtrace_roles FROM pg_roles
WHERE rolname IN ('llmtrace_writer', 'llmtrace_reader', 'llmtrace_admin') AND NOT rolcanlogin;
\set VERBOSITY default
