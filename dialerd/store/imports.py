"""Console imports and the mappings campaigns remember, through the named queries of
imports.sql."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from dialerd.store.sqlfiles import q

if TYPE_CHECKING:
    from dialerd.store.campaigns import Conn


async def info_fields(conn: Conn) -> dict[int, str]:
    return {r["id"]: r["name"] for r in await conn.fetch(q("import_info_fields"))}


async def calling_systems(conn: Conn) -> list[str]:
    codes: list[str] = await conn.fetchval(q("import_calling_systems"))
    return codes


@dataclass(frozen=True, slots=True)
class Uploader:
    """Who uploads or starts an import: a console user (None: the command line, a bench)."""

    user_id: int | None
    login: str


async def insert(
    conn: Conn,
    client_id: int,
    campaign_id: int,
    who: Uploader,
    file_name: str,
    kind: str,
    size: int,
) -> int:
    """An upload's row (its file follows in parts, ``insert_part``); its id."""
    new_id: int = await conn.fetchval(
        q("import_insert"), client_id, campaign_id, who.user_id, who.login, file_name, kind, size
    )
    return new_id


async def insert_part(conn: Conn, import_id: int, part: int, data: bytes) -> None:
    await conn.execute(q("import_part_insert"), import_id, part, data)


@dataclass(frozen=True, slots=True)
class Job:
    """An import as any process sees it (no file contents)."""

    id: int
    campaign_id: int
    login: str
    file_name: str
    file_kind: str
    file_bytes: int
    sheet: str | None
    mapping: list[str] | None
    system_code: str | None
    max_attempts: int | None
    min_call_interval_h: int | None
    status: str
    rows_total: int | None
    rows_done: int
    imported: int | None
    updated: int | None
    refused: int | None
    has_refused_file: bool
    error: str | None
    created_at: datetime
    started_at: datetime | None
    progress_at: datetime | None
    finished_at: datetime | None
    now: datetime  # the database's clock when read, for the rate and the time left


async def get(conn: Conn, import_id: int, client_id: int) -> Job | None:
    row = await conn.fetchrow(q("import_get"), client_id, import_id, 1)
    return Job(**dict(row)) if row is not None else None


async def part(conn: Conn, import_id: int, number: int) -> bytes | None:
    """Part ``number`` of an import's file; None past its end or once the import ended."""
    data: bytes | None = await conn.fetchval(q("import_part"), import_id, number)
    return data


async def refused_file(conn: Conn, import_id: int, client_id: int) -> tuple[str, bytes] | None:
    row = await conn.fetchrow(q("import_refused_file"), import_id, client_id)
    if row is None or row["refused_file"] is None:
        return None
    return row["file_name"], row["refused_file"]


async def latest(conn: Conn, client_id: int, limit: int) -> list[Job]:
    return [Job(**dict(r)) for r in await conn.fetch(q("import_get"), client_id, None, limit)]


@dataclass(frozen=True, slots=True)
class Settings:
    """What starting an import chose: where its rows go and how they are read."""

    sheet: str
    mapping: list[str]
    system_code: str
    max_attempts: int
    min_call_interval_h: int


async def queue(
    conn: Conn, import_id: int, client_id: int, chosen: Settings, who: Uploader
) -> bool:
    """Starts an uploaded import; False if it is not (or no longer) an upload of the client."""
    found = await conn.fetchval(
        q("import_queue"),
        import_id,
        client_id,
        chosen.sheet,
        chosen.mapping,
        chosen.system_code,
        chosen.max_attempts,
        chosen.min_call_interval_h,
        who.user_id,
        who.login,
    )
    return found is not None


async def queued_ids(conn: Conn) -> list[int]:
    ids: list[int] = await conn.fetchval(q("import_queued_ids"))
    return ids


async def try_lock(conn: Conn, import_id: int) -> bool:
    """Takes the import's lock for the transaction; False if a running import holds it."""
    got: bool = await conn.fetchval(q("import_try_lock"), import_id)
    return got


@dataclass(frozen=True, slots=True)
class Work:
    """A running import's input (its file: ``part``)."""

    client_id: int
    campaign_id: int
    chosen: Settings


async def mark_running(conn: Conn, import_id: int) -> Work | None:
    """Marks a queued import running; None if another worker took it first."""
    row = await conn.fetchrow(q("import_mark_running"), import_id)
    if row is None:
        return None
    chosen = Settings(
        row["sheet"],
        row["mapping"],
        row["system_code"],
        row["max_attempts"],
        row["min_call_interval_h"],
    )
    return Work(row["client_id"], row["campaign_id"], chosen)


async def progress(conn: Conn, import_id: int, rows_total: int, rows_done: int) -> None:
    await conn.execute(q("import_progress"), import_id, rows_total, rows_done)


async def finish(
    conn: Conn,
    import_id: int,
    counts: tuple[int, int, int],
    refused: bytes | None,
) -> bool:
    """Records the result (created, updated, refused); False if the import was failed meanwhile."""
    imported, updated, refused_rows = counts
    done = await conn.fetchval(
        q("import_finish"), import_id, imported, updated, refused_rows, refused
    )
    return done is not None


async def fail(conn: Conn, import_id: int, error: str) -> None:
    await conn.execute(q("import_fail"), import_id, error)


async def fail_abandoned(conn: Conn) -> list[int]:
    """Fails running imports whose dialerd is gone (in a transaction of its own)."""
    async with conn.transaction():
        return [r["id"] for r in await conn.fetch(q("import_fail_abandoned"))]


async def drop_stale_uploads(conn: Conn, hours: int) -> None:
    await conn.execute(q("import_drop_stale_uploads"), hours)


async def mapping(conn: Conn, campaign_id: int) -> dict[str, str]:
    columns: dict[str, str] | None = await conn.fetchval(q("import_mapping_get"), campaign_id)
    return columns or {}


async def save_mapping(conn: Conn, campaign_id: int, columns: dict[str, Any]) -> None:
    await conn.execute(q("import_mapping_save"), campaign_id, columns)
