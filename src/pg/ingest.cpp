// The ingest path inside PostgreSQL (see ingest.hpp).
//
// Each payload is normalized as a stream: every span is priced and turned into
// a row of Datums as soon as the normalizer hands it over, every bad span is
// quarantined at once. Rows wait in a buffer of 256 (at most 4 MB) until the statement ends;
// a statement with more rows moves them into a tuplesort (PostgreSQL's own,
// bounded by work_mem, spilling to temporary files), so memory stays flat
// whatever the size of a COPY.
//
// At the end of the statement (the statement trigger on llmtrace.ingest, or
// ingest_json itself) the rows are written in key order (trace_id, span_id by
// byte, then start_time) with prepared multi-row INSERT ... ON CONFLICT DO
// NOTHING statements (256, 128, ..., 1 rows). Key order is what keeps
// concurrent writers from deadlocking: a writer that meets a span another
// open transaction is inserting waits for it, and since every statement takes
// its keys in the same order, no two statements can each wait for the other.
//
// Subtransactions: rows are buffered only at one transaction nesting level.
// A payload ingested at a deeper level while rows are pending (a function with
// an exception block called inside an ingesting statement) is written at once,
// so a rollback of that subtransaction can never take pending outer rows with it.
#include "pg/ingest.hpp"

#include "core/cost.hpp"
#include "core/normalizer.hpp"
#include "core/otlp_proto.hpp"
#include "core/redact.hpp"
#include "core/sampling.hpp"
#include "pg/alerts.hpp"
#include "pg/guard.hpp"
#include "pg/jsonb_builder.hpp"
#include "pg/pg_time.hpp"
#include "pg/price_cache.hpp"
#include "pg/rollup.hpp"
#include "pg/schema_check.hpp"
#include "pg/settings.hpp"
#include "pg/span_columns.hpp"
#include "pg/spi_plan.hpp"
#include "pg/tenants.hpp"

extern "C" {
#include "catalog/pg_collation.h"
#include "common/cryptohash.h"
#include "common/hmac.h"
#include "common/sha2.h"
#include "executor/tuptable.h"
#include "utils/resowner.h"
#include "utils/tuplesort.h"
#include "utils/typcache.h"
}

#include <algorithm>
#include <cstring>
#include <string>

#ifdef __GLIBC__
#include <malloc.h>
#endif

namespace llmtrace::pg {

namespace {

constexpr int kCols = kSpanColumnCount;
const auto& kColumns = kSpanColumns;
// Positions of the key columns.
constexpr int kTraceIdCol = col::trace_id, kSpanIdCol = col::span_id, kStartCol = col::start_time;

constexpr int kBatch = 256;
// A batch is also bounded in bytes: rows can be large (a resource with
// thousands of attributes repeats in every span's row), and 256 of them must
// not multiply a payload's size in memory.
constexpr Size kBatchBytes = 4 * 1024 * 1024;
constexpr int kPlanSizes = 9;  // 1, 2, 4, ..., 256 rows
constexpr int kSortedRow = kBatch;      // rows [256, 512): the buffer in key order
constexpr int kDirectRow = 2 * kBatch;  // one row written at once
constexpr int kRows = 2 * kBatch + 1;

// ---------------------------------------------------------------------------
// The per-statement buffer: every piece of state of the write path in one place.
// ---------------------------------------------------------------------------
struct StatementBuffer {
    MemoryContext batch_cxt = nullptr;  // Datums of buffered rows; reset after each write
    MemoryContext build_cxt = nullptr;  // what building one jsonb value takes; reset after each
    Datum values[kRows * kCols];
    char nulls[kRows * kCols];
    int64 row_no[kRows];                // the payload row of the statement each span came from
    bool stored[kRows];                 // written rows: newly stored (not a re-delivery)
    bool sampled_out[kRows];            // written rows: only the key goes to llmtrace.sampled_spans
    int pending = 0;                    // rows in [0, pending)
    int buffer_level = 0;               // transaction nesting level the rows belong to
    bool force_direct = false;          // ingest_json nested inside an ingesting statement
    Tuplesortstate* sort = nullptr;     // rows beyond the first 256 of a statement
    int64 sorted_rows = 0;
    int64 payload_rows = 0;             // payloads seen by the statement so far
    size_t payload_bytes = 0;           // bytes of payload seen by the statement so far
    int64 spans = 0;                    // spans buffered by the statement so far
    uint64_t stored_count = 0;          // spans stored by this backend, ever
    uint64_t rejected_count = 0;        // bad spans of payloads, quarantined or raised, ever
    bool payload_refused = false;       // the last payload was bad as a whole
    std::string payload_error;          // ... and why

