-- Projects as tenants: llmtrace_admin binds roles to projects
-- (llmtrace.project_roles); a bound writer's spans are stored under its
-- project whatever the payload claims; a bound reader sees only its projects'
-- spans, quarantined payloads, summaries and alerts (row-level security, and
-- views that do not bypass it), everywhere it can look.
\set QUIET on
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS llmtrace CASCADE;
CREATE EXTENSION llmtrace;
DROP ROLE IF EXISTS regress_t_w_a;
DROP ROLE IF EXISTS regress_t_w_multi;
DROP ROLE IF EXISTS regress_t_w_free;
DROP ROLE IF EXISTS regress_t_r_a;
DROP ROLE IF EXISTS regress_t_r_free;
DROP ROLE IF EXISTS regress_t_admin;
DROP ROLE IF EXISTS regress_t_team;
RESET client_min_messages;
SET timezone = 'UTC';
CREATE ROLE regress_t_w_a IN ROLE llmtrace_writer;
CREATE ROLE regress_t_w_multi IN ROLE llmtrace_writer;
CREATE ROLE regress_t_w_free IN ROLE llmtrace_writer;
CREATE ROLE regress_t_r_a IN ROLE llmtrace_reader;
CREATE ROLE regress_t_r_free IN ROLE llmtrace_reader;
CREATE ROLE regress_t_admin IN ROLE llmtrace_admin;
CREATE ROLE regress_t_team;

-- The admin binds roles to projects; nobody else can.
SET ROLE regress_t_admin;
INSERT INTO llmtrace.project_roles (role, project) VALUES
    ('regress_t_w_a', 'acme'), ('regress_t_w_multi', 'acme'), ('regress_t_w_multi', 'globex'),
    ('regress_t_r_a', 'acme'), ('regress_t_team', 'globex');
INSERT INTO llmtrace.alert_rules (name, kind, threshold, cooldown, project) VALUES
    ('acme cost', 'span_cost', 1, '0', 'acme'), ('globex cost', 'span_cost', 1, '0', 'globex');
INSERT INTO llmtrace.alert_rules (name, kind, threshold, cooldown) VALUES ('any cost', 'span_cost', 1, '0');
RESET ROLE;
SET ROLE regress_t_r_a;
INSERT INTO llmtrace.project_roles (role, project) VALUES ('regress_t_r_a', 'globex');
RESET ROLE;
SET ROLE regress_t_w_free;
INSERT INTO llmtrace.project_roles (role, project) VALUES ('regress_t_w_free', 'globex');
RESET ROLE;

