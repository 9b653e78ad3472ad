// Masking of secrets and personal data in text (prompts, completions, tool
// arguments) before it is stored. Pure C++: no PostgreSQL header, no regex.
//
// One pass, left to right, linear in the length of the input. The scanner
// stops only at a few trigger bytes ('@', '-', '_', 'J', 'K', the digits, and
// "bea" in any case; 32 bytes at a time where SSE2 is there), so ordinary
// prose, which has none of the patterns, is scanned at several GB/s.
//
// What is masked; each match is replaced by a fixed marker, every other byte is
// kept as it is. Only ASCII bytes are ever replaced, so the output is valid
// UTF-8 whenever the input is; the input may be any bytes.
//
//   Email   [REDACTED:email]    local@domain.tld: a local part of
//           [A-Za-z0-9._%+-] (leading dots dropped), then labels of
//           [A-Za-z0-9-] joined by single dots, at least two labels, the last
//           one kept being a TLD of two or more letters (trailing labels that
//           are not, as in "a@b.com.123", are left out of the match).
//           "user@localhost" (no dot) is not masked.
//   ApiKey  [REDACTED:api_key]  OpenAI and Anthropic keys "sk-" followed by
//           20 or more [A-Za-z0-9_-] (so sk-proj-, sk-svcacct-, sk-ant-...),
//           the whole run masked; AWS access key ids "AKIA" + exactly 16
//           [A-Z0-9] not followed by a letter or digit; GitHub tokens "ghp_",
//           "gho_", "ghu_", "ghs_", "ghr_" + 36 or more [A-Za-z0-9], and
//           "github_pat_" + 22 or more [A-Za-z0-9_].
//           The prefix must start a word: the byte before it is not
//           [A-Za-z0-9_-], so "risk-...", "task-...", "ask-me-..." survive.
//   Bearer  [REDACTED:bearer]   the word "bearer" in any case (not preceded by
//           [A-Za-z0-9_]), one or more spaces, then a token: the maximal run of
//           [A-Za-z0-9._~+/=-], at least 8 bytes long, and containing a digit,
//           or at least 16 bytes long with both upper and lower case letters
//           (so prose such as "bearer instruments" or "Bearer Authentication"
//           survives). The word and the spaces are kept: "Bearer [REDACTED:bearer]".
//   Jwt     [REDACTED:jwt]      three base64url segments ([A-Za-z0-9_-]) of at
//           least 4 bytes joined by dots, the first starting "eyJ", not preceded
//           by [A-Za-z0-9_.-].
//   Card    [REDACTED:card]     13 to 19 digits, either contiguous or grouped
//           with one kind of separator (single spaces or single dashes) as a
//           first group of 4 digits then groups of 3 to 6 digits (the last
//           group may have 1 to 6): 4-4-4-4, 4-6-5, 4-4-4-4-3, ...; passing the
//           Luhn check; starting like a card of a major network (first digit
//           3, 4, 5 or 6, or first four digits 2221 to 2720), which keeps epoch
//           timestamps in milliseconds or nanoseconds (starting with 1) out.
//           Not preceded by [A-Za-z0-9_+] nor by '-' or '.' that follows a
//           letter or digit (a decimal fraction, a part of a hyphenated id, a
//           "+" phone number); not followed by [A-Za-z0-9_] nor by '-' or '.'
//           followed by a letter or digit. A digit sequence that is too long as
//           a whole (more than 19 digits in one chain of groups) is not
//           searched for a card inside it.
//
// Precedence: the leftmost match wins, and after a match the scan continues
// after it. "Bearer eyJ..." therefore gives "Bearer [REDACTED:bearer]": the
// bearer rule starts at the word, before the JWT, and takes the whole token
// (a JWT is a valid bearer token: it has a digit or is long and mixed-case).
// A JWT anywhere else gives [REDACTED:jwt]. Likewise "Bearer sk-..." gives
// "Bearer [REDACTED:bearer]".
#pragma once

#include <string>
#include <string_view>

namespace llmtrace::core {

// The kinds of data masked, for documentation (see above for the markers).
enum class RedactKind {
    Email,   // [REDACTED:email]
    ApiKey,  // [REDACTED:api_key]
    Bearer,  // [REDACTED:bearer]
    Jwt,     // [REDACTED:jwt]
    Card,    // [REDACTED:card]
};

// Masks secrets and personal data in one string. Returns false (and leaves
// `out` untouched) when nothing in `in` needs masking, which is the common,
// fast case; otherwise writes the masked text into `out` (cleared first) and
// returns true. `in` may view `out` itself (redact(s, s) works).
bool redact(std::string_view in, std::string& out);

}  // namespace llmtrace::core
