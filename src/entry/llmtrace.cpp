// extern "C" entry points: module init, triggers and SQL-callable functions.
// Each one only unpacks its arguments and calls a boundary wrapper.
#include "core/cost.hpp"
#include "core/sampling.hpp"
#include "pg/alerts.hpp"
#include "pg/guard.hpp"
#include "pg/ingest.hpp"
#include "pg/owner.hpp"
#include "pg/pg_time.hpp"
#include "pg/price_cache.hpp"
#include "pg/schema_check.hpp"
#include "pg/settings.hpp"
#include "pg/tenants.hpp"

extern "C" {
#include "common/cryptohash.h"
#include "common/sha2.h"
#include "funcapi.h"
}

using namespace llmtrace;

extern "C" {

PG_MODULE_MAGIC;

PGDLLEXPORT void _PG_init(void);
PGDLLEXPORT Datum llmtrace_ingest_row_trigger(PG_FUNCTION_ARGS);
PGDLLEXPORT Datum llmtrace_ingest_statement_trigger(PG_FUNCTION_ARGS);
PGDLLEXPORT Datum llmtrace_ingest_json(PG_FUNCTION_ARGS);
PGDLLEXPORT Datum llmtrace_cost(PG_FUNCTION_ARGS);
PGDLLEXPORT Datum llmtrace_prices_changed(PG_FUNCTION_ARGS);
PGDLLEXPORT Datum llmtrace_rollup_retention_days(PG_FUNCTION_ARGS);
PGDLLEXPORT Datum llmtrace_group_key(PG_FUNCTION_ARGS);
PGDLLEXPORT Datum llmtrace_sample_keep(PG_FUNCTION_ARGS);
PGDLLEXPORT Datum llmtrace_ingest_otlp(PG_FUNCTION_ARGS);

PG_FUNCTION_INFO_V1(llmtrace_ingest_row_trigger);
PG_FUNCTION_INFO_V1(llmtrace_ingest_statement_trigger);
PG_FUNCTION_INFO_V1(llmtrace_ingest_json);
PG_FUNCTION_INFO_V1(llmtrace_cost);
PG_FUNCTION_INFO_V1(llmtrace_prices_changed);
PG_FUNCTION_INFO_V1(llmtrace_rollup_retention_days);
PG_FUNCTION_INFO_V1(llmtrace_group_key);
PG_FUNCTION_INFO_V1(llmtrace_sample_keep);
PG_FUNCTION_INFO_V1(llmtrace_ingest_otlp);

void _PG_init(void) {
    pg::define_settings();
    pg::register_price_cache_callbacks();
    pg::alerts::register_callbacks();
    pg::register_ingest_callbacks();
    pg::register_tenant_callbacks();
}

}  // extern "C"

namespace {

TriggerData* trigger_data(FunctionCallInfo fcinfo, const char* name) {
    if (!CALLED_AS_TRIGGER(fcinfo))
        ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
                        errmsg("%s: not called as a trigger", name)));
    return reinterpret_cast<TriggerData*>(fcinfo->context);
}

std::string_view text_view(text* t) {
    return std::string_view(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
}

// The ingest triggers run only on llmtrace.ingest, whose single column is the
// text payload: attached anywhere else (a view with a bigint "payload", say)
// they refuse to run instead of reading a Datum of the wrong type.
void check_ingest_relation(Relation rel, const char* fn) {
    Oid ns = get_namespace_oid("llmtrace", true);
    TupleDesc d = RelationGetDescr(rel);
    if (RelationGetNamespace(rel) != ns || strcmp(RelationGetRelationName(rel), "ingest") != 0 ||
        rel->rd_rel->relkind != RELKIND_VIEW || d->natts != 1 ||
        TupleDescAttr(d, 0)->attisdropped || TupleDescAttr(d, 0)->atttypid != TEXTOID)
        ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
                        errmsg("%s may only be used as a trigger of llmtrace.ingest", fn)));
}

}  // namespace

