"""The calltask API: ``POST /itxdialer/calltaskimport`` and the poll of async imports.

Thin: reads the request, hands it to dialerd.calltasks.service, answers in the calltask
envelope. See docs/calltask-api.md for the decisions the spec leaves open.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import structlog
from aiohttp import web

from dialerd.api.body import BodyTexts, read_object
from dialerd.api.context import CLIENT_ID, POOL
from dialerd.api.errors import error_response, json_response
from dialerd.calltasks.errors import REQUEST_MISSING, CalltaskError
from dialerd.calltasks.schema import CalltaskDone, CalltaskPending, CalltaskQueued, CalltaskRefused
from dialerd.calltasks.service import import_calltasks, precheck
from dialerd.calltasks.worker import ImportWorker
from dialerd.store import calltasks as store

log = structlog.get_logger(__name__)

IMPORT_WORKER = web.AppKey("calltask_import_worker", ImportWorker)
PATH = "/itxdialer/calltaskimport"
_BODY = BodyTexts(
    missing="the request body is missing",
    malformed="the request body is not valid JSON",
    not_object="the request body must be a JSON object",
)


def _flag(request: web.Request, name: str) -> bool:
    value = request.query.get(name, "false").lower()
    if value not in ("true", "false", "1", "0"):
        raise CalltaskError(REQUEST_MISSING, f"{name} must be true or false")
    return value in ("true", "1")


async def _import(request: web.Request) -> web.Response:
    return_tasks = _flag(request, "returnImportedCallTasks")
    run_async = _flag(request, "importAsync")
    body = await read_object(request, _BODY)
    client_id = request[CLIENT_ID]
    pool = request.app[POOL]
    if run_async:
        return await _enqueue(request, pool, client_id, body, return_tasks)
    async with pool.acquire() as conn, conn.transaction():
        answer = await import_calltasks(conn, client_id, body, return_tasks=return_tasks)
    return json_response(answer.body, answer.http_status)


async def _enqueue(
    request: web.Request,
    pool: asyncpg.Pool,
    client_id: int,
    body: dict[str, Any],
    return_tasks: bool,
) -> web.Response:
    async with pool.acquire() as conn:
        await precheck(conn, client_id, body)
        job_id = await store.insert_job(conn, client_id, return_tasks, body)
    request.app[IMPORT_WORKER].wake()
    log.info("calltask_import_queued", import_id=str(job_id), client_id=client_id)
    queued = CalltaskQueued(importId=str(job_id), status="queued", statusUrl=f"{PATH}/{job_id}")
    return json_response(queued.model_dump())


async def _poll(request: web.Request) -> web.Response:
    try:
        job_id = uuid.UUID(request.match_info["importId"])
    except ValueError:
        return error_response(request.path, 404, "no such import")
    async with request.app[POOL].acquire() as conn:
        status, http_status, result = await store.get_job(conn, job_id, request[CLIENT_ID])
    if not status:
        return error_response(request.path, 404, "no such import")
    progress = {"importId": str(job_id), "status": status}
    if status == "queued":
        return json_response(CalltaskPending.model_validate(progress).model_dump(), 202)
    assert http_status is not None
    answer = CalltaskDone if http_status == 200 else CalltaskRefused
    return json_response(answer.model_validate(result | progress).body(), http_status)


async def import_worker(app: web.Application) -> AsyncIterator[None]:
    """Runs the worker of async imports for as long as the app runs (app.cleanup_ctx)."""
    worker = ImportWorker(app[POOL])
    app[IMPORT_WORKER] = worker
    async with worker.running():
        yield


routes = [
    web.post(PATH, _import),
    web.get(PATH + "/{importId}", _poll),
]
