-- ---------------------------------------------------------------------------
-- Projects as tenants. (Part of the install script and of the upgrade to 0.2.0.)
--
-- llmtrace_admin binds roles to projects in llmtrace.project_roles. A writer
-- bound to projects stores every span under one of them, whatever the payload
-- claims (the ingest path reads the bindings; src/pg/tenants.cpp). A reader
-- bound to projects sees only their rows: row-level security on every table a
-- reader can select, and views that do not bypass it (security_invoker, or a
-- barrier filter over the materialized view). A role bound to no project sees
-- whatever the admin granted it. Bindings count through role membership.
-- Superusers and the extension owner are not subject to row-level security.
-- ---------------------------------------------------------------------------
CREATE TABLE llmtrace.project_roles (
    role    regrole NOT NULL,
    project text    NOT NULL CHECK (project <> ''),
    PRIMARY KEY (role, project)
);

COMMENT ON TABLE llmtrace.project_roles IS
    'Binds roles to projects (managed by llmtrace_admin): a bound writer''s spans are stored under '
    'its project; a bound reader sees only its projects'' spans, quarantined payloads, summaries '
    'and alerts. Bindings count for members of the role.';

SELECT pg_catalog.pg_extension_config_dump('llmtrace.project_roles', '');

-- The ingest path caches each role's projects: a change of the bindings
-- reaches every backend's cache (and this transaction's, statement by statement).
CREATE TRIGGER project_roles_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON llmtrace.project_roles FOR EACH STATEMENT EXECUTE FUNCTION llmtrace.prices_changed();
ALTER TABLE llmtrace.project_roles ENABLE ALWAYS TRIGGER project_roles_changed;

-- A role sees its own bindings (those of the roles it is a member of); the
-- admin sees and manages all of them.
ALTER TABLE llmtrace.project_roles ENABLE ROW LEVEL SECURITY;
CREATE POLICY project_roles_own ON llmtrace.project_roles FOR SELECT
    USING (pg_catalog.pg_has_role(CURRENT_USER, role, 'MEMBER'));
CREATE POLICY project_roles_admin ON llmtrace.project_roles FOR ALL TO llmtrace_admin
    USING (true) WITH CHECK (true);

-- The projects the current role may see, NULL when it is bound to none (then
-- it sees all rows of the tables it was granted). Runs as the caller: the
-- row-level security of llmtrace.project_roles shows it its own bindings. The
-- admin's policy shows it every binding, so for the admin the membership test
-- is what matters; it is made again here.
CREATE FUNCTION llmtrace.visible_projects()
RETURNS text[]
LANGUAGE sql
STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT array_agg(DISTINCT project ORDER BY project)
    FROM llmtrace.project_roles
    WHERE pg_has_role(CURRENT_USER, role, 'MEMBER')
$$;

COMMENT ON FUNCTION llmtrace.visible_projects() IS
    'The projects the current role is bound to (through membership); NULL when it is bound to '
    'none. What row-level security shows it.';

-- The policy of every tenant table: one evaluation per query (the scalar
-- subqueries become init plans), not per row.
--   (SELECT llmtrace.visible_projects()) IS NULL OR project = ANY ((SELECT llmtrace.visible_projects())::text[])

-- ingest_errors: the project of the writer that sent the payload (NULL for an unbound writer).
ALTER TABLE llmtrace.ingest_errors ADD COLUMN project text;
COMMENT ON COLUMN llmtrace.ingest_errors.project IS
    'The project of the writer that sent it, when that writer is bound to projects (NULL otherwise).';

DO $policies$
DECLARE
    t text;
    col text;
BEGIN
    FOR t, col IN VALUES ('spans', 'project'), ('ingest_errors', 'project'),
                         ('rollup_deltas', 'project'), ('hourly_rollups', 'project'),
                         ('daily_rollups', 'project'), ('alert_rules', 'project'),
                         ('alerts', '(scope->>''project'')') LOOP
        EXECUTE pg_catalog.format('ALTER TABLE llmtrace.%I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE pg_catalog.format(
            'CREATE POLICY %I ON llmtrace.%I FOR ALL '
            'USING ((SELECT llmtrace.visible_projects()) IS NULL '
            '       OR %s = ANY ((SELECT llmtrace.visible_projects())::text[])) '
            'WITH CHECK ((SELECT llmtrace.visible_projects()) IS NULL '
            '       OR %s = ANY ((SELECT llmtrace.visible_projects())::text[]))',
            t || '_project', t, col, col);
    END LOOP;
END
$policies$;

-- Views read with the caller's rights, so row-level security applies.
ALTER VIEW llmtrace.unpriced_models SET (security_invoker = true);

-- The daily summary: a materialized view has no row-level security, so
-- readers get it through a barrier view that filters by the same rule, and
-- the materialized view itself is granted to nobody.
CREATE VIEW llmtrace.daily_cost_summary WITH (security_barrier = true) AS
    SELECT * FROM llmtrace.daily_cost_summary_data d
    WHERE d.spans <> 0  -- a group every span of which moved to another (a model it lacked)
      AND ((SELECT llmtrace.visible_projects()) IS NULL
           OR d.project = ANY ((SELECT llmtrace.visible_projects())::text[]));

COMMENT ON VIEW llmtrace.daily_cost_summary IS
    'One row per UTC day x project x environment x provider x model: spans, errors, tokens, cost '
    '(NULL when no span had one), unpriced spans, latency percentiles (within 1 %), distinct users '
    'and sessions; the rows of the caller''s projects. Current as of the last '
    'llmtrace.refresh_daily_cost_summary().';

-- What a NOTIFY carries is the admin's decision too.
GRANT SET ON PARAMETER llmtrace.notify_payload TO llmtrace_admin;

REVOKE ALL ON llmtrace.project_roles, llmtrace.daily_cost_summary FROM PUBLIC;
REVOKE ALL ON FUNCTION llmtrace.visible_projects() FROM PUBLIC;
GRANT SELECT ON llmtrace.project_roles TO llmtrace_reader, llmtrace_admin;
GRANT INSERT, UPDATE, DELETE ON llmtrace.project_roles TO llmtrace_admin;
GRANT SELECT ON llmtrace.daily_cost_summary TO llmtrace_reader, llmtrace_admin;
GRANT EXECUTE ON FUNCTION llmtrace.visible_projects() TO llmtrace_reader, llmtrace_admin;

-- Every _internal implementation (and anything else of the schema) is
-- granted to nobody unless granted above or in the other parts.
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA llmtrace FROM PUBLIC;
