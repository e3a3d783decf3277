"""The faults that really happen, with counts: ``dialerd serve`` killed with SIGKILL again and
again, Asterisk killed and restarted, Postgres stopped and started again, the AMI connection cut
and gone silent with IN_FLIGHT calls up, each in the middle of a campaign. What was called is
counted on the far end's side (its log of every INVITE it received, :class:`FarEndCalls`), not
from dialerd's records, and held against the history: no contact called twice, no call without
its record, no attempt left open, no claim left after its lease. Each test prints its counts;
the README's table has them.

The kill -9 loop's size comes from ``DIALERD_FAULT_KILLS`` and ``DIALERD_FAULT_CONTACTS``
(3 and 200 in the test run; ``bench/faults.py`` runs 20 and 2,000); the AMI faults' calls in
flight from ``DIALERD_FAULT_IN_FLIGHT`` (100)."""

from __future__ import annotations

import asyncio
import json
import os
import random
import shutil
import signal
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest

from dialerd.service import Dialer
from dialerd.store import admin
from dialerd.store.pool import connect
from tests.pbx.conftest import REPO, Lab
from tests.pbx.harness import (
    ALWAYS,
    Blackhole,
    FarEndCalls,
    FarEnds,
    Harness,
    Serve,
    free_port,
    wait_until,
)

KILLS = int(os.environ.get("DIALERD_FAULT_KILLS", "3"))
CONTACTS = int(os.environ.get("DIALERD_FAULT_CONTACTS", "200"))
SEED = int(os.environ.get("DIALERD_FAULT_SEED", str(time.time_ns() % 1_000_000)))
# Last digits, one per contact in turn: the far end answers (0; 4: the callee hangs up after
# 1 s), is busy (5), rings until the ring timeout (6), or is a machine (9, AMD on).
MIX = (0, 4, 5, 0, 9, 6, 0, 5, 4, 9)
SYSTEM = "FAULTS"  # the calltask import's systemCode
LEASE_S = 10  # DIALERD_CLAIM_LEASE_SECONDS of the `serve` processes
# The lab's `bench` queue: 20 members that answer at once and talk 1 s, no wrap-up, so that
# 2,000 contacts take minutes, not hours; ratio 1.5 keeps some 30 calls up.
CAMPAIGN = {
    "Queue": "bench",
    "CallerID": '"dialerd" <+4940999999>',  # an active campaign must send one
    "DialMode": "ratio",
    "DialRatio": 1.5,
    "AgentTimeoutSeconds": 10,
    "bAmdEnabled": True,
    "MachineAction": "hangup",
    "MinCallIntervalHours": 1,  # no contact may be called twice within the test
}
_numbers = iter(range(100_000))


def numbers(n: int, prefix: str, mix: tuple[int, ...] = MIX) -> list[str]:
    """Fresh Berlin numbers, unique in the session (``prefix`` apart from the other lab
    tests' 301…), whose last digits follow ``mix``."""
    return [f"+49{prefix}{next(_numbers):05d}{mix[i % len(mix)]}" for i in range(n)]


def import_body(campaign: int, phone_numbers: list[str]) -> dict[str, Any]:
    """All the contacts in one calltask import (the API's bulk way in), one number each."""
    return {
        "systemCode": SYSTEM,
        "callCode": campaign,
        "maxCallAttempts": 3,
        "minCallIntervalHours": 1,
        "callTasks": [
            {
                "callReceiverName": "fault",
                "extCustId": n,
                "systemLookupCode": n,
                "callNumberList": [n],
            }
            for n in phone_numbers
        ],
    }


async def add_contacts(h: Harness, campaign: int, phone_numbers: list[str]) -> None:
    await admin.add_calling_system(h.pool, SYSTEM)
    status, out = await h.api.request(
        "POST", "/itxdialer/calltaskimport", json=import_body(campaign, phone_numbers)
    )
    assert status == 200 and not out.get("callTaskErrors"), out


_PROGRESS = """
SELECT count(DISTINCT contact_id) FILTER (WHERE connres IS DISTINCT FROM 0) AS dialled,
       count(DISTINCT contact_id) FILTER (WHERE status = 'closed' AND connres <> 0) AS done,
       count(*) FILTER (WHERE status <> 'closed') AS open
FROM contact_history WHERE campaign_id = $1
"""


