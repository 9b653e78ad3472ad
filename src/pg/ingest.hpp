// The ingest path inside PostgreSQL: normalize a payload (core), price its
// spans (price cache), buffer them as rows, and write them in multi-row
// INSERT ... ON CONFLICT DO NOTHING batches; quarantine what cannot be
// normalized. Everything here is called through entry_boundary().
#pragma once

#include "pg/pg.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace llmtrace::pg {

void register_ingest_callbacks();

// Normalizes one payload and buffers its spans until the statement ends. A
// NULL payload is bad input like any other: quarantined or an error, by
// llmtrace.on_error.
void ingest_payload(std::string_view payload, bool is_null);

// Writes every buffered span of the statement, in key order; returns how many
// were newly stored (re-delivered spans are skipped by the primary key).
uint64_t flush_spans();

// llmtrace.ingest_json: ingests and writes one payload; returns the spans it stored.
uint64_t ingest_json_payload(std::string_view payload, bool is_null);

// llmtrace.ingest_otlp(): an OTLP ExportTraceServiceRequest as protobuf
// (application/x-protobuf, transcoded to OTLP/JSON) or JSON. stored: spans
// newly stored; rejected: bad spans (quarantined); refused: the body as a
// whole was bad (quarantined), with the reason in error.
struct OtlpResult {
    uint64_t stored = 0;
    uint64_t rejected = 0;
    bool refused = false;
    std::string error;
};
OtlpResult ingest_otlp_payload(std::string_view body, bool is_null, std::string_view content_type);

}  // namespace llmtrace::pg
