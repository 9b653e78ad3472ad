#!/usr/bin/env bash
# llmtrace's maintenance run by pg_cron (Debian's postgresql-15-cron, pg_cron 1.4: schedules of
# whole minutes) in its own throwaway cluster: a role in llmtrace_admin with
# llmtrace.retention_days = 30 schedules llmtrace.maintain() and llmtrace.apply_retention() at two
# different minutes of the hour, as the README shows; after their runs the back-filled spans are
# in the partitions of their days, the default partition is empty, the partitions up to 7 days
# ahead exist and the day 45 days ago is dropped while the one 10 days ago is kept. Takes one to
# two minutes (the jobs start at minute boundaries). Then llmtrace.schedule_defaults() schedules
# every periodic function in one call; moved to every minute, each job runs and succeeds, and
# llmtrace.health shows them current. Ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
PORT=${LLMTRACE_CRON_PORT:-5495}
TIMEOUT=${LLMTRACE_CRON_TIMEOUT:-150}  # seconds to wait for the jobs
DB=llmtrace_cron
ADMIN=llmtrace_cron_admin

. test/lib.sh
finish() { echo "$passed passed, $failed failed"; [ "$failed" -eq 0 ]; exit; }

if [ ! -f "$(pg_config --pkglibdir)/pg_cron.so" ]; then
    not_ok "pg_cron: postgresql-15-cron is not installed"
    finish
fi

work=$(mktemp -d /tmp/llmtrace-cron.XXXXXX)
chmod 755 "$work"
cleanup() {
    "$root/scripts/pgcluster.sh" stop "$work/pg" >/dev/null 2>&1
    rm -rf "$work"
}
trap cleanup EXIT

PSQL=(psql -X -q -A -t -v ON_ERROR_STOP=1)
q() { "${PSQL[@]}" -d "$DB" -c "$1"; }           # as postgres (superuser)
qa() { "${PSQL[@]}" -d "$DB" -U "$ADMIN" -c "$1"; }  # as the admin role

# The database pg_cron keeps its jobs in must exist when its launcher starts: initdb and create it
# first, then configure pg_cron and start again. The jobs run in background workers, not over
# libpq connections: no pg_hba.conf / .pgpass / cron.host set-up (this cluster listens on a Unix
# socket only; pg_cron's default cron.host is localhost).
started=0
if eval "export $("$root/scripts/pgcluster.sh" start "$work/pg" "$PORT")" &&
    "${PSQL[@]}" -d postgres -c "CREATE DATABASE $DB" &&
    "$root/scripts/pgcluster.sh" stop "$work/pg" &&
    cat >>"$work/pg/data/postgresql.conf" <<CONF &&
shared_preload_libraries = 'pg_cron'
cron.database_name = '$DB'
cron.use_background_workers = on
CONF
    "$root/scripts/pgcluster.sh" start "$work/pg" "$PORT" >/dev/null; then
    started=1
fi
if [ "$started" = 0 ]; then
    tail -20 "$work/pg/server.log" 2>/dev/null
    not_ok "the cluster starts with pg_cron preloaded"
    finish
fi

if ! "${PSQL[@]}" -d "$DB" <<SQL; then
CREATE EXTENSION pg_cron;
CREATE EXTENSION llmtrace;
CREATE ROLE $ADMIN LOGIN IN ROLE llmtrace_admin;
GRANT USAGE ON SCHEMA cron TO $ADMIN;
ALTER ROLE $ADMIN SET llmtrace.retention_days = 30;
SQL
    not_ok "set-up: CREATE EXTENSION pg_cron, llmtrace and the admin role"
    finish
fi

# A back-fill (the day 45 days ago and the one 10 days ago) and a span of today, in UTC.
iso() { q "SELECT to_char((now() AT TIME ZONE 'UTC') - interval '$1 days', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"; }
old=$(iso 45) mid=$(iso 10) now=$(iso 0)
day() { echo "${1:0:4}${1:5:2}${1:8:2}"; }  # 2026-07-01T... -> 20260701
old_day=$(day "$old") mid_day=$(day "$mid") today=$(day "$now")
ahead_day=$(q "SELECT to_char('$now'::timestamptz AT TIME ZONE 'UTC' + interval '7 days', 'YYYYMMDD')")
stored=0
for s in "old $old" "mid $mid" "now $now"; do
    set -- $s
    r=$(q "SELECT llmtrace.ingest_json('{\"trace_id\":\"cron\",\"span_id\":\"$1\",\"start_time\":\"$2\"}')") &&
        stored=$((stored + r))
