"""A campaign's result codes over the campaigns API: list, create, change, delete, in the
dialler envelope, with its errors."""

from __future__ import annotations

from typing import Any

import asyncpg

from tests.conftest import Api
from tests.integration.test_results import called
from tests.integration.test_scheduler import add_campaign, add_contact


def path(campaign_id: int, code_id: int | None = None) -> str:
    tail = "" if code_id is None else f"/{code_id}"
    return f"/dialler/campaigns/{campaign_id}/resultcodes{tail}"


async def create(api: Api, campaign_id: int, **body: Any) -> dict[str, Any]:
    status, answer = await api.request("POST", path(campaign_id), json=body)
    assert status == 200, answer
    record: dict[str, Any] = answer["records"][0]
    return record


async def test_create_list_change_delete(api: Api, pool: asyncpg.Pool) -> None:
    cid = await add_campaign(pool)
    sale = await create(api, cid, Name="Sale", DiallerResultCodesTypesID=1, Position=2)
    assert sale == sale | {
        "DiallerCampaignsID": cid, "Name": "Sale", "DiallerResultCodesTypesID": 1,
        "RetryMinutes": None, "Position": 2, "bActive": True,
    }  # fmt: skip
    later = await create(api, cid, Name="Later", DiallerResultCodesTypesID=3, RetryMinutes=45)
    status, body = await api.request("GET", path(cid))
    assert status == 200 and body["orderBy"] == "Position" and body["count"] == 2
    assert [r["ID"] for r in body["records"]] == [later["ID"], sale["ID"]]

    status, body = await api.request(
        "PATCH", path(cid, later["ID"]), json={"DiallerResultCodesTypesID": 4}
    )
    assert status == 200, body
    changed = body["records"][0]
    assert (changed["DiallerResultCodesTypesID"], changed["RetryMinutes"]) == (4, None)
    assert changed["Name"] == "Later"

    assert await api.request("DELETE", path(cid, sale["ID"])) == (200, {"status": 200})
    status, body = await api.request("GET", path(cid))
    assert [r["ID"] for r in body["records"]] == [later["ID"]]


async def test_bad_codes_are_400_naming_the_field(api: Api, pool: asyncpg.Pool) -> None:
    cid = await add_campaign(pool)
    bad: list[tuple[Any, str]] = [
        ({"DiallerResultCodesTypesID": 1}, "Name"),
        ({"Name": "", "DiallerResultCodesTypesID": 1}, "Name"),
        ({"Name": "x"}, "DiallerResultCodesTypesID"),
        ({"Name": "x", "DiallerResultCodesTypesID": 9}, "DiallerResultCodesTypesID"),
        ({"Name": "x", "DiallerResultCodesTypesID": "1"}, "DiallerResultCodesTypesID"),
        (
            {"Name": "x", "DiallerResultCodesTypesID": 3},
            "RetryMinutes: Value error, a retry code needs its minutes",
        ),
        ({"Name": "x", "DiallerResultCodesTypesID": 1, "RetryMinutes": 5}, "only a retry code"),
        ({"Name": "x", "DiallerResultCodesTypesID": 1, "Colour": "red"}, "Colour"),
        ([1], "object"),
    ]
    for payload, needle in bad:
        status, body = await api.request("POST", path(cid), json=payload)
        assert status == 400 and body["status"] == 400 and needle in body["error"], body
    assert (await api.request("GET", path(cid)))[1]["count"] == 0


async def test_unknown_taken_used_and_other_clients(api: Api, pool: asyncpg.Pool) -> None:
    cid = await add_campaign(pool)
    other = await add_campaign(pool, "c2")
    code = await create(api, cid, Name="Sale", DiallerResultCodesTypesID=1)
    status, body = await api.request(
        "POST", path(cid), json={"Name": "Sale", "DiallerResultCodesTypesID": 2}
    )
    assert (status, body["status"]) == (409, 409) and "named 'Sale'" in body["error"]
    assert (await api.request("GET", path(999)))[0] == 404
    for method in ("PATCH", "DELETE"):
        status, body = await api.request(method, path(other, code["ID"]), json={})
        assert status == 404 and "no result code" in body["error"], body
        assert (await api.request(method, path(cid, 99_999_999_999), json={}))[0] == 404

    # A code recorded for an attempt stays, for history: it can only be deactivated.
    contact = await add_contact(pool, cid)
    attempt = await called(pool, contact)
    await pool.execute(
        "UPDATE contact_history SET result_code_id = $2, result_code_type_id = 1 WHERE id = $1",
        attempt,
        code["ID"],
    )
    status, body = await api.request("DELETE", path(cid, code["ID"]))
    assert status == 409 and "bActive" in body["error"], body
    status, body = await api.request("PATCH", path(cid, code["ID"]), json={"bActive": False})
    assert status == 200 and body["records"][0]["bActive"] is False

    await pool.execute("UPDATE campaigns SET client_id = 2 WHERE id = $1", cid)
    assert (await api.request("GET", path(cid)))[0] == 404