    // Kept for the life of the backend.
    TupleDesc sort_desc = nullptr;      // the columns + row_no
    TupleTableSlot* put_slot = nullptr;
    TupleTableSlot* get_slot = nullptr;
    // [table][returning][size]. table 0: llmtrace.spans; 1: the keys of
    // sampled-out spans, llmtrace.sampled_spans. returning 0: plain INSERTs;
    // 1: INSERT ... RETURNING the key, to learn which rows were newly stored
    // (summaries on, or a per-span alert rule enabled).
    KeptPlan insert_plans[2][2][kPlanSizes];
    KeptPlan quarantine_plan;
    KeptPlan merge_plan;
    std::string insert_sql[2][2][kPlanSizes];
};

StatementBuffer buf;
core::Normalizer* normalizer = nullptr;
// The projects of the ingesting role (tenants.hpp), set for each payload.
const std::vector<std::string>* bound_projects = nullptr;

// Releases every resource of the statement without writing anything. The
// tuplesort lives in TopTransactionContext with its files owned by the top
// transaction: at a transaction abort both go away by themselves.
void discard_pending(bool end_sort) {
    if (buf.sort && end_sort) tuplesort_end(buf.sort);
    buf.sort = nullptr;
    buf.sorted_rows = 0;
    buf.pending = 0;
    buf.force_direct = false;
    if (buf.batch_cxt) MemoryContextReset(buf.batch_cxt);
}

bool rows_pending() { return buf.pending > 0 || buf.sort != nullptr; }

void on_xact(XactEvent event, void*) {
    switch (event) {
    case XACT_EVENT_ABORT:
    case XACT_EVENT_PARALLEL_ABORT:
        discard_pending(false);
        rollup::discard();
        alerts::discard();
        buf.payload_rows = 0;
        buf.payload_bytes = 0;
        buf.spans = 0;
        break;
    case XACT_EVENT_PRE_COMMIT:
    case XACT_EVENT_PARALLEL_PRE_COMMIT:
    case XACT_EVENT_PRE_PREPARE:
        // The statement trigger writes the buffer at the end of every statement;
        // rows still here would be lost, so the commit fails instead.
        if (rows_pending() || rollup::pending() || alerts::pending()) {
            discard_pending(true);
            rollup::discard();
            alerts::discard();
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
    if (event == SUBXACT_EVENT_ABORT_SUB) {
        rollup::discard_from_level(level);
        alerts::discard_from_level(level);
    }
    if (!rows_pending()) return;
    if (event == SUBXACT_EVENT_ABORT_SUB && buf.buffer_level >= level) discard_pending(true);
    if (event == SUBXACT_EVENT_COMMIT_SUB && buf.buffer_level >= level) buf.buffer_level = level - 1;
}

// The INSERT of `1 << size_index` rows. Both tables take the same parameters
// (every column of every row); the key table's statement uses only the keys.
const std::string& insert_query(int table, int returning, int size_index) {
    std::string& q = buf.insert_sql[table][returning][size_index];
    if (q.empty()) {
        int rows = 1 << size_index;
        if (table == 0) {
            q = "INSERT INTO llmtrace.spans (";
            for (int c = 0; c < kCols; ++c) {
                if (c) q += ", ";
                q += kColumns[c].name;
            }
        } else {
            q = "INSERT INTO llmtrace.sampled_spans (trace_id, span_id, start_time";
        }
        q += ") VALUES ";
        for (int r = 0; r < rows; ++r) {
            q += r ? ",(" : "(";
            if (table == 0) {
                for (int c = 0; c < kCols; ++c) {
                    if (c) q += ',';
                    q += '$';
                    q += std::to_string(r * kCols + c + 1);
                }
            } else {
                for (int c : {kTraceIdCol, kSpanIdCol, kStartCol}) {
                    if (c != kTraceIdCol) q += ',';
                    q += '$';
                    q += std::to_string(r * kCols + c + 1);
                }
            }
            q += ')';
        }
        q += " ON CONFLICT DO NOTHING";
        if (returning) q += " RETURNING trace_id, span_id, start_time";
    }
    return q;
}

// Marks which rows of [first, first + count) the INSERT just run stored: its
// RETURNING rows are those rows, in order, less the ones that conflicted.
void mark_stored(int first, int count) {
    SPITupleTable* tt = SPI_tuptable;
    uint64 j = 0;
    for (int r = first; r < first + count; ++r) {
        buf.stored[r] = false;
        if (j >= SPI_processed) continue;
        bool isnull;
        const Datum* v = &buf.values[r * kCols];
        Datum t = SPI_getbinval(tt->vals[j], tt->tupdesc, 1, &isnull);
        Datum s = SPI_getbinval(tt->vals[j], tt->tupdesc, 2, &isnull);
        Datum st = SPI_getbinval(tt->vals[j], tt->tupdesc, 3, &isnull);
        if (text_datum(t) == text_datum(v[kTraceIdCol]) && text_datum(s) == text_datum(v[kSpanIdCol]) &&
            DatumGetTimestampTz(st) == DatumGetTimestampTz(v[kStartCol])) {
            buf.stored[r] = true;
            ++j;
        }
    }
    if (j != SPI_processed) elog(ERROR, "llmtrace: the stored spans do not match the rows written");
    SPI_freetuptable(tt);
}

// Writes rows [first, first + count) of the buffer; must run inside pg_guard
// with SPI connected. Returns the number of rows stored; with `returning`,
// buf.stored says which.
uint64 write_rows(int first, int count, int returning, int table) {
    static Oid argtypes[kBatch * kCols];
    uint64 stored = 0;
    int done = 0;
    for (int idx = kPlanSizes - 1; idx >= 0; --idx) {
        int size = 1 << idx;
        while (count - done >= size) {
            for (int i = 0; i < size * kCols; ++i) argtypes[i] = kColumns[i % kCols].type;
            KeptPlan& plan = buf.insert_plans[table][returning][idx];
            plan.get(buf.insert_sql[table][returning][idx].c_str(), size * kCols, argtypes);
            stored += plan.execute(&buf.values[(first + done) * kCols], &buf.nulls[(first + done) * kCols], false,
                                   returning ? SPI_OK_INSERT_RETURNING : SPI_OK_INSERT);
            if (returning) mark_stored(first + done, size);
            done += size;
        }
    }
    return stored;
}

// A short error context for a failed write: which spans, from which payload
// rows of the statement (not the statement text with its thousands of parameters).
void set_write_context(ErrorData* ed, int first, int count) {
    std::string ctx = "llmtrace: while writing " + std::to_string(count) + " span" +
                      (count == 1 ? "" : "s") + " to llmtrace.spans";
    int64 rows[8];
    int nrows = 0;
    for (int r = first; r < first + count && nrows < 8; ++r)
        if (buf.row_no[r] > 0 && std::find(rows, rows + nrows, buf.row_no[r]) == rows + nrows)
            rows[nrows++] = buf.row_no[r];
    std::sort(rows, rows + nrows);
    if (nrows > 0) {
        ctx += nrows == 1 ? " from payload row " : " from payload rows ";
        for (int i = 0; i < nrows; ++i) ctx += (i ? ", " : "") + std::to_string(rows[i]);
        ctx += " of the statement";
    }
    auto shown = [](std::string_view s) {
        std::string out(s.substr(0, 64));
        if (s.size() > 64) out += "...";
        return core::printable_message(out);
    };
    ctx += "; first span: trace_id \"" + shown(text_datum(buf.values[first * kCols + kTraceIdCol])) +
           "\", span_id \"" + shown(text_datum(buf.values[first * kCols + kSpanIdCol])) + "\"";
    pg_guard([&] { ed->context = MemoryContextStrdup(GetMemoryChunkContext(ed), ctx.c_str()); });
}

// Appends the summary deltas of the spans written so far and fires their
// alerts, in the same (sub)transaction as the spans. Not inside pg_guard.
void write_deltas() {
    if (rollup::pending()) rollup::write();
    if (alerts::pending()) alerts::fire();
}

uint64 write_now(int first, int count) {
    if (count == 0) return 0;
    // Which rows were newly stored (RETURNING) matters when the summaries or
    // a per-span alert rule need it.
    const bool check_alerts = alerts::refresh_rules();
    const int returning = rollups_enabled || check_alerts ? 1 : 0;
    // llmtrace.sample_rate: a span of a dropped trace (and not an error) is
    // counted like any other, but only its key is stored. Rows are in key
    // order, so the spans of a trace form one run.
    bool any_sampled = false;
    for (int r = first; r < first + count; ++r) {
        const Datum* v = &buf.values[r * kCols];
        buf.sampled_out[r] = sample_rate < 1.0 && text_datum(v[col::status]) != "error" &&
                             !core::sample_keep(text_datum(v[kTraceIdCol]), sample_rate);
        any_sampled = any_sampled || buf.sampled_out[r];
    }
    for (int idx = 0; idx < kPlanSizes; ++idx) {
        insert_query(0, returning, idx);
        if (any_sampled) insert_query(1, returning, idx);
    }
    uint64 stored = 0;
    try {
        pg_guard([&] {
            if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "llmtrace: SPI_connect failed");
            for (int a = first; a < first + count;) {
                int b = a + 1;
                while (b < first + count && buf.sampled_out[b] == buf.sampled_out[a]) ++b;
                stored += write_rows(a, b - a, returning, buf.sampled_out[a] ? 1 : 0);
                a = b;
            }
            SPI_finish();
        });
    } catch (PgError& e) {
        set_write_context(e.edata(), first, count);
        throw;
    }
    buf.stored_count += stored;
    if (returning) {
        for (int r = first; r < first + count; ++r) {
            if (!buf.stored[r]) continue;
            if (rollups_enabled) rollup::add(&buf.values[r * kCols], &buf.nulls[r * kCols]);
            if (check_alerts) alerts::check(&buf.values[r * kCols], &buf.nulls[r * kCols]);
        }
        if (rollup::over_bound()) rollup::write_over_bound();
        if (alerts::windows_over_bound()) alerts::write_windows();
    }
    return stored;
}

// Key order: trace_id, span_id (bytewise, as text in the "C" collation), start_time.
int compare_rows(int a, int b) {
    const Datum* x = &buf.values[a * kCols];
    const Datum* y = &buf.values[b * kCols];
    for (int c : {kTraceIdCol, kSpanIdCol}) {
        int r = text_datum(x[c]).compare(text_datum(y[c]));
        if (r != 0) return r;
    }
    TimestampTz s = DatumGetTimestampTz(x[kStartCol]), t = DatumGetTimestampTz(y[kStartCol]);
    return s < t ? -1 : s > t ? 1 : 0;
}

// The sort's row type: the span columns, then the payload row number.
void ensure_sort_desc() {
    if (buf.sort_desc) return;
    MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);
    TupleDesc d = CreateTemplateTupleDesc(kCols + 2);
    for (int c = 0; c < kCols; ++c) TupleDescInitEntry(d, AttrNumber(c + 1), kColumns[c].name, kColumns[c].type, -1, 0);
    TupleDescInitEntry(d, AttrNumber(kCols + 1), "row_no", INT8OID, -1, 0);
    // The span's place in the statement: among spans of one key, the first
    // sent sorts first and is the one stored (the rest are re-deliveries).
    TupleDescInitEntry(d, AttrNumber(kCols + 2), "seq", INT8OID, -1, 0);
    buf.put_slot = MakeSingleTupleTableSlot(d, &TTSOpsVirtual);
    buf.get_slot = MakeSingleTupleTableSlot(d, &TTSOpsMinimalTuple);
    buf.sort_desc = d;
    MemoryContextSwitchTo(old);
}

// Runs fn with the top transaction's resource owner, which owns the sort's
// temporary files: they outlive any subtransaction the statement runs in.
template <typename Fn>
void as_top_transaction(Fn&& fn) {
    ResourceOwner saved = CurrentResourceOwner;
    CurrentResourceOwner = TopTransactionResourceOwner;
    PG_TRY();
    {
        fn();
    }
    PG_FINALLY();
    {
        CurrentResourceOwner = saved;
    }
    PG_END_TRY();
}

// Moves the buffered rows into the statement's tuplesort. Inside pg_guard.
void spill_to_sort() {
    ensure_sort_desc();
    as_top_transaction([&] {
        if (!buf.sort) {
            AttrNumber attnums[4] = {kTraceIdCol + 1, kSpanIdCol + 1, kStartCol + 1, kCols + 2};
            Oid ops[4] = {lookup_type_cache(TEXTOID, TYPECACHE_LT_OPR)->lt_opr,
                          lookup_type_cache(TEXTOID, TYPECACHE_LT_OPR)->lt_opr,
                          lookup_type_cache(TIMESTAMPTZOID, TYPECACHE_LT_OPR)->lt_opr,
                          lookup_type_cache(INT8OID, TYPECACHE_LT_OPR)->lt_opr};
            Oid colls[4] = {C_COLLATION_OID, C_COLLATION_OID, InvalidOid, InvalidOid};
            bool nulls_first[4] = {false, false, false, false};
            MemoryContext old = MemoryContextSwitchTo(TopTransactionContext);
            buf.sort = tuplesort_begin_heap(buf.sort_desc, 4, attnums, ops, colls, nulls_first,
                                            work_mem, nullptr, TUPLESORT_NONE);
            MemoryContextSwitchTo(old);
        }
        TupleTableSlot* slot = buf.put_slot;
        for (int r = 0; r < buf.pending; ++r) {
            ExecClearTuple(slot);
            for (int c = 0; c < kCols; ++c) {
                slot->tts_values[c] = buf.values[r * kCols + c];
                slot->tts_isnull[c] = buf.nulls[r * kCols + c] == 'n';
            }
            slot->tts_values[kCols] = Int64GetDatum(buf.row_no[r]);
            slot->tts_values[kCols + 1] = Int64GetDatum(buf.sorted_rows + r);
            slot->tts_isnull[kCols] = false;
            slot->tts_isnull[kCols + 1] = false;
            ExecStoreVirtualTuple(slot);
            tuplesort_puttupleslot(buf.sort, slot);
        }
        ExecClearTuple(slot);
    });
    buf.sorted_rows += buf.pending;
    buf.pending = 0;
    MemoryContextReset(buf.batch_cxt);
}

// Writes every row of the statement's tuplesort in key order.
uint64 write_sorted() {
    uint64 stored = 0;
    pg_guard([&] {
        spill_to_sort();
        as_top_transaction([&] { tuplesort_performsort(buf.sort); });
    });
    for (;;) {
        int n = 0;
        bool more = true;
        pg_guard([&] {
            MemoryContext old = MemoryContextSwitchTo(buf.batch_cxt);
            Datum v[kCols + 2];
            bool isnull[kCols + 2];
            while (n < kBatch && MemoryContextMemAllocated(buf.batch_cxt, false) <= kBatchBytes) {
                CHECK_FOR_INTERRUPTS();
                if (!tuplesort_gettupleslot(buf.sort, true, true, buf.get_slot, nullptr)) {
                    more = false;
                    break;
                }
                HeapTuple t = ExecCopySlotHeapTuple(buf.get_slot);
                heap_deform_tuple(t, buf.sort_desc, v, isnull);
                for (int c = 0; c < kCols; ++c) {
                    buf.values[n * kCols + c] = v[c];
                    buf.nulls[n * kCols + c] = isnull[c] ? 'n' : ' ';
                }
                buf.row_no[n] = DatumGetInt64(v[kCols]);
                ++n;
            }
            ExecClearTuple(buf.get_slot);
            MemoryContextSwitchTo(old);
        });
        stored += write_now(0, n);
        pg_guard([] { MemoryContextReset(buf.batch_cxt); });
        if (!more) break;
    }
    pg_guard([] { tuplesort_end(buf.sort); });
    buf.sort = nullptr;
    return stored;
}

// Writes the buffered rows (no sort started) in key order.
uint64 write_buffer_sorted() {
    int order[kBatch];
    for (int i = 0; i < buf.pending; ++i) order[i] = i;
    // Stable: among spans of one key, the first sent is written first and stored.
    std::stable_sort(order, order + buf.pending, [](int a, int b) { return compare_rows(a, b) < 0; });
    for (int i = 0; i < buf.pending; ++i) {
        std::memcpy(&buf.values[(kSortedRow + i) * kCols], &buf.values[order[i] * kCols], sizeof(Datum) * kCols);
        std::memcpy(&buf.nulls[(kSortedRow + i) * kCols], &buf.nulls[order[i] * kCols], kCols);
        buf.row_no[kSortedRow + i] = buf.row_no[order[i]];
    }
    return write_now(kSortedRow, buf.pending);
}

// Writes the rows pending at this level, in key order, with their summary
// deltas and alerts; returns the spans stored.
uint64 write_pending() {
    uint64 stored = buf.sort ? write_sorted() : write_buffer_sorted();
    write_deltas();
    discard_pending(true);
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

// A jsonb value in the batch: built in its own context (the JsonbValue tree
// takes several times the size of the result), copied, and the rest freed.
// Runs inside pg_guard with the batch context current.
Datum batch_jsonb(const core::JsonTape& t) {
    MemoryContext batch = MemoryContextSwitchTo(buf.build_cxt);
    Datum built = tape_to_jsonb(t, store_content == kStoreRedact);
    MemoryContextSwitchTo(batch);
    Datum copy = datumCopy(built, false, -1);
    MemoryContextReset(buf.build_cxt);
    return copy;
}

inline void set_jsonb(Datum& v, char& n, const core::JsonTape& t) {
    if (t.empty()) {
        n = 'n';
        return;
    }
    v = batch_jsonb(t);
    n = ' ';
}

// Scratch for a redacted text value (copied into the row at once).
std::string& redact_scratch() {
    static std::string r;
    return r;
}

// llmtrace.hash_user_ids: the database's secret (llmtrace.hash_secret, made by
// CREATE EXTENSION, readable by its owner only), read once per session.
struct HashSecret {
    Oid db = InvalidOid;
    int len = 0;
    uint8 key[64];
};
HashSecret hash_secret;

void load_hash_secret() {
    if (hash_secret.db == MyDatabaseId) return;
    pg_guard([] {
        if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "llmtrace: SPI_connect failed");
        if (SPI_execute("SELECT secret FROM llmtrace.hash_secret WHERE id = 1", true, 1) != SPI_OK_SELECT)
            elog(ERROR, "llmtrace: could not read llmtrace.hash_secret");
        bool isnull = true;
        Datum d = SPI_processed == 1 ? SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)
                                     : (Datum)0;
        bytea* b = isnull ? nullptr : DatumGetByteaPP(d);
        if (b == nullptr || VARSIZE_ANY_EXHDR(b) < 32)
            ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                            errmsg("llmtrace.hash_user_ids is on but llmtrace.hash_secret holds no secret"),
                            errhint("Re-create it as the extension owner: INSERT INTO llmtrace.hash_secret "
                                    "(secret) VALUES (decode(replace(gen_random_uuid()::text || "
                                    "gen_random_uuid()::text, '-', ''), 'hex')).")));
        hash_secret.len = int(std::min<size_t>(sizeof hash_secret.key, VARSIZE_ANY_EXHDR(b)));
        std::memcpy(hash_secret.key, VARDATA_ANY(b), size_t(hash_secret.len));
        hash_secret.db = MyDatabaseId;
        SPI_finish();
    });
}

