-- OTLP/HTTP bodies, protobuf or JSON (src/core/otlp_proto.cpp). Part of the
-- install script and of the upgrade to 0.2.0.
CREATE FUNCTION llmtrace.ingest_otlp(body bytea, content_type text DEFAULT 'application/x-protobuf',
                                     OUT spans_stored bigint, OUT spans_rejected bigint, OUT error text)
LANGUAGE c
VOLATILE CALLED ON NULL INPUT
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'llmtrace_ingest_otlp';

COMMENT ON FUNCTION llmtrace.ingest_otlp(bytea, text) IS
    'Ingests an OTLP ExportTraceServiceRequest, protobuf (application/x-protobuf, the default) or JSON '
    '(application/json), with the rules of every other path. spans_stored: newly stored; spans_rejected: '
    'bad spans, quarantined (OTLP partial success); error: why the body as a whole was refused '
    '(quarantined), NULL otherwise.';
REVOKE ALL ON FUNCTION llmtrace.ingest_otlp(bytea, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION llmtrace.ingest_otlp(bytea, text) TO llmtrace_writer, llmtrace_admin;
