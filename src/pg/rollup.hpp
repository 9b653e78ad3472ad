// Summary deltas written at ingest (see src/sql/summaries.sql).
//
// Every span a statement newly stores is added to an in-memory group (hour x
// project x environment x provider x model x feature x endpoint x user): span,
// error, priced and unpriced counts, token and cost sums, a latency sketch and
// the distinct session ids. write() appends one row per group to
// llmtrace.rollup_deltas, in the same (sub)transaction as the spans: a
// rollback takes both, and no writer waits on another for summary rows.
#pragma once

#include "pg/pg.hpp"

namespace llmtrace::pg::rollup {

// Adds one newly stored span, given as the row of Datums written to
// llmtrace.spans (span_columns.hpp order; nulls 'n' or ' '). Inside pg_guard.
void add(const Datum* values, const char* nulls);

// True when add() has grown either kind of group past its bound: call
// write_over_bound().
bool over_bound();

// Appends the groups of the kinds past their bound and empties those; the
// others keep accumulating. Not inside pg_guard, like write().
void write_over_bound();

// Appends all the accumulated groups to llmtrace.rollup_deltas and
// llmtrace.daily_deltas and empties them. Not inside pg_guard: runs SPI itself.
void write();

// Forgets the accumulated groups (the writes they belong to failed).
void discard();

bool pending();

// Forgets the groups if they were accumulated at nesting level `level` or
// deeper (a subtransaction at that level aborts).
void discard_from_level(int level);

}  // namespace llmtrace::pg::rollup
