#!/usr/bin/env bash
# Runs every test tier of llmtrace on this machine:
#   1. unit tests of the pure C++ core (GoogleTest, ctest)
#   2. the regression suite (pg_regress: sql/ + expected/)
#   3. concurrency tests with several real sessions (isolation tester: specs/)
#   4. the pg_dump / pg_restore round trip (test/dump_restore.sh)
#   5. the upgrade path from every released version (test/upgrade.sh)
#   6. multi-session tests with real concurrent psql sessions (test/sessions/run.sh)
#   7. llmtrace-listen end to end, with its own cluster it restarts (test/listen/run.sh)
#   8. the periodic functions scheduled with pg_cron (the recipe and llmtrace.schedule_defaults()), with its own cluster (test/cron/run.sh)
#   9. the Grafana dashboards: validated, every panel query run with Grafana's macros expanded
#      (test/grafana/run.sh), and the real prometheus-postgres-exporter with
#      integrations/prometheus/queries.yaml, scraped and checked (test/prometheus/run.sh)
#  10. llmtrace-gateway end to end with curl and the OpenTelemetry JS exporters and the
#      Vercel AI SDK (npm, pinned), with its own cluster (test/gateway/run.sh)
#  11. the gateway's dashboard page in Debian's headless Chromium, figures checked against SQL,
#      a screenshot kept in test/artifacts/ (test/page/run.sh)
#  12. the libFuzzer targets with ASan + UBSan (FUZZ_SECONDS, default 60)
# It installs what it needs (Debian packages, as root), builds and installs the
# extension, starts a throwaway PostgreSQL cluster and stops it at the end.
# The last line is "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
PORT=${LLMTRACE_TEST_PORT:-5499}

log() { printf '\n==> %s\n' "$*"; }

scripts/install-deps.sh || { echo "0 passed, 1 failed"; exit 1; }

passed=0
failed=0
record() {  # record NAME PASSED FAILED
    printf '%-28s %4d passed %4d failed\n' "$1" "$2" "$3" >>"$summary"
    passed=$((passed + $2))
    failed=$((failed + $3))
}
# record_counts NAME LOG: a tier whose script ends with "N passed, N failed";
# without that line it did not finish, which counts as a failure.
record_counts() {
    local line
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$2" | tail -1)
    if [ -n "$line" ]; then
        record "$1" "$(sed -E 's/^([0-9]+) passed.*/\1/' <<<"$line")" "$(sed -E 's/.* ([0-9]+) failed$/\1/' <<<"$line")"
    else
        record "$1" 0 1
    fi
}
# run_tier NAME DESCRIPTION COMMAND...: runs a tier whose script ends with "N passed, N failed",
# its output shown and kept in $work/NAME.log, and records its counts.
run_tier() {
    local name=$1
    log "$2"
    shift 2
    "$@" 2>&1 | tee "$work/$name.log"
    record_counts "$name" "$work/$name.log"
}
work=$(mktemp -d /tmp/llmtrace-test.XXXXXX)
chmod 755 "$work"
summary=$work/summary
: >"$summary"
cleanup() { scripts/pgcluster.sh stop "$work/pg" >/dev/null 2>&1 || true; }
trap cleanup EXIT

log "build and install the extension"
if make -j2 >"$work/build.log" 2>&1 && make install >>"$work/build.log" 2>&1; then
    record build 1 0
else
    tail -40 "$work/build.log"
    record build 0 1
fi

log "unit tests (ctest)"
if cmake -S . -B "$work/build-unit" -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$work/unit.log" 2>&1 &&
    cmake --build "$work/build-unit" -j2 >>"$work/unit.log" 2>&1; then
    (cd "$work/build-unit" && ctest --output-on-failure 2>&1) | tee "$work/ctest.log" | tail -15
    line=$(grep -E 'tests passed, [0-9]+ tests failed out of [0-9]+' "$work/ctest.log" | tail -1)
    total=$(sed -E 's/.*out of ([0-9]+).*/\1/' <<<"$line")
    bad=$(sed -E 's/.* ([0-9]+) tests failed.*/\1/' <<<"$line")
    if [ -n "$line" ]; then record "unit (ctest)" $((total - bad)) "$bad"; else record "unit (ctest)" 0 1; fi
