-- Baseline for the benchmark: the llmtrace ingest pipeline written in plain PL/pgSQL,
-- the way a competent PostgreSQL user would write it without the extension.
--
--   COPY bench_plpgsql.ingest (payload) FROM ...   -- or INSERT; one JSON document per row
--
-- A BEFORE INSERT row trigger on bench_plpgsql.ingest detects the format (OTLP/JSON,
-- Braintrust, Vercel Log Drain / webhook / AI request records, native record, or a JSON
-- array of these), normalizes every span into bench_plpgsql.spans (same columns and key
-- as llmtrace.spans, re-deliveries dropped by ON CONFLICT DO NOTHING), prices it from
-- bench_plpgsql.model_prices and returns NULL, so nothing is stored in
-- bench_plpgsql.ingest itself.
--
-- Token rules (input_tokens always counts ALL input tokens, cached and cache writes included):
--   OTLP   gen_ai.usage.input_tokens / gen_ai.usage.prompt_tokens / llm.token_count.prompt /
--          ai.usage.promptTokens (or inputTokens) already include cached tokens; the cached
--          part is gen_ai.usage.cache_read.input_tokens / llm.token_count.prompt_details.cache_read /
--          ai.usage.cachedInputTokens, cache writes gen_ai.usage.cache_creation.input_tokens /
--          llm.token_count.prompt_details.cache_write.
--   Braintrust metrics.prompt_tokens includes metrics.prompt_cached_tokens
--          (and metrics.prompt_cache_creation_tokens).
--   Vercel metadata.tokens.input includes metadata.tokens.cached; a number as metadata.tokens
--          (webhook records) is the total.
--   native usage: OpenAI chat (prompt_tokens includes prompt_tokens_details.cached_tokens),
--          OpenAI responses (input_tokens with input_tokens_details includes cached_tokens),
--          Anthropic (input_tokens EXCLUDES cache_read_input_tokens and
--          cache_creation_input_tokens, so both are added), Gemini usageMetadata
--          (promptTokenCount includes cachedContentTokenCount).
-- Cost = (input - cached - cache_write) x input price + cached x cached price
--        + cache_write x write price + output x output price, USD per million tokens;
--        a missing part price falls back to the input price. A cost_usd sent in a native
--        record wins ('reported'); a model without a price gives NULL ('unpriced');
--        a span without token counts is 'no_usage'; a span with only a total (Vercel
--        webhook records) is 'unpriced': a total cannot be split into priced parts.
--
-- Deliberate simplifications (the workload does not need more): no per-payload
-- EXCEPTION block (a subtransaction per row would slow the baseline down and overflow the
-- subtransaction cache), so a payload that fails a cast aborts the statement, as
-- llmtrace.on_error = 'error' would; payloads of an unknown format or without ids go to
-- bench_plpgsql.ingest_errors; no long-context price tiers, no valid_from, no prefix matches.
SET client_min_messages = warning;
DROP SCHEMA IF EXISTS bench_plpgsql CASCADE;
CREATE SCHEMA bench_plpgsql;

CREATE TABLE bench_plpgsql.spans (
    trace_id            text        NOT NULL,
    span_id             text        NOT NULL,
    parent_span_id      text,
    name                text,
    kind                text,
    operation           text,
    start_time          timestamptz NOT NULL,
    end_time            timestamptz,
    duration_ms         double precision,
    status              text        NOT NULL,
    error_message       text,
    service             text,
    project             text,
    environment         text,
    endpoint            text,
    feature             text,
    provider            text,
    model               text,
    input_tokens        bigint,
    output_tokens       bigint,
    cached_input_tokens bigint,
    cache_write_tokens  bigint,
    reasoning_tokens    bigint,
    total_tokens        bigint,
    cost_usd            numeric,
    cost_status         text        NOT NULL,
    user_id             text,
    session_id          text,
    input               jsonb,
    output              jsonb,
    attributes          jsonb       NOT NULL DEFAULT '{}',
    source_format       text        NOT NULL,
    ingested_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (trace_id, span_id, start_time),
    CHECK (status IN ('ok', 'error', 'unset')),
    CHECK (cost_status IN ('priced', 'reported', 'unpriced', 'no_usage')),
    CHECK (source_format IN ('otlp', 'braintrust', 'vercel', 'native'))
);

-- USD per million tokens; model names stored lower-case.
CREATE TABLE bench_plpgsql.model_prices (
    provider                  text    NOT NULL,
    model                     text    NOT NULL,
    input_usd_per_mtok        numeric NOT NULL,
    output_usd_per_mtok       numeric,
    cached_input_usd_per_mtok numeric,
    cache_write_usd_per_mtok  numeric,
    PRIMARY KEY (model, provider)
);

INSERT INTO bench_plpgsql.model_prices VALUES
    ('openai',    'gpt-4o',            2.5,  10,   1.25,  NULL),
    ('openai',    'gpt-4o-mini',       0.15, 0.6,  0.075, NULL),
    ('openai',    'gpt-4.1',           2,    8,    0.5,   NULL),
    ('anthropic', 'claude-sonnet-4-5', 3,    15,   0.3,   3.75),
    ('anthropic', 'claude-haiku-4-5',  1,    5,    0.1,   1.25),
    ('google',    'gemini-2.5-pro',    1.25, 10,   0.125, NULL),
    ('google',    'gemini-2.5-flash',  0.3,  2.5,  0.03,  NULL);

