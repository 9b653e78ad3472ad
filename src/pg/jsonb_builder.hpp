// Builds jsonb values directly from the core's JSON events (no text round trip).
#pragma once

#include "core/json_tape.hpp"
#include "core/normalizer.hpp"
#include "pg/pg.hpp"

namespace llmtrace::pg {

// Replays a tape into a new jsonb datum in CurrentMemoryContext. May raise a
// PostgreSQL error: call inside pg_guard.
// With `redact`, every string value passes through core::redact().
Datum tape_to_jsonb(const core::JsonTape& tape, bool redact = false);

}  // namespace llmtrace::pg
