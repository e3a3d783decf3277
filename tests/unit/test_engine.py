"""The engine on in-memory ports (tests/unit/fakes.py), time injected: what it originates,
how events close attempts and move contacts on, what the pacing statistics are fed, and the
breaker for a dead trunk. Its interplay with Postgres and a real AMI connection is in
tests/integration/test_engine_pg.py, with Asterisk in tests/pbx."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
import structlog

from dialerd import metrics
from dialerd.config import Settings
from dialerd.dialer.breaker import BreakerState
from dialerd.dialer.engine import FAILURE_GRACE_S, Engine
from dialerd.dialer.pacing import CallStats
from dialerd.domain import (
    AgentState,
    AgentsView,
    Channel,
    ClaimedContact,
    Connres,
    ContactState,
    DialableCampaign,
    PbxNotSent,
    PbxRefused,
    channel_id,
)
from tests.unit.fakes import FakePbx, MemoryStore, campaign, dialable

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC).timestamp()
AGENT = "PJSIP/agent1"


@dataclass
class Clock:
    t: float = 0.0

    def mono(self) -> float:
        return self.t

    def wall(self) -> float:
        return START + self.t

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.wall(), UTC)


@dataclass
class Rig:
    clock: Clock
    store: MemoryStore
    pbx: FakePbx
    engine: Engine

    async def tick(self, seconds: float = 0.0) -> None:
        self.clock.t += seconds
        await self.engine.tick()

    def attempt_ids(self) -> list[int]:
        return [int(f["ChannelId"].removeprefix("dialerd-")) for f, _ in self.pbx.originates]

    @property
    def stats(self) -> CallStats:
        return self.engine.runs[1].stats


@pytest.fixture
async def rig() -> Rig:
    clock = Clock()
    store = MemoryStore(clock.now)
    store.campaign_list.append(dialable(campaign()))
    pbx = FakePbx()
    engine = Engine(Settings(), store, pbx, clock=clock.mono, wall=clock.wall)
    engine.attach()
    await pbx.connect()
    return Rig(clock, store, pbx, engine)


async def test_originate_then_connected_call_closes_and_contact_is_done(rig: Rig) -> None:
    contact = rig.store.add_contact(1, "+4930100000")
    await rig.tick()
    [(fields, variables)] = rig.pbx.originates
    [attempt] = rig.attempt_ids()
    assert fields["Channel"] == "PJSIP/+4930100000@farend"
    assert variables["DIALERD_CONTACT_ID"] == str(contact)
    assert rig.store.attempts[attempt].status == "dialing"  # written before, then acknowledged
    rig.pbx.push("Newchannel", attempt, Channel="PJSIP/farend-1")
    rig.pbx.push("OriginateResponse", attempt, Response="Success", Reason="4")
    rig.pbx.push("AgentConnect", attempt, Queue="q1", Interface=AGENT)
    rig.pbx.push("Hangup", attempt, Cause="16")
    await rig.tick()
    stored = rig.store.contacts[contact]
    outcome = rig.store.attempts[attempt].outcome
    assert outcome is not None and outcome.connres == Connres.CONNECTED
    assert stored.contact.state is ContactState.DONE and stored.open_attempt_id is None


async def test_a_free_agent_with_a_call_ringing_gets_no_second_call(rig: Rig) -> None:
    rig.store.add_contact(1, "+4930100000")
    rig.store.add_contact(1, "+4930100001")
    await rig.tick()
    for _ in range(5):
        await rig.tick(0.2)
    assert len(rig.pbx.originates) == 1  # progressive: one free agent, one call in flight
    [attempt] = rig.attempt_ids()
    rig.pbx.push("Hangup", attempt, Cause="17")
    await rig.tick(0.2)
    assert len(rig.pbx.originates) == 2


async def test_the_pacer_is_fed_talk_and_wrapup_when_the_agent_is_ready_again(rig: Rig) -> None:
    """Production's feed, as the simulator's: handle time = talk + wrap-up, fed when the PBX
    would offer the agent a new call."""
    rig.store.add_contact(1, "+4930100000")
    await rig.tick()
    [attempt] = rig.attempt_ids()
    rig.pbx.push("Newchannel", attempt)
    rig.clock.t = 4.0
    rig.pbx.push("OriginateResponse", attempt, Response="Success", Reason="4")
    rig.clock.t = 5.0
    rig.pbx.push("AgentConnect", attempt, Queue="q1", Interface=AGENT)
    rig.pbx.agent_states[AGENT] = AgentState.TALKING
    rig.clock.t = 35.0
    rig.pbx.push("Hangup", attempt, Cause="16")
    rig.pbx.agent_states[AGENT] = AgentState.WRAPUP
    rig.pbx.last_calls[AGENT] = rig.clock.wall()
    await rig.tick()
    await rig.tick(4.0)
    assert len(rig.stats.talk_times) == 0  # still in wrap-up: nothing known yet
    rig.pbx.agent_states[AGENT] = AgentState.FREE
    await rig.tick(1.0)
    assert rig.stats.talk_times.sorted() == [pytest.approx(30.0)]
    assert rig.stats.wrapup_times.sorted() == [pytest.approx(5.0)]
    assert rig.stats.live_ring_times.sorted() == [pytest.approx(4.0)]
    assert rig.stats.waits.sorted() == [pytest.approx(1.0)]


async def test_free_before_the_pbx_recorded_the_call_end_is_not_yet_ready(rig: Rig) -> None:
    """The device can say "not in use" before the queue's LastCall moves: no wrap-up of 0."""
    rig.store.add_contact(1, "+4930100000")
    await rig.tick()
    [attempt] = rig.attempt_ids()
    rig.pbx.push("OriginateResponse", attempt, Response="Success", Reason="4")
    rig.pbx.push("AgentConnect", attempt, Queue="q1", Interface=AGENT)
    rig.clock.t = 20.0
    rig.pbx.push("Hangup", attempt, Cause="16")
    await rig.tick(0.2)
    assert len(rig.stats.wrapup_times) == 0
    rig.pbx.last_calls[AGENT] = rig.clock.wall()
    rig.pbx.agent_states[AGENT] = AgentState.WRAPUP
    await rig.tick(1.8)
    rig.pbx.agent_states[AGENT] = AgentState.FREE
    await rig.tick(0.2)
    assert rig.stats.wrapup_times.sorted() == [pytest.approx(2.2)]


