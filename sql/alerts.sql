--
-- alerts: per-span rules checked at ingest, cooldown per rule and scope,
-- NOTIFY only when an alert fires, nothing for a rolled-back insert, rules
-- validated when written, rule changes seen at the next statement.
--
SET timezone = 'UTC';
\set SHOW_CONTEXT never
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

-- ---------------------------------------------------------------------------
-- Windowed rules: sums per rule and minute, evaluated from those (never from
-- llmtrace.spans); firing once when the condition starts, resolved once when
-- it clears.
-- ---------------------------------------------------------------------------
-- Bad windowed rules
INSERT INTO llmtrace.alert_rules (name, kind, threshold, time_window) VALUES ('x', 'error_rate', 10, '-5 minutes');
INSERT INTO llmtrace.alert_rules (name, kind, threshold) VALUES ('x', 'p95_latency', 1000);
INSERT INTO llmtrace.alert_rules (name, kind, threshold, time_window) VALUES ('x', 'tokens_per_window', 1000, '30 seconds');
INSERT INTO llmtrace.alert_rules (name, kind, threshold, time_window) VALUES ('x', 'cost_per_window', 5, '2 days');
INSERT INTO llmtrace.alert_rules (name, kind, threshold, time_window) VALUES ('x', 'error_rate', -1, '5 minutes');
INSERT INTO llmtrace.alert_rules (name, kind, threshold, time_window) VALUES ('x', 'error_rate', 100, '5 minutes');
INSERT INTO llmtrace.alert_rules (name, kind, threshold, time_window) VALUES ('x', 'tokens_per_window', -1000, '5 minutes');
INSERT INTO llmtrace.alert_rules (name, kind, threshold, time_window) VALUES ('x', 'cost_per_window', 0, '5 minutes');
INSERT INTO llmtrace.alert_rules (name, kind, threshold, time_window) VALUES ('x', 'quarantine_rate', -1, '5 minutes');
INSERT INTO llmtrace.alert_rules (name, kind, threshold, time_window, project) VALUES ('x', 'quarantine_rate', 1, '5 minutes', 'p');
INSERT INTO llmtrace.alert_rules (name, kind, threshold, time_window) VALUES ('x', 'no_traffic', 1, '5 minutes');
INSERT INTO llmtrace.alert_rules (name, kind, threshold, time_window) VALUES ('x', 'p95_latency', 'NaN', '5 minutes');

-- Only the rules of this section
UPDATE llmtrace.alert_rules SET enabled = false;
-- n spans of a project starting now (or `ago` before), the first `errors` of
-- them with status error, each lasting ms and using `tokens` input tokens (or,
-- with tokens NULL, reporting a cost of 0.25 USD).
CREATE FUNCTION pg_temp.spans(project text, n int, errors int DEFAULT 0, ms int DEFAULT 100,
                              tokens int DEFAULT 10, ago interval DEFAULT '0')