else
    tail -40 "$work/unit.log"
    record "unit (ctest)" 0 1
fi

log "start a throwaway PostgreSQL cluster"
if eval "export $(scripts/pgcluster.sh start "$work/pg" "$PORT")"; then
    log "regression and isolation tests (make installcheck)"
    make installcheck >"$work/installcheck.log" 2>&1
    grep -E '\.\.\. |tests (passed|failed)|Error' "$work/installcheck.log" || tail -20 "$work/installcheck.log"
    for f in regression.diffs output_iso/regression.diffs; do
        [ -s "$f" ] && { echo "--- $f"; head -100 "$f"; }
    done
    # pg_regress prints "test NAME ... ok" or "... FAILED" for each test of sql/ and specs/.
    ok=$(grep -cE '\.\.\. +ok' "$work/installcheck.log")
    bad=$(grep -cE '\.\.\. +FAILED' "$work/installcheck.log")
    expected=$(( $(ls sql/*.sql 2>/dev/null | wc -l) + $(ls specs/*.spec 2>/dev/null | wc -l) ))
    [ $((ok + bad)) -lt "$expected" ] && bad=$((expected - ok))
    record "regression + isolation" "$ok" "$bad"
    log "pg_dump / pg_restore round trip"
    if bash test/dump_restore.sh; then record "dump/restore" 1 0; else record "dump/restore" 0 1; fi
    log "upgrade from every released version (test/upgrade.sh)"
    bash test/upgrade.sh 2>&1 | tee "$work/upgrade.log"
    record "upgrade" "$(grep -c '^ok - ' "$work/upgrade.log")" "$(grep -c '^FAILED - ' "$work/upgrade.log")"
    grep -qE '^(ok|FAILED) - ' "$work/upgrade.log" || record "upgrade (did not run)" 0 1
    run_tier sessions "multi-session tests (test/sessions)" env PGDATA="$work/pg/data" bash test/sessions/run.sh
    run_tier grafana "Grafana dashboards: validated, every query run with Grafana's macros expanded (test/grafana)" \
        bash test/grafana/run.sh
    run_tier prometheus "Prometheus: prometheus-postgres-exporter with integrations/prometheus/queries.yaml (test/prometheus)" \
        bash test/prometheus/run.sh
else
    cat "$work/pg/server.log" 2>/dev/null | tail -20
    record "regression + isolation" 0 1
fi

run_tier listen "llmtrace-listen end to end (test/listen)" bash test/listen/run.sh
run_tier cron "the periodic functions under pg_cron (test/cron)" bash test/cron/run.sh
run_tier gateway "llmtrace-gateway end to end (test/gateway)" bash test/gateway/run.sh
run_tier page "the dashboard page in headless Chromium (test/page)" \
    env LLMTRACE_TEST_ARTIFACTS="${LLMTRACE_TEST_ARTIFACTS:-$root/test/artifacts}" bash test/page/run.sh

log "fuzzing the normalizer for ${FUZZ_SECONDS}s (libFuzzer, ASan, UBSan)"
if [ "$FUZZ_SECONDS" -gt 0 ]; then
    if test/fuzz/run.sh "$FUZZ_SECONDS" >"$work/fuzz.log" 2>&1; then
        tail -3 "$work/fuzz.log"
        record "fuzz (${FUZZ_SECONDS}s)" 1 0
    else
        tail -60 "$work/fuzz.log"
        record "fuzz (${FUZZ_SECONDS}s)" 0 1
    fi
fi

log "summary"
cat "$summary"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
