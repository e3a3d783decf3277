"""End-to-end checks of the PBX lab and of the dialplan contract (asterisk_conf/README.md).

Each test originates like the engine does (raw panoramisk, Async Originate into
dialerd-outbound,s,1) to the lab's far end, whose behaviour is picked by the last digit of the
number, and checks the AMI events Asterisk really sends.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.pbx.conftest import Ami, Attempt, Event, Lab, Trunk, attempt_ids

AGENT_QUEUE = "lab-agents"
EMPTY_QUEUE = "lab-empty"
BENCH_QUEUE = "bench"
# The events the engine never reads, which dialerd's AMI user has Asterisk leave out.
UNREAD = set(
    re.findall(
        r"^eventfilter\(action\(exclude\),name\((\w+)\)\)",
        (Path(__file__).parents[2] / "asterisk_conf" / "manager_dialerd.conf").read_text(),
        re.MULTILINE,
    )
)


def named(events: list[Event], name: str) -> list[Event]:
    return [ev for ev in events if ev.name == name]


def results(events: list[Event]) -> list[Event]:
    """The dialplan's UserEvent(DialerdResult) events."""
    return [
        ev for ev in events if ev.name == "UserEvent" and ev.get("userevent") == "DialerdResult"
    ]


def callee_hangup(attempt: Attempt) -> Callable[[Event], bool]:
    chan = f"dialerd-{attempt.attempt_id}"
    return lambda ev: ev.name == "Hangup" and ev.get("uniqueid") == chan


def agent_connected(attempt: Attempt) -> Callable[[Event], bool]:
    chan = f"dialerd-{attempt.attempt_id}"
    return lambda ev: ev.name == "AgentConnect" and ev.get("uniqueid") == chan


def answered_at(events: list[Event]) -> float:
    """Arrival time of the callee's DialEnd ANSWER (the answer of the originated leg)."""
    (ev,) = [
        e
        for e in named(events, "DialEnd")
        if e.get("dialstatus") == "ANSWER" and e.get("destuniqueid", "").startswith("dialerd-")
    ][:1]
    return ev.t


async def agents_idle(lab: Lab) -> None:
    """Every agent free and out of wrap-up, so a test gets an agent at once."""
    deadline = time.monotonic() + 60
    while True:
        out = await asyncio.to_thread(lab.cli, f"queue show {AGENT_QUEUE}")
        if out.count("(Not in use)") == lab.agents and "No Callers" in out:
            break
        assert time.monotonic() < deadline, out
        await asyncio.sleep(0.3)
    await asyncio.sleep(lab.wrapup + 0.5)


async def call(
    ami: Ami,
    number: str,
    queue: str = AGENT_QUEUE,
    *,
    hangup_timeout: float = 40,
    grace: float = 1.0,
    **kw: object,
) -> tuple[Attempt, list[Event]]:
    """Originate, wait for the OriginateResponse and the callee's Hangup, then a grace period
    for any late event; return the attempt's events."""
    attempt, task = ami.send_originate(number, queue, **kw)  # type: ignore[arg-type]
    await task
    await ami.wait_for(callee_hangup(attempt), hangup_timeout)
    complete: list[Event] = []
    if named(ami.for_attempt(attempt), "AgentConnect"):
        found = await agent_complete(ami, attempt, hangup_timeout)
        complete = [] if attempt.attempt_id in attempt_ids(found) else [found]
    await asyncio.sleep(grace)
    return attempt, ami.for_attempt(attempt) + complete


async def agent_complete(ami: Ami, attempt: Attempt, within: float) -> Event:
    """The AgentComplete of a connected attempt. It can come later than the callee's Hangup,
    and then without the caller's fields (Asterisk no longer has the caller's snapshot): it
    is the attempt's if it names the attempt's agent, after its AgentConnect, and no other
    caller."""
    (connect,) = named(ami.for_attempt(attempt), "AgentConnect")
    ours, agent, since = attempt.attempt_id, connect.get("interface"), connect.t

    def ours_complete(ev: Event) -> bool:
        if ev.name != "AgentComplete" or ev.t < since:
            return False
        ids = attempt_ids(ev)
        return ours in ids or (not ids and ev.get("interface") == agent)

    return await ami.wait_for(ours_complete, within)