async def progress(db: asyncpg.Pool | asyncpg.Connection, campaign: int) -> asyncpg.Record:
    row = await db.fetchrow(_PROGRESS, campaign)
    assert row is not None
    return row


def all_called(
    db: asyncpg.Pool | asyncpg.Connection, campaign: int, n: int
) -> Callable[[], Awaitable[bool]]:
    """Every contact's call made and recorded, and nothing open."""

    async def check() -> bool:
        row = await progress(db, campaign)
        return bool(row["done"] == n and row["open"] == 0)

    return check


@dataclass
class Tally:
    """The far end's INVITEs held against the history of one campaign's contacts."""

    contacts: int
    invites: int  # INVITEs the far end received for them
    attempts: int  # history rows of calls placed (CONNRES other than 0)
    reconciled: int  # of which closed unknown by a reconciliation (CONNRES 7)
    reconciled_rang: int  # of which the far end did receive
    never_sent: int  # CONNRES 0: nobody was called (not sent, refused, no channel)
    double: int  # contacts with more INVITEs than one (one retry interval allows one)
    twice: int  # contacts with more than one call placed
    unrecorded: int  # contacts with more INVITEs than calls in their history
    phantom: int  # calls with a known outcome the far end never received
    uncalled: int  # contacts without any call
    open: int  # attempts not closed
    outcomes: Counter[str]

    def line(self, what: str) -> str:
        return (
            f"{what}: {self.contacts} contacts, {self.invites} INVITEs, {self.attempts} "
            f"attempts ({self.reconciled} reconciled, {self.reconciled_rang} of them rang), "
            f"{self.never_sent} never sent, {self.double} double, {self.twice} twice, "
            f"{self.unrecorded} unrecorded, {self.phantom} phantom, {self.uncalled} uncalled, "
            f"{self.open} open; outcomes {dict(sorted(self.outcomes.items()))}"
        )

    def assert_clean(self) -> None:
        bad = (self.double, self.twice, self.unrecorded, self.phantom, self.uncalled, self.open)
        assert bad == (0, 0, 0, 0, 0, 0), self.line("not clean")
        # Every INVITE has its call in the history, and every call but those whose fate was
        # unknown has its INVITE.
        assert self.invites == self.attempts - (self.reconciled - self.reconciled_rang)


async def tally(
    db: asyncpg.Pool | asyncpg.Connection, campaign: int, far_end: FarEndCalls | FarEnds
) -> Tally:
    rows = await db.fetch(
        """SELECT c.id AS contact_id, c.phone_numbers[1] AS number, h.id, h.status, h.connres,
                  h.detail
           FROM contacts c LEFT JOIN contact_history h ON h.contact_id = c.id
           WHERE c.campaign_id = $1""",
        campaign,
    )
    invites = far_end.invites()
    by_number: dict[str, list[asyncpg.Record]] = {}
    for r in rows:
        by_number.setdefault(r["number"], [])
        if r["id"] is not None:
            by_number[r["number"]].append(r)
    calls = {n: [r for r in rs if r["connres"] != 0] for n, rs in by_number.items()}
    reconciled = [(n, r) for n, rs in calls.items() for r in rs if r["connres"] == 7]
    return Tally(
        contacts=len(by_number),
        invites=sum(invites[n] for n in by_number),
        attempts=sum(len(rs) for rs in calls.values()),
        reconciled=len(reconciled),
        reconciled_rang=sum(1 for n, _ in reconciled if invites[n]),
        never_sent=sum(1 for rs in by_number.values() for r in rs if r["connres"] == 0),
        double=sum(1 for n in by_number if invites[n] > 1),
        twice=sum(1 for rs in calls.values() if len(rs) > 1),
        unrecorded=sum(1 for n, rs in calls.items() if invites[n] > len(rs)),
        phantom=sum(
            1
            for n, rs in calls.items()
            for r in rs
            if r["connres"] not in (7, None) and not invites[n]
        ),
        uncalled=sum(1 for rs in calls.values() if not rs),
        open=sum(1 for rs in by_number.values() for r in rs if r["status"] != "closed"),
        outcomes=Counter(
            f"{r['connres']} {(r['detail'] or '').split(':')[0]}".strip()
            for rs in by_number.values()
            for r in rs
        ),
    )


