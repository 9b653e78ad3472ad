// The columns of llmtrace.spans that ingest writes (every one but
// ingested_at), written once: the INSERT's column list, its parameter types,
// the buffer rows, the sort's row type and the setters all come from here.
// The table definition itself is in src/sql/llmtrace.sql; schema_check.cpp
// verifies at first use that the table in the database matches this list.
#pragma once

#include "pg/pg.hpp"

#include <string_view>

namespace llmtrace::pg {

#define LLMTRACE_SPAN_COLUMNS(X)                                                            \
    X(trace_id, TEXTOID) X(span_id, TEXTOID) X(parent_span_id, TEXTOID) X(name, TEXTOID)    \
    X(kind, TEXTOID) X(operation, TEXTOID) X(start_time, TIMESTAMPTZOID)                     \
    X(end_time, TIMESTAMPTZOID) X(duration_ms, FLOAT8OID) X(status, TEXTOID)                 \
    X(error_message, TEXTOID) X(service, TEXTOID) X(project, TEXTOID)                        \
    X(environment, TEXTOID) X(endpoint, TEXTOID) X(feature, TEXTOID) X(provider, TEXTOID)    \
    X(model, TEXTOID) X(input_tokens, INT8OID) X(output_tokens, INT8OID)                     \
    X(cached_input_tokens, INT8OID) X(cache_write_tokens, INT8OID)                           \
    X(reasoning_tokens, INT8OID) X(total_tokens, INT8OID) X(cost_usd, NUMERICOID)           \
    X(cost_status, TEXTOID) X(user_id, TEXTOID) X(session_id, TEXTOID) X(input, JSONBOID)   \
    X(output, JSONBOID) X(attributes, JSONBOID) X(source_format, TEXTOID)

// Column positions: col::trace_id, col::span_id, ...
namespace col {
enum : int {
#define LLMTRACE_X(name, type) name,
    LLMTRACE_SPAN_COLUMNS(LLMTRACE_X)
#undef LLMTRACE_X
    count
};
}  // namespace col

struct SpanColumn {
    const char* name;
    Oid type;
};

inline constexpr SpanColumn kSpanColumns[] = {
#define LLMTRACE_X(name, type) {#name, type},
    LLMTRACE_SPAN_COLUMNS(LLMTRACE_X)
#undef LLMTRACE_X
};

inline constexpr int kSpanColumnCount = col::count;

// The bytes of a text Datum of a span row (not detoasted: rows built for
// writing hold plain, possibly short-header, values).
inline std::string_view text_datum(Datum d) {
    text* t = reinterpret_cast<text*>(DatumGetPointer(d));
    return std::string_view(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
}
static_assert(sizeof kSpanColumns / sizeof kSpanColumns[0] == col::count, "one entry per column");

}  // namespace llmtrace::pg
