// Per-span alert rules checked at ingest (see alerts.hpp and src/sql/alerts.sql).
#include "pg/alerts.hpp"

#include "core/sketch.hpp"
#include "pg/exact_sum.hpp"
#include "pg/guard.hpp"
#include "pg/price_cache.hpp"
#include "pg/span_columns.hpp"
#include "pg/spi_plan.hpp"

extern "C" {
#include "access/heapam.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/pg_am.h"
#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
}

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace llmtrace::pg::alerts {

namespace {

enum class Kind {
    SpanCost,
    SpanLatency,
    UnpricedModel,
    DailyCost,
    // windowed (evaluated from per-minute sums by llmtrace.evaluate_window_rules())
    ErrorRate,
    P95Latency,
    TokensPerWindow,
    CostPerWindow,
    QuarantineRate,
    NoTraffic,
};

bool windowed(Kind k) { return k >= Kind::ErrorRate; }

// The scope of a per-span alert: the span's group.
constexpr int kScopeCols[] = {col::project, col::environment, col::provider, col::model};
constexpr int kScopeCount = 4;
// Candidates one statement collects; spans of further rules and scopes are not
// alerted on (a hostile writer's thousand new models must not become a
// thousand alerts of one statement).
constexpr size_t kMaxCandidates = 100;

struct Rule {
    int64 id = 0;
    Kind kind = Kind::SpanCost;
    Datum cost_threshold = (Datum)0;  // numeric in rules_cxt (span_cost)
    double ms_threshold = 0;          // span_latency
    int64 window_us = 0;              // windowed kinds: time_window
    bool has_filter[kScopeCount] = {};
    std::string filter[kScopeCount];
};

std::vector<Rule> rules;
bool rules_loaded = false;
VersionWatch watch;              // when alert_rules_version must be read again
int64 loaded_version = -1;       // alert_rules_version the cache holds
Oid rules_relid = InvalidOid;
MemoryContext rules_cxt = nullptr;
KeptPlan load_plan;
KeptPlan fire_plan;
KeptPlan daily_plan;

struct Candidate {
    int64 rule_id = 0;
    Kind kind = Kind::SpanCost;
    uint8_t present = 0;  // bit i: scope[i] is not NULL
    std::string scope[kScopeCount];
    Datum cost = (Datum)0;  // span_cost: numeric in cand_cxt
    double ms = 0;          // span_latency
    std::string trace_id, span_id;
};

std::unordered_map<std::string, Candidate> candidates;
int candidates_level = 0;
MemoryContext cand_cxt = nullptr;

// Until when each rule and scope (the candidate key) is known to be in its
// cooldown, as llmtrace.fire_span_alerts() said: spans over its threshold
// before then are not sent again (the common case of a busy scope costs no
// SQL). Forgotten when the rules change and when a (sub)transaction aborts (a
// slot this backend took may have been given back); bounded in size.
std::unordered_map<std::string, TimestampTz> quiet;
constexpr size_t kMaxQuiet = 10000;
bool quiet_stale = false;        // alert_state was deleted from or truncated
Oid state_relid = InvalidOid;

// daily_cost rules: those a statement's priced spans touched, evaluated when
// it ends (llmtrace.evaluate_daily_cost()), at most once a second per rule in
// this backend (llmtrace.evaluate_alerts() catches the rest); and the UTC day
// (as DateADT) each rule is known to have fired on, which needs no evaluation.
std::vector<int64> touched;
std::unordered_map<int64, TimestampTz> last_evaluated;
std::unordered_map<int64, int32> fired_day;
constexpr int64 kEvaluateEveryUs = 1000000;

// Windowed rules: what the statement's spans (and quarantined payloads) add
// to each scope's minutes (a scope: the filters of windowed rules; rules with
// the same filters share one), appended to llmtrace.alert_window_deltas when
// the statement ends; then the rules of the scopes it added to are evaluated
// (llmtrace.evaluate_window_rules()), at most once a second per rule in this
// backend, and only outside transaction blocks: evaluating takes the rule's
// slot until the transaction ends, which a transaction left open must not
// hold (llmtrace.evaluate_alerts() evaluates those within the minute).
struct Scope {
    bool has_filter[kScopeCount] = {};
    std::string filter[kScopeCount];
    int64 window_us = 0;          // the longest window of its rules that count spans
    bool counts_spans = false;    // a rule other than quarantine_rate
    bool needs_latency = false;   // a p95_latency rule
    bool needs_cost = false;      // a cost_per_window rule
    bool quarantine = false;      // a quarantine_rate rule (no filters)
    std::vector<int64> rule_ids;
    bool touched = false;         // the statement added to it
};
std::vector<Scope> scopes;
struct WindowSums {
    int64 spans = 0, errors = 0, quarantined = 0;
    __int128 tokens = 0;
    ExactSum cost;  // its numeric fallback lives in win_cxt
    std::unique_ptr<core::Sketch> latency;
};
struct WindowKey {
    size_t scope;
    int64 minute;
    bool operator==(const WindowKey& o) const { return scope == o.scope && minute == o.minute; }
};
struct WindowKeyHash {
    size_t operator()(const WindowKey& k) const { return k.scope * 1000003u ^ std::hash<int64>()(k.minute); }
};
std::unordered_map<WindowKey, WindowSums, WindowKeyHash> windows;
// Rows past this are appended before the statement ends.
constexpr size_t kMaxWindowRows = 4096;
std::vector<int64> window_touched;  // rule ids
std::unordered_map<int64, TimestampTz> window_evaluated;
MemoryContext win_cxt = nullptr, win_spare_cxt = nullptr;
KeptPlan window_insert_plan;
KeptPlan window_eval_plan;

int64 floor_minute(TimestampTz t) {
    int64 r = t % USECS_PER_MINUTE;
    return r < 0 ? t - r - USECS_PER_MINUTE : t - r;
}

void note_pending() {
    if (candidates.empty() && touched.empty() && windows.empty()) candidates_level = GetCurrentTransactionNestLevel();
}

void ensure_window_contexts() {
    if (win_cxt) return;
    pg_guard([] {
        win_cxt = AllocSetContextCreate(TopMemoryContext, "llmtrace alert windows", ALLOCSET_SMALL_SIZES);
        win_spare_cxt = AllocSetContextCreate(TopMemoryContext, "llmtrace alert windows", ALLOCSET_SMALL_SIZES);
    });
}

// Cost sums that fell back to numeric make a new numeric per span: when the
// old ones take more than 1 MB, the current sums move to the other context and
// this one is emptied.
void compact_window_costs() {
    if (MemoryContextMemAllocated(win_cxt, false) < 1024 * 1024) return;
    pg_guard([] {
        MemoryContextReset(win_spare_cxt);
        MemoryContext old = MemoryContextSwitchTo(win_spare_cxt);
        for (auto& entry : windows)
            entry.second.cost.copy_numeric();
        MemoryContextSwitchTo(old);
        MemoryContextReset(win_cxt);
    });
    std::swap(win_cxt, win_spare_cxt);
}

WindowSums& window_for(size_t scope, int64 minute) {
    note_pending();
    Scope& sc = scopes[scope];
    if (!sc.touched) {
        sc.touched = true;
        window_touched.insert(window_touched.end(), sc.rule_ids.begin(), sc.rule_ids.end());
    }
    return windows[WindowKey{scope, minute}];
}

void on_relcache_inval(Datum, Oid relid) {
    if (relid == InvalidOid || relid == rules_relid) watch.invalidated();
    if (relid == InvalidOid || relid == state_relid) quiet_stale = true;
}

Oid schema_oid() { return get_namespace_oid("llmtrace", false); }


constexpr const char* kLoadQuery =
    "SELECT id, kind, threshold::text, project, environment, provider, model, "
    "(extract(epoch FROM time_window) * 1000000)::bigint::text "
    "FROM llmtrace.alert_rules WHERE enabled AND kind IN ('span_cost', 'span_latency', 'unpriced_model', "
    "'daily_cost', 'error_rate', 'p95_latency', 'tokens_per_window', 'cost_per_window', 'quarantine_rate', "
    "'no_traffic') "
    "ORDER BY id";

void load() {
    // Rows are copied out in this frame (outside pg_guard) so that no C++
    // object lives in a frame a PostgreSQL error could unwind.
    std::vector<Rule> loaded;
    uint64 n = 0;
    pg_guard([&] {
        rules_relid = get_relname_relid("alert_rules", schema_oid());
        state_relid = get_relname_relid("alert_state", schema_oid());
        if (!rules_cxt)
            rules_cxt = AllocSetContextCreate(TopMemoryContext, "llmtrace alert rules", ALLOCSET_SMALL_SIZES);
        MemoryContextReset(rules_cxt);
        if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "llmtrace: SPI_connect failed");
        load_plan.get(kLoadQuery, 0, nullptr);
        // read_only: the query runs with the caller's snapshot, the one the
        // version was read with.
        load_plan.execute(nullptr, nullptr, true, SPI_OK_SELECT);
        n = SPI_processed;
    });
    loaded.reserve(size_t(n));
    for (uint64 r = 0; r < n; ++r) {
        Rule rule;
        const char* cells[8] = {};
        pg_guard([&] {
            for (int c = 0; c < 8; ++c) cells[c] = SPI_getvalue(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, c + 1);
        });
        rule.id = std::stoll(cells[0]);
        std::string_view kind = cells[1];
        rule.kind = kind == "span_cost"           ? Kind::SpanCost
                    : kind == "span_latency"      ? Kind::SpanLatency
                    : kind == "daily_cost"        ? Kind::DailyCost
                    : kind == "error_rate"        ? Kind::ErrorRate
                    : kind == "p95_latency"       ? Kind::P95Latency
                    : kind == "tokens_per_window" ? Kind::TokensPerWindow
                    : kind == "cost_per_window"   ? Kind::CostPerWindow
                    : kind == "quarantine_rate"   ? Kind::QuarantineRate
                    : kind == "no_traffic"        ? Kind::NoTraffic
                                                  : Kind::UnpricedModel;
        if (windowed(rule.kind)) {
            // The rule table's check wants a window; one that predates it is left out.
            if (!cells[7]) continue;
            rule.window_us = std::stoll(cells[7]);
        }
        for (int i = 0; i < kScopeCount; ++i) {
            rule.has_filter[i] = cells[3 + i] != nullptr;
            if (cells[3 + i]) rule.filter[i] = cells[3 + i];
        }
        if (rule.kind == Kind::SpanCost || rule.kind == Kind::SpanLatency) {
            // The rule table's check refuses such rows; one that predates it is
            // left out rather than failing ingest.
            if (!cells[2]) continue;
            const char* threshold = cells[2];
            pg_guard([&] {
                if (rule.kind == Kind::SpanCost) {
                    MemoryContext old = MemoryContextSwitchTo(rules_cxt);
                    rule.cost_threshold = DirectFunctionCall3(numeric_in, CStringGetDatum(threshold),
                                                              ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
                    MemoryContextSwitchTo(old);
                } else {
                    rule.ms_threshold = DatumGetFloat8(DirectFunctionCall1(float8in, CStringGetDatum(threshold)));
                }
            });
        }
        loaded.push_back(std::move(rule));
    }
    pg_guard([] { SPI_finish(); });
    rules = std::move(loaded);
    rules_loaded = true;
    // The scopes of the windowed rules, which check() feeds instead of the rules.
    scopes.clear();
    for (const Rule& r : rules) {
        if (!windowed(r.kind)) continue;
        auto same = std::find_if(scopes.begin(), scopes.end(), [&](const Scope& sc) {
            for (int i = 0; i < kScopeCount; ++i)
                if (sc.has_filter[i] != r.has_filter[i] || sc.filter[i] != r.filter[i]) return false;
            return true;
        });
        if (same == scopes.end()) {
            Scope sc;
            for (int i = 0; i < kScopeCount; ++i) {
                sc.has_filter[i] = r.has_filter[i];
                sc.filter[i] = r.filter[i];
            }
            scopes.push_back(std::move(sc));
            same = scopes.end() - 1;
        }
        same->rule_ids.push_back(r.id);
        if (r.kind == Kind::QuarantineRate) {
            same->quarantine = true;
            continue;
        }
        same->counts_spans = true;
        same->window_us = std::max(same->window_us, r.window_us);
        if (r.kind == Kind::P95Latency) same->needs_latency = true;
        if (r.kind == Kind::CostPerWindow) same->needs_cost = true;
    }
    quiet.clear();
    fired_day.clear();
    window_evaluated.clear();
}

bool numeric_greater(Datum a, Datum b) {
    bool gt = false;
    pg_guard([&] { gt = DatumGetBool(DirectFunctionCall2(numeric_gt, a, b)); });
    return gt;
}

// Adds one span to the minute of a scope of windowed rules it matched.
void add_to_window(size_t scope, const Datum* values, const char* nulls) {
    const Scope& sc = scopes[scope];
    const TimestampTz now = GetCurrentStatementStartTimestamp();
    int64 minute = floor_minute(DatumGetTimestampTz(values[col::start_time]));
    // A span older than the window is in no window still to be evaluated.
    if (minute < floor_minute(now - sc.window_us)) return;
    // A span from a clock that is ahead counts in the current minute.
    const int64 now_minute = floor_minute(now);
    if (minute > now_minute) minute = now_minute;
    WindowSums& w = window_for(scope, minute);
    ++w.spans;
    if (nulls[col::status] != 'n' && text_datum(values[col::status]) == "error") ++w.errors;
    if (nulls[col::total_tokens] != 'n') w.tokens += DatumGetInt64(values[col::total_tokens]);
    if (sc.needs_latency && nulls[col::duration_ms] != 'n') {
        if (!w.latency) w.latency = std::make_unique<core::Sketch>();
        w.latency->add(DatumGetFloat8(values[col::duration_ms]));
    }
    if (sc.needs_cost && nulls[col::cost_usd] != 'n') {
        ensure_window_contexts();
        w.cost.add(values[col::cost_usd], win_cxt);
        compact_window_costs();
    }
}

constexpr int kWindowColumns = 4 + 7;

// llmtrace.alert_window_deltas as this code writes it: a heap table with
// exactly these columns and no index, trigger, rule or check; then rows go in
// with heap inserts, otherwise through SPI (so that those see every row).
bool window_direct_ok(Relation rel, Oid sketch) {
    const Oid types[kWindowColumns] = {TEXTOID,    TEXTOID,    TEXTOID, TEXTOID, TIMESTAMPTZOID, INT8OID,
                                       INT8OID,    NUMERICOID, NUMERICOID, sketch,  INT8OID};
    TupleDesc d = RelationGetDescr(rel);
    if (rel->rd_rel->relkind != RELKIND_RELATION || rel->rd_rel->relam != HEAP_TABLE_AM_OID ||
        rel->trigdesc != nullptr || rel->rd_rules != nullptr || rel->rd_rel->relhasindex ||
        RelationGetIndexList(rel) != NIL || d->natts != kWindowColumns ||
        (d->constr != nullptr && d->constr->num_check > 0))
        return false;
    for (int i = 0; i < kWindowColumns; ++i) {
        Form_pg_attribute a = TupleDescAttr(d, i);
        if (a->attisdropped || a->atttypid != types[i] || a->atthasdef || a->attgenerated) return false;
    }
    return true;
}

}  // namespace

void register_callbacks() { CacheRegisterRelcacheCallback(on_relcache_inval, (Datum)0); }

bool refresh_rules() {
    Snapshot snap = nullptr;
    pg_guard([&] {
        AcceptInvalidationMessages();
        snap = ActiveSnapshotSet() ? GetActiveSnapshot() : GetTransactionSnapshot();
    });
    if (quiet_stale) {
        quiet.clear();
        fired_day.clear();
        quiet_stale = false;
    }
    if (!(rules_loaded && watch.fresh(snap))) {
        const int64 version = read_version_table("alert_rules_version", snap);
        if (!rules_loaded || version != loaded_version) {
            // The statement's windowed sums belong to the scopes of the rules
            // they were counted for.
            if (!windows.empty()) write_windows();
            load();
            loaded_version = version;
        }
        watch.checked(snap);
    }
    return !rules.empty();
}

void check(const Datum* values, const char* nulls) {
    for (size_t k = 0; k < scopes.size(); ++k) {
        const Scope& sc = scopes[k];
        if (!sc.counts_spans) continue;
        bool match = true;
        for (int i = 0; i < kScopeCount && match; ++i)
            if (sc.has_filter[i])
                match = nulls[kScopeCols[i]] != 'n' && text_datum(values[kScopeCols[i]]) == sc.filter[i];
        if (match) add_to_window(k, values, nulls);
    }
    for (const Rule& r : rules) {
        bool match = true;
        for (int i = 0; i < kScopeCount && match; ++i)
            if (r.has_filter[i])
                match = nulls[kScopeCols[i]] != 'n' && text_datum(values[kScopeCols[i]]) == r.filter[i];
        if (!match) continue;
        if (windowed(r.kind)) continue;  // counted by scope, below
        double ms = 0;
        if (r.kind == Kind::DailyCost) {
            // Evaluated when the statement ends, once its deltas are written.
            if (nulls[col::cost_usd] == 'n') continue;
            if (std::find(touched.begin(), touched.end(), r.id) != touched.end()) continue;
            const int32 today = int32((GetCurrentTransactionStartTimestamp() / USECS_PER_DAY));
            auto done = fired_day.find(r.id);
            if (done != fired_day.end() && done->second == today) continue;
            auto last = last_evaluated.find(r.id);
            const TimestampTz now = GetCurrentTimestamp();
            if (last != last_evaluated.end() && now - last->second < kEvaluateEveryUs) continue;
            note_pending();
            touched.push_back(r.id);
            continue;
        }
        switch (r.kind) {
        case Kind::SpanCost:
            if (nulls[col::cost_usd] == 'n' || !numeric_greater(values[col::cost_usd], r.cost_threshold)) continue;
            break;
        case Kind::SpanLatency:
            if (nulls[col::duration_ms] == 'n') continue;
            ms = DatumGetFloat8(values[col::duration_ms]);
            if (!(ms > r.ms_threshold)) continue;
            break;
        case Kind::UnpricedModel: {
            if (nulls[col::cost_status] == 'n' || nulls[col::model] == 'n') continue;
            std::string_view status = text_datum(values[col::cost_status]);
            if (status != "unpriced" && status != "invalid_price") continue;
            break;
        }
        default:
            continue;
        }
        // The key: rule id and the scope values, each with its length.
        std::string key = std::to_string(r.id);
        for (int c : kScopeCols) {
            if (nulls[c] == 'n') {
                key += "|N";
            } else {
                std::string_view v = text_datum(values[c]);
                key += '|';
                key += std::to_string(v.size());
                key += ':';
                key.append(v.data(), v.size());
            }
        }
        auto q = quiet.find(key);
        if (q != quiet.end()) {
            if (GetCurrentTransactionStartTimestamp() < q->second) continue;
            quiet.erase(q);
        }
        auto found = candidates.find(key);
        if (found != candidates.end()) {
            Candidate& c = found->second;
            bool larger = r.kind == Kind::SpanCost      ? numeric_greater(values[col::cost_usd], c.cost)
                          : r.kind == Kind::SpanLatency ? ms > c.ms
                                                        : false;
            if (!larger) continue;
            c.ms = ms;
            if (r.kind == Kind::SpanCost)
                pg_guard([&] {
                    MemoryContext old = MemoryContextSwitchTo(cand_cxt);
                    c.cost = datumCopy(values[col::cost_usd], false, -1);
                    MemoryContextSwitchTo(old);
                });
            c.trace_id = text_datum(values[col::trace_id]);
            c.span_id = text_datum(values[col::span_id]);
            continue;
        }
        if (candidates.size() >= kMaxCandidates) continue;
        note_pending();
        if (candidates.empty()) {
            if (!cand_cxt)
                pg_guard([] {
                    cand_cxt = AllocSetContextCreate(TopMemoryContext, "llmtrace alert candidates", ALLOCSET_SMALL_SIZES);
                });
        }
        Candidate c;
        c.rule_id = r.id;
        c.kind = r.kind;
        for (int i = 0; i < kScopeCount; ++i) {
            if (nulls[kScopeCols[i]] == 'n') continue;
            c.present |= uint8_t(1u << i);
            c.scope[i] = text_datum(values[kScopeCols[i]]);
        }
        c.ms = ms;
        c.trace_id = text_datum(values[col::trace_id]);
        c.span_id = text_datum(values[col::span_id]);
        if (r.kind == Kind::SpanCost) {
            pg_guard([&] {
                MemoryContext old = MemoryContextSwitchTo(cand_cxt);
                c.cost = datumCopy(values[col::cost_usd], false, -1);
                MemoryContextSwitchTo(old);
            });
        }
        candidates.emplace(std::move(key), std::move(c));
    }
}

bool pending() { return !candidates.empty() || !touched.empty() || !windows.empty() || !window_touched.empty(); }

void quarantined() {
    for (size_t k = 0; k < scopes.size(); ++k)
        if (scopes[k].quarantine) ++window_for(k, floor_minute(GetCurrentStatementStartTimestamp())).quarantined;
}

bool windows_over_bound() { return windows.size() >= kMaxWindowRows; }

void write_windows() {
    if (windows.empty()) return;
    Relation rel = nullptr;
    bool direct = false;
    std::string sketch_bytes;
    MemoryContext row_cxt = nullptr;
    pg_guard([&] {
        Oid ns = schema_oid();
        Oid sketch = GetSysCacheOid2(TYPENAMENSP, Anum_pg_type_oid, CStringGetDatum("latency_sketch"), ObjectIdGetDatum(ns));
        Oid relid = get_relname_relid("alert_window_deltas", ns);
        if (!OidIsValid(relid) || !OidIsValid(sketch))
            elog(ERROR, "llmtrace: table llmtrace.alert_window_deltas does not exist");
        rel = table_open(relid, RowExclusiveLock);
        direct = window_direct_ok(rel, sketch);
        if (!direct) {
            table_close(rel, NoLock);
            rel = nullptr;
            if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "llmtrace: SPI_connect failed");
            const Oid types[kWindowColumns] = {TEXTOID,    TEXTOID,    TEXTOID, TEXTOID, TIMESTAMPTZOID, INT8OID,
                                               INT8OID,    NUMERICOID, NUMERICOID, sketch,  INT8OID};
            window_insert_plan.get("INSERT INTO llmtrace.alert_window_deltas VALUES "
                                   "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                                   kWindowColumns, types);
        }
        row_cxt = AllocSetContextCreate(CurrentMemoryContext, "llmtrace alert window row", ALLOCSET_SMALL_SIZES);
    });
    for (auto& entry : windows) {
        const WindowSums& w = entry.second;
        sketch_bytes.clear();
        if (w.latency) w.latency->serialize(sketch_bytes);
        pg_guard([&] {
            MemoryContext old = MemoryContextSwitchTo(row_cxt);
            Datum v[kWindowColumns];
            bool isnull[kWindowColumns] = {};
            const Scope& sc = scopes[entry.first.scope];
            for (int i = 0; i < kScopeCount; ++i) {
                if (sc.has_filter[i])
                    v[i] = PointerGetDatum(cstring_to_text_with_len(sc.filter[i].data(), int(sc.filter[i].size())));
                else
                    isnull[i] = true;
            }
            v[4] = TimestampTzGetDatum(entry.first.minute);
            v[5] = Int64GetDatum(w.spans);
            v[6] = Int64GetDatum(w.errors);
            v[7] = numeric_of(w.tokens);
            v[8] = w.cost.datum();
            if (w.latency) {
                bytea* b = static_cast<bytea*>(palloc(VARHDRSZ + sketch_bytes.size()));
                SET_VARSIZE(b, VARHDRSZ + sketch_bytes.size());
                std::memcpy(VARDATA(b), sketch_bytes.data(), sketch_bytes.size());
                v[9] = PointerGetDatum(b);
            } else {
                isnull[9] = true;
            }
            v[10] = Int64GetDatum(w.quarantined);
            if (direct) {
                simple_heap_insert(rel, heap_form_tuple(RelationGetDescr(rel), v, isnull));
            } else {
                char n[kWindowColumns];
                for (int c = 0; c < kWindowColumns; ++c) n[c] = isnull[c] ? 'n' : ' ';
                window_insert_plan.execute(v, n, false, SPI_OK_INSERT);
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
    windows.clear();
    if (win_cxt) pg_guard([] { MemoryContextReset(win_cxt); });
}

// The statement's windows are written: the scopes may be touched anew.
static void untouch_scopes() {
    for (Scope& sc : scopes) sc.touched = false;
}

void discard() {
    candidates.clear();
    touched.clear();
    windows.clear();
    window_touched.clear();
    untouch_scopes();
    if (win_cxt) pg_guard([] { MemoryContextReset(win_cxt); });
    quiet.clear();
    fired_day.clear();
    if (cand_cxt) pg_guard([] { MemoryContextReset(cand_cxt); });
}

void discard_from_level(int level) {
    quiet.clear();
    fired_day.clear();
    if (pending() && candidates_level >= level) discard();
}

// An int8[] of `ids`. Inside pg_guard.
static Datum int8_array(const std::vector<int64>& ids) {
    const int n = int(ids.size());
    Datum* elems = static_cast<Datum*>(palloc(sizeof(Datum) * size_t(std::max(n, 1))));
    for (int k = 0; k < n; ++k) elems[k] = Int64GetDatum(ids[size_t(k)]);
    int dims[1] = {n};
    int lbs[1] = {1};
    return PointerGetDatum(construct_md_array(elems, nullptr, 1, dims, lbs, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

// Evaluates the daily_cost rules the statement touched.
static void evaluate_touched() {
    if (touched.empty()) return;
    std::vector<int64> done;
    pg_guard([&] {
        if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "llmtrace: SPI_connect failed");
        Oid types[1] = {INT8ARRAYOID};
        daily_plan.get("SELECT rule_id FROM llmtrace.evaluate_daily_cost($1)", 1, types);
        Datum args[1] = {int8_array(touched)};
        daily_plan.execute(args, nullptr, false, SPI_OK_SELECT);
    });
    for (uint64 r = 0; r < SPI_processed; ++r) {
        bool isnull = true;
        Datum d = 0;
        pg_guard([&] { d = SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 1, &isnull); });
        if (!isnull) done.push_back(DatumGetInt64(d));
    }
    pg_guard([] { SPI_finish(); });
    const TimestampTz now = GetCurrentTimestamp();
    const int32 today = int32(GetCurrentTransactionStartTimestamp() / USECS_PER_DAY);
    for (int64 id : touched) last_evaluated[id] = now;
    for (int64 id : done) fired_day[id] = today;
    touched.clear();
}

// Evaluates the windowed rules the statement added to (see window_touched).
static void evaluate_windows() {
    if (window_touched.empty()) return;
    std::vector<int64> due;
    const TimestampTz now = GetCurrentTimestamp();
    if (!IsTransactionBlock() && !IsolationUsesXactSnapshot()) {
        for (int64 id : window_touched) {
            auto last = window_evaluated.find(id);
            if (last == window_evaluated.end() || now - last->second >= kEvaluateEveryUs) due.push_back(id);
        }
    }
    window_touched.clear();
    untouch_scopes();
    if (due.empty()) return;
    pg_guard([&] {
        if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "llmtrace: SPI_connect failed");
        Oid types[1] = {INT8ARRAYOID};
        window_eval_plan.get("SELECT llmtrace.evaluate_window_rules($1, false)", 1, types);
        Datum args[1] = {int8_array(due)};
        window_eval_plan.execute(args, nullptr, false, SPI_OK_SELECT);
        SPI_finish();
    });
    for (int64 id : due) window_evaluated[id] = now;
}

void fire() {
    write_windows();
    evaluate_touched();
    evaluate_windows();
    if (candidates.empty()) return;
    const int n = int(candidates.size());
    static std::vector<const std::string*> fired_keys;  // candidate keys, in argument order
    uint64 results = 0;
    pg_guard([&] {
        if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "llmtrace: SPI_connect failed");
        Oid types[8] = {INT8ARRAYOID, TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID,
                        TEXTARRAYOID, NUMERICARRAYOID, TEXTARRAYOID, TEXTARRAYOID};
        fire_plan.get("SELECT i, fired, quiet_until FROM llmtrace.fire_span_alerts($1, $2, $3, $4, $5, $6, $7, $8)",
                      8, types);
        Datum* ids = static_cast<Datum*>(palloc(sizeof(Datum) * size_t(n)));
        Datum* scope[kScopeCount];
        bool* scope_null[kScopeCount];
        for (int i = 0; i < kScopeCount; ++i) {
            scope[i] = static_cast<Datum*>(palloc(sizeof(Datum) * size_t(n)));
            scope_null[i] = static_cast<bool*>(palloc0(sizeof(bool) * size_t(n)));
        }
        Datum* vals = static_cast<Datum*>(palloc(sizeof(Datum) * size_t(n)));
        bool* vals_null = static_cast<bool*>(palloc0(sizeof(bool) * size_t(n)));
        Datum* traces = static_cast<Datum*>(palloc(sizeof(Datum) * size_t(n)));
        Datum* spans = static_cast<Datum*>(palloc(sizeof(Datum) * size_t(n)));
        int k = 0;
        fired_keys.clear();
        for (const auto& entry : candidates) {
            fired_keys.push_back(&entry.first);
            const Candidate& c = entry.second;
            ids[k] = Int64GetDatum(c.rule_id);
            for (int i = 0; i < kScopeCount; ++i) {
                if (c.present & (1u << i))
                    scope[i][k] = PointerGetDatum(cstring_to_text_with_len(c.scope[i].data(), int(c.scope[i].size())));
                else
                    scope_null[i][k] = true;
            }
            if (c.kind == Kind::SpanCost)
                vals[k] = c.cost;
            else if (c.kind == Kind::SpanLatency)
                vals[k] = DirectFunctionCall1(float8_numeric, Float8GetDatum(c.ms));
            else
                vals_null[k] = true;
            traces[k] = PointerGetDatum(cstring_to_text_with_len(c.trace_id.data(), int(c.trace_id.size())));
            spans[k] = PointerGetDatum(cstring_to_text_with_len(c.span_id.data(), int(c.span_id.size())));
            ++k;
        }
        int dims[1] = {n};
        int lbs[1] = {1};
        Datum args[8];
        args[0] = PointerGetDatum(construct_md_array(ids, nullptr, 1, dims, lbs, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
        for (int i = 0; i < kScopeCount; ++i)
            args[1 + i] = PointerGetDatum(construct_md_array(scope[i], scope_null[i], 1, dims, lbs, TEXTOID, -1, false, TYPALIGN_INT));
        args[5] = PointerGetDatum(construct_md_array(vals, vals_null, 1, dims, lbs, NUMERICOID, -1, false, TYPALIGN_INT));
        args[6] = PointerGetDatum(construct_md_array(traces, nullptr, 1, dims, lbs, TEXTOID, -1, false, TYPALIGN_INT));
        args[7] = PointerGetDatum(construct_md_array(spans, nullptr, 1, dims, lbs, TEXTOID, -1, false, TYPALIGN_INT));
        fire_plan.execute(args, nullptr, false, SPI_OK_SELECT);
        results = SPI_processed;
    });
    // (i, fired, quiet_until) per candidate: remember the cooldowns.
    for (uint64 r = 0; r < results; ++r) {
        bool null_i = true, null_q = true;
        Datum di = 0, dq = 0;
        pg_guard([&] {
            di = SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 1, &null_i);
            dq = SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 3, &null_q);
        });
        const int i = null_i ? 0 : DatumGetInt32(di);
        if (null_q || i < 1 || i > int(fired_keys.size())) continue;
        if (quiet.size() >= kMaxQuiet) quiet.clear();
        quiet[*fired_keys[size_t(i - 1)]] = DatumGetTimestampTz(dq);
    }
    pg_guard([] { SPI_finish(); });
    fired_keys.clear();
    candidates.clear();
    if (cand_cxt) pg_guard([] { MemoryContextReset(cand_cxt); });
}

}  // namespace llmtrace::pg::alerts
