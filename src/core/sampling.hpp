// Trace sampling (llmtrace.sample_rate): the keep-or-drop decision of a trace,
// from its id alone, so every span of a trace gets the same decision in every
// session and on every delivery. Pure C++: no PostgreSQL header.
#pragma once

#include <cstdint>
#include <string_view>

namespace llmtrace::core {

// A 64-bit hash of the trace id bytes: FNV-1a, then the splitmix64 finalizer
// (FNV-1a alone leaves the high bits of short, similar ids poorly mixed).
inline uint64_t trace_hash(std::string_view trace_id) {
    uint64_t h = 1469598103934665603ULL;
    for (unsigned char c : trace_id) {
        h ^= c;
        h *= 1099511628211ULL;
    }
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebULL;
    h ^= h >> 31;
    return h;
}

// Whether a trace is kept at `rate` (0..1): its hash, as a fraction of 2^64,
// is below the rate. rate >= 1 keeps every trace, rate <= 0 none; a trace kept
// at some rate is kept at every higher rate.
inline bool sample_keep(std::string_view trace_id, double rate) {
    if (!(rate < 1.0)) return true;
    if (!(rate > 0.0)) return false;
    // 2^64 * rate, computed in long double range; rate < 1 keeps it below 2^64.
    const uint64_t bound = static_cast<uint64_t>(rate * 18446744073709551616.0);
    return trace_hash(trace_id) < bound;
}

}  // namespace llmtrace::core
