// Numbers written back as JSON text (failure JSON, attributes, reported
// costs) read back as the same double, also whole numbers too large for a
// 64-bit integer (a fuzzer finding: "179619999999999901696" was refused as a
// too-large integer when the quarantined span was parsed again).
#include "core/json_tape.hpp"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <cstdlib>
#include <string>

using llmtrace::core::double_to_text;

namespace {

double reparsed(const std::string& text) {
    simdjson::dom::parser parser;
    simdjson::padded_string json(text);
    simdjson::dom::element e;
    EXPECT_EQ(parser.parse(json).get(e), simdjson::SUCCESS) << text;
    double d = 0;
    EXPECT_EQ(e.get_double().get(d), simdjson::SUCCESS) << text;
    return d;
}

}  // namespace

TEST(JsonText, WholeNumbersBeyond64BitsKeepAnExponent) {
    for (double v : {179619999999999901696.0, 9223372036854775808.0, 18446744073709551616.0,
                     -9223372036854775808.0, -12345678901234567890123.0, 1e20, 9.99e20}) {
        const std::string text = double_to_text(v);
        EXPECT_NE(text.find_first_of("eE."), std::string::npos) << text;
        EXPECT_EQ(reparsed(text), v) << text;
    }
}

TEST(JsonText, OrdinaryNumbersKeepTheirShortestForm) {
    EXPECT_EQ(double_to_text(0.25), "0.25");
    EXPECT_EQ(double_to_text(1607), "1607");
    EXPECT_EQ(double_to_text(1796100431.59), "1796100431.59");
    EXPECT_EQ(double_to_text(9007199254740993.0), "9007199254740992");
    EXPECT_EQ(double_to_text(-42), "-42");
}
