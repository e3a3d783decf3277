"""Do-not-call lists on a real Postgres: the claim marks a contact's listed numbers (the
client's list and the installation's, never another client's), a contact with no other number
is stopped with its history saying why, a number listed after the claim is refused at the
attempt's start; the API's three operations in the contacts envelope; a file loaded all or
nothing by ``dialerd dnc load``."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest
import xlsxwriter

from dialerd import cli
from dialerd.config import Settings
from dialerd.dialer.scheduler import DueCall, Scheduler
from dialerd.store import dnc
from dialerd.store.dialer import PostgresDialerStore
from tests.conftest import Api
from tests.integration.test_scheduler import add_campaign, add_contact, campaign, fetchrow


async def test_the_claim_skips_listed_numbers_and_stops_a_contact_with_none_left(
    pool: asyncpg.Pool,
) -> None:
    cid = await add_campaign(pool)
    other_client = await add_campaign(pool, "theirs", client_id=2)
    await dnc.add(pool, 1, ["+4930100001"], "api")  # client 1's own
    await dnc.add(pool, None, ["+4930100002"], "cli")  # the installation's
    await dnc.add(pool, 2, ["+4930100003"], "api")  # another client's: not client 1's business
    stopped = await add_contact(pool, cid, ["+4930100001", None, "+4930100002"])
    partly = await add_contact(pool, cid, ["+4930100002", "+4930100003"])
    theirs = await add_contact(pool, other_client, ["+4930100001"])
    store = PostgresDialerStore(pool, "me", 60)
    scheduler = Scheduler(store)
    now = await pool.fetchval("SELECT now()")

    calls = await scheduler.due_calls(await campaign(store, cid), 10, now)
    assert calls == [DueCall(partly, "+4930100003", 1)]
    row = await fetchrow(pool, "SELECT * FROM contact_history WHERE contact_id = $1", stopped)
    assert (row["connres"], row["detail"], row["status"]) == (0, "DNC", "closed")
    assert (row["phone_number"], row["phone_number_offset"]) == ("+4930100001", 1)
    assert row["dt_call_end"] is not None and row["dt_call_connect"] is None
    c = await fetchrow(pool, "SELECT * FROM contacts WHERE id = $1", stopped)
    assert (c["state"], c["last_connres"], c["claimed_by"], c["attempts"]) == (
        "finished", 0, None, 0
    )  # fmt: skip
    # The other client's contact on client 1's listed number is called: lists are per client.
    assert await scheduler.due_calls(await campaign(store, other_client), 10, now) == [
        DueCall(theirs, "+4930100001", 0)
    ]


async def test_a_number_listed_after_the_claim_is_refused_at_the_attempts_start(
    pool: asyncpg.Pool,
) -> None:
    cid = await add_campaign(pool)
    contact = await add_contact(pool, cid, ["+4930100001"])
    store = PostgresDialerStore(pool, "me", 60)
    [claimed] = await store.claim(cid, 10)
    await dnc.add(pool, None, ["+4930100001"], "console")
    assert await store.start_attempts([(contact, "+4930100001", 0)], None, "pbx1") == []
    assert await pool.fetchval("SELECT count(*) FROM contact_history") == 0
    assert claimed.slots[0].dnc is False  # it was not listed when claimed


async def test_the_api_adds_pages_and_removes_numbers_of_the_clients_list(
    api: Api, pool: asyncpg.Pool
) -> None:
    status, body = await api.request(
        "POST", "/dialler/dnc", json={"PhoneNumbers": ["2025550123"], "DefaultRegion": "ZZ"}
    )
    assert (status, body["status"]) == (400, 400) and "'ZZ' is not a region code" in body["error"]
    status, body = await api.request("POST", "/dialler/dnc", json={"Numbers": ["+4930100001"]})
    assert status == 400 and "Numbers" in body["error"], body
    status, body = await api.request(
        "POST", "/dialler/dnc", json={"PhoneNumbers": ["+49 30 1234567", "(202) 555-0123"],
                                      "DefaultRegion": "US"},
    )  # fmt: skip
    assert status == 200, body
    assert (body["count"], body["added"], body["status"]) == (2, 2, 200)
    assert [r["PhoneNumber"] for r in body["records"]] == ["+12025550123", "+49301234567"]
    assert body["records"][0]["Source"] == "api"
    status, body = await api.request("POST", "/dialler/dnc", json={"PhoneNumbers": ["x1", "+1"]})
    assert status == 400 and "2 numbers are not a phone number" in body["error"], body
    assert await pool.fetchval("SELECT count(*) FROM dnc_numbers") == 2  # nothing half-written
    await dnc.add(pool, None, ["+4930999999"], "cli")  # the installation's: not in the API

    status, body = await api.request("GET", "/dialler/dnc?filter=%2B49&limitPageSize=10")
    assert status == 200, body
    assert (body["filter"], body["total"], body["count"], body["orderBy"]) == (
        "+49", 1, 1, "PhoneNumber"
    )  # fmt: skip
    status, body = await api.request("GET", "/dialler/dnc?limitPageSize=0")
    assert status == 400 and "limitPageSize" in body["error"]

    status, body = await api.request("DELETE", "/dialler/dnc?phoneNumber=+49301234567")
    assert (status, body) == (200, {"status": 200})  # an unencoded + came as a space
    status, body = await api.request("DELETE", "/dialler/dnc?phoneNumber=%2B49301234567")
    assert status == 404 and body["error"] == "Number not on the do-not-call list"
    status, body = await api.request("DELETE", "/dialler/dnc?phoneNumber=%2B4930999999")
    assert status == 404  # the installation's list is not the client's to change
    status, _ = await api.request("GET", "/dialler/dnc", auth=False)
    assert status == 401


def write_xlsx(path: Path, rows: list[list[object]]) -> None:
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet()
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            sheet.write(r, c, value)
    book.close()


async def test_a_file_is_loaded_whole_or_not_at_all(
    pool: asyncpg.Pool, settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    registry = tmp_path / "registry.csv"
    registry.write_text("2025550123\n2025550124\n+4930100001\n2025550123\n")
    code = await _dnc(settings, "load", "--installation", "--region", "US", str(registry))
    assert code == 0, capsys.readouterr()
    assert "4 numbers read" in capsys.readouterr().out
    stored = await pool.fetch("SELECT number, source FROM dnc_numbers WHERE client_id IS NULL")
    assert sorted(r["number"] for r in stored) == ["+12025550123", "+12025550124", "+4930100001"]
    assert {r["source"] for r in stored} == {"file registry.csv"}

    # An Excel sheet with a header naming its column; numbers typed as numbers lost their +.
    book = tmp_path / "requests.xlsx"
    write_xlsx(book, [["Name", "Phone number"], ["Ann", 4930100002], ["Bob", "+47 22 00 00 00"]])
    assert await _dnc(settings, "load", "--client", "1", "--region", "DE", str(book)) == 0
    capsys.readouterr()
    stored = await pool.fetch("SELECT number FROM dnc_numbers WHERE client_id = 1")
    assert sorted(r["number"] for r in stored) == ["+4722000000", "+4930100002"]

    bad = tmp_path / "bad.csv"
    bad.write_text("number\n+4930100005\nnot a number\n+4930100006\n")
    assert await _dnc(settings, "load", "--client", "1", str(bad)) == 1
    assert "row 3 'not a number'" in capsys.readouterr().err
    assert await pool.fetchval("SELECT count(*) FROM dnc_numbers WHERE client_id = 1") == 2

    assert await _dnc(settings, "remove", "--installation", "+12025550124") == 0
    assert "1 removed" in capsys.readouterr().out
    assert await _dnc(settings, "list", "--installation", "--search", "+1") == 0
    assert capsys.readouterr().out.split("\t")[0] == "+12025550123"


async def _dnc(settings: Settings, *args: str) -> int:
    parsed = cli.build_parser().parse_args(["dnc", *args])
    code: int = await parsed.run(parsed, settings)
    return code
