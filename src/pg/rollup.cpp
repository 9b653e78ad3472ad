// Summary deltas written at ingest (see rollup.hpp and src/sql/summaries.sql).
#include "pg/rollup.hpp"

#include "core/sketch.hpp"
#include "pg/guard.hpp"
#include "pg/span_columns.hpp"
#include "pg/spi_plan.hpp"

extern "C" {
#include "access/heapam.h"
#include "access/table.h"
#include "catalog/pg_am.h"
#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/syscache.h"
}

#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace llmtrace::pg::rollup {

namespace {

// The grouping columns of a delta row, in the order of the INSERT below.
constexpr int kDims[] = {col::project, col::environment, col::provider, col::model,
                         col::feature, col::endpoint, col::user_id};
constexpr int kDimCount = sizeof kDims / sizeof kDims[0];
constexpr int kTokenCols[] = {col::input_tokens, col::output_tokens, col::cached_input_tokens,
                              col::cache_write_tokens, col::reasoning_tokens, col::total_tokens};
constexpr int kTokenCount = sizeof kTokenCols / sizeof kTokenCols[0];

// Bounds of what one statement accumulates before it appends its deltas early.
constexpr size_t kMaxGroups = 2048;
constexpr size_t kMaxBytes = 4 * 1024 * 1024;

struct Key {
    int64 hour = 0;  // TimestampTz of the hour's start
    std::string dims[kDimCount];
    uint8_t present = 0;  // bit i: dims[i] is not NULL

