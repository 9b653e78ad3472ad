// The ingesting role's projects (see tenants.hpp).
#include "pg/tenants.hpp"

#include "pg/guard.hpp"

extern "C" {
#include "catalog/pg_type_d.h"
#include "utils/inval.h"
#include "utils/syscache.h"
}

namespace llmtrace::pg {

namespace {

Oid cached_role = InvalidOid;
bool cached = false;
std::vector<std::string> cached_projects;
Oid project_roles_relid = InvalidOid;

void forget() { cached = false; }

void on_relcache_inval(Datum, Oid relid) {
    if (relid == InvalidOid || relid == project_roles_relid) forget();
}

void on_syscache_inval(Datum, int, uint32) { forget(); }

}  // namespace

void register_tenant_callbacks() {
    CacheRegisterRelcacheCallback(on_relcache_inval, (Datum)0);
    // GRANT / REVOKE of a role membership changes who is bound.
    CacheRegisterSyscacheCallback(AUTHMEMROLEMEM, on_syscache_inval, (Datum)0);
    CacheRegisterSyscacheCallback(AUTHOID, on_syscache_inval, (Datum)0);
}

const std::vector<std::string>& writer_projects() {
    Oid role = InvalidOid;
    bool super = false;
    pg_guard([&] {
        AcceptInvalidationMessages();
        role = GetOuterUserId();
        super = superuser_arg(role);
        if (project_roles_relid == InvalidOid)
            project_roles_relid = get_relname_relid("project_roles", get_namespace_oid("llmtrace", false));
    });
    if (cached && cached_role == role) return cached_projects;
    cached_projects.clear();
    if (!super) {
        std::vector<std::string>& out = cached_projects;
        pg_guard([&] {
            if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "llmtrace: SPI_connect failed");
            Oid types[1] = {OIDOID};
            Datum args[1] = {ObjectIdGetDatum(role)};
            int rc = SPI_execute_with_args(
                "SELECT project FROM llmtrace.project_roles "
                "WHERE pg_catalog.pg_has_role($1, role, 'MEMBER') GROUP BY project ORDER BY project COLLATE \"C\"",
                1, types, args, nullptr, true, 0);
            if (rc != SPI_OK_SELECT) elog(ERROR, "llmtrace: reading llmtrace.project_roles failed");
            for (uint64 i = 0; i < SPI_processed; ++i) {
                bool isnull = false;
                Datum d = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull);
                if (isnull) continue;
                text* t = DatumGetTextPP(d);
                out.emplace_back(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
            }
            SPI_finish();
        });
    }
    cached_role = role;
    cached = true;
    return cached_projects;
}

}  // namespace llmtrace::pg
