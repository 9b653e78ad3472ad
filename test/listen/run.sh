#!/usr/bin/env bash
# End-to-end test of llmtrace-listen (the installed one) against its own throwaway cluster:
# alerts fired while its connection is terminated (pg_terminate_backend), while the server
# restarts, while it is stopped (a restart with --state-file) and by a transaction that commits
# after later alerts are all printed exactly once; --exec gets each alert on standard input and
# is retried until it succeeds, as are --webhook POSTs to a local receiver that fails at first;
# SIGTERM ends it with status 0. Ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
PORT=${LLMTRACE_LISTEN_TEST_PORT:-5497}
LISTEN_BIN=${LISTEN_BIN:-$(pg_config --bindir)/llmtrace-listen}
[ -x "$LISTEN_BIN" ] || LISTEN_BIN=/usr/lib/postgresql/$(pg_config --version | sed -E 's/[^0-9]*([0-9]+).*/\1/')/bin/llmtrace-listen

work=$(mktemp -d /tmp/llmtrace-listen.XXXXXX)
chmod 755 "$work"
listener=
cleanup() {
    [ -n "$listener" ] && kill "$listener" 2>/dev/null
    "$root/scripts/pgcluster.sh" stop "$work/pg" >/dev/null 2>&1
    rm -rf "$work"
}
trap cleanup EXIT

. test/lib.sh
check() { if eval "$2"; then ok "$1"; else not_ok "$1"; fi; }

eval "export $("$root/scripts/pgcluster.sh" start "$work/pg" "$PORT")"
export PGDATABASE=postgres
DSN="host=$PGHOST port=$PGPORT user=postgres dbname=postgres"
PSQL=(psql -X -q -A -t -v ON_ERROR_STOP=1)
"${PSQL[@]}" -c "CREATE EXTENSION llmtrace" \
    -c "INSERT INTO llmtrace.alert_rules (name, kind, threshold, cooldown) VALUES ('every span over 0.5 USD', 'span_cost', 0.5, '0')" ||
    { echo "0 passed, 1 failed"; exit 1; }

n=0
# fire: ingests one span over the rule (cooldown 0: one alert per statement).
fire() {
    n=$((n + 1))
    "${PSQL[@]}" -c "SELECT llmtrace.ingest_json('{\"trace_id\":\"listen\",\"span_id\":\"s$n\",\"start_time\":\"2026-03-01T10:00:00Z\",\"model\":\"gpt-4o\",\"cost_usd\":1}')" >/dev/null
}
fire_retry() {  # while the server restarts
    local i
    for i in $(seq 1 50); do fire && return 0; n=$((n - 1)); sleep 0.2; done
    return 1
}
lines() { [ -f "$1" ] && wc -l <"$1" || echo 0; }
wait_lines() {  # FILE COUNT [SECONDS]
    local i
    for i in $(seq 1 $((${3:-20} * 10))); do [ "$(lines "$1")" -ge "$2" ] && return 0; sleep 0.1; done
    return 1
}
start_listener() {  # OUT [extra args]
    local out=$1
    shift
    "$LISTEN_BIN" --dsn "$DSN" --state-file "$work/state" "$@" >>"$out" 2>>"$work/listen.err" &
    listener=$!
    local i
    for i in $(seq 1 100); do
        [ "$("${PSQL[@]}" -c "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'llmtrace-listen'")" -ge 1 ] &&
            [ -f "$work/state" ] && return 0
        sleep 0.1
    done
    return 1
}
ids_of() { sed -E 's/.*"id": ([0-9]+).*/\1/' "$1"; }

out=$work/out
check "--help prints the usage" '"$LISTEN_BIN" --help | grep -q -- "--state-file"'
check "no --dsn: exit status 2" '"$LISTEN_BIN" >/dev/null 2>&1; [ $? = 2 ]'

fire  # before the first start: not news
start_listener "$out" || not_ok "the listener connects"
for i in 1 2 3; do fire; done
check "3 alerts printed as they fire" 'wait_lines "$out" 3'

"${PSQL[@]}" -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'llmtrace-listen'" >/dev/null
for i in 1 2 3; do fire; done
check "3 alerts fired while its connection was terminated are printed" 'wait_lines "$out" 6'

"$root/scripts/pgcluster.sh" stop "$work/pg" >/dev/null
"$root/scripts/pgcluster.sh" start "$work/pg" "$PORT" >/dev/null
for i in 1 2 3; do fire_retry; done
check "3 alerts fired while the server restarted are printed" 'wait_lines "$out" 9 40'

kill -TERM "$listener"
wait "$listener"
status=$?
listener=
check "SIGTERM: exit status 0" '[ "$status" = 0 ]'
for i in 1 2 3; do fire; done
start_listener "$out" || not_ok "the listener reconnects after a restart"
check "3 alerts fired while it was stopped are printed after its restart (--state-file)" 'wait_lines "$out" 12'

# A transaction that fires an alert (another scope: sessions firing the same rule and scope
# at once queue for llmtrace.evaluate_alerts()), then commits after a later alert was printed.
n=$((n + 1))
"${PSQL[@]}" >/dev/null <<SQL &
BEGIN;
SELECT llmtrace.ingest_json('{"trace_id":"listen","span_id":"late$n","start_time":"2026-03-01T10:00:00Z","model":"gpt-4o-late","cost_usd":1}');
SELECT pg_sleep(2);
COMMIT;
SQL
late=$!
sleep 0.5
fire
check "an alert committed after it is printed first" 'wait_lines "$out" 13'
wait "$late"
check "the alert of the transaction that committed later is printed too" 'wait_lines "$out" 14 40'
sleep 1.5  # a poll after the last alert: nothing more comes

