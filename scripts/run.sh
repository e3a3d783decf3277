#!/usr/bin/env bash
# Sets up and runs dialerd on a fresh Debian machine: dependencies, a database (the one in
# DIALERD_DATABASE_URL, else a private cluster in .pgdata), migrations, demo data, the service.
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

.venv/bin/dialerd migrate
.venv/bin/python scripts/demo_data.py
exec .venv/bin/dialerd serve
