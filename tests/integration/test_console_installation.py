"""What every client of the installation shares (calling systems, their CRM links, info fields,
the installation's do-not-call list) over the console: a plain admin of a client reads it and
is refused every change with the console's 403, nothing written; an installation admin changes
it."""

from __future__ import annotations

from typing import Any

import aiohttp
import asyncpg
import pytest

from dialerd.domain import Role
from dialerd.store import admin
from dialerd.users import service
from tests.conftest import Console

REFUSED = "Only an installation admin may change what every client shares"
TEMPLATE = "https://crm.example/?id={extCustId}"
# Each change to what the installation shares: path, form, the status it gets when allowed.
CHANGES: list[tuple[str, dict[str, str], int]] = [
    ("/console/admin/setup/systems", {"code": "THEIR_CRM"}, 303),
    ("/console/admin/setup/fields", {"id": "217", "name": "Contract"}, 303),
    (
        "/console/admin/setup/systems/CRM_ONE/crm",
        {"template": "https://evil.example/?id={extCustId}"},
        303,
    ),
    ("/console/dnc/add", {"list": "installation", "numbers": "+4930100009"}, 200),
    ("/console/dnc/remove", {"list": "installation", "number": "+4930100001"}, 200),
]


async def _shared(pool: asyncpg.Pool) -> list[Any]:
    """Everything the changes above may touch, and the audit log."""
    return [
        [tuple(r) for r in await pool.fetch(sql)]
        for sql in (
            "SELECT code, crm_url_template FROM calling_systems ORDER BY code",
            "SELECT id, name FROM info_fields ORDER BY id",
            "SELECT client_id, number FROM dnc_numbers ORDER BY number",
            "SELECT action FROM audit_log WHERE action <> 'user.sign_in' ORDER BY id",
        )
    ]


@pytest.fixture
async def shared(pool: asyncpg.Pool) -> None:
    await admin.add_calling_system(pool, "CRM_ONE")
    await admin.set_crm_url_template(pool, "CRM_ONE", TEMPLATE)
    await admin.define_info_field(pool, 216, "City")
    await pool.execute(
        "INSERT INTO dnc_numbers (client_id, number, source) VALUES (NULL, '+4930100001', 'x')"
    )


async def _upload(console: Console) -> tuple[int, str]:
    form = aiohttp.FormData()
    form.add_field("list", "installation")
    form.add_field("file", b"number\n+4930100002\n", filename="registry.csv")
    resp = await console.client.post(
        "/console/dnc/upload", data=form, headers={"X-CSRF-Token": console.csrf}
    )
    return resp.status, await resp.text()


@pytest.mark.usefixtures("shared")
async def test_a_plain_admin_reads_what_every_client_shares_and_changes_none_of_it(
    console: Console, pool: asyncpg.Pool
) -> None:
    await console.add_user("bea", Role.ADMIN, client_id=2)
    assert await console.sign_in("bea") == 303
    status, _, body = await console.get("/console/admin/setup")
    assert status == 200
    assert "CRM_ONE" in body and TEMPLATE in body and "City" in body  # its integrations need them
    assert 'action="/console/admin/setup/systems"' not in body  # no control it may not use
    assert 'name="template"' not in body and 'name="id"' not in body
    assert 'action="/console/admin/setup/tokens"' in body  # its client's own stay its own
    status, _, body = await console.get("/console/dnc?list=installation")
    assert status == 200 and "+4930100001" in body
    assert 'action="/console/dnc/remove"' not in body and 'action="/console/dnc/add"' not in body

    before = await _shared(pool)
    for path, form, _ in CHANGES:
        status, _, body = await console.post(path, form)
        assert (status, REFUSED in body) == (403, True), path
    status, body = await _upload(console)
    assert (status, REFUSED in body) == (403, True)
    assert await _shared(pool) == before

    # its client's own list and settings are still its to change
    status, _, body = await console.post("/console/dnc/add", {"numbers": "+4930100003"})
    assert status == 200 and "1 added" in body
    assert (await console.post("/console/admin/setup/reasons", {"reason": "Break"}))[0] == 303


@pytest.mark.usefixtures("shared")
async def test_an_installation_admin_changes_what_every_client_shares(
    console: Console, pool: asyncpg.Pool
) -> None:
    await console.add_user("root", Role.ADMIN, installation_admin=True)
    assert await console.sign_in("root") == 303
    status, _, body = await console.get("/console/admin/setup")
    assert status == 200 and 'action="/console/admin/setup/systems"' in body
    assert "<td>installation admin</td>" in (await console.get("/console/admin/users"))[2]
    for path, form, allowed in CHANGES:
        status, _, body = await console.post(path, form)
        assert status == allowed, (path, body)
    status, body = await _upload(console)
    assert status == 200 and "1 added" in body
    assert await _shared(pool) == [
        [("CRM_ONE", "https://evil.example/?id={extCustId}"), ("THEIR_CRM", None)],
        [(216, "City"), (217, "Contract")],
        [(None, "+4930100002"), (None, "+4930100009")],
        [
            ("system.add",),
            ("infofield.define",),
            ("system.crm",),
            ("dnc.add",),
            ("dnc.remove",),
            ("dnc.load",),
        ],
    ]

    # taken away by the command: the next request of the same session is refused
    await service.set_installation_admin(pool, "root", False)
    status, _, body = await console.post("/console/admin/setup/systems", {"code": "LATE"})
    assert (status, REFUSED in body) == (403, True)
    assert await pool.fetchval("SELECT count(*) FROM calling_systems WHERE code = 'LATE'") == 0
