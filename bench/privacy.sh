#!/usr/bin/env bash
# llmtrace privacy benchmark: what llmtrace.store_content = 'redact' and
# llmtrace.hash_user_ids = on cost the COPY ingest. The same COPY of the gen_workload.sql
# workload (with secrets planted in ~1 payload in 20, so the masking path runs) with both
# off ('full', off), both on, and each alone; the modes interleaved round by round on a
# freshly emptied state. Prints the rounds, the median spans/s of each mode, the throughput
# ratio on/off and PASS/FAIL against 0.8. Starts its own throwaway cluster. See
# bench/README.md.
#
#   bash bench/privacy.sh                       # the default run (~2.5 min on 2 cores)
#   N=2000 ROUNDS=3 bash bench/privacy.sh       # a quick one (~10 s)
#
# Exit status 0 when the ratio passes and every check holds; 1 when the ratio fails, a
# check fails (something quarantined, a mode that does not store what it should: no
# marker or a secret in clear with redact, a user id that is not 64 hex digits with
# hash_user_ids, different span counts) or a COPY fails.
#
# Environment:
#   N             payloads of the gen_workload.sql workload                    (20000)
#   ROUNDS        rounds; each runs one COPY per mode, the order rotating       (9)
#   MODES         modes measured, among: off on redact hash                    (off on redact hash)
#                   off    store_content = full,   hash_user_ids = off
#                   on     store_content = redact, hash_user_ids = on
#                   redact store_content = redact, hash_user_ids = off
#                   hash   store_content = full,   hash_user_ids = on
#   SECRET_EVERY  one payload in SECRET_EVERY gets a secret in its content; 0: none  (20)
#   TARGET        required throughput ratio on/off                             (0.8)
#   SEED          setseed() of gen_workload.sql (and srand() of the secrets)   (0.42)
#   PORT          port of the throwaway cluster                                (5496)
#   KEEP_WORKDIR  1: keep the temporary directory (cluster, workload, logs)    (0)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)

N=${N:-20000}
ROUNDS=${ROUNDS:-9}
MODES=${MODES:-off on redact hash}
SECRET_EVERY=${SECRET_EVERY:-20}
TARGET=${TARGET:-0.8}
SEED=${SEED:-0.42}
PORT=${PORT:-5496}
KEEP_WORKDIR=${KEEP_WORKDIR:-0}

read -r -a MODE_LIST <<<"$MODES"
for m in "${MODE_LIST[@]}"; do
    case $m in off | on | redact | hash) ;; *) echo "MODES: unknown mode '$m' (off on redact hash)" >&2; exit 2 ;; esac
done
[[ " $MODES " == *" off "* && " $MODES " == *" on "* ]] || { echo "MODES must include off and on" >&2; exit 2; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/llmtrace-privacy.XXXXXX")
chmod 755 "$WORK"          # the cluster runs as another OS user when we are root
CLUSTER=$WORK/cluster
WORKLOAD=$WORK/workload.copy
LOG=$WORK/bench.log

cleanup() {
    local rc=$?
    finish_run "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

export PGHOST=$CLUSTER/socket PGPORT=$PORT PGUSER=postgres PGDATABASE=postgres
unset PGOPTIONS PGAPPNAME
PSQL=(psql -X -q -v ON_ERROR_STOP=1)

say() { printf '%s\n' "$*"; }
# q, now, elapsed, median
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"
calc() { awk "BEGIN { $1 }"; }
list() { paste -sd' ' -; }

# The settings of each mode: store_content hash_user_ids
settings() {
    case $1 in
    off) echo full off ;;
    on) echo redact on ;;
    redact) echo redact off ;;
    hash) echo full on ;;
    esac
}

# A fingerprint of the installed extension: a colleague's `make install` during the run
# would make the figures mix two builds.
INSTALLED_FILES=("$(pg_config --pkglibdir)/llmtrace.so" "$(pg_config --sharedir)"/extension/llmtrace*)
installed() { cat "${INSTALLED_FILES[@]}" 2>/dev/null | md5sum | cut -c1-12; }
INSTALLED_AT_START=$(installed)
CHECKS_FAILED=0
check_failed() { say "   CHECK FAILED: $*"; CHECKS_FAILED=$((CHECKS_FAILED + 1)); }

