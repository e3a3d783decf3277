"""Listen, whisper and barge from the wallboard, proven by the audio each phone gets.

The lab's tone phones each send one sine: the customer 500 Hz, the agent 1100 Hz, the
supervisor's phone 1900 Hz (scripts/lab.sh; asterisk_conf/lab/README.md). The engine dials the
customer into queue lab-tones, whose one member is the tone agent; a supervisor acts on the
agent from the wallboard, and the engine's Originate of ChanSpy rings the supervisor's phone.
tcpdump captures the RTP Asterisk sends to the three phones; each tone's level in it, before
and during the spy, says who hears whom:

- listen: the supervisor hears the agent and the customer; neither hears the supervisor;
- whisper: the agent hears the supervisor, the customer does not;
- barge: both hear the supervisor.

A tone is heard at -20 dBFS or more (sent at -10 dBFS, measured -10) and not heard at -40 dBFS
or less (measured -50 to -120; tests/pbx/media.py); a level between the two fails the test."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest

from dialerd.domain import AgentActionKind
from dialerd.wallboard.service import Wallboard
from tests.pbx.conftest import Ami, Event, TonePhone
from tests.pbx.harness import Harness, number, wait_until
from tests.pbx.media import HEARD_DBFS, PT_PCMU, SILENT_DBFS, Capture, RtpPacket, tone_dbfs
from tests.pbx.test_wallboard_lab import act, campaign_of

SUPERVISOR, AGENT, CUSTOMER = "supervisor1", "toneagent1", "tonecustomer"
BEFORE_S = 1.0  # of the call before the spy: what each phone hears without it
DURING_S = 2.5  # of the spy
SETTLE_S = 0.5  # left out after the call's and the spy's start: the audio's path changes
MIN_PACKETS = 25  # 0.5 s of 20 ms packets in a window, else it proves nothing

# who hears whom while the supervisor spies
DURING = {
    AgentActionKind.LISTEN: {SUPERVISOR: {AGENT, CUSTOMER}, AGENT: {CUSTOMER}, CUSTOMER: {AGENT}},
    AgentActionKind.WHISPER: {
        SUPERVISOR: {AGENT, CUSTOMER},
        AGENT: {CUSTOMER, SUPERVISOR},
        CUSTOMER: {AGENT},
    },
    AgentActionKind.BARGE: {
        SUPERVISOR: {AGENT, CUSTOMER},
        AGENT: {CUSTOMER, SUPERVISOR},
        CUSTOMER: {AGENT, SUPERVISOR},
    },
}
# before it; the supervisor's phone is not on a call yet
BEFORE: dict[str, set[str]] = {SUPERVISOR: set(), AGENT: {CUSTOMER}, CUSTOMER: {AGENT}}


@pytest.mark.parametrize(
    "kind", [AgentActionKind.LISTEN, AgentActionKind.WHISPER, AgentActionKind.BARGE]
)
async def test_who_hears_the_supervisor(h: Harness, ami: Ami, kind: AgentActionKind) -> None:
    phones = h.lab.tone_phones
    campaign = await h.campaign(Queue="lab-tones", DialString=f"PJSIP/{{number}}@{CUSTOMER}")
    board = Wallboard(h.pool, h.settings.require_database_url())
    capture = Capture([p.address for p in phones.values()], h.lab.media_port)
    await asyncio.to_thread(capture.start)
    windows: dict[str, tuple[float, float]] = {}

    async def during() -> None:
        added = time.monotonic()  # the session's AMI client has earlier tests' events
        await h.contact(campaign, number(0))
        connect = await ami.wait_for(
            lambda e: e.name == "AgentConnect" and e.t > added and e.get("interface") == agent,
            30,
        )

        async def talking() -> bool:
            shown = campaign_of(await board.snapshot(1, campaign))["agents"]
            return any(a["agent"] == agent and a["state"] == "talking" for a in shown)

        await wait_until(talking, 10)  # the wallboard acts on what it shows
        await asyncio.sleep(BEFORE_S)
        await act(board, campaign, agent, kind, phone=f"PJSIP/{SUPERVISOR}")
        spy = await ami.wait_for(lambda e: e.t > added and is_spy_on(agent)(e), 10)
        await asyncio.sleep(DURING_S)
        windows["before"] = (stamp(connect) + SETTLE_S, stamp(spy))
        windows["during"] = (stamp(spy) + SETTLE_S, time.time())
        h.lab.cli(f"channel request hangup {spy.get('spyeechannel')}")  # ends the spy (E) too

    agent = f"PJSIP/{AGENT}"
    try:
        await h.run_until(lambda: measured(windows), 60, during=during)
    finally:
        packets = await asyncio.to_thread(capture.stop)

    for window, expected in (("before", BEFORE), ("during", DURING[kind])):
        start, end = windows[window]
        got = {name: received(packets, phone, start, end) for name, phone in phones.items()}
        # a phone that hears nobody may get nothing (the supervisor's before the spy)
        few = {
            n: len(got[n]) for n, hears in expected.items() if hears and len(got[n]) < MIN_PACKETS
        }
        assert not few, f"{window}: packets in {end - start:.2f} s: {few}"
        levels = {
            name: {other: round(tone_dbfs(got[name], o.hz), 1) for other, o in phones.items()}
            for name in got
        }
        assert verdicts(levels) == expected, (window, levels)


async def measured(windows: dict[str, tuple[float, float]]) -> bool:
    return "during" in windows


def stamp(event: Event) -> float:
    """The event's Timestamp: Asterisk's clock, the capture's too (epoch seconds)."""
    return float(event.get("timestamp"))


def is_spy_on(agent: str) -> Callable[[Event], bool]:
    def check(e: Event) -> bool:
        return e.name == "ChanSpyStart" and str(e.get("spyeechannel", "")).startswith(agent + "-")

    return check


def received(packets: list[RtpPacket], phone: TonePhone, start: float, end: float) -> list[bytes]:
    """The µ-law the phone got between the two moments."""
    return [
        p.payload
        for p in packets
        if p.dst == phone.address and p.payload_type == PT_PCMU and start <= p.t <= end
    ]


def verdicts(levels: dict[str, dict[str, float]]) -> dict[str, set[str]]:
    """Whom each phone hears; a tone neither clearly heard nor clearly silent is a failure."""
    out: dict[str, set[str]] = {}
    for name, tones in levels.items():
        unclear = {o: db for o, db in tones.items() if SILENT_DBFS < db < HEARD_DBFS}
        assert not unclear, f"{name} hears {unclear}: neither heard nor silent"
        out[name] = {o for o, db in tones.items() if db >= HEARD_DBFS}
    return out