// Hex HMAC-SHA-256 of a user id under the database's secret. Runs inside pg_guard.
void hash_user_id(core::Str id, char* hex) {
    uint8 mac[PG_SHA256_DIGEST_LENGTH];
    pg_hmac_ctx* ctx = pg_hmac_create(PG_SHA256);
    if (ctx == nullptr || pg_hmac_init(ctx, hash_secret.key, size_t(hash_secret.len)) < 0 ||
        pg_hmac_update(ctx, reinterpret_cast<const uint8*>(id.data()), id.size()) < 0 ||
        pg_hmac_final(ctx, mac, sizeof mac) < 0)
        elog(ERROR, "llmtrace: could not compute HMAC-SHA-256");
    pg_hmac_free(ctx);
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < sizeof mac; ++i) {
        hex[2 * i] = digits[mac[i] >> 4];
        hex[2 * i + 1] = digits[mac[i] & 15];
    }
}

// Fills buffer row `row` from a span. Runs inside pg_guard.
void fill_row(int row, const core::Span& s) {
    Datum* v = &buf.values[row * kCols];
    char* n = &buf.nulls[row * kCols];
    auto text = [&](int c, core::Str x) { set_text(v[c], n[c], x); };
    auto int8 = [&](int c, const std::optional<int64_t>& x) { set_int8(v[c], n[c], x); };
    auto jsonb = [&](int c, const core::JsonTape& t) { set_jsonb(v[c], n[c], t); };
    auto ts = [&](int c, std::optional<int64_t> us) {
        n[c] = us ? ' ' : 'n';
        if (us) v[c] = TimestampTzGetDatum(to_timestamptz(*us));
    };
    text(col::trace_id, s.trace_id);
    text(col::span_id, s.span_id);
    text(col::parent_span_id, s.parent_span_id);
    text(col::name, s.name);
    text(col::kind, s.kind);
    text(col::operation, s.operation);
    ts(col::start_time, s.start_us);
    ts(col::end_time, s.end_us);
    n[col::duration_ms] = s.duration_ms ? ' ' : 'n';
    if (s.duration_ms) v[col::duration_ms] = Float8GetDatum(*s.duration_ms);
    text(col::status, core::to_string(s.status));
    if (store_content == kStoreRedact && core::present(s.error_message) &&
        core::redact(s.error_message, redact_scratch()))
        text(col::error_message, redact_scratch());
    else
        text(col::error_message, s.error_message);
    text(col::service, s.service);
    text(col::project, bound_projects ? stored_project(*bound_projects, s.project, forced_project)
                                      : s.project);
    text(col::environment, s.environment);
    text(col::endpoint, s.endpoint);
    text(col::feature, s.feature);
    text(col::provider, s.provider);
    text(col::model, s.model);
    int8(col::input_tokens, s.tokens.input);
    int8(col::output_tokens, s.tokens.output);
    int8(col::cached_input_tokens, s.tokens.cached_input);
    int8(col::cache_write_tokens, s.tokens.cache_write);
    int8(col::reasoning_tokens, s.tokens.reasoning);
    int8(col::total_tokens, s.tokens.total);
    n[col::cost_usd] = s.cost_text.empty() ? 'n' : ' ';
    if (!s.cost_text.empty())
        v[col::cost_usd] = DirectFunctionCall3(numeric_in, CStringGetDatum(s.cost_text.c_str()),
                                               ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
    text(col::cost_status, core::to_string(s.cost_status));
    if (hash_user_ids && core::present(s.user_id)) {
        char hex[2 * PG_SHA256_DIGEST_LENGTH];
        hash_user_id(s.user_id, hex);
        text(col::user_id, core::Str(hex, sizeof hex));
    } else {
        text(col::user_id, s.user_id);
    }
    text(col::session_id, s.session_id);
    jsonb(col::input, s.input);
    jsonb(col::output, s.output);
    v[col::attributes] = batch_jsonb(s.attributes);  // always an object
    n[col::attributes] = ' ';
    text(col::source_format, core::to_string(s.format));
}

void buffer_span(const core::Span& s, int64 row_no) {
    const int level = GetCurrentTransactionNestLevel();
    const bool direct = buf.force_direct || (rows_pending() && level != buf.buffer_level);
    const int row = direct ? kDirectRow : buf.pending;
    pg_guard([&] {
        MemoryContext old = MemoryContextSwitchTo(buf.batch_cxt);
        fill_row(row, s);
        MemoryContextSwitchTo(old);
    });
    buf.row_no[row] = row_no;
    if (direct) {
        write_now(row, 1);
        write_deltas();
        return;
    }
    if (!rows_pending()) buf.buffer_level = level;
    ++buf.pending;
    ++buf.spans;
    if (buf.pending == kBatch || MemoryContextMemAllocated(buf.batch_cxt, false) > kBatchBytes)
        pg_guard([] { spill_to_sort(); });
}

// ---------------------------------------------------------------------------
// Quarantine
// ---------------------------------------------------------------------------

// The payload being ingested, for the quarantine: its SHA-256 is computed
// once, on its first failure.
struct PayloadRef {
    std::string_view text;  // nullptr data: a NULL payload
    // A binary body (OTLP protobuf) as received, when `text` is what it was
    // transcoded into: its length and SHA-256 are the body's, and a whole bad
    // body is kept base64-encoded.
    std::string_view raw;
    bool hashed = false;
    uint8 digest[PG_SHA256_DIGEST_LENGTH];

    std::string_view received() const { return raw.data() ? raw : text; }
};

void hash_payload(PayloadRef& p) {
    if (p.hashed || p.received().data() == nullptr) return;
    pg_guard([&] {
        pg_cryptohash_ctx* ctx = pg_cryptohash_create(PG_SHA256);
        if (!ctx || pg_cryptohash_init(ctx) < 0) elog(ERROR, "llmtrace: could not initialize SHA-256");
        constexpr size_t kChunk = 1024 * 1024;
        const std::string_view bytes = p.received();
        for (size_t off = 0; off < bytes.size(); off += kChunk) {
            CHECK_FOR_INTERRUPTS();
            size_t len = std::min(kChunk, bytes.size() - off);
            if (pg_cryptohash_update(ctx, reinterpret_cast<const uint8*>(bytes.data() + off), len) < 0)
                elog(ERROR, "llmtrace: could not compute SHA-256");
        }
        if (pg_cryptohash_final(ctx, p.digest, sizeof p.digest) < 0)
            elog(ERROR, "llmtrace: could not compute SHA-256");
        pg_cryptohash_free(ctx);
    });
    p.hashed = true;
}

// Length of the longest prefix of s no longer than limit that does not split
// a UTF-8 character.
size_t utf8_prefix(std::string_view s, size_t limit) {
    if (s.size() <= limit) return s.size();
    size_t cut = limit;
    while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
    return cut;
}

void quarantine(PayloadRef& payload, const core::Failure& f) {
    static const Oid types[9] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, INT8OID, BYTEAOID, BOOLOID, TEXTOID};
    // A bound writer's bad payload belongs to its (first) project.
    const std::vector<std::string>& bound = writer_projects();
    // What is kept of the bad input: the bad span's JSON (already cut by the
    // normalizer) or a prefix of the payload; nothing of it when content must
    // not be stored (it may hold prompts and completions).
    std::string_view kept;
    bool truncated = false;
    const bool keep_text = store_content != kStoreNone && payload.received().data() != nullptr;
    static std::string encoded;
    if (keep_text && !f.json.empty()) {
        kept = f.json;
        truncated = f.json_truncated;
    } else if (keep_text && payload.raw.data() != nullptr) {
        // A binary body: "base64:" and the base64 of as much of it as fits.
        const size_t room = size_t(quarantine_max_bytes) > 7 ? (size_t(quarantine_max_bytes) - 7) / 4 * 3 : 0;
        const std::string_view part = payload.raw.substr(0, room);
        encoded = "base64:";
        core::append_base64(encoded, part);
        kept = encoded;
        truncated = part.size() < payload.raw.size();
    } else if (keep_text) {
        kept = payload.text.substr(0, utf8_prefix(payload.text, size_t(quarantine_max_bytes)));
        truncated = kept.size() < payload.text.size();
    }
    if (keep_text && store_content == kStoreRedact && core::redact(kept, redact_scratch())) kept = redact_scratch();
    hash_payload(payload);
    pg_guard([&] {
        if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "llmtrace: SPI_connect failed");
        buf.quarantine_plan.get(
            "INSERT INTO llmtrace.ingest_errors (payload, error, sqlstate, location, source_format, "
            "payload_bytes, payload_sha256, payload_truncated, project) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            9, types);
        Datum v[9];
        char n[9] = {' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '};
        if (keep_text)
            v[0] = PointerGetDatum(cstring_to_text_with_len(kept.data(), int(kept.size())));
        else
            n[0] = 'n';
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
        if (payload.received().data() != nullptr) {
            v[5] = Int64GetDatum(int64(payload.received().size()));
            bytea* h = static_cast<bytea*>(palloc(VARHDRSZ + sizeof payload.digest));
            SET_VARSIZE(h, VARHDRSZ + sizeof payload.digest);
            std::memcpy(VARDATA(h), payload.digest, sizeof payload.digest);
            v[6] = PointerGetDatum(h);
        } else {
            n[5] = 'n';
            n[6] = 'n';
        }
        v[7] = BoolGetDatum(truncated);
        if (!bound.empty())
            v[8] = PointerGetDatum(cstring_to_text_with_len(bound.front().data(), int(bound.front().size())));
        else if (forced_project && *forced_project)
            v[8] = PointerGetDatum(cstring_to_text(forced_project));
        else
            n[8] = 'n';
        buf.quarantine_plan.execute(v, n, false, SPI_OK_INSERT);
        SPI_finish();
    });
    alerts::refresh_rules();
    alerts::quarantined();
}

