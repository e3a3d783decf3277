"""The do-not-call lists stop real calls: with the engine on the lab's Asterisk, a contact
whose number is on the list before its claim, one whose number is put on the list (over the
API) between its claim and its Originate, and a contact's listed first number are never sent
to the far end: Asterisk's SIP log of what it sent to the far end (127.0.0.2) has no INVITE for
them, and has one for the numbers that were not listed, in the same run."""

from __future__ import annotations

import asyncio
import re

from dialerd.domain import ClaimedContact
from dialerd.service import build_dialer, run_dialer
from tests.pbx.harness import Harness, number, wait_until


async def test_listed_numbers_get_no_invite(h: Harness) -> None:
    campaign = await h.campaign(MinCallIntervalHours=0)
    before, between, first_listed, control = number(0), number(0), number(0), number(1)
    other = number(2)
    status, body = await h.api.request(
        "POST", "/dialler/dnc", json={"PhoneNumbers": [before, first_listed]}
    )
    assert status == 200, body
    stopped = await h.contact(campaign, before)
    late = await h.contact(campaign, between)
    partly = await h.contact(campaign, first_listed, other)
    called = await h.contact(campaign, control)

    dialer = build_dialer(h.dialer_settings(), h.pool)
    store = dialer.engine.store
    claim = store.claim
    claimed_unlisted: list[ClaimedContact] = []

    async def claim_then_list(campaign_id: int, limit: int) -> list[ClaimedContact]:
        found = await claim(campaign_id, limit)
        for c in found:
            if c.id == late and not claimed_unlisted:
                claimed_unlisted.append(c)
                status, body = await h.api.request(
                    "POST", "/dialler/dnc", json={"PhoneNumbers": [between]}
                )
                assert status == 200, body
        return found

    store.claim = claim_then_list  # type: ignore[method-assign]
    log = h.lab.lab_dir / "log" / "full"
    start = log.stat().st_size
    await asyncio.to_thread(h.lab.cli, "pjsip set logger host 127.0.0.2")
    stop = asyncio.Event()
    task = asyncio.create_task(run_dialer(dialer, stop))

    async def done() -> bool:
        rows = await h.pool.fetch(
            "SELECT contact_id, status FROM contact_history WHERE contact_id = ANY($1::bigint[])",
            [stopped, late, partly, called],
        )
        return {r["contact_id"] for r in rows} == {stopped, late, partly, called} and all(
            r["status"] == "closed" for r in rows
        )

    try:
        await wait_until(done, 90)
    finally:
        stop.set()
        await asyncio.wait_for(task, 60)
        await asyncio.to_thread(h.lab.cli, "pjsip set logger off")
    await asyncio.sleep(h.lab.wrapup + 0.5)  # agents ready again for the next test

    with log.open("rb") as f:
        f.seek(start)
        sent = f.read().decode(errors="replace")
    invites = re.findall(r"^INVITE sip:([^@]+)@127\.0\.0\.2", sent, re.MULTILINE)
    counts = {n: invites.count(n) for n in (before, between, first_listed, other, control)}
    print("INVITEs sent to the far end:", counts)
    assert counts[before] == counts[between] == counts[first_listed] == 0, counts
    assert counts[other] >= 1 and counts[control] >= 1, counts  # the log does show calls

    assert claimed_unlisted and not claimed_unlisted[0].slots[0].dnc  # claimed before listed
    for contact in (stopped, late):
        [row] = await h.history(contact)
        assert (row["CONNRES"], row["Detail"], row["PhoneNumberOffset"]) == (0, "DNC", 1), row
        assert (await h.record(contact))["State"] == "finished"
    [row] = await h.history(partly)
    assert row["PhoneNumberOffset"] == 2 and row["CONNRES"] != 0, row
