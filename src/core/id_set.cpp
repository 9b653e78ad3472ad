#include "core/id_set.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#endif

namespace llmtrace::core {

namespace {

const uint32_t kRoundConstants[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

#if defined(__x86_64__)
// One block with the SHA extensions of x86 (SHA-NI), where the CPU has them:
// the same function as Sha256::block, about ten times faster. The state is
// kept as ABEF and CDGH, as the instructions want it.
__attribute__((target("sha,sse4.1,ssse3"))) void block_shani(uint32_t h[8], const uint8_t* p) {
    const __m128i byteswap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
    __m128i tmp = _mm_shuffle_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(&h[0])), 0xB1);  // CDAB
    __m128i state1 = _mm_shuffle_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(&h[4])), 0x1B);  // EFGH
    __m128i state0 = _mm_alignr_epi8(tmp, state1, 8);  // ABEF
    state1 = _mm_blend_epi16(state1, tmp, 0xF0);       // CDGH
    const __m128i abef = state0, cdgh = state1;
    __m128i w[4];
    for (int j = 0; j < 16; ++j) {
        __m128i wj;
        if (j < 4) {
            wj = _mm_shuffle_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * j)), byteswap);
        } else {
            // W[t] = s1(W[t-2]) + W[t-7] + s0(W[t-15]) + W[t-16], four at a time.
            __m128i t = _mm_sha256msg1_epu32(w[(j - 4) & 3], w[(j - 3) & 3]);
            t = _mm_add_epi32(t, _mm_alignr_epi8(w[(j - 1) & 3], w[(j - 2) & 3], 4));
            wj = _mm_sha256msg2_epu32(t, w[(j - 1) & 3]);
        }
        w[j & 3] = wj;
        __m128i msg = _mm_add_epi32(wj, _mm_loadu_si128(reinterpret_cast<const __m128i*>(&kRoundConstants[4 * j])));
        state1 = _mm_sha256rnds2_epu32(state1, state0, msg);
        state0 = _mm_sha256rnds2_epu32(state0, state1, _mm_shuffle_epi32(msg, 0x0E));
    }
    state0 = _mm_add_epi32(state0, abef);
    state1 = _mm_add_epi32(state1, cdgh);
    tmp = _mm_shuffle_epi32(state0, 0x1B);       // FEBA
    state1 = _mm_shuffle_epi32(state1, 0xB1);    // DCHG
    state0 = _mm_blend_epi16(tmp, state1, 0xF0); // DCBA
    state1 = _mm_alignr_epi8(state1, tmp, 8);    // HGFE
    _mm_storeu_si128(reinterpret_cast<__m128i*>(&h[0]), state0);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(&h[4]), state1);
}

bool cpu_has_sha() {
    unsigned a = 0, b = 0, c = 0, d = 0;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return false;
    const bool ssse3 = c & (1u << 9), sse41 = c & (1u << 19);
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
    return ssse3 && sse41 && (b & (1u << 29));
}
const bool kHasSha = cpu_has_sha();
#endif

// SHA-256 (FIPS 180-4), small and self-contained: the core has no PostgreSQL
// header and no other dependency.
struct Sha256 {
    uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                     0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    static uint32_t rotr(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }
    // Whether block() uses the SHA extensions (tests compare both ways).
    bool accelerated = true;

    void block(const uint8_t* p) {
#if defined(__x86_64__)
        if (accelerated && kHasSha) {
            block_shani(h, p);
            return;
        }
#endif
        const uint32_t* k = kRoundConstants;
        uint32_t w[64];
        for (int i = 0; i < 16; ++i)
            w[i] = uint32_t(p[4 * i]) << 24 | uint32_t(p[4 * i + 1]) << 16 | uint32_t(p[4 * i + 2]) << 8 | p[4 * i + 3];
        for (int i = 16; i < 64; ++i) {
            uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
            uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16] + s0 + w[i - 7] + s1;
        }
        uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
        for (int i = 0; i < 64; ++i) {
            uint32_t t1 = hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + k[i] + w[i];
            uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
            hh = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
        }
        h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
    }
    void digest(std::string_view data, uint8_t out[32]) {
        size_t n = data.size(), i = 0;
        const uint8_t* p = reinterpret_cast<const uint8_t*>(data.data());
        for (; i + 64 <= n; i += 64) block(p + i);
        uint8_t tail[128] = {};
        size_t rest = n - i;
        std::memcpy(tail, p + i, rest);
        tail[rest] = 0x80;
        size_t len = rest + 9 <= 64 ? 64 : 128;
        uint64_t bits = uint64_t(n) * 8;
        for (int b = 0; b < 8; ++b) tail[len - 1 - b] = uint8_t(bits >> (8 * b));
        block(tail);
        if (len == 128) block(tail + 64);
        for (int j = 0; j < 8; ++j)
            for (int b = 0; b < 4; ++b) out[4 * j + b] = uint8_t(h[j] >> (24 - 8 * b));
    }
};

}  // namespace

