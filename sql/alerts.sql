--
-- alerts: per-span rules checked at ingest, cooldown per rule and scope,
-- NOTIFY only when an alert fires, nothing for a rolled-back insert, rules
-- validated when written, rule changes seen at the next statement.
--
SET timezone = 'UTC';
\pset null '<null>'
SET client_min_messages = warning;
DROP EXTENSION llmtrace CASCADE;
CREATE EXTENSION llmtrace;
RESET client_min_messages;

SELECT id, name, kind, threshold, time_window, min_spans, cooldown, severity, enabled, seeded
FROM llmtrace.alert_rules ORDER BY id;

-- ---------------------------------------------------------------------------
-- Bad rules are refused when written, with a clear error.
-- ---------------------------------------------------------------------------
INSERT INTO llmtrace.alert_rules (name, kind, threshold) VALUES ('x', 'span_costs', 1);
INSERT INTO llmtrace.alert_rules (name, kind, threshold) VALUES ('x', 'span_cost', -1);
INSERT INTO llmtrace.alert_rules (name, kind, threshold) VALUES ('x', 'span_cost', 0);
INSERT INTO llmtrace.alert_rules (name, kind, threshold) VALUES ('x', 'span_cost', 'NaN');
INSERT INTO llmtrace.alert_rules (name, kind) VALUES ('x', 'span_latency');
INSERT INTO llmtrace.alert_rules (name, kind, threshold) VALUES ('x', 'unpriced_model', 3);
INSERT INTO llmtrace.alert_rules (name, kind, threshold, time_window) VALUES ('x', 'span_cost', 1, '5 minutes');
INSERT INTO llmtrace.alert_rules (name, kind, threshold, severity) VALUES ('x', 'span_cost', 1, 'page');
INSERT INTO llmtrace.alert_rules (name, kind, threshold, cooldown) VALUES ('x', 'span_cost', 1, '-1 hour');
INSERT INTO llmtrace.alert_rules (name, kind, threshold, min_spans) VALUES ('x', 'span_cost', 1, -5);
INSERT INTO llmtrace.alert_rules (name, kind, threshold) VALUES ('', 'span_cost', 1);
UPDATE llmtrace.alert_rules SET threshold = -10 WHERE kind = 'span_cost';
SELECT count(*) AS rules FROM llmtrace.alert_rules;

-- ---------------------------------------------------------------------------
-- A span over a threshold fires once per cooldown and scope (the NOTIFY that
-- goes with each alert is checked by specs/alerts_concurrent.spec).
-- ---------------------------------------------------------------------------
SELECT llmtrace.ingest_json('{"trace_id":"a1","span_id":"s1","start_time":"2026-03-01T10:00:00Z","duration_ms":20,"provider":"openai","model":"gpt-4o","project":"web","cost_usd":12.5}') AS stored;
-- the same scope within the cooldown: no second alert, even for a larger cost
SELECT llmtrace.ingest_json('{"trace_id":"a1","span_id":"s2","start_time":"2026-03-01T10:01:00Z","duration_ms":20,"provider":"openai","model":"gpt-4o","project":"web","cost_usd":40}') AS stored;
-- another scope (model): its own alert; of one statement's spans over the
-- threshold in one scope, the largest is reported
SELECT llmtrace.ingest_json('[
 {"trace_id":"a1","span_id":"s3","start_time":"2026-03-01T10:02:00Z","duration_ms":20,"provider":"openai","model":"gpt-4.1","project":"web","cost_usd":11},
 {"trace_id":"a1","span_id":"s4","start_time":"2026-03-01T10:02:00Z","duration_ms":20,"provider":"openai","model":"gpt-4.1","project":"web","cost_usd":13},
 {"trace_id":"a1","span_id":"s5","start_time":"2026-03-01T10:02:00Z","duration_ms":20,"provider":"openai","model":"gpt-4.1","project":"web","cost_usd":12}]') AS stored;
-- under the threshold, and a re-delivery of a span that fired: nothing
SELECT llmtrace.ingest_json('{"trace_id":"a1","span_id":"s6","start_time":"2026-03-01T10:03:00Z","duration_ms":20,"provider":"openai","model":"o3","project":"web","cost_usd":9.99}') AS stored;
SELECT llmtrace.ingest_json('{"trace_id":"a1","span_id":"s4","start_time":"2026-03-01T10:02:00Z","duration_ms":20,"provider":"openai","model":"gpt-4.1","project":"web","cost_usd":13}') AS stored;
SELECT id, rule_id, rule, kind, severity, state, value, threshold, scope, trace_id, span_id
FROM llmtrace.alerts ORDER BY id;