// INSTEAD OF INSERT ... FOR EACH ROW on llmtrace.ingest: normalizes the payload.
// Returning the row makes the INSERT report it (INSERT 0 1).
extern "C" Datum llmtrace_ingest_row_trigger(PG_FUNCTION_ARGS) {
    TriggerData* td = trigger_data(fcinfo, "llmtrace.ingest_row_trigger");
    if (!TRIGGER_FIRED_INSTEAD(td->tg_event) || !TRIGGER_FIRED_BY_INSERT(td->tg_event) ||
        !TRIGGER_FIRED_FOR_ROW(td->tg_event))
        ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
                        errmsg("llmtrace.ingest_row_trigger must be an INSTEAD OF INSERT row trigger")));
    check_ingest_relation(td->tg_relation, "llmtrace.ingest_row_trigger");
    HeapTuple tuple = td->tg_trigtuple;
    bool isnull = false;
    Datum d = heap_getattr(tuple, 1, td->tg_relation->rd_att, &isnull);
    text* payload = isnull ? nullptr : DatumGetTextPP(d);
    const pg::OwnerContext oc = pg::enter_owner_context(fcinfo);
    pg::entry_boundary([&]() -> Datum {
        pg::ingest_payload(payload ? text_view(payload) : std::string_view(), payload == nullptr);
        return (Datum)0;
    });
    pg::leave_owner_context(oc);
    // Return a copy, not the trigger tuple itself: the executor frees the tuple
    // it materialized for the trigger only when the trigger returns another one
    // (COPY materializes it in the statement's memory, so returning it as is
    // would keep every payload of a COPY in memory until the statement ends).
    // The copy lives in the per-tuple memory the trigger runs in.
    return PointerGetDatum(heap_copytuple(tuple));
}

// AFTER INSERT ... FOR EACH STATEMENT on llmtrace.ingest: writes buffered spans.
extern "C" Datum llmtrace_ingest_statement_trigger(PG_FUNCTION_ARGS) {
    TriggerData* td = trigger_data(fcinfo, "llmtrace.ingest_statement_trigger");
    if (!TRIGGER_FIRED_AFTER(td->tg_event) || !TRIGGER_FIRED_FOR_STATEMENT(td->tg_event))
        ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
                        errmsg("llmtrace.ingest_statement_trigger must be an AFTER statement trigger")));
    check_ingest_relation(td->tg_relation, "llmtrace.ingest_statement_trigger");
    const pg::OwnerContext oc = pg::enter_owner_context(fcinfo);
    Datum result = pg::entry_boundary([&]() -> Datum {
        pg::flush_spans();
        return PointerGetDatum(nullptr);
    });
    pg::leave_owner_context(oc);
    return result;
}

// llmtrace.ingest_json(payload text) -> bigint: spans newly stored. Not
// STRICT: a NULL payload is bad input, as it is for llmtrace.ingest.
extern "C" Datum llmtrace_ingest_json(PG_FUNCTION_ARGS) {
    text* payload = PG_ARGISNULL(0) ? nullptr : PG_GETARG_TEXT_PP(0);
    const pg::OwnerContext oc = pg::enter_owner_context(fcinfo);
    Datum result = pg::entry_boundary([&]() -> Datum {
        return Int64GetDatum(int64(pg::ingest_json_payload(
            payload ? text_view(payload) : std::string_view(), payload == nullptr)));
    });
    pg::leave_owner_context(oc);
    return result;
}

