// The backend's price table: loaded from llmtrace.model_prices on first use and
// reloaded after any change to that table (relcache invalidation), never
// queried per span.
#pragma once

#include "core/cost.hpp"

namespace llmtrace::pg {

void register_price_cache_callbacks();
// The current price table; loads it if it was invalidated. Connects to SPI itself.
core::PriceTable& current_prices();

}  // namespace llmtrace::pg
