"""POST /itxdialer/calltaskimport against a real Postgres: the spec's example, the status codes
that need the store, all-or-nothing, re-imports, returned tasks and the envelope of bad input.
(The pure rules of every code are in tests/unit/test_calltask_validate.py.)"""

from __future__ import annotations

import copy
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer

from dialerd.api import examples
from dialerd.api.app import init_app
from dialerd.calltasks import service
from dialerd.config import Settings
from dialerd.store import calltasks as calltask_store
from dialerd.store.sqlfiles import q
from tests.conftest import Api

PATH = "/itxdialer/calltaskimport"

SPEC_EXAMPLE = examples.CALLTASK_REQUEST  # the seed's example, as the OpenAPI document shows it


@pytest.fixture
async def setup(pool: asyncpg.Pool) -> None:
    """What the example needs: system MY_SYSTEM, info field 216, campaign 123 of client 1."""
    await pool.execute("INSERT INTO calling_systems (code) VALUES ('MY_SYSTEM')")
    await pool.execute("INSERT INTO info_fields (id, name) VALUES (216, 'City'), (217, 'Zip')")
    await pool.execute(
        "INSERT INTO campaigns (id, name, queue, dial_string, default_region)"
        " VALUES (123, 'Example', 'sales', 'PJSIP/{number}@trunk', 'NO')"
    )


def request(*tasks: dict[str, Any], **header: Any) -> dict[str, Any]:
    body = {k: v for k, v in SPEC_EXAMPLE.items() if k != "callTasks"}
    return body | {"callTasks": list(tasks)} | header


def task(name: str = "Kari", *numbers: str, **fields: Any) -> dict[str, Any]:
    return {"callReceiverName": name, "callNumberList": list(numbers or ["+4791234567"])} | fields


async def contacts(pool: asyncpg.Pool) -> list[asyncpg.Record]:
    return list(await pool.fetch("SELECT * FROM contacts ORDER BY id"))


@pytest.mark.usefixtures("setup")
async def test_the_spec_example_gives_the_documented_answer(api: Api, pool: asyncpg.Pool) -> None:
    status, body = await api.request("POST", PATH, json=SPEC_EXAMPLE)
    assert (status, body) == (
        200,
        {
            "callTaskErrors": [
                {
                    "callTaskIndex": 1,
                    "errorCodes": [102],
                    "errorText": "callNumberList is missing/empty",
                }
            ]
        },
    )
    [row] = await contacts(pool)
    assert row["campaign_id"] == 123 and row["name"] == "John Doe Oslo"
    assert row["phone_numbers"] == ["+4712345678", "+4787654321"]
    assert (row["ext_cust_id"], row["user_data"], row["system_lookup_code"]) == ("5124",) * 2 + (
        "5123",
    )
    assert row["system_code"] == "MY_SYSTEM" and row["properties"] == {"216": "Oslo"}
    assert (row["max_attempts"], row["min_call_interval_h"], row["attempts"]) == (3, 12, 0)
    assert row["number_tries"] == [0, 0] and row["number_invalid"] == [False, False]
    assert row["number_last_cause"] == [None, None] and row["number_end_reason"] == [None, None]
    assert row["state"] == "open"


@pytest.mark.usefixtures("setup")
async def test_every_request_level_code_over_http(api: Api, pool: asyncpg.Pool) -> None:
    await pool.execute("INSERT INTO campaigns (id, name) VALUES (124, 'No queue yet')")
    await pool.execute(
        "INSERT INTO campaigns (id, client_id, name, queue, dial_string)"
        " VALUES (125, 2, 'Other client', 'q', 'PJSIP/{number}@t')"
    )

    def without(key: str) -> dict[str, Any]:
        return {k: v for k, v in request(task()).items() if k != key}

    cases = [
        (without("systemCode"), 3),
        (request(task(), systemCode="NOT_REGISTERED"), 4),
        (without("callCode"), 5),
        (request(task(), callCode="123"), 6),
        (without("maxCallAttempts"), 7),
        (request(task(), maxCallAttempts="3"), 8),
        (without("minCallIntervalHours"), 9),
        (request(task(), minCallIntervalHours=-1), 10),
        (request(), 11),
        (request(task(), callCode=999), 6),
        (request(task(), callCode=125), 6),  # another client's campaign
        (request(task(), callCode=124), 12),
        (request(task(properties={"emprId": 999, "value": "x"})), 12),
    ]
    for payload, code in cases:
        status, body = await api.request("POST", PATH, json=payload)
        assert (status, body["statusCode"]) == (400, code), body
        assert set(body) == {"statusCode", "statusText"}
    assert await contacts(pool) == []