// llmtrace.cost(provider, model, input, output, cached, cache_write, at) -> numeric
extern "C" Datum llmtrace_cost(PG_FUNCTION_ARGS) {
    if (PG_ARGISNULL(1) || PG_ARGISNULL(6)) PG_RETURN_NULL();
    text* provider = PG_ARGISNULL(0) ? nullptr : PG_GETARG_TEXT_PP(0);
    text* model = PG_GETARG_TEXT_PP(1);
    int64 tokens[4];
    for (int i = 0; i < 4; ++i) tokens[i] = PG_ARGISNULL(2 + i) ? 0 : PG_GETARG_INT64(2 + i);
    TimestampTz at = PG_GETARG_TIMESTAMPTZ(6);
    char* cost_text = nullptr;
    Datum result = pg::entry_boundary([&]() -> Datum {
        // The same answer whether or not this backend's price cache is warm:
        // only roles that may read llmtrace.model_prices get prices.
        pg::check_schema();
        pg::check_price_privilege();
        for (int64 t : tokens) {
            if (t < 0) throw core::InputError("22023", "llmtrace.cost: token counts must not be negative");
            if (t > core::kMaxTokens)
                throw core::InputError("22003", "llmtrace.cost: token counts must not exceed " +
                                                    std::to_string(core::kMaxTokens));
        }
        core::PriceTable& prices = pg::current_prices();
        std::string prov = provider ? core::normalize_provider(text_view(provider)) : std::string();
        const core::PriceRow* row = prices.lookup(prov, text_view(model), pg::unix_us(at));
        if (!row || !row->usable) return (Datum)0;
        std::string s = core::attousd_to_text(core::compute_cost(*row, tokens[0], tokens[1], tokens[2], tokens[3]));
        pg::pg_guard([&] { cost_text = pstrdup(s.c_str()); });
        return (Datum)1;
    });
    if (result == (Datum)0) PG_RETURN_NULL();
    return DirectFunctionCall3(numeric_in, CStringGetDatum(cost_text), ObjectIdGetDatum(InvalidOid),
                               Int32GetDatum(-1));
}

// AFTER ... FOR EACH STATEMENT on llmtrace.model_prices (llmtrace.prices_changed),
// llmtrace.alert_rules and llmtrace.alert_state (llmtrace.alert_rules_invalidate):
// the backend rechecks its price or rule cache, or forgets the cooldowns it
// learnt, at its next statement, and every other backend after this
// transaction commits.
extern "C" Datum llmtrace_prices_changed(PG_FUNCTION_ARGS) {
    TriggerData* td = trigger_data(fcinfo, "llmtrace.prices_changed");
    const char* rel = RelationGetRelationName(td->tg_relation);
    if (RelationGetNamespace(td->tg_relation) != get_namespace_oid("llmtrace", true) ||
        (strcmp(rel, "model_prices") != 0 && strcmp(rel, "alert_rules") != 0 && strcmp(rel, "alert_state") != 0 &&
         strcmp(rel, "project_roles") != 0))
        ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
                        errmsg("llmtrace.prices_changed may only be used as a trigger of llmtrace.model_prices, "
                               "llmtrace.alert_rules, llmtrace.alert_state or llmtrace.project_roles")));
    CacheInvalidateRelcache(td->tg_relation);
    return PointerGetDatum(nullptr);
}

// llmtrace.rollup_retention_days() -> integer: the setting, read through the
// library (which defines it), so SQL that calls this works in a session that
// has not loaded the library yet.
extern "C" Datum llmtrace_rollup_retention_days(PG_FUNCTION_ARGS) {
    PG_RETURN_INT32(pg::rollup_retention_days);
}