async def test_busy_is_charged_and_moves_to_the_next_number(rig: Rig) -> None:
    contact = rig.store.add_contact(1, "+4930100005", "+4930100000")
    await rig.tick()
    [attempt] = rig.attempt_ids()
    rig.pbx.push("Newchannel", attempt)
    rig.pbx.push("Hangup", attempt, Cause="17")
    await rig.tick()
    c = rig.store.contacts[contact]
    assert (c.contact.attempts, c.contact.next_number, c.contact.slots[0].tries) == (1, 1, 1)
    assert rig.stats.placed_calls == 1 and rig.stats.outcomes == 1


@pytest.mark.parametrize(
    ("error", "detail", "again"),
    [
        (PbxNotSent("AMI not ready"), "NOT SENT", True),  # nobody was called: due at once
        (PbxRefused("Originate", "bad"), "ORIGINATE REFUSED", False),  # would be again
    ],
)
async def test_a_call_that_went_nowhere_is_no_placed_call(
    rig: Rig, error: Exception, detail: str, again: bool
) -> None:
    contact = rig.store.add_contact(1, "+4930100000")
    rig.pbx.fail_originate.append(error)  # type: ignore[arg-type]
    await rig.tick()
    [attempt] = rig.store.history(contact)
    assert rig.pbx.originates == []
    assert rig.stats.placed_calls == 0 and rig.stats.outcomes == 0
    await rig.tick()
    assert attempt.outcome is not None and attempt.outcome.connres == Connres.NOT_DIALLED
    assert (attempt.outcome.detail or "").startswith(detail)
    assert rig.store.contacts[contact].contact.attempts == 0
    assert len(rig.pbx.originates) == (1 if again else 0)


