// Helpers shared by the unit tests: run the normalizer on a payload, render
// column values and JSON tapes as text, read files under test/data.
#pragma once

#include "core/cost.hpp"
#include "core/normalizer.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <simdjson.h>

#include <string>
#include <string_view>

namespace llmtrace::test {

namespace core = llmtrace::core;

// A text column as the test sees it: "<null>" for SQL NULL.
inline std::string str(core::Str s) { return core::present(s) ? std::string(s) : "<null>"; }

// A jsonb tape as compact JSON text; "<null>" for an empty (NULL) tape.
inline std::string json(const core::JsonTape& t) {
    if (t.empty()) return "<null>";
    core::JsonTextWriter w;
    t.replay(w);
    return w.str();
}

// Microseconds since the epoch of a UTC wall-clock time, counted by hand in the
// tests; this only converts whole seconds.
constexpr int64_t us(int64_t seconds) { return seconds * 1000000; }

// Runs one payload through a Normalizer that lives as long as the fixture, so
// the spans' string views stay valid for the test body.
class NormalizerTest : public ::testing::Test {
protected:
    const core::Result& run(std::string_view payload) {
        n.normalize(payload, r);
        return r;
    }
    // Runs a payload that must give exactly one span and no failure.
    const core::Span& one(std::string_view payload) {
        n.normalize(payload, r);
        for (const auto& f : r.failures)
            ADD_FAILURE() << "unexpected failure " << f.sqlstate << " at '" << f.location
                          << "': " << f.message;
        if (r.spans.size() != 1) {
            ADD_FAILURE() << "expected one span, got " << r.spans.size();
            static core::Span empty;
            return empty;
        }
        return r.spans[0];
    }
    // Runs a payload that must fail as a whole; returns the failure.
    const core::Failure& fails(std::string_view payload) {
        n.normalize(payload, r);
        EXPECT_TRUE(r.spans.empty());
        EXPECT_TRUE(r.payload_failed);
        if (r.failures.size() != 1) {
            ADD_FAILURE() << "expected one failure, got " << r.failures.size();
            static core::Failure none{"", "", "", "", nullptr};
            return none;
        }
        return r.failures[0];
    }

    core::Normalizer n;
    core::Result r;
};

inline std::string read_test_file(const std::string& name) {
    std::ifstream in(std::string(LLMTRACE_TEST_DATA) + "/" + name, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// True when s is well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF).
inline bool valid_utf8(std::string_view s) {
    // simdjson's validator is strict (no overlongs, no surrogates, <= U+10FFFF)
    // and independent of the code under test.
    return simdjson::validate_utf8(s.data(), s.size());
}

}  // namespace llmtrace::test
