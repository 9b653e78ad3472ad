// Per-span alert rules checked at ingest (see alerts.hpp and src/sql/alerts.sql).
#include "pg/alerts.hpp"

#include "pg/guard.hpp"
#include "pg/price_cache.hpp"
#include "pg/span_columns.hpp"
#include "pg/spi_plan.hpp"

extern "C" {
#include "utils/array.h"
#include "utils/snapmgr.h"
}

#include <algorithm>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace llmtrace::pg::alerts {

namespace {

enum class Kind { SpanCost, SpanLatency, UnpricedModel, DailyCost };

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
    bool has_filter[kScopeCount] = {};
    std::string filter[kScopeCount];
};

std::vector<Rule> rules;
bool rules_loaded = false;
bool must_check = true;          // a relcache invalidation of alert_rules arrived
int64 loaded_version = -1;       // alert_rules_version the cache holds
uint64 checked_completions = 0;  // snapshot xactCompletionCount of the last check
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

void on_relcache_inval(Datum, Oid relid) {
    if (relid == InvalidOid || relid == rules_relid) must_check = true;
    if (relid == InvalidOid || relid == state_relid) quiet_stale = true;
}

Oid schema_oid() { return get_namespace_oid("llmtrace", false); }


constexpr const char* kLoadQuery =
    "SELECT id, kind, threshold::text, project, environment, provider, model "
    "FROM llmtrace.alert_rules WHERE enabled AND kind IN ('span_cost', 'span_latency', 'unpriced_model', "
    "'daily_cost') "
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
        const char* cells[7] = {};
        pg_guard([&] {
            for (int c = 0; c < 7; ++c) cells[c] = SPI_getvalue(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, c + 1);
        });
        rule.id = std::stoll(cells[0]);
        std::string_view kind = cells[1];
        rule.kind = kind == "span_cost"      ? Kind::SpanCost
                    : kind == "span_latency" ? Kind::SpanLatency
                    : kind == "daily_cost"   ? Kind::DailyCost
                                             : Kind::UnpricedModel;
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
    quiet.clear();
    fired_day.clear();
}

bool numeric_greater(Datum a, Datum b) {
    bool gt = false;
    pg_guard([&] { gt = DatumGetBool(DirectFunctionCall2(numeric_gt, a, b)); });
    return gt;
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
    const uint64 completions = snap->snapXactCompletionCount;
    if (!(rules_loaded && !must_check && completions != 0 && completions == checked_completions)) {
        must_check = false;
        const int64 version = read_version_table("alert_rules_version", snap);
        if (!rules_loaded || version != loaded_version) {
            load();
            loaded_version = version;
        }
        checked_completions = completions;
    }
    return !rules.empty();
}

void check(const Datum* values, const char* nulls) {
    for (const Rule& r : rules) {
        bool match = true;
        for (int i = 0; i < kScopeCount && match; ++i)
            if (r.has_filter[i])
                match = nulls[kScopeCols[i]] != 'n' && text_datum(values[kScopeCols[i]]) == r.filter[i];
        if (!match) continue;
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
            if (touched.empty() && candidates.empty()) candidates_level = GetCurrentTransactionNestLevel();
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
        case Kind::DailyCost:
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
        if (candidates.empty() && touched.empty()) candidates_level = GetCurrentTransactionNestLevel();
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

bool pending() { return !candidates.empty() || !touched.empty(); }

void discard() {
    candidates.clear();
    touched.clear();
    quiet.clear();
    fired_day.clear();
    if (cand_cxt) pg_guard([] { MemoryContextReset(cand_cxt); });
}

void discard_from_level(int level) {
    quiet.clear();
    fired_day.clear();
    if (pending() && candidates_level >= level) discard();
}

// Evaluates the daily_cost rules the statement touched.
static void evaluate_touched() {
    if (touched.empty()) return;
    const int n = int(touched.size());
    std::vector<int64> done;
    pg_guard([&] {
        if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "llmtrace: SPI_connect failed");
        Oid types[1] = {INT8ARRAYOID};
        daily_plan.get("SELECT rule_id FROM llmtrace.evaluate_daily_cost($1)", 1, types);
        Datum* ids = static_cast<Datum*>(palloc(sizeof(Datum) * size_t(n)));
        for (int k = 0; k < n; ++k) ids[k] = Int64GetDatum(touched[size_t(k)]);
        int dims[1] = {n};
        int lbs[1] = {1};
        Datum args[1] = {PointerGetDatum(construct_md_array(ids, nullptr, 1, dims, lbs, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE))};
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

void fire() {
    evaluate_touched();
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
