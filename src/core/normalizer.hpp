// Payload -> normalized spans: format detection and the four input formats.
// Pure C++: no PostgreSQL header.
#pragma once

#include "core/span.hpp"

#include <simdjson.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace llmtrace::core {

// Deepest JSON nesting accepted in a payload (and in JSON carried inside strings).
inline constexpr size_t kMaxDepth = 512;
// Longest trace or span id accepted (bytes). The ids form the primary key of
// llmtrace.spans, whose btree entries must fit in a third of a page.
inline constexpr size_t kMaxIdBytes = 256;

enum class ContentMode : uint8_t { Full, Redact, None };

// Bump allocator for strings that spans refer to; reset per payload.
class Arena {
public:
    std::string_view copy(std::string_view s);
    std::string_view lower_copy(std::string_view s);
    void reset();

private:
    char* alloc(size_t n);
    std::vector<std::unique_ptr<char[]>> blocks_;
    size_t used_ = 0;
    size_t cap_ = 0;
    std::vector<std::unique_ptr<char[]>> big_;
};

// A span (or a whole payload) that could not be normalized.
struct Failure {
    const char* sqlstate;
    std::string message;   // what was wrong, naming the field
    std::string location;  // where in the payload, e.g. resourceSpans[0].scopeSpans[0].spans[3]
    std::string json;      // the bad span as JSON (at most Options::failure_json_limit
                           // bytes); empty when the whole payload failed
    const char* format;    // source format, or nullptr when unknown
    bool whole_payload = false;  // the payload itself is the bad input
    bool json_truncated = false; // json holds only a prefix of the span
};

// A Failure whose message is made valid UTF-8 (bad values are quoted in
// messages, possibly cut mid-character), free of NUL and of raw control
// characters (written as JSON escapes, e.g. \u001b).
Failure make_failure(const char* sqlstate, std::string message, std::string location,
                     std::string json, const char* format);
// The same cleaning for any message shown to a user.
std::string printable_message(std::string message);

// Receives what a payload gives, one span or failure at a time, while the
// payload is being normalized: a payload's spans are never all held at once.
// A span refers to memory of the Normalizer that is valid during the call only.
// Exceptions thrown by the sink propagate out of Normalizer::normalize.
class SpanSink {
public:
    virtual void span(Span& s) = 0;
    virtual void failure(Failure& f) = 0;

protected:
    ~SpanSink() = default;
};

// Collects everything (tests, the fuzzer, the parser benchmark).
struct Result final : SpanSink {
    std::vector<Span> spans;
    std::vector<Failure> failures;
    bool payload_failed = false;  // nothing usable: failures[0] describes the payload

    void clear() {
        spans.clear();
        failures.clear();
        payload_failed = false;
    }
    void span(Span& s) override { spans.push_back(std::move(s)); }
    void failure(Failure& f) override {
        if (f.whole_payload) payload_failed = true;
        failures.push_back(std::move(f));
    }
};

class Normalizer {
public:
    struct Options {
        ContentMode content = ContentMode::Full;
        // Failure::json keeps at most this many bytes of the bad span.
        size_t failure_json_limit = SIZE_MAX;
        // Called regularly during long work (every few thousand values); may
        // throw to abandon the payload (a query cancel).
        void (*interrupt_check)() = nullptr;
    };

    Normalizer();
    Options& options() { return opts_; }

    // Parses and normalizes one payload, handing each span and failure to the
    // sink as it is made.
    void normalize(std::string_view payload, SpanSink& sink);
    // Collects them; spans in `out` refer to memory owned by this Normalizer
    // and stay valid until the next call.
    void normalize(std::string_view payload, Result& out) {
        out.clear();
        normalize(payload, static_cast<SpanSink&>(out));
    }
    // Gives back memory kept from a large payload (parser buffers, arena).
    void release_memory();

    // Counts work (one unit: a value or attribute; a whole span weighs 16);
    // every 4096 units runs Options::interrupt_check, so a cancel is seen
    // within a few milliseconds of work.
    void tick(unsigned weight = 1) {
        ticks_ += weight;
        if (ticks_ >= 4096) {
            ticks_ = 0;
            if (opts_.interrupt_check) opts_.interrupt_check();
        }
    }
    // Runs Options::interrupt_check now (between the phases of a large payload).
    void check_interrupts() {
        ticks_ = 0;
        if (opts_.interrupt_check) opts_.interrupt_check();
    }
    // A tape that lives until the next payload (resource and scope attributes
    // that many spans refer to).
    JsonTape& shared_tape();
    // The bad span as JSON for a Failure, cut at Options::failure_json_limit.
    std::string failure_json(simdjson::dom::element e, bool& truncated);
    // One Braintrust span sent as several rows (the first, then "_is_merge"
    // rows): the rows deep-merged into one, parsed; nullopt if not objects.
    std::optional<simdjson::dom::element> merge_braintrust_rows(const std::vector<simdjson::dom::element>& rows);
    // Hands the sink a Failure for bad input at `loc` (empty: the whole payload).
    void report_failure(SpanSink& out, const InputError& e, const std::string& loc,
                        simdjson::dom::element v, const char* format);

