// A prepared SPI statement kept for the life of the backend (SPI_keepplan):
// prepared on first use, reused by every later call, always with its generic
// plan. PostgreSQL's plan cache
// re-plans it when the tables it uses change. Call inside pg_guard with SPI
// connected.
#pragma once

#include "pg/pg.hpp"

namespace llmtrace::pg {

class KeptPlan {
public:
    // The plan for `sql` with these parameter types; the same plan every call.
    SPIPlanPtr get(const char* sql, int nargs, const Oid* types) {
        if (!plan_) {
            // Always the generic plan: a custom plan would copy every parameter
            // (64 rows of jsonb) into the plan tree, for nothing.
            SPIPlanPtr p = SPI_prepare_cursor(sql, nargs, const_cast<Oid*>(types), CURSOR_OPT_GENERIC_PLAN);
            if (!p) elog(ERROR, "llmtrace: cannot prepare \"%.60s...\": %s", sql, SPI_result_code_string(SPI_result));
            if (SPI_keepplan(p) != 0) elog(ERROR, "llmtrace: cannot keep a prepared statement");
            plan_ = p;
        }
        return plan_;
    }
    // Runs the plan; raises unless it returned `expected` (SPI_OK_INSERT, ...).
    uint64 execute(Datum* values, const char* nulls, bool read_only, int expected) {
        int rc = SPI_execute_plan(plan_, values, nulls, read_only, 0);
        if (rc != expected) elog(ERROR, "llmtrace: statement failed: %s", SPI_result_code_string(rc));
        return SPI_processed;
    }

    // Forgets the plan (the next get() prepares it again).
    void reset() {
        if (plan_) SPI_freeplan(plan_);
        plan_ = nullptr;
    }

private:
    SPIPlanPtr plan_ = nullptr;
};

}  // namespace llmtrace::pg