[[noreturn]] void raise_failure(const core::Failure& f) {
    std::string msg = "llmtrace: ";
    if (f.whole_payload) {
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
    throw RaisedInputError(f.sqlstate, msg);
}

// A Braintrust merge row whose first row came in an earlier payload completes
// the stored span (llmtrace.apply_span_merge_internal). Rows this statement
// has pending are written first, so that its first row can be found. Returns
// false when no span of that trace and span id is stored.
bool apply_merge(const core::Span& s) {
    if (rows_pending() && buf.buffer_level == GetCurrentTransactionNestLevel()) write_pending();
    bool found = false;
    pg_guard([&] {
        static const Oid types[17] = {TEXTOID, TEXTOID, TIMESTAMPTZOID, TEXTOID, TEXTOID, INT8OID, INT8OID,
                                      INT8OID, INT8OID, INT8OID, INT8OID, FLOAT8OID, BOOLOID, TEXTOID,
                                      JSONBOID, JSONBOID, JSONBOID};
        Datum v[17];
        char n[17];
        for (char& c : n) c = ' ';
        auto text = [&](int i, core::Str x) {
            if (core::present(x))
                v[i] = PointerGetDatum(cstring_to_text_with_len(x.data(), int(x.size())));
            else
                n[i] = 'n';
        };
        auto int8 = [&](int i, const std::optional<int64_t>& x) {
            if (x)
                v[i] = Int64GetDatum(*x);
            else
                n[i] = 'n';
        };
        auto jsonb = [&](int i, const core::JsonTape& t) {
            if (t.empty())
                n[i] = 'n';
            else
                v[i] = batch_jsonb(t);
        };
        text(0, s.trace_id);
        text(1, s.span_id);
        if (s.end_us)
            v[2] = TimestampTzGetDatum(to_timestamptz(*s.end_us));
        else
            n[2] = 'n';
        text(3, s.model);
        text(4, s.provider);
        int8(5, s.tokens.input);
        int8(6, s.tokens.output);
        int8(7, s.tokens.cached_input);
        int8(8, s.tokens.cache_write);
        int8(9, s.tokens.reasoning);
        int8(10, s.tokens.total);
        if (s.reported_cost)
            v[11] = Float8GetDatum(*s.reported_cost);
        else
            n[11] = 'n';
        v[12] = BoolGetDatum(s.status == core::SpanStatus::Error);
        text(13, s.error_message);
        jsonb(14, s.input);
        jsonb(15, s.output);
        jsonb(16, s.attributes);
        if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "llmtrace: SPI_connect failed");
        buf.merge_plan.get(
            "SELECT llmtrace.apply_span_merge_internal($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, "
            "$14, $15, $16, $17)",
            17, types);
        buf.merge_plan.execute(v, n, false, SPI_OK_SELECT);
        bool isnull = true;
        Datum r = SPI_processed == 1 ? SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)
                                     : (Datum)0;
        found = !isnull && DatumGetBool(r);
        SPI_finish();
    });
    return found;
}

