// llmtrace.latency_sketch: the mergeable latency sketch (core/sketch.hpp) as a
// PostgreSQL type, with an aggregate that builds it from values, an aggregate
// that merges sketches (both with combine, serial and deserial functions, so
// parallel query and, later, shards merge partial states), and accessors.
//
// A value of the type is the sketch's binary format (validated on every read:
// values can come from COPY BINARY or a restored dump). Aggregate states are
// C++ sketches owned by the aggregate's memory context: a reset callback of
// that context deletes them, whatever ends the aggregate (its end, an error).
#include "core/sketch.hpp"
#include "pg/guard.hpp"

extern "C" {
#include "catalog/pg_type.h"
#include "libpq/pqformat.h"
#include "utils/array.h"
}

#include <string>
#include <vector>

using namespace llmtrace;

extern "C" {
PGDLLEXPORT Datum llmtrace_sketch_in(PG_FUNCTION_ARGS);
PGDLLEXPORT Datum llmtrace_sketch_out(PG_FUNCTION_ARGS);
PGDLLEXPORT Datum llmtrace_sketch_recv(PG_FUNCTION_ARGS);
PGDLLEXPORT Datum llmtrace_sketch_send(PG_FUNCTION_ARGS);
PGDLLEXPORT Datum llmtrace_sketch_add(PG_FUNCTION_ARGS);
PGDLLEXPORT Datum llmtrace_sketch_merge_trans(PG_FUNCTION_ARGS);
PGDLLEXPORT Datum llmtrace_sketch_combine(PG_FUNCTION_ARGS);
PGDLLEXPORT Datum llmtrace_sketch_serialize(PG_FUNCTION_ARGS);
PGDLLEXPORT Datum llmtrace_sketch_deserialize(PG_FUNCTION_ARGS);
PGDLLEXPORT Datum llmtrace_sketch_final(PG_FUNCTION_ARGS);
PGDLLEXPORT Datum llmtrace_sketch_quantile(PG_FUNCTION_ARGS);
PGDLLEXPORT Datum llmtrace_sketch_cumulative_counts(PG_FUNCTION_ARGS);
PGDLLEXPORT Datum llmtrace_sketch_count(PG_FUNCTION_ARGS);
PGDLLEXPORT Datum llmtrace_sketch_sum(PG_FUNCTION_ARGS);
PGDLLEXPORT Datum llmtrace_sketch_min(PG_FUNCTION_ARGS);
PGDLLEXPORT Datum llmtrace_sketch_max(PG_FUNCTION_ARGS);
PGDLLEXPORT Datum llmtrace_sketch_merge2(PG_FUNCTION_ARGS);

PG_FUNCTION_INFO_V1(llmtrace_sketch_in);
PG_FUNCTION_INFO_V1(llmtrace_sketch_out);
PG_FUNCTION_INFO_V1(llmtrace_sketch_recv);
PG_FUNCTION_INFO_V1(llmtrace_sketch_send);
PG_FUNCTION_INFO_V1(llmtrace_sketch_add);
PG_FUNCTION_INFO_V1(llmtrace_sketch_merge_trans);
PG_FUNCTION_INFO_V1(llmtrace_sketch_combine);
PG_FUNCTION_INFO_V1(llmtrace_sketch_serialize);
PG_FUNCTION_INFO_V1(llmtrace_sketch_deserialize);
PG_FUNCTION_INFO_V1(llmtrace_sketch_final);
PG_FUNCTION_INFO_V1(llmtrace_sketch_quantile);
PG_FUNCTION_INFO_V1(llmtrace_sketch_cumulative_counts);
PG_FUNCTION_INFO_V1(llmtrace_sketch_count);
PG_FUNCTION_INFO_V1(llmtrace_sketch_sum);
PG_FUNCTION_INFO_V1(llmtrace_sketch_min);
PG_FUNCTION_INFO_V1(llmtrace_sketch_max);
PG_FUNCTION_INFO_V1(llmtrace_sketch_merge2);
}