async def claims_left(db: asyncpg.Pool | asyncpg.Connection, campaign: int) -> int:
    """Contacts still held: an attempt open, or a claim whose lease has not run out."""
    return int(
        await db.fetchval(
            """SELECT count(*) FROM contacts WHERE campaign_id = $1 AND (open_attempt_id IS NOT NULL
                   OR (claimed_by IS NOT NULL AND lease_until > now()))""",
            campaign,
        )
    )


@pytest.mark.timeout(300 + CONTACTS + 30 * KILLS)  # 20 kills, 2,000 contacts: 45 min at most
async def test_kill_9_loop(h: Harness, serve: Serve, tmp_path: Path) -> None:
    """``dialerd serve`` killed with SIGKILL KILLS times, spread over the campaign (each at a
    share of the contacts called, plus a random 0-2 s) and started again each time."""
    rng = random.Random(SEED)
    campaign = await h.campaign(**CAMPAIGN)
    await add_contacts(h, campaign, numbers(CONTACTS, "302"))
    far_end = FarEndCalls.since_now(h.lab)
    log = tmp_path / "dialerd.log"
    proc = serve(log)
    within = 120 + CONTACTS * 0.5  # each stage

    for k in range(1, KILLS + 1):

        async def reached(share: int = k * CONTACTS // (KILLS + 1)) -> bool:
            return bool((await progress(h.pool, campaign))["dialled"] >= share)

        await wait_until(reached, within)
        await asyncio.sleep(rng.uniform(0, 2))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc = serve(log)
    await wait_until(all_called(h.pool, campaign, CONTACTS), within)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(60) == 0
    # What the killed processes had claimed comes back once their lease has run out.
    await wait_until(lambda: _none_left(h.pool, campaign), LEASE_S + 10)

    counts = await tally(h.pool, campaign, far_end)
    print(counts.line(f"kill-9 loop (seed {SEED}): {KILLS} kills"))
    counts.assert_clean()


async def _none_left(db: asyncpg.Pool, campaign: int) -> bool:
    return await claims_left(db, campaign) == 0


def _calls_up(
    db: asyncpg.Pool | asyncpg.Connection, campaign: int, n: int
) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        up = await db.fetchval(
            "SELECT count(*) FROM contact_history WHERE campaign_id = $1 AND status = 'dialing'",
            campaign,
        )
        return bool(up >= n)

    return check


async def _placed_until_back(dialer: Dialer) -> list[int]:
    """From the AMI's loss until the engine is back on it: the Originates it tried since the
    loss, polled every 50 ms."""
    placed, tried = dialer.engine.placed, []
    while not dialer.pbx.ready:
        tried.append(dialer.engine.placed - placed)
        await asyncio.sleep(0.05)
    return tried


# The outcomes of calls whose end the engine did not see, Asterisk gone with them or the AMI
# (docs/dialer.md, "AMI loss, crashes, stop"): what was seen before; CONNRES 7 when that tells
# nothing.
UNSEEN_END = {0, 1, 2, 4, 6, 7}


@pytest.mark.asterisk_restart
async def test_asterisk_killed_and_restarted_mid_campaign(h: Harness) -> None:
    """SIGKILL to Asterisk with calls up, then started again on the same config: the engine
    sees the AMI go, places nothing until it is back, closes the calls that died with it and
    carries on; nobody is called twice."""
    n = 80
    campaign = await h.campaign(**CAMPAIGN)
    await add_contacts(h, campaign, numbers(n, "303"))
    far_end = FarEndCalls.since_now(h.lab)
    killed: list[Any] = []  # the ids of the attempts open at the kill, the kill's time
    placed_while_down: list[int] = []  # Originates the engine tried while it had no AMI

    async def kill_and_restart() -> None:
        await wait_until(_calls_up(h.pool, campaign, 5), 90)
        assert h.dialer is not None
        pbx = h.dialer.pbx
        await asyncio.to_thread(h.lab.lab_sh, "pbx-kill")
        killed.append(datetime.now(UTC))
        open_ids = await h.pool.fetchval(
            "SELECT array_agg(id) FROM contact_history"
            " WHERE campaign_id = $1 AND status <> 'closed'",
            campaign,
        )
        killed.append(open_ids or [])

        async def lost() -> bool:
            return not pbx.ready

        await wait_until(lost, 15)
        restart = asyncio.create_task(asyncio.to_thread(h.lab.lab_sh, "pbx-up"))
        placed_while_down.extend(await _placed_until_back(h.dialer))
        await restart

    await h.run_until(all_called(h.pool, campaign, n), 300, during=kill_and_restart)
    killed_at, open_at_kill = killed
    # A call being placed as the AMI went can only have been refused unsent (NOT SENT: nobody
    # was called); nothing else was tried until the engine was back.
    not_sent = await h.pool.fetchval(
        "SELECT count(*) FROM contact_history WHERE campaign_id = $1 AND detail LIKE 'NOT SENT%'",
        campaign,
    )
    assert placed_while_down and max(placed_while_down) <= not_sent, (placed_while_down, not_sent)
    # The calls Asterisk took with it: open at the kill, closed after it (the others had ended
    # just before, their events not yet written).
    rows = await h.pool.fetch(
        "SELECT connres, detail FROM contact_history WHERE id = ANY($1) AND dt_call_end > $2",
        open_at_kill,
        killed_at,
    )
    gone = Counter(f"{r['connres']} {r['detail'] or ''}".strip() for r in rows)
    assert rows and {r["connres"] for r in rows} <= UNSEEN_END, gone
    counts = await tally(h.pool, campaign, far_end)
    print(counts.line(f"asterisk kill -9: {len(rows)} calls up at the kill {dict(gone)}"))
    counts.assert_clean()


@dataclass
class PrivateCluster:
    """A PostgreSQL cluster of its own (scripts/pg.sh), to stop and start under dialerd."""

    dsn: str
    env: dict[str, str]

    def pg(self, action: str) -> str:
        done = subprocess.run(
            ["bash", str(REPO / "scripts" / "pg.sh"), action],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        return done.stdout.strip()


@pytest.fixture
async def private_pg() -> AsyncIterator[PrivateCluster]:
    # pg.sh runs the server as the postgres user when run as root: it must reach its data.
    root = Path(tempfile.mkdtemp(prefix="dialerd-faults-pg-"))
    os.chmod(root, 0o755)
    env = {**os.environ, "DIALERD_PGDATA": str(root / "data"), "DIALERD_PGPORT": str(free_port())}
    cluster = PrivateCluster("", env)
    try:
        cluster.dsn = cluster.pg("start")
        yield cluster
    finally:
        cluster.pg("stop")
        shutil.rmtree(root, ignore_errors=True)


def _log_events(log: Path) -> list[dict[str, Any]]:
    events = []
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            try:
                events.append(json.loads(line))
            except ValueError:
                continue
    return events


async def _dialerd(env: dict[str, str], *args: str) -> str:
    run = await asyncio.create_subprocess_exec(
        str(REPO / ".venv" / "bin" / "dialerd"), *args, env=env, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await run.communicate()
    assert run.returncode == 0, args
    return out.decode().strip()


async def test_postgres_restarted_mid_campaign(
    h: Harness, serve: Serve, private_pg: PrivateCluster, tmp_path: Path
) -> None:
    """Postgres stopped (``pg_ctl stop -m fast``) with calls up, and started again once calls
    have ended meanwhile: the API answers 503 in its envelopes meanwhile, within the connect
    timeout; the engine places nothing and keeps the closes; once the database is back they
    are written, the campaign goes on, and the same process serves the API again."""
    n = 60
    env = {**os.environ, "DIALERD_DATABASE_URL": private_pg.dsn}
    await _dialerd(env, "migrate")
    await _dialerd(env, "system", "add", SYSTEM)
    phones = numbers(n, "304")
    token = await _dialerd(env, "token", "create", "--client", "1")
    port = free_port()
    log = tmp_path / "dialerd.log"
    proc = serve(log, DIALERD_DATABASE_URL=private_pg.dsn, DIALERD_HTTP_PORT=str(port))
    base = f"http://127.0.0.1:{port}"
    auth = {"Authorization": f"Bearer {token}"}
    db = await connect(private_pg.dsn)
    try:
        async with aiohttp.ClientSession(base, headers=auth) as http:

            async def listening() -> bool:
                try:
                    async with http.get("/health") as resp:
                        return resp.status == 200
                except aiohttp.ClientConnectionError:
                    return False

            await wait_until(listening, 60)
            body = {"Name": "pg restart", "DialString": "PJSIP/{number}@farend", **ALWAYS}
            async with http.post("/dialler/campaigns", json=body | CAMPAIGN) as resp:
                assert resp.status == 200, await resp.text()
                campaign = int((await resp.json())["records"][0]["ID"])
            async with http.post(
                "/itxdialer/calltaskimport", json=import_body(campaign, phones)
            ) as resp:
                assert resp.status == 200 and not (await resp.json()).get("callTaskErrors")
            far_end = FarEndCalls.since_now(h.lab)
            await wait_until(_calls_up(db, campaign, 5), 90)
            await db.close()
            await asyncio.to_thread(private_pg.pg, "stop")
            stopped = time.monotonic()
            outage = await _during_the_outage(http, log, far_end)
            await asyncio.to_thread(private_pg.pg, "start")
            down_s = time.monotonic() - stopped
            assert outage.invites_first == outage.invites_last, "dialled with no database"
            db = await connect(private_pg.dsn)
            await wait_until(all_called(db, campaign, n), 300)
            async with http.get("/dialler/campaigns") as resp:
                assert resp.status == 200  # the same process, no restart
        assert proc.poll() is None
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0
        events = _log_events(log)
        names = Counter(e["event"] for e in events)
        [back] = [e for e in events if e["event"] == "dialer_store_back"]
        assert names["dialer_store_lost"] == 1 and names["dialer_tick_failed"] == 0, names
        assert back["closes_written"] >= outage.closes, back
        counts = await tally(db, campaign, far_end)
    finally:
        await db.close()
    print(
        counts.line(
            f"postgres restart: down {down_s:.1f} s, {outage.closes} calls ended meanwhile"
            f" ({back['closes_written']} closes written on its return), {outage.answers}"
            f" API requests answered 503 in {outage.slowest_s:.2f} s at most"
        )
    )
    counts.assert_clean()


@dataclass
class Outage:
    closes: int  # attempts the engine closed while the database was down
    # The far end's INVITEs at the first of those closes (dialling had stopped seconds
    # before) and at the last: equal if nothing was dialled meanwhile.
    invites_first: int
    invites_last: int
    answers: int  # API requests answered 503 meanwhile
    slowest_s: float


BUFFERED = 3  # the database stays down until this many calls have ended meanwhile


async def _during_the_outage(
    http: aiohttp.ClientSession, log: Path, far_end: FarEndCalls
) -> Outage:
    """While the database is down: both APIs and the console answer 503 in their own
    envelopes, in bounded time, until BUFFERED calls have ended (the engine's log says so)."""
    answers, slowest, invites_first = 0, 0.0, None
    deadline = time.monotonic() + 120
    while True:
        for method, path, expect in (
            ("GET", "/dialler/campaigns", "status"),
            ("POST", "/itxdialer/calltaskimport", "statusCode"),
        ):
            started = time.monotonic()
            async with http.request(method, path, json={}) as resp:
                assert resp.status == 503, (path, resp.status, await resp.text())
                got = await resp.json()
            slowest = max(slowest, time.monotonic() - started)
            assert set(got) == {expect, "statusText" if expect == "statusCode" else "error"}
            answers += 1
        async with http.post("/console/signin", data={"login": "a", "password": "b"}) as resp:
            assert resp.status == 503 and "Service unavailable" in await resp.text()
        answers += 1
        events = _log_events(log)
        lost = [i for i, e in enumerate(events) if e["event"] == "dialer_store_lost"]
        closed = [e for e in events[lost[0] :] if e["event"] == "attempt_closed"] if lost else []
        if closed and invites_first is None:
            invites_first = sum(far_end.invites().values())
        if len(closed) >= BUFFERED and invites_first is not None:
            break
        assert time.monotonic() < deadline, "no calls ended while the database was down"
        await asyncio.sleep(0.5)
    assert slowest < 5 + 2  # the connect timeout (DIALERD_DB_CONNECT_TIMEOUT_S), and some
    return Outage(len(closed), invites_first, sum(far_end.invites().values()), answers, slowest)


IN_FLIGHT = int(os.environ.get("DIALERD_FAULT_IN_FLIGHT", "100"))
# Most callees of the AMI faults ring until the ring timeout (6): with 20 bench members free,
# ratio 10 wants 200 lines, capped at IN_FLIGHT, which the ringing ones keep up.
AMI_MIX = (6, 0, 6, 9, 6, 5, 6, 4, 6, 0)
AMI_CAMPAIGN = {
    **CAMPAIGN,
    "DialRatio": 10,
    "MaxCallsInFlight": IN_FLIGHT,
    "RingTimeoutSeconds": 30,
}


def _far_end_channels(lab: Lab) -> int:
    """The calls Asterisk has up to the far end: its PJSIP/farend channels."""
    lines = lab.cli("core show channels concise").splitlines()
    return sum(1 for line in lines if line.startswith("PJSIP/farend-"))


@dataclass
class AmiFault:
    """What one AMI fault with calls in flight did, as the engine and Asterisk saw it."""

    up: int  # the engine's calls in flight at the fault
    far_end_up: int  # Asterisk's calls to the far end then
    lost_s: float  # fault -> the engine's AMI lost
    back_s: float  # fault -> ready again: reconnected, resynced, reconciled
    placed_while_down: list[int]  # Originates tried since the loss, polled until back
    # Attempts followed at the loss that the engine had closed once it was back, by id.
    gone: set[int]
    back_at: datetime


async def _ami_fault(
    h: Harness,
    fault: Callable[[], Awaitable[None]],
    lost_within: float,
    result: list[AmiFault],
) -> None:
    """Waits for IN_FLIGHT calls up, then ``fault``; follows the engine until it is back."""
    assert h.dialer is not None
    dialer = h.dialer
    engine, ami = dialer.engine, dialer.pbx.ami
    followed: set[int] = set()
    ami.on_lost.append(lambda: followed.update(engine.attempts))  # at the moment of the loss

    def in_flight() -> int:
        return sum(1 for a in engine.attempts.values() if not a.events.ended)

    async def up() -> bool:
        return ami.ready and in_flight() >= IN_FLIGHT

    await wait_until(up, 120)
    far_end_up = await asyncio.to_thread(_far_end_channels, h.lab)
    calls, started = in_flight(), time.monotonic()
    await fault()

    async def lost() -> bool:
        return not ami.ready

    await wait_until(lost, lost_within)
    lost_s = time.monotonic() - started
    placed_while_down = await _placed_until_back(dialer)
    back_s = time.monotonic() - started
    gone = {i for i in followed if i not in engine.attempts}
    assert ami.connects == 2, ami.connects
    result.append(
        AmiFault(calls, far_end_up, lost_s, back_s, placed_while_down, gone, datetime.now(UTC))
    )


async def _after_ami_fault(
    h: Harness, campaign: int, far_end: FarEndCalls, what: str, fault: AmiFault
) -> None:
    """The counts after an AMI fault: nothing but NOT SENT while the AMI was down, the calls
    whose end went unseen closed with what had been seen, dialling on after it, and clean."""
    not_sent = await h.pool.fetchval(
        "SELECT count(*) FROM contact_history WHERE campaign_id = $1 AND detail LIKE 'NOT SENT%'",
        campaign,
    )
    assert max(fault.placed_while_down, default=0) <= not_sent, (fault, not_sent)
    # The calls it could not follow: closed while it was away or by the reconciliation, with
    # no Hangup seen (no cause), their Originate sent.
    rows = await h.pool.fetch(
        """SELECT connres, detail FROM contact_history WHERE id = ANY($1) AND cause_code IS NULL
           AND coalesce(detail, '') NOT LIKE 'NOT SENT%'""",
        list(fault.gone),
    )
    unseen = Counter(f"{r['connres']} {r['detail'] or ''}".strip() for r in rows)
    assert {r["connres"] for r in rows} <= UNSEEN_END, unseen
    # The far end tells which callees never answer (6: they ring until the ring timeout): those
    # and only those may be recorded unanswered (CONNRES 2), unless what became of them is
    # unknown (7) or nobody was called (0).
    wrong = await h.pool.fetch(
        """SELECT id, phone_number, connres, detail FROM contact_history
           WHERE campaign_id = $1 AND connres NOT IN (0, 7)
             AND (connres = 2) <> (right(phone_number, 1) = '6')""",
        campaign,
    )
    assert not wrong, [dict(r) for r in wrong]
    after = await h.pool.fetchval(
        "SELECT count(*) FROM contact_history WHERE campaign_id = $1 AND dt_call_start > $2",
        campaign,
        fault.back_at,
    )
    assert after > 0, "nothing dialled after the reconnect"
    counts = await tally(h.pool, campaign, far_end)
    print(
        counts.line(
            f"{what}: {fault.up} calls in flight ({fault.far_end_up} far-end channels), lost in"
            f" {fault.lost_s:.2f} s, back in {fault.back_s:.2f} s,"
            f" {max(fault.placed_while_down, default=0)} placed meanwhile ({not_sent} NOT SENT),"
            f" {len(rows)} ends unseen {dict(sorted(unseen.items()))}, {after} calls after"
        )
    )
    counts.assert_clean()


async def test_ami_cut_with_calls_in_flight(h: Harness) -> None:
    """Asterisk drops the engine's AMI session (``manager kick session``) with IN_FLIGHT
    calls up: the engine sees it at once, places nothing until it is back, reconnects,
    reconciles what ended meanwhile and works the campaign off; nobody is called twice."""
    n = 3 * IN_FLIGHT
    campaign = await h.campaign(**AMI_CAMPAIGN)
    await add_contacts(h, campaign, numbers(n, "305", AMI_MIX))
    far_end = FarEndCalls.since_now(h.lab)
    others = await asyncio.to_thread(h.lab.ami_sessions)
    result: list[AmiFault] = []

    async def kick() -> None:
        (mine,) = await asyncio.to_thread(h.lab.ami_sessions) - others
        await asyncio.to_thread(h.lab.cli, f"manager kick session {mine}")

    await h.run_until(
        all_called(h.pool, campaign, n),
        300,
        during=lambda: _ami_fault(h, kick, 5, result),
    )
    await _after_ami_fault(h, campaign, far_end, "AMI cut", result[0])


async def test_ami_silent_with_calls_in_flight(h: Harness, blackhole: Blackhole) -> None:
    """The engine's AMI connection stops carrying anything, both ways, without a FIN (its
    relay stops reading) with IN_FLIGHT calls up: the engine finds it dead within its ping's
    limit, places nothing more until it is back, reconnects, reconciles and works on."""
    n = 3 * IN_FLIGHT
    campaign = await h.campaign(**AMI_CAMPAIGN)
    await add_contacts(h, campaign, numbers(n, "306", AMI_MIX))
    far_end = FarEndCalls.since_now(h.lab)
    result: list[AmiFault] = []

    async def silence() -> None:
        blackhole.cut()

    async def fault() -> None:
        assert h.dialer is not None
        ami = h.dialer.pbx.ami
        # Found by the ping (every ping_interval, answered within ping_timeout), or sooner by
        # an action that went unanswered; 1 s for a loaded machine's event loop.
        await _ami_fault(h, silence, ami.ping_interval + ami.ping_timeout + 1, result)

    await h.run_until(
        all_called(h.pool, campaign, n),
        300,
        during=fault,
        ami_host="127.0.0.1",
        ami_port=blackhole.port,
    )
    await _after_ami_fault(h, campaign, far_end, "AMI silent", result[0])