// What the normalizer hands over goes straight to the buffer or the quarantine.
class IngestSink final : public core::SpanSink {
public:
    IngestSink(PayloadRef& payload, core::PriceTable& prices, int64 row_no)
        : payload_(payload), prices_(prices), row_no_(row_no) {}
    void span(core::Span& s) override {
        if (s.merge_only) {
            if (!apply_merge(s)) {
                core::Failure f = core::make_failure(
                    core::sqlstate::kNullNotAllowed,
                    "a Braintrust merge row (\"_is_merge\": true) of a span that is not stored: its first row "
                    "must come first, in this payload or an earlier one",
                    std::string(), std::string(), "braintrust");
                failure(f);
            }
            return;
        }
        core::price_span(s, prices_);
        buffer_span(s, row_no_);
    }
    void failure(core::Failure& f) override {
        if (f.whole_payload) {
            buf.payload_refused = true;
            buf.payload_error = f.message;
        } else {
            ++buf.rejected_count;
        }
        if (on_error == kOnErrorError) raise_failure(f);
        quarantine(payload_, f);
    }

private:
    PayloadRef& payload_;
    core::PriceTable& prices_;
    int64 row_no_;
};

void check_interrupts() {
    pg_guard([] { CHECK_FOR_INTERRUPTS(); });
}

