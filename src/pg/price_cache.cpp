// Price cache: a core::PriceTable in backend memory, invalidated by relcache
// invalidations of llmtrace.model_prices. The statement trigger on that table
// (llmtrace.prices_changed) sends the invalidation to every backend at commit.
#include "pg/price_cache.hpp"

#include "pg/guard.hpp"
#include "pg/pg_time.hpp"

#include <string>
#include <vector>

namespace llmtrace::pg {

namespace {

core::PriceTable prices;
bool prices_valid = false;
Oid prices_relid = InvalidOid;

void on_relcache_inval(Datum, Oid relid) {
    if (relid == InvalidOid || relid == prices_relid) prices_valid = false;
}

constexpr int kCols = 13;
constexpr const char* kQuery =
    "SELECT coalesce(provider, ''), model, match, input_usd_per_mtok::text, "
    "output_usd_per_mtok::text, cached_input_usd_per_mtok::text, "
    "cache_write_usd_per_mtok::text, tier_threshold_tokens::text, tier_input_usd_per_mtok::text, "
    "tier_output_usd_per_mtok::text, tier_cached_input_usd_per_mtok::text, "
    "tier_cache_write_usd_per_mtok::text, valid_from FROM llmtrace.model_prices";

std::optional<core::PriceUnits> price_or_null(const std::string& s, bool is_null) {
    if (is_null) return std::nullopt;
    auto p = core::parse_price(s);
    if (!p) throw std::runtime_error("llmtrace.model_prices holds a price that is not a plain decimal: " + s);
    return p;
}

void load() {
    // Cells are collected in this frame (outside pg_guard) so that no C++ object
    // lives in a frame a PostgreSQL error could unwind.
    std::vector<std::string> cells;
    std::vector<char> nulls;
    std::vector<int64_t> valid_from;
    Oid relid = InvalidOid;
    pg_guard([&] {
        relid = get_relname_relid("model_prices", get_namespace_oid("llmtrace", false));
        if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "llmtrace: SPI_connect failed");
        if (SPI_execute(kQuery, true, 0) != SPI_OK_SELECT) elog(ERROR, "llmtrace: cannot read llmtrace.model_prices");
        cells.reserve(SPI_processed * (kCols - 1));
        for (uint64 r = 0; r < SPI_processed; ++r) {
            HeapTuple tup = SPI_tuptable->vals[r];
            TupleDesc desc = SPI_tuptable->tupdesc;
            for (int c = 1; c < kCols; ++c) {
                char* v = SPI_getvalue(tup, desc, c);
                cells.emplace_back(v ? v : "");
                nulls.push_back(v == nullptr);
            }
            bool isnull;
            Datum ts = SPI_getbinval(tup, desc, kCols, &isnull);
            valid_from.push_back(unix_us(DatumGetTimestampTz(ts)));
        }
        SPI_finish();
    });
    prices.clear();
    for (size_t r = 0; r < valid_from.size(); ++r) {
        const std::string* c = &cells[r * (kCols - 1)];
        const char* n = &nulls[r * (kCols - 1)];
        core::PriceRow row;
        row.provider = c[0].empty() ? std::string() : core::normalize_provider(c[0]);
        row.model = c[1];
        row.prefix = c[2] == "prefix";
        row.input = *price_or_null(c[3], n[3]);
        row.output = price_or_null(c[4], n[4]);
        row.cached_input = price_or_null(c[5], n[5]);
        row.cache_write = price_or_null(c[6], n[6]);
        if (!n[7]) {
            row.tier_threshold = std::stoll(c[7]);
            row.tier_input = *price_or_null(c[8], n[8]);
            row.tier_output = price_or_null(c[9], n[9]);
            row.tier_cached_input = price_or_null(c[10], n[10]);
            row.tier_cache_write = price_or_null(c[11], n[11]);
        }
        row.valid_from_us = valid_from[r];
        prices.add(std::move(row));
    }
    prices_relid = relid;
    prices_valid = true;
}

}  // namespace

void register_price_cache_callbacks() {
    CacheRegisterRelcacheCallback(on_relcache_inval, (Datum)0);
}

core::PriceTable& current_prices() {
    if (!prices_valid) load();
    return prices;
}

}  // namespace llmtrace::pg
