// Id sets (core/id_set.hpp) as bytea in SQL: the distinct users and sessions
// of a day of a model group in llmtrace.daily_rollups.
//
//   llmtrace.id_set_union(a bytea, b bytea) -> bytea   NULL counts as empty
//   llmtrace.id_set_count(bytea) -> bigint
//   llmtrace.id_set_merge(bytea) aggregate -> bytea    union of the non-NULL sets
//
// Every value is validated when read (it may come from a restored dump).
#include "core/id_set.hpp"
#include "pg/guard.hpp"

#include <string>
#include <vector>

extern "C" {
#include "catalog/pg_type.h"
#include "utils/array.h"
}

using namespace llmtrace;

extern "C" {
PGDLLEXPORT Datum llmtrace_id_set_union(PG_FUNCTION_ARGS);
PGDLLEXPORT Datum llmtrace_id_set_count(PG_FUNCTION_ARGS);
PGDLLEXPORT Datum llmtrace_id_set_merge_trans(PG_FUNCTION_ARGS);
PGDLLEXPORT Datum llmtrace_id_set_merge_final(PG_FUNCTION_ARGS);
PG_FUNCTION_INFO_V1(llmtrace_id_set_union);
PG_FUNCTION_INFO_V1(llmtrace_id_set_count);
PG_FUNCTION_INFO_V1(llmtrace_id_set_merge_trans);
PG_FUNCTION_INFO_V1(llmtrace_id_set_merge_final);
PGDLLEXPORT Datum llmtrace_id_set_of(PG_FUNCTION_ARGS);
PG_FUNCTION_INFO_V1(llmtrace_id_set_of);
}

namespace {

core::IdSet set_of(Datum d) {
    bytea* b = nullptr;
    pg::pg_guard([&] { b = DatumGetByteaPP(d); });
    std::string error;
    auto s = core::IdSet::parse(std::string_view(VARDATA_ANY(b), VARSIZE_ANY_EXHDR(b)), &error);
    if (!s) throw core::InputError("XX001", "llmtrace: invalid id set: " + error);
    return std::move(*s);
}

Datum datum_of(const core::IdSet& s) {
    std::string bytes;
    s.serialize(bytes);
    Datum result = (Datum)0;
    pg::pg_guard([&] {
        bytea* b = static_cast<bytea*>(palloc(VARHDRSZ + bytes.size()));
        SET_VARSIZE(b, VARHDRSZ + bytes.size());
        memcpy(VARDATA(b), bytes.data(), bytes.size());
        result = PointerGetDatum(b);
    });
    return result;
}

struct State {
    MemoryContextCallback callback;
    core::IdSet* set;
};

void free_state(void* arg) {
    State* st = static_cast<State*>(arg);
    delete st->set;
    st->set = nullptr;
}

}  // namespace

extern "C" Datum llmtrace_id_set_union(PG_FUNCTION_ARGS) {
    if (PG_ARGISNULL(0) && PG_ARGISNULL(1)) PG_RETURN_NULL();
    const bool has_a = !PG_ARGISNULL(0), has_b = !PG_ARGISNULL(1);
    Datum a = has_a ? PG_GETARG_DATUM(0) : (Datum)0, b = has_b ? PG_GETARG_DATUM(1) : (Datum)0;
    return pg::entry_boundary([&]() -> Datum {
        core::IdSet s = has_a ? set_of(a) : core::IdSet();
        if (has_b) s.merge(set_of(b));
        return datum_of(s);
    });
}

extern "C" Datum llmtrace_id_set_count(PG_FUNCTION_ARGS) {
    Datum a = PG_GETARG_DATUM(0);
    uint64_t n = 0;
    pg::entry_boundary([&]() -> Datum {
        n = set_of(a).count();
        return (Datum)0;
    });
    PG_RETURN_INT64(int64(n));
}

extern "C" Datum llmtrace_id_set_merge_trans(PG_FUNCTION_ARGS) {
    State* st = PG_ARGISNULL(0) ? nullptr : reinterpret_cast<State*>(PG_GETARG_POINTER(0));
    const bool has_value = !PG_ARGISNULL(1);
    Datum value = has_value ? PG_GETARG_DATUM(1) : (Datum)0;
    Datum result = pg::entry_boundary([&]() -> Datum {
        MemoryContext cxt = nullptr;
        pg::pg_guard([&] {
            if (!AggCheckCallContext(fcinfo, &cxt))
                ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                                errmsg("llmtrace: id_set_merge called outside an aggregate")));
        });
        if (!has_value) return st ? PointerGetDatum(st) : (Datum)0;
        core::IdSet other = set_of(value);
        if (!st) {
            core::IdSet* s = new core::IdSet(std::move(other));
            try {
                pg::pg_guard([&] {
                    st = static_cast<State*>(MemoryContextAllocZero(cxt, sizeof(State)));
                    st->set = s;
                    st->callback.func = free_state;
                    st->callback.arg = st;
                    MemoryContextRegisterResetCallback(cxt, &st->callback);
                });
            } catch (...) {
                delete s;
                throw;
            }
        } else {
            st->set->merge(other);
        }
        return PointerGetDatum(st);
    });
    if (result == (Datum)0) PG_RETURN_NULL();
    return result;
}

extern "C" Datum llmtrace_id_set_merge_final(PG_FUNCTION_ARGS) {
    State* st = PG_ARGISNULL(0) ? nullptr : reinterpret_cast<State*>(PG_GETARG_POINTER(0));
    if (!st || !st->set) PG_RETURN_NULL();
    return pg::entry_boundary([&]() -> Datum { return datum_of(*st->set); });
}

// llmtrace.id_set_of(ids text[]) -> bytea: the set of the non-NULL ids.
extern "C" Datum llmtrace_id_set_of(PG_FUNCTION_ARGS) {
    ArrayType* a = PG_GETARG_ARRAYTYPE_P(0);
    Datum* elems = nullptr;
    bool* nulls = nullptr;
    int n = 0;
    if (ARR_ELEMTYPE(a) != TEXTOID) elog(ERROR, "llmtrace.id_set_of: a text[] is expected");
    deconstruct_array(a, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
    return pg::entry_boundary([&]() -> Datum {
        std::vector<core::IdKey> keys;
        for (int i = 0; i < n; ++i) {
            if (nulls[i]) continue;
            text* t = reinterpret_cast<text*>(DatumGetPointer(elems[i]));
            keys.push_back(core::IdSet::key_of(std::string_view(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t))));
        }
        core::IdSet s;
        s.add_keys(std::move(keys));
        return datum_of(s);
    });
}