void ensure_ready() {
    check_schema();
    if (!normalizer) normalizer = new core::Normalizer();
    if (!buf.batch_cxt)
        buf.batch_cxt = AllocSetContextCreate(TopMemoryContext, "llmtrace span batch", ALLOCSET_DEFAULT_SIZES);
    if (!buf.build_cxt)
        buf.build_cxt = AllocSetContextCreate(TopMemoryContext, "llmtrace jsonb build", ALLOCSET_DEFAULT_SIZES);
    if (GetDatabaseEncoding() != PG_UTF8 && GetDatabaseEncoding() != PG_SQL_ASCII)
        throw core::InputError("22021", "llmtrace: the database encoding must be UTF8");
}

// Ends the statement's accounting and gives memory back after a statement that
// used a lot of it (large payloads, or many spans: jsonb of big attributes).
void end_statement() {
    constexpr size_t kLargeBytes = 8 * 1024 * 1024;
    constexpr int64 kManySpans = 4096;
    const bool large = buf.payload_bytes > kLargeBytes || buf.spans > kManySpans;
    buf.payload_bytes = 0;
    buf.payload_rows = 0;
    buf.spans = 0;
    if (!large) return;
    if (normalizer) normalizer->release_memory();
#ifdef __GLIBC__
    malloc_trim(0);
#endif
}

}  // namespace