@pytest.mark.usefixtures("setup")
async def test_a_database_failure_mid_import_leaves_nothing(api: Api, pool: asyncpg.Pool) -> None:
    await pool.execute(
        """CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS $$
           BEGIN IF NEW.name = 'BOOM' THEN RAISE EXCEPTION 'forced'; END IF; RETURN NEW; END $$;
           CREATE TRIGGER boom BEFORE INSERT ON contacts FOR EACH ROW EXECUTE FUNCTION boom()"""
    )
    payload = request(task("A"), task("B"), task("BOOM"), task("C"))
    status, body = await api.request("POST", PATH, json=payload)
    assert (status, body) == (500, {"statusCode": 1, "statusText": "Internal server error"})
    assert await contacts(pool) == []


@pytest.mark.usefixtures("setup")
async def test_properties_as_list_or_object_and_name_suffixes(api: Api, pool: asyncpg.Pool) -> None:
    payload = request(
        task(
            "Ola",
            properties=[
                {"emprId": 216, "value": "Oslo", "addToCallTaskName": True},
                {"emprId": 217, "value": 150, "addToCallTaskName": True},
            ],
        ),
        task("Per", properties={"emprId": 217, "value": "0150"}),
        task("Kari", properties=[]),
    )
    status, body = await api.request("POST", PATH, json=payload)
    assert (status, body) == (200, {"callTaskErrors": []})
    rows = await contacts(pool)
    assert [r["name"] for r in rows] == ["Ola Oslo 150", "Per", "Kari"]
    assert [r["properties"] for r in rows] == [{"216": "Oslo", "217": "150"}, {"217": "0150"}, {}]
    for bad in (
        {"emprId": "216", "value": "x"},
        {"emprId": 216},
        "Oslo",
        {"emprId": 216, "value": "x", "addToCallTaskName": "yes"},
    ):
        status, body = await api.request("POST", PATH, json=request(task(properties=bad)))
        assert (status, body["statusCode"]) == (400, 2) and "properties" in body["statusText"]
    assert len(await contacts(pool)) == 3


@pytest.mark.usefixtures("setup")
async def test_a_resent_task_updates_the_open_one_and_keeps_its_dialing_state(
    api: Api, pool: asyncpg.Pool
) -> None:
    first = request(task("Old", "+4791111111", "+4792222222", extCustId="C1"), task("Keyless"))
    assert (await api.request("POST", PATH, json=first))[0] == 200
    await pool.execute(
        "UPDATE contacts SET attempts = 2, number_tries = '{1,1}', number_last_cause = '{17,19}',"
        " next_number = 1 WHERE ext_cust_id = 'C1'"
    )
    again = request(
        task("New", "+4791111111", "+4793333333", extCustId="C1", systemLookupCode="L"),
        task("Keyless"),
        maxCallAttempts=5,
    )
    status, body = await api.request("POST", f"{PATH}?returnImportedCallTasks=true", json=again)
    assert status == 200 and [t["created"] for t in body["callTasks"]] == [False, True]
    rows = await contacts(pool)
    assert [r["name"] for r in rows] == ["New", "Keyless", "Keyless"]  # keyless: always new
    c1 = rows[0]
    assert body["callTasks"][0]["callTaskId"] == c1["id"]
    assert c1["phone_numbers"] == ["+4791111111", "+4793333333"]
    assert c1["number_tries"] == [1, 0] and c1["number_last_cause"] == [17, None]
    assert (c1["attempts"], c1["max_attempts"], c1["next_number"]) == (2, 5, 1)
    assert c1["system_lookup_code"] == "L"
    # Sent once more unchanged: the row is left alone and still reported.
    status, body = await api.request("POST", f"{PATH}?returnImportedCallTasks=true", json=again)
    first = body["callTasks"][0]
    assert (status, first["callTaskId"], first["created"]) == (200, c1["id"], False)
    assert (await contacts(pool))[0]["updated_at"] == c1["updated_at"]
    # A finished call task is history: the same customer gets a new one.
    await pool.execute("UPDATE contacts SET state = 'done' WHERE id = $1", c1["id"])
    assert (await api.request("POST", PATH, json=again))[0] == 200
    assert len(await contacts(pool)) == 6


