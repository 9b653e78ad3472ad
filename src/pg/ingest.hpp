// The ingest path inside PostgreSQL: normalize a payload (core), price its
// spans (price cache), buffer them as rows, and write them in multi-row
// INSERT ... ON CONFLICT DO NOTHING batches; quarantine what cannot be
// normalized. Everything here is called through entry_boundary().
#pragma once

#include "pg/pg.hpp"

#include <cstdint>
#include <string_view>

namespace llmtrace::pg {

void register_ingest_callbacks();

// Normalizes one payload and buffers its spans; full batches are written at once.
void ingest_payload(std::string_view payload);

// Writes every buffered span; returns how many were newly stored (re-delivered
// spans are skipped by the primary key).
uint64_t flush_spans();

// Spans newly stored by flushes since the last call (and resets the count).
uint64_t take_stored_count();

}  // namespace llmtrace::pg
