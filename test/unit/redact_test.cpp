// The redactor (core/redact.hpp): e-mails, API keys, bearer tokens, JWTs and
// card numbers masked in realistic content; look-alikes that must survive;
// edge cases (empty input, matches at the ends, adjacent matches, invalid
// UTF-8, aliasing); linear time on adversarial input; a randomized check.
#include "core/redact.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace llmtrace::test {
namespace {

using core::redact;

// The text as stored: masked if redact says so, else unchanged.
std::string R(std::string_view in) {
    std::string out = "<untouched>";
    if (!redact(in, out)) {
        EXPECT_EQ(out, "<untouched>") << "redact returned false but wrote into out";
        return std::string(in);
    }
    EXPECT_NE(out, in) << "redact returned true but changed nothing";
    return out;
}

// True when redact leaves the text alone (returns false).
bool survives(std::string_view in) {
    std::string out = "<untouched>";
    const bool changed = redact(in, out);
    EXPECT_EQ(out, changed ? out : std::string("<untouched>"));
    return !changed;
}

bool valid_utf8(std::string_view s) {
    size_t i = 0;
    const size_t n = s.size();
    while (i < n) {
        const auto c = static_cast<unsigned char>(s[i]);
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
        if (i + len > n) return false;
        for (size_t k = 1; k < len; ++k) {
            const auto d = static_cast<unsigned char>(s[i + k]);
            if ((d & 0xC0) != 0x80) return false;
            cp = (cp << 6) | (d & 0x3F);
        }
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += len;
    }
    return true;
}

const std::string kJwt =
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
    "eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ."
    "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";
const std::string kOpenAi = "sk-proj-Xb3kP9qLm2N7vR4tY8wZ1cF6hJ0aD5sG";
const std::string kOpenAiLegacy = "sk-4fGh8JkL2mNp6QrS0tUv3WxY7zAb1CdE";
const std::string kSvcAcct = "sk-svcacct-Q1w2E3r4T5y6U7i8O9p0AaSsDdFf";
const std::string kAnthropic = "sk-ant-api03-h7Gx2Lq9Zp4Wn6Rt1Yv8Kc3Bm5Jd0Fs-AbCdEfGhIj_KlMnOp";
const std::string kAws = "AKIAIOSFODNN7EXAMPLE";
const std::string kGhp = "ghp_16C7e42F292c6912E7710c838347Ae178B4a";  // 36 after the prefix
const std::string kGithubPat = "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ01";

TEST(Redact, ConstantsHaveTheShapesTheRulesExpect) {
    EXPECT_EQ(kGhp.size(), 4u + 36u);
    EXPECT_EQ(kAws.size(), 20u);
}

// --- nothing to mask --------------------------------------------------------

TEST(Redact, EmptyInputIsLeftAlone) {
    std::string out = "keep";
    EXPECT_FALSE(redact("", out));
    EXPECT_EQ(out, "keep");
    EXPECT_FALSE(redact(std::string_view(), out));
    EXPECT_EQ(out, "keep");
}

TEST(Redact, PlainProseIsLeftAlone) {
    EXPECT_TRUE(survives("The quick brown fox jumps over the lazy dog. Be brief, but be kind."));
    EXPECT_TRUE(survives(
        "Bob asked: could you summarize the book about the Battle of Britain in 3 bullet points? "
        "Keep it below 200 words, and be objective about both sides."));
    EXPECT_TRUE(survives("He was the bearer of bad news; bearer bonds are a thing of the past."));
    EXPECT_TRUE(survives("Use Bearer Authentication with OAuth 2.0 (see RFC 6750)."));
    EXPECT_TRUE(survives("Bearer abc"));            // token too short
    EXPECT_TRUE(survives("Bearer: abc123def456"));  // no space after the word
    EXPECT_TRUE(survives("Mr. Kowalski, Jr. and JJ went to Kyoto."));
}

TEST(Redact, WordsContainingSkDoNotLookLikeKeys) {
    EXPECT_TRUE(survives("sky-high expectations"));
    EXPECT_TRUE(survives("a risk-free plan"));
    EXPECT_TRUE(survives("see task-1234 and desk-42"));
    EXPECT_TRUE(survives("ask-me-anything-about-this-long-string"));
    EXPECT_TRUE(survives("risk-assessment-for-the-whole-project-team-2024"));
    EXPECT_TRUE(survives("whisk-the-eggs-until-they-form-stiff-peaks"));
    EXPECT_TRUE(survives("sk-short"));  // fewer than 20 characters after sk-
    EXPECT_TRUE(survives("Xsk-4fGh8JkL2mNp6QrS0tUv3WxY7zAb1CdE"));
    EXPECT_TRUE(survives("_sk-4fGh8JkL2mNp6QrS0tUv3WxY7zAb1CdE"));
    EXPECT_TRUE(survives("-sk-4fGh8JkL2mNp6QrS0tUv3WxY7zAb1CdE"));
}

TEST(Redact, OtherKeyLookAlikesSurvive) {
    EXPECT_TRUE(survives("AKIAIOSFODNN7EXAMPLEX"));    // 17 characters after AKIA
    EXPECT_TRUE(survives("AKIAIOSFODNN7EXAMPL"));      // 15
    EXPECT_TRUE(survives("AKIAiosfodnn7example"));     // lower case
    EXPECT_TRUE(survives("XAKIAIOSFODNN7EXAMPLE"));    // inside a word
    EXPECT_TRUE(survives("ghp_16C7e42F292c6912E7710c838347Ae178"));  // 33
    EXPECT_TRUE(survives("xghp_16C7e42F292c6912E7710c838347Ae178B4a"));
    EXPECT_TRUE(survives("ghx_16C7e42F292c6912E7710c838347Ae178B4a"));
    EXPECT_TRUE(survives("github_pat_short"));
    EXPECT_TRUE(survives("my_github_pat_11ABCDEFG0123456789_abcdefghijklmnop"));
    EXPECT_TRUE(survives("snake_case_identifier and __dunder__ names"));
}

TEST(Redact, NumbersThatAreNotCardsSurvive) {
    EXPECT_TRUE(survives("card 4111 1111 1111 1112"));  // fails Luhn
    EXPECT_TRUE(survives("card 4111111111111112"));
    EXPECT_TRUE(survives("5555-5555-5555-4445"));
    EXPECT_TRUE(survives("id 41111111111111111111"));          // 20 digits
    EXPECT_TRUE(survives("12345678901234567890123456789012"));  // 32 digits
    EXPECT_TRUE(survives("4111 1111 1111 1111 5555 5555 5555 4444"));  // one chain of 32 digits
    EXPECT_TRUE(survives("sha1 3f786850e387550fdab836ed7e6dc881de23001b"));
    EXPECT_TRUE(survives("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
    EXPECT_TRUE(survives("4111111111111111abcdef0123456789"));  // a hex string starting with digits
    EXPECT_TRUE(survives("a4111111111111111"));
    EXPECT_TRUE(survives("trace 550e8400-e29b-41d4-a716-446655440000"));
    EXPECT_TRUE(survives("12345678-1234-4111-1111-111111111111"));  // an all-digit UUID
    EXPECT_TRUE(survives("2024-01-15T10:30:00Z and 2024-01-15 10:30:00.123456+00:00"));
    EXPECT_TRUE(survives("\"created\": 1700000000, \"ts_ms\": 1700000000005, \"ts_ns\": 1700000000123456789"));
    EXPECT_TRUE(survives("order #12345"));
    EXPECT_TRUE(survives("call 555-123-4567 or +1 (555) 123-4567"));
    EXPECT_TRUE(survives("phone +4915112345678"));
    EXPECT_TRUE(survives("v1.2.3, 10.0.19045.3803, 14.10.2023, 2.4.1-rc.1"));
    EXPECT_TRUE(survives("score 0.4111111111111111 and 4111111111111111.5"));
    EXPECT_TRUE(survives("ref-4111111111111111"));
    EXPECT_TRUE(survives("years 2019 2020 2021 2022 and 2021 2022 2023 2024"));
    EXPECT_TRUE(survives("1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20"));
    EXPECT_TRUE(survives("0000 0000 0000 0000"));           // Luhn-valid, no card network
    EXPECT_TRUE(survives("1234 5678 9012 3456 7890 1234"));  // too long as a whole
}

TEST(Redact, EmailLookAlikesSurvive) {
    EXPECT_TRUE(survives("user@localhost"));  // no dot in the domain: kept on purpose
    EXPECT_TRUE(survives("ping me @alice or @bob.smith"));
    EXPECT_TRUE(survives("decorators: @property @staticmethod"));
    EXPECT_TRUE(survives("a@b.c"));            // one-letter TLD
    EXPECT_TRUE(survives("host@10.0.0.1"));    // no letter TLD
    EXPECT_TRUE(survives("x @ y.com"));
    EXPECT_TRUE(survives("git@github"));
    EXPECT_TRUE(survives("price: 3 @ $5.00"));
}

// --- masked -----------------------------------------------------------------

TEST(Redact, EmailsInChat) {
    EXPECT_EQ(R("Hi, I'm Jane (jane.doe+llm@example.co.uk). Please reply to support@acme-corp.io."),
              "Hi, I'm Jane ([REDACTED:email]). Please reply to [REDACTED:email].");
    EXPECT_EQ(R("{\"role\":\"user\",\"content\":\"my email is John_Smith92@mail.example.com, thanks\"}"),
              "{\"role\":\"user\",\"content\":\"my email is [REDACTED:email], thanks\"}");
    EXPECT_EQ(R("mailto:a.b%c-d@e-f.gh"), "mailto:[REDACTED:email]");
    EXPECT_EQ(R("<bob@example.org>"), "<[REDACTED:email]>");
    EXPECT_EQ(R("...alice@example.com"), "...[REDACTED:email]");  // leading dots are not the address
    EXPECT_EQ(R("x@example.com.123"), "[REDACTED:email].123");
    EXPECT_EQ(R("https://user:pass@example.com/path"), "https://user:[REDACTED:email]/path");
}

TEST(Redact, ApiKeysInJsonishText) {
    EXPECT_EQ(R("{\"api_key\": \"" + kOpenAi + "\", \"model\": \"gpt-4o\"}"),
              "{\"api_key\": \"[REDACTED:api_key]\", \"model\": \"gpt-4o\"}");
    EXPECT_EQ(R("OPENAI_API_KEY=" + kOpenAiLegacy + "\n"), "OPENAI_API_KEY=[REDACTED:api_key]\n");
    EXPECT_EQ(R("key: " + kSvcAcct), "key: [REDACTED:api_key]");
    EXPECT_EQ(R("x-api-key: " + kAnthropic + " (anthropic)"), "x-api-key: [REDACTED:api_key] (anthropic)");
    EXPECT_EQ(R("aws_access_key_id = " + kAws + "\naws_secret_access_key = ..."),
              "aws_access_key_id = [REDACTED:api_key]\naws_secret_access_key = ...");
    EXPECT_EQ(R("git clone https://" + kGhp + "@github.com/o/r.git"),
              "git clone https://[REDACTED:api_key]@github.com/o/r.git");
    EXPECT_EQ(R("token " + kGithubPat + "."), "token [REDACTED:api_key].");
    for (const char* p : {"gho_", "ghu_", "ghs_", "ghr_"}) {
        const std::string t = std::string(p) + "abcdefghijklmnopqrstuvwxyz0123456789";
        EXPECT_EQ(R("(" + t + ")"), "([REDACTED:api_key])") << t;
    }
}

TEST(Redact, BearerTokens) {
    EXPECT_EQ(R("Authorization: Bearer abc123def456ghi789\r\n"), "Authorization: Bearer [REDACTED:bearer]\r\n");
    EXPECT_EQ(R("authorization: bearer 0123456789abcdef"), "authorization: bearer [REDACTED:bearer]");
    EXPECT_EQ(R("BEARER   xY7/zz+9q==.~-_"), "BEARER   [REDACTED:bearer]");  // the spaces are kept
    EXPECT_EQ(R("{\"headers\":{\"Authorization\":\"Bearer AbCdEfGhIjKlMnOpQr\"}}"),
              "{\"headers\":{\"Authorization\":\"Bearer [REDACTED:bearer]\"}}");  // long, mixed case
    EXPECT_EQ(R("curl -H 'Authorization: Bearer 8f14e45fceea167a5a36dedd4bea2543' https://api.example.com"),
              "curl -H 'Authorization: Bearer [REDACTED:bearer]' https://api.example.com");
}

TEST(Redact, BearerTakesPrecedenceOverTheJwtAndKeyItCarries) {
    // The bearer rule starts at the word, left of the JWT: the whole token is
    // masked as a bearer token.
    EXPECT_EQ(R("Authorization: Bearer " + kJwt), "Authorization: Bearer [REDACTED:bearer]");
    EXPECT_EQ(R("Authorization: Bearer " + kOpenAi + "\n"), "Authorization: Bearer [REDACTED:bearer]\n");
}

TEST(Redact, Jwts) {
    EXPECT_EQ(R(kJwt), "[REDACTED:jwt]");
    EXPECT_EQ(R("{\"id_token\":\"" + kJwt + "\"}"), "{\"id_token\":\"[REDACTED:jwt]\"}");
    EXPECT_EQ(R("token=" + kJwt + "&x=1"), "token=[REDACTED:jwt]&x=1");
    EXPECT_EQ(R("see " + kJwt + ". Then"), "see [REDACTED:jwt]. Then");
    EXPECT_TRUE(survives("eyJhbGciOiJIUzI1NiJ9.eyJ"));   // two segments
    EXPECT_TRUE(survives("eyJhbGci.abc.defghi"));         // a short segment
    EXPECT_TRUE(survives("keyJhbGciOiJIUzI1NiJ9.eyJzdWIi.SflKxwRJ"));  // inside a word
}

TEST(Redact, CardNumbers) {
    EXPECT_EQ(R("Visa 4111 1111 1111 1111, exp 12/27"), "Visa [REDACTED:card], exp 12/27");
    EXPECT_EQ(R("MC: 5555-5555-5555-4444."), "MC: [REDACTED:card].");
    EXPECT_EQ(R("amex 378282246310005"), "amex [REDACTED:card]");
    EXPECT_EQ(R("amex 3782 822463 10005"), "amex [REDACTED:card]");
    EXPECT_EQ(R("discover=6011111111111117;"), "discover=[REDACTED:card];");
    EXPECT_EQ(R("mc2 2223003122003222"), "mc2 [REDACTED:card]");
    EXPECT_EQ(R("old visa 4222222222222"), "old visa [REDACTED:card]");  // 13 digits
    EXPECT_EQ(R("{\"card\":\"4111111111111111\",\"cvv\":\"123\"}"), "{\"card\":\"[REDACTED:card]\",\"cvv\":\"123\"}");
    EXPECT_EQ(R("I need 2 4111 1111 1111 1111 please"), "I need 2 [REDACTED:card] please");
    EXPECT_EQ(R("ref 1234 4111111111111111"), "ref 1234 [REDACTED:card]");
    EXPECT_EQ(R("(4111-1111-1111-1111)"), "([REDACTED:card])");
}

// --- edges ------------------------------------------------------------------

TEST(Redact, MatchesAtTheEndsAndWholeString) {
    EXPECT_EQ(R("a@b.co"), "[REDACTED:email]");
    EXPECT_EQ(R(kOpenAi), "[REDACTED:api_key]");
    EXPECT_EQ(R(kAws), "[REDACTED:api_key]");
    EXPECT_EQ(R(kGhp), "[REDACTED:api_key]");
    EXPECT_EQ(R("4111111111111111"), "[REDACTED:card]");
    EXPECT_EQ(R("bearer 12345678"), "bearer [REDACTED:bearer]");
    EXPECT_EQ(R("jane@example.com wrote"), "[REDACTED:email] wrote");
    EXPECT_EQ(R("write to jane@example.com"), "write to [REDACTED:email]");
    EXPECT_EQ(R("key " + kAws), "key [REDACTED:api_key]");
    EXPECT_EQ(R(kAws + " key"), "[REDACTED:api_key] key");
}

TEST(Redact, AdjacentMatches) {
    EXPECT_EQ(R("a@b.co,c@d.org;" + kAws + " " + kOpenAi + "|4111111111111111 5555555555554444"),
              "[REDACTED:email],[REDACTED:email];[REDACTED:api_key] [REDACTED:api_key]|"
              "[REDACTED:card] [REDACTED:card]");
    EXPECT_EQ(R(kJwt + " " + kJwt), "[REDACTED:jwt] [REDACTED:jwt]");
    EXPECT_EQ(R("bearer 12345678 bearer 87654321"), "bearer [REDACTED:bearer] bearer [REDACTED:bearer]");
    EXPECT_EQ(R(kGhp + "," + kGhp), "[REDACTED:api_key],[REDACTED:api_key]");
    EXPECT_EQ(R(kAws + kAws), kAws + kAws);  // 36 capitals and digits: no key id
}

TEST(Redact, InvalidUtf8AroundMatchesIsKeptByteForByte) {
    const std::string junk = "\xff\xfe\xc3";  // invalid bytes, a cut sequence
    EXPECT_EQ(R(junk + "jane@example.com" + junk), junk + "[REDACTED:email]" + junk);
    EXPECT_EQ(R(junk + kOpenAi + "\x80"), junk + "[REDACTED:api_key]\x80");
    EXPECT_EQ(R("\xe2\x82" "4111111111111111\xa0"), "\xe2\x82[REDACTED:card]\xa0");
    EXPECT_EQ(R("\xf0" "Bearer 12345678\xc0"), "\xf0" "Bearer [REDACTED:bearer]\xc0");
    EXPECT_TRUE(survives("\xff\xff\xfe\x80\xbf@\xc3\xa9\xff"));
    // Valid UTF-8 in, valid UTF-8 out.
    const std::string in = "Écrivez à jose@exemple.fr — clé " + kOpenAi + " 🔑, carte 4111 1111 1111 1111 ✓";
    const std::string out = R(in);
    EXPECT_EQ(out, "Écrivez à [REDACTED:email] — clé [REDACTED:api_key] 🔑, carte [REDACTED:card] ✓");
    EXPECT_TRUE(valid_utf8(out));
}

TEST(Redact, OutIsClearedFirstAndUntouchedWhenNothingMatches) {
    std::string out = "previous content that must go";
    EXPECT_TRUE(redact("mail a@b.co", out));
    EXPECT_EQ(out, "mail [REDACTED:email]");
    EXPECT_FALSE(redact("nothing here", out));
    EXPECT_EQ(out, "mail [REDACTED:email]");
}

TEST(Redact, InputMayViewTheOutputString) {
    std::string s = "contact jane@example.com, key " + kOpenAi + " and some more text to leave SSO behind";
    EXPECT_TRUE(redact(s, s));
    EXPECT_EQ(s, "contact [REDACTED:email], key [REDACTED:api_key] and some more text to leave SSO behind");
    std::string small = "a@b.co";
    EXPECT_TRUE(redact(small, small));
    EXPECT_EQ(small, "[REDACTED:email]");
    std::string part = "xx a@b.co yy";
    EXPECT_TRUE(redact(std::string_view(part).substr(3, 6), part));
    EXPECT_EQ(part, "[REDACTED:email]");
    std::string none = "nothing";
    EXPECT_FALSE(redact(none, none));
    EXPECT_EQ(none, "nothing");
}

// --- time -------------------------------------------------------------------

std::string repeat(std::string_view unit, size_t bytes) {
    std::string s;
    s.reserve(bytes + unit.size());
    while (s.size() < bytes) s += unit;
    return s;
}

TEST(Redact, AdversarialMegabytesTakeLinearTime) {
    constexpr size_t kMB = 1 << 20;
    const std::vector<std::string> units = {
        "a@",   "@",     "a.",   "1 ",    "1",     "sk-",  "sk-a",  "-",    "_",     "ghp_", "github_pat_",
        "AKIA", "eyJa.", "eyJ",  "J",     "K",     "b",    "bearer ", "Bearer x", "4111 ", "4111-", "1-",
        "1.",   ".1",    "a-",   "a@a.",  "x@y.z", "e",    "ey",    "%@",   "4111111111111111 "};
    for (const auto& u : units) {
        const std::string in = repeat(u, kMB);
        std::string out;
        const auto t0 = std::chrono::steady_clock::now();
        redact(in, out);
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        EXPECT_LT(s, 1.0) << "1 MB of \"" << u << "\" took " << s << " s";
    }
    // A long local part before each '@' of a failing address, and a long domain after.
    const std::string in = repeat(std::string(1000, 'a') + "@" + std::string(1000, 'b'), kMB);
    std::string out;
    const auto t0 = std::chrono::steady_clock::now();
    EXPECT_FALSE(redact(in, out));
    EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 1.0);
}

TEST(Redact, MegabytesOfMatches) {
    const std::string in = repeat("mail a@b.co, ", 1 << 20);
    std::string out;
    ASSERT_TRUE(redact(in, out));
    EXPECT_EQ(out, repeat("mail [REDACTED:email], ", out.size()));
    EXPECT_TRUE(redact(repeat("sk-sk-", 1 << 20), out));
    EXPECT_EQ(out, "[REDACTED:api_key]");  // one run of key characters after a sk- prefix
}

// --- random -----------------------------------------------------------------

// Random text over an alphabet rich in trigger bytes and pattern pieces: no
// crash or out-of-bounds read (the sanitizer build checks), false leaves out
// alone, valid UTF-8 stays valid, and text with no trigger byte is left alone.
TEST(Redact, RandomTextKeepsTheContract) {
    const std::vector<std::string> pieces = {
        "a", "Z", "0", "4", "9", " ", "-", "_", ".", "@", "+", "/", "=", "%", "e", "y", "J", "K", "A", "I",
        "b", "B", "sk-", "AKIA", "ghp_", "github_pat_", "eyJ", "bearer ", "Bearer ", "4111", "1111", "example",
        ".com", "é", "🔑", "\xff", "\xc3", "\x80", "\n", "\"", ":"};
    std::mt19937 rng(12345);
    for (int iter = 0; iter < 20000; ++iter) {
        std::string in;
        const int len = static_cast<int>(rng() % 64);
        for (int k = 0; k < len; ++k) in += pieces[rng() % pieces.size()];
        std::string out = "<untouched>";
        if (redact(in, out)) {
            EXPECT_NE(out.find("[REDACTED:"), std::string::npos) << in;
            if (valid_utf8(in)) {
                EXPECT_TRUE(valid_utf8(out)) << in;
            }
        } else {
            EXPECT_EQ(out, "<untouched>") << in;
        }
    }
    // Without any trigger byte nothing can match.
    for (int iter = 0; iter < 2000; ++iter) {
        std::string in;
        const int len = static_cast<int>(rng() % 200);
        for (int k = 0; k < len; ++k) {
            char c;
            do c = static_cast<char>(rng() % 256);
            while (c == '@' || c == '-' || c == '_' || c == 'J' || c == 'K' || c == 'b' || c == 'B' ||
                   (c >= '0' && c <= '9'));
            in += c;
        }
        EXPECT_TRUE(survives(in));
    }
}

}  // namespace
}  // namespace llmtrace::test
