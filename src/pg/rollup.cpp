// Summary deltas written at ingest (see rollup.hpp and src/sql/summaries.sql).
//
// Two kinds of group, each appended to its own table:
//   llmtrace.rollup_deltas  hour x project x environment x provider x model x
//                           feature x endpoint x user: the live rollups
//                           (folded by llmtrace.fold_rollups())
//   llmtrace.daily_deltas   UTC day x project x environment x provider x model,
//                           with the sets of users and sessions: the daily
//                           summary (folded by llmtrace.refresh_daily_cost_summary())
//   llmtrace.ingest_deltas  minute of the ingest (the transaction's start, as
//                           llmtrace.spans.ingested_at) x source format: what
//                           llmtrace.health reports of the traffic (compacted
//                           by llmtrace.fold_rollups())
#include "pg/rollup.hpp"

#include "core/id_set.hpp"
#include "core/sketch.hpp"
#include "pg/exact_sum.hpp"
#include "pg/guard.hpp"
#include "pg/span_columns.hpp"
#include "pg/spi_plan.hpp"

extern "C" {
#include "access/heapam.h"
#include "executor/tuptable.h"
#include "access/table.h"
#include "catalog/pg_am.h"
#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/date.h"
#include "utils/syscache.h"
}

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace llmtrace::pg::rollup {

namespace {

// The grouping columns of a live delta row; a daily delta row has the first four.
constexpr int kDims[] = {col::project, col::environment, col::provider, col::model,
                         col::feature, col::endpoint, col::user_id};
constexpr int kDimCount = sizeof kDims / sizeof kDims[0];
constexpr int kDailyDimCount = 4;
constexpr int kTokenCols[] = {col::input_tokens, col::output_tokens, col::cached_input_tokens,
                              col::cache_write_tokens, col::reasoning_tokens, col::total_tokens};
constexpr int kTokenCount = sizeof kTokenCols / sizeof kTokenCols[0];

// Bounds of what one statement accumulates before it appends its deltas early.
// The live groups (one per hour, group and user) are many in a large COPY:
// each early write repeats groups that would have merged, so they get the
// larger bound. The daily groups are few, but hold the ids of their users and
// sessions.
constexpr size_t kMaxLiveGroups = 16384;
constexpr size_t kMaxLiveBytes = 16 * 1024 * 1024;
constexpr size_t kMaxDailyGroups = 4096;
constexpr size_t kMaxDailyBytes = 4 * 1024 * 1024;

// A group's key: its bucket and its grouping values packed in one string
// (each value as a 4-byte length, kNullLength for NULL, then its bytes), so
// that a group costs one small object and at most one allocation for them.
constexpr uint32_t kNullLength = 0xFFFFFFFFu;

struct Key {
    int64 bucket = 0;  // TimestampTz of the hour's start (live) or the UTC day's start (daily)
    std::string packed;
    size_t hash = 0;  // of all the above, set by add() (each value is hashed once per span)

    bool operator==(const Key& o) const { return hash == o.hash && bucket == o.bucket && packed == o.packed; }

    // Appends one value (NULL when v.data() is null).
    void append(std::string_view v) {
        const uint32_t len = v.data() ? uint32_t(v.size()) : kNullLength;
        packed.append(reinterpret_cast<const char*>(&len), sizeof len);
        if (v.data()) packed.append(v.data(), v.size());
    }
    // The values, in order (a null data() for NULL).
    void unpack(std::string_view* out, int n) const {
        size_t at = 0;
        for (int i = 0; i < n; ++i) {
            uint32_t len;
            std::memcpy(&len, packed.data() + at, sizeof len);
            at += sizeof len;
            if (len == kNullLength) {
                out[i] = std::string_view();
            } else {
                out[i] = std::string_view(packed.data() + at, len);
                at += len;
            }
        }
    }
};

struct KeyHash {
    size_t operator()(const Key& k) const { return k.hash; }
};

// The keys (core::IdSet::key_of) of the users or sessions of a daily group,
// appended as spans come (an id equal to the previous one is skipped without
// hashing: the spans of a trace come together) and made unique now and then,
// and when written.
struct IdKeys {
    std::vector<core::IdKey> keys;
    size_t settled = 0;  // keys[0, settled) are sorted and unique
    std::string last;    // the id of the last key appended
};

struct Group {
    int64 spans = 0, errors = 0, costed = 0, unpriced = 0;
    __int128 tokens[kTokenCount] = {};
    ExactSum cost;  // its numeric fallback lives in acc_cxt
    core::Sketch latency;  // empty: no span had a duration (written as NULL)
    // daily groups only (a live group, of which a COPY makes thousands, holds
    // no room for them)
    std::unique_ptr<IdKeys[]> ids;  // [0] users, [1] sessions
};

// The groups of one kind and a estimate of the memory they hold. Each kind is
// written when it passes its own bound: the live groups (one per hour and user)
// fill far sooner than the daily ones, which are written as rarely as can be.
struct Groups {
    const size_t max_groups, max_bytes;
    std::unordered_map<Key, Group, KeyHash> map;
    size_t bytes = 0;
    bool over_bound() const { return map.size() >= max_groups || bytes >= max_bytes; }
};
Groups live_groups{kMaxLiveGroups, kMaxLiveBytes};
Groups daily_groups{kMaxDailyGroups, kMaxDailyBytes};
// One group per source format and minute: a handful per statement.
Groups ingest_groups{64, 1024 * 1024};
int groups_level = 0;  // transaction nesting level of the writes the groups belong to
MemoryContext acc_cxt = nullptr;    // the running cost sums
MemoryContext spare_cxt = nullptr;  // where they are copied when acc_cxt fills with old sums

int64 floor_to(TimestampTz t, int64 unit) {
    int64 r = t % unit;
    return r < 0 ? t - r - unit : t - r;
}

// Every sum is a new numeric: when the old ones take more than 1 MB, the
// current sums move to the other context and this one is emptied.
void compact_costs() {
    if (MemoryContextMemAllocated(acc_cxt, false) < 1024 * 1024) return;
    pg_guard([] {
        MemoryContextReset(spare_cxt);
        MemoryContext old = MemoryContextSwitchTo(spare_cxt);
        for (Groups* gs : {&live_groups, &daily_groups, &ingest_groups})
            for (auto& entry : gs->map)
                entry.second.cost.copy_numeric();
        MemoryContextSwitchTo(old);
        MemoryContextReset(acc_cxt);
    });
    std::swap(acc_cxt, spare_cxt);
}

void ensure_contexts() {
    if (acc_cxt) return;
    pg_guard([] {
        acc_cxt = AllocSetContextCreate(TopMemoryContext, "llmtrace rollup sums", ALLOCSET_SMALL_SIZES);
        spare_cxt = AllocSetContextCreate(TopMemoryContext, "llmtrace rollup sums", ALLOCSET_SMALL_SIZES);
    });
}

Oid sketch_type() {
    Oid ns = get_namespace_oid("llmtrace", false);
    Oid t = GetSysCacheOid2(TYPENAMENSP, Anum_pg_type_oid, CStringGetDatum("latency_sketch"), ObjectIdGetDatum(ns));
    if (!OidIsValid(t)) elog(ERROR, "llmtrace: type llmtrace.latency_sketch does not exist");
    return t;
}

// The layout of a delta table: its name, how many grouping columns follow the
// bucket, and whether the id sets close the row.
struct Table {
    const char* name;
    int dims;
    bool id_sets;
    KeptPlan plan;
    Oid plan_sketch = InvalidOid;

    int columns() const { return 1 + dims + 4 + kTokenCount + 1 + 1 + (id_sets ? 2 : 0); }
    // The type of column i (and of parameter i + 1 of the INSERT).
    Oid type(int i, Oid sketch) const {
        if (i == 0) return id_sets ? DATEOID : TIMESTAMPTZOID;
        i -= 1;
        if (i < dims) return TEXTOID;
        i -= dims;
        if (i < 4) return INT8OID;
        i -= 4;
        if (i < kTokenCount + 1) return NUMERICOID;
        i -= kTokenCount + 1;
        return i == 0 ? sketch : BYTEAOID;
    }
    std::string insert_sql() const {
        std::string q = std::string("INSERT INTO llmtrace.") + name + " VALUES (";
        for (int i = 0; i < columns(); ++i) q += (i ? ", $" : "$") + std::to_string(i + 1);
        return q + ")";
    }
};

Table live_table{"rollup_deltas", kDimCount, false};
Table daily_table{"daily_deltas", kDailyDimCount, true};
Table ingest_table{"ingest_deltas", 1, false};
constexpr int kMaxColumns = 1 + kDimCount + 4 + kTokenCount + 1 + 1 + 2;

// The table as this code writes it: a heap table with exactly these columns,
// no index, trigger, rule or check. Then rows go in with heap inserts, without
// an executor run each; otherwise (someone added an index or a trigger)
// through SPI, so that those see every row.
bool direct_insert_ok(Relation rel, const Table& t, Oid sketch) {
    TupleDesc d = RelationGetDescr(rel);
    if (rel->rd_rel->relkind != RELKIND_RELATION || rel->rd_rel->relam != HEAP_TABLE_AM_OID ||
        rel->trigdesc != nullptr || rel->rd_rules != nullptr || rel->rd_rel->relhasindex ||
        RelationGetIndexList(rel) != NIL || d->natts != t.columns() ||
        (d->constr != nullptr && d->constr->num_check > 0))
        return false;
    for (int i = 0; i < t.columns(); ++i) {
        Form_pg_attribute a = TupleDescAttr(d, i);
        if (a->attisdropped || a->atttypid != t.type(i, sketch) || a->atthasdef || a->attgenerated) return false;
    }
    return true;
}

void add_to(Groups& gs, Group& g, const Datum* values, const char* nulls) {
    ++g.spans;
    if (text_datum(values[col::status]) == "error") ++g.errors;
    std::string_view cost_status = text_datum(values[col::cost_status]);
    if (cost_status == "unpriced" || cost_status == "invalid_price") ++g.unpriced;
    for (int i = 0; i < kTokenCount; ++i)
        if (nulls[kTokenCols[i]] != 'n') g.tokens[i] += DatumGetInt64(values[kTokenCols[i]]);
    if (nulls[col::duration_ms] != 'n') {
        if (g.latency.empty()) gs.bytes += 1024;
        g.latency.add(DatumGetFloat8(values[col::duration_ms]));
    }
}

// The group of `key` (added, and its memory counted, when new). The key is
// copied only when it is new: callers reuse one key object.
Group& group_for(Groups& gs, const Key& key) {
    // A statement with many groups gets the buckets for all of them at once
    // (no rehash on the way); a single-row INSERT never allocates them.
    if (gs.map.size() == 1024) gs.map.reserve(gs.max_groups);
    auto [it, inserted] = gs.map.try_emplace(key);
    if (inserted) {
        gs.bytes += sizeof(Key) + sizeof(Group) + key.packed.size();
    }
    return it->second;
}

// Up to this many rows go to the heap in one heap_multi_insert() (one WAL
// record and one buffer lock per page rather than per row).
constexpr int kMultiInsertRows = 256;

// Appends the groups of one table. Runs SPI itself.
void write_table(Table& t, Groups& gs) {
    if (gs.map.empty()) return;
    std::string sketch_bytes, users_bytes, sessions_bytes;
    Relation rel = nullptr;
    bool direct = false;
    pg_guard([&] {
        Oid sketch = sketch_type();
        Oid relid = get_relname_relid(t.name, get_namespace_oid("llmtrace", false));
        if (!OidIsValid(relid)) elog(ERROR, "llmtrace: table llmtrace.%s does not exist", t.name);
        rel = table_open(relid, RowExclusiveLock);
        direct = direct_insert_ok(rel, t, sketch);
        if (!direct) {
            table_close(rel, NoLock);
            rel = nullptr;
            if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "llmtrace: SPI_connect failed");
            if (t.plan_sketch != sketch) {
                t.plan.reset();
                t.plan_sketch = sketch;
            }
            Oid types[kMaxColumns];
            for (int i = 0; i < t.columns(); ++i) types[i] = t.type(i, sketch);
            std::string sql = t.insert_sql();
            t.plan.get(sql.c_str(), t.columns(), types);
        }
    });
    // Direct writes of more than one row go through heap_multi_insert() from
    // these slots; the tuples live in row_cxt until their batch is written.
    const int nslots = direct && gs.map.size() > 1 ? int(std::min<size_t>(gs.map.size(), kMultiInsertRows)) : 0;
    MemoryContext row_cxt = nullptr;
    TupleTableSlot** slots = nullptr;
    int filled = 0;
    pg_guard([&] {
        row_cxt = AllocSetContextCreate(CurrentMemoryContext, "llmtrace rollup row", ALLOCSET_DEFAULT_SIZES);
        if (nslots > 0) {
            slots = static_cast<TupleTableSlot**>(palloc(sizeof(TupleTableSlot*) * size_t(nslots)));
            for (int i = 0; i < nslots; ++i) slots[i] = MakeSingleTupleTableSlot(RelationGetDescr(rel), &TTSOpsHeapTuple);
        }
    });
    auto flush = [&] {
        if (filled == 0) return;
        heap_multi_insert(rel, slots, filled, GetCurrentCommandId(true), 0, nullptr);
        for (int i = 0; i < filled; ++i) ExecClearTuple(slots[i]);
        filled = 0;
        MemoryContextReset(row_cxt);
    };
    for (auto& entry : gs.map) {
        const Key& k = entry.first;
        Group& g = entry.second;
        sketch_bytes.clear();
        if (!g.latency.empty()) g.latency.serialize(sketch_bytes);
        users_bytes.clear();
        sessions_bytes.clear();
        if (t.id_sets) {
            for (int k = 0; k < 2; ++k) {
                core::IdSet set;
                if (g.ids) set.add_keys(std::move(g.ids[k].keys));
                set.serialize(k == 0 ? users_bytes : sessions_bytes);
            }
        }
        pg_guard([&] {
            MemoryContext old = MemoryContextSwitchTo(row_cxt);
            auto to_bytea = [](const std::string& s) {
                bytea* b = static_cast<bytea*>(palloc(VARHDRSZ + s.size()));
                SET_VARSIZE(b, VARHDRSZ + s.size());
                std::memcpy(VARDATA(b), s.data(), s.size());
                return PointerGetDatum(b);
            };
            Datum v[kMaxColumns];
            bool isnull[kMaxColumns];
            for (int c = 0; c < kMaxColumns; ++c) isnull[c] = false;
            int i = 0;
            if (t.id_sets)
                v[i++] = DateADTGetDatum(DateADT(k.bucket / USECS_PER_DAY));
            else
                v[i++] = TimestampTzGetDatum(k.bucket);
            std::string_view dims[kDimCount];
            k.unpack(dims, t.dims);
            for (int d = 0; d < t.dims; ++d, ++i) {
                if (dims[d].data())
                    v[i] = PointerGetDatum(cstring_to_text_with_len(dims[d].data(), int(dims[d].size())));
                else
                    isnull[i] = true;
            }
            v[i++] = Int64GetDatum(g.spans);
            v[i++] = Int64GetDatum(g.errors);
            v[i++] = Int64GetDatum(g.costed);
            v[i++] = Int64GetDatum(g.unpriced);
            for (int c = 0; c < kTokenCount; ++c) v[i++] = numeric_of(g.tokens[c]);
            v[i++] = g.cost.datum();
            if (!g.latency.empty())
                v[i++] = to_bytea(sketch_bytes);
            else
                isnull[i++] = true;
            if (t.id_sets) {
                v[i++] = to_bytea(users_bytes);
                v[i++] = to_bytea(sessions_bytes);
            }
            if (nslots > 0) {
                ExecStoreHeapTuple(heap_form_tuple(RelationGetDescr(rel), v, isnull), slots[filled++], false);
                MemoryContextSwitchTo(old);
                if (filled == nslots) flush();
            } else if (direct) {
                simple_heap_insert(rel, heap_form_tuple(RelationGetDescr(rel), v, isnull));
                MemoryContextSwitchTo(old);
                MemoryContextReset(row_cxt);
            } else {
                char n[kMaxColumns];
                for (int c = 0; c < kMaxColumns; ++c) n[c] = isnull[c] ? 'n' : ' ';
                t.plan.execute(v, n, false, SPI_OK_INSERT);
                MemoryContextSwitchTo(old);
                MemoryContextReset(row_cxt);
            }
        });
    }
    pg_guard([&] {
        if (nslots > 0) {
            flush();
            for (int i = 0; i < nslots; ++i) ExecDropSingleTupleTableSlot(slots[i]);
            pfree(slots);
        }
        MemoryContextDelete(row_cxt);
        if (direct) {
            table_close(rel, NoLock);
            CommandCounterIncrement();
        } else {
            SPI_finish();
        }
    });
}

}  // namespace

