"""The campaign form's result codes over HTTP: a supervisor adds, changes and removes them
with the campaigns API's messages, each audited; a viewer may not."""

from __future__ import annotations

import asyncpg

from dialerd.domain import Role
from tests.conftest import Console
from tests.integration.test_scheduler import add_campaign


async def audited(pool: asyncpg.Pool) -> list[tuple[str, str]]:
    rows = await pool.fetch("SELECT action, target FROM audit_log ORDER BY id")
    return [(r["action"], r["target"]) for r in rows]


async def test_a_supervisor_adds_changes_and_removes_result_codes(
    console: Console, pool: asyncpg.Pool
) -> None:
    cid = await add_campaign(pool)
    await console.add_user("sup")
    assert await console.sign_in("sup") == 303
    base = f"/console/campaigns/{cid}/resultcodes"
    form = {"Name": "Call later", "DiallerResultCodesTypesID": "3", "RetryMinutes": "45"}
    status, location, _ = await console.post(base, form | {"Position": "1", "bActive": "on"})
    assert (status, location) == (303, f"/console/campaigns/{cid}/edit#result-codes")
    code = await pool.fetchrow("SELECT * FROM campaign_result_codes")
    assert code is not None
    assert (code["name"], code["type_id"], code["retry_minutes"], code["active"]) == (
        "Call later", 3, 45, True,
    )  # fmt: skip
    _, _, page = await console.get(f"/console/campaigns/{cid}/edit")
    assert 'value="Call later"' in page and '<option value="3" selected>' in page

    # The API's message, at the code that needs it; nothing saved.
    status, _, page = await console.post(f"{base}/{code['id']}", form | {"RetryMinutes": ""})
    assert status == 400 and "a retry code needs its minutes" in page
    status, _, page = await console.post(base, form | {"Name": "x", "RetryMinutes": "0"})
    assert status == 400 and "greater than or equal to 1" in page
    status, _, page = await console.post(base, form)
    assert status == 409 and "named &#39;Call later&#39; already" in page
    assert await pool.fetchval("SELECT count(*) FROM campaign_result_codes") == 1

    changed = {"Name": "Sale", "DiallerResultCodesTypesID": "1", "Position": "0"}
    assert (await console.post(f"{base}/{code['id']}", changed))[0] == 303
    row = await pool.fetchrow(
        "SELECT name, type_id, retry_minutes, active FROM campaign_result_codes"
    )
    assert row is not None and tuple(row) == ("Sale", 1, None, False)
    assert (await console.post(f"{base}/{code['id']}/delete"))[0] == 303
    assert await pool.fetchval("SELECT count(*) FROM campaign_result_codes") == 0
    assert (await console.post(f"{base}/{code['id']}/delete"))[0] == 404
    target = f"campaign {cid}"
    assert await audited(pool) == [
        ("user.sign_in", "user sup"),
        ("campaign.result_code.create", target),
        ("campaign.result_code.update", target),
        ("campaign.result_code.delete", target),
    ]


async def test_a_viewer_may_not_change_result_codes(console: Console, pool: asyncpg.Pool) -> None:
    cid = await add_campaign(pool)
    await console.add_user("eve", Role.VIEWER)
    assert await console.sign_in("eve") == 303
    form = {"Name": "x", "DiallerResultCodesTypesID": "1"}
    assert (await console.post(f"/console/campaigns/{cid}/resultcodes", form))[0] == 403
    assert await pool.fetchval("SELECT count(*) FROM campaign_result_codes") == 0
