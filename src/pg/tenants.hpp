// Projects as tenants on the ingest path: the projects the ingesting role is
// bound to (llmtrace.project_roles, through role membership).
#pragma once

#include "core/span.hpp"

#include <string>
#include <vector>

namespace llmtrace::pg {

void register_tenant_callbacks();

// The projects the role that issued the statement (SET ROLE counts; the
// switch of the ingest functions to the extension owner does not) is bound to,
// sorted; empty when it is bound to none or is a superuser. Cached per role,
// dropped when llmtrace.project_roles or a role membership changes.
const std::vector<std::string>& writer_projects();

// The project a span is stored under: for an unbound writer, `forced`
// (llmtrace.project) when set, else the payload's; for a bound writer, the
// payload's when it is one of its projects, else its first project.
inline core::Str stored_project(const std::vector<std::string>& bound, core::Str claimed,
                                const char* forced = nullptr) {
    if (bound.empty()) return forced && *forced ? core::Str(forced) : claimed;
    if (core::present(claimed))
        for (const std::string& p : bound)
            if (p == claimed) return claimed;
    return core::Str(bound.front());
}

}  // namespace llmtrace::pg