IdKey IdSet::key_of(std::string_view id) {
    uint8_t d[32];
    Sha256().digest(id, d);
    IdKey k;
    std::memcpy(k.data(), d, k.size());
    return k;
}

IdKey IdSet::key_of_portable(std::string_view id) {
    uint8_t d[32];
    Sha256 sha;
    sha.accelerated = false;
    sha.digest(id, d);
    IdKey k;
    std::memcpy(k.data(), d, k.size());
    return k;
}

void IdSet::cap() {
    if (keys_.size() > kMaxKeys) {
        keys_.resize(kMaxKeys);
        estimated_ = true;
    }
}

void IdSet::add_keys(std::vector<IdKey> keys) {
    std::sort(keys.begin(), keys.end());
    keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
    IdSet other;
    other.keys_ = std::move(keys);
    merge(other);
}

void IdSet::merge(const IdSet& other) {
    if (other.keys_.empty() && !other.estimated_) return;
    std::vector<IdKey> out;
    out.reserve(std::min(keys_.size() + other.keys_.size(), kMaxKeys + 1));
    std::set_union(keys_.begin(), keys_.end(), other.keys_.begin(), other.keys_.end(), std::back_inserter(out));
    keys_ = std::move(out);
    // Estimated sets keep the kMaxKeys smallest keys of their ids, so the
    // union of two sets keeps the smallest of the union.
    estimated_ = estimated_ || other.estimated_;
    if (estimated_ && keys_.size() > kMaxKeys) keys_.resize(kMaxKeys);
    cap();
}

uint64_t IdSet::count() const {
    if (!estimated_ || keys_.empty()) return keys_.size();
    // K-minimum values: the largest kept key as a fraction of the key space.
    const IdKey& last = keys_.back();
    double frac = 0;
    for (int i = 7; i >= 0; --i) frac = (frac + last[size_t(i)]) / 256.0;
    if (frac <= 0) return keys_.size();
    double estimate = double(keys_.size() - 1) / frac;
    return estimate < double(keys_.size()) ? keys_.size() : uint64_t(std::llround(estimate));
}

void IdSet::serialize(std::string& out) const {
    out.reserve(out.size() + 1 + keys_.size() * 16);
    out.push_back(char(estimated_ ? 1 : 0));
    for (const IdKey& k : keys_) out.append(reinterpret_cast<const char*>(k.data()), k.size());
}

std::optional<IdSet> IdSet::parse(std::string_view bytes, std::string* error) {
    auto bad = [&](const char* why) -> std::optional<IdSet> {
        if (error) *error = why;
        return std::nullopt;
    };
    if (bytes.empty()) return bad("empty");
    uint8_t flags = uint8_t(bytes[0]);
    if (flags > 1) return bad("unknown flags");
    if ((bytes.size() - 1) % 16 != 0) return bad("length is not 1 + 16 n");
    size_t n = (bytes.size() - 1) / 16;
    if (n > kMaxKeys) return bad("too many keys");
    IdSet s;
    s.estimated_ = flags == 1;
    s.keys_.resize(n);
    for (size_t i = 0; i < n; ++i) {
        std::memcpy(s.keys_[i].data(), bytes.data() + 1 + 16 * i, 16);
        if (i > 0 && !(s.keys_[i - 1] < s.keys_[i])) return bad("keys are not strictly increasing");
    }
    return s;
}

}  // namespace llmtrace::core
