-- A hostile schema: an unprivileged role plants functions, operators, a cast
-- and tables under the names llmtrace's SQL and SPI queries use, in public
-- and in a schema of its own, and writers and admins run with that schema
-- first on their search_path (and temporary tables of those names). Nothing
-- the extension does changes: the same workload gives the same spans, costs,
-- summaries and alerts as in a clean session, and no planted object is ever
-- called.
\set QUIET on
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS llmtrace CASCADE;
DROP SCHEMA IF EXISTS evil CASCADE;
DROP ROLE IF EXISTS regress_evil;
DROP ROLE IF EXISTS regress_h_w;
DROP ROLE IF EXISTS regress_h_a;
CREATE EXTENSION llmtrace;
RESET client_min_messages;
SET timezone = 'UTC';
CREATE ROLE regress_evil;
CREATE ROLE regress_h_w IN ROLE llmtrace_writer;
CREATE ROLE regress_h_a IN ROLE llmtrace_admin;
GRANT CREATE ON SCHEMA public TO regress_evil;
CREATE SCHEMA evil AUTHORIZATION regress_evil;
GRANT USAGE ON SCHEMA evil TO PUBLIC;

-- The workload, run by a writer and an admin; its results as text.
CREATE TEMP TABLE results (run text, what text, value text);
GRANT ALL ON results TO PUBLIC;
CREATE FUNCTION pg_temp.workload(run text, path text) RETURNS void LANGUAGE plpgsql AS $fn$
BEGIN
    PERFORM set_config('search_path', path, false);
    SET ROLE regress_h_a;
    INSERT INTO llmtrace.alert_rules (name, kind, threshold, cooldown, project)
    VALUES ('hostile cost', 'span_cost', 0.001, '0', 'shop');
    INSERT INTO llmtrace.model_prices (provider, model, input_usd_per_mtok, output_usd_per_mtok)
    VALUES ('openai', 'house-model', 1.25, 2.5);
    INSERT INTO llmtrace.project_roles (role, project) VALUES ('regress_h_w', 'shop');
    RESET ROLE;
    SET ROLE regress_h_w;
    INSERT INTO llmtrace.ingest (payload) VALUES
      ('{"trace_id":"h1","span_id":"1","start_time":"2025-04-01T10:00:00Z","duration_ms":120,"provider":"openai","model":"gpt-4o","user_id":"Ann@Example.com","usage":{"prompt_tokens":1200,"completion_tokens":300,"prompt_tokens_details":{"cached_tokens":200}}}'),
      ('{"trace_id":"h1","span_id":"2","parent_span_id":"1","start_time":"2025-04-01T10:00:01Z","duration_ms":80,"provider":"anthropic","model":"claude-sonnet-4-5","usage":{"input_tokens":100,"output_tokens":50,"cache_read_input_tokens":1000}}'),
      ('{"trace_id":"h2","span_id":"1","start_time":"2025-04-01T11:00:00Z","provider":"openai","model":"house-model","error":"boom","usage":{"prompt_tokens":10,"completion_tokens":5}}'),
      ('{"trace_id":"h3"}');
    PERFORM llmtrace.ingest_json('{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331","name":"chat","startTimeUnixNano":"1743501600000000000","endTimeUnixNano":"1743501601000000000","attributes":[{"key":"gen_ai.request.model","value":{"stringValue":"gpt-4o-mini"}},{"key":"gen_ai.system","value":{"stringValue":"openai"}},{"key":"gen_ai.usage.input_tokens","value":{"intValue":"500"}},{"key":"gen_ai.usage.output_tokens","value":{"intValue":"20"}}]}]}]}]}');
    RESET ROLE;
    SET ROLE regress_h_a;
    PERFORM llmtrace.maintain(1);
    PERFORM llmtrace.ensure_partitions('2025-04-01', '2025-04-02');
    SET llmtrace.retention_days = 3650;
    PERFORM llmtrace.apply_retention();
    RESET llmtrace.retention_days;
    PERFORM llmtrace.fold_rollups();
    PERFORM llmtrace.refresh_daily_cost_summary();
    PERFORM llmtrace.evaluate_alerts();
    PERFORM llmtrace.reprice('2025-01-01', '2026-01-01');
    PERFORM llmtrace.import_litellm_prices('{"house-model-2":{"litellm_provider":"openai","mode":"chat","input_cost_per_token":0.000001,"output_cost_per_token":0.000002}}');
    -- The results are read with a clean path (the reading is this test's, not the extension's).
    PERFORM set_config('search_path', 'pg_catalog, pg_temp', false);
    INSERT INTO results
    SELECT run, 'span', concat_ws(' ', trace_id, span_id, project, model, input_tokens, output_tokens,
                                  cached_input_tokens, cost_usd, cost_status, status, tableoid::regclass)
    FROM llmtrace.spans;
    INSERT INTO results SELECT run, 'quarantine', concat_ws(' ', error, project) FROM llmtrace.ingest_errors;
    INSERT INTO results SELECT run, 'daily', d::text FROM llmtrace.daily_cost_summary d;
    INSERT INTO results SELECT run, 'alert', concat_ws(' ', rule, kind, value, scope, trace_id, span_id) FROM llmtrace.alerts;
    INSERT INTO results SELECT run, 'cost', llmtrace.cost('openai', 'gpt-4o', 1000, 100, 100, 0, '2025-04-01')::text;
    INSERT INTO results SELECT run, 'price', concat_ws(' ', provider, model, input_usd_per_mtok, source)
    FROM llmtrace.model_prices WHERE model LIKE 'house-model%';
    RESET ROLE;