def fail_without_channel(rig: Rig, attempt: int) -> None:
    """What Asterisk sends when qualify has marked the trunk Unavailable: no Newchannel."""
    rig.pbx.push("OriginateResponse", attempt, Response="Failure", Reason="0")


async def test_a_busy_callee_whose_channel_events_come_after_the_failure_is_busy(
    rig: Rig,
) -> None:
    """Asterisk raises OriginateResponse itself and a channel's events through stasis: under
    load a busy callee's Newchannel and Hangup can come after the failure. That is the callee's
    outcome (busy), not a trunk that dialled nothing, and the contact is not due again at once."""
    contact = rig.store.add_contact(1, "+4930100000")
    await rig.tick()
    [attempt] = rig.attempt_ids()
    rig.pbx.push("OriginateResponse", attempt, Response="Failure", Reason="5")
    await rig.tick(0.5)
    assert rig.store.attempts[attempt].status != "closed"
    rig.pbx.push("Newchannel", attempt, Channel="PJSIP/farend-1")
    rig.pbx.push("Hangup", attempt, Cause="17")
    await rig.tick(FAILURE_GRACE_S)
    outcome = rig.store.attempts[attempt].outcome
    assert outcome is not None and outcome.connres == Connres.BUSY, outcome
    assert rig.store.contacts[contact].contact.attempts == 1
    assert rig.engine.runs[1].breaker.failures == 0


async def test_a_dead_trunk_opens_the_breaker_and_burns_no_contacts(rig: Rig) -> None:
    rig.pbx.agents = AgentsView(10, 10, 0, 0, 0)
    contacts = [rig.store.add_contact(1, f"+493010000{i}") for i in range(10)]
    await rig.tick()
    breaker = rig.engine.runs[1].breaker
    first = rig.attempt_ids()
    assert len(first) == 10
    for attempt in first:
        fail_without_channel(rig, attempt)
    await rig.tick(0.2)
    assert breaker.state.value == "closed"  # a channel's events may still come
    await rig.tick(FAILURE_GRACE_S)
    assert breaker.state is BreakerState.OPEN
    for c in contacts:  # nobody charged, everybody due again
        stored = rig.store.contacts[c]
        assert stored.contact.attempts == 0 and stored.open_attempt_id is None
        assert stored.contact.slots[0].tries == 0
    assert rig.stats.placed_calls == 0 and rig.stats.outcomes == 0
    # Open: no calls until the first probe, 5 s after opening; then one.
    for _ in range(20):
        await rig.tick(0.2)
    assert len(rig.pbx.originates) == 10
    await rig.tick(1.0)
    assert len(rig.pbx.originates) == 11
    await rig.tick(0.2)
    assert len(rig.pbx.originates) == 11  # one probe at a time
    fail_without_channel(rig, rig.attempt_ids()[-1])
    await rig.tick(FAILURE_GRACE_S)
    await rig.tick(9.8)  # a failed probe doubles the wait: 10 s
    assert len(rig.pbx.originates) == 11
    await rig.tick(0.4)
    assert len(rig.pbx.originates) == 12
    probe = rig.attempt_ids()[-1]
    rig.pbx.push("Newchannel", probe)  # the trunk is back: a channel
    assert breaker.state.value == "closed"
    await rig.tick(0.2)
    assert len(rig.pbx.originates) > 12  # dialling again at the pacer's pace