// llmtrace.group_key(project, environment, provider, model, feature, endpoint,
// user_id) -> bytea: SHA-256 of the grouping values of a rollup group, each
// written as "<length>:<bytes>" or "N" for NULL, separated by "|". Runs no SQL.
extern "C" Datum llmtrace_group_key(PG_FUNCTION_ARGS) {
    pg_cryptohash_ctx* ctx = pg_cryptohash_create(PG_SHA256);
    if (!ctx || pg_cryptohash_init(ctx) < 0) elog(ERROR, "llmtrace: could not initialize SHA-256");
    for (int i = 0; i < PG_NARGS(); ++i) {
        char head[32];
        int n;
        text* t = nullptr;
        if (PG_ARGISNULL(i)) {
            n = snprintf(head, sizeof head, "%sN", i ? "|" : "");
        } else {
            t = PG_GETARG_TEXT_PP(i);
            n = snprintf(head, sizeof head, "%s%d:", i ? "|" : "", int(VARSIZE_ANY_EXHDR(t)));
        }
        if (pg_cryptohash_update(ctx, reinterpret_cast<const uint8*>(head), size_t(n)) < 0 ||
            (t && pg_cryptohash_update(ctx, reinterpret_cast<const uint8*>(VARDATA_ANY(t)), VARSIZE_ANY_EXHDR(t)) < 0))
            elog(ERROR, "llmtrace: could not compute SHA-256");
    }
    bytea* result = static_cast<bytea*>(palloc(VARHDRSZ + PG_SHA256_DIGEST_LENGTH));
    SET_VARSIZE(result, VARHDRSZ + PG_SHA256_DIGEST_LENGTH);
    if (pg_cryptohash_final(ctx, reinterpret_cast<uint8*>(VARDATA(result)), PG_SHA256_DIGEST_LENGTH) < 0)
        elog(ERROR, "llmtrace: could not compute SHA-256");
    pg_cryptohash_free(ctx);
    PG_RETURN_BYTEA_P(result);
}

// llmtrace.sample_keep(trace_id, rate) -> boolean: the decision of
// llmtrace.sample_rate = rate for a trace (src/core/sampling.hpp). Runs no SQL.
extern "C" Datum llmtrace_sample_keep(PG_FUNCTION_ARGS) {
    text* id = PG_GETARG_TEXT_PP(0);
    double rate = PG_GETARG_FLOAT8(1);
    PG_RETURN_BOOL(core::sample_keep(text_view(id), rate));
}

// llmtrace.ingest_otlp(body bytea, content_type text) -> (spans_stored,
// spans_rejected, error): an OTLP ExportTraceServiceRequest as protobuf or
// JSON. error is NULL unless the body as a whole was bad (quarantined, or
// raised under llmtrace.on_error = 'error'); spans_rejected counts the bad
// spans of a good body, so an OTLP/HTTP front can answer partial success.
extern "C" Datum llmtrace_ingest_otlp(PG_FUNCTION_ARGS) {
    bytea* body = PG_ARGISNULL(0) ? nullptr : PG_GETARG_BYTEA_PP(0);
    text* ct = PG_ARGISNULL(1) ? nullptr : PG_GETARG_TEXT_PP(1);
    TupleDesc desc;
    if (get_call_result_type(fcinfo, nullptr, &desc) != TYPEFUNC_COMPOSITE)
        elog(ERROR, "llmtrace.ingest_otlp: the result type must be a row");
    desc = BlessTupleDesc(desc);
    int64 stored = 0, rejected = 0;
    char* error = nullptr;
    const pg::OwnerContext oc = pg::enter_owner_context(fcinfo);
    pg::entry_boundary([&]() -> Datum {
        pg::OtlpResult r = pg::ingest_otlp_payload(
            body ? std::string_view(VARDATA_ANY(body), VARSIZE_ANY_EXHDR(body)) : std::string_view(), body == nullptr,
            ct ? text_view(ct) : std::string_view("application/x-protobuf"));
        stored = int64(r.stored);
        rejected = int64(r.rejected);
        if (r.refused) pg::pg_guard([&] { error = pstrdup(r.error.c_str()); });
        return (Datum)0;
    });
    pg::leave_owner_context(oc);
    Datum values[3] = {Int64GetDatum(stored), Int64GetDatum(rejected), error ? CStringGetTextDatum(error) : (Datum)0};
    bool nulls[3] = {false, false, error == nullptr};
    PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, values, nulls)));
}
