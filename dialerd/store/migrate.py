"""Forward-only migrations: ``sql/migrations/NNNN_what.sql``, each applied once, in order."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import structlog

from dialerd.store.sqlfiles import q, sql_dir

log = structlog.get_logger(__name__)

_FILE = re.compile(r"^(\d{4})_(\w+)\.sql$")
_LOCK_KEY = 0x6469616C  # advisory lock: one migrator at a time


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    path: Path


def available(directory: Path | None = None) -> list[Migration]:
    directory = directory or sql_dir() / "migrations"
    found = []
    for path in directory.glob("*.sql"):
        m = _FILE.match(path.name)
        if not m:
            raise ValueError(f"migration file name must be NNNN_name.sql: {path.name}")
        found.append(Migration(int(m.group(1)), m.group(2), path))
    found.sort(key=lambda mig: mig.version)
    versions = [mig.version for mig in found]
    if len(set(versions)) != len(versions):
        raise ValueError("two migrations share a version number")
    return found


async def migrate(conn: asyncpg.Connection) -> list[int]:
    """Applies the migrations not yet applied; returns their versions. Idempotent."""
    await conn.execute(q("migrations_table"))
    applied: list[int] = []
    await conn.execute(q("migrations_lock"), _LOCK_KEY)
    try:
        done = {r["version"] for r in await conn.fetch(q("migrations_applied"))}
        for mig in available():
            if mig.version in done:
                continue
            async with conn.transaction():
                await conn.execute(mig.path.read_text())
                await conn.execute(q("migration_record"), mig.version, mig.name)
            log.info("migration_applied", version=mig.version, name=mig.name)
            applied.append(mig.version)
    finally:
        await conn.execute(q("migrations_unlock"), _LOCK_KEY)
    return applied


async def current_version(conn: asyncpg.Connection) -> int | None:
    if not await conn.fetchval(q("migrations_table_exists")):
        return None
    version: int | None = await conn.fetchval(q("migrations_current_version"))
    return version
