#include "core/redact.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace llmtrace::core {

namespace {

constexpr std::string_view kEmailMarker = "[REDACTED:email]";
constexpr std::string_view kApiKeyMarker = "[REDACTED:api_key]";
constexpr std::string_view kBearerMarker = "[REDACTED:bearer]";
constexpr std::string_view kJwtMarker = "[REDACTED:jwt]";
constexpr std::string_view kCardMarker = "[REDACTED:card]";

// Byte classes, one bit each.
enum : uint8_t {
    kDigit = 1,      // 0-9
    kUpper = 2,      // A-Z
    kLower = 4,      // a-z
    kUnder = 8,      // _
    kLocal = 16,     // e-mail local part: A-Za-z0-9 . _ % + -
    kLabel = 32,     // domain label: A-Za-z0-9 -
    kToken = 64,     // bearer token: A-Za-z0-9 . _ ~ + / = -
    kTrigger = 128,  // a byte the scanner stops at
};
constexpr uint8_t kAlnum = kDigit | kUpper | kLower;
constexpr uint8_t kWord = kAlnum | kUnder;  // [A-Za-z0-9_]

constexpr std::array<uint8_t, 256> make_table() {
    std::array<uint8_t, 256> t{};
    for (int c = 0; c < 256; ++c) {
        uint8_t v = 0;
        if (c >= '0' && c <= '9') v |= kDigit;
        if (c >= 'A' && c <= 'Z') v |= kUpper;
        if (c >= 'a' && c <= 'z') v |= kLower;
        if (c == '_') v |= kUnder;
        const bool alnum = (v & kAlnum) != 0;
        if (alnum || c == '.' || c == '_' || c == '%' || c == '+' || c == '-') v |= kLocal;
        if (alnum || c == '-') v |= kLabel;
        if (alnum || c == '.' || c == '_' || c == '~' || c == '+' || c == '/' || c == '=' || c == '-')
            v |= kToken;
        if ((v & kDigit) || c == '@' || c == '-' || c == '_' || c == 'J' || c == 'K' || c == 'b' || c == 'B')
            v |= kTrigger;
        t[static_cast<size_t>(c)] = v;
    }
    return t;
}

constexpr std::array<uint8_t, 256> kTable = make_table();

inline bool is(unsigned char c, uint8_t cls) { return (kTable[c] & cls) != 0; }
// [A-Za-z0-9_-]: the bytes that may not precede a key prefix, and base64url.
inline bool is_key(unsigned char c) { return is(c, kWord) || c == '-'; }

// The first trigger byte at or after i, or n. With SSE2, 'b' and 'B' count
// only where "bea" starts (in any case): 'b' is common in prose, "bea" is not.
size_t next_trigger(const unsigned char* p, size_t i, size_t n) {
#if defined(__SSE2__)
    const __m128i at = _mm_set1_epi8('@');
    const __m128i dash = _mm_set1_epi8('-');
    const __m128i under = _mm_set1_epi8('_');
    const __m128i upper_j = _mm_set1_epi8('J');
    const __m128i upper_k = _mm_set1_epi8('K');
    const __m128i case_bit = _mm_set1_epi8(0x20);
    const __m128i lower_b = _mm_set1_epi8('b');
    const __m128i lower_e = _mm_set1_epi8('e');
    const __m128i lower_a = _mm_set1_epi8('a');
    // x is a digit iff (x - '0') < 10 unsigned, i.e. (x - '0' - 128) < -118 signed.
    const __m128i digit_bias = _mm_set1_epi8(0x80 - '0');
    const __m128i digit_limit = _mm_set1_epi8(-128 + 10);
    // The triggers among the 16 bytes at q (which may read q[0, 18)).
    auto triggers = [&](const unsigned char* q) {
        const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(q));
        const __m128i x1 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(q + 1));
        const __m128i x2 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(q + 2));
        __m128i m = _mm_or_si128(_mm_cmpeq_epi8(x, at), _mm_cmpeq_epi8(x, dash));
        m = _mm_or_si128(m, _mm_cmpeq_epi8(x, under));
        m = _mm_or_si128(m, _mm_or_si128(_mm_cmpeq_epi8(x, upper_j), _mm_cmpeq_epi8(x, upper_k)));
        m = _mm_or_si128(m, _mm_cmplt_epi8(_mm_add_epi8(x, digit_bias), digit_limit));
        const __m128i bea = _mm_and_si128(
            _mm_cmpeq_epi8(_mm_or_si128(x, case_bit), lower_b),
            _mm_and_si128(_mm_cmpeq_epi8(_mm_or_si128(x1, case_bit), lower_e),
                          _mm_cmpeq_epi8(_mm_or_si128(x2, case_bit), lower_a)));
        m = _mm_or_si128(m, bea);
        return static_cast<unsigned>(_mm_movemask_epi8(m));
    };
    while (i + 34 <= n) {
        const unsigned mask = triggers(p + i) | (triggers(p + i + 16) << 16);
        if (mask) return i + static_cast<size_t>(__builtin_ctz(mask));
        i += 32;
    }
    if (i + 18 <= n) {
        const unsigned mask = triggers(p + i);
        if (mask) return i + static_cast<size_t>(__builtin_ctz(mask));
        i += 16;
    }
