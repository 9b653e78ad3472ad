// Price cache: a core::PriceTable in backend memory.
//
// The rule: a statement prices with the prices its snapshot sees. Every change
// to llmtrace.model_prices bumps the single row of llmtrace.prices_version in
// the same transaction (statement trigger model_prices_version). The cache
// remembers the version it was loaded at; when it may be stale it reads the
// version its caller's snapshot sees and reloads when they differ. It may be
// stale only after a relcache invalidation of llmtrace.model_prices (trigger
// model_prices_changed, in the changing transaction), until a snapshot taken
// after that transaction sees the version (VersionWatch): a stream of
// statements with no price change reads nothing.
#include "pg/price_cache.hpp"

#include "pg/guard.hpp"
#include "pg/pg_time.hpp"
#include "pg/spi_plan.hpp"

extern "C" {
#include "access/heapam.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/transam.h"
#include "utils/acl.h"
#include "utils/snapmgr.h"
}

#include <string>
#include <vector>

namespace llmtrace::pg {

namespace {

core::PriceTable prices;
bool prices_loaded = false;
VersionWatch watch;
int64 loaded_version = -1;       // prices_version the cache holds
Oid prices_relid = InvalidOid;
KeptPlan load_plan;

void on_relcache_inval(Datum, Oid relid) {
    if (relid == InvalidOid || relid == prices_relid) watch.invalidated();
}

constexpr int kCols = 13;
constexpr const char* kQuery =
    "SELECT coalesce(provider, ''), model, match, input_usd_per_mtok::text, "
    "output_usd_per_mtok::text, cached_input_usd_per_mtok::text, "
    "cache_write_usd_per_mtok::text, tier_threshold_tokens::text, tier_input_usd_per_mtok::text, "
    "tier_output_usd_per_mtok::text, tier_cached_input_usd_per_mtok::text, "
    "tier_cache_write_usd_per_mtok::text, valid_from FROM llmtrace.model_prices";

// A price cell; a value the engine cannot use (NaN, infinity, too large, too
// many decimals: rows written before the table's constraints refused them)
// marks the row unusable instead of failing every ingest.
std::optional<core::PriceUnits> price_or_null(const std::string& s, bool is_null, bool& usable) {
    if (is_null) return std::nullopt;
    auto p = core::parse_price(s);
    if (!p) {
        usable = false;
        return core::PriceUnits(0);
    }
    return p;
}

Oid schema_oid() { return get_namespace_oid("llmtrace", false); }


void load() {
    // Cells are collected in this frame (outside pg_guard) so that no C++ object
    // lives in a frame a PostgreSQL error could unwind.
    std::vector<std::string> cells;
    std::vector<char> nulls;
    std::vector<int64_t> valid_from;
    Oid relid = InvalidOid;
    pg_guard([&] {
        relid = get_relname_relid("model_prices", schema_oid());
        if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "llmtrace: SPI_connect failed");
        // read_only: the query runs with the caller's snapshot, the one the
        // version was read with.
        load_plan.get(kQuery, 0, nullptr);
        load_plan.execute(nullptr, nullptr, true, SPI_OK_SELECT);
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
    prices_loaded = false;
    for (size_t r = 0; r < valid_from.size(); ++r) {
        const std::string* c = &cells[r * (kCols - 1)];
        const char* n = &nulls[r * (kCols - 1)];
        core::PriceRow row;
        bool usable = true;
        row.provider = c[0].empty() ? std::string() : core::normalize_provider(c[0]);
        row.model = c[1];
        row.prefix = c[2] == "prefix";
        row.input = price_or_null(c[3], n[3], usable).value_or(0);
        row.output = price_or_null(c[4], n[4], usable);
        row.cached_input = price_or_null(c[5], n[5], usable);
        row.cache_write = price_or_null(c[6], n[6], usable);
        if (!n[7]) {
            row.tier_threshold = std::stoll(c[7]);
            row.tier_input = price_or_null(c[8], n[8], usable).value_or(0);
            row.tier_output = price_or_null(c[9], n[9], usable);
            row.tier_cached_input = price_or_null(c[10], n[10], usable);
            row.tier_cache_write = price_or_null(c[11], n[11], usable);
        }
        row.usable = usable;
        row.valid_from_us = valid_from[r];
        prices.add(std::move(row));
    }
    prices_relid = relid;
    prices_loaded = true;
}

}  // namespace

void VersionWatch::invalidated() {
    must_check_ = true;
    // Read without ProcArrayLock: a 64-bit load, and a value read a moment
    // late only makes the check more cautious.
    invalidated_at_ = ShmemVariableCache->xactCompletionCount;
}

bool VersionWatch::fresh(Snapshot snap) const {
    const uint64 c = snap->snapXactCompletionCount;
    return !must_check_ && c != 0 && c >= checked_at_;
}

void VersionWatch::checked(Snapshot snap) {
    const uint64 c = snap->snapXactCompletionCount;
    if (c == 0 || c < checked_at_) {
        // An unknown or an older snapshot: the next one is checked again.
        must_check_ = true;
        return;
    }
    checked_at_ = c;
    if (c >= invalidated_at_) must_check_ = false;
}

int64 read_version_table(const char* table, Snapshot snap) {
    int64 version = -1;
    pg_guard([&] {
        Oid relid = get_relname_relid(table, schema_oid());
        if (!OidIsValid(relid)) elog(ERROR, "llmtrace: table llmtrace.%s is missing", table);
        Relation rel = table_open(relid, AccessShareLock);
        TableScanDesc scan = table_beginscan(rel, snap, 0, nullptr);
        HeapTuple tup = heap_getnext(scan, ForwardScanDirection);
        if (tup) {
            bool isnull = false;
            Datum d = heap_getattr(tup, 1, RelationGetDescr(rel), &isnull);
            if (!isnull) version = DatumGetInt64(d);
        }
        table_endscan(scan);
        table_close(rel, AccessShareLock);
    });
    return version;
}

void register_price_cache_callbacks() {
    CacheRegisterRelcacheCallback(on_relcache_inval, (Datum)0);
}

core::PriceTable& current_prices() {
    Snapshot snap = nullptr;
    pg_guard([&] {
        // Invalidations sent by transactions that committed before this
        // snapshot (our own included) are applied first.
        AcceptInvalidationMessages();
        snap = ActiveSnapshotSet() ? GetActiveSnapshot() : GetTransactionSnapshot();
    });
    if (prices_loaded && watch.fresh(snap)) return prices;
    const int64 version = read_version_table("prices_version", snap);
    if (!prices_loaded || version != loaded_version) {
        load();
        loaded_version = version;
    }
    watch.checked(snap);
    return prices;
}

void check_price_privilege() {
    pg_guard([] {
        Oid relid = get_relname_relid("model_prices", schema_oid());
        AclResult r = pg_class_aclcheck(relid, GetUserId(), ACL_SELECT);
        if (r != ACLCHECK_OK) aclcheck_error(r, OBJECT_TABLE, "model_prices");
    });
}

}  // namespace llmtrace::pg