CREATE TABLE bench_plpgsql.ingest_errors (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    received_at timestamptz NOT NULL DEFAULT now(),
    payload     jsonb       NOT NULL,
    error       text        NOT NULL
);

-- The ingest surface. Rows never stay: the trigger returns NULL.
CREATE TABLE bench_plpgsql.ingest (payload jsonb);

-- ---------------------------------------------------------------------------
-- Small helpers.
-- ---------------------------------------------------------------------------

-- A token count from a JSON number or a numeric string ("1234"); NULL otherwise.
CREATE FUNCTION bench_plpgsql.tok(v jsonb) RETURNS bigint
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE jsonb_typeof(v)
               WHEN 'number' THEN (v #>> '{}')::numeric::bigint
               WHEN 'string' THEN CASE WHEN (v #>> '{}') ~ '^\s*-?[0-9]+(\.[0-9]*)?\s*$'
                                       THEN (v #>> '{}')::numeric::bigint END
           END
$$;

-- OTLP int64 nanoseconds since the epoch (string or number) to a timestamptz (microseconds,
-- truncated); 0 and absent mean unset.
CREATE FUNCTION bench_plpgsql.ns_to_ts(v jsonb) RETURNS timestamptz
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN jsonb_typeof(v) IN ('string', 'number') AND (v #>> '{}') <> '0'
                THEN timestamptz 'epoch'
                     + div((v #>> '{}')::numeric, 1000)::float8 * interval '1 microsecond' END
$$;

-- A JSON string attribute that holds JSON (messages) parsed, plain text kept as a string.
CREATE FUNCTION bench_plpgsql.json_or_text(t text) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN t IS NULL THEN NULL
                WHEN left(ltrim(t), 1) IN ('[', '{') THEN t::jsonb
                ELSE to_jsonb(t) END
$$;

-- Provider names normalized to llmtrace's lower-case names.
CREATE FUNCTION bench_plpgsql.norm_provider(p text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN p IS NULL OR p = '' THEN NULL
        WHEN lower(p) IN ('gcp.gemini', 'gcp.vertex_ai', 'gcp.gen_ai', 'gemini', 'vertex_ai',
                          'vertexai', 'google', 'google.generative-ai', 'google.vertex')
            THEN 'google'
        WHEN lower(p) IN ('aws.bedrock', 'amazon-bedrock', 'bedrock') THEN 'bedrock'
        WHEN lower(p) IN ('az.ai.openai', 'azure.ai.openai', 'azure_openai', 'azure-openai',
                          'az.ai.inference', 'azure.ai.inference', 'azure') THEN 'azure'
        -- AI SDK provider ids: "openai.chat", "anthropic.messages", ...
        ELSE split_part(lower(p), '.', 1)
    END
$$;

-- OTLP AnyValue to JSON; KeyValue list to a JSON object (key -> value).
SET check_function_bodies = off;
CREATE FUNCTION bench_plpgsql.otlp_value(v jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN v ? 'stringValue' THEN v -> 'stringValue'
        WHEN v ? 'intValue' THEN CASE WHEN jsonb_typeof(v -> 'intValue') = 'number'
                                      THEN v -> 'intValue'
                                      ELSE to_jsonb((v ->> 'intValue')::numeric) END
        WHEN v ? 'doubleValue' THEN v -> 'doubleValue'
        WHEN v ? 'boolValue' THEN v -> 'boolValue'
        WHEN v ? 'arrayValue' THEN coalesce(
            (SELECT jsonb_agg(bench_plpgsql.otlp_value(e))
             FROM jsonb_array_elements(v -> 'arrayValue' -> 'values') AS e), '[]')
        WHEN v ? 'kvlistValue' THEN bench_plpgsql.otlp_attrs(v -> 'kvlistValue' -> 'values')
        WHEN v ? 'bytesValue' THEN v -> 'bytesValue'
        ELSE 'null'::jsonb
    END
$$;

CREATE FUNCTION bench_plpgsql.otlp_attrs(kvs jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(jsonb_object_agg(kv ->> 'key', bench_plpgsql.otlp_value(kv -> 'value')), '{}')
    FROM jsonb_array_elements(CASE WHEN jsonb_typeof(kvs) = 'array' THEN kvs ELSE '[]' END) AS kv
    WHERE kv ? 'key'
$$;
RESET check_function_bodies;

-- Cost in USD from the price table; NULL when the model has no price.
CREATE FUNCTION bench_plpgsql.span_cost(p_provider text, p_model text, p_input bigint,
                                        p_output bigint, p_cached bigint, p_cache_write bigint)
RETURNS numeric
LANGUAGE plpgsql STABLE AS $$
DECLARE
    pr bench_plpgsql.model_prices%ROWTYPE;
    cached bigint := coalesce(p_cached, 0);
    cache_write bigint := coalesce(p_cache_write, 0);
BEGIN
    IF p_model IS NULL THEN
        RETURN NULL;
    END IF;
    SELECT * INTO pr FROM bench_plpgsql.model_prices
    WHERE model = lower(p_model) AND (p_provider IS NULL OR provider = p_provider)
    LIMIT 1;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    RETURN trim_scale((greatest(coalesce(p_input, 0) - cached - cache_write, 0) * pr.input_usd_per_mtok
            + cached * coalesce(pr.cached_input_usd_per_mtok, pr.input_usd_per_mtok)
            + cache_write * coalesce(pr.cache_write_usd_per_mtok, pr.input_usd_per_mtok)
            + coalesce(p_output, 0) * coalesce(pr.output_usd_per_mtok, pr.input_usd_per_mtok))
           / 1000000);
END
$$;

-- Completes a normalized span (totals, duration, cost) and stores it; returns 1 when
-- stored, 0 for a re-delivered span.
CREATE FUNCTION bench_plpgsql.store_span(s bench_plpgsql.spans, reported_cost numeric)
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    n integer;
BEGIN
    IF s.duration_ms IS NULL AND s.end_time IS NOT NULL THEN
        s.duration_ms := extract(epoch FROM s.end_time - s.start_time) * 1000;
    ELSIF s.end_time IS NULL AND s.duration_ms IS NOT NULL THEN
        s.end_time := s.start_time + s.duration_ms * interval '1 millisecond';
    END IF;
    IF s.input_tokens IS NULL AND s.output_tokens IS NULL AND s.total_tokens IS NULL THEN
        s.cost_usd := reported_cost;
        s.cost_status := CASE WHEN reported_cost IS NULL THEN 'no_usage' ELSE 'reported' END;
    ELSE
        s.total_tokens := coalesce(s.total_tokens,
                                   coalesce(s.input_tokens, 0) + coalesce(s.output_tokens, 0));
        IF reported_cost IS NOT NULL THEN
            s.cost_usd := reported_cost;
            s.cost_status := 'reported';
        ELSIF s.input_tokens IS NULL AND s.output_tokens IS NULL
              AND s.cached_input_tokens IS NULL AND s.cache_write_tokens IS NULL THEN
            -- only a total: it cannot be split into priced parts
            s.cost_status := 'unpriced';
        ELSE
            s.cost_usd := bench_plpgsql.span_cost(s.provider, s.model, s.input_tokens,
                                                  s.output_tokens, s.cached_input_tokens,
                                                  s.cache_write_tokens);
            s.cost_status := CASE WHEN s.cost_usd IS NULL THEN 'unpriced' ELSE 'priced' END;
        END IF;
    END IF;
    s.status := coalesce(s.status, 'unset');
    s.attributes := coalesce(s.attributes, '{}');
    s.ingested_at := now();
    INSERT INTO bench_plpgsql.spans VALUES (s.*) ON CONFLICT DO NOTHING;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;

-- Records a payload (or one span of it) that cannot be normalized.
CREATE FUNCTION bench_plpgsql.reject(doc jsonb, reason text) RETURNS integer
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO bench_plpgsql.ingest_errors (payload, error) VALUES (doc, reason);
    RETURN 0;
END
$$;

-- ---------------------------------------------------------------------------
-- OTLP/JSON ExportTraceServiceRequest: every span of every scope of every resource.
-- ---------------------------------------------------------------------------
CREATE FUNCTION bench_plpgsql.ingest_otlp(doc jsonb) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    rs jsonb;
    ss jsonb;
    sp jsonb;
    res jsonb;
    res_rest jsonb;
    scope_attrs jsonb;
    a jsonb;
    st jsonb;
    code text;
    kind_v jsonb;
    op_id text;
    s bench_plpgsql.spans;
    n integer := 0;
BEGIN
    FOR rs IN SELECT e FROM jsonb_array_elements(doc -> 'resourceSpans') AS e LOOP
        res := bench_plpgsql.otlp_attrs(rs -> 'resource' -> 'attributes');
        res_rest := res - ARRAY['service.name', 'deployment.environment',
                                'deployment.environment.name'];
        FOR ss IN SELECT e FROM jsonb_array_elements(rs -> 'scopeSpans') AS e LOOP
            scope_attrs := jsonb_strip_nulls(jsonb_build_object(
                'otel.scope.name', ss -> 'scope' ->> 'name',
                'otel.scope.version', ss -> 'scope' ->> 'version'));
            FOR sp IN SELECT e FROM jsonb_array_elements(ss -> 'spans') AS e LOOP
                a := bench_plpgsql.otlp_attrs(sp -> 'attributes');
                s := NULL;
                s.source_format := 'otlp';
                s.trace_id := lower(sp ->> 'traceId');
                s.span_id := lower(sp ->> 'spanId');
                s.parent_span_id := lower(nullif(sp ->> 'parentSpanId', ''));
                s.start_time := bench_plpgsql.ns_to_ts(sp -> 'startTimeUnixNano');
                IF coalesce(s.trace_id, '') = '' OR coalesce(s.span_id, '') = ''
                   OR s.start_time IS NULL THEN
                    n := n + bench_plpgsql.reject(sp, 'otlp span without traceId, spanId or startTimeUnixNano');
                    CONTINUE;
                END IF;
                s.end_time := bench_plpgsql.ns_to_ts(sp -> 'endTimeUnixNano');
                s.name := sp ->> 'name';
                kind_v := sp -> 'kind';
                s.kind := CASE jsonb_typeof(kind_v)
                    WHEN 'number' THEN (ARRAY['unspecified', 'internal', 'server', 'client',
                                              'producer', 'consumer'])[(kind_v #>> '{}')::int + 1]
                    WHEN 'string' THEN lower(replace(kind_v #>> '{}', 'SPAN_KIND_', ''))
                END;
                st := sp -> 'status';
                code := st ->> 'code';
                s.status := CASE WHEN code IN ('1', 'STATUS_CODE_OK') THEN 'ok'
                                 WHEN code IN ('2', 'STATUS_CODE_ERROR') THEN 'error'
                                 ELSE 'unset' END;
                s.error_message := nullif(st ->> 'message', '');
                s.service := res ->> 'service.name';
                s.environment := coalesce(res ->> 'deployment.environment.name',
                                          res ->> 'deployment.environment');

                s.provider := bench_plpgsql.norm_provider(coalesce(
                    a ->> 'gen_ai.provider.name', a ->> 'gen_ai.system', a ->> 'llm.provider',
                    a ->> 'llm.system', a ->> 'ai.model.provider'));
                s.model := coalesce(a ->> 'gen_ai.response.model', a ->> 'gen_ai.request.model',
                                    a ->> 'llm.model_name', a ->> 'ai.response.model',
                                    a ->> 'ai.model.id');
                op_id := a ->> 'ai.operationId';
                s.operation := coalesce(
                    a ->> 'gen_ai.operation.name',
                    CASE a ->> 'openinference.span.kind'
                        WHEN 'LLM' THEN 'chat' WHEN 'EMBEDDING' THEN 'embeddings'
                        WHEN 'TOOL' THEN 'execute_tool' END,
                    CASE WHEN op_id IN ('ai.generateText.doGenerate', 'ai.streamText.doStream',
                                        'ai.generateObject.doGenerate', 'ai.streamObject.doStream')
                              THEN 'chat'
                         WHEN op_id IN ('ai.embed.doEmbed', 'ai.embedMany.doEmbed') THEN 'embeddings'
                         WHEN op_id = 'ai.toolCall' THEN 'execute_tool' END);

                s.input_tokens := bench_plpgsql.tok(coalesce(
                    a -> 'gen_ai.usage.input_tokens', a -> 'gen_ai.usage.prompt_tokens',
                    a -> 'llm.token_count.prompt', a -> 'ai.usage.promptTokens',
                    a -> 'ai.usage.inputTokens', a -> 'llm.usage.prompt_tokens'));
                s.output_tokens := bench_plpgsql.tok(coalesce(
                    a -> 'gen_ai.usage.output_tokens', a -> 'gen_ai.usage.completion_tokens',
                    a -> 'llm.token_count.completion', a -> 'ai.usage.completionTokens',
                    a -> 'ai.usage.outputTokens', a -> 'llm.usage.completion_tokens'));
                s.cached_input_tokens := bench_plpgsql.tok(coalesce(
                    a -> 'gen_ai.usage.cache_read.input_tokens',
                    a -> 'llm.token_count.prompt_details.cache_read',
                    a -> 'ai.usage.cachedInputTokens'));
                s.cache_write_tokens := bench_plpgsql.tok(coalesce(
                    a -> 'gen_ai.usage.cache_creation.input_tokens',
                    a -> 'llm.token_count.prompt_details.cache_write'));
                s.reasoning_tokens := bench_plpgsql.tok(coalesce(
                    a -> 'gen_ai.usage.reasoning.output_tokens',
                    a -> 'llm.token_count.completion_details.reasoning',
                    a -> 'ai.usage.reasoningTokens'));
                s.total_tokens := bench_plpgsql.tok(coalesce(
                    a -> 'llm.token_count.total', a -> 'llm.usage.total_tokens',
                    a -> 'ai.usage.totalTokens'));

                s.input := CASE
                    WHEN a ? 'gen_ai.input.messages'
                        THEN bench_plpgsql.json_or_text(a ->> 'gen_ai.input.messages')
                    WHEN a ? 'input.value' THEN
                        CASE WHEN a ->> 'input.mime_type' = 'application/json'
                             THEN bench_plpgsql.json_or_text(a ->> 'input.value')
                             ELSE a -> 'input.value' END
                    WHEN a ? 'ai.prompt.messages'
                        THEN bench_plpgsql.json_or_text(a ->> 'ai.prompt.messages')
                    WHEN a ? 'ai.prompt' THEN bench_plpgsql.json_or_text(a ->> 'ai.prompt')
                END;
                s.output := CASE
                    WHEN a ? 'gen_ai.output.messages'
                        THEN bench_plpgsql.json_or_text(a ->> 'gen_ai.output.messages')
                    WHEN a ? 'output.value' THEN
                        CASE WHEN a ->> 'output.mime_type' = 'application/json'
                             THEN bench_plpgsql.json_or_text(a ->> 'output.value')
                             ELSE a -> 'output.value' END
                    WHEN a ? 'ai.response.text' THEN a -> 'ai.response.text'
                END;
                s.user_id := coalesce(a ->> 'user.id', a ->> 'enduser.id');
                s.session_id := coalesce(a ->> 'session.id', a ->> 'gen_ai.conversation.id');
                s.endpoint := a ->> 'http.route';
                s.feature := a ->> 'ai.telemetry.functionId';

                -- everything not mapped to a column
                s.attributes := res_rest || scope_attrs
                    || (a - ARRAY[
                        'gen_ai.provider.name', 'gen_ai.system', 'llm.provider', 'llm.system',
                        'ai.model.provider', 'gen_ai.response.model', 'gen_ai.request.model',
                        'llm.model_name', 'ai.response.model', 'ai.model.id',
                        'gen_ai.operation.name',
                        'gen_ai.usage.input_tokens', 'gen_ai.usage.prompt_tokens',
                        'llm.token_count.prompt', 'ai.usage.promptTokens', 'ai.usage.inputTokens',
                        'llm.usage.prompt_tokens',
                        'gen_ai.usage.output_tokens', 'gen_ai.usage.completion_tokens',
                        'llm.token_count.completion', 'ai.usage.completionTokens',
                        'ai.usage.outputTokens', 'llm.usage.completion_tokens',
                        'gen_ai.usage.cache_read.input_tokens',
                        'llm.token_count.prompt_details.cache_read', 'ai.usage.cachedInputTokens',
                        'gen_ai.usage.cache_creation.input_tokens',
                        'llm.token_count.prompt_details.cache_write',
                        'gen_ai.usage.reasoning.output_tokens',
                        'llm.token_count.completion_details.reasoning', 'ai.usage.reasoningTokens',
                        'llm.token_count.total', 'llm.usage.total_tokens', 'ai.usage.totalTokens',
                        'gen_ai.input.messages', 'gen_ai.output.messages', 'input.value',
                        'output.value', 'ai.prompt.messages', 'ai.prompt', 'ai.response.text',
                        'user.id', 'enduser.id', 'session.id', 'gen_ai.conversation.id',
                        'http.route', 'ai.telemetry.functionId'])
                    || (sp - ARRAY['traceId', 'spanId', 'parentSpanId', 'name', 'kind',
                                   'startTimeUnixNano', 'endTimeUnixNano', 'status', 'attributes']
                           - CASE WHEN sp -> 'events' = '[]' THEN 'events' ELSE '' END
                           - CASE WHEN sp -> 'links' = '[]' THEN 'links' ELSE '' END);

                n := n + bench_plpgsql.store_span(s, NULL);
            END LOOP;
        END LOOP;
    END LOOP;
    RETURN n;
END
$$;

-- ---------------------------------------------------------------------------
-- Braintrust span log event: one span.
-- ---------------------------------------------------------------------------
CREATE FUNCTION bench_plpgsql.ingest_braintrust(doc jsonb) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    m jsonb := coalesce(doc -> 'metrics', '{}');
    md jsonb := coalesce(doc -> 'metadata', '{}');
    sa jsonb := coalesce(doc -> 'span_attributes', '{}');
    err jsonb := doc -> 'error';
    s bench_plpgsql.spans;
    rest jsonb;
BEGIN
    s.source_format := 'braintrust';
    s.span_id := doc ->> 'span_id';
    s.trace_id := coalesce(doc ->> 'root_span_id', doc ->> 'span_id');
    s.parent_span_id := doc -> 'span_parents' ->> 0;
    s.start_time := to_timestamp((m ->> 'start')::float8);
    IF s.span_id IS NULL OR s.start_time IS NULL THEN
        RETURN bench_plpgsql.reject(doc, 'braintrust event without span_id or metrics.start');
    END IF;
    s.end_time := to_timestamp((m ->> 'end')::float8);
    s.name := sa ->> 'name';
    s.kind := sa ->> 'type';
    s.operation := CASE sa ->> 'type' WHEN 'llm' THEN 'chat' WHEN 'tool' THEN 'execute_tool' END;
    IF err IS NOT NULL AND jsonb_typeof(err) <> 'null' THEN
        s.status := 'error';
        s.error_message := CASE jsonb_typeof(err)
                               WHEN 'string' THEN err #>> '{}'
                               WHEN 'object' THEN coalesce(err ->> 'message', err::text)
                               ELSE err::text END;
    ELSE
        s.status := 'ok';
    END IF;
    s.project := doc ->> 'project_id';
    s.provider := bench_plpgsql.norm_provider(md ->> 'provider');
    s.model := md ->> 'model';
    s.user_id := md ->> 'user_id';
    s.session_id := md ->> 'session_id';
    s.input_tokens := bench_plpgsql.tok(m -> 'prompt_tokens');
    s.output_tokens := bench_plpgsql.tok(m -> 'completion_tokens');
    s.cached_input_tokens := bench_plpgsql.tok(m -> 'prompt_cached_tokens');
    s.cache_write_tokens := bench_plpgsql.tok(m -> 'prompt_cache_creation_tokens');
    s.reasoning_tokens := bench_plpgsql.tok(m -> 'completion_reasoning_tokens');
    s.total_tokens := bench_plpgsql.tok(m -> 'tokens');
    s.input := nullif(doc -> 'input', 'null');
    s.output := nullif(doc -> 'output', 'null');

    rest := m - ARRAY['start', 'end', 'prompt_tokens', 'completion_tokens', 'prompt_cached_tokens',
                      'prompt_cache_creation_tokens', 'completion_reasoning_tokens', 'tokens'];
    s.attributes := (doc - ARRAY['span_id', 'root_span_id', 'span_parents', 'span_attributes',
                                 'metrics', 'metadata', 'error', 'input', 'output', 'project_id'])
        || (md - ARRAY['model', 'provider', 'user_id', 'session_id'])
        || CASE WHEN rest = '{}' THEN '{}' ELSE jsonb_build_object('metrics', rest) END
        || CASE WHEN (sa - ARRAY['name', 'type']) = '{}' THEN '{}'
                ELSE jsonb_build_object('span_attributes', sa - ARRAY['name', 'type']) END;
    RETURN bench_plpgsql.store_span(s, NULL);
END
$$;

-- ---------------------------------------------------------------------------
-- Vercel record: one span. Three shapes: the Log Drain record (level, statusCode with -1
-- for a crashed function, proxy {method, path, statusCode, ...}, spanId of the traced
-- request), the webhook record (ISO 8601 timestamp, status a word or an HTTP code,
-- url, metadata.tokens a number: the total), and the AI request record (metadata.tokens
-- {input, output, cached}). `timestamp` (epoch ms or ISO 8601) is the start, `duration`
-- in ms.
-- ---------------------------------------------------------------------------
CREATE FUNCTION bench_plpgsql.ingest_vercel(doc jsonb) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    md jsonb := coalesce(doc -> 'metadata', '{}');
    px jsonb := coalesce(doc -> 'proxy', '{}');
    tk jsonb := md -> 'tokens';
    ts jsonb := doc -> 'timestamp';
    st jsonb := doc -> 'status';
    http_status integer := coalesce(bench_plpgsql.tok(doc -> 'statusCode'),
                                    bench_plpgsql.tok(px -> 'statusCode'));
    lvl text := lower(doc ->> 'level');
    -- url's path, else path, else proxy.path; without the query string
    raw_path text := coalesce(doc ->> 'url', doc ->> 'path', px ->> 'path');
    path text := substring(raw_path FROM '^[^?#]*');
    method text := coalesce(doc ->> 'method', px ->> 'method');
    s bench_plpgsql.spans;
BEGIN
    s.source_format := 'vercel';
    s.span_id := doc ->> 'id';
    s.trace_id := coalesce(doc ->> 'traceId', doc ->> 'requestId', doc ->> 'id');
    s.parent_span_id := nullif(doc ->> 'spanId', '');
    s.start_time := CASE jsonb_typeof(ts)
                        WHEN 'number' THEN to_timestamp((ts #>> '{}')::numeric / 1000)
                        WHEN 'string' THEN (ts #>> '{}')::timestamptz END;
    IF s.span_id IS NULL OR s.start_time IS NULL THEN
        RETURN bench_plpgsql.reject(doc, 'vercel record without id or timestamp');
    END IF;
    s.duration_ms := (doc ->> 'duration')::float8;
    s.name := CASE WHEN path IS NOT NULL THEN concat_ws(' ', method, path) END;
    s.operation := CASE WHEN md ? 'model' THEN 'chat' END;
    -- status: an HTTP code (statusCode, proxy.statusCode or status) >= 400 or -1 (the
    -- function crashed), a status word, or a level of error or fatal
    IF jsonb_typeof(st) = 'number' THEN
        http_status := bench_plpgsql.tok(st);
    ELSIF jsonb_typeof(st) = 'string' THEN
        s.status := CASE lower(st #>> '{}') WHEN 'success' THEN 'ok' WHEN 'ok' THEN 'ok'
                                            WHEN 'error' THEN 'error' WHEN 'failed' THEN 'error'
                                            ELSE 'unset' END;
    END IF;
    IF http_status = -1 THEN
        s.status := 'error';
        s.error_message := 'the function crashed (statusCode -1)';
    ELSIF http_status >= 400 THEN
        s.status := 'error';
        s.error_message := 'HTTP ' || http_status;
    ELSIF http_status IS NOT NULL THEN
        s.status := 'ok';
    END IF;
    IF lvl IN ('error', 'fatal') THEN
        s.status := 'error';
        s.error_message := coalesce(left(nullif(doc ->> 'message', ''), 1000), s.error_message);
    END IF;
    s.project := doc ->> 'projectId';
    s.environment := doc ->> 'environment';
    s.endpoint := path;
    s.provider := bench_plpgsql.norm_provider(md ->> 'provider');
    s.model := md ->> 'model';
    IF jsonb_typeof(tk) = 'number' THEN
        -- webhook records: the total
        s.total_tokens := bench_plpgsql.tok(tk);
    ELSIF jsonb_typeof(tk) = 'object' THEN
        s.input_tokens := bench_plpgsql.tok(tk -> 'input');
        s.output_tokens := bench_plpgsql.tok(tk -> 'output');
        s.cached_input_tokens := bench_plpgsql.tok(tk -> 'cached');
        s.cache_write_tokens := bench_plpgsql.tok(tk -> 'cache_write');
        s.reasoning_tokens := bench_plpgsql.tok(tk -> 'reasoning');
        s.total_tokens := bench_plpgsql.tok(tk -> 'total');
    END IF;
    s.user_id := md ->> 'user_id';
    s.session_id := md ->> 'session_id';
    -- everything else (message, source, host, level, statusCode, proxy, ...) as sent;
    -- url and path only when they held more than the endpoint
    s.attributes := (doc - ARRAY['id', 'traceId', 'requestId', 'spanId', 'timestamp', 'duration',
                                 'status', 'url', 'path', 'projectId', 'environment', 'metadata'])
        || CASE WHEN doc ? 'url' AND raw_path <> path THEN jsonb_build_object('url', doc -> 'url')
                WHEN doc ? 'path' AND NOT doc ? 'url' AND raw_path <> path
                    THEN jsonb_build_object('path', doc -> 'path')
                ELSE '{}' END
        || CASE WHEN (md - ARRAY['model', 'provider', 'user_id', 'session_id']) = '{}' THEN '{}'
                ELSE jsonb_build_object('metadata', md - ARRAY['model', 'provider', 'user_id',
                                                               'session_id']) END;
    RETURN bench_plpgsql.store_span(s, NULL);
END
$$;

-- ---------------------------------------------------------------------------
-- Native record: one span; usage as the provider returned it.
-- ---------------------------------------------------------------------------
CREATE FUNCTION bench_plpgsql.ingest_native(doc jsonb) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    u jsonb := doc -> 'usage';
    err jsonb := doc -> 'error';
    ts jsonb;
    cache_read bigint;
    cache_write bigint;
    s bench_plpgsql.spans;
BEGIN
    s.source_format := 'native';
    s.trace_id := doc ->> 'trace_id';
    s.span_id := doc ->> 'span_id';
    s.parent_span_id := nullif(doc ->> 'parent_span_id', '');
    ts := doc -> 'start_time';
    s.start_time := CASE jsonb_typeof(ts) WHEN 'string' THEN (ts #>> '{}')::timestamptz
                                          WHEN 'number' THEN to_timestamp((ts #>> '{}')::float8) END;
    IF s.trace_id IS NULL OR s.span_id IS NULL OR s.start_time IS NULL THEN
        RETURN bench_plpgsql.reject(doc, 'native record without trace_id, span_id or start_time');
    END IF;
    ts := doc -> 'end_time';
    s.end_time := CASE jsonb_typeof(ts) WHEN 'string' THEN (ts #>> '{}')::timestamptz
                                        WHEN 'number' THEN to_timestamp((ts #>> '{}')::float8) END;
    s.duration_ms := (doc ->> 'duration_ms')::float8;
    s.name := doc ->> 'name';
    s.kind := doc ->> 'kind';
    s.operation := doc ->> 'operation';
    IF err IS NOT NULL AND jsonb_typeof(err) <> 'null' THEN
        s.status := 'error';
        s.error_message := CASE jsonb_typeof(err)
                               WHEN 'string' THEN err #>> '{}'
                               WHEN 'object' THEN coalesce(err ->> 'message', err::text)
                               ELSE err::text END;
    ELSE
        s.status := coalesce(lower(doc ->> 'status'), 'ok');
        IF s.status NOT IN ('ok', 'error', 'unset') THEN
            s.status := 'ok';
        END IF;
    END IF;
    s.service := doc ->> 'service';
    s.project := doc ->> 'project';
    s.environment := doc ->> 'environment';
    s.endpoint := doc ->> 'endpoint';
    s.feature := doc ->> 'feature';
    s.provider := bench_plpgsql.norm_provider(doc ->> 'provider');
    s.model := doc ->> 'model';
    s.user_id := doc ->> 'user_id';
    s.session_id := doc ->> 'session_id';
    s.input := nullif(doc -> 'input', 'null');
    s.output := nullif(doc -> 'output', 'null');

    IF jsonb_typeof(u) = 'object' THEN
        IF u ? 'prompt_tokens' OR u ? 'completion_tokens' THEN
            -- OpenAI chat completions: prompt_tokens includes the cached tokens
            s.input_tokens := bench_plpgsql.tok(u -> 'prompt_tokens');
            s.output_tokens := bench_plpgsql.tok(u -> 'completion_tokens');
            s.cached_input_tokens := bench_plpgsql.tok(u -> 'prompt_tokens_details' -> 'cached_tokens');
            s.reasoning_tokens := bench_plpgsql.tok(u -> 'completion_tokens_details' -> 'reasoning_tokens');
            s.total_tokens := bench_plpgsql.tok(u -> 'total_tokens');
        ELSIF u ? 'input_tokens_details' OR u ? 'output_tokens_details' THEN
            -- OpenAI responses: input_tokens includes the cached tokens
            s.input_tokens := bench_plpgsql.tok(u -> 'input_tokens');
            s.output_tokens := bench_plpgsql.tok(u -> 'output_tokens');
            s.cached_input_tokens := bench_plpgsql.tok(u -> 'input_tokens_details' -> 'cached_tokens');
            s.reasoning_tokens := bench_plpgsql.tok(u -> 'output_tokens_details' -> 'reasoning_tokens');
            s.total_tokens := bench_plpgsql.tok(u -> 'total_tokens');
        ELSIF u ? 'input_tokens' OR u ? 'output_tokens' THEN
            -- Anthropic: input_tokens excludes cache reads and cache writes
            cache_read := coalesce(bench_plpgsql.tok(u -> 'cache_read_input_tokens'), 0);
            cache_write := coalesce(bench_plpgsql.tok(u -> 'cache_creation_input_tokens'), 0);
            s.input_tokens := coalesce(bench_plpgsql.tok(u -> 'input_tokens'), 0) + cache_read + cache_write;
            s.output_tokens := bench_plpgsql.tok(u -> 'output_tokens');
            s.cached_input_tokens := cache_read;
            s.cache_write_tokens := cache_write;
        ELSIF u ? 'promptTokenCount' OR u ? 'candidatesTokenCount' THEN
            -- Gemini usageMetadata: promptTokenCount includes cachedContentTokenCount
            s.input_tokens := bench_plpgsql.tok(u -> 'promptTokenCount');
            s.output_tokens := coalesce(bench_plpgsql.tok(u -> 'candidatesTokenCount'), 0)
                               + coalesce(bench_plpgsql.tok(u -> 'thoughtsTokenCount'), 0);
            s.cached_input_tokens := bench_plpgsql.tok(u -> 'cachedContentTokenCount');
            s.reasoning_tokens := bench_plpgsql.tok(u -> 'thoughtsTokenCount');
            s.total_tokens := bench_plpgsql.tok(u -> 'totalTokenCount');
        END IF;
    END IF;

    s.attributes := (doc - ARRAY['trace_id', 'span_id', 'parent_span_id', 'name', 'kind',
                                 'operation', 'start_time', 'end_time', 'duration_ms', 'status',
                                 'error', 'service', 'project', 'environment', 'endpoint',
                                 'feature', 'provider', 'model', 'usage', 'cost_usd', 'user_id',
                                 'session_id', 'input', 'output', 'metadata'])
        || CASE WHEN jsonb_typeof(doc -> 'metadata') = 'object' THEN doc -> 'metadata' ELSE '{}' END
        || CASE WHEN jsonb_typeof(u) = 'object'
                THEN jsonb_build_object('usage', u - ARRAY[
                    'prompt_tokens', 'completion_tokens', 'total_tokens', 'input_tokens',
                    'output_tokens', 'cache_read_input_tokens', 'cache_creation_input_tokens',
                    'promptTokenCount', 'candidatesTokenCount', 'cachedContentTokenCount',
                    'thoughtsTokenCount', 'totalTokenCount'])
                ELSE '{}' END;
    RETURN bench_plpgsql.store_span(s, (doc ->> 'cost_usd')::numeric);
END
$$;

-- ---------------------------------------------------------------------------
-- Format detection; a JSON array holds any of the formats.
-- ---------------------------------------------------------------------------
CREATE FUNCTION bench_plpgsql.ingest_document(doc jsonb, nested boolean DEFAULT false)
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    e jsonb;
    n integer := 0;
BEGIN
    IF jsonb_typeof(doc) = 'array' AND NOT nested THEN
        FOR e IN SELECT x FROM jsonb_array_elements(doc) AS x LOOP
            n := n + bench_plpgsql.ingest_document(e, true);
        END LOOP;
        RETURN n;
    ELSIF jsonb_typeof(doc) <> 'object' THEN
        RETURN bench_plpgsql.reject(doc, 'payload is not a JSON object');
    ELSIF doc ? 'resourceSpans' THEN
        RETURN bench_plpgsql.ingest_otlp(doc);
    ELSIF doc ? 'root_span_id' OR doc ? 'span_attributes' OR doc ? 'span_parents' THEN
        RETURN bench_plpgsql.ingest_braintrust(doc);
    ELSIF doc ? 'trace_id' AND doc ? 'span_id' THEN
        RETURN bench_plpgsql.ingest_native(doc);
    ELSIF doc ? 'id' AND doc ? 'timestamp' THEN
        RETURN bench_plpgsql.ingest_vercel(doc);
    ELSE
        RETURN bench_plpgsql.reject(doc, 'unknown payload format');
    END IF;
END
$$;

CREATE FUNCTION bench_plpgsql.ingest_trigger() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.payload IS NOT NULL THEN
        PERFORM bench_plpgsql.ingest_document(NEW.payload);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER ingest_normalize
    BEFORE INSERT ON bench_plpgsql.ingest
    FOR EACH ROW EXECUTE FUNCTION bench_plpgsql.ingest_trigger();