# --- far-end failures -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("digit", "dialstatus", "cause"),
    [("5", "BUSY", "17"), ("7", "CONGESTION", "34"), ("8", "NOANSWER", "1")],
)
async def test_failed_calls(ami: Ami, digit: str, dialstatus: str, cause: str) -> None:
    attempt, events = await call(ami, f"0100{digit}", grace=0.3)
    assert attempt.response is not None
    assert attempt.response.get("response") == "Failure"
    assert attempt.response.get("reason") == "0"
    # on failure the OriginateResponse's Uniqueid is our ChannelId
    assert attempt.response.get("uniqueid") == f"dialerd-{attempt.attempt_id}"
    (dial_end,) = named(events, "DialEnd")
    assert dial_end.get("dialstatus") == dialstatus
    (hangup,) = named(events, "Hangup")
    assert hangup.get("cause") == cause
    assert not results(events)


async def test_no_answer_times_out(ami: Ami) -> None:
    attempt, events = await call(ami, "01006", ring_timeout_ms=3000, grace=0.3)
    assert attempt.response is not None
    assert attempt.response.get("response") == "Failure"
    assert attempt.response.get("reason") == "3"
    assert 2.5 < attempt.response.t - attempt.sent_at < 5
    assert any(ev.get("dialstatus") == "RINGING" for ev in named(events, "DialState"))
    assert not named(events, "DialEnd")
    (hangup,) = named(events, "Hangup")
    assert hangup.get("cause") == "19"


# --- answered calls --------------------------------------------------------------------------


@pytest.mark.parametrize("digit", ["0", "1", "2", "3"])
async def test_human_connects_to_agent(ami: Ami, lab: Lab, digit: str) -> None:
    await agents_idle(lab)
    attempt, events = await call(ami, f"0200{digit}")
    assert attempt.response is not None
    assert attempt.response.get("response") == "Success"
    assert attempt.response.get("reason") == "4"
    (connect,) = named(events, "AgentConnect")
    assert connect.get("interface", "").startswith("PJSIP/agent")
    assert connect.get("queue") == AGENT_QUEUE
    assert connect.t - answered_at(events) < 1.0
    # the agent hangs up after the talk time; the caller is hung up, no false ABANDONED
    (complete,) = named(events, "AgentComplete")
    assert complete.get("reason") == "agent"
    assert abs(int(complete.get("talktime")) - lab.talk_time) <= 1
    (hangup,) = named(events, "Hangup")
    assert hangup.get("cause") == "16"
    assert not results(events)
    # every event of the callee channel carries the engine's channel variables
    assert connect.chanvars()["DIALERD_CAMPAIGN_ID"] == "1"
    # a bridged call makes BridgeEnter, NewConnectedLine…: none reaches dialerd's user
    assert "BridgeEnter" in UNREAD and not UNREAD & {ev.name for ev in events}


async def test_the_agent_s_phone_is_asked_to_answer_by_itself(ami: Ami, lab: Lab) -> None:
    """The queue's INVITE to the agent carries the auto-answer headers of the dialplan's b()
    routine (dialerd-agent-answer), as Asterisk's own SIP log shows it sent them."""
    await agents_idle(lab)
    log = lab.lab_dir / "log" / "full"
    start = log.stat().st_size
    await asyncio.to_thread(lab.cli, "pjsip set logger on")
    try:
        _, events = await call(ami, "02000")
    finally:
        await asyncio.to_thread(lab.cli, "pjsip set logger off")
    (connect,) = named(events, "AgentConnect")
    agent = connect.get("interface", "").removeprefix("PJSIP/")
    with log.open("rb") as f:
        f.seek(start)
        text = f.read().decode(errors="replace")
    # The agent's channel ran the routine; the next request Asterisk sent is its INVITE.
    ran = re.search(rf"PJSIP/{agent}-\w+ Internal Gosub\(dialerd-agent-answer,s,1\) complete", text)
    assert ran, f"the b() routine did not run on {agent}'s channel"
    invite = text[ran.end() :].split("<--- Transmitting SIP request")[1]
    assert "\nINVITE sip:" in invite
    assert "\nCall-Info: <sip:dialerd>;answer-after=0\r\n" in invite
    assert "\nAlert-Info: <http://dialerd>;info=alert-autoanswer;delay=0\r\n" in invite


async def test_callee_hangs_up_while_connected(ami: Ami, lab: Lab) -> None:
    await agents_idle(lab)
    attempt, events = await call(ami, "02004")
    assert attempt.response is not None and attempt.response.get("reason") == "4"
    assert len(named(events, "AgentConnect")) == 1
    (complete,) = named(events, "AgentComplete")
    assert complete.get("reason") == "caller"
    assert not results(events)