-- ---------------------------------------------------------------------------
-- A rolled-back insert fires nothing and takes no cooldown slot; a rolled-back
-- savepoint neither.
-- ---------------------------------------------------------------------------
BEGIN;
SELECT llmtrace.ingest_json('{"trace_id":"r1","span_id":"s1","start_time":"2026-03-01T11:00:00Z","duration_ms":20,"provider":"anthropic","model":"claude-opus-4","cost_usd":50}') AS stored;
ROLLBACK;
BEGIN;
SAVEPOINT sp;
SELECT llmtrace.ingest_json('{"trace_id":"r1","span_id":"s2","start_time":"2026-03-01T11:00:00Z","duration_ms":20,"provider":"anthropic","model":"claude-opus-4","cost_usd":50}') AS stored;
ROLLBACK TO SAVEPOINT sp;
COMMIT;
SELECT count(*) AS alerts, (SELECT count(*) FROM llmtrace.alert_state) AS slots FROM llmtrace.alerts;
SELECT llmtrace.ingest_json('{"trace_id":"r1","span_id":"s3","start_time":"2026-03-01T11:00:00Z","duration_ms":20,"provider":"anthropic","model":"claude-opus-4","cost_usd":50}') AS stored;
SELECT id, rule, value, scope->>'model' AS model, span_id FROM llmtrace.alerts ORDER BY id DESC LIMIT 1;

-- ---------------------------------------------------------------------------
-- Latency and unpriced models; rule filters; rules changed in this
-- transaction or another apply at the next statement.
-- ---------------------------------------------------------------------------
SELECT llmtrace.ingest_json('[
 {"trace_id":"l1","span_id":"s1","start_time":"2026-03-01T12:00:00Z","duration_ms":499.9,"provider":"openai","model":"gpt-4o-mini"},
 {"trace_id":"l1","span_id":"s2","start_time":"2026-03-01T12:00:00Z","duration_ms":750,"provider":"openai","model":"gpt-4o-mini"},
 {"trace_id":"u1","span_id":"s1","start_time":"2026-03-01T12:00:00Z","model":"mystery-1","usage":{"prompt_tokens":10,"completion_tokens":2}},
 {"trace_id":"u1","span_id":"s2","start_time":"2026-03-01T12:00:00Z","model":"mystery-1","usage":{"prompt_tokens":10,"completion_tokens":2}},
 {"trace_id":"u1","span_id":"s3","start_time":"2026-03-01T12:00:00Z","model":"mystery-2","usage":{"prompt_tokens":10,"completion_tokens":2}},
 {"trace_id":"u1","span_id":"s4","start_time":"2026-03-01T12:00:00Z","model":"mystery-3"}]') AS stored;
SELECT rule, kind, severity, value, threshold, scope->>'model' AS model, span_id
FROM llmtrace.alerts WHERE kind <> 'span_cost' ORDER BY scope->>'model';

INSERT INTO llmtrace.alert_rules (name, kind, threshold, cooldown, severity, project)
VALUES ('checkout cost', 'span_cost', 0.5, '0', 'critical', 'checkout');
SELECT llmtrace.ingest_json('[
 {"trace_id":"f1","span_id":"s1","start_time":"2026-03-01T13:00:00Z","provider":"openai","model":"gpt-4o","project":"checkout","cost_usd":0.75},
 {"trace_id":"f1","span_id":"s2","start_time":"2026-03-01T13:00:00Z","provider":"openai","model":"gpt-4o","project":"search","cost_usd":0.75}]') AS stored;
-- cooldown 0: the next statement over the threshold fires again
SELECT llmtrace.ingest_json('{"trace_id":"f1","span_id":"s3","start_time":"2026-03-01T13:00:00Z","provider":"openai","model":"gpt-4o","project":"checkout","cost_usd":0.6}') AS stored;
SELECT rule, severity, value, scope->>'project' AS project, span_id FROM llmtrace.alerts
WHERE rule = 'checkout cost' ORDER BY id;
BEGIN;
UPDATE llmtrace.alert_rules SET enabled = false WHERE name = 'checkout cost';
SELECT llmtrace.ingest_json('{"trace_id":"f1","span_id":"s4","start_time":"2026-03-01T13:00:00Z","provider":"openai","model":"gpt-4o","project":"checkout","cost_usd":0.9}') AS stored;
UPDATE llmtrace.alert_rules SET enabled = true, threshold = 0.95 WHERE name = 'checkout cost';
SELECT llmtrace.ingest_json('{"trace_id":"f1","span_id":"s5","start_time":"2026-03-01T13:00:00Z","provider":"openai","model":"gpt-4o","project":"checkout","cost_usd":0.9}') AS stored;
SELECT llmtrace.ingest_json('{"trace_id":"f1","span_id":"s6","start_time":"2026-03-01T13:00:00Z","provider":"openai","model":"gpt-4o","project":"checkout","cost_usd":0.96}') AS stored;
COMMIT;
SELECT rule, value, span_id FROM llmtrace.alerts WHERE rule = 'checkout cost' ORDER BY id;

