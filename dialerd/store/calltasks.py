"""Call tasks and import jobs in the store, through the named queries of calltasks.sql."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import asyncpg
import orjson

from dialerd.calltasks.validate import CampaignSetup, Task
from dialerd.store.sqlfiles import q

if TYPE_CHECKING:
    from dialerd.store.campaigns import Conn


async def lock_import(conn: Conn, campaign_id: int, system_code: str) -> None:
    """One import at a time per campaign and calling system, until the transaction ends: two
    imports re-sending the same customers wait for each other instead of deadlocking."""
    await conn.execute(q("calltask_import_lock"), campaign_id, system_code)


async def system_known(conn: Conn, code: str) -> bool:
    known: bool = await conn.fetchval(q("calltask_system_known"), code)
    return known


async def campaign(conn: Conn, campaign_id: int, client_id: int) -> CampaignSetup | None:
    row = await conn.fetchrow(q("calltask_campaign"), campaign_id, client_id)
    if row is None:
        return None
    return CampaignSetup(row["id"], row["queue"], row["dial_string"], row["default_region"])


async def info_field_ids(conn: Conn) -> frozenset[int]:
    return frozenset(await conn.fetchval(q("calltask_info_field_ids")))


@dataclass(frozen=True, slots=True)
class Written:
    id: int
    created: bool  # False: an open call task with the same extCustId was updated


async def upsert(
    conn: Conn,
    *,
    campaign_id: int,
    system_code: str,
    max_attempts: int,
    min_call_interval_h: int,
    tasks: Sequence[Task],
) -> dict[int, Written]:
    """Writes the tasks (their extCustIds unique); returns what became of each, by task index."""
    ids: list[int] = await conn.fetchval(q("calltask_new_ids"), len(tasks))
    returned = await conn.fetchrow(
        q("calltask_upsert"),
        campaign_id,
        system_code,
        max_attempts,
        min_call_interval_h,
        ids,
        [t.name for t in tasks],
        [t.ext_cust_id for t in tasks],
        [t.system_lookup_code for t in tasks],
        [orjson.dumps(t.properties).decode() if t.properties else "{}" for t in tasks],
        [",".join(t.numbers) for t in tasks],  # E.164 has no commas
    )
    by_ext = _ids_by_ext(returned)
    unchanged = [t.ext_cust_id for t in tasks if t.ext_cust_id and t.ext_cust_id not in by_ext]
    if unchanged:
        found = await conn.fetchrow(q("calltask_open_ids"), campaign_id, system_code, unchanged)
        by_ext.update(_ids_by_ext(found))
    written = {}
    for task, new_id in zip(tasks, ids, strict=True):
        row_id = new_id if task.ext_cust_id is None else by_ext[task.ext_cust_id]
        written[task.index] = Written(row_id, row_id == new_id)
    return written


def _ids_by_ext(row: asyncpg.Record | None) -> dict[str | None, int]:
    assert row is not None  # an aggregate always gives a row
    return dict(zip(row["ext_cust_ids"] or [], row["ids"] or [], strict=True))


@dataclass(frozen=True, slots=True)
class Job:
    id: uuid.UUID
    client_id: int
    return_tasks: bool
    request: dict[str, Any]


async def insert_job(
    conn: Conn, client_id: int, return_tasks: bool, request: dict[str, Any]
) -> uuid.UUID:
    job_id = uuid.uuid4()
    await conn.execute(q("calltask_job_insert"), job_id, client_id, return_tasks, request)
    return job_id


async def claim_job(conn: Conn) -> Job | None:
    """The oldest queued job, locked for this transaction; None if there is none free."""
    row = await conn.fetchrow(q("calltask_job_claim"))
    if row is None:
        return None
    return Job(row["id"], row["client_id"], row["return_tasks"], row["request"])


async def finish_job(
    conn: Conn, job_id: uuid.UUID, http_status: int, result: dict[str, Any]
) -> None:
    status = "done" if http_status == 200 else "failed"
    await conn.execute(q("calltask_job_finish"), job_id, status, http_status, result)


async def get_job(conn: Conn, job_id: uuid.UUID, client_id: int) -> tuple[str, int | None, Any]:
    """(status, HTTP status, result) of a job of the client; status "" if there is none."""
    row = await conn.fetchrow(q("calltask_job_get"), job_id, client_id)
    if row is None:
        return "", None, None
    return row["status"], row["http_status"], row["result"]