done
if [ "$stored" = 3 ]; then ok "3 spans ingested ($old, $mid, $now)"; else not_ok "ingest: $stored of 3 spans stored"; fi

# The README's recipe, run as the admin role, with the two jobs at two different minutes:
# maintain() and apply_retention() share one advisory lock and the one that finds it taken does
# nothing that run, so two jobs starting the same minute race for it and apply_retention() loses
# about every other time. Here maintain() runs the next minute and apply_retention() the minute
# after (pg_cron 1.4 schedules whole minutes, in UTC); scheduled in the last seconds of a minute,
# the job might miss its first minute: wait for the next one then.
[ "$(q "SELECT extract(second FROM now())::int >= 55")" = t ] && sleep 6
minute=$(q "SELECT extract(minute FROM now() AT TIME ZONE 'UTC')::int")
at_maintain="$(((minute + 1) % 60)) * * * *" at_retention="$(((minute + 2) % 60)) * * * *"
if qa "SELECT cron.schedule('llmtrace-maintain', '$at_maintain', 'SELECT llmtrace.maintain()')" >/dev/null &&
    qa "SELECT cron.schedule('llmtrace-retention', '$at_retention', 'SELECT llmtrace.apply_retention()')" >/dev/null; then
    ok "$ADMIN schedules both jobs with cron.schedule ('$at_maintain', '$at_retention')"
else
    not_ok "$ADMIN schedules both jobs with cron.schedule"
fi

# Runs of the job named $1 with status $2 (any status: '%').
runs() {
    q "SELECT count(*) FROM cron.job_run_details d JOIN cron.job j USING (jobid)
       WHERE j.jobname = '$1' AND d.status LIKE '$2'" 2>/dev/null || echo 0
}
part() { echo "to_regclass('llmtrace.spans_p$1')"; }
state_ok() {
    [ "$(q "SELECT NOT EXISTS (SELECT 1 FROM llmtrace.spans_default)
              AND $(part "$old_day") IS NULL AND $(part "$mid_day") IS NOT NULL
              AND $(part "$today") IS NOT NULL AND $(part "$ahead_day") IS NOT NULL" 2>/dev/null)" = t ]
}
# The old day is dropped by the apply_retention() run after the maintain() run that moved its span
# into the partition of its day: wait for both runs and that state.
start=$SECONDS
while :; do
    done_m=$(runs llmtrace-maintain succeeded) done_r=$(runs llmtrace-retention succeeded)
    if [ "$done_m" -ge 1 ] && [ "$done_r" -ge 1 ] && state_ok; then break; fi
    [ "$(runs llmtrace-maintain failed)" -ge 1 ] || [ "$(runs llmtrace-retention failed)" -ge 1 ] && break
    [ $((SECONDS - start)) -ge "$TIMEOUT" ] && break
    sleep 2
done
echo "# waited $((SECONDS - start))s for the runs (succeeded: maintain $done_m, apply_retention $done_r)"