RETURNS bigint LANGUAGE sql AS $$
    SELECT llmtrace.ingest_json(jsonb_agg(jsonb_build_object(
        'trace_id', project || '-' || clock_timestamp()::text, 'span_id', 's' || g, 'project', project,
        'start_time', to_char((now() - ago) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
        'end_time', to_char((now() - ago + make_interval(secs => ms / 1000.0)) AT TIME ZONE 'UTC',
                            'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
        'name', 'chat', 'model', 'gpt-4o', 'status', CASE WHEN g <= errors THEN 'error' ELSE 'ok' END,
        'cost_usd', CASE WHEN tokens IS NULL THEN 0.25 END,
        'usage', CASE WHEN tokens IS NOT NULL
                      THEN jsonb_build_object('prompt_tokens', tokens, 'completion_tokens', 0) END))::text)
    FROM generate_series(1, n) g
$$;
CREATE TABLE pg_temp.seen (id bigint);
-- Moves every minute of the windows back in time: as if `d` had passed.
CREATE FUNCTION pg_temp.time_passes(d interval) RETURNS void LANGUAGE sql AS $$
    UPDATE llmtrace.alert_window_minutes SET minute = minute - d;
    UPDATE llmtrace.alert_window_deltas SET minute = minute - d;
    UPDATE llmtrace.alert_state SET last_fired = last_fired - d WHERE last_fired > '-infinity';
$$;
CREATE FUNCTION pg_temp.new_alerts() RETURNS TABLE (rule text, kind text, state text, value numeric,
                                                     threshold numeric, project text, spans text)
LANGUAGE sql AS $$
    SELECT a.rule, a.kind, a.state, a.value, a.threshold, a.scope->>'project', a.details->>'spans'
    FROM llmtrace.alerts a WHERE a.kind IN ('error_rate', 'p95_latency', 'tokens_per_window',
                                            'cost_per_window', 'quarantine_rate', 'no_traffic')
      AND a.id > coalesce((SELECT max(id) FROM pg_temp.seen), 0)
    ORDER BY a.id
$$;
CREATE FUNCTION pg_temp.mark() RETURNS void LANGUAGE sql AS $$
    INSERT INTO pg_temp.seen SELECT max(id) FROM llmtrace.alerts
$$;

-- error_rate: over 10 % of at least 20 spans in 5 minutes
INSERT INTO llmtrace.alert_rules (name, kind, threshold, time_window, min_spans, cooldown, severity, project)
VALUES ('w errors', 'error_rate', 10, '5 minutes', 20, '0', 'critical', 'w1');
SELECT pg_temp.spans('w1', 10, 5);           -- 50 %, but 10 spans < min_spans
SELECT pg_temp.spans('w2', 30, 30);          -- another project
SELECT llmtrace.evaluate_alerts() >= 0 AS evaluated;
SELECT * FROM pg_temp.new_alerts();
SELECT pg_temp.spans('w1', 15);              -- 5 of 25 = 20 %
SELECT llmtrace.evaluate_alerts() >= 0 AS evaluated;
SELECT * FROM pg_temp.new_alerts();
SELECT pg_temp.mark();
-- still over: nothing new, however often it is evaluated
SELECT pg_temp.spans('w1', 5, 1);
SELECT llmtrace.evaluate_alerts() >= 0 AS evaluated, llmtrace.evaluate_alerts() AS again;
SELECT * FROM pg_temp.new_alerts();
-- good spans bring it under: resolved once
SELECT pg_temp.spans('w1', 30);              -- 6 of 60 = 10 %, not over 10
SELECT llmtrace.evaluate_alerts() >= 0 AS evaluated, llmtrace.evaluate_alerts() AS again;
SELECT * FROM pg_temp.new_alerts();
SELECT pg_temp.mark();
-- over again (cooldown 0): fires again
SELECT pg_temp.spans('w1', 10, 10);
SELECT llmtrace.evaluate_alerts() >= 0 AS evaluated;
SELECT * FROM pg_temp.new_alerts();
SELECT pg_temp.mark();
-- the window drains with time alone: resolved
SELECT pg_temp.time_passes('6 minutes');
SELECT llmtrace.evaluate_alerts() >= 0 AS evaluated;
SELECT * FROM pg_temp.new_alerts();
SELECT pg_temp.mark();
-- the drained minutes are dropped
SELECT count(*) AS minutes_left FROM llmtrace.alert_window_minutes m
WHERE m.scope_key = llmtrace.group_key('w1', NULL, NULL, NULL, NULL, NULL, 'window');
-- spans older than the window count for nothing (a backfill does not alert)
SELECT pg_temp.spans('w1', 40, 40, ago => '20 minutes');
SELECT count(*) AS deltas FROM llmtrace.alert_window_deltas;
SELECT llmtrace.evaluate_alerts() >= 0 AS evaluated;
-- a rolled-back insert adds nothing
BEGIN;
SELECT pg_temp.spans('w1', 40, 40);
ROLLBACK;
SELECT llmtrace.evaluate_alerts() >= 0 AS evaluated;
SELECT * FROM pg_temp.new_alerts();

-- cooldown: after a resolve, the same condition within the cooldown is quiet
UPDATE llmtrace.alert_rules SET cooldown = '1 hour' WHERE name = 'w errors';
SELECT pg_temp.spans('w1', 20, 20);
SELECT llmtrace.evaluate_alerts() >= 0 AS evaluated;
SELECT pg_temp.time_passes('6 minutes');
SELECT llmtrace.evaluate_alerts() >= 0 AS evaluated;
SELECT pg_temp.spans('w1', 20, 20);
SELECT llmtrace.evaluate_alerts() >= 0 AS evaluated;
SELECT * FROM pg_temp.new_alerts();   -- nothing within the cooldown
SELECT pg_temp.time_passes('2 hours');
SELECT pg_temp.spans('w1', 20, 20);
SELECT llmtrace.evaluate_alerts() >= 0 AS evaluated;
SELECT * FROM pg_temp.new_alerts();
SELECT pg_temp.mark();
UPDATE llmtrace.alert_rules SET enabled = false WHERE name = 'w errors';

-- Ingest evaluates a rule it added to when its statement ends (here the first
-- time this session sees the rule; the deltas were last moved more than a
-- second ago, so it moves them); inside a transaction block it leaves that to
-- llmtrace.evaluate_alerts(), so as not to hold the rule until it commits.
INSERT INTO llmtrace.alert_rules (name, kind, threshold, time_window, project)
VALUES ('w tokens', 'tokens_per_window', 1000, '1 hour', 'w3');
UPDATE llmtrace.alert_window_compaction SET compacted_at = '-infinity';
SELECT pg_temp.spans('w3', 3, tokens => 400);
SELECT * FROM pg_temp.new_alerts();
SELECT pg_temp.mark();
INSERT INTO llmtrace.alert_rules (name, kind, threshold, time_window, project)
VALUES ('w cost', 'cost_per_window', 1, '10 minutes', 'w4');
BEGIN;
SELECT pg_temp.spans('w4', 5, tokens => NULL);   -- 1.25 USD
SELECT * FROM pg_temp.new_alerts();
COMMIT;
SELECT llmtrace.evaluate_alerts() >= 0 AS evaluated;
SELECT * FROM pg_temp.new_alerts();
SELECT pg_temp.mark();
-- a rule change takes effect at once: the threshold above the value resolves it
UPDATE llmtrace.alert_rules SET threshold = 2 WHERE name = 'w cost';
SELECT llmtrace.evaluate_alerts() >= 0 AS evaluated;
SELECT * FROM pg_temp.new_alerts();
SELECT pg_temp.mark();

-- p95_latency: the 95th percentile of the window's latency sketch
INSERT INTO llmtrace.alert_rules (name, kind, threshold, time_window, min_spans, project)
VALUES ('w slow', 'p95_latency', 2000, '5 minutes', 20, 'w5');
SELECT pg_temp.spans('w5', 19, ms => 100);
SELECT pg_temp.spans('w5', 1, ms => 3000);   -- p95 of 20: the 19th value, 100 ms
SELECT llmtrace.evaluate_alerts() >= 0 AS evaluated;
SELECT * FROM pg_temp.new_alerts();
SELECT pg_temp.spans('w5', 2, ms => 3000);   -- now the 21st of 22: 3000 ms
SELECT llmtrace.evaluate_alerts() >= 0 AS evaluated;
SELECT * FROM pg_temp.new_alerts();
SELECT pg_temp.mark();

-- quarantine_rate: payloads quarantined in the window
INSERT INTO llmtrace.alert_rules (name, kind, threshold, time_window)
VALUES ('w broken exporter', 'quarantine_rate', 1, '5 minutes');
SET llmtrace.on_error = 'quarantine';
SELECT llmtrace.ingest_json('{"trace_id": 1');
SELECT llmtrace.evaluate_alerts() >= 0 AS evaluated;
SELECT * FROM pg_temp.new_alerts();   -- 1 is not over 1
INSERT INTO llmtrace.ingest VALUES ('not json'), ('[{"span_id": "no trace"}]');
SELECT llmtrace.evaluate_alerts() >= 0 AS evaluated;
SELECT * FROM pg_temp.new_alerts();
SELECT pg_temp.mark();
RESET llmtrace.on_error;

-- no_traffic: armed by the first span; silence for the window fires it, the
-- next span resolves it
INSERT INTO llmtrace.alert_rules (name, kind, time_window, project, severity)
VALUES ('w drain stopped', 'no_traffic', '5 minutes', 'w6', 'critical');
SELECT llmtrace.evaluate_alerts() >= 0 AS evaluated;
SELECT * FROM pg_temp.new_alerts();   -- nothing before any traffic
SELECT pg_temp.spans('w6', 1);
SELECT llmtrace.evaluate_alerts() >= 0 AS evaluated;
SELECT pg_temp.time_passes('10 minutes');
SELECT llmtrace.evaluate_alerts() >= 0 AS evaluated, llmtrace.evaluate_alerts() AS again;
SELECT pg_temp.spans('w6', 1);
SELECT llmtrace.evaluate_alerts() >= 0 AS evaluated;
SELECT * FROM pg_temp.new_alerts();

-- A firing rule that is disabled resolves at the next evaluation, once
SELECT pg_temp.mark();
SELECT rule, state FROM llmtrace.alerts a JOIN llmtrace.alert_state s ON s.rule_id = a.rule_id AND s.firing
WHERE a.rule = 'w tokens' ORDER BY a.id DESC LIMIT 1;
UPDATE llmtrace.alert_rules SET enabled = false WHERE name = 'w tokens';
SELECT llmtrace.evaluate_alerts() >= 0 AS evaluated, llmtrace.evaluate_alerts() AS again;
SELECT n.*, a.details->>'reason' AS reason FROM pg_temp.new_alerts() n
JOIN llmtrace.alerts a ON a.rule = n.rule AND a.state = n.state AND a.id > (SELECT max(id) FROM pg_temp.seen);

-- The payload of a windowed alert: state, value, threshold, scope
SELECT llmtrace.alert_payload(a)::jsonb - 'id' - 'rule_id' AS payload
FROM llmtrace.alerts a WHERE a.kind = 'no_traffic' ORDER BY a.id;