namespace {

// The sketch of a latency_sketch (or bytea) datum; raises `sqlstate` when the
// bytes are not a valid sketch.
core::Sketch sketch_of(Datum d, const char* sqlstate) {
    bytea* b = nullptr;
    pg::pg_guard([&] { b = DatumGetByteaPP(d); });
    std::string error;
    auto s = core::Sketch::parse(std::string_view(VARDATA_ANY(b), VARSIZE_ANY_EXHDR(b)), &error);
    if (!s) throw core::InputError(sqlstate, "llmtrace: invalid latency_sketch: " + error);
    return std::move(*s);
}

// A varlena holding the sketch's binary format.
Datum datum_of(const core::Sketch& s) {
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

// An aggregate state: a C++ sketch deleted by a reset callback of the memory
// context it was created for.
struct State {
    MemoryContextCallback callback;
    core::Sketch* sketch;
};

void free_state(void* arg) {
    State* st = static_cast<State*>(arg);
    delete st->sketch;
    st->sketch = nullptr;
}

MemoryContext aggregate_context(FunctionCallInfo fcinfo) {
    MemoryContext cxt = nullptr;
    pg::pg_guard([&] {
        if (!AggCheckCallContext(fcinfo, &cxt))
            ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                            errmsg("llmtrace: latency_sketch aggregate support called outside an aggregate")));
    });
    return cxt;
}

State* new_state(MemoryContext cxt, core::Sketch&& initial) {
    core::Sketch* sk = new core::Sketch(std::move(initial));
    State* st = nullptr;
    try {
        pg::pg_guard([&] {
            st = static_cast<State*>(MemoryContextAllocZero(cxt, sizeof(State)));
            st->sketch = sk;
            st->callback.func = free_state;
            st->callback.arg = st;
            MemoryContextRegisterResetCallback(cxt, &st->callback);
        });
    } catch (...) {
        delete sk;
        throw;
    }
    return st;
}

State* state_arg(FunctionCallInfo fcinfo, int arg) {
    return PG_ARGISNULL(arg) ? nullptr : reinterpret_cast<State*>(PG_GETARG_POINTER(arg));
}

// The double precision a function of the sketch in argument 0 gives, or SQL
// NULL when it gives none (an empty sketch).
template <typename Fn>
Datum float8_or_null(FunctionCallInfo fcinfo, Fn&& fn) {
    Datum d = PG_GETARG_DATUM(0);
    double value = 0;
    Datum found = pg::entry_boundary([&]() -> Datum {
        std::optional<double> v = fn(sketch_of(d, "XX001"));
        if (!v) return (Datum)0;
        value = *v;
        return (Datum)1;
    });
    if (found == (Datum)0) PG_RETURN_NULL();
    PG_RETURN_FLOAT8(value);
}

}  // namespace

// latency_sketch_in(cstring): the text form, {"alpha":..., "buckets":[[i,c],...], ...}.
extern "C" Datum llmtrace_sketch_in(PG_FUNCTION_ARGS) {
    const char* text = PG_GETARG_CSTRING(0);
    return pg::entry_boundary([&]() -> Datum {
        std::string error;
        auto s = core::Sketch::from_text(text, &error);
        if (!s) throw core::InputError("22P02", "llmtrace: invalid input for latency_sketch: " + error);
        return datum_of(*s);
    });
}

extern "C" Datum llmtrace_sketch_out(PG_FUNCTION_ARGS) {
    Datum d = PG_GETARG_DATUM(0);
    return pg::entry_boundary([&]() -> Datum {
        std::string text = sketch_of(d, "XX001").to_text();
        Datum result = (Datum)0;
        pg::pg_guard([&] { result = CStringGetDatum(pstrdup(text.c_str())); });
        return result;
    });
}

// Binary input: the sketch's binary format, validated completely.
extern "C" Datum llmtrace_sketch_recv(PG_FUNCTION_ARGS) {
    StringInfo buf = reinterpret_cast<StringInfo>(PG_GETARG_POINTER(0));
    return pg::entry_boundary([&]() -> Datum {
        std::string error;
        std::string_view bytes(buf->data + buf->cursor, size_t(buf->len - buf->cursor));
        auto s = core::Sketch::parse(bytes, &error);
        if (!s) throw core::InputError("22P03", "llmtrace: invalid binary latency_sketch: " + error);
        buf->cursor = buf->len;
        return datum_of(*s);
    });
}

