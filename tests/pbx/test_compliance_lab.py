"""The compliance rules stop calls on the real Asterisk lab: a contact in its abandon
after-care, a callee outside its country's calling hours. What reaches the far end is counted
on its side: the INVITEs it logged, by number (:class:`FarEndCalls`); each contact has a number
of its own."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from datetime import time as clock
from zoneinfo import ZoneInfo

import pytest

from dialerd import compliance
from dialerd.compliance import CountryHours
from tests.pbx.harness import FarEndCalls, Harness, number

# Every contact is due again at once after its call: only the rule under test keeps one back.
AGAIN_AT_ONCE = {"MinCallIntervalHours": 0, "MaxAttempts": 5}
# Ratio 3 for the lab's three agents: the calls beyond them find no agent within 2 s.
ABANDONS = {"DialMode": "ratio", "DialRatio": 3, "AgentTimeoutSeconds": 2, **AGAIN_AT_ONCE}


async def attempts(h: Harness, campaign: int) -> dict[int, list[bool]]:
    """Per contact of ``campaign``: whether each closed attempt was abandoned, in order."""
    rows = await h.pool.fetch(
        "SELECT contact_id, abandoned FROM contact_history"
        " WHERE campaign_id = $1 AND status = 'closed' AND connres <> 0 ORDER BY id",
        campaign,
    )
    out: dict[int, list[bool]] = {}
    for r in rows:
        out.setdefault(r["contact_id"], []).append(r["abandoned"])
    return out


def after(seconds: float, done: Callable[[], Awaitable[bool]]) -> Callable[[], Awaitable[bool]]:
    """``done``, then ``seconds`` more of dialling (what the engine would do next)."""
    since: list[float] = []

    async def check() -> bool:
        if not since:
            if await done():
                since.append(time.monotonic())
            return False
        return time.monotonic() - since[0] >= seconds

    return check


async def test_an_abandoned_contact_is_not_called_again_within_72_hours(h: Harness) -> None:
    # Without the after-care an abandoned contact is called again at once.
    free = await h.campaign(bAbandonAfterCare=False, **ABANDONS)
    for _ in range(6):
        await h.contact(free, number(0))

    async def redialled() -> bool:
        return any(len(a) > 1 and a[0] for a in (await attempts(h, free)).values())

    await h.run_until(redialled, 90)
    status, _ = await h.api.request("PATCH", f"/dialler/campaigns/{free}", json={"bActive": False})
    assert status == 200

    held = await h.campaign(bAbandonAfterCare=True, **ABANDONS)
    numbers = {await h.contact(held, n): n for n in (number(0) for _ in range(6))}
    contacts = list(numbers)
    far_end = FarEndCalls.since_now(h.lab)

    async def first_calls_closed() -> bool:
        return len(await attempts(h, held)) == len(contacts) and await h.all_closed(6)

    await h.run_until(after(5, first_calls_closed), 90)
    calls = await attempts(h, held)
    abandoned = [c for c in contacts if calls[c][0]]
    assert abandoned, calls
    invites = far_end.invites()
    for c in contacts:
        assert len(calls[c]) == 1 and invites[numbers[c]] == 1, (c, calls, invites)
    print(
        f"abandon after-care: {len(contacts)} contacts, {len(abandoned)} abandoned, "
        f"{sum(invites[n] for n in numbers.values())} INVITEs, 0 called again"
    )
    rows = await h.pool.fetch(
        "SELECT id, state, dt_next_try, after_care_until FROM contacts WHERE id = ANY($1)",
        abandoned,
    )
    for r in rows:
        # Due again by the campaign's interval (a preview call could make it), held 72 h.
        assert r["state"] == "open" and r["dt_next_try"] <= datetime.now(UTC), dict(r)
        left = r["after_care_until"] - datetime.now(UTC)
        assert timedelta(hours=71, minutes=58) < left <= timedelta(hours=72), dict(r)


async def test_a_callee_outside_its_country_hours_is_not_called(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real rows are checked at fixed times in tests/unit/test_compliance.py; the lab's
    clock is the machine's, so here the US row is hours closed now in New York, twelve hours
    away, so that the test means the same at any time of day."""
    now_ny = datetime.now(ZoneInfo("America/New_York"))
    start = (now_ny.hour + 12) % 24
    slot = (clock(start), clock(start + 1) if start < 23 else clock(23, 59, 59))
    closed = CountryHours("US", dict.fromkeys(range(1, 8), (slot,)), "closed now")
    monkeypatch.setitem(compliance.COUNTRY_HOURS, "US", closed)

    far_end = FarEndCalls.since_now(h.lab)
    campaign = await h.campaign(**AGAIN_AT_ONCE)  # its window: all day, every day
    new_york_number, berlin_number = "+12125550100", number(0)  # the far end answers (0)
    new_york = await h.contact(campaign, new_york_number)
    berlin = await h.contact(campaign, berlin_number)  # no hours for DE: called

    async def berlin_closed() -> bool:
        return bool((await attempts(h, campaign)).get(berlin))

    await h.run_until(after(3, berlin_closed), 60)
    invites = far_end.invites()
    assert (invites[berlin_number], invites[new_york_number]) == (1, 0), invites
    print(f"country hours: New York 0 INVITEs, Berlin {invites[berlin_number]}")
    assert new_york not in await attempts(h, campaign)
    # Given back until the country's hours open: the slot's next start in New York.
    due = await h.pool.fetchval("SELECT dt_next_try FROM contacts WHERE id = $1", new_york)
    local = due.astimezone(ZoneInfo("America/New_York"))
    assert (local.time(), local > now_ny) == (slot[0], True), local