    // ---- used by the format readers ----
    Arena& arena() { return arena_; }
    // Parses JSON carried inside a string attribute; nullopt if it is not a JSON
    // object or array.
    std::optional<simdjson::dom::element> parse_nested(std::string_view text);
    // Input may contain \u0000 somewhere: strings must then be checked.
    bool may_contain_nul() const { return may_contain_nul_; }
    ContentMode content_mode() const { return opts_.content; }

private:
    void normalize_value(simdjson::dom::element root, const std::string& loc, SpanSink& out);
    void normalize_one(simdjson::dom::element v, const std::string& loc, SpanSink& out);
    void fail_payload(const char* sqlstate, std::string msg, SpanSink& out);

    Options opts_;
    simdjson::dom::parser parser_;
    simdjson::dom::parser nested_parser_;
    std::deque<simdjson::dom::document> nested_docs_;
    size_t nested_used_ = 0;
    Arena arena_;
    bool may_contain_nul_ = false;
    std::string padded_;
    std::deque<JsonTape> shared_tapes_;
    size_t shared_used_ = 0;
    unsigned ticks_ = 0;
};

// ---- shared helpers of the format readers (normalizer.cpp) ----
namespace detail {

using simdjson::dom::element;
using simdjson::dom::object;

[[noreturn]] void fail(const char* sqlstate, const std::string& msg);

// The value of `key` in `o`. When a key occurs more than once the LAST one
// counts, as in jsonb (which keeps the last of duplicate keys), so columns and
// attributes always agree. Returns false when the key is absent.
bool lookup(object o, std::string_view key, element& out);
inline bool has_key(object o, std::string_view key) {
    element v;
    return lookup(o, key, v);
}
// The value of `key` unless it is absent or null (the last one counts).
inline std::optional<element> get(object o, std::string_view key) {
    element v;
    if (!lookup(o, key, v) || v.is_null()) return std::nullopt;
    return v;
}
// A span id, trace id or parent id: at most kMaxIdBytes bytes.
Str checked_id(Str id, std::string_view field);

// Text column value of a JSON string (numbers and booleans are written as text).
// Missing or null: absent. Checks for \u0000.
Str text_of(Normalizer& n, element v, std::string_view field);
Str text_field(Normalizer& n, object o, std::string_view key);
// A token count: a non-negative integer, as number or digit string.
int64_t token_count(element v, std::string_view field);
std::optional<int64_t> token_field(object o, std::string_view key, std::string_view field_prefix);
// A non-negative decimal amount (cost), as number or numeric string.
double amount_of(element v, std::string_view field);
// Whole element into a jsonb tape; checks the subtree for \u0000.
void tape_element(Normalizer& n, JsonTape& t, element v, std::string_view field);
void check_tree(element v, std::string_view field);
// With \u0000 somewhere in the payload: every text field, key and string of
// the finished span is checked (22P05), whatever path put it there.
void check_span_nul(const Span& s);
// Content (input/output): dropped when llmtrace.store_content = 'none'.
void set_content(Normalizer& n, JsonTape& t, element v, std::string_view field);
// Timestamps: ISO 8601 text, or a Unix epoch number whose unit is inferred
// from its magnitude (s, ms, us or ns). Returns microseconds since the epoch.
int64_t timestamp_of(element v, std::string_view field);
int64_t parse_iso8601(std::string_view s, std::string_view field);
// Finishes the timing fields from what the payload gave.
void finish_times(Span& s, std::optional<int64_t> start, std::optional<int64_t> end,
                  std::optional<double> duration_ms);
Str normalized_provider(Normalizer& n, Str raw);
// Maps operation names of the vocabularies to gen_ai.operation.name values.
Str operation_from_kind(std::string_view kind);

// Token usage objects: OpenAI (chat and responses), Anthropic, Gemini, Bedrock
// Converse. Returns the rule applied ("anthropic: ..."), nullptr for the
// inclusive default; marks the span unreconciled when the object holds token
// counts that no rule recognizes.
const char* read_usage_object(object usage, Span& s);
// Reconciles the token counts of a span (see README "Token rules"): counts
// sent exclusive under inclusive names are recognized by the total; counts no
// rule reconciles leave the span stored, unpriced, with the raw counts in
// attributes["llmtrace.raw_usage"]. `rule` names a rule the reader already
// applied; it is recorded in attributes["llmtrace.token_rule"].
void finish_tokens(Span& s, const char* rule = nullptr);
// Writes counts as sent under attributes["llmtrace.raw_usage"] (before a
// reader's rule changes them).
void record_raw_usage(Span& s, const Tokens& t);

void read_otlp(Normalizer& n, object root, const std::string& loc, SpanSink& out);
void read_braintrust(Normalizer& n, object o, Span& s);
void read_vercel(Normalizer& n, object o, Span& s);
void read_native(Normalizer& n, object o, Span& s);

}  // namespace detail
}  // namespace llmtrace::core
