#!/usr/bin/env bash
# Runs the regression suite against a server under valgrind (memcheck) and
# reports invalid reads/writes and uses of uninitialised values in llmtrace code.
# Slow (minutes). Needs valgrind; run as root or as a user that can install.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=${LLMTRACE_VALGRIND_PORT:-5496}
scripts/install-deps.sh
command -v valgrind >/dev/null || apt-get install -y -qq valgrind >/dev/null
make -j2 >/dev/null && make install >/dev/null
work=$(mktemp -d /tmp/llmtrace-valgrind.XXXXXX)
chmod 755 "$work"
bindir=/usr/lib/postgresql/$(pg_config --version | sed -E 's/[^0-9]*([0-9]+).*/\1/')/bin
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
[ "$(id -u)" = 0 ] && chown postgres: "$work"
as_pg "$bindir/initdb" -D "$work/data" -U postgres -E UTF8 --no-locale -A trust >/dev/null
as_pg mkdir -p "$work/socket"
as_pg bash -c "valgrind --quiet --trace-children=yes --track-origins=yes --read-inline-info=yes \
    --error-markers=VALGRINDERROR-BEGIN,VALGRINDERROR-END --log-file=$work/valgrind.%p.log \
    $bindir/postgres -D $work/data -p $PORT -k $work/socket -c listen_addresses='' \
    >$work/server.log 2>&1 &"
trap 'as_pg "$bindir/pg_ctl" -D "$work/data" -m fast stop >/dev/null 2>&1 || true' EXIT
up=0
for i in $(seq 1 180); do
    if pg_isready -h "$work/socket" -p "$PORT" >/dev/null 2>&1; then up=1; break; fi
    sleep 1
done
if [ "$up" != 1 ]; then
    tail -20 "$work/server.log"
    echo "valgrind: the server did not start under valgrind"
    exit 1
fi
# pg_regress writes its results into $work, not into the source tree.
regress=$(pg_config --pkglibdir)/pgxs/src/test/regress/pg_regress
PGHOST=$work/socket PGPORT=$PORT PGUSER=postgres "$regress" --inputdir=. --outputdir="$work/regress" \
    --bindir="$bindir" --load-extension=llmtrace --encoding=UTF8 --no-locale \
    --dbname=contrib_regression $(basename -s .sql sql/*.sql) || true
as_pg "$bindir/pg_ctl" -D "$work/data" -m fast stop >/dev/null 2>&1 || true
trap - EXIT
# Every report, with its origin stack (--track-origins), is one block.
blocks() { awk '/VALGRINDERROR-BEGIN/{b="";f=1} f{b=b"\n"$0} /VALGRINDERROR-END/{f=0; print b "\n@@"}' "$work"/valgrind.*.log; }
errors=$(cat "$work"/valgrind.*.log | grep -c 'VALGRINDERROR-BEGIN' || true)
ours=$(blocks | awk 'BEGIN{RS="@@"} /llmtrace/' )
# PostgreSQL without its own suppression file reports uninitialised padding
# bytes in buffers it writes (write/pwrite64/sendto "Syscall param") and an
# overlapping copy in its regular-expression cache (RE_compile_and_cache, any
# use of ~); any other kind of report (invalid read or write, use of
# uninitialised values in a branch, ...) counts, wherever it is.
other=$(blocks | awk 'BEGIN{RS="@@"} /VALGRINDERROR-BEGIN/ && !/Syscall param (write|pwrite64|sendto|pwritev)/ && !/overlap in memcpy[^\n]*\n[^\n]*\n[^\n]*RE_compile_and_cache/')
echo "valgrind: $errors reports in total"
if [ -n "$ours" ]; then
    echo "$ours" | head -200
    echo "valgrind: reports involving llmtrace code (logs in $work)"
    exit 1
fi
if [ -n "$other" ]; then
    echo "$other" | head -200
    echo "valgrind: invalid accesses or uses of uninitialised values (logs in $work)"
    exit 1
fi
echo "valgrind: no invalid access and no report involving llmtrace code; $errors known reports of PostgreSQL itself (logs in $work)"
