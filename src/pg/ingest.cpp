// The ingest path inside PostgreSQL (see ingest.hpp).
//
// Spans are buffered as rows of Datums in a memory context that is reset after
// every write, and written with prepared multi-row INSERT ... ON CONFLICT DO
// NOTHING statements (64, 32, ..., 1 rows), so a COPY pays the executor once
// per 64 spans. The buffer is written when it is full and when the statement
// ends (the statement trigger on llmtrace.ingest, or ingest_json itself).
//
// Subtransactions: rows are buffered only at one transaction nesting level.
// A payload ingested at a deeper level while rows are pending (a function with
// an exception block called inside an ingesting statement) is written at once,
// so a rollback of that subtransaction can never take pending outer rows with it.
#include "pg/ingest.hpp"

#include "core/cost.hpp"
#include "core/normalizer.hpp"
#include "pg/guard.hpp"
#include "pg/jsonb_builder.hpp"
#include "pg/pg_time.hpp"
#include "pg/price_cache.hpp"
#include "pg/settings.hpp"

#include <string>

namespace llmtrace::pg {

namespace {

constexpr int kCols = 32;
constexpr int kBatch = 64;
constexpr int kPlanSizes = 7;  // 1, 2, 4, ..., 64 rows

// Column order of the INSERT (every column of llmtrace.spans but ingested_at).
constexpr const char* kColumns =
    "trace_id, span_id, parent_span_id, name, kind, operation, start_time, end_time, "
    "duration_ms, status, error_message, service, project, environment, endpoint, feature, "
    "provider, model, input_tokens, output_tokens, cached_input_tokens, cache_write_tokens, "
    "reasoning_tokens, total_tokens, cost_usd, cost_status, user_id, session_id, input, output, "
    "attributes, source_format";
const Oid kTypes[kCols] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TIMESTAMPTZOID,
                           TIMESTAMPTZOID, FLOAT8OID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID,
                           TEXTOID, TEXTOID, TEXTOID, TEXTOID, INT8OID, INT8OID, INT8OID, INT8OID,
                           INT8OID, INT8OID, NUMERICOID, TEXTOID, TEXTOID, TEXTOID, JSONBOID,
                           JSONBOID, JSONBOID, TEXTOID};

core::Normalizer* normalizer = nullptr;
core::Result result;

MemoryContext batch_cxt = nullptr;
Datum values[(kBatch + 1) * kCols];
char nulls[(kBatch + 1) * kCols];
int pending = 0;
int buffer_level = 0;
bool force_direct = false;  // ingest_json nested inside an ingesting statement
uint64_t stored_count = 0;

SPIPlanPtr insert_plans[kPlanSizes] = {};
SPIPlanPtr quarantine_plan = nullptr;
std::string insert_sql[kPlanSizes];

void discard_pending() {
    pending = 0;
    force_direct = false;
    if (batch_cxt) MemoryContextReset(batch_cxt);
}

void on_xact(XactEvent event, void*) {
    switch (event) {
    case XACT_EVENT_ABORT:
    case XACT_EVENT_PARALLEL_ABORT:
        discard_pending();
        break;
    case XACT_EVENT_PRE_COMMIT:
    case XACT_EVENT_PARALLEL_PRE_COMMIT:
    case XACT_EVENT_PRE_PREPARE:
        // The statement trigger writes the buffer at the end of every statement;
        // rows still here would be lost, so the commit fails instead.
        if (pending > 0) {
            discard_pending();
            ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR),
                            errmsg("llmtrace: spans were ingested but not written before COMMIT"),
                            errhint("Was the statement trigger llmtrace.ingest_statement disabled?")));
        }
        break;
    default:
        break;
    }
}

void on_subxact(SubXactEvent event, SubTransactionId, SubTransactionId, void*) {
    int level = GetCurrentTransactionNestLevel();
    if (pending == 0) return;
    if (event == SUBXACT_EVENT_ABORT_SUB && buffer_level >= level) discard_pending();
    if (event == SUBXACT_EVENT_COMMIT_SUB && buffer_level >= level) buffer_level = level - 1;
}

const std::string& insert_query(int size_index) {
    std::string& q = insert_sql[size_index];
    if (q.empty()) {
        int rows = 1 << size_index;
        q = "INSERT INTO llmtrace.spans (";
        q += kColumns;
        q += ") VALUES ";
        for (int r = 0; r < rows; ++r) {
            q += r ? ",(" : "(";
            for (int c = 0; c < kCols; ++c) {
                if (c) q += ',';
                q += '$';
                q += std::to_string(r * kCols + c + 1);
            }
            q += ')';
        }
        q += " ON CONFLICT DO NOTHING";
    }
    return q;
}

