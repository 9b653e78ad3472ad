# Helpers shared by the end-to-end test scripts (sourced after `cd` to the repository root).
# Each script prints one "ok - ..." or "FAILED - ..." line per check and ends with its tally,
# "N passed, N failed" (scripts/test.sh counts it).

passed=0
failed=0
ok() { echo "ok - $1"; passed=$((passed + 1)); }
not_ok() { echo "FAILED - $1"; failed=$((failed + 1)); }
note() { echo "# $*"; }
alive() { kill -0 "$1" 2>/dev/null; }

# free_port FROM: the first TCP port from FROM on that nothing listens on at 127.0.0.1.
free_port() {
    local p=$1
    while (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || ss -Hltn "sport = :$p" 2>/dev/null | grep -q .; do
        p=$((p + 1))
    done
    echo "$p"
}

# gateway_bin [built-first]: the llmtrace-gateway to test: LLMTRACE_GATEWAY_BIN, else the first
# executable of the installed one and the repository's build (that one first with built-first);
# empty when there is none.
gateway_bin() {
    local major c
    [ -n "${LLMTRACE_GATEWAY_BIN:-}" ] && { echo "$LLMTRACE_GATEWAY_BIN"; return; }
    major=$(pg_config --version | sed -E 's/[^0-9]*([0-9]+).*/\1/')
    local installed=("$(pg_config --bindir)/llmtrace-gateway" "/usr/lib/postgresql/$major/bin/llmtrace-gateway")
    local built=("$(pwd)/llmtrace-gateway")
    local order=("${installed[@]}" "${built[@]}")
    [ "${1:-}" = built-first ] && order=("${built[@]}" "${installed[@]}")
    for c in "${order[@]}"; do
        [ -x "$c" ] && { echo "$c"; return; }
    done
}

# stop_pid PID [SECONDS] [nosignal]: SIGTERM (unless nosignal: sent already), then the exit
# status (124 if it did not exit in time; then SIGKILL).
stop_pid() {
    local pid=$1 i
    [ "${3:-}" = nosignal ] || kill -TERM "$pid" 2>/dev/null
    for i in $(seq 1 $((${2:-20} * 10))); do
        alive "$pid" || { wait "$pid"; return; }
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    return 124
}

# exits_cleanly NAME PID [SECONDS]: SIGTERM stops PID with exit status 0 within SECONDS (20).
exits_cleanly() {
    local rc
    stop_pid "$2" "${3:-20}"
    rc=$?
    if [ "$rc" = 0 ]; then ok "$1: SIGTERM, exit 0"; else not_ok "$1: SIGTERM: expected exit 0; got $rc"; fi
}
