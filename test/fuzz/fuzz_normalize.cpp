// libFuzzer target: arbitrary bytes -> Normalizer::normalize -> price_span ->
// JSON tapes replayed into a JsonTextWriter, with the invariants the server
// relies on checked after every input. A violation traps (__builtin_trap), so
// libFuzzer saves the input as a crash artifact.
//
// Like the server, one Normalizer (and one PriceTable) is reused across inputs.
// Each input is normalized twice and the two results must agree: state left
// behind by one payload must not change the next one.
//
// LLMTRACE_FUZZ_IGNORE (comma-separated) switches off checks for bugs already
// reported, to look for others behind them:
//   key-nul       U+0000 in a JSON key of attributes/input/output
//   message-text  a failure message that is not valid UTF-8 or holds U+0000
#include "core/cost.hpp"
#include "core/normalizer.hpp"

#include <simdjson.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace core = llmtrace::core;

namespace {

bool ignored(const char* check) {
    static const std::string list = [] {
        const char* v = std::getenv("LLMTRACE_FUZZ_IGNORE");
        return "," + std::string(v ? v : "") + ",";
    }();
    return list.find("," + std::string(check) + ",") != std::string::npos;
}

[[noreturn]] void violated(const char* what, std::string_view detail = {}) {
    std::fprintf(stderr, "\n*** llmtrace invariant violated: %s\n", what);
    if (!detail.empty()) {
        std::string shown;
        for (unsigned char c : detail.substr(0, 400)) {
            if (c < 0x20 || c >= 0x7f) {
                char buf[8];
                std::snprintf(buf, sizeof buf, "\\x%02x", c);
                shown += buf;
            } else {
                shown += char(c);
            }
        }
        std::fprintf(stderr, "*** detail: %s\n", shown.c_str());
    }
    __builtin_trap();
}

#define CHECK(cond, what, detail)              \
    do {                                       \
        if (!(cond)) violated((what), (detail)); \
    } while (0)

// Well-formed UTF-8: no overlongs, no surrogates, nothing above U+10FFFF.
bool valid_utf8(std::string_view s) {
    // simdjson's validator is strict (no overlongs, no surrogates, <= U+10FFFF)
    // and independent of the code under test.
    return simdjson::validate_utf8(s.data(), s.size());
}

// Text that PostgreSQL's text type can store: UTF-8 without U+0000.
void check_text(std::string_view s, const char* what) {
    CHECK(std::memchr(s.data(), '\0', s.size()) == nullptr, what, s);
    CHECK(valid_utf8(s), what, s);
}

void check_column(core::Str s, const char* what) {
    if (core::present(s)) check_text(s, what);
}

// Forwards to a JsonTextWriter, checking every key and string on the way and
// that the events nest properly (keys only directly in objects, one value per key).
class CheckingSink final : public core::JsonSink {
public:
    void begin_object() override {
        value();
        stack_.push_back('o');
        w_.begin_object();
    }
    void end_object() override {
        CHECK(!stack_.empty() && stack_.back() == 'o' && !after_key_, "tape: unbalanced end_object", "");
        stack_.pop_back();
        w_.end_object();
    }
    void begin_array() override {
        value();
        stack_.push_back('a');
        w_.begin_array();
    }
    void end_array() override {
        CHECK(!stack_.empty() && stack_.back() == 'a' && !after_key_, "tape: unbalanced end_array", "");
        stack_.pop_back();
        w_.end_array();
    }
    void key(std::string_view k) override {
        CHECK(!stack_.empty() && stack_.back() == 'o' && !after_key_, "tape: key outside an object", k);
        if (!ignored("key-nul")) CHECK(std::memchr(k.data(), '\0', k.size()) == nullptr, "tape: key holds U+0000", k);
        CHECK(valid_utf8(k), "tape: key is not UTF-8", k);
        after_key_ = true;
        w_.key(k);
    }
    void string(std::string_view s) override {
        value();
        CHECK(std::memchr(s.data(), '\0', s.size()) == nullptr, "tape: string holds U+0000", s);
        CHECK(valid_utf8(s), "tape: string is not UTF-8", s);
        w_.string(s);
    }
    void int64(int64_t v) override {
        value();
        w_.int64(v);
    }
    void uint64(uint64_t v) override {
        value();
        w_.uint64(v);
    }
    void dbl(double v) override {
        value();
        CHECK(std::isfinite(v), "tape: non-finite double", "");
        w_.dbl(v);
    }
    void boolean(bool v) override {
        value();
        w_.boolean(v);
    }
    void null() override {
        value();
        w_.null();
    }

    // Replays a tape and returns its JSON text, checked to re-parse.
    const std::string& render(const core::JsonTape& t, const char* what, bool must_be_object) {
        w_.clear();
        stack_.clear();
        after_key_ = false;
        values_at_top_ = 0;
        t.replay(*this);
        CHECK(stack_.empty() && !after_key_, "tape: unterminated", w_.str());
        CHECK(values_at_top_ == 1, "tape: not exactly one value", w_.str());
        simdjson::dom::element e;
        CHECK(reparser().parse(w_.str()).get(e) == simdjson::SUCCESS, what, w_.str());
        if (must_be_object) CHECK(e.type() == simdjson::dom::element_type::OBJECT, what, w_.str());
        return w_.str();
    }