@pytest.mark.usefixtures("setup")
async def test_the_same_customer_twice_in_one_request_makes_one_row_the_later_wins(
    api: Api, pool: asyncpg.Pool
) -> None:
    payload = request(
        task("First", extCustId="D"), task("Other", extCustId="E"), task("Second", extCustId="D")
    )
    status, body = await api.request("POST", f"{PATH}?returnImportedCallTasks=1", json=payload)
    assert status == 200 and body["callTaskErrors"] == []
    rows = await contacts(pool)
    assert sorted(r["name"] for r in rows) == ["Other", "Second"]
    returned = body["callTasks"]
    assert [t["callTaskIndex"] for t in returned] == [0, 1, 2]
    assert returned[0]["callTaskId"] == returned[2]["callTaskId"]
    assert returned[0]["callReceiverName"] == "Second"


@pytest.mark.usefixtures("setup")
async def test_returned_call_tasks(api: Api) -> None:
    payload = copy.deepcopy(SPEC_EXAMPLE)
    status, body = await api.request("POST", f"{PATH}?returnImportedCallTasks=true", json=payload)
    assert status == 200 and len(body["callTaskErrors"]) == 1
    [returned] = body["callTasks"]
    assert returned == {
        "callTaskIndex": 0,
        "callTaskId": returned["callTaskId"],
        "created": True,
        "callReceiverName": "John Doe Oslo",
        "callNumberList": ["+4712345678", "+4787654321"],
        "extCustId": "5124",
        "systemLookupCode": "5123",
        "properties": [{"emprId": 216, "value": "Oslo"}],
    }


@pytest.mark.usefixtures("setup")
async def test_numbers_in_odd_formats_unicode_names_and_per_task_errors(
    api: Api, pool: asyncpg.Pool
) -> None:
    payload = request(
        task("Åse Øvrebø", " +47 912 34 567 ", "(+47) 92-34-56-78", "0047 93456789", "94567890"),
        task("山田 太郎 ☎", "+49 (30) 1234567"),
        task("Zoe\u0301"),  # combining accent: stored composed (NFC)
        task("", "+4791234567"),
        task("Bad", "12", "+4791234567", "not a number"),
        task("Ints", 4791234567),  # type: ignore[arg-type]
        task("Seven", *["+4791234567"] * 7),
        {"callNumberList": []},
        task("Nul\u0000"),
    )
    status, body = await api.request("POST", PATH, json=payload)
    assert status == 200
    errors = {e["callTaskIndex"]: (e["errorCodes"], e["errorText"]) for e in body["callTaskErrors"]}
    assert errors[3][0] == [101]
    assert errors[4][0] == [103] and "'12'" in errors[4][1] and "not a number" in errors[4][1]
    assert errors[5][0] == [103]
    assert errors[6][0] == [103] and "at most 6" in errors[6][1]
    assert errors[7][0] == [101, 102]
    assert errors[8][0] == [101] and "NUL" in errors[8][1]
    assert sorted(errors) == [3, 4, 5, 6, 7, 8]
    rows = await contacts(pool)
    assert [r["name"] for r in rows] == ["Åse Øvrebø", "山田 太郎 ☎", "Zoé"]
    assert rows[0]["phone_numbers"] == ["+4791234567", "+4792345678", "+4793456789", "+4794567890"]
    assert rows[1]["phone_numbers"] == ["+49301234567"]


