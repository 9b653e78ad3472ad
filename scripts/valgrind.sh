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
cp scripts/valgrind.supp "$work/valgrind.supp"
as_pg bash -c "valgrind --quiet --trace-children=yes --track-origins=yes --read-inline-info=yes \
    --suppressions=$work/valgrind.supp \
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
errors=$(cat "$work"/valgrind.*.log | grep -c 'VALGRINDERROR-BEGIN' || true)
ours=$(awk '/VALGRINDERROR-BEGIN/{b="";f=1} f{b=b"\n"$0} /VALGRINDERROR-END/{f=0; if (b ~ /llmtrace/) print b}' "$work"/valgrind.*.log)
echo "valgrind: $errors error reports in total"
if [ -n "$ours" ]; then
    echo "$ours" | head -200
    echo "valgrind: errors involving llmtrace code found (logs in $work)"
    exit 1
fi
if [ "$errors" -gt 0 ]; then
    cat "$work"/valgrind.*.log | grep -A12 'VALGRINDERROR-BEGIN' | head -60
    echo "valgrind: errors outside llmtrace code (logs in $work)"
    exit 1
fi
echo "valgrind: no invalid access in llmtrace code (logs in $work)"
