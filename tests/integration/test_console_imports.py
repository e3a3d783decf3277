"""The import screens over HTTP: supervisors only, CSRF on every POST (the multipart upload
too, by header), every action in the audit log, the import run by the console's worker."""

from __future__ import annotations

import asyncio

import aiohttp
import asyncpg
import pytest

from dialerd.config import Settings
from dialerd.domain import Role
from tests import sheets
from tests.conftest import Console

ROWS: list[list[object]] = [
    ["Name", "Telefon", "Kundennummer"],
    ["Hans", 4915112345678, "A1"],
    ["", 4915112345679, "A2"],
]


async def _ready(pool: asyncpg.Pool) -> None:
    await pool.execute("INSERT INTO calling_systems (code) VALUES ('CRM')")
    await pool.execute(
        "INSERT INTO campaigns (id, name, queue, dial_string, default_region)"
        " VALUES (42, 'Winter', 'sales', 'PJSIP/{number}@trunk', 'DE')"
    )


async def _upload(
    console: Console, *, csrf: bool = True, data: bytes | None = None
) -> aiohttp.ClientResponse:
    form = aiohttp.FormData()
    form.add_field("campaign", "42")
    form.add_field("file", data or sheets.xlsx({"Kunden": ROWS}), filename="liste.xlsx")
    headers = {"X-CSRF-Token": console.csrf, "HX-Request": "true"} if csrf else {}
    return await console.client.post(
        "/console/imports", data=form, headers=headers, allow_redirects=False
    )


async def _actions(pool: asyncpg.Pool) -> list[str]:
    return [r["action"] for r in await pool.fetch("SELECT action FROM audit_log ORDER BY id")]


async def test_a_supervisor_imports_and_every_action_is_audited(
    console: Console, pool: asyncpg.Pool
) -> None:
    await _ready(pool)
    await console.add_user("sue", Role.SUPERVISOR)
    assert await console.sign_in("sue") == 303
    refused = await _upload(console, csrf=False)
    assert refused.status == 403
    assert await pool.fetchval("SELECT count(*) FROM file_imports") == 0

    resp = await _upload(console)
    assert resp.status == 204
    target = resp.headers["HX-Redirect"]
    status, _, body = await console.get(target)
    assert status == 200 and "+4915112345678" in body and "receiver name is missing" in body
    import_id = target.rsplit("/", 1)[1]
    form = {
        "sheet": "Kunden",
        "width": "3",
        "map.0": "name",
        "map.1": "phone1",
        "map.2": "extCustId",
        "system": "CRM",
        "attempts": "3",
        "interval": "12",
    }
    status, _, _ = await console.post(f"/console/imports/{import_id}/start", form, csrf=False)
    assert status == 403
    status, location, _ = await console.post(f"/console/imports/{import_id}/start", form)
    assert (status, location) == (303, target)
    for _ in range(200):  # the console's own worker runs it
        _, _, fragment = await console.get(f"/console/imports/{import_id}/progress")
        if "Rows refused" in fragment:
            break
        await asyncio.sleep(0.05)
    assert "Call tasks imported" in fragment
    download = await console.client.get(f"/console/imports/{import_id}/refused.xlsx")
    assert download.status == 200
    assert download.headers["Content-Disposition"].startswith(
        'attachment; filename="liste-refused.xlsx"'
    )
    assert (await download.read())[:2] == b"PK"
    assert await pool.fetchval("SELECT count(*) FROM contacts") == 1
    assert await _actions(pool) == [
        "user.sign_in",
        "import.upload",
        "import.start",
        "import.refused_download",
    ]


async def test_bad_settings_are_shown_next_to_the_form(
    console: Console, pool: asyncpg.Pool
) -> None:
    await _ready(pool)
    await console.add_user("sue", Role.SUPERVISOR)
    await console.sign_in("sue")
    import_id = (await _upload(console)).headers["HX-Redirect"].rsplit("/", 1)[1]
    form = {"sheet": "Kunden", "width": "3", "map.0": "phone1", "system": "CRM"}
    form |= {"attempts": "3", "interval": "x"}
    status, _, body = await console.post(f"/console/imports/{import_id}/start", form)
    assert status == 400 and "map a column to the receiver name" in body
    status = await pool.fetchval("SELECT status FROM file_imports WHERE id = $1", int(import_id))
    assert status == "uploaded"


async def test_a_viewer_may_not_import(console: Console, pool: asyncpg.Pool) -> None:
    await _ready(pool)
    await console.add_user("val", Role.VIEWER)
    await console.sign_in("val")
    status, _, _ = await console.get("/console/imports")
    assert status == 403
    assert (await _upload(console)).status == 403
    assert await pool.fetchval("SELECT count(*) FROM file_imports") == 0


async def test_an_upload_over_the_limit_is_refused_with_nothing_stored(
    console: Console, pool: asyncpg.Pool, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _ready(pool)
    await console.add_user("sue", Role.SUPERVISOR)
    assert await console.sign_in("sue") == 303
    monkeypatch.setattr(settings, "import_max_bytes", 100_000)
    resp = await _upload(console, data=b"Name,Telefon\n" + b"Hans,4915112345678\n" * 300_000)
    assert resp.status == 400
    assert "larger than the 0.1 MB an import accepts" in await resp.text()
    assert await pool.fetchval("SELECT count(*) FROM file_imports") == 0