void register_ingest_callbacks() {
    RegisterXactCallback(on_xact, nullptr);
    RegisterSubXactCallback(on_subxact, nullptr);
}

namespace {

// A whole payload refused before the normalizer saw it.
void refuse_payload(PayloadRef& ref, const char* sqlstate, const std::string& message) {
    core::Failure f = core::make_failure(sqlstate, message, std::string(), std::string(), nullptr);
    f.whole_payload = true;
    buf.payload_refused = true;
    buf.payload_error = f.message;
    if (on_error == kOnErrorError) raise_failure(f);
    quarantine(ref, f);
}

// Normalizes `payload` (JSON text) of `ref`, whose received size is checked
// against llmtrace.max_payload_bytes; JSON transcoded from a binary body may
// be up to kTranscodedFactor times that.
constexpr size_t kTranscodedFactor = 4;

// The OTLP/JSON form of the protobuf body being ingested (reused).
std::string transcoded;

// Ingests one payload: `payload` (JSON text), or, when ref.raw is set, the
// OTLP protobuf body ref.raw, transcoded first.
void ingest_ref(PayloadRef& ref, std::string_view payload, bool is_null) {
    ensure_ready();
    const int64 row_no = ++buf.payload_rows;
    if (!is_null && ref.text.data() == nullptr && ref.raw.data() == nullptr) ref.text = payload;
    if (!is_null) buf.payload_bytes += ref.received().size();
    if (is_null) {
        refuse_payload(ref, core::sqlstate::kNullNotAllowed, "the payload is NULL");
        return;
    }
    if (ref.received().size() > size_t(max_payload_bytes)) {
        refuse_payload(ref, "54000",
                       "the payload is " + std::to_string(ref.received().size()) +
                           " bytes, more than llmtrace.max_payload_bytes (" + std::to_string(max_payload_bytes) + ")");
        return;
    }
    if (ref.raw.data() != nullptr) {
        transcoded.clear();
        try {
            core::otlp_proto_to_json(ref.raw, transcoded);
        } catch (const core::InputError& e) {
            refuse_payload(ref, e.sqlstate(), e.what());
            return;
        }
        ref.text = payload = transcoded;
    }
    if (payload.size() > kTranscodedFactor * size_t(max_payload_bytes)) {
        refuse_payload(ref, "54000",
                       "the payload's OTLP/JSON form is " + std::to_string(payload.size()) + " bytes, more than " +
                           std::to_string(kTranscodedFactor) + " times llmtrace.max_payload_bytes");
        return;
    }
    core::Normalizer::Options& opts = normalizer->options();
    opts.content = store_content == kStoreNone     ? core::ContentMode::None
                   : store_content == kStoreRedact ? core::ContentMode::Redact
                                                   : core::ContentMode::Full;
    if (hash_user_ids) load_hash_secret();
    bound_projects = &writer_projects();
    opts.failure_json_limit = size_t(quarantine_max_bytes);
    opts.interrupt_check = check_interrupts;
    core::PriceTable& prices = current_prices();
    IngestSink sink(ref, prices, row_no);
    normalizer->normalize(payload, sink);
    if (transcoded.capacity() > size_t(16) * 1024 * 1024) std::string().swap(transcoded);
}

// Runs `ingest` as a function call (ingest_json, ingest_otlp): normally the
// buffer is empty here and the call uses it and writes it. Called inside a
// statement that has rows pending (a query that feeds llmtrace.ingest), its
// spans are written at once instead, so they are counted exactly and the
// pending rows stay with their statement.
template <typename Fn>
void ingest_as_call(Fn&& ingest) {
    const bool nested = rows_pending();
    buf.force_direct = nested;
    try {
        ingest();
    } catch (...) {
        buf.force_direct = false;
        throw;
    }
    buf.force_direct = false;
    if (!nested) flush_spans();
}

}  // namespace

