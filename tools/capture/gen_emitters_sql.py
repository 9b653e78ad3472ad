#!/usr/bin/env python3
# Writes sql/emitters.sql: one ingest per fixture of test/data/emitters (run after
# `node capture.mjs` re-creates them), then the checks. Run from anywhere.
import os, glob
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
files = sorted(f for f in glob.glob(os.path.join(ROOT, 'test/data/emitters/*.json')) if not f.endswith('.logs.json'))
out = []
out.append('''-- Payloads captured from real emitters (tools/capture: the Vercel AI SDK 5, 6
-- and 7 with its mock models and with the real Anthropic and OpenAI provider
-- packages against a local stand-in API, the OpenTelemetry OpenAI
-- instrumentation, Strands Agents, the Braintrust SDK), ingested as sent.
-- Each model call is counted once; what is not stored is listed.
\\pset null '<null>'
SET timezone = 'UTC';
TRUNCATE llmtrace.spans, llmtrace.ingest_errors;
CREATE TEMP TABLE fixture (name text, trace_id text);
''')
for f in files:
    name = os.path.basename(f)[:-5]
    rel = os.path.relpath(f, ROOT)
    out.append(f"\\set payload `cat {rel}`\n"
               f"SELECT llmtrace.ingest_json(:'payload') > 0 AS stored_{name.replace('-', '_').replace('.', '_')};\n"
               f"INSERT INTO fixture SELECT DISTINCT '{name}', trace_id FROM llmtrace.spans\n"
               f"WHERE trace_id NOT IN (SELECT trace_id FROM fixture);\n")
out.append('''
-- Per emitter: spans by cost_status, and the token and cost sums of the columns.
SELECT f.name, count(*) AS spans,
       count(*) FILTER (WHERE s.cost_status = 'priced') AS priced,
       count(*) FILTER (WHERE s.cost_status = 'aggregate') AS aggregate,
       count(*) FILTER (WHERE s.cost_status = 'unreconciled') AS unreconciled,
       count(*) FILTER (WHERE s.cost_status = 'no_usage') AS no_usage,
       sum(s.input_tokens) AS input, sum(s.cached_input_tokens) AS cached,
       sum(s.cache_write_tokens) AS cache_write, sum(s.output_tokens) AS output,
       sum(s.reasoning_tokens) AS reasoning, sum(s.cost_usd) AS cost_usd
FROM fixture f JOIN llmtrace.spans s USING (trace_id)
GROUP BY f.name ORDER BY f.name;

-- Usage counted once: every aggregate span repeats usage that the model-call
-- spans of its trace carry in their columns. Its kept input count equals the
-- sum of theirs (AI SDK 6 and 7, Strands), or, for AI SDK 5, whose outer
-- generateText span keeps only the last step's usage, one of them.
SELECT f.name, s.name AS aggregate_span, a.kept_input, t.children_input,
       a.kept_input = t.children_input AS equals_sum,
       a.kept_input IN (SELECT c.input_tokens FROM llmtrace.spans c
                        WHERE c.trace_id = s.trace_id AND c.cost_status <> 'aggregate') AS equals_one
FROM fixture f JOIN llmtrace.spans s USING (trace_id)
CROSS JOIN LATERAL (SELECT coalesce(s.attributes->>'gen_ai.usage.input_tokens',
                                    s.attributes->>'ai.usage.inputTokens',
                                    s.attributes->>'ai.usage.promptTokens')::bigint AS kept_input) a
CROSS JOIN LATERAL (SELECT sum(c.input_tokens) AS children_input FROM llmtrace.spans c
                    WHERE c.trace_id = s.trace_id AND c.cost_status <> 'aggregate') t
WHERE s.cost_status = 'aggregate' AND a.kept_input IS NOT NULL
ORDER BY f.name, s.start_time, s.span_id;

-- Token rules that changed counts, and why.
SELECT f.name, s.name, s.attributes->>'llmtrace.token_rule' AS rule, s.input_tokens, s.cached_input_tokens,
       s.cache_write_tokens, s.output_tokens, s.total_tokens
FROM fixture f JOIN llmtrace.spans s USING (trace_id)
WHERE s.attributes ? 'llmtrace.token_rule'
ORDER BY f.name, s.start_time, s.span_id;

-- What was not stored.
SELECT error, sqlstate, location, source_format, count(*) FROM llmtrace.ingest_errors
GROUP BY 1, 2, 3, 4 ORDER BY 3;
''')
open(os.path.join(ROOT, 'sql/emitters.sql'), 'w').write(''.join(out))