say "== cluster on port $PORT in $WORK"
"$ROOT/scripts/pgcluster.sh" start "$CLUSTER" "$PORT" >>"$LOG"
"${PSQL[@]}" -c 'CREATE EXTENSION llmtrace' >>"$LOG"
say "llmtrace $(q "SELECT extversion FROM pg_extension WHERE extname = 'llmtrace'") (installed library of $(date -u -r "${INSTALLED_FILES[0]}" '+%Y-%m-%d %H:%M:%S UTC'), fingerprint $INSTALLED_AT_START), PostgreSQL $(q 'SHOW server_version'), $(nproc) CPUs"
# The workload days (gen_workload.sql: the 3 days before today) get their partitions.
q "SELECT llmtrace.ensure_partitions(current_date - 4, current_date + 1)" >>"$LOG"

# ---------------------------------------------------------------------------
# Workload: gen_workload.sql, as bench/run.sh, then secrets planted in the content.
# ---------------------------------------------------------------------------
say "== generating $N payloads"
t0=$(now)
"${PSQL[@]}" -v n="$N" -v seed="$SEED" -v out="$WORK/workload.raw" -f "$HERE/gen_workload.sql"
# gen_workload.sql's texts hold no e-mail address, key, token nor card number. In one
# payload in SECRET_EVERY (the next one with prose if the chosen one has none, e.g. a
# Vercel log line), a phrase with one secret goes before the first " the " of the line:
# always inside a message text (a content string, an OTLP content attribute, which is
# JSON in a string, or a Braintrust message), and the phrases hold no quote nor
# backslash, so the line stays valid JSON and valid COPY text. Kinds, in turn: e-mail
# (3 in 10), OpenAI key, Anthropic key, Bearer JWT, Luhn-valid card, AWS key id,
# GitHub token, bare JWT. A re-delivered line keeps what its original got. Deterministic
# for a SEED (awk's srand).
awk -v every="$SECRET_EVERY" -v seed="$SEED" -v stats="$WORK/secrets.stats" '
function rs(n, set,   s, i) { s = ""; for (i = 0; i < n; i++) s = s substr(set, 1 + int(rand() * length(set)), 1); return s }
function card(   d, i, sum, x, c) {
    d = "4" rs(14, DIG)                      # Visa-like, 15 digits + the check digit
    sum = 0
    for (i = 15; i >= 1; i--) {              # from the right; the rightmost payload digit is doubled
        x = substr(d, i, 1) + 0
        if ((15 - i) % 2 == 0) { x *= 2; if (x > 9) x -= 9 }
        sum += x
    }
    c = (10 - sum % 10) % 10
    d = d c
    return substr(d, 1, 4) " " substr(d, 5, 4) " " substr(d, 9, 4) " " substr(d, 13, 4)
}
function jwt() { return "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ" rs(40, B64) "." rs(43, B64) }
function secret(k,   f) {
    k = k % 10
    if (k == 0 || k == 3 || k == 6) {
        f = FIRST[1 + int(rand() * 6)]
        return "please reply to " f "." LAST[1 + int(rand() * 6)] (k == 3 ? "+billing" : "") "@" DOM[1 + int(rand() * 4)] " about"
    }
    if (k == 1) return "my key is sk-proj-" rs(48, ALNUM "_-") " and"
    if (k == 2) return "ANTHROPIC_API_KEY=sk-ant-api03-" rs(86, ALNUM "_-") "AA"
    if (k == 4) return "curl -H Authorization: Bearer " jwt() " returns"
    if (k == 5) return "charge card " card() " exp 09/27 for"
    if (k == 7) return "aws_access_key_id = AKIA" rs(16, UP DIG) " in"
    if (k == 8) return "token ghp_" rs(36, ALNUM) " for"
    return "id_token " jwt() " for"
}
BEGIN {
    srand(int(seed * 1000000))
    DIG = "0123456789"; UP = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"; ALNUM = UP "abcdefghijklmnopqrstuvwxyz" DIG
    B64 = ALNUM "_-"
    split("jane john maria li ahmed olga", FIRST, " ")
    split("doe smith garcia wang khan petrova", LAST, " ")
    split("example.com acme-corp.io mail.example.org customer.example.net", DOM, " ")
}
{
    # A re-delivered line (an exact copy of an earlier one) gets what its original got:
    # copies that differ would make which one is stored matter (llmtrace keeps one of
    # the rows of a span key, not necessarily the first).
    key = length($0) ":" substr($0, 1, 100) ":" substr($0, length($0) - 400)
    if (key in seen) { print seen[key]; next }
    if (every > 0 && NR % every == 0) pending = 1
    if (pending && (p = index($0, " the ")) > 0) {
        $0 = substr($0, 1, p) secret(n) substr($0, p)
        n++; pending = 0
    }
    seen[key] = $0
    print
}
END { print n + 0 > stats }' "$WORK/workload.raw" >"$WORKLOAD"
rm -f "$WORK/workload.raw"
PLANTED=$(cat "$WORK/secrets.stats")
PAYLOADS=$(wc -l <"$WORKLOAD")
say "   generated in $(elapsed "$t0" "$(now)") s: $PAYLOADS payloads, $(calc "printf \"%.1f\", $(wc -c <"$WORKLOAD") / 1e6") MB, a secret planted in $PLANTED of them (1 in $SECRET_EVERY)"