async def test_failures_without_a_channel_hold_the_campaign_until_their_grace_tells(
    rig: Rig,
) -> None:
    """A dead trunk's failures come spread over ticks: the first ones' grace ends before the
    others'. Until every failure without a channel is known to be one, nothing more is placed,
    so the breaker opens with no call placed for the contacts the first failures gave back."""
    rig.pbx.agents = AgentsView(10, 10, 0, 0, 0)
    for i in range(10):
        rig.store.add_contact(1, f"+493010000{i}")
    await rig.tick()
    first = rig.attempt_ids()
    assert len(first) == 10
    for attempt in first[:2]:
        fail_without_channel(rig, attempt)
    await rig.tick(0.5)
    for attempt in first[2:]:
        fail_without_channel(rig, attempt)
    await rig.tick(FAILURE_GRACE_S - 0.4)  # the first two are known now, the rest not yet
    breaker = rig.engine.runs[1].breaker
    assert breaker.failures == 2 and breaker.state.value == "closed"
    assert len(rig.pbx.originates) == 10  # their contacts are due, but not dialled
    await rig.tick(0.5)
    assert breaker.state is BreakerState.OPEN
    assert len(rig.pbx.originates) == 10


async def test_each_campaigns_pacing_figures_are_logged_once_a_minute(rig: Rig) -> None:
    await rig.tick()
    with structlog.testing.capture_logs() as logs:
        await rig.tick(30.0)
        await rig.tick(31.0)
        await rig.tick(1.0)
    [line] = [e for e in logs if e["event"] == "campaign_pacing"]
    assert (line["campaign_id"], line["breaker"], line["agents"]) == (1, "closed", 1)
    assert {"answer_rate", "handle_mean_s", "wrapup_mean_s", "abandon_rate_today"} <= set(line)


async def test_a_channel_made_during_an_ami_outage_is_not_taken_for_a_dead_trunk(rig: Rig) -> None:
    """The callee's phone rang while the AMI was away (its Newchannel went unseen); the
    failure after the reconnect is the callee's: charged, not 'NO CHANNEL' and due at once,
    which would call the person again at once."""
    contact = rig.store.add_contact(1, "+4930100006", "+4930100000")
    await rig.tick()
    [attempt] = rig.attempt_ids()
    rig.pbx.channels = [Channel(channel_id(attempt), "PJSIP/farend-1", "", "Ringing", attempt)]
    await rig.pbx.connect()  # the reconnect: the resynced live state has the channel
    rig.pbx.channels = []
    rig.pbx.push("OriginateResponse", attempt, Response="Failure", Reason="3")
    await rig.tick(2.0)  # the failure's grace for a Hangup cause runs out
    [stored] = rig.store.history(contact)
    assert stored.outcome is not None and stored.outcome.connres == Connres.NO_ANSWER
    assert rig.store.contacts[contact].contact.slots[0].tries == 1


async def test_a_call_answered_while_the_ami_was_away_is_answered(rig: Rig) -> None:
    """Ringing when the AMI went, answered meanwhile (the resync shows its channel Up), then
    the callee hangs up: an answered call the callee ended, not an unanswered one."""
    contact = rig.store.add_contact(1, "+4930100004")
    await rig.tick()
    [attempt] = rig.attempt_ids()
    rig.pbx.push("Newstate", attempt, ChannelStateDesc="Ringing", Channel="PJSIP/farend-1")
    rig.pbx.channels = [Channel(channel_id(attempt), "PJSIP/farend-1", "", "Up", attempt)]
    await rig.pbx.connect()  # the reconnect: the resynced live state has it Up
    rig.pbx.channels = []
    rig.pbx.push("Hangup", attempt, Cause="16")
    await rig.tick()
    [stored] = rig.store.history(contact)
    assert stored.outcome is not None and stored.outcome.connres == Connres.CALLEE_HANGUP
    assert stored.outcome.dt_connect is not None


