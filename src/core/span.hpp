// The normalized span: one row of llmtrace.spans, before PostgreSQL sees it.
// Pure C++: no PostgreSQL header.
#pragma once

#include "core/json_tape.hpp"

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace llmtrace::core {

enum class SourceFormat : uint8_t { Otlp, Braintrust, Vercel, Native };
enum class SpanStatus : uint8_t { Ok, Error, Unset };
// InvalidPrice: the price row that applies holds a value the engine cannot use
// (written before the table's constraints refused such values): cost is NULL.
// Aggregate: the span repeats its descendants' usage (an AI SDK generateText
// span, an in-process invoke_agent span): the numbers stay in attributes.
// Unreconciled: token counts no documented rule can reconcile, or a usage
// object no rule recognizes: raw counts in attributes, token columns and cost NULL.
enum class CostStatus : uint8_t {
    Priced, Reported, Unpriced, NoUsage, InvalidPrice, Aggregate, Unreconciled
};

// Token counts above this are rejected as out of range (10^15).
inline constexpr int64_t kMaxTokens = 1000000000000000LL;

const char* to_string(SourceFormat f);
const char* to_string(SpanStatus s);
const char* to_string(CostStatus s);

// A text column value: null when data() is nullptr.
using Str = std::string_view;
inline bool present(Str s) { return s.data() != nullptr; }

struct Tokens {
    std::optional<int64_t> input;        // ALL input tokens, cached and cache writes included
    std::optional<int64_t> output;       // all output tokens, reasoning included
    std::optional<int64_t> cached_input;
    std::optional<int64_t> cache_write;
    std::optional<int64_t> reasoning;
    std::optional<int64_t> total;

    bool any() const {
        return input || output || cached_input || cache_write || reasoning || total;
    }
};

struct Span {
    SourceFormat format = SourceFormat::Native;
    Str trace_id, span_id, parent_span_id;
    Str name, kind, operation;
    int64_t start_us = 0;                 // microseconds since 1970-01-01 UTC
    std::optional<int64_t> end_us;
    std::optional<double> duration_ms;
    SpanStatus status = SpanStatus::Unset;
    Str error_message;
    Str service, project, environment, endpoint, feature;
    Str provider, model;
    Tokens tokens;
    std::optional<double> reported_cost;  // cost sent in the payload, USD
    bool aggregate_usage = false;         // usage repeats the descendants' (see CostStatus)
    bool usage_unreconciled = false;      // see CostStatus::Unreconciled
    // A Braintrust merge row ("_is_merge": true) whose first row came in an
    // earlier payload: it completes the stored span (end time, output, tokens,
    // model) instead of being a span of its own. start_us is unknown (0).
    bool merge_only = false;
    CostStatus cost_status = CostStatus::NoUsage;
    std::string cost_text;                // decimal USD, empty for NULL
    Str user_id, session_id;
    JsonTape input, output;               // empty: NULL
    JsonTape attributes;                  // always an object
};

// SQLSTATEs of class 22 (data exception) used for bad input.
namespace sqlstate {
inline constexpr const char* kInvalidText = "22P02";        // malformed JSON, bad escapes
inline constexpr const char* kUntranslatable = "22P05";     // \u0000
inline constexpr const char* kOutOfRange = "22003";         // numbers out of range
inline constexpr const char* kNullNotAllowed = "22004";     // a required field is missing
inline constexpr const char* kInvalidParameter = "22023";   // wrong type or value, unknown format
inline constexpr const char* kInvalidDatetime = "22007";    // unparsable timestamp
inline constexpr const char* kDatetimeOverflow = "22008";   // timestamp out of range
}  // namespace sqlstate

// Bad input: thrown by the normalizer, caught per span or per payload.
class InputError : public std::runtime_error {
public:
    InputError(const char* sqlstate, const std::string& msg)
        : std::runtime_error(msg), sqlstate_(sqlstate) {}
    const char* sqlstate() const { return sqlstate_; }

private:
    const char* sqlstate_;
};

}  // namespace llmtrace::core
