// llmtrace.* settings (GUCs).
#pragma once

namespace llmtrace::pg {

enum OnError { kOnErrorQuarantine = 0, kOnErrorError = 1 };
enum NotifyPayload { kNotifyId = 0, kNotifyFull = 1 };
enum StoreContent { kStoreFull = 0, kStoreRedact = 1, kStoreNone = 2 };

extern int on_error;              // llmtrace.on_error
extern int store_content;         // llmtrace.store_content (superuser or llmtrace_admin)
extern bool hash_user_ids;        // llmtrace.hash_user_ids (superuser or llmtrace_admin)
extern int max_payload_bytes;     // llmtrace.max_payload_bytes (superuser-set limit)
extern int quarantine_max_bytes;  // llmtrace.quarantine_max_bytes (superuser-set limit)

extern bool rollups_enabled;      // llmtrace.rollups (superuser-set)
extern int rollup_retention_days; // llmtrace.rollup_retention_days (superuser-set)
extern char* notify_channel;      // llmtrace.notify_channel (superuser-set)
extern char* forced_project;      // llmtrace.project (any session; bindings win)
extern double sample_rate;       // llmtrace.sample_rate (superuser or llmtrace_admin)
extern int notify_payload;        // llmtrace.notify_payload (superuser or llmtrace_admin)
extern int retention_days;        // llmtrace.retention_days (superuser or llmtrace_admin)
extern int maintenance_lock_timeout_ms; // llmtrace.maintenance_lock_timeout

void define_settings();

}  // namespace llmtrace::pg