async def test_a_call_whose_end_went_unseen_is_no_evidence_for_the_pacer(rig: Rig) -> None:
    """Ringing when the AMI went, gone at the reconnect: closed as unknown, and not fed as
    unanswered (it may have been answered meanwhile; its ring time holds the outage)."""
    contact = rig.store.add_contact(1, "+4930100006")
    await rig.tick()
    [attempt] = rig.attempt_ids()
    rig.pbx.push("Newstate", attempt, ChannelStateDesc="Ringing", Channel="PJSIP/farend-1")
    stats = rig.engine.runs[1].stats
    assert (stats.placed_calls, stats.outcomes) == (1, 0)
    rig.clock.t += 8.0
    await rig.pbx.connect()  # the reconnect: its channel is gone
    await rig.tick()
    [stored] = rig.store.history(contact)
    assert stored.outcome is not None
    assert (stored.outcome.connres, stored.outcome.detail) == (
        Connres.ERROR,
        "RINGING, END UNKNOWN",
    )
    assert (stats.placed_calls, stats.outcomes) == (0, 0)


async def test_a_contact_whose_every_number_is_on_a_dnc_list_is_not_dialled(rig: Rig) -> None:
    contact = rig.store.add_contact(1, "+4930100001", "+4930100002")
    rig.store.dnc |= {"+4930100001", "+4930100002"}
    await rig.tick()
    assert rig.pbx.originates == []
    [attempt] = rig.store.history(contact)
    assert attempt.outcome is not None
    assert (attempt.outcome.connres, attempt.outcome.detail) == (Connres.NOT_DIALLED, "DNC")
    assert (attempt.number, attempt.slot) == ("+4930100001", 0)  # the one it would have dialled
    stored = rig.store.contacts[contact]
    assert stored.contact.state is ContactState.FINISHED and stored.claimed_by is None
    await rig.tick(60)
    assert rig.pbx.originates == [] and len(rig.store.history(contact)) == 1


async def test_a_contact_with_one_number_on_a_dnc_list_is_dialled_on_the_other(rig: Rig) -> None:
    rig.store.add_contact(1, "+4930100001", "+4930100002")
    rig.store.dnc.add("+4930100001")
    await rig.tick()
    [(fields, _)] = rig.pbx.originates
    assert fields["Channel"] == "PJSIP/+4930100002@farend"


async def test_a_number_put_on_a_dnc_list_after_the_claim_is_not_dialled(rig: Rig) -> None:
    contact = rig.store.add_contact(1, "+4930100001")
    claim = rig.store.claim

    async def claim_then_listed(campaign_id: int, limit: int) -> list[ClaimedContact]:
        claimed = await claim(campaign_id, limit)
        rig.store.dnc.add("+4930100001")  # between the claim and the attempt's start
        return claimed

    rig.store.claim = claim_then_listed  # type: ignore[method-assign]
    await rig.tick()
    assert rig.pbx.originates == [] and rig.store.history(contact) == []
    assert rig.store.contacts[contact].claimed_by is None  # released, due again at once
    rig.store.claim = claim  # type: ignore[method-assign]
    await rig.tick(0.2)
    [attempt] = rig.store.history(contact)
    assert attempt.outcome is not None and attempt.outcome.detail == "DNC"
    assert rig.pbx.originates == []


# -- the store unreachable (a database restart) ------------------------------------------------


async def three_calls_up(rig: Rig) -> list[int]:
    rig.pbx.agents = AgentsView(3, 3, 0, 0, 0)
    for i in range(3):
        rig.store.add_contact(1, f"+493010000{i}")
    await rig.engine.step()
    attempts = rig.attempt_ids()
    assert len(attempts) == 3
    return attempts


