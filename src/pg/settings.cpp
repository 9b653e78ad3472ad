// llmtrace.* settings (GUCs), defined when the library is loaded.
#include "pg/settings.hpp"

#include "pg/pg.hpp"

namespace llmtrace::pg {

int on_error = kOnErrorQuarantine;
int store_content = kStoreFull;
bool hash_user_ids = false;
int max_payload_bytes = 8 * 1024 * 1024;
int quarantine_max_bytes = 64 * 1024;
bool rollups_enabled = true;
int rollup_retention_days = 35;
char* notify_channel = nullptr;
char* forced_project = nullptr;
int retention_days = 90;
int notify_payload = kNotifyId;
double sample_rate = 1.0;
int maintenance_lock_timeout_ms = 1000;

namespace {

const struct config_enum_entry kOnErrorOptions[] = {
    {"quarantine", kOnErrorQuarantine, false},
    {"error", kOnErrorError, false},
    {nullptr, 0, false},
};

const struct config_enum_entry kNotifyPayloadOptions[] = {
    {"id", kNotifyId, false},
    {"full", kNotifyFull, false},
    {nullptr, 0, false},
};

const struct config_enum_entry kStoreContentOptions[] = {
    {"full", kStoreFull, false},
    {"redact", kStoreRedact, false},
    {"none", kStoreNone, false},
    {nullptr, 0, false},
};

// A channel name LISTEN accepts as an identifier: 1 to 63 bytes.
bool check_channel(char** newval, void**, GucSource) {
    if (*newval == nullptr || (*newval)[0] == '\0' || strlen(*newval) >= NAMEDATALEN) {
        GUC_check_errmsg("llmtrace.notify_channel must have 1 to %d bytes", NAMEDATALEN - 1);
        return false;
    }
    return true;
}

}  // namespace

void define_settings() {
    DefineCustomEnumVariable(
        "llmtrace.on_error",
        "What to do with a payload (or a span of a batch) that cannot be normalized.",
        "quarantine: store it in llmtrace.ingest_errors and go on; "
        "error: fail the statement with a class 22 SQLSTATE.",
        &on_error, kOnErrorQuarantine, kOnErrorOptions, PGC_USERSET, 0, nullptr, nullptr, nullptr);
    DefineCustomEnumVariable(
        "llmtrace.store_content",
        "Whether message content (input, output) is stored with each span.",
        "full: stored as sent; redact: stored with e-mail addresses, API keys, bearer tokens, JWTs "
        "and card numbers masked (in content, attributes, error messages and quarantined payloads); "
        "none: input and output are NULL and content attributes dropped. Superuser-only, and "
        "granted to llmtrace_admin: a writer cannot override a database-wide setting.",
        &store_content, kStoreFull, kStoreContentOptions, PGC_SUSET, 0, nullptr, nullptr, nullptr);
    DefineCustomBoolVariable(
        "llmtrace.hash_user_ids",
        "Whether user ids are stored as a keyed hash instead of as sent.",
        "On: user_id is stored as the hex HMAC-SHA-256 of the id under a secret of the database "
        "(llmtrace.hash_secret, made by CREATE EXTENSION): the same user maps to the same value, "
        "the raw id is never written. Superuser-only, and granted to llmtrace_admin.",
        &hash_user_ids, false, PGC_SUSET, 0, nullptr, nullptr, nullptr);
    // Limits protect the server from what a writer sends. They are PGC_SUSET:
    // a role that may only ingest cannot raise them (a superuser sets them per
    // database or role with ALTER DATABASE/ROLE ... SET).
    DefineCustomIntVariable(
        "llmtrace.max_payload_bytes",
        "Largest payload accepted; a larger one is bad input (SQLSTATE 54000).",
        "Bounds the memory and time one payload can take: peak backend memory stays "
        "within a small multiple of this size, and parsing one document (the one step "
        "that cannot see a query cancel) within about 8 ms per MB.",
        &max_payload_bytes, 8 * 1024 * 1024, 1024, MaxAllocSize, PGC_SUSET, GUC_UNIT_BYTE,
        nullptr, nullptr, nullptr);
    DefineCustomIntVariable(
        "llmtrace.quarantine_max_bytes",
        "Most bytes of a bad payload (or bad span) kept in llmtrace.ingest_errors.",
        "The payload's length and SHA-256 are always kept, so it can be identified; "
        "0 keeps none of its text.",
        &quarantine_max_bytes, 64 * 1024, 0, MaxAllocSize, PGC_SUSET, GUC_UNIT_BYTE, nullptr,
        nullptr, nullptr);
    DefineCustomBoolVariable(
        "llmtrace.rollups",
        "Whether ingest adds the spans it stores to the summaries.",
        "On (the default), every newly stored span is counted in llmtrace.metrics_summary() and "
        "llmtrace.daily_cost_summary in the same transaction. Off is for measuring the cost of "
        "the summaries: spans stored while it is off are in no summary.",
        &rollups_enabled, true, PGC_SUSET, 0, nullptr, nullptr, nullptr);
    DefineCustomIntVariable(
        "llmtrace.rollup_retention_days",
        "Days of hourly rollups kept (daily rollups are kept forever).",
        "llmtrace.fold_rollups() drops hourly rollups of days older than this; the live "
        "metrics functions accept windows up to this many days.",
        &rollup_retention_days, 35, 1, 36500, PGC_SUSET, 0, nullptr, nullptr, nullptr);
    DefineCustomStringVariable(
        "llmtrace.notify_channel",
        "The channel alerts are sent on with NOTIFY.",
        "Clients LISTEN on it (llmtrace-listen --channel). A superuser setting: a writer cannot "
        "send the alerts its spans fire elsewhere.",
        &notify_channel, "llmtrace_alerts", PGC_SUSET, 0, check_channel, nullptr, nullptr);
    DefineCustomRealVariable(
        "llmtrace.sample_rate",
        "Fraction of traces whose spans are stored in llmtrace.spans (1: all).",
        "Whole traces are kept or dropped by a hash of the trace id (llmtrace.sample_keep()), the "
        "same decision in every session; error spans are always stored. Summaries, costs and "
        "alerts count every span, stored or sampled out; the keys of sampled-out spans are kept "
        "in llmtrace.sampled_spans so a re-delivery is not counted twice. Superuser-only, and "
        "granted to llmtrace_admin.",
        &sample_rate, 1.0, 0.0, 1.0, PGC_SUSET, 0, nullptr, nullptr, nullptr);
    DefineCustomEnumVariable(
        "llmtrace.notify_payload",
        "What the NOTIFY of an alert carries.",
        "id (the default): {\"id\": N} only, since any role may LISTEN on any channel; consumers read "
        "the alert from llmtrace.alerts, where privileges and row-level security apply (llmtrace-listen "
        "does). full: the alert's compact JSON, for databases where every listener may see every alert. "
        "Superuser-only, and granted to llmtrace_admin.",
        &notify_payload, kNotifyId, kNotifyPayloadOptions, PGC_SUSET, 0, nullptr, nullptr, nullptr);
    DefineCustomStringVariable(
        "llmtrace.project",
        "Project the spans of this session are stored under, whatever the payloads say.",
        "For fronts that authenticate senders and know their project (llmtrace-gateway sets it per "
        "request from the bearer token). Empty (the default): the payload's project. A writer bound "
        "to projects in llmtrace.project_roles is not affected: its binding decides.",
        &forced_project, "", PGC_USERSET, 0, nullptr, nullptr, nullptr);
    // Retention is the admin's policy: superuser-only, and granted to
    // llmtrace_admin with GRANT SET ON PARAMETER by the install script.
    DefineCustomIntVariable(
        "llmtrace.retention_days",
        "Days of spans kept: llmtrace.apply_retention() drops the daily partitions older than this.",
        "0 keeps spans forever. Summaries, rollups, alerts and the quarantine are not affected.",
        &retention_days, 90, 0, 36500, PGC_SUSET, 0, nullptr, nullptr, nullptr);
    DefineCustomIntVariable(
        "llmtrace.maintenance_lock_timeout",
        "Longest wait of llmtrace.maintain() and llmtrace.apply_retention() for a table lock.",
        "A partition whose lock is not granted in time is left for the next call, so maintenance "
        "never queues writers behind a long transaction.",
        &maintenance_lock_timeout_ms, 1000, 1, 60 * 60 * 1000, PGC_SUSET, GUC_UNIT_MS, nullptr,
        nullptr, nullptr);
#if PG_VERSION_NUM >= 150000
    MarkGUCPrefixReserved("llmtrace");
#else
    EmitWarningsOnPlaceholders("llmtrace");
#endif
}

}  // namespace llmtrace::pg