END
$fn$;

-- 1. A clean run.
SELECT pg_temp.workload('clean', '"$user", public');
SET client_min_messages = warning;
DROP EXTENSION llmtrace CASCADE;
RESET client_min_messages;

-- 2. The planted objects, in public and in schema evil; each records its call.
SET ROLE regress_evil;
CREATE TABLE evil.calls (what text);
GRANT INSERT, SELECT ON evil.calls TO PUBLIC;
DO $plant$
DECLARE
    s text;
    t text;
BEGIN
    FOREACH s IN ARRAY ARRAY['public', 'evil'] LOOP
        EXECUTE format($f$CREATE FUNCTION %I.now() RETURNS timestamptz LANGUAGE sql AS
            'INSERT INTO evil.calls VALUES (''now''); SELECT ''2000-01-01''::timestamptz'$f$, s);
        EXECUTE format($f$CREATE FUNCTION %I.lower(text) RETURNS text LANGUAGE sql AS
            'INSERT INTO evil.calls VALUES (''lower''); SELECT ''x'''$f$, s);
        EXECUTE format($f$CREATE FUNCTION %I.coalesce_evil(text) RETURNS text LANGUAGE sql AS
            'INSERT INTO evil.calls VALUES (''coalesce''); SELECT ''x'''$f$, s);
        EXECUTE format($f$CREATE FUNCTION %I.hashtext(text) RETURNS integer LANGUAGE sql AS
            'INSERT INTO evil.calls VALUES (''hashtext''); SELECT 1'$f$, s);
        EXECUTE format($f$CREATE FUNCTION %I.sha256(bytea) RETURNS bytea LANGUAGE sql AS
            'INSERT INTO evil.calls VALUES (''sha256''); SELECT ''\x00''::bytea'$f$, s);
        EXECUTE format($f$CREATE FUNCTION %I.pg_has_role(oid, regrole, text) RETURNS boolean LANGUAGE sql AS
            'INSERT INTO evil.calls VALUES (''pg_has_role''); SELECT true'$f$, s);
        EXECUTE format($f$CREATE FUNCTION %I.format(text, variadic text[]) RETURNS text LANGUAGE sql AS
            'INSERT INTO evil.calls VALUES (''format''); SELECT ''SELECT 1'''$f$, s);
        EXECUTE format($f$CREATE FUNCTION %I.jsonb_typeof(jsonb) RETURNS text LANGUAGE sql AS
            'INSERT INTO evil.calls VALUES (''jsonb_typeof''); SELECT ''object'''$f$, s);
        EXECUTE format($f$CREATE FUNCTION %I.concat_evil(text, text) RETURNS text LANGUAGE sql AS
            'INSERT INTO evil.calls VALUES (''||''); SELECT ''x'''$f$, s);
        EXECUTE format($f$CREATE FUNCTION %I.text_eq(text, text) RETURNS boolean LANGUAGE sql AS
            'INSERT INTO evil.calls VALUES (''='') ; SELECT true'$f$, s);
        EXECUTE format($f$CREATE FUNCTION %I.numeric_add(numeric, numeric) RETURNS numeric LANGUAGE sql AS
            'INSERT INTO evil.calls VALUES (''+'') ; SELECT 0::numeric'$f$, s);
        EXECUTE format('CREATE OPERATOR %I.= (leftarg = text, rightarg = text, function = %I.text_eq)', s, s);
        EXECUTE format('CREATE OPERATOR %I.+ (leftarg = numeric, rightarg = numeric, function = %I.numeric_add)', s, s);
        EXECUTE format('CREATE OPERATOR %I.|| (leftarg = text, rightarg = text, function = %I.concat_evil)', s, s);
        FOREACH t IN ARRAY ARRAY['spans', 'model_prices', 'ingest_errors', 'project_roles', 'alert_rules',
                                 'alerts', 'prices_version', 'hash_secret', 'rollup_deltas', 'ingest'] LOOP
            EXECUTE format('CREATE TABLE %I.%I (x int)', s, t);
        END LOOP;
    END LOOP;