    static simdjson::dom::parser& reparser() {
        static simdjson::dom::parser p;
        static bool init = [] {
            // Deeper than anything the normalizer may emit (kMaxDepth plus its own levels).
            return p.allocate(1 << 16, 4 * core::kMaxDepth) == simdjson::SUCCESS;
        }();
        (void)init;
        return p;
    }

private:
    void value() {
        if (stack_.empty()) {
            ++values_at_top_;
        } else if (stack_.back() == 'o') {
            CHECK(after_key_, "tape: value without a key in an object", w_.str());
        }
        after_key_ = false;
    }

    core::JsonTextWriter w_;
    std::vector<char> stack_;
    bool after_key_ = false;
    int values_at_top_ = 0;
};

core::PriceTable& prices() {
    static core::PriceTable* t = [] {
        auto* table = new core::PriceTable();
        auto units = [](const char* s) {
            auto v = core::parse_price(s);
            if (!v) std::abort();
            return *v;
        };
        core::PriceRow r;
        r.provider = "openai";
        r.model = "gpt-4o";
        r.input = units("2.5");
        r.cached_input = units("1.25");
        r.output = units("10");
        table->add(r);
        r = core::PriceRow();
        r.provider = "openai";
        r.model = "gpt-4o";
        r.input = units("5");
        r.valid_from_us = 1715558400LL * 1000000;  // 2024-05-13: a later price
        table->add(r);
        r = core::PriceRow();
        r.provider = "anthropic";
        r.model = "claude";
        r.prefix = true;
        r.input = units("3");
        r.output = units("15");
        r.cached_input = units("0.3");
        r.cache_write = units("3.75");
        r.tier_threshold = 200000;
        r.tier_input = units("6");
        r.tier_output = units("22.5");
        table->add(r);
        r = core::PriceRow();
        r.model = "gemini-2.5-pro";
        r.input = units("1.25");
        r.tier_threshold = 200000;
        r.tier_input = units("2.5");
        table->add(r);
        r = core::PriceRow();
        r.model = "l";
        r.prefix = true;
        r.input = units("999999.999999999999");
        table->add(r);
        return table;
    }();
    return *t;
}

// Everything the checks below look at, as text, to compare two runs.
std::string digest(const core::Result& r, CheckingSink& sink) {
    std::string d = std::to_string(r.spans.size()) + "/" + std::to_string(r.failures.size()) +
                    (r.payload_failed ? "!" : "") + "\n";
    for (const core::Span& s : r.spans) {
        d += std::string(s.trace_id) + "|" + std::string(s.span_id) + "|" +
             std::to_string(s.start_us) + "|" + std::to_string(s.tokens.input.value_or(-1)) + "|" +
             std::to_string(s.tokens.output.value_or(-1)) + "|" + std::string(core::to_string(s.status)) +
             "|" + sink.render(s.attributes, "attributes", true) + "\n";
    }
    for (const core::Failure& f : r.failures)
        d += std::string(f.sqlstate) + "|" + f.location + "|" + f.message + "\n";
    return d;
}

void check_result(const core::Result& r, bool input_is_utf8, CheckingSink& sink) {
    if (r.payload_failed) {
        CHECK(r.spans.empty(), "payload_failed with spans", "");
        CHECK(r.failures.size() == 1, "payload_failed without exactly one failure", "");
    }
    for (const core::Failure& f : r.failures) {
        CHECK(f.sqlstate != nullptr && std::strlen(f.sqlstate) == 5, "failure: bad sqlstate", "");
        CHECK(f.sqlstate[0] == '2' && f.sqlstate[1] == '2', "failure: sqlstate not of class 22",
              f.sqlstate);
        CHECK(!f.message.empty(), "failure: empty message", "");
        // PostgreSQL only hands us valid UTF-8; the message goes into text/ereport.
        if (input_is_utf8 && !ignored("message-text")) check_text(f.message, "failure: message not storable as text");
        check_text(f.location, "failure: location not storable as text");
        if (!f.json.empty()) {
            simdjson::dom::element e;
            CHECK(CheckingSink::reparser().parse(f.json).get(e) == simdjson::SUCCESS,
                  "failure: json does not re-parse", f.json);
        }
    }
    for (const core::Span& s : r.spans) {
        CHECK(core::present(s.trace_id) && !s.trace_id.empty(), "span: empty trace_id", "");
        CHECK(core::present(s.span_id) && !s.span_id.empty(), "span: empty span_id", "");
        check_column(s.trace_id, "span: trace_id");
        check_column(s.span_id, "span: span_id");
        check_column(s.parent_span_id, "span: parent_span_id");
        check_column(s.name, "span: name");
        check_column(s.kind, "span: kind");
        check_column(s.operation, "span: operation");
        check_column(s.error_message, "span: error_message");
        check_column(s.service, "span: service");
        check_column(s.project, "span: project");
        check_column(s.environment, "span: environment");
        check_column(s.endpoint, "span: endpoint");
        check_column(s.feature, "span: feature");
        check_column(s.provider, "span: provider");
        check_column(s.model, "span: model");
        check_column(s.user_id, "span: user_id");
        check_column(s.session_id, "span: session_id");
        if (s.format == core::SourceFormat::Otlp) {
            CHECK(s.trace_id.size() == 32 && s.span_id.size() == 16, "otlp: id length", s.trace_id);
            for (char c : std::string(s.trace_id) + std::string(s.span_id))
                CHECK((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'), "otlp: id not lower-case hex",
                      s.trace_id);
        }
        // Times: within 0001..9999, end after start, duration consistent.
        constexpr int64_t kMin = -62135596800LL * 1000000, kMax = 253402300799LL * 1000000;
        CHECK(s.start_us >= kMin && s.start_us <= kMax, "span: start out of range", "");
        if (s.merge_only) {
            // A Braintrust merge row completing a stored span: no start of its own.
            CHECK(s.format == core::SourceFormat::Braintrust, "span: a merge of another format", "");
            CHECK(s.start_us == 0 && !s.duration_ms, "span: a merge with a start or duration", "");
            if (s.end_us) CHECK(*s.end_us >= kMin && *s.end_us <= kMax, "span: merge end out of range", "");
        } else if (s.end_us) {
            CHECK(*s.end_us >= s.start_us && *s.end_us <= kMax, "span: end out of range", "");
            CHECK(s.duration_ms, "span: end without duration", "");
        }
        if (s.duration_ms) CHECK(std::isfinite(*s.duration_ms) && *s.duration_ms >= 0, "span: bad duration", "");
        // Token rules: counts are non-negative, cached and written tokens are part
        // of the input, reasoning is part of the output.
        const core::Tokens& t = s.tokens;
        for (const auto* c : {&t.input, &t.output, &t.cached_input, &t.cache_write, &t.reasoning, &t.total})
            if (*c) CHECK(**c >= 0, "tokens: negative", "");
        if (t.cached_input.value_or(0) + t.cache_write.value_or(0) > 0) {
            CHECK(t.input, "tokens: cached without input", "");
            CHECK(*t.input >= t.cached_input.value_or(0) + t.cache_write.value_or(0),
                  "tokens: cached + written > input", "");
        }
        if (t.reasoning && t.output) CHECK(*t.reasoning <= *t.output, "tokens: reasoning > output", "");
        // Unreconciled and aggregate spans carry no token columns.
        if (s.usage_unreconciled || s.aggregate_usage) CHECK(!t.any(), "tokens: unreconciled or aggregate span with counts", "");
        if (s.reported_cost)
            CHECK(std::isfinite(*s.reported_cost) && *s.reported_cost >= 0, "span: bad reported cost", "");
    }
}

void check_pricing(core::Span& s) {
    // price_span must not throw for a span the normalizer accepted.
    try {
        core::price_span(s, prices());
    } catch (const std::exception& e) {
        violated("price_span threw", e.what());
    }
    switch (s.cost_status) {
    case core::CostStatus::Priced:
    case core::CostStatus::Reported: {
        CHECK(!s.cost_text.empty(), "cost: priced without text", "");
        // A PostgreSQL numeric literal: digits, at most one point (exponent for reported doubles).
        for (char c : s.cost_text)
            CHECK((c >= '0' && c <= '9') || c == '.' || c == 'e' || c == '-' || c == '+',
                  "cost: not a number", s.cost_text);
        CHECK(s.cost_text[0] != '-', "cost: negative", s.cost_text);
        break;
    }
    case core::CostStatus::Unpriced:
    case core::CostStatus::NoUsage:
        CHECK(s.cost_text.empty(), "cost: text without a price", s.cost_text);
        break;
    }
    if (s.cost_status == core::CostStatus::NoUsage) CHECK(!s.tokens.any() && !s.reported_cost, "cost: no_usage with usage", "");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static core::Normalizer* normalizer = new core::Normalizer();
    static core::Result* result = new core::Result();
    static CheckingSink* sink = new CheckingSink();

    const std::string_view payload(reinterpret_cast<const char*>(data), size);
    const bool utf8 = valid_utf8(payload);
    // Exercise store_content = 'none' on some inputs, deterministically.
    normalizer->options().content = size % 7 == 3 ? core::ContentMode::None : core::ContentMode::Full;

    normalizer->normalize(payload, *result);
    check_result(*result, utf8, *sink);
    for (core::Span& s : result->spans) {
        sink->render(s.attributes, "attributes do not re-parse as a JSON object", true);
        if (!s.input.empty()) sink->render(s.input, "input does not re-parse", false);
        if (!s.output.empty()) sink->render(s.output, "output does not re-parse", false);
        if (normalizer->options().content == core::ContentMode::None)
            CHECK(s.input.empty() && s.output.empty(), "content kept with store_content = none", "");
        check_pricing(s);
    }
    const std::string first = digest(*result, *sink);

    normalizer->normalize(payload, *result);
    const std::string second = digest(*result, *sink);
    CHECK(first == second, "a second run of the same payload differs", first + "\n----\n" + second);
    return 0;
}
