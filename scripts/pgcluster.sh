#!/usr/bin/env bash
# Starts or stops a throwaway PostgreSQL cluster for the demo, the tests and the benchmarks.
#   scripts/pgcluster.sh start DIR [PORT]   initdb (UTF8) into DIR and start it on PORT
#   scripts/pgcluster.sh stop DIR
# Run as root, the cluster runs as the `postgres` OS user (PostgreSQL refuses root);
# otherwise it runs as the invoking user. Connect with: psql -h DIR/socket -p PORT -U postgres
set -euo pipefail
cmd=${1:?usage: pgcluster.sh start|stop DIR [PORT]}
dir=${2:?usage: pgcluster.sh start|stop DIR [PORT]}
port=${3:-5499}
bindir=$(pg_config --bindir)
# Debian's pg_config lives in /usr/bin; the server binaries in the versioned bindir.
[ -x "$bindir/initdb" ] || bindir=/usr/lib/postgresql/$(pg_config --version | sed -E 's/[^0-9]*([0-9]+).*/\1/')/bin

as_owner() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

case "$cmd" in
start)
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres: "$dir"
    if [ ! -f "$dir/data/PG_VERSION" ]; then
        as_owner "$bindir/initdb" -D "$dir/data" -U postgres -E UTF8 --no-locale -A trust >"$dir/initdb.log"
    fi
    mkdir -p "$dir/socket"
    [ "$(id -u)" = 0 ] && chown postgres: "$dir/socket"
    as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start \
        -o "-p $port -k $dir/socket -c listen_addresses='' -c shared_buffers=512MB -c max_wal_size=4GB -c fsync=off -c synchronous_commit=off -c full_page_writes=off" >/dev/null
    echo "PGHOST=$dir/socket PGPORT=$port PGUSER=postgres"
    ;;
stop)
    if [ -f "$dir/data/postmaster.pid" ]; then
        as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
    fi
    ;;
*)
    echo "usage: pgcluster.sh start|stop DIR [PORT]" >&2
    exit 2
    ;;
esac