@pytest.mark.usefixtures("setup")
async def test_unreadable_bodies_are_400_request_missing(api: Api, pool: asyncpg.Pool) -> None:
    for data in (b"", b"{", b"[1, 2]", b"null", b'"text"', b"\xff\xfe", b'{"a": "\\ud800"}'):
        status, body = await api.request(
            "POST", PATH, data=data, headers={"Content-Type": "application/json"}
        )
        assert (status, body["statusCode"]) == (400, 2), (data, body)
        assert "Traceback" not in body["statusText"]
    status, body = await api.request("POST", f"{PATH}?importAsync=maybe", json=SPEC_EXAMPLE)
    assert (status, body["statusCode"]) == (400, 2) and "importAsync" in body["statusText"]
    assert await contacts(pool) == []


async def test_without_a_valid_token_it_is_401_in_the_calltask_envelope(api: Api) -> None:
    for auth in (False, "Bearer nope", "Basic abc"):
        status, body = await api.request("POST", PATH, auth=auth, json=SPEC_EXAMPLE)
        assert (
            status == 401 and body["statusCode"] == 1 and set(body) == {"statusCode", "statusText"}
        )


async def test_an_oversized_body_is_413_in_the_calltask_envelope(
    settings: Settings, pool: asyncpg.Pool, api: Api
) -> None:
    small = settings.model_copy(update={"max_body_bytes": 2048})
    async with TestClient(TestServer(init_app(small, pool))) as client:
        payload = request(*[task(f"Name {i}") for i in range(100)])
        headers = {"Authorization": f"Bearer {api.token}"}
        async with client.post(PATH, json=payload, headers=headers) as resp:
            assert resp.status == 413
            assert (await resp.json())["statusCode"] == 2
    assert await contacts(pool) == []


@pytest.mark.usefixtures("setup")
async def test_chunks_written_while_the_next_is_checked_stay_all_or_nothing(
    api: Api, pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "CHUNK", 2)
    tasks = [task(f"T{i}", extCustId=str(i)) for i in range(7)]
    late_problems: list[tuple[Any, int]] = [
        ("not a task", 2),
        (task(properties={"emprId": 999, "value": "x"}), 12),
    ]
    for late_problem, code in late_problems:
        status, body = await api.request("POST", PATH, json=request(*tasks, late_problem))
        assert (status, body["statusCode"]) == (400, code)
        assert await contacts(pool) == []
    # The same customer in chunk 0 and chunk 2: one row, the later task, created by this request.
    payload = request(task("early", extCustId="X"), *tasks[:3], task("late", extCustId="X"))
    status, body = await api.request("POST", f"{PATH}?returnImportedCallTasks=true", json=payload)
    assert status == 200 and body["callTaskErrors"] == []
    rows = await contacts(pool)
    assert sorted(r["name"] for r in rows) == ["T0", "T1", "T2", "late"]
    first, *_, last = body["callTasks"]
    assert first["callTaskId"] == last["callTaskId"] and first["created"] and last["created"]
    assert first["callReceiverName"] == "late"


async def test_the_lookup_of_unchanged_tasks_probes_the_index_per_key(pool: asyncpg.Pool) -> None:
    """Right after a bulk import the statistics are stale; the plan must not depend on them."""
    async with pool.acquire() as conn:
        await conn.execute("SET plan_cache_mode = force_generic_plan")
        await conn.execute(f"PREPARE open_ids (integer, text, text[]) AS {q('calltask_open_ids')}")
        [plan] = await conn.fetchval("EXPLAIN (FORMAT JSON) EXECUTE open_ids (1, 'S', '{a,b}')")
        await conn.execute("DEALLOCATE open_ids; RESET plan_cache_mode")
    scans = [n for n in _plan_nodes(plan["Plan"]) if n.get("Index Name") == "contacts_open_ext_key"]
    assert scans and "ext_cust_id = k.ext_cust_id" in scans[0]["Index Cond"], plan


def _plan_nodes(node: dict[str, Any]) -> list[dict[str, Any]]:
    return [node, *(n for child in node.get("Plans", []) for n in _plan_nodes(child))]


