// llmtrace.* settings (GUCs), defined when the library is loaded.
#include "pg/settings.hpp"

#include "pg/pg.hpp"

namespace llmtrace::pg {

int on_error = kOnErrorQuarantine;
int store_content = kStoreFull;

namespace {

const struct config_enum_entry kOnErrorOptions[] = {
    {"quarantine", kOnErrorQuarantine, false},
    {"error", kOnErrorError, false},
    {nullptr, 0, false},
};

const struct config_enum_entry kStoreContentOptions[] = {
    {"full", kStoreFull, false},
    {"none", kStoreNone, false},
    {nullptr, 0, false},
};

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
        "full: stored as sent; none: input and output are NULL and content attributes dropped.",
        &store_content, kStoreFull, kStoreContentOptions, PGC_USERSET, 0, nullptr, nullptr, nullptr);
#if PG_VERSION_NUM >= 150000
    MarkGUCPrefixReserved("llmtrace");
#else
    EmitWarningsOnPlaceholders("llmtrace");
#endif
}

}  // namespace llmtrace::pg
