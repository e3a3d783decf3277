#!/usr/bin/env bash
# PostgreSQL for dialerd's compose stack: on the first start an empty data directory becomes a
# cluster whose user postgres has POSTGRES_PASSWORD (scram-sha-256 over TCP) and a database
# POSTGRES_DB (dialerd); then the server runs in the foreground on POSTGRES_HOST:POSTGRES_PORT
# (127.0.0.1:5432).
set -euo pipefail
db="${POSTGRES_DB:-dialerd}"
[[ "$db" =~ ^[a-z_][a-z0-9_]*$ ]] || { echo "POSTGRES_DB must be a plain name (got '$db')" >&2; exit 1; }
if [[ ! -s "$PGDATA/PG_VERSION" ]]; then
  [[ -n "${POSTGRES_PASSWORD:-}" && "$POSTGRES_PASSWORD" != CHANGE-ME ]] ||
    { echo "POSTGRES_PASSWORD is not set (or still the example's CHANGE-ME)" >&2; exit 1; }
  initdb --username=postgres --auth-local=peer --auth-host=scram-sha-256 --encoding=UTF8 \
    --locale=C.UTF-8 --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") >/dev/null
  postgres --single -D "$PGDATA" -j postgres <<<"CREATE DATABASE $db;" >/dev/null
  echo "initialised $PGDATA with the database $db" >&2
fi
exec postgres -D "$PGDATA" -c listen_addresses="${POSTGRES_HOST:-127.0.0.1}" \
  -c port="${POSTGRES_PORT:-5432}" -c unix_socket_directories=/tmp
