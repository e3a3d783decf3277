"""The console's do-not-call screen over HTTP: a supervisor's client list (add, search,
remove, a file), the installation's list changed by installation admins only, every change
audited."""

from __future__ import annotations

import aiohttp
import asyncpg

from dialerd.domain import Role
from tests.conftest import Console


async def test_a_supervisor_keeps_the_clients_list_and_an_installation_admin_the_installations(
    console: Console, pool: asyncpg.Pool
) -> None:
    await console.add_user("sup")
    assert await console.sign_in("sup") == 303
    status, _, body = await console.post(
        "/console/dnc/add", {"numbers": "+4930100001, 030 100002\nnonsense", "region": "DE"}
    )
    assert status == 400 and "#3 &#39;nonsense&#39;" in body
    assert await pool.fetchval("SELECT count(*) FROM dnc_numbers") == 0
    status, _, body = await console.post(
        "/console/dnc/add", {"numbers": "+4930100001, 030 100002", "region": "DE"}
    )
    assert status == 200 and "2 added to the list" in body
    status, _, body = await console.get("/console/dnc?q=%2B4930100002")
    assert status == 200 and "+4930100002" in body and "+4930100001</code>" not in body
    status, _, body = await console.post("/console/dnc/remove", {"number": "+4930100002"})
    assert status == 200 and "+4930100002 was taken off the list" in body
    status, _, _ = await console.post("/console/dnc/remove", {"number": "+4930100002"})
    assert status == 404

    form = aiohttp.FormData()
    form.add_field("list", "client")
    form.add_field("file", b"number\n+4930100003\n+4930100004\n", filename="requests.csv")
    resp = await console.client.post(
        "/console/dnc/upload", data=form, headers={"X-CSRF-Token": console.csrf}
    )
    assert resp.status == 200 and "2 numbers read, 2 added" in await resp.text()
    rows = await pool.fetch("SELECT client_id, number, source FROM dnc_numbers ORDER BY number")
    assert [tuple(r) for r in rows] == [
        (1, "+4930100001", "console"),
        (1, "+4930100003", "file requests.csv"),
        (1, "+4930100004", "file requests.csv"),
    ]
    actions = await pool.fetch("SELECT action FROM audit_log WHERE action LIKE 'dnc.%' ORDER BY id")
    assert [r["action"] for r in actions] == ["dnc.add", "dnc.remove", "dnc.load"]

    status, _, _ = await console.get("/console/dnc?list=installation")
    assert status == 403
    status, _, _ = await console.post(
        "/console/dnc/add", {"list": "installation", "numbers": "+4930100009"}
    )
    assert status == 403

    await console.add_user("boss", Role.ADMIN, installation_admin=True)
    assert await console.sign_in("boss") == 303
    status, _, body = await console.post(
        "/console/dnc/add", {"list": "installation", "numbers": "+4930100009"}
    )
    assert status == 200 and "1 added" in body
    assert await pool.fetchval("SELECT count(*) FROM dnc_numbers WHERE client_id IS NULL") == 1
