-- Benchmark workload generator: writes N JSON payloads, one per line, in COPY text format
-- (backslashes escaped), so the file loads back unchanged with
--   COPY llmtrace.ingest (payload) FROM 'file'   or   \copy ... FROM 'file'
--
--   psql -X -q -v n=20000 -v out=/tmp/workload.copy -f bench/gen_workload.sql
--
-- Variables (all optional):
--   n          payload lines to write                     (default 20000)
--   out        output file, written by the psql client     (default workload.copy)
--   seed       setseed() value in [-1, 1]                  (default 0.42)
--   base_time  spans start in the `spread` seconds before this time
--                                                         (default: today 00:00 UTC)
--   spread     seconds the start times spread over         (default 259200: 3 days)
--   first      ordinal of the first payload; ids derive from it, so files made with
--              disjoint ranges hold disjoint spans         (default 1)
--   tag        4 hex digits every span id starts with      (default a000); see gw_id
-- The same n, seed, base_time and first give a byte-identical file.
--
-- Mix (per payload): ~40 % OTLP/JSON batches of 1-20 spans (geometric, mean ~2.7), ~20 %
-- Braintrust span events, ~15 % Vercel records (Log Drain, webhook and AI request records,
-- a third each; see gw_vercel), ~25 % native records (5 % of them arrays of 2-3 records);
-- ~1.7 spans and ~2.7 KB per payload on average. ~2 % unknown (unpriced) models, ~3 %
-- error spans, ~1 % of the lines are exact re-deliveries of an earlier line.
\set ON_ERROR_STOP on
\if :{?n}
\else
\set n 20000
\endif
\if :{?out}
\else
\set out workload.copy
\endif
\if :{?seed}
\else
\set seed 0.42
\endif
\if :{?tag}
\else
\set tag a000
\endif
\if :{?spread}
\else
\set spread 259200
\endif
\if :{?first}
\else
\set first 1
\endif
\if :{?base_time}
\else
SELECT to_char(date_trunc('day', now() AT TIME ZONE 'UTC'), 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS base_time \gset
\endif

-- random() must be called in one fixed order: no parallel plans.
SET max_parallel_workers_per_gather = 0;
SET client_min_messages = warning;
SELECT :'tag' ~* '^[0-9a-f]{4}$' AS gw_tag_ok \gset
\if :gw_tag_ok
\else
DO $$ BEGIN RAISE EXCEPTION 'gen_workload: tag must be 4 hex digits'; END $$;
\endif
SELECT set_config('gw.tag', lower(:'tag'), false) \g /dev/null
SELECT set_config('gw.spread', (:'spread')::float8::text, false) \g /dev/null
SELECT setseed(:seed) \g /dev/null

-- ---------------------------------------------------------------------------
-- Text pool: 256 texts of ~4,000 characters of words (some non-ASCII, some with
-- quotes, backslashes, tabs and newlines) interleaved with md5 hex, so content
-- is varied and not trivially compressible. Messages are random slices of it.
-- ---------------------------------------------------------------------------
CREATE TEMP TABLE gw_words (k int PRIMARY KEY, w text);
INSERT INTO gw_words
SELECT k, w FROM unnest(ARRAY[
    'the', 'a', 'of', 'to', 'and', 'in', 'is', 'for', 'that', 'with', 'on', 'as', 'it', 'be',
    'customer', 'order', 'refund', 'invoice', 'shipping', 'account', 'password', 'summary',
    'please', 'could', 'you', 'explain', 'why', 'the', 'deployment', 'failed', 'yesterday',
    'database', 'query', 'latency', 'increased', 'after', 'the', 'migration', 'to', 'version',
    'function', 'returns', 'null', 'when', 'input', 'is', 'empty', 'consider', 'using',
    'café', 'naïve', 'résumé', 'über', 'Grüße', 'Müller', 'señor', 'façade', 'Zürich',
    '日本語', 'のテキスト', '東京都', 'こんにちは', '中文字符', '한국어', 'Привет', 'Ελληνικά',
    '😀', '🚀', '👍🏽', '✅', '—', '…', '€42.00', '±3%',
    'say "hello"', '"quoted"', 'it''s', 'C:\Users\dev\app', 'regex \d+\.\d+', 'a\b',
    E'line one\nline two', E'\n\n', E'col1\tcol2', E'- item\n- item',
    '{"json": [1, 2]}', '<tag attr="x">', 'SELECT * FROM t;', 'x < y && y > z',
    'model', 'token', 'prompt', 'completion', 'context', 'window', 'retrieval', 'chunk',
    'embedding', 'vector', 'similarity', 'answer', 'question', 'assistant', 'user', 'system',
    'step', 'first', 'then', 'finally', 'result', 'error', 'retry', 'timeout', 'budget'
]) WITH ORDINALITY AS t(w, k);

CREATE TEMP TABLE gw_pool (p int PRIMARY KEY, txt text NOT NULL);
INSERT INTO gw_pool
SELECT p, string_agg(CASE WHEN random() < 0.10 THEN md5(p::text || '/' || g::text)
                          ELSE ws[1 + floor(random() * cardinality(ws))::int]
                     END, ' ' ORDER BY g)
FROM generate_series(0, 255) AS p, generate_series(1, 800) AS g,
     (SELECT array_agg(w ORDER BY k) AS ws FROM gw_words) AS wa
GROUP BY p;

-- A random slice of `l` characters of a pool text (ur picks the text, us the start).
CREATE FUNCTION pg_temp.gw_text(l int, ur float8, us float8) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT substr(txt, 1 + floor(us * greatest(length(txt) - l, 0))::int, l)
    FROM pg_temp.gw_pool WHERE p = floor(ur * 256)::int
$$;

-- Message content length: 50-3,000 characters, skewed toward short: 95 % exponential
-- (mean 150, median ~120), 5 % uniform in 1,000-3,000.
CREATE FUNCTION pg_temp.gw_len(u float8) RETURNS int
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN u < 0.05 THEN 1000 + floor(u / 0.05 * 2000)::int
                ELSE least(3000, 50 + floor(-ln(1 - (u - 0.05) / 0.95) * 100)::int) END
$$;

-- Model by a uniform draw: mostly priced models, ~2 % unknown ones.
CREATE FUNCTION pg_temp.gw_model(u float8) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN u < 0.20 THEN 'gpt-4o'
        WHEN u < 0.42 THEN 'gpt-4o-mini'
        WHEN u < 0.52 THEN 'gpt-4.1'
        WHEN u < 0.68 THEN 'claude-sonnet-4-5'
        WHEN u < 0.78 THEN 'claude-haiku-4-5'
        WHEN u < 0.86 THEN 'gemini-2.5-pro'
        WHEN u < 0.98 THEN 'gemini-2.5-flash'
        WHEN u < 0.99 THEN 'llama-3.3-70b-instruct'
        ELSE 'ft:gpt-4o-mini-2024-07-18:acme:support:9xQ2'
    END
$$;

CREATE FUNCTION pg_temp.gw_provider(model text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN model LIKE 'claude%' THEN 'anthropic'
        WHEN model LIKE 'gemini%' THEN 'google'
        WHEN model LIKE 'llama%' THEN 'groq'
        ELSE 'openai'
    END
$$;

CREATE FUNCTION pg_temp.gw_error(u float8) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT (ARRAY['rate_limit_exceeded: Rate limit reached for requests per min (RPM)',
                  'upstream request timeout after 30000 ms',
                  'context_length_exceeded: maximum context length is 128000 tokens',
                  'overloaded_error: Overloaded',
                  'invalid_request_error: messages.1.content: "text" must not be empty'])
           [1 + floor(u * 5)::int]
$$;

-- Chat messages: a system prompt and a user message (OpenAI/Anthropic style).
CREATE FUNCTION pg_temp.gw_messages(sys text, usr text) RETURNS json
LANGUAGE sql IMMUTABLE AS $$
    SELECT json_build_array(json_build_object('role', 'system', 'content', sys),
                            json_build_object('role', 'user', 'content', usr))
$$;

-- OTel GenAI (current) message shapes, with parts.
CREATE FUNCTION pg_temp.gw_otel_in(sys text, usr text) RETURNS json
LANGUAGE sql IMMUTABLE AS $$
    SELECT json_build_array(
        json_build_object('role', 'system', 'parts',
                          json_build_array(json_build_object('type', 'text', 'content', sys))),
        json_build_object('role', 'user', 'parts',
                          json_build_array(json_build_object('type', 'text', 'content', usr))))
$$;
CREATE FUNCTION pg_temp.gw_otel_out(txt text) RETURNS json
LANGUAGE sql IMMUTABLE AS $$
    SELECT json_build_array(json_build_object(
        'role', 'assistant',
        'parts', json_build_array(json_build_object('type', 'text', 'content', txt)),
        'finish_reason', 'stop'))
$$;

-- OTLP KeyValue builders (NULL value: the attribute is left out).
CREATE FUNCTION pg_temp.kv_s(k text, v text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN v IS NOT NULL THEN
        json_build_object('key', k, 'value', json_build_object('stringValue', v))::text END
$$;
CREATE FUNCTION pg_temp.kv_i(k text, v bigint, as_string boolean) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN v IS NOT NULL THEN
        json_build_object('key', k, 'value',
            CASE WHEN as_string THEN json_build_object('intValue', v::text)
                 ELSE json_build_object('intValue', v) END)::text END
$$;
CREATE FUNCTION pg_temp.kv_d(k text, v float8) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT json_build_object('key', k, 'value', json_build_object('doubleValue', v))::text
$$;
CREATE FUNCTION pg_temp.kv_a(k text, v text[]) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT json_build_object('key', k, 'value', json_build_object('arrayValue',
        json_build_object('values',
            (SELECT json_agg(json_build_object('stringValue', x)) FROM unnest(v) AS x))))::text
$$;
-- A JSON array of the non-NULL elements (given as JSON texts).
CREATE FUNCTION pg_temp.jarr(VARIADIC e text[]) RETURNS json
LANGUAGE sql IMMUTABLE AS $$ SELECT ('[' || array_to_string(e, ',') || ']')::json $$;

-- 32 hex digits for an id: the 4-digit tag, then md5 of the seed text. Every id of a
-- stored span starts with the tag, so a copy of the file with the tag replaced
-- (sed 's/"a000/"a001/g; s/"A000/"A001/g; s/"req_a000/"req_a001/g') holds new spans.
CREATE FUNCTION pg_temp.gw_id(seed text) RETURNS text
LANGUAGE sql STABLE AS $$ SELECT current_setting('gw.tag') || substr(md5(seed), 5) $$;

CREATE FUNCTION pg_temp.iso(ts timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
$$;

-- ---------------------------------------------------------------------------
-- OTLP/JSON ExportTraceServiceRequest: one resource, one scope, 1-20 spans of one
-- trace. Multi-span batches have a root (agent/server) span without usage.
-- ---------------------------------------------------------------------------
CREATE FUNCTION pg_temp.gw_otlp(i int, base_ns bigint) RETURNS text
LANGUAGE sql VOLATILE AS $fn$
WITH p AS MATERIALIZED (
    SELECT least(20, 1 + floor(ln(1 - random()) / ln(0.63)))::int AS k,
           CASE WHEN random() < 0.40 THEN 'genai' WHEN random() < 0.33 THEN 'genai_old'
                WHEN random() < 0.50 THEN 'openinference' ELSE 'aisdk' END AS vocab,
           random() < 0.5 AS upper_ids,
           random() < 0.5 AS int_str,
           (ARRAY['chat-api', 'support-bot', 'search-rag', 'summarizer', 'code-assistant'])
               [1 + floor(random() * 5)::int] AS svc,
           CASE WHEN random() < 0.85 THEN 'prod' ELSE 'staging' END AS env,
           base_ns - floor(random() * current_setting('gw.spread')::float8 * 1e9)::bigint AS t0,
           random() < 0.3 AS has_remote_parent,
           'user_' || floor(random() * 5000)::int AS user_id,
           pg_temp.gw_id('otlp-trace/' || i) AS trace_hex
), s AS MATERIALIZED (
    SELECT p.*, j,
           pg_temp.gw_model(random()) AS model,
           20 + floor(6000 * random() ^ 3)::bigint AS in_tok,
           5 + floor(1200 * random() ^ 2)::bigint AS out_tok,
           random() AS u_cache,
           random() AS u_frac,
           random() < 0.03 AS is_err,
           random() AS u_err,
           pg_temp.gw_text(pg_temp.gw_len(random()) / 4, random(), random()) AS sys,
           pg_temp.gw_text(pg_temp.gw_len(random()), random(), random()) AS usr,
           pg_temp.gw_text(pg_temp.gw_len(random()), random(), random()) AS answer,
           floor(150e6 + 9e9 * random() ^ 3)::bigint AS dur_ns,
           pg_temp.gw_id('otlp-span/' || i || '/' || j) AS span_hex
    FROM p, generate_series(1, p.k) AS j
), t AS (
    SELECT s.*,
           pg_temp.gw_provider(model) AS provider,
           CASE WHEN u_cache < 0.30 THEN floor(in_tok * 0.9 * u_frac)::bigint ELSE 0 END AS cached,
           CASE WHEN model LIKE 'claude%' AND u_cache BETWEEN 0.30 AND 0.40
                THEN floor(in_tok * 0.5 * u_frac)::bigint ELSE 0 END AS cache_write,
           k > 1 AND j = 1 AS is_root,
           CASE WHEN upper_ids THEN upper(trace_hex) ELSE trace_hex END AS trace_id,
           CASE WHEN upper_ids THEN upper(left(span_hex, 16)) ELSE left(span_hex, 16) END AS span_id,
           CASE WHEN j > 1 THEN
                    CASE WHEN upper_ids THEN upper(left(pg_temp.gw_id('otlp-span/' || i || '/1'), 16))
                         ELSE left(pg_temp.gw_id('otlp-span/' || i || '/1'), 16) END
                WHEN has_remote_parent THEN left(pg_temp.gw_id('remote/' || i), 16)
           END AS parent_id,
           t0 + (j - 1) * 41000000 AS start_ns
    FROM s
), spans AS (
    SELECT j, json_build_object(
        'traceId', trace_id,
        'spanId', span_id,
        'parentSpanId', coalesce(parent_id, ''),
        'name', CASE WHEN is_root THEN 'invoke_agent ' || svc
                     WHEN vocab = 'openinference' THEN 'ChatCompletion'
                     WHEN vocab = 'aisdk' THEN 'ai.generateText.doGenerate'
                     ELSE 'chat ' || model END,
        'kind', CASE WHEN is_root THEN 2 WHEN vocab = 'openinference' THEN 1 ELSE 3 END,
        'startTimeUnixNano', start_ns::text,
        'endTimeUnixNano', (start_ns + CASE WHEN is_root THEN k * 41000000 + dur_ns
                                            ELSE dur_ns END)::text,
        'attributes', CASE
            WHEN is_root THEN pg_temp.jarr(
                pg_temp.kv_s('gen_ai.operation.name', 'invoke_agent'),
                pg_temp.kv_s('gen_ai.agent.name', svc),
                pg_temp.kv_s('http.route', '/api/' || svc),
                pg_temp.kv_s('user.id', user_id),
                pg_temp.kv_s('session.id', 'sess_' || left(md5('otlp-session/' || i), 12)))
            WHEN vocab = 'genai' THEN pg_temp.jarr(
                pg_temp.kv_s('gen_ai.operation.name', 'chat'),
                pg_temp.kv_s('gen_ai.provider.name',
                             CASE provider WHEN 'google' THEN 'gcp.gemini' ELSE provider END),
                pg_temp.kv_s('gen_ai.request.model', model),
                pg_temp.kv_s('gen_ai.response.model', model),
                pg_temp.kv_d('gen_ai.request.temperature', 0.7),
                pg_temp.kv_i('gen_ai.usage.input_tokens', CASE WHEN NOT is_err THEN in_tok END, int_str),
                pg_temp.kv_i('gen_ai.usage.output_tokens', CASE WHEN NOT is_err THEN out_tok END, int_str),
                pg_temp.kv_i('gen_ai.usage.cache_read.input_tokens',
                             CASE WHEN NOT is_err AND cached > 0 THEN cached END, int_str),
                pg_temp.kv_i('gen_ai.usage.cache_creation.input_tokens',
                             CASE WHEN NOT is_err AND cache_write > 0 THEN cache_write END, int_str),
                CASE WHEN NOT is_err THEN pg_temp.kv_a('gen_ai.response.finish_reasons', ARRAY['stop']) END,
                pg_temp.kv_s('gen_ai.input.messages', pg_temp.gw_otel_in(sys, usr)::text),
                pg_temp.kv_s('gen_ai.output.messages',
                             CASE WHEN NOT is_err THEN pg_temp.gw_otel_out(answer)::text END))
            WHEN vocab = 'genai_old' THEN pg_temp.jarr(
                pg_temp.kv_s('gen_ai.system', CASE provider WHEN 'google' THEN 'vertex_ai' ELSE provider END),
                pg_temp.kv_s('gen_ai.request.model', model),
                pg_temp.kv_s('gen_ai.response.model', model),
                pg_temp.kv_i('gen_ai.request.max_tokens', 4096, int_str),
                pg_temp.kv_i('gen_ai.usage.prompt_tokens', CASE WHEN NOT is_err THEN in_tok END, int_str),
                pg_temp.kv_i('gen_ai.usage.completion_tokens', CASE WHEN NOT is_err THEN out_tok END, int_str))
            WHEN vocab = 'openinference' THEN pg_temp.jarr(
                pg_temp.kv_s('openinference.span.kind', 'LLM'),
                pg_temp.kv_s('llm.model_name', model),
                pg_temp.kv_s('llm.provider', provider),
                pg_temp.kv_s('llm.system', provider),
                pg_temp.kv_i('llm.token_count.prompt', CASE WHEN NOT is_err THEN in_tok END, int_str),
                pg_temp.kv_i('llm.token_count.completion', CASE WHEN NOT is_err THEN out_tok END, int_str),
                pg_temp.kv_i('llm.token_count.total', CASE WHEN NOT is_err THEN in_tok + out_tok END, int_str),
                pg_temp.kv_i('llm.token_count.prompt_details.cache_read',
                             CASE WHEN NOT is_err AND cached > 0 THEN cached END, int_str),
                pg_temp.kv_s('llm.invocation_parameters', '{"temperature": 0.2, "max_tokens": 1024}'),
                pg_temp.kv_s('input.value', pg_temp.gw_messages(sys, usr)::text),
                pg_temp.kv_s('input.mime_type', 'application/json'),
                pg_temp.kv_s('output.value', CASE WHEN NOT is_err THEN answer END),
                pg_temp.kv_s('output.mime_type', 'text/plain'))
            ELSE pg_temp.jarr(
                pg_temp.kv_s('operation.name', 'ai.generateText.doGenerate chat-handler'),
                pg_temp.kv_s('ai.operationId', 'ai.generateText.doGenerate'),
                pg_temp.kv_s('ai.telemetry.functionId', 'chat-handler'),
                pg_temp.kv_s('ai.model.id', model),
                pg_temp.kv_s('ai.model.provider',
                             CASE provider WHEN 'openai' THEN 'openai.chat'
                                           WHEN 'anthropic' THEN 'anthropic.messages'
                                           WHEN 'google' THEN 'google.generative-ai'
                                           ELSE provider || '.chat' END),
                pg_temp.kv_i('ai.settings.maxRetries', 2, int_str),
                pg_temp.kv_s('ai.prompt.messages', pg_temp.gw_messages(sys, usr)::text),
                pg_temp.kv_s('ai.response.text', CASE WHEN NOT is_err THEN answer END),
                pg_temp.kv_s('ai.response.finishReason', CASE WHEN NOT is_err THEN 'stop' END),
                pg_temp.kv_i('ai.usage.promptTokens', CASE WHEN NOT is_err THEN in_tok END, int_str),
                pg_temp.kv_i('ai.usage.completionTokens', CASE WHEN NOT is_err THEN out_tok END, int_str))
            END,
        'events', CASE WHEN vocab = 'genai_old' AND NOT is_root THEN pg_temp.jarr(
            json_build_object('timeUnixNano', start_ns::text, 'name', 'gen_ai.content.prompt',
                'attributes', pg_temp.jarr(pg_temp.kv_s('gen_ai.prompt',
                                                        pg_temp.gw_messages(sys, usr)::text)))::text,
            CASE WHEN NOT is_err THEN
            json_build_object('timeUnixNano', (start_ns + dur_ns)::text, 'name', 'gen_ai.content.completion',
                'attributes', pg_temp.jarr(pg_temp.kv_s('gen_ai.completion', answer)))::text END)
            ELSE '[]'::json END,
        'status', CASE WHEN is_err AND NOT is_root
                       THEN json_build_object('code', 2, 'message', pg_temp.gw_error(u_err))
                       ELSE json_build_object('code', 1) END
    ) AS span
    FROM t
)
SELECT json_build_object('resourceSpans', json_build_array(json_build_object(
    'resource', json_build_object('attributes', pg_temp.jarr(
        pg_temp.kv_s('service.name', svc),
        pg_temp.kv_s('service.version', '1.' || (i % 7) || '.0'),
        pg_temp.kv_s('deployment.environment.name', env),
        pg_temp.kv_s('telemetry.sdk.language', 'python'))),
    'scopeSpans', json_build_array(json_build_object(
        'scope', json_build_object('name', CASE vocab WHEN 'openinference' THEN 'openinference.instrumentation.openai'
                                                      WHEN 'aisdk' THEN 'ai'
                                                      ELSE 'opentelemetry.instrumentation.genai' END,
                                   'version', '0.4.1'),
        'spans', (SELECT ('[' || string_agg(span::text, ',' ORDER BY j) || ']')::json FROM spans)))))
)::text
FROM p
$fn$;

-- ---------------------------------------------------------------------------
-- Braintrust span log event (one span).
-- ---------------------------------------------------------------------------
CREATE FUNCTION pg_temp.gw_braintrust(i int, base_ns bigint) RETURNS text
LANGUAGE sql VOLATILE AS $fn$
WITH r AS MATERIALIZED (
    SELECT pg_temp.gw_model(random()) AS model,
           20 + floor(6000 * random() ^ 3)::bigint AS in_tok,
           5 + floor(1200 * random() ^ 2)::bigint AS out_tok,
           random() AS u_cache, random() AS u_frac,
           random() < 0.03 AS is_err, random() AS u_err,
           random() < 0.6 AS is_child,
           round((base_ns - floor(random() * current_setting('gw.spread')::float8 * 1e9)::bigint) / 1e9, 6) AS t0,
           (150 + floor(9000 * random() ^ 3)) / 1000.0 AS dur_s,
           pg_temp.gw_text(pg_temp.gw_len(random()) / 4, random(), random()) AS sys,
           pg_temp.gw_text(pg_temp.gw_len(random()), random(), random()) AS usr,
           pg_temp.gw_text(pg_temp.gw_len(random()), random(), random()) AS answer,
           'proj_' || floor(random() * 6)::int AS project_id
), x AS (
    SELECT r.*,
           CASE WHEN u_cache < 0.30 THEN floor(in_tok * 0.9 * u_frac)::bigint ELSE 0 END AS cached,
           pg_temp.gw_id('bt-span/' || i)::uuid::text AS span_id,
           pg_temp.gw_id('bt-root/' || i)::uuid::text AS root_id,
           pg_temp.gw_id('bt-row/' || i)::uuid::text AS row_id
    FROM r
)
SELECT json_build_object(
    'id', row_id,
    'span_id', span_id,
    'root_span_id', CASE WHEN is_child THEN root_id ELSE span_id END,
    'span_parents', CASE WHEN is_child THEN json_build_array(root_id) ELSE '[]'::json END,
    'project_id', project_id,
    '_xact_id', (1000000000000 + i)::text,
    'created', pg_temp.iso(to_timestamp(t0::float8 + dur_s::float8)),
    'span_attributes', json_build_object('name', 'Chat Completion', 'type', 'llm'),
    'input', pg_temp.gw_messages(sys, usr),
    'output', CASE WHEN is_err THEN NULL ELSE json_build_array(json_build_object(
        'index', 0, 'finish_reason', 'stop',
        'message', json_build_object('role', 'assistant', 'content', answer))) END,
    'metadata', json_build_object('model', model, 'provider', pg_temp.gw_provider(model),
                                  'temperature', 0.5, 'prompt_version', 'v' || (i % 5)),
    'metrics', CASE WHEN is_err THEN json_build_object('start', t0, 'end', t0 + dur_s)
        ELSE json_build_object('start', t0, 'end', t0 + dur_s,
                               'prompt_tokens', in_tok, 'completion_tokens', out_tok,
                               'prompt_cached_tokens', cached, 'tokens', in_tok + out_tok) END,
    'scores', NULL,
    'error', CASE WHEN is_err THEN pg_temp.gw_error(u_err) END
)::text
FROM x
$fn$;

-- ---------------------------------------------------------------------------
-- Vercel record (one span), in three shapes, about a third each:
--  'log'     a Log Drain record as Vercel documents it (vercel.com/docs/drains/reference/logs):
--            id, deploymentId, source, host, timestamp (epoch ms), projectId, level, and
--            optionally message, requestId, statusCode (-1: the lambda crashed),
--            environment, branch, executionRegion, path, traceId/spanId and a proxy object
--            (method, path with a query string sometimes, userAgent array, statusCode, ...).
--            A log line is not an LLM call: no model, no tokens. ~3 % errors (statusCode 500
--            with level "error"; a few crashes, statusCode -1 with level "error" or "fatal").
--  'webhook' the record of trace-processor webhook integrations: ISO 8601 timestamp,
--            duration (ms), status as a word ("success"/"error") or sometimes an HTTP code,
--            url, method, metadata {model, tokens: a NUMBER, the total} (unpriced: a total
--            cannot be split into priced parts). ~3 % errors, without tokens.
--  'ai'      an AI request record: epoch-ms timestamp, HTTP status code, metadata.tokens an
--            object {input, output, cached} (input includes cached). ~3 % errors.
-- ---------------------------------------------------------------------------
CREATE FUNCTION pg_temp.gw_vercel(i int, base_ns bigint) RETURNS text
LANGUAGE sql VOLATILE AS $fn$
WITH r AS MATERIALIZED (
    SELECT CASE WHEN u_shape < 1 / 3.0 THEN 'log' WHEN u_shape < 2 / 3.0 THEN 'webhook'
                ELSE 'ai' END AS shape, q.*
    FROM (SELECT random() AS u_shape,
                 pg_temp.gw_model(random()) AS model,
                 20 + floor(6000 * random() ^ 3)::bigint AS in_tok,
                 5 + floor(1200 * random() ^ 2)::bigint AS out_tok,
                 random() AS u_cache, random() AS u_frac,
                 random() AS u_err,
                 (base_ns - floor(random() * current_setting('gw.spread')::float8 * 1e9)::bigint) / 1000000 AS ts_ms,
                 150 + floor(9000 * random() ^ 3)::int AS dur_ms,
                 1 + floor(random() * 5)::int AS route_n,
                 floor(random() * 1e6)::int AS req,
                 random() AS u_src, random() AS u_opt, random() AS u_opt2, random() AS u_q,
                 pg_temp.gw_text(30 + floor(270 * random() ^ 2)::int, random(), random()) AS logtxt
         ) AS q
), x AS (
    SELECT r.*,
           u_err < 0.03 AS is_err,
           -- Log Drain sources; an error line is always a function's
           CASE WHEN u_err < 0.03 OR u_src < 0.60 THEN 'lambda' WHEN u_src < 0.85 THEN 'edge'
                ELSE 'static' END AS source,
           (ARRAY['/api/chat', '/api/chat', '/api/summarize', '/api/search', '/api/completion'])
               [route_n] AS route,
           (ARRAY['iad1', 'sfo1', 'fra1', 'hnd1'])[1 + (req % 4)] AS region,
           'prj_' || left(md5('vercel-project/' || (i % 4)), 20) AS project_id,
           'dpl_' || left(md5('vercel-dpl/' || (i % 40)), 20) AS deployment_id,
           CASE WHEN u_q < 0.15 THEN '?stream=1' WHEN u_q < 0.25 THEN '?x=1&lang=de'
                WHEN u_q < 0.30 THEN '?q=caf%C3%A9+refund' ELSE '' END AS query
    FROM r
), v AS (
    SELECT x.*,
           CASE WHEN source = 'static' THEN (ARRAY['/', '/favicon.ico', '/_next/static/chunks/main-'
                                                   || left(md5('chunk/' || (i % 9)), 16) || '.js'])
                                            [1 + (req % 3)]
                ELSE route END AS req_path,
           CASE WHEN source = 'static' OR route_n = 4 THEN 'GET' ELSE 'POST' END AS method,
           CASE WHEN NOT is_err THEN CASE WHEN source = 'static' AND u_opt2 < 0.3 THEN 304 ELSE 200 END
                WHEN u_err < 0.025 THEN 500 ELSE -1 END AS code,
           u_opt < 0.85 AS production
    FROM x
)
SELECT CASE shape
WHEN 'log' THEN json_strip_nulls(json_build_object(
    'id', left(pg_temp.gw_id('vercel-log/' || i), 28),
    'message', CASE
        WHEN code = 500 THEN 'Error: ' || pg_temp.gw_error(u_frac)
        WHEN code = -1 THEN CASE WHEN u_cache < 0.5 THEN 'Task timed out after 30.02 seconds'
                                 ELSE 'Error: Runtime exited with error: signal: killed' END
        WHEN source = 'lambda' AND u_opt2 < 0.9 THEN logtxt
        WHEN source = 'edge' AND u_opt2 < 0.5 THEN 'middleware: rewrite ' || route || ' -> ' || route || '/v2'
    END,
    'timestamp', ts_ms,
    'source', source,
    'projectId', project_id,
    'deploymentId', deployment_id,
    'host', 'acme-ai-' || left(md5('vercel-dpl/' || (i % 40)), 9) || '-acme.vercel.app',
    'level', CASE WHEN code = 500 THEN 'error'
                  WHEN code = -1 THEN CASE WHEN u_q < 0.5 THEN 'error' ELSE 'fatal' END
                  WHEN u_opt2 > 0.93 THEN 'warning' ELSE 'info' END,
    'requestId', CASE WHEN source <> 'static' OR u_opt2 < 0.5 THEN
        region || '::' || left(md5('vercel-req/' || i), 5) || '-' || ts_ms || '-'
        || substr(md5('vercel-req/' || i), 6, 12) END,
    -- a function reports its status (an edge line half the time; a static file never:
    -- its status is the proxy's)
    'statusCode', CASE WHEN source = 'lambda' AND (is_err OR u_opt < 0.9)
                         OR source = 'edge' AND u_opt < 0.5 THEN code END,
    'environment', CASE WHEN production THEN 'production' ELSE 'preview' END,
    'branch', CASE WHEN u_opt2 < 0.6 THEN CASE WHEN production THEN 'main'
                                               ELSE 'feat/streaming-' || (i % 7) END END,
    'executionRegion', CASE WHEN source = 'lambda' THEN region END,
    'path', CASE WHEN source = 'lambda' AND u_q > 0.5 THEN route END,
    'traceId', CASE WHEN source = 'lambda' AND u_src < 0.25 THEN pg_temp.gw_id('vercel-trace/' || i) END,
    'spanId', CASE WHEN source = 'lambda' AND u_src < 0.25
                   THEN left(pg_temp.gw_id('vercel-otel-span/' || i), 16) END,
    'proxy', CASE WHEN is_err OR u_frac < 0.97 THEN json_build_object(
        'timestamp', ts_ms - 3 - (req % 40),
        'method', method,
        'host', CASE WHEN production THEN 'chat.acme.example' ELSE 'acme-ai-git-preview-acme.vercel.app' END,
        'path', req_path || CASE WHEN source = 'static' THEN '' ELSE query END,
        'userAgent', json_build_array(
            (ARRAY['Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15',
                   'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
                   'node-fetch/1.0 (+https://github.com/bitinn/node-fetch)',
                   'python-httpx/0.27.0'])[1 + (req / 4 % 4)]),
        'referer', CASE WHEN u_opt2 < 0.7 THEN 'https://chat.acme.example/' END,
        'statusCode', CASE WHEN code = -1 THEN 500 ELSE code END,
        'clientIp', '203.0.113.' || (req % 254 + 1),
        'region', region,
        'scheme', 'https',
        'vercelCache', CASE WHEN source = 'static' THEN CASE WHEN u_q < 0.8 THEN 'HIT' ELSE 'STALE' END
                            WHEN source = 'edge' THEN 'BYPASS' ELSE 'MISS' END) END
))::text
WHEN 'webhook' THEN json_build_object(
    'id', 'req_' || left(pg_temp.gw_id('vercel-webhook/' || i), 24),
    'timestamp', pg_temp.iso(to_timestamp(ts_ms / 1000.0)),
    'duration', dur_ms,
    'status', CASE WHEN is_err THEN CASE WHEN u_err < 0.015 THEN to_json('error'::text) ELSE to_json(500) END
                   WHEN u_opt < 0.08 THEN to_json(200) ELSE to_json('success'::text) END,
    'url', route || query,
    'method', CASE WHEN route_n = 4 THEN 'GET' ELSE 'POST' END,
    'metadata', CASE WHEN is_err THEN json_build_object('model', model)
                     ELSE json_build_object('model', model, 'tokens', in_tok + out_tok) END
)::text
ELSE json_build_object(
    'id', 'req_' || left(pg_temp.gw_id('vercel/' || i), 24),
    'message', 'AI request ' || model,
    'timestamp', ts_ms,
    'duration', dur_ms,
    'status', CASE WHEN is_err THEN 500 ELSE 200 END,
    'url', route,
    'method', 'POST',
    'source', 'lambda',
    'projectId', project_id,
    'deploymentId', deployment_id,
    'environment', 'production',
    'region', region,
    'metadata', json_build_object(
        'model', model,
        'provider', pg_temp.gw_provider(model),
        'tokens', CASE WHEN is_err THEN NULL ELSE json_build_object(
            'input', in_tok, 'output', out_tok,
            'cached', CASE WHEN u_cache < 0.30 THEN floor(in_tok * 0.9 * u_frac)::bigint ELSE 0 END) END)
)::text
END
FROM v
$fn$;

-- ---------------------------------------------------------------------------
-- Native record; j-th record of a payload (j > 1 only inside an array).
-- usage is an OpenAI usage object, or an Anthropic one for Anthropic models.
-- ---------------------------------------------------------------------------
CREATE FUNCTION pg_temp.gw_native_rec(i int, j int, base_ns bigint) RETURNS json
LANGUAGE sql VOLATILE AS $fn$
WITH r AS MATERIALIZED (
    SELECT CASE WHEN random() < 0.5 THEN CASE WHEN random() < 0.6 THEN 'claude-sonnet-4-5'
                                              ELSE 'claude-haiku-4-5' END
                ELSE pg_temp.gw_model(0.52 + 0.48 * random()) END AS model0,
           random() AS u_model2,
           20 + floor(6000 * random() ^ 3)::bigint AS in_tok,
           5 + floor(1200 * random() ^ 2)::bigint AS out_tok,
           random() AS u_cache, random() AS u_frac,
           random() < 0.03 AS is_err, random() AS u_err,
           random() < 0.03 AS has_cost,
           base_ns - floor(random() * current_setting('gw.spread')::float8 * 1e9)::bigint AS t0,
           (150 + floor(9000 * random() ^ 3))::bigint * 1000000 + floor(random() * 1000000)::bigint AS dur_ns,
           pg_temp.gw_text(pg_temp.gw_len(random()) / 4, random(), random()) AS sys,
           pg_temp.gw_text(pg_temp.gw_len(random()), random(), random()) AS usr,
           pg_temp.gw_text(pg_temp.gw_len(random()), random(), random()) AS answer,
           floor(random() * 5000)::int AS user_n,
           floor(random() * 4)::int AS feat_n
), x AS (
    SELECT r.*,
           -- the 4-model non-Anthropic slice also holds the unknown models (~4 %)
           CASE WHEN model0 LIKE 'claude%' OR u_model2 > 0.04 THEN model0
                ELSE 'llama-3.3-70b-instruct' END AS model,
           CASE WHEN u_cache < 0.30 THEN floor(in_tok * 0.9 * u_frac)::bigint ELSE 0 END AS cached,
           CASE WHEN u_cache BETWEEN 0.30 AND 0.40 THEN floor(in_tok * 0.5 * u_frac)::bigint
                ELSE 0 END AS cache_write,
           CASE WHEN u_frac < 0.15 THEN floor(out_tok * 0.6 * u_cache)::bigint ELSE 0 END AS reasoning
    FROM r
), y AS (
    SELECT x.*, pg_temp.gw_provider(model) AS provider,
           to_timestamp(t0 / 1e9) AS ts0,
           to_timestamp((t0 + dur_ns) / 1e9) AS ts1
    FROM x
)
SELECT json_build_object(
    'trace_id', pg_temp.gw_id('native-trace/' || i),
    'span_id', left(pg_temp.gw_id('native-span/' || i || '/' || j), 16),
    'parent_span_id', CASE WHEN j > 1 THEN left(pg_temp.gw_id('native-span/' || i || '/1'), 16) END,
    'name', CASE WHEN provider = 'anthropic' THEN 'anthropic.messages.create'
                 ELSE 'chat.completions.create' END,
    'start_time', pg_temp.iso(ts0),
    'end_time', pg_temp.iso(ts1),
    'model', model,
    'provider', provider,
    'usage', CASE
        WHEN is_err THEN NULL
        WHEN provider = 'anthropic' THEN json_build_object(
            'input_tokens', in_tok - cached - cache_write,
            'output_tokens', out_tok,
            'cache_read_input_tokens', cached,
            'cache_creation_input_tokens', cache_write,
            'service_tier', 'standard')
        ELSE json_build_object(
            'prompt_tokens', in_tok,
            'completion_tokens', out_tok,
            'total_tokens', in_tok + out_tok,
            'prompt_tokens_details', json_build_object('cached_tokens', cached, 'audio_tokens', 0),
            'completion_tokens_details', json_build_object(
                'reasoning_tokens', reasoning, 'audio_tokens', 0,
                'accepted_prediction_tokens', 0, 'rejected_prediction_tokens', 0))
        END,
    'cost_usd', CASE WHEN has_cost AND NOT is_err THEN round((in_tok + 4 * out_tok) / 1e6, 6) END,
    'error', CASE WHEN is_err THEN pg_temp.gw_error(u_err) END,
    'user_id', 'user_' || user_n,
    'session_id', 'sess_' || left(md5('native-session/' || (i / 3)), 12),
    'environment', 'prod',
    'endpoint', (ARRAY['/v1/chat', '/v1/summarize', '/v1/classify', '/v1/agent'])[1 + feat_n],
    'feature', (ARRAY['chat', 'summarize', 'classify', 'agent'])[1 + feat_n],
    'project', (ARRAY['acme-support', 'acme-search'])[1 + (user_n % 2)],
    'input', pg_temp.gw_messages(sys, usr),
    'output', CASE WHEN is_err THEN NULL
                   ELSE json_build_object('role', 'assistant', 'content', answer) END,
    'metadata', json_build_object('temperature', 0.2, 'prompt_version', 'v' || (i % 5),
                                  'retries', CASE WHEN is_err THEN 3 ELSE 0 END)
)
FROM y
$fn$;

CREATE FUNCTION pg_temp.gw_native(i int, base_ns bigint) RETURNS text
LANGUAGE sql VOLATILE AS $fn$
    SELECT CASE WHEN c = 1 THEN pg_temp.gw_native_rec(i, 1, base_ns)::text
                ELSE '[' || (SELECT string_agg(pg_temp.gw_native_rec(i, j, base_ns)::text, ','
                                               ORDER BY j)
                             FROM generate_series(1, c) AS j) || ']' END
    FROM (SELECT CASE WHEN random() < 0.05 THEN 2 + floor(random() * 2)::int ELSE 1 END AS c) AS n
$fn$;

-- ---------------------------------------------------------------------------
-- The payloads, then ~1 % of the lines replaced by an exact copy of an earlier one
-- (re-delivery). Copies sit on even ordinals and copy odd ones, so the original
-- of every copy is itself in the file.
-- ---------------------------------------------------------------------------
SELECT (extract(epoch FROM :'base_time'::timestamptz) * 1e9)::bigint AS base_ns \gset

CREATE TEMP TABLE gw_payload (i int PRIMARY KEY, fmt text NOT NULL, line text NOT NULL);
INSERT INTO gw_payload
SELECT i, fmt,
       CASE fmt WHEN 'otlp' THEN pg_temp.gw_otlp(i, :base_ns)
                WHEN 'braintrust' THEN pg_temp.gw_braintrust(i, :base_ns)
                WHEN 'vercel' THEN pg_temp.gw_vercel(i, :base_ns)
                ELSE pg_temp.gw_native(i, :base_ns) END
FROM (SELECT i, CASE WHEN u < 0.40 THEN 'otlp' WHEN u < 0.60 THEN 'braintrust'
                     WHEN u < 0.75 THEN 'vercel' ELSE 'native' END AS fmt
      FROM (SELECT i, random() AS u
            FROM generate_series(:first::int, :first::int + :n::int - 1) AS i) AS g) AS f
ORDER BY i;

CREATE TEMP TABLE gw_dup AS
SELECT i, greatest(:first::int, i - 1 - 2 * floor(random() * 100)::int) AS src
FROM generate_series(:first::int + 1, :first::int + :n::int - 1) AS i
WHERE (i - :first::int) % 2 = 1 AND random() < 0.02;

CREATE TEMP TABLE gw_out AS
SELECT p.i, coalesce(s.fmt, p.fmt) AS fmt, coalesce(s.line, p.line) AS line
FROM gw_payload p
LEFT JOIN gw_dup d ON d.i = p.i
LEFT JOIN gw_payload s ON s.i = d.src;

COPY (SELECT line FROM gw_out ORDER BY i) TO STDOUT \g :out

SELECT format('gen_workload: %s payloads (%s otlp, %s braintrust, %s vercel [%s log drain, %s webhook, %s ai], %s native; %s re-delivered), avg %s bytes, %s MB -> %s',
              count(*), count(*) FILTER (WHERE fmt = 'otlp'), count(*) FILTER (WHERE fmt = 'braintrust'),
              count(*) FILTER (WHERE fmt = 'vercel'),
              count(*) FILTER (WHERE fmt = 'vercel' AND line LIKE '%"level"%'),
              count(*) FILTER (WHERE fmt = 'vercel' AND line NOT LIKE '%"level"%' AND line LIKE '%"timestamp" : "%'),
              count(*) FILTER (WHERE fmt = 'vercel' AND line NOT LIKE '%"level"%' AND line NOT LIKE '%"timestamp" : "%'),
              count(*) FILTER (WHERE fmt = 'native'),
              (SELECT count(*) FROM gw_dup), round(avg(octet_length(line))),
              round(sum(octet_length(line)) / 1e6, 1), :'out') AS summary
FROM gw_out \gset
\echo :summary