async def test_closes_while_the_store_is_down_are_kept_and_written_in_order_when_it_is_back(
    rig: Rig,
) -> None:
    attempts = await three_calls_up(rig)
    rig.store.down = True
    rig.store.add_contact(1, "+4930100009")  # due, and not to be dialled while the store is away
    with structlog.testing.capture_logs() as logs:
        for attempt, cause in zip(attempts, ["17", "17", "19"], strict=True):
            rig.pbx.push("Hangup", attempt, Cause=cause)
            for _ in range(3):
                rig.clock.t += 1.0
                await rig.engine.step()
        assert rig.engine.store_lost_at is not None
        assert len(rig.pbx.originates) == 3  # nothing placed while the store was down
        assert all(rig.store.attempts[a].status != "closed" for a in attempts)
        rig.store.down = False
        rig.clock.t += 1.0
        await rig.engine.step()
    assert rig.engine.store_lost_at is None
    assert rig.store.closes == attempts  # each once, in the order the calls ended
    got = [rig.store.attempts[a].outcome for a in attempts]
    assert [o.connres if o else None for o in got] == [
        Connres.BUSY,
        Connres.BUSY,
        Connres.NO_ANSWER,
    ]
    [lost] = [e for e in logs if e["event"] == "dialer_store_lost"]
    assert (lost["calls"], lost["closes_kept"]) == (2, 1)  # the first call had ended
    [back] = [e for e in logs if e["event"] == "dialer_store_back"]
    assert (back["closes_written"], back["down_s"]) == (3, 9.0)
    assert not [e for e in logs if e["event"] == "dialer_tick_failed"]
    assert len(rig.pbx.originates) == 4  # and dialling goes on


async def test_a_close_whose_answer_was_lost_is_sent_again_and_counted_once(rig: Rig) -> None:
    [attempt, *_] = await three_calls_up(rig)
    contact = rig.store.attempts[attempt].contact_id
    rig.store.lose_answers = 1  # written, then the connection dropped before the commit's answer
    rig.pbx.push("Hangup", attempt, Cause="17")
    await rig.engine.step()
    assert rig.engine.store_lost_at is not None
    await rig.engine.step()  # sent again
    assert rig.engine.store_lost_at is None
    assert rig.store.closes == [attempt]
    stored = rig.store.contacts[contact].contact
    assert (stored.attempts, stored.slots[0].tries) == (1, 1)  # not charged twice


async def test_a_start_whose_answer_was_lost_is_reconciled_not_dialled(rig: Rig) -> None:
    rig.store.add_contact(1, "+4930100000")
    rig.store.lose_answers = 1  # the history row and the open attempt are in; the answer is not
    await rig.engine.step()
    assert rig.pbx.originates == [] and rig.engine.store_lost_at is not None
    [written] = rig.store.attempts.values()
    await rig.engine.step()
    # Back: the attempt nobody follows is closed as unknown (nothing was sent), with the
    # contact's normal retry delay, not dialled at once.
    assert written.status == "closed" and written.outcome is not None
    assert (written.outcome.connres, written.outcome.detail) == (
        Connres.ERROR,
        "RECONCILED: NO CHANNEL (pending)",
    )
    assert rig.pbx.originates == []
    assert rig.store.contacts[written.contact_id].dt_next_try is not None


async def test_every_round_is_timed_a_failed_one_too(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    def tick(sample: str, **labels: str) -> float:
        return metrics.REGISTRY.get_sample_value(f"dialerd_tick_seconds_{sample}", labels) or 0.0

    count, slow, total = tick("count"), tick("count") - tick("bucket", le="0.1"), tick("sum")
    read = rig.store.campaigns

    async def slow_campaigns() -> list[DialableCampaign]:
        await asyncio.sleep(0.15)
        return await read()

    rig.store.down = True
    await rig.engine.step()  # fails at its first read
    assert rig.engine.store_lost_at is not None
    rig.store.down = False
    monkeypatch.setattr(rig.store, "campaigns", slow_campaigns)
    await rig.engine.step()  # reads the campaigns again: 0.15 s
    assert tick("count") - count == 2
    assert tick("count") - tick("bucket", le="0.1") - slow == 1
    assert tick("sum") - total >= 0.15
