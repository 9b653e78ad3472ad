// Running as the extension's owner, the narrow way: the user id of the
// function's owner with SECURITY_RESTRICTED_OPERATION (what REFRESH
// MATERIALIZED VIEW and VACUUM do for a table owner's code), instead of
// SECURITY DEFINER. No function of llmtrace is SECURITY DEFINER.
#pragma once

#include "pg/pg.hpp"

namespace llmtrace::pg {

struct OwnerContext {
    Oid user;
    int sec;
};

// Switches to the owner of the function being called (fcinfo->flinfo->fn_oid)
// in a security-restricted context. leave_owner_context() switches back; an
// error does so by itself when its (sub)transaction aborts. `restricted` =
// false only for code that needs what a restricted context refuses (REFRESH
// MATERIALIZED VIEW CONCURRENTLY creates a temporary table).
OwnerContext enter_owner_context(FunctionCallInfo fcinfo, bool restricted = true);
void leave_owner_context(const OwnerContext& c);

}  // namespace llmtrace::pg