@pytest.mark.usefixtures("setup")
async def test_new_tasks_go_in_by_copy_with_every_character_as_sent(
    api: Api, pool: asyncpg.Pool
) -> None:
    """New tasks are COPY rows in text format: tabs, newlines, backslashes and quotes in any
    field must arrive as sent, not as COPY syntax."""
    odd = 'Tab\there, new\nline, back\\slash \\N, "quote", \\., Ærøskøbing ✓'
    payload = request(
        task(
            odd,
            extCustId="e\t1\\",
            systemLookupCode="l\r\n2",
            properties=[{"emprId": 216, "value": odd}],
        ),
        task("Plain", extCustId=None),
    )
    status, body = await api.request("POST", f"{PATH}?returnImportedCallTasks=true", json=payload)
    assert (status, body["callTaskErrors"]) == (200, [])
    first, second = await contacts(pool)
    assert (first["name"], first["ext_cust_id"], first["user_data"]) == (odd, "e\t1\\", "e\t1\\")
    assert first["system_lookup_code"] == "l\r\n2"
    assert first["properties"] == {"216": odd}
    assert first["phone_numbers"] == ["+4791234567"]
    assert (first["number_tries"], first["number_last_cause"]) == ([0], [None])
    assert (first["number_end_reason"], first["number_invalid"]) == ([None], [False])
    assert (first["system_code"], first["campaign_id"], first["max_attempts"]) == (
        "MY_SYSTEM",
        123,
        3,
    )
    assert second["ext_cust_id"] is None and second["name"] == "Plain"
    assert [t["callTaskId"] for t in body["callTasks"]] == [first["id"], second["id"]]


@pytest.mark.usefixtures("setup")
async def test_a_key_reopened_during_the_import_is_updated_not_doubled(
    api: Api, pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The import skips the key lookup when the campaign had no open call task of the system;
    if one appears anyway (a contact reset meanwhile), the COPY's unique violation makes the
    import start again without COPY, and that one updates it."""
    status, _ = await api.request("POST", PATH, json=request(task("Old", extCustId="K")))
    assert status == 200
    [old] = await contacts(pool)

    async def no_open_keys(*_: Any) -> bool:
        return False

    monkeypatch.setattr(calltask_store, "has_open_keys", no_open_keys)
    payload = request(task("New", extCustId="K"), task("Other", extCustId="L"))
    status, body = await api.request("POST", f"{PATH}?returnImportedCallTasks=true", json=payload)
    assert (status, body["callTaskErrors"]) == (200, [])
    rows = await contacts(pool)
    assert (rows[0]["id"], rows[0]["name"]) == (old["id"], "New")
    assert sorted(r["name"] for r in rows) == ["New", "Other"]
    assert [t["created"] for t in body["callTasks"]] == [False, True]


@pytest.mark.usefixtures("setup")
async def test_campaigns_and_systems_with_contacts_cannot_be_removed(
    api: Api, pool: asyncpg.Pool
) -> None:
    """contacts has no foreign keys to them (migration 0005); the guards refuse instead."""
    await pool.execute("INSERT INTO campaigns (id, name) VALUES (124, 'Empty')")
    await pool.execute("INSERT INTO calling_systems (code) VALUES ('UNUSED')")
    status, _ = await api.request("POST", PATH, json=request(task(extCustId="1")))
    assert status == 200
    refused = [
        "DELETE FROM campaigns WHERE id = 123",
        "UPDATE campaigns SET id = 999 WHERE id = 123",
        "DELETE FROM calling_systems WHERE code = 'MY_SYSTEM'",
        "UPDATE calling_systems SET code = 'X' WHERE code = 'MY_SYSTEM'",
        "TRUNCATE campaigns CASCADE",
        "TRUNCATE calling_systems",
    ]
    for statement in refused:
        with pytest.raises(asyncpg.ForeignKeyViolationError):
            await pool.execute(statement)
    await pool.execute("UPDATE campaigns SET name = 'Renamed', id = id WHERE id = 123")
    await pool.execute("DELETE FROM campaigns WHERE id = 124")
    await pool.execute("DELETE FROM calling_systems WHERE code = 'UNUSED'")
    assert len(await contacts(pool)) == 1