void add(const Datum* values, const char* nulls) {
    ensure_contexts();
    if (!pending()) groups_level = GetCurrentTransactionNestLevel();
    const TimestampTz start = DatumGetTimestampTz(values[col::start_time]);
    // The keys are reused from span to span: assigning a dimension reuses the
    // string's memory, so finding an existing group allocates nothing.
    static Key live, daily;
    // PostgreSQL's epoch (2000-01-01) is a UTC midnight: days and hours are
    // whole multiples of the unit from it.
    live.bucket = floor_to(start, USECS_PER_HOUR);
    daily.bucket = floor_to(start, USECS_PER_DAY);
    live.packed.clear();
    daily.packed.clear();
    size_t h = 0;
    for (int i = 0; i < kDimCount; ++i) {
        if (i == kDailyDimCount) {
            daily.hash = h;
            daily.packed = live.packed;
        }
        if (nulls[kDims[i]] == 'n') {
            live.append(std::string_view());
            h = h * 1000003u ^ 0x9e3779b97f4a7c15ULL;
            continue;
        }
        std::string_view v = text_datum(values[kDims[i]]);
        if (v.data() == nullptr) v = std::string_view("", 0);  // an empty text is not NULL
        live.append(v);
        h = h * 1000003u ^ std::hash<std::string_view>()(v);
    }
    live.hash = h ^ std::hash<int64>()(live.bucket) * 0xff51afd7ed558ccdULL;
    daily.hash = daily.hash ^ std::hash<int64>()(daily.bucket) * 0xff51afd7ed558ccdULL;
    static Key ingest;
    ingest.bucket = floor_to(GetCurrentTransactionStartTimestamp(), USECS_PER_MINUTE);
    ingest.packed.clear();
    std::string_view format = text_datum(values[col::source_format]);
    ingest.append(format);
    ingest.hash = std::hash<std::string_view>()(format) ^ std::hash<int64>()(ingest.bucket) * 0xff51afd7ed558ccdULL;
    Group& hour = group_for(live_groups, live);
    Group& day = group_for(daily_groups, daily);
    Group& arrived = group_for(ingest_groups, ingest);
    add_to(live_groups, hour, values, nulls);
    add_to(daily_groups, day, values, nulls);
    add_to(ingest_groups, arrived, values, nulls);
    if (nulls[col::cost_usd] != 'n') {
        Datum v = values[col::cost_usd];
        hour.cost.add(v, acc_cxt);
        day.cost.add(v, acc_cxt);
        arrived.cost.add(v, acc_cxt);
        ++hour.costed;
        ++day.costed;
        ++arrived.costed;
        compact_costs();
    }
    for (int k = 0; k < 2; ++k) {
        const int c = k == 0 ? int(col::user_id) : int(col::session_id);
        if (nulls[c] == 'n') continue;
        if (!day.ids) day.ids = std::make_unique<IdKeys[]>(2);
        IdKeys* ids = &day.ids[k];
        std::string_view v = text_datum(values[c]);
        if (!ids->keys.empty() && v == ids->last) continue;
        ids->last.assign(v.data(), v.size());
        ids->keys.push_back(core::IdSet::key_of(v));
        daily_groups.bytes += sizeof(core::IdKey);
        // Twice as many keys as were unique at the last count: count again.
        if (ids->keys.size() >= 1024 && ids->keys.size() >= 2 * ids->settled) {
            const size_t before = ids->keys.size();
            std::sort(ids->keys.begin(), ids->keys.end());
            ids->keys.erase(std::unique(ids->keys.begin(), ids->keys.end()), ids->keys.end());
            ids->settled = ids->keys.size();
            daily_groups.bytes -= (before - ids->settled) * sizeof(core::IdKey);
        }
    }
}

