#!/usr/bin/env bash
# A private PostgreSQL cluster in <repo>/.pgdata, for machines where no server runs.
#   scripts/pg.sh start   -> starts it (initdb on first use), prints its admin DSN
#   scripts/pg.sh stop
# The server never runs as root: as root, the cluster belongs to the 'postgres' system user.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
data="${DIALERD_PGDATA:-$root/.pgdata}"
port="${DIALERD_PGPORT:-54329}"
bindir="$(dirname "$(ls -d /usr/lib/postgresql/*/bin/initdb | sort -V | tail -n 1)")"

run_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "${1:-start}" in
  start)
    if [ ! -f "$data/PG_VERSION" ]; then
      mkdir -p "$data"
      [ "$(id -u)" -eq 0 ] && chown postgres: "$data"
      chmod 700 "$data"
      run_pg "$bindir/initdb" -D "$data" -U postgres --auth=trust -E UTF8 >/dev/null
    fi
    mkdir -p "$data/run" && { [ "$(id -u)" -ne 0 ] || chown postgres: "$data/run"; }
    if ! run_pg "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1; then
      run_pg "$bindir/pg_ctl" -D "$data" -l "$data/server.log" -w -t 60 start \
        -o "-p $port -k $data/run -c listen_addresses=127.0.0.1 -c fsync=off" >/dev/null
    fi
    echo "postgresql://postgres@127.0.0.1:$port/postgres"
    ;;
  stop)
    [ -f "$data/PG_VERSION" ] && run_pg "$bindir/pg_ctl" -D "$data" -m fast stop >/dev/null 2>&1 || true
    ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