extern "C" Datum llmtrace_sketch_send(PG_FUNCTION_ARGS) {
    Datum d = PG_GETARG_DATUM(0);
    return pg::entry_boundary([&]() -> Datum {
        Datum result = (Datum)0;
        pg::pg_guard([&] { result = PointerGetDatum(DatumGetByteaPCopy(d)); });
        return result;
    });
}

// Aggregate latency_sketch(double precision): adds each non-NULL value.
extern "C" Datum llmtrace_sketch_add(PG_FUNCTION_ARGS) {
    State* st = state_arg(fcinfo, 0);
    const bool has_value = !PG_ARGISNULL(1);
    const double value = has_value ? PG_GETARG_FLOAT8(1) : 0;
    Datum result = pg::entry_boundary([&]() -> Datum {
        MemoryContext cxt = aggregate_context(fcinfo);
        if (!st) {
            if (!has_value) return (Datum)0;
            st = new_state(cxt, core::Sketch());
        }
        if (has_value) st->sketch->add(value);
        return PointerGetDatum(st);
    });
    if (result == (Datum)0) PG_RETURN_NULL();
    return result;
}

// Aggregate merge(latency_sketch): merges each non-NULL sketch.
extern "C" Datum llmtrace_sketch_merge_trans(PG_FUNCTION_ARGS) {
    State* st = state_arg(fcinfo, 0);
    const bool has_value = !PG_ARGISNULL(1);
    Datum value = has_value ? PG_GETARG_DATUM(1) : (Datum)0;
    Datum result = pg::entry_boundary([&]() -> Datum {
        MemoryContext cxt = aggregate_context(fcinfo);
        if (!has_value) return st ? PointerGetDatum(st) : (Datum)0;
        core::Sketch other = sketch_of(value, "XX001");
        if (!st)
            st = new_state(cxt, std::move(other));
        else
            st->sketch->merge(other);
        return PointerGetDatum(st);
    });
    if (result == (Datum)0) PG_RETURN_NULL();
    return result;
}

// merge(a, b): the merge of two sketches; NULL is the empty sketch (a NULL
// result when both are NULL).
extern "C" Datum llmtrace_sketch_merge2(PG_FUNCTION_ARGS) {
    if (PG_ARGISNULL(0) && PG_ARGISNULL(1)) PG_RETURN_NULL();
    if (PG_ARGISNULL(0) || PG_ARGISNULL(1)) {
        // One side only: validated and returned as it is.
        Datum d = PG_GETARG_DATUM(PG_ARGISNULL(0) ? 1 : 0);
        return pg::entry_boundary([&]() -> Datum { return datum_of(sketch_of(d, "XX001")); });
    }
    Datum a = PG_GETARG_DATUM(0), b = PG_GETARG_DATUM(1);
    return pg::entry_boundary([&]() -> Datum {
        core::Sketch s = sketch_of(a, "XX001");
        s.merge(sketch_of(b, "XX001"));
        return datum_of(s);
    });
}

// Combine function: merges the second partial state into the first.
extern "C" Datum llmtrace_sketch_combine(PG_FUNCTION_ARGS) {
    State* a = state_arg(fcinfo, 0);
    State* b = state_arg(fcinfo, 1);
    Datum result = pg::entry_boundary([&]() -> Datum {
        MemoryContext cxt = aggregate_context(fcinfo);
        if (!b || !b->sketch) return a ? PointerGetDatum(a) : (Datum)0;
        if (!a) {
            a = new_state(cxt, core::Sketch(*b->sketch));
            return PointerGetDatum(a);
        }
        a->sketch->merge(*b->sketch);
        return PointerGetDatum(a);
    });
    if (result == (Datum)0) PG_RETURN_NULL();
    return result;
}

