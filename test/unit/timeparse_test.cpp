// Timestamps: ISO 8601 text (offsets, fractions, Z) and Unix epoch numbers
// whose unit (s, ms, us, ns) is inferred from the magnitude.
//
// Reference instants, in seconds since 1970-01-01T00:00:00Z:
//   2024-05-01T12:00:00Z  1714564800  (19844 days + 12 h; see normalizer_test.cpp)
//   2024-05-01T00:00:00Z  1714521600
//   2024-02-29T00:00:00Z  1709164800  (19723 days to 2024-01-01 + 31 + 28 = 19782 days)
//   2017-01-01T00:00:00Z  1483228800  (47 years, 12 leap days: 17167 days)
//   2000-01-01T00:00:00Z   946684800  (30 years, 7 leap days: 10957 days)
//   9999-12-31T23:59:59Z  253402300799 (the latest accepted instant)
//   0001-01-01T00:00:00Z  -62135596800 (the earliest)
#include "test_util.hpp"

#include <string>

namespace llmtrace::test {
namespace {

namespace detail = core::detail;

constexpr int64_t kNoon = 1714564800;

int64_t iso(const std::string& s) { return detail::parse_iso8601(s, "t"); }

// The SQLSTATE of the InputError f throws, or "" when it throws none.
template <typename F>
std::string state_of(F&& f) {
    try {
        f();
    } catch (const core::InputError& e) {
        return e.sqlstate();
    }
    return "";
}

TEST(Iso8601, Utc) {
    EXPECT_EQ(iso("2024-05-01T12:00:00Z"), us(kNoon));
    EXPECT_EQ(iso("2024-05-01t12:00:00z"), us(kNoon));   // lower-case T and Z
    EXPECT_EQ(iso("2024-05-01 12:00:00"), us(kNoon));    // space, no zone: UTC
    EXPECT_EQ(iso("2024-05-01T12:00:00"), us(kNoon));
    EXPECT_EQ(iso("2024-05-01T12:00Z"), us(kNoon));      // no seconds
    EXPECT_EQ(iso("2024-05-01"), us(1714521600));        // a date: midnight UTC
    EXPECT_EQ(iso("1970-01-01T00:00:00Z"), 0);
    EXPECT_EQ(iso("1969-12-31T23:59:59Z"), us(-1));
    EXPECT_EQ(iso("2024-02-29T00:00:00Z"), us(1709164800));
    EXPECT_EQ(iso("9999-12-31T23:59:59Z"), us(253402300799));
    EXPECT_EQ(iso("0001-01-01T00:00:00Z"), us(-62135596800));
}

TEST(Iso8601, Fractions) {
    EXPECT_EQ(iso("2024-05-01T12:00:00.5Z"), us(kNoon) + 500000);
    EXPECT_EQ(iso("2024-05-01T12:00:00,5Z"), us(kNoon) + 500000);  // comma
    EXPECT_EQ(iso("2024-05-01T12:00:00.123Z"), us(kNoon) + 123000);
    EXPECT_EQ(iso("2024-05-01T12:00:00.123456Z"), us(kNoon) + 123456);
    // Beyond microseconds: truncated (not rounded).
    EXPECT_EQ(iso("2024-05-01T12:00:00.1234569Z"), us(kNoon) + 123456);
    EXPECT_EQ(iso("2024-05-01T12:00:00.999999999Z"), us(kNoon) + 999999);
    EXPECT_EQ(iso("2024-05-01T12:00:00.000000001Z"), us(kNoon));
}

TEST(Iso8601, Offsets) {
    EXPECT_EQ(iso("2024-05-01T14:00:00+02:00"), us(kNoon));
    EXPECT_EQ(iso("2024-05-01T14:00:00+0200"), us(kNoon));
    EXPECT_EQ(iso("2024-05-01T14:00:00+02"), us(kNoon));
    EXPECT_EQ(iso("2024-05-01T17:30:00+05:30"), us(kNoon));
    EXPECT_EQ(iso("2024-05-01T07:30:00-04:30"), us(kNoon));
    EXPECT_EQ(iso("2024-05-01T12:00:00+00:00"), us(kNoon));
    EXPECT_EQ(iso("2024-05-01T12:00:00-00:00"), us(kNoon));
    // Across a day: 2024-05-02T01:00+13:00 = 2024-05-01T12:00Z
    EXPECT_EQ(iso("2024-05-02T01:00:00+13:00"), us(kNoon));
    // Fraction and offset: 14:00:00.25+02:00 = 12:00:00.25Z
    EXPECT_EQ(iso("2024-05-01T14:00:00.25+02:00"), us(kNoon) + 250000);
    // The largest offset: 2000-01-01T00:00+23:59 = 946684800 - 86340 s
    EXPECT_EQ(iso("2000-01-01T00:00:00+23:59"), us(946598460));
}

TEST(Iso8601, LeapSecondIsClampedTo59) {
    // 2016-12-31T23:59:60Z -> 23:59:59 = 2017-01-01 - 1 s
    EXPECT_EQ(iso("2016-12-31T23:59:60Z"), us(1483228800 - 1));
}

TEST(Iso8601, Rejects) {
    for (const char* bad : {"", "2024", "2024-05", "24-05-01", "2024/05/01", "2024-5-1",
                            "2023-02-29", "1900-02-29", "2024-13-01", "2024-00-10", "2024-04-31",
                            "2024-05-00", "0000-01-01", "2024-05-01T24:00:00Z", "2024-05-01T12:60:00Z",
                            "2024-05-01T12:00:61Z", "2024-05-01T12", "2024-05-01T12:00:00.Z",
                            "2024-05-01T12:00:00+24:00", "2024-05-01T12:00:00+05:60",
                            "2024-05-01T12:00:00+5", "2024-05-01T12:00:00 Z", "2024-05-01T12:00:00Zjunk",
                            "2024-05-01T", "2024-05-01X12:00:00", "yesterday", "2024-05-01T12:00:00+05:3"}) {
        EXPECT_EQ(state_of([&] { iso(bad); }), "22007") << "'" << bad << "'";
    }
    try {
        detail::parse_iso8601("2024-13-01", "start_time");
    } catch (const core::InputError& e) {
        EXPECT_STREQ(e.what(), "start_time is not an ISO 8601 timestamp: \"2024-13-01\"");
    }
}

// timestamp_of reads a JSON value: parse "[v]" and pass the element.
class EpochTest : public ::testing::Test {
protected:
    int64_t ts(const std::string& json_value) {
        simdjson::dom::element e;
        doc = "[" + json_value + "]";
        auto err = parser.parse(doc).get(e);
        EXPECT_EQ(err, simdjson::SUCCESS) << json_value;
        return detail::timestamp_of(e.at(0).value(), "t");
    }
    std::string state(const std::string& json_value) {
        return state_of([&] { ts(json_value); });
    }
    simdjson::dom::parser parser;
    std::string doc;
};

TEST_F(EpochTest, UnitFromMagnitude) {
    EXPECT_EQ(ts("1714564800"), us(kNoon));                        // < 1e11: seconds
    EXPECT_EQ(ts("1714564800123"), us(kNoon) + 123000);            // < 1e14: milliseconds
    EXPECT_EQ(ts("1714564800123456"), us(kNoon) + 123456);         // < 1e17: microseconds
    EXPECT_EQ(ts("1714564800123456789"), us(kNoon) + 123456);      // nanoseconds, truncated
    EXPECT_EQ(ts("0"), 0);
}

TEST_F(EpochTest, UnitBoundaries) {
    EXPECT_EQ(ts("99999999999"), 99999999999000000);            // 1e11 - 1 s (year 5138)
    EXPECT_EQ(ts("100000000000"), 100000000000000);             // 1e11 ms = 1e14 us
    EXPECT_EQ(ts("99999999999999"), 99999999999999000);         // 1e14 - 1 ms
    EXPECT_EQ(ts("100000000000000"), 100000000000000);          // 1e14 us
    EXPECT_EQ(ts("99999999999999999"), 99999999999999999);      // 1e17 - 1 us
    EXPECT_EQ(ts("100000000000000000"), 100000000000000);       // 1e17 ns = 1e14 us
    EXPECT_EQ(ts("9223372036854775807"), 9223372036854775);     // INT64_MAX ns (year 2262)
}

TEST_F(EpochTest, FractionsAndStrings) {
    EXPECT_EQ(ts("1714564800.5"), us(kNoon) + 500000);                   // seconds with a fraction
    EXPECT_EQ(ts("1714564800.000001"), us(kNoon) + 1);
    EXPECT_EQ(ts("1714564800123.5"), us(kNoon) + 123500);                // fractional ms
    EXPECT_EQ(ts("1.7145648e12"), us(kNoon));                            // ms as a double
    EXPECT_EQ(ts("\"1714564800\""), us(kNoon));                          // digits in a string
    EXPECT_EQ(ts("\"1714564800123\""), us(kNoon) + 123000);
    EXPECT_EQ(ts("\"1714564800.25\""), us(kNoon) + 250000);
    EXPECT_EQ(ts("\"2024-05-01T12:00:00Z\""), us(kNoon));                // ISO text
}

TEST_F(EpochTest, Rejects) {
    EXPECT_EQ(state("-1"), "22008");  // before 1970 as a number
    EXPECT_EQ(state("-0.5"), "22008");
    EXPECT_EQ(state("1e30"), "22008");  // beyond 9999-12-31
    EXPECT_EQ(state("18446744073709551615"), "22008");  // above INT64_MAX
    EXPECT_EQ(state("\"9223372036854775808\""), "22008");
    EXPECT_EQ(state("\"-1\""), "22007");  // not digits: read as ISO text
    EXPECT_EQ(state("\"\""), "22007");
    EXPECT_EQ(state("true"), "22007");
    EXPECT_EQ(state("null"), "22007");
    EXPECT_EQ(state("{}"), "22007");
    EXPECT_EQ(state("[]"), "22007");
    EXPECT_EQ(state("\"1e9\""), "22007");
    // 400 digits: infinity as a double, out of range.
    EXPECT_EQ(state("\"" + std::string(400, '9') + "\""), "22008");
}

}  // namespace
}  // namespace llmtrace::test
