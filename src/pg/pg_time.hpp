// timestamptz <-> Unix microseconds, the core's time unit.
#pragma once

#include "pg/pg.hpp"

#include <cstdint>
#include <limits>

namespace llmtrace::pg {

constexpr int64_t kUnixToPostgresUs = (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY;

// -infinity and infinity map to the smallest and largest instant.
inline int64_t unix_us(TimestampTz ts) {
    if (TIMESTAMP_IS_NOBEGIN(ts)) return std::numeric_limits<int64_t>::min();
    if (TIMESTAMP_IS_NOEND(ts)) return std::numeric_limits<int64_t>::max();
    return ts + kUnixToPostgresUs;
}

inline TimestampTz to_timestamptz(int64_t unix_us) { return unix_us - kUnixToPostgresUs; }

}  // namespace llmtrace::pg
