"""sql/schema.sql is exactly what every migration gives an empty database, so that a migration
and the schema file cannot drift apart.

After a new migration: ``DIALERD_WRITE_SCHEMA=1 scripts/test.sh tests/integration/test_schema.py``
writes the file anew (then review and commit it).
"""

from __future__ import annotations

import asyncio
import glob
import os
import shutil
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from dialerd.store.migrate import migrate
from dialerd.store.pool import connect
from dialerd.store.sqlfiles import sql_dir
from tests.conftest import ADMIN_DSN, dsn_for

SCHEMA = sql_dir() / "schema.sql"
HEADER = """\
-- The schema that sql/migrations gives an empty database: pg_dump --schema-only, without its
-- comments, SET lines and session keys. Generated, do not edit: tests/integration/test_schema.py
-- fails when it and the migrations differ, and with DIALERD_WRITE_SCHEMA=1 writes it anew.

"""


def pg_dump() -> str:
    """The newest server's pg_dump (a pg_dump is never older than the server it reads)."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/pg_dump"), key=lambda p: int(p.split("/")[4])
    )
    path = found[-1] if found else shutil.which("pg_dump")
    assert path, "pg_dump not found (scripts/setup.sh installs postgresql)"
    return path


# pg_dump's own lines, which change from one run or client version to the next or say nothing:
# its comment blocks, the session settings and the per-run \restrict key.
_DROPPED = (
    "-- Name: ",
    "-- PostgreSQL database dump",
    "-- Dumped ",
    "SET ",
    "SELECT pg_catalog.set_config(",
    "\\restrict ",
    "\\unrestrict ",
)


def normalised(dump: str) -> str:
    kept = [
        line.rstrip()
        for line in dump.splitlines()
        if line.rstrip() != "--" and not line.startswith(_DROPPED)
    ]
    text = "\n".join(kept)
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return HEADER + text.strip() + "\n"


@pytest.fixture
async def migrated_empty_db() -> AsyncIterator[str]:
    name = f"dialerd_schema_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(ADMIN_DSN)
    try:
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
        conn = await connect(dsn_for(name))
        try:
            await migrate(conn)
        finally:
            await conn.close()
        yield dsn_for(name)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def test_the_migrations_give_exactly_sql_schema_sql(migrated_empty_db: str) -> None:
    proc = await asyncio.create_subprocess_exec(
        pg_dump(),
        "--schema-only",
        "--no-owner",
        "--no-privileges",
        f"--dbname={migrated_empty_db}",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    compare_or_write(normalised(out.decode()))


def compare_or_write(schema: str) -> None:
    if os.environ.get("DIALERD_WRITE_SCHEMA") == "1":
        SCHEMA.write_text(schema)
    assert SCHEMA.read_text() == schema, (
        "sql/schema.sql and the migrations differ; after a new migration regenerate it with "
        "DIALERD_WRITE_SCHEMA=1 scripts/test.sh tests/integration/test_schema.py"
    )