#endif
    while (i < n && !is(p[i], kTrigger)) ++i;
    return i;
}

// A match: [start, end) is replaced by marker. No match: marker is empty and
// the scan resumes at `resume` (> the trigger's position).
struct Hit {
    size_t start = 0;
    size_t end = 0;
    std::string_view marker;
    size_t resume = 0;
};

inline Hit miss(size_t resume) {
    Hit h;
    h.resume = resume;
    return h;
}

inline Hit hit(size_t start, size_t end, std::string_view marker) {
    Hit h;
    h.start = start;
    h.end = end;
    h.marker = marker;
    h.resume = end;
    return h;
}

// A key prefix may start at s: the byte before it is not [A-Za-z0-9_-].
inline bool key_boundary(const unsigned char* p, size_t s) { return s == 0 || !is_key(p[s - 1]); }

// '@' at i. The local part is scanned back no further than `floor` (what is
// already written out) and stops at any byte not in the local class, '@'
// included; the domain is scanned forward and stops at the next '@'. So the
// bytes between two '@' are scanned at most once back and once forward.
Hit email_at(const unsigned char* p, size_t n, size_t i, size_t floor) {
    size_t s = i;
    while (s > floor && is(p[s - 1], kLocal)) --s;
    while (s < i && p[s] == '.') ++s;
    if (s == i) return miss(i + 1);
    size_t pos = i + 1;
    size_t end = 0;
    size_t labels = 0;
    for (;;) {
        const size_t label = pos;
        bool letters = true;
        while (pos < n && is(p[pos], kLabel)) {
            letters = letters && is(p[pos], kUpper | kLower);
            ++pos;
        }
        if (pos == label) break;
        ++labels;
        if (labels >= 2 && letters && pos - label >= 2) end = pos;
        if (pos + 1 < n && p[pos] == '.' && is(p[pos + 1], kLabel)) {
            ++pos;
            continue;
        }
        break;
    }
    if (end == 0) return miss(i + 1);
    return hit(s, end, kEmailMarker);
}

// '-' at i: "sk-" + 20 or more [A-Za-z0-9_-]. A run of key bytes cannot hold
// another start (its bytes are not boundaries), so runs are scanned once.
Hit sk_at(const unsigned char* p, size_t n, size_t i, size_t floor) {
    if (i < 2 || i - 2 < floor || p[i - 2] != 's' || p[i - 1] != 'k' || !key_boundary(p, i - 2))
        return miss(i + 1);
    size_t e = i + 1;
    while (e < n && is_key(p[e])) ++e;
    if (e - (i + 1) < 20) return miss(i + 1);
    return hit(i - 2, e, kApiKeyMarker);
}

