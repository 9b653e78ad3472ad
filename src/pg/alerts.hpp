// Per-span alert rules checked at ingest (see src/sql/alerts.sql).
//
// The enabled rules of kinds span_cost, span_latency and unpriced_model are
// cached in the backend and reloaded when the statement's snapshot sees
// another llmtrace.alert_rules_version (as the prices are). Every span a
// statement newly stores is checked against them in the pass that feeds the
// summaries; a span over a threshold becomes a candidate (the largest value
// per rule and scope is kept), and fire() hands the candidates to
// llmtrace.fire_span_alerts(), which fires each at most once per cooldown and
// says until when each rule and scope stays quiet: until then, this backend
// does not send them again.
#pragma once

#include "pg/pg.hpp"

namespace llmtrace::pg::alerts {

void register_callbacks();

// Brings the cached rules up to date with the caller's snapshot; true when a
// per-span rule is enabled. Not inside pg_guard.
bool refresh_rules();

// Checks one newly stored span, given as the row of Datums written to
// llmtrace.spans (span_columns.hpp order; nulls 'n' or ' '). Inside pg_guard.
void check(const Datum* values, const char* nulls);

bool pending();

// Counts one quarantined payload for the quarantine_rate rules (call
// refresh_rules() first). Not inside pg_guard.
void quarantined();

// True when the statement's windowed sums are many: call write_windows().
bool windows_over_bound();

// Appends the windowed sums to llmtrace.alert_window_deltas and empties them
// (fire() does it too). Not inside pg_guard.
void write_windows();

// Appends the windowed sums, evaluates the daily_cost and windowed rules the
// statement touched, fires the candidates of the statement and forgets them.
// Not inside pg_guard: runs SPI itself.
void fire();

// Forgets the candidates (the writes they belong to failed) and the cooldowns
// learnt (a slot this backend took may have been given back).
void discard();

// Forgets the candidates if they were collected at nesting level `level` or
// deeper (a subtransaction at that level aborts), and the cooldowns learnt.
void discard_from_level(int level);

}  // namespace llmtrace::pg::alerts
