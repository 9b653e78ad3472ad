// llmtrace_as_owner: the one way llmtrace's SQL functions act with more rights
// than their caller. llmtrace.X(args) declared AS 'MODULE_PATHNAME',
// 'llmtrace_as_owner' calls llmtrace.X_internal(args) as the extension's owner,
// in a security-restricted context (SECURITY_RESTRICTED_OPERATION, as REFRESH
// MATERIALIZED VIEW and VACUUM run a table owner's code): no SET ROLE, no
// temporary objects, and the caller's settings cannot reach into it because
// X_internal pins its own search_path. Only EXECUTE on llmtrace.X is granted;
// X_internal is granted to nobody, so it cannot be called directly.
//
// Plain C with PostgreSQL calls only: no C++ object lives in these frames, so a
// PostgreSQL error may unwind them. An error restores the caller's user id and
// security context when the (sub)transaction aborts.
#include "pg/owner.hpp"

extern "C" {
#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/indexing.h"
#include "catalog/namespace.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_proc.h"
#include "commands/extension.h"
#include "miscadmin.h"
#include "parser/parse_func.h"
#include "utils/fmgroids.h"
#include "utils/syscache.h"

PGDLLEXPORT Datum llmtrace_as_owner(PG_FUNCTION_ARGS);
PG_FUNCTION_INFO_V1(llmtrace_as_owner);
}

namespace {

struct AsOwner {
    FmgrInfo target;
    Oid owner;
};

Oid extension_owner() {
    Oid ext = get_extension_oid("llmtrace", false);
    Relation rel = table_open(ExtensionRelationId, AccessShareLock);
    ScanKeyData key;
    ScanKeyInit(&key, Anum_pg_extension_oid, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(ext));
    SysScanDesc scan = systable_beginscan(rel, ExtensionOidIndexId, true, nullptr, 1, &key);
    HeapTuple tup = systable_getnext(scan);
    if (!HeapTupleIsValid(tup)) elog(ERROR, "llmtrace: extension llmtrace not found");
    Oid owner = reinterpret_cast<Form_pg_extension>(GETSTRUCT(tup))->extowner;
    systable_endscan(scan);
    table_close(rel, AccessShareLock);
    return owner;
}

AsOwner* resolve(FunctionCallInfo fcinfo) {
    Oid self = fcinfo->flinfo->fn_oid;
    HeapTuple tup = SearchSysCache1(PROCOID, ObjectIdGetDatum(self));
    if (!HeapTupleIsValid(tup)) elog(ERROR, "llmtrace: cache lookup failed for function %u", self);
    Form_pg_proc proc = reinterpret_cast<Form_pg_proc>(GETSTRUCT(tup));
    Oid ns = get_namespace_oid("llmtrace", false);
    Oid owner = extension_owner();
    if (proc->pronamespace != ns || proc->proowner != owner || proc->prosecdef)
        ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
                        errmsg("llmtrace_as_owner may only implement llmtrace's own functions")));
    char name[NAMEDATALEN * 2];
    snprintf(name, sizeof name, "%s_internal", NameStr(proc->proname));
    int nargs = proc->pronargs;
    Oid argtypes[FUNC_MAX_ARGS];
    memcpy(argtypes, proc->proargtypes.values, sizeof(Oid) * nargs);
    ReleaseSysCache(tup);

    Oid target = LookupFuncName(list_make2(makeString(pstrdup("llmtrace")), makeString(pstrdup(name))),
                                nargs, argtypes, false);
    HeapTuple ttup = SearchSysCache1(PROCOID, ObjectIdGetDatum(target));
    if (!HeapTupleIsValid(ttup)) elog(ERROR, "llmtrace: cache lookup failed for function %u", target);
    Form_pg_proc tproc = reinterpret_cast<Form_pg_proc>(GETSTRUCT(ttup));
    bool ok = tproc->pronamespace == ns && tproc->proowner == owner && !tproc->prosecdef &&
              !tproc->proretset && tproc->prorettype == get_func_rettype(self);
    ReleaseSysCache(ttup);
    if (!ok)
        ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
                        errmsg("llmtrace: llmtrace.%s is not the extension's implementation", name)));

    auto* a = static_cast<AsOwner*>(MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(AsOwner)));
    fmgr_info_cxt(target, &a->target, fcinfo->flinfo->fn_mcxt);
    a->owner = owner;
    return a;
}

}  // namespace

extern "C" Datum llmtrace_as_owner(PG_FUNCTION_ARGS) {
    auto* a = static_cast<AsOwner*>(fcinfo->flinfo->fn_extra);
    if (a == nullptr) {
        a = resolve(fcinfo);
        fcinfo->flinfo->fn_extra = a;
    }
    FunctionCallInfo call = static_cast<FunctionCallInfo>(palloc0(SizeForFunctionCallInfo(fcinfo->nargs)));
    // The context goes along: a trigger's TriggerData (the implementation of
    // a trigger function is itself a trigger function).
    InitFunctionCallInfoData(*call, &a->target, fcinfo->nargs, fcinfo->fncollation, fcinfo->context, nullptr);
    for (int i = 0; i < fcinfo->nargs; ++i) call->args[i] = fcinfo->args[i];

    Oid save_user;
    int save_sec;
    GetUserIdAndSecContext(&save_user, &save_sec);
    SetUserIdAndSecContext(a->owner, save_sec | SECURITY_LOCAL_USERID_CHANGE | SECURITY_RESTRICTED_OPERATION);
    Datum result = FunctionCallInvoke(call);
    SetUserIdAndSecContext(save_user, save_sec);
    fcinfo->isnull = call->isnull;
    return result;
}

namespace llmtrace::pg {

OwnerContext enter_owner_context(FunctionCallInfo fcinfo, bool restricted) {
    OwnerContext c;
    GetUserIdAndSecContext(&c.user, &c.sec);
    // The owner, looked up once per call site (as fmgr does for SECURITY
    // DEFINER): the ingest row trigger runs for every payload row.
    auto* owner = static_cast<Oid*>(fcinfo->flinfo->fn_extra);
    if (owner == nullptr) {
        HeapTuple tup = SearchSysCache1(PROCOID, ObjectIdGetDatum(fcinfo->flinfo->fn_oid));
        if (!HeapTupleIsValid(tup))
            elog(ERROR, "llmtrace: cache lookup failed for function %u", fcinfo->flinfo->fn_oid);
        owner = static_cast<Oid*>(MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, sizeof(Oid)));
        *owner = reinterpret_cast<Form_pg_proc>(GETSTRUCT(tup))->proowner;
        ReleaseSysCache(tup);
        fcinfo->flinfo->fn_extra = owner;
    }
    SetUserIdAndSecContext(*owner, c.sec | SECURITY_LOCAL_USERID_CHANGE |
                                      (restricted ? SECURITY_RESTRICTED_OPERATION : 0));
    return c;
}

void leave_owner_context(const OwnerContext& c) { SetUserIdAndSecContext(c.user, c.sec); }

}  // namespace llmtrace::pg