// 'K' at i: "AKIA" + exactly 16 [A-Z0-9].
Hit akia_at(const unsigned char* p, size_t n, size_t i, size_t floor) {
    if (i < 1 || i - 1 < floor || p[i - 1] != 'A' || n - i < 19 || p[i + 1] != 'I' || p[i + 2] != 'A' ||
        !key_boundary(p, i - 1))
        return miss(i + 1);
    const size_t end = i + 19;
    for (size_t k = i + 3; k < end; ++k)
        if (!is(p[k], kUpper | kDigit)) return miss(i + 1);
    if (end < n && is(p[end], kAlnum)) return miss(i + 1);
    return hit(i - 1, end, kApiKeyMarker);
}

// '_' at i: "gh[pousr]_" + 36 or more [A-Za-z0-9], or "github_pat_" + 22 or
// more [A-Za-z0-9_].
Hit github_at(const unsigned char* p, size_t n, size_t i, size_t floor) {
    if (i >= 3 && i - 3 >= floor && p[i - 3] == 'g' && p[i - 2] == 'h' && key_boundary(p, i - 3)) {
        const unsigned char c = p[i - 1];
        if (c == 'p' || c == 'o' || c == 'u' || c == 's' || c == 'r') {
            size_t e = i + 1;
            while (e < n && is(p[e], kAlnum)) ++e;
            if (e - (i + 1) >= 36) return hit(i - 3, e, kApiKeyMarker);
        }
        return miss(i + 1);
    }
    if (i >= 6 && i - 6 >= floor && n - i >= 5 && std::memcmp(p + i - 6, "github", 6) == 0 &&
        std::memcmp(p + i + 1, "pat_", 4) == 0 && key_boundary(p, i - 6)) {
        size_t e = i + 5;
        while (e < n && is(p[e], kWord)) ++e;
        if (e - (i + 5) >= 22) return hit(i - 6, e, kApiKeyMarker);
    }
    return miss(i + 1);
}

// 'J' at i: "eyJ" starting three dot-joined base64url segments of 4 or more.
// A start is not preceded by a base64url byte nor a dot, so a segment is
// scanned by at most the one candidate that starts at the head of its chain.
Hit jwt_at(const unsigned char* p, size_t n, size_t i, size_t floor) {
    if (i < 2 || i - 2 < floor || p[i - 2] != 'e' || p[i - 1] != 'y') return miss(i + 1);
    const size_t s = i - 2;
    if (s > 0 && (is_key(p[s - 1]) || p[s - 1] == '.')) return miss(i + 1);
    size_t pos = s;
    for (int seg = 0; seg < 3; ++seg) {
        if (seg > 0) {
            if (pos >= n || p[pos] != '.') return miss(i + 1);
            ++pos;
        }
        const size_t b = pos;
        while (pos < n && is_key(p[pos])) ++pos;
        if (pos - b < 4) return miss(i + 1);
    }
    return hit(s, pos, kJwtMarker);
}

// 'b' or 'B' at i: "bearer", spaces, a token.
Hit bearer_at(const unsigned char* p, size_t n, size_t i) {
    if (n - i < 8 || (i > 0 && is(p[i - 1], kWord))) return miss(i + 1);
    static const char kWordBearer[] = "bearer";
    for (size_t k = 0; k < 6; ++k)
        if ((p[i + k] | 0x20) != kWordBearer[k]) return miss(i + 1);
    size_t pos = i + 6;
    if (p[pos] != ' ') return miss(i + 1);
    while (pos < n && p[pos] == ' ') ++pos;
    const size_t t = pos;
    uint8_t seen = 0;
    while (pos < n && is(p[pos], kToken)) seen |= kTable[p[pos++]];
    const size_t len = pos - t;
    const bool digit = (seen & kDigit) != 0;
    const bool mixed = (seen & kUpper) && (seen & kLower);
    if (len < 8 || !(digit || (len >= 16 && mixed))) return miss(i + 1);
    return hit(t, pos, kBearerMarker);
}

bool luhn(const unsigned char* digits, size_t count) {
    unsigned sum = 0;
    bool twice = false;
    for (size_t k = count; k-- > 0;) {
        unsigned d = digits[k];
        if (twice) {
            d *= 2;
            if (d > 9) d -= 9;
        }
        sum += d;
        twice = !twice;
    }
    return sum % 10 == 0;
}