expected=$("${PSQL[@]}" -c "SELECT id FROM llmtrace.alerts ORDER BY id OFFSET 1" | sort -n | tr '\n' ' ')
printed=$(ids_of "$out" | sort -n | tr '\n' ' ')
check "every alert after the first start printed exactly once ($(lines "$out") lines)" '[ "$expected" = "$printed" ]'
first12=$(ids_of "$out" | head -12 | tr '\n' ' ')
sorted12=$(ids_of "$out" | head -12 | sort -n | tr '\n' ' ')
check "in the order they fired" '[ "$first12" = "$sorted12" ]'
check "each line is an alert as JSON" '"${PSQL[@]}" -c "CREATE TEMP TABLE l (j text)" -c "\\copy l FROM '"'$out'"'" -c "SELECT bool_and(j::jsonb ? '"'"'rule'"'"' AND j::jsonb ->> '"'"'kind'"'"' = '"'"'span_cost'"'"') FROM l" | grep -qx t'
kill -TERM "$listener"
wait "$listener"
listener=

# --exec: the alert on standard input; a command that fails is retried until it succeeds.
cat >"$work/hook.sh" <<'SH'
#!/bin/sh
# fails the first two times it is called, then appends what it reads
c=$(cat "$1.count" 2>/dev/null || echo 0)
echo $((c + 1)) >"$1.count"
[ "$c" -lt 2 ] && exit 1
cat >>"$1"
SH
chmod +x "$work/hook.sh"
rm -f "$work/state"
start_listener "$work/exec.out" --exec "$work/hook.sh $work/hooked" || not_ok "the --exec listener connects"
fire
fire
check "--exec: each alert reaches the command once, after two failed attempts" 'wait_lines "$work/hooked" 2 20 && [ "$(lines "$work/hooked")" = 2 ]'
kill -TERM "$listener"
wait "$listener"
listener=

# --webhook: POSTed to a local receiver that answers 500 twice first; each alert arrives once,
# with its id in X-Llmtrace-Alert-Id.
python3 "$root/test/listen/receiver.py" "$work/port" "$work/received" 2 &
receiver=$!
for _ in $(seq 1 50); do [ -s "$work/port" ] && break; sleep 0.1; done
rm -f "$work/state"
start_listener "$work/webhook.out" --webhook "http://127.0.0.1:$(cat "$work/port")/alerts" ||
    not_ok "the --webhook listener connects"
fire
fire
check "--webhook: each alert is POSTed once, after two failed attempts, with its id" \
    'wait_lines "$work/received" 2 20 && sleep 1 && [ "$(lines "$work/received")" = 2 ] &&
     [ "$(awk "{ print \$1 }" "$work/received" | tr "\n" " ")" = "$("${PSQL[@]}" -c "SELECT id FROM llmtrace.alerts ORDER BY id DESC LIMIT 2" | sort -n | tr "\n" " ")" ]'
kill -TERM "$listener"
wait "$listener"
listener=
kill "$receiver" 2>/dev/null
check "--exec and --webhook together: exit status 2" '"$LISTEN_BIN" --dsn "$DSN" --exec true --webhook http://127.0.0.1:1/ >/dev/null 2>&1; [ $? = 2 ]'

# What a NOTIFY carries: any role may LISTEN, so by default only the id.
raw_listen() {  # OUT: a plain psql session LISTENing for 3 s
    psql -X -q -v ON_ERROR_STOP=1 -c "LISTEN llmtrace_alerts" -c "SELECT pg_sleep(3)" >"$1" 2>&1 &
    raw=$!
    sleep 1
}
raw_listen "$work/raw_id"
fire
wait "$raw"
check "a plain LISTEN gets {\"id\": N} only (llmtrace.notify_payload = id, the default)" \
    'grep -q "with payload \"{\"id\": [0-9]*}\"" "$work/raw_id" && ! grep -q "\"kind\"" "$work/raw_id"'
"${PSQL[@]}" -c "ALTER DATABASE postgres SET llmtrace.notify_payload = 'full'"
raw_listen "$work/raw_full"
fire
wait "$raw"
"${PSQL[@]}" -c "ALTER DATABASE postgres RESET llmtrace.notify_payload"
check "llmtrace.notify_payload = full: the alert's compact JSON" \
    'grep -q "with payload \"{.*\"kind\": \"span_cost\".*}\"" "$work/raw_full"'

# llmtrace-listen run as a reader bound to a project prints that project's alerts only.
"${PSQL[@]}" -c "CREATE ROLE listen_p1 LOGIN IN ROLE llmtrace_reader" \
    -c "INSERT INTO llmtrace.project_roles (role, project) VALUES ('listen_p1', 'p1')"
rm -f "$work/state"
DSN_SAVED=$DSN
DSN="host=$PGHOST port=$PGPORT user=listen_p1 dbname=postgres"
start_listener "$work/p1.out" || not_ok "the bound reader's listener connects"
for p in p2 p1 p2; do
    n=$((n + 1))
    "${PSQL[@]}" -c "SELECT llmtrace.ingest_json('{\"trace_id\":\"listen\",\"span_id\":\"s$n\",\"start_time\":\"2026-03-01T10:00:00Z\",\"model\":\"gpt-4o\",\"cost_usd\":1,\"project\":\"$p\"}')" >/dev/null
done
check "a bound reader's llmtrace-listen prints its project's alert only" \
    'wait_lines "$work/p1.out" 1 20 && sleep 2 && [ "$(lines "$work/p1.out")" = 1 ] && grep -q "\"project\": \"p1\"" "$work/p1.out"'
kill -TERM "$listener"
wait "$listener"
listener=
DSN=$DSN_SAVED

if [ "$failed" -gt 0 ]; then
    echo "--- listener stderr"; tail -20 "$work/listen.err"
    echo "--- printed"; cat "$out"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