-- Spans of the last hours, so that every summary (hourly ones included) has them.
SELECT to_char(date_trunc('hour', now()) - interval '2 hours', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS t0 \gset

-- Writers. A bound writer stores under its project whatever the payload says;
-- with several projects the payload's one counts when it is one of them.
SET ROLE regress_t_w_a;
SELECT llmtrace.ingest_json(replace($$[
  {"trace_id":"a1","span_id":"1","start_time":"@T","project":"globex","model":"gpt-4o","provider":"openai","cost_usd":2,"feature":"chat"},
  {"trace_id":"a2","span_id":"1","start_time":"@T","model":"mystery-model","usage":{"prompt_tokens":10}},
  {"trace_id":"a3","span_id":"1","start_time":"@T","project":"acme"}]$$, '@T', :'t0')) AS stored;
SELECT llmtrace.ingest_json(replace('{"trace_id":"a-bad","start_time":"@T"}', '@T', :'t0')) AS bad;
RESET ROLE;
SET ROLE regress_t_w_multi;
SELECT llmtrace.ingest_json(replace($$[
  {"trace_id":"m1","span_id":"1","start_time":"@T","project":"globex","model":"gpt-4o","provider":"openai","cost_usd":3,"feature":"search"},
  {"trace_id":"m2","span_id":"1","start_time":"@T","project":"initech"},
  {"trace_id":"m3","span_id":"1","start_time":"@T","model":"mystery-model","usage":{"prompt_tokens":10},"project":"globex"}]$$, '@T', :'t0')) AS stored;
RESET ROLE;
SET ROLE regress_t_w_free;
SELECT llmtrace.ingest_json(replace($$[
  {"trace_id":"f1","span_id":"1","start_time":"@T","project":"initech","model":"gpt-4o","provider":"openai","cost_usd":5},
  {"trace_id":"f2","span_id":"1","start_time":"@T"}]$$, '@T', :'t0')) AS stored;
SELECT llmtrace.ingest_json(replace('{"trace_id":"f-bad","start_time":"@T"}', '@T', :'t0')) AS bad;
RESET ROLE;
SELECT trace_id, project FROM llmtrace.spans ORDER BY trace_id;
SELECT error, project FROM llmtrace.ingest_errors ORDER BY id;
SELECT rule, scope->>'project' AS project, trace_id FROM llmtrace.alerts ORDER BY id;
SELECT llmtrace.fold_rollups() IS NOT NULL AS folded, llmtrace.refresh_daily_cost_summary() IS NOT NULL AS refreshed;
-- And some not folded yet (they wait in llmtrace.rollup_deltas).
SET ROLE regress_t_w_multi;
SELECT llmtrace.ingest_json(replace($$[{"trace_id":"m4","span_id":"1","start_time":"@T","project":"globex"},
  {"trace_id":"m5","span_id":"1","start_time":"@T","project":"acme"}]$$, '@T', :'t0')) AS stored;
RESET ROLE;

-- A bound reader sees its project only, wherever it looks.
SET ROLE regress_t_r_a;
SELECT llmtrace.visible_projects();
SELECT role, project FROM llmtrace.project_roles ORDER BY 1, 2;
SELECT DISTINCT project FROM llmtrace.spans;
SELECT count(*) AS errors, array_agg(DISTINCT project) AS projects FROM llmtrace.ingest_errors;
SELECT DISTINCT project FROM llmtrace.rollup_deltas;
SELECT DISTINCT project FROM llmtrace.hourly_rollups;
SELECT DISTINCT project FROM llmtrace.daily_rollups;
SELECT project, spans, cost_usd FROM llmtrace.daily_cost_summary ORDER BY 1, 2;
SELECT provider, model, spans FROM llmtrace.unpriced_models;
SELECT spans, cost_usd FROM llmtrace.metrics_summary(48) WHERE is_total;
SELECT feature, spans FROM llmtrace.metrics_by_feature(48) ORDER BY 1;
SELECT rule, scope->>'project' AS project FROM llmtrace.alerts ORDER BY id;
SELECT rule FROM llmtrace.recent_alerts() ORDER BY id;
SELECT name FROM llmtrace.alert_rules WHERE name LIKE '% cost' ORDER BY 1;
-- No way around the policies.
SET row_security = off;
SELECT count(*) FROM llmtrace.spans;
RESET row_security;
SELECT count(*) FROM llmtrace.daily_cost_summary_data;
SELECT count(*) FROM llmtrace.spans WHERE project = 'globex' OR project IS NULL;
RESET ROLE;

-- Membership counts: a member of a bound group sees the group's projects too.
GRANT regress_t_team TO regress_t_r_a;
SET ROLE regress_t_r_a;
SELECT llmtrace.visible_projects();
SELECT project, count(*) FROM llmtrace.spans GROUP BY 1 ORDER BY 1;
RESET ROLE;
REVOKE regress_t_team FROM regress_t_r_a;

-- An unbound reader sees what it was granted: everything.
SET ROLE regress_t_r_free;
SELECT llmtrace.visible_projects();
SELECT project, count(*) FROM llmtrace.spans GROUP BY 1 ORDER BY 1;
SELECT count(*) AS daily_rows FROM llmtrace.daily_cost_summary;
SELECT count(*) AS alerts FROM llmtrace.alerts;
RESET ROLE;

-- llmtrace.project (what a front such as llmtrace-gateway sets from its
-- bearer token): an unbound writer's spans go to it; a binding wins over it.
SET ROLE regress_t_w_free;
SET llmtrace.project = 'forced';
SELECT llmtrace.ingest_json(replace('{"trace_id":"fp1","span_id":"1","start_time":"@T","project":"claimed"}', '@T', :'t0')) AS stored;
RESET llmtrace.project;
RESET ROLE;
SET ROLE regress_t_w_multi;
SET llmtrace.project = 'forced';
SELECT llmtrace.ingest_json(replace('{"trace_id":"fp2","span_id":"1","start_time":"@T","project":"globex"}', '@T', :'t0')) AS stored;
RESET llmtrace.project;
RESET ROLE;
SELECT trace_id, project FROM llmtrace.spans WHERE trace_id IN ('fp1', 'fp2') ORDER BY 1;

-- A binding changed by the admin reaches the writer's next statement.
SET ROLE regress_t_w_a;
SELECT llmtrace.ingest_json(replace('{"trace_id":"a4","span_id":"1","start_time":"@T"}', '@T', :'t0')) AS before_rebind;
RESET ROLE;
UPDATE llmtrace.project_roles SET project = 'globex' WHERE role = 'regress_t_w_a'::regrole;
SET ROLE regress_t_w_a;
SELECT llmtrace.ingest_json(replace('{"trace_id":"a5","span_id":"1","start_time":"@T","project":"acme"}', '@T', :'t0')) AS after_rebind;
RESET ROLE;
DELETE FROM llmtrace.project_roles WHERE role = 'regress_t_w_a'::regrole;
SET ROLE regress_t_w_a;
SELECT llmtrace.ingest_json(replace('{"trace_id":"a6","span_id":"1","start_time":"@T","project":"initech"}', '@T', :'t0')) AS unbound;
RESET ROLE;
SELECT trace_id, project FROM llmtrace.spans WHERE trace_id IN ('a4', 'a5', 'a6') ORDER BY 1;

-- A bound admin manages its projects only: a new price reprices its
-- project's spans, not another's.
INSERT INTO llmtrace.project_roles (role, project) VALUES ('regress_t_admin', 'acme');
INSERT INTO llmtrace.model_prices (model, input_usd_per_mtok, output_usd_per_mtok) VALUES ('mystery-model', 1, 1);
SET ROLE regress_t_admin;
SELECT DISTINCT project FROM llmtrace.spans;
INSERT INTO llmtrace.alert_rules (name, kind, threshold, project) VALUES ('globex by acme admin', 'span_cost', 1, 'globex');
SELECT llmtrace.reprice(now() - interval '1 day', now() + interval '1 day') AS repriced;
RESET ROLE;
SELECT trace_id, project, cost_status FROM llmtrace.spans WHERE model = 'mystery-model' ORDER BY 1;

SET client_min_messages = warning;
DROP EXTENSION llmtrace CASCADE;
CREATE EXTENSION llmtrace;
DROP ROLE regress_t_w_a;
DROP ROLE regress_t_w_multi;
DROP ROLE regress_t_w_free;
DROP ROLE regress_t_r_a;
DROP ROLE regress_t_r_free;
DROP ROLE regress_t_admin;
DROP ROLE regress_t_team;
