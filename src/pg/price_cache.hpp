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

// The single bigint of a version table of schema llmtrace (prices_version,
// alert_rules_version) as `snap` sees it; -1 when it has no row. Runs no SQL.
int64 read_version_table(const char* table, Snapshot snap);

}  // namespace llmtrace::pg