// Writes rows [first, first + count) of the buffer; must run inside pg_guard
// with SPI connected. Returns the number of rows stored.
uint64 write_rows(int first, int count) {
    static Oid argtypes[kBatch * kCols];
    uint64 stored = 0;
    int done = 0;
    for (int idx = kPlanSizes - 1; idx >= 0; --idx) {
        int size = 1 << idx;
        while (count - done >= size) {
            if (!insert_plans[idx]) {
                for (int i = 0; i < size * kCols; ++i) argtypes[i] = kTypes[i % kCols];
                SPIPlanPtr p = SPI_prepare(insert_sql[idx].c_str(), size * kCols, argtypes);
                if (!p) elog(ERROR, "llmtrace: cannot prepare the span insert: %s", SPI_result_code_string(SPI_result));
                SPI_keepplan(p);
                insert_plans[idx] = p;
            }
            int rc = SPI_execute_plan(insert_plans[idx], &values[(first + done) * kCols],
                                      &nulls[(first + done) * kCols], false, 0);
            if (rc != SPI_OK_INSERT) elog(ERROR, "llmtrace: span insert failed: %s", SPI_result_code_string(rc));
            stored += SPI_processed;
            done += size;
        }
    }
    return stored;
}

uint64 write_now(int first, int count) {
    for (int idx = 0; idx < kPlanSizes; ++idx) insert_query(idx);
    uint64 stored = 0;
    pg_guard([&] {
        if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "llmtrace: SPI_connect failed");
        stored = write_rows(first, count);
        SPI_finish();
    });
    stored_count += stored;
    return stored;
}

inline void set_text(Datum& v, char& n, core::Str s) {
    if (!core::present(s)) {
        n = 'n';
        return;
    }
    v = PointerGetDatum(cstring_to_text_with_len(s.data(), int(s.size())));
    n = ' ';
}

inline void set_int8(Datum& v, char& n, const std::optional<int64_t>& x) {
    if (!x) {
        n = 'n';
        return;
    }
    v = Int64GetDatum(*x);
    n = ' ';
}

// Fills buffer row `row` from a span. Runs inside pg_guard.
void fill_row(int row, const core::Span& s) {
    Datum* v = &values[row * kCols];
    char* n = &nulls[row * kCols];
    set_text(v[0], n[0], s.trace_id);
    set_text(v[1], n[1], s.span_id);
    set_text(v[2], n[2], s.parent_span_id);
    set_text(v[3], n[3], s.name);
    set_text(v[4], n[4], s.kind);
    set_text(v[5], n[5], s.operation);
    v[6] = TimestampTzGetDatum(to_timestamptz(s.start_us));
    n[6] = ' ';
    if (s.end_us) {
        v[7] = TimestampTzGetDatum(to_timestamptz(*s.end_us));
        n[7] = ' ';
    } else {
        n[7] = 'n';
    }
    if (s.duration_ms) {
        v[8] = Float8GetDatum(*s.duration_ms);
        n[8] = ' ';
    } else {
        n[8] = 'n';
    }
    set_text(v[9], n[9], core::to_string(s.status));
    set_text(v[10], n[10], s.error_message);
    set_text(v[11], n[11], s.service);
    set_text(v[12], n[12], s.project);
    set_text(v[13], n[13], s.environment);
    set_text(v[14], n[14], s.endpoint);
    set_text(v[15], n[15], s.feature);
    set_text(v[16], n[16], s.provider);
    set_text(v[17], n[17], s.model);
    set_int8(v[18], n[18], s.tokens.input);
    set_int8(v[19], n[19], s.tokens.output);
    set_int8(v[20], n[20], s.tokens.cached_input);
    set_int8(v[21], n[21], s.tokens.cache_write);
    set_int8(v[22], n[22], s.tokens.reasoning);
    set_int8(v[23], n[23], s.tokens.total);
    if (s.cost_text.empty()) {
        n[24] = 'n';
    } else {
        v[24] = DirectFunctionCall3(numeric_in, CStringGetDatum(s.cost_text.c_str()),
                                    ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
        n[24] = ' ';
    }
    set_text(v[25], n[25], core::to_string(s.cost_status));
    set_text(v[26], n[26], s.user_id);
    set_text(v[27], n[27], s.session_id);
    if (s.input.empty()) {
        n[28] = 'n';
    } else {
        v[28] = tape_to_jsonb(s.input);
        n[28] = ' ';
    }
    if (s.output.empty()) {
        n[29] = 'n';
    } else {
        v[29] = tape_to_jsonb(s.output);
        n[29] = ' ';
    }
    v[30] = tape_to_jsonb(s.attributes);
    n[30] = ' ';
    set_text(v[31], n[31], core::to_string(s.format));
}

void buffer_span(const core::Span& s) {
    const int level = GetCurrentTransactionNestLevel();
    const bool direct = force_direct || (pending > 0 && level != buffer_level);
    const int row = pending;  // a direct row uses the spare slot after the buffer
    pg_guard([&] {
        MemoryContext old = MemoryContextSwitchTo(batch_cxt);
        fill_row(row, s);
        MemoryContextSwitchTo(old);
    });
    if (direct) {
        write_now(row, 1);
        return;
    }
    if (pending == 0) buffer_level = level;
    ++pending;
    if (pending == kBatch) flush_spans();
}

void quarantine(std::string_view payload, const core::Failure& f) {
    static const Oid types[5] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID};
    const std::string_view stored = f.json.empty() ? payload : std::string_view(f.json);
    pg_guard([&] {
        if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "llmtrace: SPI_connect failed");
        if (!quarantine_plan) {
            SPIPlanPtr p = SPI_prepare(
                "INSERT INTO llmtrace.ingest_errors (payload, error, sqlstate, location, source_format) "
                "VALUES ($1, $2, $3, $4, $5)",
                5, const_cast<Oid*>(types));
            if (!p) elog(ERROR, "llmtrace: cannot prepare the quarantine insert");
            SPI_keepplan(p);
            quarantine_plan = p;
        }
        Datum v[5];
        char n[5] = {' ', ' ', ' ', ' ', ' '};
        v[0] = PointerGetDatum(cstring_to_text_with_len(stored.data(), int(stored.size())));
        v[1] = PointerGetDatum(cstring_to_text_with_len(f.message.data(), int(f.message.size())));
        v[2] = PointerGetDatum(cstring_to_text(f.sqlstate));
        if (f.location.empty())
            n[3] = 'n';
        else
            v[3] = PointerGetDatum(cstring_to_text_with_len(f.location.data(), int(f.location.size())));
        if (f.format)
            v[4] = PointerGetDatum(cstring_to_text(f.format));
        else
            n[4] = 'n';
        if (SPI_execute_plan(quarantine_plan, v, n, false, 0) != SPI_OK_INSERT)
            elog(ERROR, "llmtrace: quarantine insert failed");
        SPI_finish();
    });
}