-- ---------------------------------------------------------------------------
-- The NOTIFY payload stays under 8000 bytes whatever the span holds.
-- ---------------------------------------------------------------------------
SELECT llmtrace.ingest_json(jsonb_build_object('trace_id', repeat('t', 256), 'span_id', repeat('"', 256),
    'start_time', '2026-03-01T14:00:00Z', 'provider', repeat(E'\u0001', 5000), 'model', repeat(E'\u0002', 9000),
    'project', repeat('é', 9000), 'environment', repeat('\', 9000), 'cost_usd', 99)::text) AS stored;
SELECT octet_length(llmtrace.alert_payload(a)) < 8000 AS under_8000,
       (llmtrace.alert_payload(a)::jsonb ->> 'id')::bigint = a.id AS carries_id,
       length(a.scope->>'model') AS model_length_kept
FROM llmtrace.alerts a ORDER BY id DESC LIMIT 1;

SELECT id, rule FROM llmtrace.recent_alerts(3);
SELECT count(*) FROM llmtrace.recent_alerts(0);

-- ---------------------------------------------------------------------------
-- An edited default becomes the user's rule (kept by pg_dump), with a new id.
-- ---------------------------------------------------------------------------
UPDATE llmtrace.alert_rules SET threshold = 25 WHERE name = 'span cost over 10 USD';
SELECT id > 0 AS user_id, name, threshold, seeded FROM llmtrace.alert_rules WHERE name = 'span cost over 10 USD';

-- ---------------------------------------------------------------------------
-- A backend remembers the cooldowns it learnt (so a busy scope costs no SQL),
-- and forgets them when the cooldown slots are deleted.
-- ---------------------------------------------------------------------------
SELECT llmtrace.ingest_json('{"trace_id":"m1","span_id":"s1","start_time":"2026-03-01T15:00:00Z","provider":"openai","model":"memo","cost_usd":30}') AS stored;
SELECT llmtrace.ingest_json('{"trace_id":"m1","span_id":"s2","start_time":"2026-03-01T15:00:00Z","provider":"openai","model":"memo","cost_usd":31}') AS stored;
SELECT count(*) AS memo_alerts FROM llmtrace.alerts WHERE scope->>'model' = 'memo';
DELETE FROM llmtrace.alert_state;
SELECT llmtrace.ingest_json('{"trace_id":"m1","span_id":"s3","start_time":"2026-03-01T15:00:00Z","provider":"openai","model":"memo","cost_usd":32}') AS stored;
SELECT span_id, value FROM llmtrace.alerts WHERE scope->>'model' = 'memo' ORDER BY id;

-- ---------------------------------------------------------------------------
-- daily_cost: the cost of the current UTC day of what the filters select, from
-- the rollups and the deltas not folded yet; fires once a day, at ingest or
-- from llmtrace.evaluate_alerts() (which also sees other sessions' commits).
-- ---------------------------------------------------------------------------
UPDATE llmtrace.alert_rules SET enabled = false WHERE name = 'daily cost over 50 USD';
INSERT INTO llmtrace.alert_rules (name, kind, threshold, severity, project)
VALUES ('budget per day', 'daily_cost', 100, 'critical', 'budget');
INSERT INTO llmtrace.alert_rules (name, kind, threshold, time_window) VALUES ('x', 'daily_cost', 10, '1 day');
INSERT INTO llmtrace.alert_rules (name, kind) VALUES ('x', 'daily_cost');
SELECT llmtrace.ingest_json(jsonb_build_object('trace_id', 'd1', 'span_id', 's1', 'project', 'budget',
    'start_time', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), 'cost_usd', 60)::text) AS stored;
-- a span of another day and one of another project do not count
SELECT llmtrace.ingest_json(jsonb_build_object('trace_id', 'd1', 'span_id', 's2', 'project', 'budget',
    'start_time', '2026-03-01T00:00:00Z', 'cost_usd', 500)::text) AS stored;
SELECT llmtrace.ingest_json(jsonb_build_object('trace_id', 'd1', 'span_id', 's3', 'project', 'other',
    'start_time', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), 'cost_usd', 500)::text) AS stored;
SELECT llmtrace.evaluate_alerts() AS fired;
SELECT count(*) AS budget_alerts FROM llmtrace.alerts WHERE rule = 'budget per day';
-- 60 + 50 > 100: one alert (at ingest, or at the next evaluation when ingest
-- evaluated this rule less than a second before), then none for the rest of the day
SELECT llmtrace.ingest_json(jsonb_build_object('trace_id', 'd1', 'span_id', 's4', 'project', 'budget',
    'start_time', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), 'cost_usd', 50)::text) AS stored;
SELECT llmtrace.evaluate_alerts() >= 0 AS evaluated;
SELECT llmtrace.ingest_json(jsonb_build_object('trace_id', 'd1', 'span_id', 's5', 'project', 'budget',
    'start_time', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), 'cost_usd', 70)::text) AS stored;
SELECT llmtrace.evaluate_alerts() AS fired_again;
SELECT rule, kind, severity, value, threshold, scope->>'project' AS project,
       (details->>'day')::date = (now() AT TIME ZONE 'UTC')::date AS today
FROM llmtrace.alerts WHERE rule = 'budget per day';
-- after a refresh folded the deltas, the rollups carry the same total
SELECT llmtrace.refresh_daily_cost_summary();
DELETE FROM llmtrace.alert_state s USING llmtrace.alert_rules r WHERE r.id = s.rule_id AND r.name = 'budget per day';
SELECT llmtrace.evaluate_alerts() AS fired_from_rollups;
SELECT count(*) AS budget_alerts, max(value) AS latest_total FROM llmtrace.alerts WHERE rule = 'budget per day';
