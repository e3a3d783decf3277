#!/usr/bin/env bash
# Sets up and runs dialerd on a fresh Debian machine: dependencies, a database (the one in
# DIALERD_DATABASE_URL, else a private cluster in .pgdata), the PBX lab (Asterisk, far end,
# three agents; skipped when DIALERD_AMI_HOST names a PBX), migrations, demo data with a few
# call tasks, the service dialling them. Ctrl-C stops dialerd gracefully and the lab with it.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
scripts/setup.sh

if [ -z "${DIALERD_DATABASE_URL:-}" ]; then
  admin="$(scripts/pg.sh start)"
  .venv/bin/python - "$admin" <<'PY'
import asyncio, sys
import asyncpg

async def main(dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = 'dialerd'"):
        await conn.execute("CREATE DATABASE dialerd")
    await conn.close()

asyncio.run(main(sys.argv[1]))
PY
  export DIALERD_DATABASE_URL="${admin%/postgres}/dialerd"
fi
export DIALERD_HTTP_PORT="${DIALERD_HTTP_PORT:-8080}"

if [ -z "${DIALERD_AMI_HOST:-}" ]; then
  echo "run: starting the PBX lab (the first run builds Asterisk: a few minutes)" >&2
  # A lab that was already up is someone else's: leave it running on exit.
  scripts/lab.sh status >/dev/null 2>&1 || trap 'scripts/lab.sh down' EXIT
  lab_env="$(scripts/lab.sh up)"
  while IFS='=' read -r key value; do
    case "$key" in DIALERD_AMI_*) export "$key=$value" ;; esac
  done <<<"$lab_env"
fi

.venv/bin/dialerd migrate
.venv/bin/python scripts/demo_data.py
# Not exec: the EXIT trap takes the lab down once dialerd has drained its calls.
.venv/bin/dialerd serve
