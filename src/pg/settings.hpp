// llmtrace.* settings (GUCs).
#pragma once

namespace llmtrace::pg {

enum OnError { kOnErrorQuarantine = 0, kOnErrorError = 1 };
enum StoreContent { kStoreFull = 0, kStoreNone = 2 };

extern int on_error;       // llmtrace.on_error
extern int store_content;  // llmtrace.store_content

void define_settings();

}  // namespace llmtrace::pg
