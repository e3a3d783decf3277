#!/usr/bin/env bash
# The whole test suite: lint, unit, integration (real Postgres) and pbx (real Asterisk lab).
# Uses the machine's PostgreSQL on 127.0.0.1:5432 when it answers, else a private cluster.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
scripts/setup.sh

if [ -z "${DIALERD_TEST_DATABASE_URL:-}" ]; then
  if .venv/bin/python -c 'import asyncio, asyncpg; asyncio.run(asyncpg.connect("postgresql://postgres@127.0.0.1:5432/postgres", timeout=3))' 2>/dev/null; then
    export DIALERD_TEST_DATABASE_URL="postgresql://postgres@127.0.0.1:5432/postgres"
  else
    DIALERD_TEST_DATABASE_URL="$(scripts/pg.sh start)"
    export DIALERD_TEST_DATABASE_URL
  fi
fi
echo "test database server: $DIALERD_TEST_DATABASE_URL" >&2

.venv/bin/ruff check .
.venv/bin/python -m pytest "$@"
