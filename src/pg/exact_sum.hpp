// Exact sums of numeric values (costs) without numeric arithmetic per value,
// and numerics of exact integers: shared by the summary deltas (rollup.cpp)
// and the alert windows (alerts.cpp).
#pragma once

#include "pg/pg.hpp"

namespace llmtrace::pg {

// A numeric Datum of an exact integer (palloc'd in the current context; zero
// is made once and shared).
Datum numeric_of(__int128 v);

// A sum of numerics, exact: in units of 1e-18 with the largest display scale
// of the values added (numeric_add's result scale), or, once a value does not
// fit that (more than 18 decimals, 10^20 and more, NaN), a numeric.
struct ExactSum {
    __int128 atto = 0;
    int dscale = 0;
    bool any = false;          // a value was added
    bool numeric = false;      // the sum is `value`, a numeric in the context given to add()
    Datum value = (Datum)0;

    // Adds a numeric. Not inside pg_guard (a fallback to numeric runs
    // PostgreSQL code in its own).
    void add(Datum v, MemoryContext cxt);
    // The sum as a numeric (0 when nothing was added), palloc'd in the
    // current context unless it is the fallback itself. Inside pg_guard.
    Datum datum() const;
    // Copies a numeric fallback into the current context (the context it
    // lived in is about to be reset). Inside pg_guard.
    void copy_numeric() {
        if (numeric) value = datumCopy(value, false, -1);
    }
};

}  // namespace llmtrace::pg