    bool operator==(const Key& o) const {
        if (hour != o.hour || present != o.present) return false;
        for (int i = 0; i < kDimCount; ++i)
            if (dims[i] != o.dims[i]) return false;
        return true;
    }
};

struct KeyHash {
    size_t operator()(const Key& k) const {
        size_t h = std::hash<int64>()(k.hour) ^ (size_t(k.present) << 56);
        for (const std::string& d : k.dims) h = h * 1000003u ^ std::hash<std::string>()(d);
        return h;
    }
};

struct Group {
    int64 spans = 0, errors = 0, costed = 0, unpriced = 0;
    __int128 tokens[kTokenCount] = {};
    Datum cost = (Datum)0;  // numeric in acc_cxt, valid when costed > 0
    std::unique_ptr<core::Sketch> latency;
    std::unordered_set<std::string> sessions;
};

std::unordered_map<Key, Group, KeyHash> groups;
size_t bytes = 0;
int groups_level = 0;  // transaction nesting level of the writes the groups belong to
MemoryContext acc_cxt = nullptr;   // the running cost sums
MemoryContext spare_cxt = nullptr;  // where they are copied when acc_cxt fills with old sums
KeptPlan insert_plan;
Oid plan_sketch_type = InvalidOid;

std::string_view text_of(Datum d) {
    text* t = reinterpret_cast<text*>(DatumGetPointer(d));
    return std::string_view(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
}

int64 hour_of(TimestampTz t) {
    constexpr int64 kHour = USECS_PER_HOUR;
    int64 r = t % kHour;
    return r < 0 ? t - r - kHour : t - r;
}

// Every sum is a new numeric: when the old ones take more than 1 MB, the
// current sums move to the other context and this one is emptied.
void compact_costs() {
    if (MemoryContextMemAllocated(acc_cxt, false) < 1024 * 1024) return;
    pg_guard([] {
        MemoryContextReset(spare_cxt);
        MemoryContext old = MemoryContextSwitchTo(spare_cxt);
        for (auto& entry : groups)
            if (entry.second.costed > 0) entry.second.cost = datumCopy(entry.second.cost, false, -1);
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

// A numeric Datum of an exact integer.
Datum numeric_of(__int128 v) {
    if (v >= INT64_MIN && v <= INT64_MAX) return NumericGetDatum(int64_to_numeric(int64(v)));
    char digits[48];
    char* p = digits + sizeof digits;
    *--p = '\0';
    bool negative = v < 0;
    unsigned __int128 u = negative ? (unsigned __int128)(-(v + 1)) + 1 : (unsigned __int128)v;
    do {
        *--p = char('0' + int(u % 10));
        u /= 10;
    } while (u != 0);
    if (negative) *--p = '-';
    return DirectFunctionCall3(numeric_in, CStringGetDatum(p), ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
}

Oid sketch_type() {
    Oid ns = get_namespace_oid("llmtrace", false);
    Oid t = GetSysCacheOid2(TYPENAMENSP, Anum_pg_type_oid, CStringGetDatum("latency_sketch"), ObjectIdGetDatum(ns));
    if (!OidIsValid(t)) elog(ERROR, "llmtrace: type llmtrace.latency_sketch does not exist");
    return t;
}

constexpr int kParams = 1 + kDimCount + 4 + kTokenCount + 1 + 2;

// The type of column i of rollup_deltas (and parameter i + 1 of its INSERT).
Oid param_type(int i, Oid sketch) {
    if (i == 0) return TIMESTAMPTZOID;
    i -= 1;
    if (i < kDimCount) return TEXTOID;
    i -= kDimCount;
    if (i < 4) return INT8OID;
    i -= 4;
    if (i < kTokenCount + 1) return NUMERICOID;
    return i == kTokenCount + 1 ? sketch : TEXTARRAYOID;
}

void prepare(Oid sketch) {
    if (plan_sketch_type != sketch) {
        insert_plan.reset();
        plan_sketch_type = sketch;
    }
    Oid types[kParams];
    for (int i = 0; i < kParams; ++i) types[i] = param_type(i, sketch);
    insert_plan.get(
        "INSERT INTO llmtrace.rollup_deltas (hour, project, environment, provider, model, feature, "
        "endpoint, user_id, spans, errors, costed_spans, unpriced_spans, input_tokens, output_tokens, "
        "cached_input_tokens, cache_write_tokens, reasoning_tokens, total_tokens, cost_usd, latency, "
        "session_ids) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, "
        "$17, $18, $19, $20, $21)",
        kParams, types);
}

}  // namespace

void add(const Datum* values, const char* nulls) {
    ensure_contexts();
    if (groups.empty()) groups_level = GetCurrentTransactionNestLevel();
    Key key;
    key.hour = hour_of(DatumGetTimestampTz(values[col::start_time]));
    for (int i = 0; i < kDimCount; ++i) {
        if (nulls[kDims[i]] == 'n') continue;
        key.present |= uint8_t(1u << i);
        key.dims[i] = std::string(text_of(values[kDims[i]]));
    }
    auto found = groups.find(key);
    if (found == groups.end()) {
        size_t key_bytes = sizeof(Key) + sizeof(Group);
        for (const std::string& d : key.dims) key_bytes += d.size();
        bytes += key_bytes;
        found = groups.emplace(std::move(key), Group()).first;
    }
    Group& g = found->second;
    ++g.spans;
    if (text_of(values[col::status]) == "error") ++g.errors;
    std::string_view cost_status = text_of(values[col::cost_status]);
    if (cost_status == "unpriced" || cost_status == "invalid_price") ++g.unpriced;
    for (int i = 0; i < kTokenCount; ++i)
        if (nulls[kTokenCols[i]] != 'n') g.tokens[i] += DatumGetInt64(values[kTokenCols[i]]);
    if (nulls[col::cost_usd] != 'n') {
        Datum v = values[col::cost_usd];
        pg_guard([&] {
            MemoryContext old = MemoryContextSwitchTo(acc_cxt);
            g.cost = g.costed > 0 ? DirectFunctionCall2(numeric_add, g.cost, v) : datumCopy(v, false, -1);
            MemoryContextSwitchTo(old);
        });
        ++g.costed;
        compact_costs();
    }
    if (nulls[col::duration_ms] != 'n') {
        if (!g.latency) {
            g.latency = std::make_unique<core::Sketch>();
            bytes += 1024;
        }
        g.latency->add(DatumGetFloat8(values[col::duration_ms]));
    }
    if (nulls[col::session_id] != 'n') {
        auto inserted = g.sessions.emplace(text_of(values[col::session_id]));
        if (inserted.second) bytes += inserted.first->size() + 48;
    }
}

bool over_bound() { return groups.size() >= kMaxGroups || bytes >= kMaxBytes; }

bool pending() { return !groups.empty(); }

void discard() {
    groups.clear();
    bytes = 0;
    if (acc_cxt) pg_guard([] { MemoryContextReset(acc_cxt); });
}

void discard_from_level(int level) {
    if (!groups.empty() && groups_level >= level) discard();
}

// The rollup_deltas table as this code writes it: a heap table with exactly
// the columns of the INSERT above, no index, trigger or rule. Then rows go in
// with heap inserts, without an executor run each; otherwise (someone added an
// index or a trigger) through SPI, so that those see every row.
bool direct_insert_ok(Relation rel, Oid sketch) {
    TupleDesc d = RelationGetDescr(rel);
    if (rel->rd_rel->relkind != RELKIND_RELATION || rel->rd_rel->relam != HEAP_TABLE_AM_OID ||
        rel->trigdesc != nullptr || rel->rd_rules != nullptr || rel->rd_rel->relhasindex ||
        RelationGetIndexList(rel) != NIL || d->natts != kParams || (d->constr != nullptr && d->constr->num_check > 0))
        return false;
    for (int i = 0; i < kParams; ++i) {
        Form_pg_attribute a = TupleDescAttr(d, i);
        if (a->attisdropped || a->atttypid != param_type(i, sketch) || a->atthasdef || a->attgenerated)
            return false;
    }
    return true;
}

void write() {
    if (groups.empty()) return;
    std::string sketch_bytes;
    std::vector<const std::string*> sessions;
    Relation rel = nullptr;
    bool direct = false;
    pg_guard([&] {
        Oid sketch = sketch_type();
        Oid relid = get_relname_relid("rollup_deltas", get_namespace_oid("llmtrace", false));
        if (!OidIsValid(relid)) elog(ERROR, "llmtrace: table llmtrace.rollup_deltas does not exist");
        rel = table_open(relid, RowExclusiveLock);
        direct = direct_insert_ok(rel, sketch);
        if (!direct) {
            table_close(rel, NoLock);
            rel = nullptr;
            if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "llmtrace: SPI_connect failed");
            prepare(sketch);
        }
    });
    MemoryContext row_cxt = nullptr;
    pg_guard([&] {
        row_cxt = AllocSetContextCreate(CurrentMemoryContext, "llmtrace rollup row", ALLOCSET_SMALL_SIZES);
    });
    for (const auto& entry : groups) {
        const Key& k = entry.first;
        const Group& g = entry.second;
        sketch_bytes.clear();
        if (g.latency) g.latency->serialize(sketch_bytes);
        sessions.clear();
        for (const std::string& s : g.sessions) sessions.push_back(&s);
        pg_guard([&] {
            MemoryContext old = MemoryContextSwitchTo(row_cxt);
            Datum v[kParams];
            bool isnull[kParams];
            int i = 0;
            for (int c = 0; c < kParams; ++c) isnull[c] = false;
            v[i++] = TimestampTzGetDatum(k.hour);
            for (int d = 0; d < kDimCount; ++d, ++i) {
                if (k.present & (1u << d))
                    v[i] = PointerGetDatum(cstring_to_text_with_len(k.dims[d].data(), int(k.dims[d].size())));
                else
                    isnull[i] = true;
            }
            v[i++] = Int64GetDatum(g.spans);
            v[i++] = Int64GetDatum(g.errors);
            v[i++] = Int64GetDatum(g.costed);
            v[i++] = Int64GetDatum(g.unpriced);
            for (int c = 0; c < kTokenCount; ++c) v[i++] = numeric_of(g.tokens[c]);
            v[i++] = g.costed > 0 ? g.cost : NumericGetDatum(int64_to_numeric(0));
            if (g.latency) {
                bytea* b = static_cast<bytea*>(palloc(VARHDRSZ + sketch_bytes.size()));
                SET_VARSIZE(b, VARHDRSZ + sketch_bytes.size());
                std::memcpy(VARDATA(b), sketch_bytes.data(), sketch_bytes.size());
                v[i++] = PointerGetDatum(b);
            } else {
                isnull[i++] = true;
            }
            if (!sessions.empty()) {
                Datum* elems = static_cast<Datum*>(palloc(sizeof(Datum) * sessions.size()));
                for (size_t s = 0; s < sessions.size(); ++s)
                    elems[s] = PointerGetDatum(cstring_to_text_with_len(sessions[s]->data(), int(sessions[s]->size())));
                v[i++] = PointerGetDatum(construct_array(elems, int(sessions.size()), TEXTOID, -1, false, TYPALIGN_INT));
            } else {
                isnull[i++] = true;
            }
            if (direct) {
                HeapTuple tuple = heap_form_tuple(RelationGetDescr(rel), v, isnull);
                simple_heap_insert(rel, tuple);
            } else {
                char n[kParams];
                for (int c = 0; c < kParams; ++c) n[c] = isnull[c] ? 'n' : ' ';
                insert_plan.execute(v, n, false, SPI_OK_INSERT);
            }
            MemoryContextSwitchTo(old);
            MemoryContextReset(row_cxt);
        });
    }
    pg_guard([&] {
        MemoryContextDelete(row_cxt);
        if (direct) {
            table_close(rel, NoLock);
            CommandCounterIncrement();
        } else {
            SPI_finish();
        }
    });
    discard();
}

}  // namespace llmtrace::pg::rollup