END
$plant$;
RESET ROLE;
-- Casts: an unprivileged role cannot create one between types it does not own.
SET ROLE regress_evil;
CREATE CAST (text AS bytea) WITHOUT FUNCTION;
RESET ROLE;

-- 3. The same workload with the hostile schema first on the path of the writer
-- and the admin, and temporary tables named like the extension's in the session.
SET client_min_messages = warning;
CREATE EXTENSION llmtrace;
RESET client_min_messages;
CREATE TEMP TABLE spans (x int);
CREATE TEMP TABLE model_prices (x int);
CREATE TEMP TABLE alert_rules (x int);
CREATE TEMP TABLE project_roles (x int);
SELECT pg_temp.workload('hostile', 'evil, public, pg_catalog');

SELECT run, what, count(*) FROM results GROUP BY 1, 2 ORDER BY 2, 1;
-- The same results, row for row (expect no rows).
(SELECT what, value FROM results WHERE run = 'clean' EXCEPT ALL SELECT what, value FROM results WHERE run = 'hostile')
UNION ALL
(SELECT what, value FROM results WHERE run = 'hostile' EXCEPT ALL SELECT what, value FROM results WHERE run = 'clean');
-- No planted object was ever called (expect no rows).
SELECT what, count(*) FROM evil.calls GROUP BY 1;
-- ... though they were there, and would be called by plain SQL on that path:
SET search_path = evil, public, pg_catalog;
SELECT now() = '2000-01-01'::timestamptz AS planted_now_is_live;
RESET search_path;
DELETE FROM evil.calls;

SET client_min_messages = warning;
DROP EXTENSION llmtrace CASCADE;
CREATE EXTENSION llmtrace;
DROP SCHEMA evil CASCADE;
DO $$
DECLARE
    f text;
BEGIN
    FOR f IN SELECT p.oid::regprocedure::text FROM pg_proc p
             WHERE p.pronamespace = 'public'::regnamespace AND p.proowner = 'regress_evil'::regrole LOOP
        EXECUTE 'DROP FUNCTION ' || f || ' CASCADE';
    END LOOP;
END
$$;
DROP OWNED BY regress_evil;
REVOKE CREATE ON SCHEMA public FROM regress_evil;
DROP ROLE regress_evil;
DROP ROLE regress_h_w;
DROP ROLE regress_h_a;