// Serial and deserial functions: the partial state as the binary format.
extern "C" Datum llmtrace_sketch_serialize(PG_FUNCTION_ARGS) {
    State* st = state_arg(fcinfo, 0);
    return pg::entry_boundary([&]() -> Datum { return datum_of(st && st->sketch ? *st->sketch : core::Sketch()); });
}

extern "C" Datum llmtrace_sketch_deserialize(PG_FUNCTION_ARGS) {
    Datum bytes = PG_GETARG_DATUM(0);
    return pg::entry_boundary([&]() -> Datum {
        MemoryContext cxt = aggregate_context(fcinfo);
        return PointerGetDatum(new_state(cxt, sketch_of(bytes, "XX001")));
    });
}

// Final function: the state as a latency_sketch; NULL when no value was added.
extern "C" Datum llmtrace_sketch_final(PG_FUNCTION_ARGS) {
    State* st = state_arg(fcinfo, 0);
    if (!st || !st->sketch || st->sketch->empty()) PG_RETURN_NULL();
    return pg::entry_boundary([&]() -> Datum { return datum_of(*st->sketch); });
}

// quantile(latency_sketch, q): the value at rank max(1, ceil(q * count)), as
// percentile_disc ranks, within the sketch's relative accuracy; NULL if empty.
extern "C" Datum llmtrace_sketch_quantile(PG_FUNCTION_ARGS) {
    const double q = PG_GETARG_FLOAT8(1);
    return float8_or_null(fcinfo, [q](const core::Sketch& s) { return s.quantile(q); });
}

// cumulative_counts(latency_sketch, bounds float8[]) -> bigint[]: for each
// upper bound, how many values are at most it (histogram "le" buckets).
extern "C" Datum llmtrace_sketch_cumulative_counts(PG_FUNCTION_ARGS) {
    Datum d = PG_GETARG_DATUM(0);
    ArrayType* arr = PG_GETARG_ARRAYTYPE_P(1);
    return pg::entry_boundary([&]() -> Datum {
        Datum* elems = nullptr;
        bool* nulls = nullptr;
        int n = 0;
        pg::pg_guard([&] {
            if (ARR_NDIM(arr) > 1)
                ereport(ERROR, (errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR), errmsg("llmtrace: bounds must be a one-dimensional array")));
            deconstruct_array(arr, FLOAT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &elems, &nulls, &n);
        });
        std::vector<double> bounds;
        bounds.reserve(size_t(n));
        for (int i = 0; i < n; ++i) {
            if (nulls[i]) throw core::InputError("22004", "llmtrace: bounds must not be NULL");
            bounds.push_back(DatumGetFloat8(elems[i]));
        }
        std::vector<uint64_t> counts = sketch_of(d, "XX001").cumulative_counts(bounds);
        Datum result = (Datum)0;
        pg::pg_guard([&] {
            Datum* out = static_cast<Datum*>(palloc(sizeof(Datum) * size_t(n > 0 ? n : 1)));
            for (int i = 0; i < n; ++i) out[i] = Int64GetDatum(int64(counts[size_t(i)]));
            result = PointerGetDatum(construct_array(out, n, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
        });
        return result;
    });
}

extern "C" Datum llmtrace_sketch_count(PG_FUNCTION_ARGS) {
    Datum d = PG_GETARG_DATUM(0);
    return pg::entry_boundary([&]() -> Datum { return Int64GetDatum(int64(sketch_of(d, "XX001").count())); });
}

extern "C" Datum llmtrace_sketch_sum(PG_FUNCTION_ARGS) {
    Datum d = PG_GETARG_DATUM(0);
    return pg::entry_boundary([&]() -> Datum { return Float8GetDatum(sketch_of(d, "XX001").sum()); });
}

extern "C" Datum llmtrace_sketch_min(PG_FUNCTION_ARGS) {
    return float8_or_null(fcinfo, [](const core::Sketch& s) { return s.min(); });
}

extern "C" Datum llmtrace_sketch_max(PG_FUNCTION_ARGS) {
    return float8_or_null(fcinfo, [](const core::Sketch& s) { return s.max(); });
}
