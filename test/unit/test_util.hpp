// Helpers shared by the unit tests: run the normalizer on a payload, render
// column values and JSON tapes as text, read files under test/data.
#pragma once

#include "core/cost.hpp"
#include "core/normalizer.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
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
    size_t i = 0;
    while (i < s.size()) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        size_t len;
        uint32_t cp;
        if (c < 0x80) {
            ++i;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            len = 2;
            cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            len = 3;
            cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            len = 4;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (i + len > s.size()) return false;
        for (size_t k = 1; k < len; ++k) {
            unsigned char cc = static_cast<unsigned char>(s[i + k]);
            if ((cc & 0xC0) != 0x80) return false;
            cp = (cp << 6) | (cc & 0x3F);
        }
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
            cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += len;
    }
    return true;
}

}  // namespace llmtrace::test
