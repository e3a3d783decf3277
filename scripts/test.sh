#!/usr/bin/env bash
# The whole test suite: lint (ruff check and format, import contracts, mypy), unit, integration
# (real Postgres), browser (the console in Chromium) and pbx (real Asterisk lab).
# Uses the machine's PostgreSQL on 127.0.0.1:5432 when it answers, else a private cluster.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
scripts/setup.sh --browser
# The lab's Asterisk, built once and cached (a fresh machine: many minutes): before the tests, so
# that the build is not counted in the first lab test's own time limit.
scripts/build_asterisk.sh >/dev/null

if [ -z "${DIALERD_TEST_DATABASE_URL:-}" ]; then
  if .venv/bin/python -c 'import asyncio, asyncpg; asyncio.run(asyncpg.connect("postgresql://postgres@127.0.0.1:5432/postgres", timeout=3))' 2>/dev/null; then
    export DIALERD_TEST_DATABASE_URL="postgresql://postgres@127.0.0.1:5432/postgres"
  else
    DIALERD_TEST_DATABASE_URL="$(scripts/pg.sh start)"
    export DIALERD_TEST_DATABASE_URL
  fi
fi
echo "test database server: $DIALERD_TEST_DATABASE_URL" >&2

# The static checks run first. A failing one does not keep the tests from running (their
# results are worth having meanwhile), but it fails the whole run at the end.
failed=()
.venv/bin/ruff check . || failed+=(ruff)
.venv/bin/ruff format --check . || failed+=(ruff-format)
.venv/bin/lint-imports --no-logo || failed+=(lint-imports)  # the contracts in pyproject.toml
.venv/bin/mypy --strict dialerd bench tests || failed+=(mypy)
status=0
.venv/bin/python -m pytest "$@" || status=$?
if [ ${#failed[@]} -gt 0 ]; then
  echo "test.sh: failed checks: ${failed[*]}" >&2
  exit $((status ? status : 1))
fi
exit "$status"