// A digit at i: a payment card number. On a miss the scan resumes after the
// whole chain of digit groups looked at, so a chain is scanned once (plus a
// look of at most 7 digits into the long group that may end it).
Hit card_at(const unsigned char* p, size_t n, size_t i) {
    size_t e1 = i;
    while (e1 < n && is(p[e1], kDigit)) ++e1;
    if (i > 0) {
        const unsigned char c = p[i - 1];
        if (is(c, kWord) || c == '+' || ((c == '-' || c == '.') && i >= 2 && is(p[i - 2], kAlnum)))
            return miss(e1);
    }
    const size_t len1 = e1 - i;
    if (len1 > 19) return miss(e1);
    size_t end = e1;
    size_t total = len1;
    bool groups_ok = true;
    if (len1 == 4 && e1 + 1 < n && (p[e1] == ' ' || p[e1] == '-') && is(p[e1 + 1], kDigit)) {
        const unsigned char sep = p[e1];
        size_t prev_len = 0;  // the length of the last group after the first, 0 if none yet
        while (end + 1 < n && p[end] == sep && is(p[end + 1], kDigit)) {
            size_t q = end + 1;
            while (q < n && q - (end + 1) <= 6 && is(p[q], kDigit)) ++q;
            const size_t len = q - (end + 1);
            if (len > 6) break;  // a long number after the chain: not part of it
            if (prev_len != 0 && prev_len < 3) groups_ok = false;  // only the last group may be short
            prev_len = len;
            total += len;
            end = q;
        }
    }
    if (end < n) {
        const unsigned char c = p[end];
        if (is(c, kWord) || ((c == '-' || c == '.') && end + 1 < n && is(p[end + 1], kAlnum))) return miss(end);
    }
    if (!groups_ok || total < 13 || total > 19) return miss(end);
    unsigned char digits[19] = {};
    size_t count = 0;
    for (size_t k = i; k < end && count < 19; ++k)
        if (is(p[k], kDigit)) digits[count++] = static_cast<unsigned char>(p[k] - '0');
    const unsigned first = digits[0];
    const unsigned first4 = digits[0] * 1000u + digits[1] * 100u + digits[2] * 10u + digits[3];
    const bool network = (first >= 3 && first <= 6) || (first4 >= 2221 && first4 <= 2720);
    if (!network || !luhn(digits, count)) return miss(end);
    return hit(i, end, kCardMarker);
}

bool redact_into(std::string_view in, std::string& out) {
    const auto* p = reinterpret_cast<const unsigned char*>(in.data());
    const size_t n = in.size();
    size_t emitted = 0;  // in[0, emitted) is already in out
    bool wrote = false;
    size_t i = 0;
    for (;;) {
        i = next_trigger(p, i, n);
        if (i >= n) break;
        Hit h;
        switch (p[i]) {
            case '@': h = email_at(p, n, i, emitted); break;
            case '-': h = sk_at(p, n, i, emitted); break;
            case '_': h = github_at(p, n, i, emitted); break;
            case 'K': h = akia_at(p, n, i, emitted); break;
            case 'J': h = jwt_at(p, n, i, emitted); break;
            case 'b':
            case 'B': h = bearer_at(p, n, i); break;
            default: h = card_at(p, n, i); break;
        }
        if (h.marker.empty()) {
            i = h.resume;
            continue;
        }
        if (!wrote) {
            out.clear();
            out.reserve(n + 64);
            wrote = true;
        }
        out.append(in.data() + emitted, h.start - emitted);
        out.append(h.marker);
        emitted = i = h.end;
    }
    if (!wrote) return false;
    out.append(in.data() + emitted, n - emitted);
    return true;
}

}  // namespace

bool redact(std::string_view in, std::string& out) {
    // `in` may view out's own buffer: then the masked text is built aside.
    const std::less<const char*> before;
    const char* buf = out.data();
    if (!in.empty() && !before(in.data(), buf) && before(in.data(), buf + out.capacity() + 1)) {
        std::string tmp;
        if (!redact_into(in, tmp)) return false;
        out = std::move(tmp);
        return true;
    }
    return redact_into(in, out);
}

}  // namespace llmtrace::core