for j in llmtrace-maintain llmtrace-retention; do
    bad=$(q "SELECT string_agg(format('%s as %s: %s', d.status, d.username, d.return_message), '; ')
             FROM cron.job_run_details d JOIN cron.job j USING (jobid)
             WHERE j.jobname = '$j' AND (d.status = 'failed' OR d.username <> '$ADMIN')")
    good=$(q "SELECT count(*) FROM cron.job_run_details d JOIN cron.job j USING (jobid)
              WHERE j.jobname = '$j' AND d.status = 'succeeded' AND d.username = '$ADMIN'
                AND j.username = '$ADMIN' AND d.database = '$DB'")
    if [ "$good" -ge 1 ] && [ -z "$bad" ]; then
        ok "$j ran as $ADMIN and succeeded (runs: $good)"
    else
        not_ok "$j ran as $ADMIN and succeeded: $good succeeded runs; ${bad:-no run}"
    fi
done

n=$(q "SELECT count(*) FROM llmtrace.spans_default")
if [ "$n" = 0 ]; then ok "llmtrace.spans_default is empty"; else not_ok "llmtrace.spans_default is empty: $n spans"; fi
missing=$(q "SELECT string_agg(to_char(d, 'YYYYMMDD'), ' ') FROM generate_series(to_date('$today', 'YYYYMMDD'),
             to_date('$ahead_day', 'YYYYMMDD'), interval '1 day') d
             WHERE to_regclass('llmtrace.spans_p' || to_char(d, 'YYYYMMDD')) IS NULL")
if [ -z "$missing" ]; then
    ok "the partitions of today ($today) to 7 days ahead ($ahead_day) exist"
else
    not_ok "the partitions of today to 7 days ahead exist: missing $missing"
fi
where() {  # the partition span $1 is in, or "gone"
    r=$(q "SELECT c.relname FROM llmtrace.spans s JOIN pg_class c ON c.oid = s.tableoid
           WHERE s.trace_id = 'cron' AND s.span_id = '$1'")
    echo "${r:-gone}"
}
if [ "$(q "SELECT $(part "$old_day") IS NULL")" = t ] && [ "$(where old)" = gone ]; then
    ok "the day 45 days ago (spans_p$old_day) and its span are dropped (retention_days 30 of $ADMIN)"
else
    not_ok "the day 45 days ago (spans_p$old_day) and its span are dropped: span in $(where old)"
fi
for s in "mid spans_p$mid_day" "now spans_p$today"; do
    set -- $s
    got=$(where "$1")
    if [ "$got" = "$2" ]; then ok "span $1: $2"; else not_ok "span $1: $2, not $got"; fi
done

if qa "SELECT cron.unschedule('llmtrace-maintain')" >/dev/null &&
    qa "SELECT cron.unschedule('llmtrace-retention')" >/dev/null &&
    [ "$(q "SELECT count(*) FROM cron.job")" = 0 ]; then
    ok "$ADMIN unschedules both jobs"
else
    not_ok "$ADMIN unschedules both jobs"
fi

# llmtrace.schedule_defaults(): every periodic function scheduled by one call, as the caller,
# idempotent. The default schedules are hourly and daily for maintenance and retention: to see
# each job run here, every job is then moved to every minute with cron.alter_job().
jobs="llmtrace-evaluate-alerts llmtrace-fold-rollups llmtrace-maintain llmtrace-refresh-summary llmtrace-retention"
got=$(qa "SELECT string_agg(jobname, ' ' ORDER BY jobname) FROM llmtrace.schedule_defaults()")
again=$(qa "SELECT count(*) FROM llmtrace.schedule_defaults()")
listed=$(q "SELECT string_agg(jobname, ' ' ORDER BY jobname) FROM cron.job WHERE username = '$ADMIN' AND database = '$DB'")
if [ "$got" = "$jobs" ] && [ "$again" = 5 ] && [ "$listed" = "$jobs" ]; then
    ok "llmtrace.schedule_defaults() schedules the 5 periodic functions as $ADMIN, idempotently ($listed)"
else
    not_ok "llmtrace.schedule_defaults() schedules the 5 periodic functions: returned '$got', again $again, cron.job '$listed'"
fi
cmds=$(q "SELECT string_agg(jobname || '=' || schedule || '=' || command, '; ' ORDER BY jobname) FROM cron.job")
echo "# $cmds"
for c in "llmtrace-maintain=7 \* \* \* \*=SELECT llmtrace.maintain()" \
         "llmtrace-retention=17 3 \* \* \*=SELECT llmtrace.apply_retention()" \
         "llmtrace-fold-rollups=\* \* \* \* \*=SELECT llmtrace.fold_rollups()" \
         "llmtrace-refresh-summary=\* \* \* \* \*=SELECT llmtrace.refresh_daily_cost_summary()" \
         "llmtrace-evaluate-alerts=\* \* \* \* \*=SELECT llmtrace.evaluate_alerts()"; do
    if grep -q "$c" <<<"$cmds"; then ok "job ${c%%=*} is scheduled as the README says"; else not_ok "job ${c%%=*}: $c not in cron.job"; fi
done
# (cron.alter_job is not granted to PUBLIC: the superuser moves them; they stay the admin's.)
# maintain() and apply_retention() share one lock: they get the next two minutes, one each.
[ "$(q "SELECT extract(second FROM now())::int >= 55")" = t ] && sleep 6
minute=$(q "SELECT extract(minute FROM now() AT TIME ZONE 'UTC')::int")
if [ "$(q "SELECT count(*) FROM cron.job j,
                LATERAL cron.alter_job(j.jobid, schedule := CASE j.jobname
                    WHEN 'llmtrace-maintain' THEN '$(((minute + 1) % 60)) * * * *'
                    WHEN 'llmtrace-retention' THEN '$(((minute + 2) % 60)) * * * *'
                    ELSE '* * * * *' END)
           WHERE j.jobname LIKE 'llmtrace-%' AND j.username = '$ADMIN'")" = 5 ]; then
    ok "the jobs move to the next minutes (cron.alter_job), still run as $ADMIN"
else
    not_ok "the jobs move to the next minutes (cron.alter_job)"
fi
q "TRUNCATE cron.job_run_details" >/dev/null
start=$SECONDS
while :; do
    pending=""
    for j in $jobs; do [ "$(runs "$j" succeeded)" -ge 1 ] || pending="$pending $j"; done
    [ -z "$pending" ] && break
    [ $((SECONDS - start)) -ge "$TIMEOUT" ] && break
    sleep 2
done
echo "# waited $((SECONDS - start))s for a run of each default job"
for j in $jobs; do
    n=$(runs "$j" succeeded)
    bad=$(q "SELECT string_agg(format('%s: %s', d.status, d.return_message), '; ')
             FROM cron.job_run_details d JOIN cron.job j USING (jobid) WHERE j.jobname = '$j' AND d.status = 'failed'")
    if [ "$n" -ge 1 ] && [ -z "$bad" ]; then ok "$j ran under pg_cron and succeeded (runs: $n)"; else not_ok "$j ran: $n succeeded; ${bad:-no run}"; fi
done
# What the jobs did shows in llmtrace.job_runs and in llmtrace.health.
seen=$(q "SELECT string_agg(job, ' ' ORDER BY job) FROM llmtrace.job_runs WHERE last_run > now() - interval '5 minutes'")
if [ "$seen" = "apply_retention evaluate_alerts fold_rollups maintain refresh_daily_cost_summary" ]; then
    ok "llmtrace.job_runs notes a recent run of each periodic function"
else
    not_ok "llmtrace.job_runs notes a recent run of each periodic function: $seen"
fi
stale=$(qa "SELECT string_agg(check_name || ' ' || status, ', ') FROM llmtrace.health
            WHERE check_name IN ('rollup_lag_fold_rollups', 'rollup_lag_refresh_daily_cost_summary',
                              'last_maintenance', 'last_retention', 'alert_evaluation', 'partitions_ahead')
              AND status <> 'ok'")
if [ -z "$stale" ]; then ok "llmtrace.health: every scheduled check is ok"; else not_ok "llmtrace.health: $stale"; fi
if [ "$(qa "SELECT count(*) FROM cron.job j, LATERAL cron.unschedule(j.jobname) WHERE j.jobname LIKE 'llmtrace-%'")" = 5 ]; then
    ok "$ADMIN unschedules the default jobs"
else
    not_ok "$ADMIN unschedules the default jobs"
fi

if [ "$failed" -gt 0 ]; then
    echo "--- cron.job_run_details"
    q "SELECT jobid, status, username, start_time, end_time, return_message FROM cron.job_run_details ORDER BY runid"
    echo "--- server.log"
    tail -30 "$work/pg/server.log"
fi
finish
