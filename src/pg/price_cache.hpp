// The backend's price table: loaded from llmtrace.model_prices on first use,
// reloaded when the snapshot of the caller sees another version of that
// table (see price_cache.cpp), never queried per span.
#pragma once

#include "core/cost.hpp"
#include "pg/pg.hpp"

extern "C" {
#include "utils/snapshot.h"
}

namespace llmtrace::pg {

void register_price_cache_callbacks();
// The prices the caller's snapshot sees; reloads them when they changed.
// Connects to SPI itself.
core::PriceTable& current_prices();
// Raises "permission denied for table model_prices" unless the current user
// may read the price table: llmtrace.cost() answers only such users, whether
// or not the backend's cache is warm.
void check_price_privilege();

// When a versioned cache (the prices, the alert rules) must read its version
// table again. Every change to the cached table bumps the version and sends a
// relcache invalidation of the table in the same transaction (its triggers);
// the invalidation reaches every backend once that transaction has completed
// (or at once, for the changing transaction itself). So a cache checked with
// a snapshot stays right for every later snapshot until an invalidation
// arrives, and after one, until it is checked with a snapshot taken after
// the invalidating transaction completed (a REPEATABLE READ transaction keeps
// the version its snapshot sees). A snapshot older than the last check (an
// imported one) is always checked. The common case, a stream of statements
// with no change to the table, reads nothing.
class VersionWatch {
public:
    // From the relcache callback: the table changed (or all caches were reset).
    void invalidated();
    // True when the cache is right for `snap` without reading the version.
    bool fresh(Snapshot snap) const;
    // After the version was read (and the cache reloaded if it differed) with `snap`.
    void checked(Snapshot snap);

private:
    bool must_check_ = true;
    uint64 invalidated_at_ = 0;  // shared xactCompletionCount when the last invalidation arrived
    uint64 checked_at_ = 0;      // xactCompletionCount of the snapshot of the last check
};

// The single bigint of a version table of schema llmtrace (prices_version,
// alert_rules_version) as `snap` sees it; -1 when it has no row. Runs no SQL.
int64 read_version_table(const char* table, Snapshot snap);

}  // namespace llmtrace::pg