bool over_bound() { return live_groups.over_bound() || daily_groups.over_bound() || ingest_groups.over_bound(); }

bool pending() { return !live_groups.map.empty() || !daily_groups.map.empty() || !ingest_groups.map.empty(); }

void discard() {
    for (Groups* gs : {&live_groups, &daily_groups, &ingest_groups}) {
        gs->map.clear();
        gs->bytes = 0;
    }
    if (acc_cxt) pg_guard([] { MemoryContextReset(acc_cxt); });
}

void discard_from_level(int level) {
    if (pending() && groups_level >= level) discard();
}

void write() {
    write_table(live_table, live_groups);
    write_table(daily_table, daily_groups);
    write_table(ingest_table, ingest_groups);
    discard();
}

void write_over_bound() {
    // The sums of the groups written stay in acc_cxt until compact_costs()
    // moves the others out: it may hold the other kind's.
    for (auto [t, gs] : {std::pair{&live_table, &live_groups}, std::pair{&daily_table, &daily_groups},
                         std::pair{&ingest_table, &ingest_groups}}) {
        if (!gs->over_bound()) continue;
        write_table(*t, *gs);
        gs->map.clear();
        gs->bytes = 0;
    }
    if (!pending() && acc_cxt) pg_guard([] { MemoryContextReset(acc_cxt); });
}

}  // namespace llmtrace::pg::rollup
