-- Generator of native-format spans for bench/summaries.sh and bench/observability.sh: writes
-- one payload per line, each a JSON array of `per` spans (the last one may be shorter), in COPY
-- text format (the lines hold no backslash, tab or newline), so the file loads back with
--   \copy llmtrace.ingest (payload) FROM 'file'
--
--   psql -X -q -v n=500000 -v from_ts=2026-09-01 -v to_ts=2026-10-01 -v out=/tmp/s.copy \
--        -f bench/gen_spans.sql
--
-- Variables:
--   n        spans to write                                        (required)
--   from_ts  spans start in [from_ts, to_ts), uniformly            (required, timestamptz)
--   to_ts                                                           (required, timestamptz)
--   out      output file, written by the psql client               (required)
--   prefix   every trace id starts with it: files made with distinct prefixes hold
--            distinct spans                                        (default g)
--   per      spans per payload (a JSON array)                      (default 50)
--   seed     setseed() value in [-1, 1]                            (default 0.5)
--   users    distinct users; ~3 sessions each                      (default 3000)
--   models   how many of the 20 models below are used: the first ones of the list
--            (default 20; 5 gives 3 providers and 4 x 2 x 5 = 40 label sets)
--
-- Shape: traces of 5 spans (one user, session, project, environment and feature, spans
-- 0.3-1.5 s apart); 20 models of 7 providers, skewed toward the first ones (19 priced, one
-- unpriced: groq llama-3.3-70b-instruct); 4 projects; prod 85 % / staging 15 %; 6 features
-- each with its endpoint; users skewed (u^1.5); durations log-normal (median ~900 ms,
-- sigma 0.9); prompt tokens log-normal (median 800, sigma 1.0), completion tokens
-- log-normal (median 150, sigma 0.8); 2 % errors (an "error" message and no usage).
\set ON_ERROR_STOP on
\if :{?prefix}
\else
\set prefix g
\endif
\if :{?per}
\else
\set per 50
\endif
\if :{?seed}
\else
\set seed 0.5
\endif
\if :{?users}
\else
\set users 3000
\endif
\if :{?models}
\else
\set models 20
\endif

-- random() must be called in one fixed order: no parallel plans.
SET max_parallel_workers_per_gather = 0;
SET client_min_messages = warning;
SELECT setseed(:seed) \g /dev/null

COPY (
    WITH par AS MATERIALIZED (
        SELECT :'from_ts'::timestamptz AS lo,
               extract(epoch FROM :'to_ts'::timestamptz - :'from_ts'::timestamptz) AS secs,
               ARRAY['gpt-4o-mini', 'gpt-4o', 'gpt-4.1-mini', 'claude-sonnet-4-5',
                     'gemini-2.5-flash', 'gpt-4.1', 'claude-haiku-4-5', 'gpt-5-mini',
                     'gemini-2.5-pro', 'gpt-4.1-nano', 'o4-mini', 'deepseek-chat', 'gpt-5',
                     'claude-sonnet-4-6', 'gemini-2.5-flash-lite', 'o3', 'claude-opus-4-1',
                     'deepseek-reasoner', 'grok-4.3', 'llama-3.3-70b-instruct'] AS models,
               ARRAY['openai', 'openai', 'openai', 'anthropic', 'google', 'openai', 'anthropic',
                     'openai', 'google', 'openai', 'openai', 'deepseek', 'openai', 'anthropic',
                     'google', 'openai', 'anthropic', 'deepseek', 'xai', 'groq'] AS providers,
               ARRAY['support-bot', 'search', 'copilot', 'analytics'] AS projects,
               ARRAY['chat', 'summarize', 'classify', 'extract', 'rag-answer', 'agent-step'] AS features,
               :n::bigint AS n, :per::int AS per, :users::int AS users,
               least(20, greatest(1, :models::int)) AS nmodels
    )
    SELECT (SELECT '[' || string_agg(
                '{"trace_id":"' || :'prefix' || '-' || p || '-' || tr.t
                || '","span_id":"s' || sp.j
                || '","start_time":"'
                || to_char((tr.t0 + (sp.j - tr.t * 5) * (0.3 + 1.2 * sp.u_gap) * interval '1 second')
                           AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
                || '","duration_ms":'
                || round(exp(ln(900) + 0.9 * sqrt(-2 * ln(1 - sp.u1)) * cos(2 * pi() * sp.u2)))
                || ',"provider":"' || par.providers[sp.m] || '","model":"' || par.models[sp.m]
                || '","user_id":"u' || tr.usr || '","session_id":"u' || tr.usr || '-s' || tr.sess
                || '","project":"' || par.projects[tr.proj] || '","environment":"' || tr.env
                || '","feature":"' || par.features[tr.feat]
                || '","endpoint":"/api/' || par.features[tr.feat] || '"'
                || CASE WHEN sp.u_err < 0.02
                        THEN ',"error":"upstream request timeout after 30000 ms"}'
                        ELSE ',"usage":{"prompt_tokens":'
                             || least(200000, greatest(1, round(exp(ln(800) + 1.0 * sqrt(-2 * ln(1 - sp.u3))
                                                                         * cos(2 * pi() * sp.u4)))))
                             || ',"completion_tokens":'
                             || least(16000, greatest(1, round(exp(ln(150) + 0.8 * sqrt(-2 * ln(1 - sp.u3))
                                                                        * sin(2 * pi() * sp.u4)))))
                             || '}}' END,
                ',' ORDER BY tr.t, sp.j) || ']'
            FROM (SELECT p AS pp, t,
                         par.lo + random() * par.secs * interval '1 second' AS t0,
                         floor(par.users * random() ^ 1.5)::int AS usr,
                         floor(3 * random())::int AS sess,
                         1 + floor(4 * random())::int AS proj,
                         CASE WHEN random() < 0.85 THEN 'prod' ELSE 'staging' END AS env,
                         1 + floor(6 * random())::int AS feat
                  FROM generate_series(0, (least(par.per, par.n - p * par.per) - 1) / 5) AS t) AS tr,
                 LATERAL (SELECT j, 1 + floor(par.nmodels * random() ^ 2)::int AS m,
                                 random() AS u_gap, random() AS u1, random() AS u2,
                                 random() AS u3, random() AS u4, random() AS u_err
                          FROM generate_series(tr.t * 5,
                                               least(tr.t * 5 + 4, par.n - p * par.per - 1,
                                                     par.per - 1)) AS j) AS sp)
    FROM par, generate_series(0, (par.n + par.per - 1) / par.per - 1) AS p
) TO STDOUT \g :out
