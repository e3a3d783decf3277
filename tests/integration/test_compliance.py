"""The compliance rules through the campaigns API and on Postgres (docs/compliance.md): the
caller ID of an active campaign, a window held to the country's calling hours, the abandon
after-care in the claim, the abandon-rate report as JSON and CSV."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg

from dialerd.dialer.rules import decider
from dialerd.domain import ClosedAttempt, Connres, Role
from dialerd.store.dialer import PostgresDialerStore
from tests.conftest import Api, Console
from tests.integration.test_attempts import outcome, start_one
from tests.integration.test_reports import abandoned_call, answered_call, oslo, oslo_campaign
from tests.integration.test_scheduler import add_campaign, add_contact

DIALS = {"Queue": "sales", "DialString": "PJSIP/{number}@trunk"}
CALLER_ID = {"CallerID": '"Acme" <+4722334455>'}


async def test_an_active_campaign_must_send_a_caller_id(api: Api, pool: asyncpg.Pool) -> None:
    status, body = await api.request("POST", "/dialler/campaigns", json={"Name": "a", **DIALS})
    assert (status, body["status"]) == (400, 400)
    assert body["error"] == "CallerID: an active campaign must send a caller ID"
    assert await pool.fetchval("SELECT count(*) FROM campaigns") == 0
    # Paused it may wait for one; activating it without one is refused and changes nothing.
    status, body = await api.request(
        "POST", "/dialler/campaigns", json={"Name": "a", "bActive": False, **DIALS}
    )
    assert status == 200, body
    cid = body["records"][0]["ID"]
    status, body = await api.request(
        "PATCH", f"/dialler/campaigns/{cid}", json={"bActive": True, "Name": "b"}
    )
    assert status == 400 and "caller ID" in body["error"]
    row = await pool.fetchrow("SELECT name, active FROM campaigns")
    assert row is not None and tuple(row) == ("a", False)
    status, body = await api.request(
        "PATCH", f"/dialler/campaigns/{cid}", json={"bActive": True, **CALLER_ID}
    )
    assert status == 200 and body["records"][0]["bActive"], body
    # Nor can an active campaign lose it.
    status, body = await api.request("PATCH", f"/dialler/campaigns/{cid}", json={"CallerID": ""})
    assert status == 400 and "caller ID" in body["error"]


async def test_the_window_within_the_country_hours_unless_overridden(api: Api) -> None:
    us = {"Name": "us", "DefaultRegion": "US", **DIALS, **CALLER_ID, "WindowStart": "07:30"}
    status, body = await api.request("POST", "/dialler/campaigns", json=us)
    assert status == 400
    assert body["error"].startswith(
        "WindowStart: US allows calls on Monday from 08:00 to 21:00 only (16 CFR 310.4(c)"
    )
    status, body = await api.request(
        "POST", "/dialler/campaigns", json=us | {"bCallHoursOverride": True}
    )
    assert status == 200 and body["records"][0]["bCallHoursOverride"], body
    # GB at weekends from 09:00: the default window (08:00, Monday to Friday) is within.
    gb = {"Name": "gb", "DefaultRegion": "GB", **DIALS, **CALLER_ID}
    status, body = await api.request("POST", "/dialler/campaigns", json=gb | {"WindowDays": [6]})
    assert status == 400 and "GB allows calls on Saturday from 09:00" in body["error"]
    status, body = await api.request("POST", "/dialler/campaigns", json=gb)
    assert status == 200, body
    # After-care: null is the region's default (on for GB), shown as stored.
    assert body["records"][0]["bAbandonAfterCare"] is None


async def test_an_abandoned_contact_waits_72_hours_for_the_pacer(pool: asyncpg.Pool) -> None:
    cid = await add_campaign(pool, default_region="GB")
    held = await add_contact(pool, cid, ["+442079460000"])
    other = await add_contact(pool, cid, ["+442079460001"])
    store = PostgresDialerStore(pool, "me", 60)
    now = datetime.now(UTC)
    for contact, abandoned in ((held, True), (other, False)):
        attempt = await start_one(pool, store, contact)
        o = outcome(Connres.ABORTED if abandoned else Connres.NO_ANSWER, 16, abandoned=abandoned)
        closed = ClosedAttempt(attempt, contact, 0, o, None, after_care=True)
        await store.close_attempts([closed], decider(now))
    until = await pool.fetchval("SELECT after_care_until FROM contacts WHERE id = $1", held)
    assert until == now + timedelta(hours=72)
    # Both are due again (min_call_interval_h 0), but the pacer's claim leaves the held one.
    assert [c.id for c in await store.claim(cid, 10)] == [other]
    await pool.execute("UPDATE contacts SET claimed_by = NULL, lease_until = NULL")
    await pool.execute("UPDATE contacts SET after_care_until = now() - interval '1 s'")
    assert sorted(c.id for c in await store.claim(cid, 10)) == sorted([held, other])


async def _csv(api: Api, path: str) -> tuple[int, str, str]:
    async with api.client.get(path, headers={"Authorization": f"Bearer {api.token}"}) as resp:
        return resp.status, resp.content_type, await resp.text()


async def test_the_abandon_rate_report_as_json_and_csv(api: Api, pool: asyncpg.Pool) -> None:
    cid, contact = await oslo_campaign(pool, abandon_limit=0.3)
    day = date(2026, 3, 2)
    for _ in range(3):
        await answered_call(pool, contact, oslo(day))
    await abandoned_call(pool, contact, oslo(day))  # 1 of 4: 25 %
    for _ in range(2):
        await abandoned_call(pool, contact, oslo(day + timedelta(days=1)))  # 2 of 2
    query = f"from={day}&to={day + timedelta(days=2)}"
    status, body = await api.request("GET", f"/dialler/campaigns/{cid}/abandonrate?{query}")
    assert status == 200, body
    got = [
        (r["Day"], r["LiveAnswers"], r["Abandoned"], r["Rate"], r["bLimitKept"])
        for r in body["records"]
    ]
    assert got == [
        ("2026-03-02", 4, 1, 0.25, True),
        ("2026-03-03", 2, 2, 1.0, False),
        ("2026-03-04", 0, 0, None, True),  # no live answers: no rate, nothing over
    ]
    last = body["records"][-1]
    assert (last["LiveAnswers30d"], last["Abandoned30d"], last["bLimitKept30d"]) == (6, 3, False)
    assert last["Rate30d"] == 0.5 and last["AbandonLimit"] == 0.3
    # The pacer's window (the 30 x 24 h up to now): none of March 2026's calls, an hour ago's.
    window: dict[str, Any] = body["window"]
    assert window == {
        "Hours": 720,
        "LiveAnswers": 0,
        "Abandoned": 0,
        "Rate": None,
        "AbandonLimit": 0.3,
        "bLimitKept": True,
    }
    await abandoned_call(pool, contact, datetime.now(UTC) - timedelta(hours=1))
    await answered_call(pool, contact, datetime.now(UTC) - timedelta(days=29, hours=23))
    await answered_call(pool, contact, datetime.now(UTC) - timedelta(days=30, hours=1))  # out
    status, body = await api.request("GET", f"/dialler/campaigns/{cid}/abandonrate?{query}")
    assert status == 200 and body["window"] == {
        "Hours": 720,
        "LiveAnswers": 2,
        "Abandoned": 1,
        "Rate": 0.5,
        "AbandonLimit": 0.3,
        "bLimitKept": False,
    }
    status, kind, text = await _csv(api, f"/dialler/campaigns/{cid}/abandonrate.csv?{query}")
    assert (status, kind) == (200, "text/csv")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [(r["Day"], r["Abandoned"], r["Rate"], r["bLimitKept"]) for r in rows] == [
        ("2026-03-02", "1", "0.25", "True"),
        ("2026-03-03", "2", "1.0", "False"),
        ("2026-03-04", "0", "", "True"),
    ]


async def test_the_abandon_rate_report_refuses_in_its_envelope(
    api: Api, pool: asyncpg.Pool
) -> None:
    cid, _ = await oslo_campaign(pool)
    base = f"/dialler/campaigns/{cid}/abandonrate"
    for query, error in (
        ("", "from and to are needed (YYYY-MM-DD, both included)"),
        ("?from=2026-03-02&to=2026-03-01", "to: must not be before from"),
        ("?from=2026-13-01&to=2026-03-01", "from: not a date (YYYY-MM-DD): '2026-13-01'"),
    ):
        assert await api.request("GET", base + query) == (400, {"status": 400, "error": error})
    other = await add_campaign(pool, "theirs")
    await pool.execute("UPDATE campaigns SET client_id = 2 WHERE id = $1", other)
    status, body = await api.request(
        "GET", f"/dialler/campaigns/{other}/abandonrate?from=2026-03-01&to=2026-03-01"
    )
    assert (status, body) == (404, {"status": 404, "error": f"no campaign with ID {other}"})


async def test_the_console_resume_needs_a_caller_id_and_only_admins_override_hours(
    console: Console, pool: asyncpg.Pool
) -> None:
    cid = await add_campaign(pool, caller_id=None, active=False)
    await console.add_user("sue")
    await console.sign_in("sue")
    status, _, page = await console.post(f"/console/campaigns/{cid}/resume")
    assert status == 400 and "an active campaign must send a caller ID" in page
    assert await pool.fetchval("SELECT active FROM campaigns WHERE id = $1", cid) is False

    # A supervisor's save leaves the override as an admin set it; an admin's sets it.
    await pool.execute("UPDATE campaigns SET call_hours_override = true WHERE id = $1", cid)
    form = {"Name": "edited", "WindowDays": "1"}
    status, _, page = await console.post(f"/console/campaigns/{cid}/edit", form)
    assert status == 303, page
    row = await pool.fetchrow("SELECT name, call_hours_override FROM campaigns WHERE id = $1", cid)
    assert row is not None and tuple(row) == ("edited", True)
    _, _, page = await console.get(f"/console/campaigns/{cid}/edit")
    assert 'name="bCallHoursOverride" id="f-bCallHoursOverride" checked disabled' in page
    await console.add_user("ada", Role.ADMIN)
    await console.sign_in("ada")
    status, _, _ = await console.post(f"/console/campaigns/{cid}/edit", form)
    assert status == 303
    override = "SELECT call_hours_override FROM campaigns WHERE id = $1"
    assert await pool.fetchval(override, cid) is False
    status, _, _ = await console.post(
        f"/console/campaigns/{cid}/edit", form | {"bCallHoursOverride": "on"}
    )
    assert status == 303 and await pool.fetchval(override, cid) is True