async def test_callee_hangs_up_during_amd(ami: Ami, lab: Lab) -> None:
    await agents_idle(lab)
    attempt, events = await call(ami, "03004", amd=True)
    assert attempt.response is not None and attempt.response.get("reason") == "4"
    assert not named(events, "QueueCallerJoin")
    assert not named(events, "AgentConnect")
    assert not results(events)


@pytest.mark.parametrize("action", ["hangup", "message"])
async def test_machine_detected(ami: Ami, action: str) -> None:
    attempt, events = await call(ami, "03009", amd=True, machine_action=action)
    assert attempt.response is not None and attempt.response.get("reason") == "4"
    (result,) = results(events)
    assert result.get("attemptid") == attempt.attempt_id
    assert result.get("result") == "MACHINE"
    assert result.get("detail", "").split("-")[0] in {"MAXWORDS", "LONGGREETING"}
    assert result.t - answered_at(events) < 4.0
    assert not named(events, "QueueCallerJoin")
    (hangup,) = named(events, "Hangup")
    if action == "message":  # machine.wav lasts about 6 s
        assert hangup.t - result.t > 4.0
    else:
        assert hangup.t - result.t < 1.0


@pytest.mark.parametrize("digit", ["0", "3"])
async def test_human_with_amd_reaches_agent(ami: Ami, lab: Lab, digit: str) -> None:
    await agents_idle(lab)
    attempt, events = await call(ami, f"0400{digit}", amd=True)
    assert attempt.response is not None and attempt.response.get("reason") == "4"
    (connect,) = named(events, "AgentConnect")
    # AMD decides HUMAN ~0.8 s after the "Hello?" ends
    assert 1.0 < connect.t - answered_at(events) < 3.0
    assert not results(events)


# --- abandoned calls ---------------------------------------------------------------------------


async def test_no_agents_is_abandoned(ami: Ami) -> None:
    attempt, events = await call(ami, "05000", EMPTY_QUEUE)
    assert attempt.response is not None and attempt.response.get("reason") == "4"
    (result,) = results(events)
    assert result.get("result") == "ABANDONED"
    assert result.get("detail") == "JOINEMPTY"
    assert result.t - answered_at(events) < 1.0
    (hangup,) = named(events, "Hangup")
    assert hangup.t - result.t > 3.0  # abandon.wav (~4.8 s) was played


async def test_all_agents_busy_is_abandoned(ami: Ami, lab: Lab) -> None:
    await agents_idle(lab)
    log = lab.lab_dir / "log" / "full"
    start = log.stat().st_size
    busy = [ami.send_originate(f"0600{i}", AGENT_QUEUE) for i in range(lab.agents)]
    await asyncio.gather(*(task for _, task in busy))
    for attempt, _ in busy:
        await ami.wait_for(agent_connected(attempt), 5)

    # a person waits DIALERD_AGENT_TIMEOUT (2 s) and is told so; a callee hanging up while
    # waiting is not an ABANDONED result (QueueCallerAbandon + Hangup tell the engine)
    (waiting, w_task), (leaving, l_task) = (
        ami.send_originate("06100", AGENT_QUEUE),
        ami.send_originate("06104", AGENT_QUEUE),
    )
    await asyncio.gather(w_task, l_task)
    await ami.wait_for(callee_hangup(waiting), 20)
    await ami.wait_for(callee_hangup(leaving), 20)
    for attempt, _ in busy:
        await ami.wait_for(callee_hangup(attempt), lab.talk_time + 10)
    await asyncio.sleep(1.0)

    events = ami.for_attempt(waiting)
    (result,) = results(events)
    assert result.get("result") == "ABANDONED"
    assert result.get("detail") == "TIMEOUT"
    waited = result.t - answered_at(events)
    assert 1.0 <= waited <= 3.0, waited
    assert not named(events, "AgentConnect")
    # it waited in the campaign template's hold class, silence (asterisk_conf/README.md)
    (join,) = named(events, "QueueCallerJoin")
    with log.open("rb") as f:
        f.seek(start)
        text = f.read().decode(errors="replace")
    assert f"class 'dialerd-silence', on channel '{join.get('channel')}'" in text
    assert "no musiconhold loaded" not in text

    events = ami.for_attempt(leaving)
    assert not results(events)
    assert named(events, "QueueCallerAbandon")
    assert not named(events, "AgentConnect")

    for attempt, _ in busy:
        assert not results(ami.for_attempt(attempt))
        complete = await agent_complete(ami, attempt, lab.talk_time + 10)
        assert complete.get("reason") == "agent"