# Empties what an ingest writes: the spans, the quarantine, the summary deltas (and the
# rollups, empty here), and the alert tables ingest fills (fired alerts, cooldown slots,
# pending candidates, window deltas), so every round starts from the same state.
RESET_TABLES=$(q "SELECT string_agg(c.oid::regclass::text, ', ' ORDER BY c.relname) FROM pg_class c
    WHERE c.relnamespace = 'llmtrace'::regnamespace AND c.relkind IN ('r', 'p') AND NOT c.relispartition
      AND c.relname IN ('spans', 'ingest_errors', 'rollup_deltas', 'daily_deltas', 'hourly_rollups',
                        'daily_rollups', 'daily_view_changes', 'alerts', 'alert_state', 'alert_pending',
                        'alert_window_deltas', 'alert_window_minutes')")
say "   each round empties: $RESET_TABLES"
reset_all() {
    q "TRUNCATE $RESET_TABLES" >>"$LOG"
    q 'CHECKPOINT' >>"$LOG"
}

# One timed COPY in a session with the mode's settings: LOAD first, so that a misspelt
# value fails instead of making a placeholder. Wall clock of the whole psql (connection
# included, as run.sh) to $WORK/time.<mode>, the backend's CPU seconds (user + system,
# /proc/<pid>/stat) to $WORK/cpu.<mode>.
run_copy() { # mode
    local mode=$1 store hash t0 t1 out
    read -r store hash < <(settings "$mode")
    t0=$(now)
    if ! out=$("${PSQL[@]}" 2>"$WORK/copy.err" <<SQL
LOAD 'llmtrace';
SET llmtrace.store_content = '$store';
SET llmtrace.hash_user_ids = $hash;
SELECT pg_backend_pid() AS backend_pid \gset
\copy llmtrace.ingest (payload) FROM '$WORKLOAD'
\setenv BENCH_BACKEND_PID :backend_pid
\! cat /proc/\$BENCH_BACKEND_PID/stat
SQL
    ); then
        say "   COPY ($mode) FAILED: $(head -n 3 "$WORK/copy.err")"
        say "   (a colleague's make install meanwhile? wait a minute and rerun)"
        exit 1
    fi
    t1=$(now)
    LAST_SECS=$(elapsed "$t0" "$t1")
    LAST_CPU=$(awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' <<<"$out")
    echo "$LAST_SECS" >>"$WORK/time.$mode"
    echo "$LAST_CPU" >>"$WORK/cpu.$mode"
}

# What the COPY stored, checked against its mode (not timed). One line:
# spans users hex_users distinct_users markers email api_key bearer jwt card clear errors
# (clear: occurrences of the planted secrets, or any like them, left in clear)
MARKER_SQL="(length(t) - length(replace(t, '[REDACTED:', ''))) / 10"
kind() { echo "(length(t) - length(replace(t, '[REDACTED:$1]', ''))) / length('[REDACTED:$1]')"; }
# the planted secrets (and any like them) in clear
CLEAR_RE='@(example\.com|acme-corp\.io|mail\.example\.org|customer\.example\.net)|sk-(proj|ant-api03)-|AKIA[A-Z0-9]{16}|ghp_[A-Za-z0-9]{36}|eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9|4[0-9]{3} [0-9]{4} [0-9]{4} [0-9]{4}'
stored() {
    q "SELECT count(*), count(user_id), count(*) FILTER (WHERE user_id ~ '^[0-9a-f]{64}\$'),
              count(DISTINCT user_id), coalesce(sum($MARKER_SQL), 0),
              coalesce(sum($(kind email)), 0), coalesce(sum($(kind api_key)), 0), coalesce(sum($(kind bearer)), 0),
              coalesce(sum($(kind jwt)), 0), coalesce(sum($(kind card)), 0),
              coalesce(sum(regexp_count(t, '$CLEAR_RE')), 0),
              (SELECT count(*) FROM llmtrace.ingest_errors)
       FROM (SELECT user_id, coalesce(input::text, '') || coalesce(output::text, '') || attributes::text
                             || coalesce(error_message, '') AS t
             FROM llmtrace.spans) s" | tr '|' ' '
}
check_round() { # mode round
    local mode=$1 r=$2 store hash spans users hex dusers markers email apikey bearer jwt card clear errors
    read -r store hash < <(settings "$mode")
    read -r spans users hex dusers markers email apikey bearer jwt card clear errors < <(stored)
    echo "$spans" >"$WORK/spans.$mode"
    echo "$dusers" >"$WORK/users.$mode"
    echo "$markers" >"$WORK/markers.$mode"
    echo "$clear" >"$WORK/clear.$mode"
    if [ "$errors" != 0 ]; then
        check_failed "$mode, round $r: $errors rows in llmtrace.ingest_errors (every payload is valid)"
        "${PSQL[@]}" -c "SELECT error, sqlstate, left(payload, 160) AS payload FROM llmtrace.ingest_errors ORDER BY id LIMIT 5"
    fi
    if [ "$store" = redact ]; then
        [ "$markers" -gt 0 ] || [ "$PLANTED" = 0 ] || check_failed "$mode, round $r: no [REDACTED: marker stored, redact did not run"
        [ "$clear" = 0 ] || check_failed "$mode, round $r: $clear planted secrets still stored in clear"
    else
        [ "$markers" = 0 ] || check_failed "$mode, round $r: $markers [REDACTED: markers with store_content = full"
        [ "$clear" -gt 0 ] || [ "$PLANTED" = 0 ] || check_failed "$mode, round $r: no planted secret stored with store_content = full"
    fi
    if [ "$hash" = on ]; then
        if [ "$users" = 0 ] || [ "$hex" != "$users" ]; then
            check_failed "$mode, round $r: $hex of $users user ids are 64 hex digits with hash_user_ids = on"
        fi
    else
        [ "$hex" = 0 ] || check_failed "$mode, round $r: $hex user ids of 64 hex digits with hash_user_ids = off"
    fi
    if [ "$r" = 1 ]; then
        printf '%s: %s spans, %s with a user id (%s of 64 hex digits, %s distinct), %s [REDACTED: markers (email %s, api_key %s, bearer %s, jwt %s, card %s), %s planted secrets in clear\n' \
            "$mode" "$spans" "$users" "$hex" "$dusers" "$markers" "$email" "$apikey" "$bearer" "$jwt" "$card" "$clear" >>"$WORK/stored.txt"
    fi
}

# ---------------------------------------------------------------------------
# The rounds: every mode once per round, the order rotating round by round.
# ---------------------------------------------------------------------------
say ""
say "== COPY of $PAYLOADS payloads, $ROUNDS rounds of: $MODES (order rotating)"
: >"$WORK/stored.txt"
for ((r = 0; r < ROUNDS; r++)); do
    order=()
    for ((i = 0; i < ${#MODE_LIST[@]}; i++)); do order+=("${MODE_LIST[(i + r) % ${#MODE_LIST[@]}]}"); done
    line="   round $((r + 1)):"
    for m in "${order[@]}"; do
        reset_all
        run_copy "$m"
        check_round "$m" $((r + 1))
        line+=" $m ${LAST_SECS}s (cpu ${LAST_CPU})"
    done
    say "$line"
done
if [ "$(installed)" != "$INSTALLED_AT_START" ]; then
    say "   WARNING: the installed extension changed during the run: the figures may mix two builds; rerun"
fi

say ""
say "What the first round of each mode stored:"
sed 's/^/   /' "$WORK/stored.txt"
spans_off=$(cat "$WORK/spans.off")
for m in "${MODE_LIST[@]}"; do
    [ "$(settings "$m")" = "redact off" ] || [ "$(settings "$m")" = "redact on" ] || continue
    say "   $m: $(cat "$WORK/markers.$m") [REDACTED: markers stored for the $(cat "$WORK/clear.off") planted secrets that off stores in clear ($PLANTED planted; the content of OTLP spans whose messages come as span events is stored twice, in input/output and in attributes.otel.events)"
done
for m in "${MODE_LIST[@]}"; do
    [ "$(cat "$WORK/spans.$m")" = "$spans_off" ] || check_failed "$m stored $(cat "$WORK/spans.$m") spans, off $spans_off"
    [ "$(cat "$WORK/users.$m")" = "$(cat "$WORK/users.off")" ] ||
        check_failed "$m stored $(cat "$WORK/users.$m") distinct user ids, off $(cat "$WORK/users.off")"
done

say ""
say "COPY $PAYLOADS payloads ($spans_off spans), median of $ROUNDS rounds"
printf '   %-7s %-15s %10s %12s %10s %10s   %s\n' mode settings 'median s' payloads/s spans/s 'cpu s' 'all rounds (s)'
declare -A MED CPU
for m in "${MODE_LIST[@]}"; do
    MED[$m]=$(median <"$WORK/time.$m")
    CPU[$m]=$(median <"$WORK/cpu.$m")
    read -r store hash < <(settings "$m")
    printf '   %-7s %-15s %10.3f %12.0f %10.0f %10.2f   %s\n' "$m" "$store/$hash" "${MED[$m]}" \
        "$(calc "print $PAYLOADS / ${MED[$m]}")" "$(calc "print $spans_off / ${MED[$m]}")" "${CPU[$m]}" \
        "$(list <"$WORK/time.$m")"
done
say ""
for m in "${MODE_LIST[@]}"; do
    [ "$m" = off ] && continue
    say "   throughput $m/off: $(calc "printf \"%.3f\", ${MED[off]} / ${MED[$m]}")  (backend CPU time off/$m: $(calc "printf \"%.3f\", ${CPU[off]} / ${CPU[$m]}"))"
done
RATIO=$(calc "printf \"%.3f\", ${MED[off]} / ${MED[on]}")
VERDICT=$(awk -v a="$RATIO" -v b="$TARGET" 'BEGIN { print (a + 0 >= b + 0) ? "PASS" : "FAIL" }')
say ""
say "$VERDICT: COPY throughput with store_content = redact, hash_user_ids = on is $RATIO x that with full, off (median spans/s $(calc "printf \"%.0f\", $spans_off / ${MED[on]}") vs $(calc "printf \"%.0f\", $spans_off / ${MED[off]}"); target >= $TARGET)"
if [ "$CHECKS_FAILED" != 0 ]; then
    say "FAILED: $CHECKS_FAILED check(s) failed (see CHECK FAILED above): the figures do not measure what they claim"
    exit 1
fi
[ "$VERDICT" = PASS ] || exit 1
say "done."