void ingest_payload(std::string_view payload, bool is_null) {
    PayloadRef ref;
    ingest_ref(ref, payload, is_null);
}

uint64_t flush_spans() {
    // Rows buffered at a shallower nesting level belong to an enclosing
    // statement: writing them here, inside a subtransaction, would let its
    // rollback take them along. Their own statement trigger writes them.
    if (!rows_pending()) {
        // Quarantined payloads alone still count for the quarantine_rate rules.
        if (alerts::pending()) alerts::fire();
        end_statement();
        return 0;
    }
    if (buf.buffer_level != GetCurrentTransactionNestLevel()) return 0;
    uint64_t stored = write_pending();
    end_statement();
    return stored;
}

uint64_t ingest_json_payload(std::string_view payload, bool is_null) {
    const uint64_t before = buf.stored_count;
    ingest_as_call([&] { ingest_payload(payload, is_null); });
    return buf.stored_count - before;
}

OtlpResult ingest_otlp_payload(std::string_view body, bool is_null, std::string_view content_type) {
    ensure_ready();
    // The media type, without parameters (charset=...), lower-cased.
    std::string media(content_type.substr(0, content_type.find(';')));
    while (!media.empty() && (media.back() == ' ' || media.back() == '\t')) media.pop_back();
    while (!media.empty() && (media.front() == ' ' || media.front() == '\t')) media.erase(0, 1);
    for (char& c : media) c = char(c >= 'A' && c <= 'Z' ? c + 32 : c);
    const bool json = media == "application/json";
    const bool proto = media == "application/x-protobuf" || media == "application/protobuf";
    if (!json && !proto)
        throw core::InputError("22023", "llmtrace.ingest_otlp: unsupported content type \"" +
                                            core::printable_message(std::string(content_type.substr(0, 100))) +
                                            "\" (expected application/x-protobuf or application/json)");
    OtlpResult r;
    const uint64_t stored_before = buf.stored_count, rejected_before = buf.rejected_count;
    buf.payload_refused = false;
    buf.payload_error.clear();
    ingest_as_call([&] {
        PayloadRef ref;
        if (proto && !is_null) ref.raw = body;
        ingest_ref(ref, body, is_null);
    });
    r.stored = buf.stored_count - stored_before;
    r.rejected = buf.rejected_count - rejected_before;
    r.refused = buf.payload_refused;
    r.error = buf.payload_error;
    return r;
}

}  // namespace llmtrace::pg