# --- the trunk taken away (scripts/lab.sh trunk-down / trunk-up) -----------------------------
# Measured on the quiet machine (asterisk_conf/lab/README.md): trunk-down 0.53-0.55 s from the
# far end stopped to its contact Unavailable, trunk-up 1.13 s (Reachable after about 0.1 s, then
# the wait for qualifies sent while it was down); the failed Originate's OriginateResponse came
# 0.2 ms after the ack and was the only event with its ChannelId.

# The far end answers, then hangs up 1 s later; into the agentless queue, so no agent is rung.
TRUNK_NUMBER = "08004"


async def test_trunk_down_fails_an_originate_at_once_without_a_channel(
    ami: Ami, trunk: Trunk
) -> None:
    await asyncio.to_thread(trunk.down)
    attempt, task = ami.send_originate(TRUNK_NUMBER, EMPTY_QUEUE)
    await task
    await asyncio.sleep(1.0)  # room for any late event of the attempt
    response = attempt.response
    assert response is not None
    assert (response.get("response"), response.get("reason")) == ("Failure", "0")
    # at once: no INVITE went out, so no SIP timer or ring timeout was waited for
    assert response.t - attempt.sent_at < 2.0
    # no channel: the response names the dial string, and no Newchannel or Hangup has the id
    assert response.get("channel") == f"PJSIP/{TRUNK_NUMBER}@farend"
    assert [ev.name for ev in ami.for_attempt(attempt)] == ["OriginateResponse"]


async def test_trunk_up_answers_the_same_originate(ami: Ami, trunk: Trunk) -> None:
    await asyncio.to_thread(trunk.down)
    await asyncio.to_thread(trunk.up)
    attempt, events = await call(ami, TRUNK_NUMBER, EMPTY_QUEUE, grace=0.3)
    assert attempt.response is not None
    assert (attempt.response.get("response"), attempt.response.get("reason")) == ("Success", "4")
    assert len(named(events, "Newchannel")) == 1
    assert any(ev.get("dialstatus") == "ANSWER" for ev in named(events, "DialEnd"))


# --- raw originate rate --------------------------------------------------------------------------


async def test_bench_originate_rate(ami: Ami, lab: Lab, capsys: pytest.CaptureFixture[str]) -> None:
    """200 bare async originates to digit-0 numbers (ring ~1 s, answer) into the auto-answer
    `bench` queue. Prints the rate; the far end's 1 s of ringing is part of every call.
    All must be answered; on a loaded machine some callers may time out in the queue (Local
    members answer slowly), which must then show as exactly one ABANDONED result."""
    n = 200
    t0 = time.monotonic()
    sent = [ami.send_originate(f"07{i:03d}0", BENCH_QUEUE, response_timeout=120) for i in range(n)]
    t_sent = time.monotonic()
    await asyncio.gather(*(task for _, task in sent))
    t_done = time.monotonic()
    ok = [a for a, _ in sent if a.response is not None and a.response.get("response") == "Success"]
    ts = sorted(a.response.t - t0 for a, _ in sent if a.response is not None)
    # Asterisk-side: from the first DialBegin to the last OriginateResponse (event timestamps)
    stamps = [float(a.response.get("timestamp")) for a, _ in sent if a.response is not None]
    by_attempt = ami.by_attempt()
    first_dial = min(
        float(ev.get("timestamp"))
        for a, _ in sent
        for ev in by_attempt.get(a.attempt_id, [])
        if ev.name == "DialBegin" and ev.get("timestamp")
    )
    for attempt, _ in sent:
        await ami.wait_for(callee_hangup(attempt), 60)
    await asyncio.sleep(1.0)
    connected = abandoned = 0
    by_attempt = ami.by_attempt()
    for attempt, _ in sent:
        events = by_attempt.get(attempt.attempt_id, [])
        agent, res = named(events, "AgentConnect"), results(events)
        # contract: an answered call is either connected or has exactly one ABANDONED result
        assert (len(agent), len(res)) in {(1, 0), (0, 1)}, (attempt, agent, res)
        connected += len(agent)
        abandoned += len(res)
    with capsys.disabled():
        print(
            f"\n[bench] {n} async originates sent in {t_sent - t0:.3f} s; "
            f"OriginateResponses at the client: first {ts[0]:.2f} s, median "
            f"{ts[len(ts) // 2]:.2f} s, last {ts[-1]:.2f} s => {n / (t_done - t0):.0f} answered "
            f"calls/s end to end (incl. ~1 s ringing); Asterisk side: last response "
            f"{max(stamps) - first_dial:.2f} s after the first DialBegin; success {len(ok)}/{n}; "
            f"connected to a bench member {connected}, abandoned {abandoned}"
        )
    assert len(ok) == n