[[noreturn]] void raise_failure(const core::Failure& f) {
    std::string msg = "llmtrace: ";
    if (f.location.empty() && f.json.empty()) {
        msg += "invalid payload: ";
    } else {
        msg += "invalid ";
        if (f.format) {
            msg += f.format;
            msg += ' ';
        }
        msg += "span at ";
        msg += f.location.empty() ? "the top level" : f.location;
        msg += ": ";
    }
    msg += f.message;
    throw core::InputError(f.sqlstate, msg);
}

}  // namespace

void register_ingest_callbacks() {
    RegisterXactCallback(on_xact, nullptr);
    RegisterSubXactCallback(on_subxact, nullptr);
}

void ingest_payload(std::string_view payload) {
    if (!normalizer) normalizer = new core::Normalizer();
    if (!batch_cxt)
        batch_cxt = AllocSetContextCreate(TopMemoryContext, "llmtrace span batch", ALLOCSET_DEFAULT_SIZES);
    if (GetDatabaseEncoding() != PG_UTF8 && GetDatabaseEncoding() != PG_SQL_ASCII)
        throw core::InputError("22021", "llmtrace: the database encoding must be UTF8");
    normalizer->options().content =
        store_content == kStoreNone ? core::ContentMode::None : core::ContentMode::Full;

    normalizer->normalize(payload, result);
    if (!result.failures.empty()) {
        if (on_error == kOnErrorError) raise_failure(result.failures.front());
        for (const core::Failure& f : result.failures) quarantine(payload, f);
    }
    if (result.spans.empty()) return;
    core::PriceTable& prices = current_prices();
    for (core::Span& s : result.spans) {
        core::price_span(s, prices);
        buffer_span(s);
    }
}

uint64_t flush_spans() {
    // Rows buffered at a shallower nesting level belong to an enclosing
    // statement: writing them here, inside a subtransaction, would let its
    // rollback take them along. Their own statement trigger writes them.
    if (pending == 0 || buffer_level != GetCurrentTransactionNestLevel()) return 0;
    const int count = pending;
    uint64_t stored = write_now(0, count);
    discard_pending();
    return stored;
}

uint64_t ingest_json_payload(std::string_view payload) {
    const uint64_t before = stored_count;
    // Normally the buffer is empty here and this call uses it and writes it.
    // Called inside a statement that has rows pending (ingest_json in a query
    // that feeds llmtrace.ingest), its spans are written at once instead, so
    // they are counted exactly and the pending rows stay with their statement.
    const bool nested = pending > 0;
    force_direct = nested;
    try {
        ingest_payload(payload);
    } catch (...) {
        force_direct = false;
        throw;
    }
    force_direct = false;
    if (!nested) flush_spans();
    return stored_count - before;
}

void quarantine_null_payload() {
    static const core::Failure null_payload{core::sqlstate::kNullNotAllowed, "the payload is NULL",
                                            std::string(), std::string(), nullptr};
    if (on_error == kOnErrorError) raise_failure(null_payload);
    quarantine(std::string_view(""), null_payload);
}


}  // namespace llmtrace::pg
