// See schema_check.hpp.
#include "pg/schema_check.hpp"

#include "pg/guard.hpp"
#include "pg/span_columns.hpp"

#ifndef LLMTRACE_VERSION
#error "LLMTRACE_VERSION must be defined (the Makefile passes EXTVERSION)"
#endif

namespace llmtrace::pg {

namespace {
Oid checked_spans_relid = InvalidOid;
}  // namespace

void check_schema() {
    Oid relid = InvalidOid;
    pg_guard([&] {
        Oid nsp = get_namespace_oid("llmtrace", true);
        relid = OidIsValid(nsp) ? get_relname_relid("spans", nsp) : InvalidOid;
    });
    if (OidIsValid(relid) && relid == checked_spans_relid) return;
    pg_guard([&] {
        if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "llmtrace: SPI_connect failed");
        if (SPI_execute("SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'llmtrace'", true, 1) !=
            SPI_OK_SELECT)
            elog(ERROR, "llmtrace: cannot read pg_extension");
        if (SPI_processed == 0)
            ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                            errmsg("llmtrace: the extension is not installed in this database"),
                            errhint("Run CREATE EXTENSION llmtrace.")));
        char* version = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
        if (!version || strcmp(version, LLMTRACE_VERSION) != 0)
            ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                            errmsg("llmtrace: this database has version %s of the extension, but the "
                                   "library loaded is version %s",
                                   version ? version : "?", LLMTRACE_VERSION),
                            errhint("Run ALTER EXTENSION llmtrace UPDATE; in this database.")));
        if (!OidIsValid(relid))
            ereport(ERROR, (errcode(ERRCODE_UNDEFINED_TABLE), errmsg("llmtrace: table llmtrace.spans is missing")));
        for (const SpanColumn& c : kSpanColumns) {
            AttrNumber att = get_attnum(relid, c.name);
            if (att == InvalidAttrNumber || get_atttype(relid, att) != c.type)
                ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                                errmsg("llmtrace: llmtrace.spans has no column %s of type %s, which this "
                                       "library (version %s) writes",
                                       c.name, format_type_be(c.type), LLMTRACE_VERSION),
                                errhint("Was llmtrace.spans altered? Reinstall or update the extension.")));
        }
        SPI_finish();
    });
    checked_spans_relid = relid;
}

}  // namespace llmtrace::pg
