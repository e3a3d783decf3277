"""The dialer engine: per campaign and tick, pace, claim, write the attempt, originate; follow
every attempt's events to its outcome; close it and move its contact on.

Crash safety: an attempt's history row is written (with the contact marked as having an
attempt in progress) before its Originate is sent; a contact with an open attempt is never
claimed. Attempts left open — by an AMI outage, a crash (``kill -9``) or a dead sibling
process whose lease expired — are reconciled with Asterisk's live channels: a call whose
channel still exists is followed to its end, one that is gone is closed with what is known;
when nothing is known its CONNRES is 7 (error, detail says why). Either way the contact gets
its normal retry delay, never an immediate re-dial. See docs/dialer.md.

With a live store the engine also publishes its live view for the wallboards (a few times a
second at most, at once after a change, else as a heartbeat), records its agents' minutes and
carries out the supervisors' actions on its agents (docs/wallboard.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import structlog

from dialerd import metrics
from dialerd.compliance import after_care_on
from dialerd.config import Settings
from dialerd.dialer.breaker import TrunkBreaker
from dialerd.dialer.feed import StatsFeed
from dialerd.dialer.lease import PacingLease
from dialerd.dialer.live import CampaignLive, MinuteMeter, call_live, change_key, live_view
from dialerd.dialer.outcome import AttemptEvents, attempt_id_of
from dialerd.dialer.pacing import (
    DAY_S,
    CallStats,
    Pacer,
    PacingSettings,
    PacingSnapshot,
    RateLimiter,
    apply_caps,
    make_pacer,
)
from dialerd.dialer.ports import DialerStore, LiveStore, Pbx, PbxEvent, PreviewStore
from dialerd.dialer.preview import Reservation, pause_moves, reservations
from dialerd.dialer.rules import CallWindow, callee, decider, pick_slot
from dialerd.dialer.scheduler import DueCall, Scheduler, stop_dnc
from dialerd.domain import (
    AFTER_CALL_REASON,
    PREVIEW_REASON,
    AgentAction,
    AgentActionKind,
    AgentCommand,
    AgentSeconds,
    AgentState,
    Campaign,
    Channel,
    ClosedAttempt,
    Connres,
    DialableCampaign,
    OpenAttempt,
    PbxError,
    PbxNotSent,
    PbxRefused,
    PbxUnavailable,
    Transfer,
    TransferKind,
    channel_id,
)

log = structlog.get_logger(__name__)

MIN_RING_TIMEOUT_S = 15  # product rule
FAILURE_GRACE_S = 2.0  # after a failed OriginateResponse, wait this long for the channel's events
CAMPAIGN_REFRESH_S = 2.0
# An agent whose call ended counts as ready again once the PBX shows it free and has recorded
# that call's end (the device state can say "not in use" before the queue's LastCall moves);
# after this long without that record it counts as ready anyway.
LAST_CALL_WAIT_S = 5.0
STATS_LOG_S = 60.0  # how often each campaign's pacing figures are logged
LIVE_INTERVAL_S = 0.25  # the live view is built this often and written when it changed
LIVE_HEARTBEAT_S = 2.0  # and written at least this often, so a dead process's view goes stale
COMMAND_WAIT_S = 5.0  # a supervisor's action wakes the engine by NOTIFY; this is the fallback
AFTER_CALL_CHECK_S = 0.5  # how often after-call work past its campaign's limit is looked for
PREVIEW_CHECK_S = 0.5  # how often ready agents are looked at for preview offers
PREVIEW_CLAIMS = 5  # claims per agent and round (contacts outside their window go back)
TRANSFER_QUEUE_WAIT_S = 120  # how long a callee transferred to a queue waits for its agent
_CALLER_ID_NUMBER = re.compile(r"<([^>]*)>")


def caller_id_number(caller_id: str | None) -> str | None:
    """``"Sales" <4930123>`` → ``4930123``; a bare number is itself."""
    if not caller_id:
        return None
    found = _CALLER_ID_NUMBER.search(caller_id)
    return (found.group(1) if found else caller_id).strip() or None


def pacing_settings(c: Campaign) -> PacingSettings:
    return PacingSettings(
        mode=c.dial_mode,
        ratio=c.dial_ratio,
        max_lines_per_agent=c.max_lines_per_agent,
        abandon_limit=c.abandon_limit,
        aggressiveness=c.aggressiveness,
        agent_timeout_s=float(c.agent_timeout_s),
    )


def originate_request(
    campaign: DialableCampaign,
    attempt_id: int,
    contact_id: int,
    number: str,
    agent_phone: str | None = None,
) -> tuple[dict[str, str], dict[str, str]]:
    """The Originate of an attempt (fields, channel variables), per the dialplan contract in
    asterisk_conf/README.md. A preview call (``agent_phone``) is bridged to that phone
    instead of the queue, without AMD: the agent chose to call a person."""
    fields = {
        "Channel": campaign.dial_string.replace("{number}", number),
        "Context": "dialerd-outbound",
        "Exten": "s",
        "Priority": "1",
        "Timeout": str(max(MIN_RING_TIMEOUT_S, campaign.ring_timeout_s) * 1000),
        "ChannelId": channel_id(attempt_id),
        "OtherChannelId": f"{channel_id(attempt_id)}-2",
    }
    if campaign.caller_id:
        fields["CallerID"] = campaign.caller_id
    variables = {
        "DIALERD_ATTEMPT_ID": str(attempt_id),
        "DIALERD_CONTACT_ID": str(contact_id),
        "DIALERD_CAMPAIGN_ID": str(campaign.id),
        "DIALERD_QUEUE": campaign.queue,
        "DIALERD_AMD": "1" if campaign.amd_enabled and agent_phone is None else "0",
        "DIALERD_MACHINE_ACTION": campaign.machine_action.value,
        "DIALERD_AGENT_TIMEOUT": str(campaign.agent_timeout_s),
    }
    if agent_phone is not None:
        variables["DIALERD_AGENT_PHONE"] = agent_phone
    return fields, variables


def transfer_request(campaign: DialableCampaign, transfer: Transfer) -> tuple[str, dict[str, str]]:
    """Where in the dialplan's transfer context the callee goes (its exten) and the channel
    variables it needs there, per asterisk_conf/README.md: a number is dialled through the
    campaign's dial string and rings as long as the campaign's calls do."""
    variables = {"DIALERD_TRANSFER_TARGET": transfer.target}
    if transfer.kind is TransferKind.NUMBER:
        variables["DIALERD_TRANSFER_DIAL"] = campaign.dial_string.replace(
            "{number}", transfer.target
        )
        timeout = max(MIN_RING_TIMEOUT_S, campaign.ring_timeout_s)
    else:
        timeout = TRANSFER_QUEUE_WAIT_S
    variables["DIALERD_TRANSFER_TIMEOUT"] = str(timeout)
    return transfer.kind.value, variables


@dataclass
class Attempt:
    """An attempt the engine follows."""

    events: AttemptEvents
    campaign_id: int
    contact_id: int
    slot: int
    number: str = ""  # unknown for an attempt adopted from the database
    failed_at: float | None = None  # monotonic: OriginateResponse Failure without a Hangup
    # The Originate was tried (it may have gone out). Until then a reconnect's reconciliation
    # leaves the attempt alone: that no channel exists yet says nothing.
    originate_tried: bool = False
    stats_answer_fed: bool = False
    channel_seen: bool = False
    # A preview call: the agent's phone it is bridged to. Not paced, so not fed to the pacer.
    agent_phone: str | None = None
    talk_ended: bool = False  # the agent's part is over (the call, or the agent's leg ended)

    @property
    def id(self) -> int:
        return self.events.attempt_id


@dataclass
class CampaignRun:
    """What the engine keeps per campaign for its whole life."""

    campaign: DialableCampaign
    pacer: Pacer
    feed: StatsFeed
    limiter: RateLimiter | None = None
    breaker: TrunkBreaker = field(default_factory=TrunkBreaker)
    attempts: dict[int, Attempt] = field(default_factory=dict)
    wanted: int = 0  # the pacer's answer on the last tick, before the caps
    placed_at: deque[float] = field(default_factory=deque)  # wall times, the last minute's

    @property
    def stats(self) -> CallStats:
        return self.feed.stats

    def counts(self) -> tuple[int, int]:
        """(ringing, waiting for an agent) among this campaign's live attempts."""
        ringing = waiting = 0
        for a in self.attempts.values():
            e = a.events
            if e.ended or a.failed_at is not None or a.agent_phone is not None:
                continue
            if not e.answered:
                ringing += 1
            elif e.dt_agent_connect is None and e.user_result is None:
                waiting += 1
        return ringing, waiting

    def not_ended(self) -> int:
        return sum(1 for a in self.attempts.values() if not a.events.ended)


def _limiter(rate: float | None, tick_s: float) -> RateLimiter | None:
    if rate is None:
        return None
    return RateLimiter(rate, max(1, round(rate * max(tick_s, 0.05))))


class Engine:
    def __init__(
        self,
        settings: Settings,
        store: DialerStore,
        pbx: Pbx,
        *,
        drain_timeout_s: float = 600.0,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        live: LiveStore | None = None,
        preview: PreviewStore | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.live = live
        self.preview = preview
        self._preview_checked_at = -1e9
        self._meter = MinuteMeter()
        self._unsaved_minutes: list[AgentSeconds] = []
        self._live_key: Any = None
        self._live_written_at = -1e9
        self.scheduler = Scheduler(store)
        self.pbx = pbx
        self.drain_timeout_s = drain_timeout_s
        self._clock = clock
        self._wall = wall
        self.runs: dict[int, CampaignRun] = {}
        self._active: set[int] = set()  # campaigns that may dial
        self._pacing = PacingLease()  # of those, the ones this engine paces on its PBX
        self._pbx_name = settings.pbx_identity()
        self._standby: set[int] = set()  # campaigns another engine of this PBX paces
        self.attempts: dict[int, Attempt] = {}
        self._to_close: list[ClosedAttempt] = []
        self._unwritten: set[int] = set()  # closed here, not yet in the database
        self._after_calls: list[tuple[str, int, int]] = []  # (agent, campaign, attempt) ended
        self._after_call_lock = asyncio.Lock()  # the tick and the publisher both drain them
        self._after_calls_checked_at = -1e9
        self._closing = False
        self._limiter = _limiter(settings.max_originate_rate, settings.tick_seconds)
        self._lock = asyncio.Lock()  # dialling vs reconciliation
        self._reconciled = asyncio.Event()
        self._campaigns_at = -1e9
        self._leases_at = clock()
        self._stats_logged_at = clock()
        self.placed = 0
        self.ticks = 0  # rounds begun: tests wait on it instead of on the wall clock
        # The store could not be reached since (monotonic): no calls are placed, and the closes
        # stay in _to_close, in order, until a flush writes them (docs/dialer.md).
        self.store_lost_at: float | None = None
        self.draining = False

    # -- wiring -------------------------------------------------------------------------------

    def attach(self) -> None:
        """Registers the engine with the PBX (after the PBX's own live-state hooks)."""
        self.pbx.subscribe(self.on_event, self.on_ready, self.on_lost)

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._wall(), UTC)

    # -- the loop -----------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Dials until ``stop`` is set, then lets the calls in progress end and records them
        (for at most ``drain_timeout_s``)."""
        await self._restore_stats()
        log.info("dialer_started", instance_id=self.store.instance_id)
        live = self.live
        tasks = []
        if live is not None:
            tasks = [
                asyncio.create_task(self._publish_forever(), name="dialer-live-view"),
                asyncio.create_task(self._commands_forever(live), name="dialer-agent-actions"),
            ]
        try:
            while not stop.is_set():
                await self.step()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.settings.tick_seconds):  # see pbx/ami.py
                        await stop.wait()
            await self._drain()
            await self._release_campaigns()
        finally:
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            if live is not None:
                await self._stop_live(live)

    async def _release_campaigns(self) -> None:
        """Another engine of this PBX may pace them at once, not after the lease."""
        try:
            await self.store.release_campaigns()
        except Exception as exc:
            self._failed("campaign_release_failed", exc)

    async def _drain(self) -> None:
        self.draining = True
        log.info("dialer_draining", calls=len(self.attempts))
        for run in self.runs.values():  # what the pacer had learnt when dialling stopped
            self._log_pacing(run)
        deadline = self._clock() + self.drain_timeout_s
        while (self.attempts or self._to_close) and self._clock() < deadline:
            try:
                self._expire_failures()
                await self._flush_closes()
                if self.attempts:
                    await self.store.renew_leases()
            except Exception:
                log.exception("dialer_drain_step_failed")
            await asyncio.sleep(min(0.2, self.settings.tick_seconds))
        log.info("dialer_stopped", left_open=len(self.attempts))

    async def step(self) -> None:
        """One round as :meth:`run` has it: a failure is logged, not raised (an unreachable
        store once, as ``dialer_store_lost``), and the next round tries again."""
        started = time.perf_counter()
        try:
            await self.tick()
        except Exception as exc:
            if self.store.unavailable(exc):
                self._store_lost(exc)
            else:
                log.exception("dialer_tick_failed")
        finally:
            metrics.TICK_SECONDS.observe(time.perf_counter() - started)

    def _failed(self, what: str, exc: BaseException) -> None:
        """A side loop's failure: an unreachable store is the tick's news (dialer_store_lost),
        not a stack trace every round."""
        if not self.store.unavailable(exc):
            log.exception(what)

    def _store_lost(self, exc: BaseException) -> None:
        if self.store_lost_at is None:
            self.store_lost_at = self._clock()
            log.warning(
                "dialer_store_lost",
                error=repr(exc),
                calls=len(self.attempts),
                closes_kept=len(self._to_close),
            )

    async def _store_back(self, written: int) -> None:
        """The store answers again (the campaigns read, the kept closes written): starts whose
        answer was lost are reconciled before anything is dialled."""
        assert self.store_lost_at is not None
        if self.pbx.ready and self._reconciled.is_set():
            await self.reconcile()
        log.info(
            "dialer_store_back",
            down_s=round(self._clock() - self.store_lost_at, 1),
            closes_written=written,
            calls=len(self.attempts),
        )
        self.store_lost_at = None

    async def tick(self) -> None:
        """One round: campaigns, closes, leases, agents ready again, then calls to place.
        While the store cannot be reached each round fails at its first write or read; the
        first that gets through writes what was kept and dialling resumes."""
        self.ticks += 1
        now = self._clock()
        if now - self._campaigns_at >= CAMPAIGN_REFRESH_S or self.store_lost_at is not None:
            await self._refresh_campaigns()
            self._campaigns_at = now
        self._expire_failures()
        written = await self._flush_closes()
        if self.store_lost_at is not None:
            await self._store_back(written)
        if self.live is not None:
            await self._after_call_work(self.live, now)
        if (
            self.preview is not None
            and now - self._preview_checked_at >= PREVIEW_CHECK_S
            and self.pbx.ready
            and self._reconciled.is_set()
            and not self.draining
        ):
            self._preview_checked_at = now
            await self._offer_previews(self.preview)
        if now - self._leases_at >= self.settings.claim_lease_seconds / 4:
            self._leases_at = now
            await self.store.renew_leases()
            if self.pbx.ready:
                await self.reconcile()  # siblings that died with calls open
                # What events cannot tell (e.g. a shared agent's wrap-up in other queues).
                with contextlib.suppress(PbxError):
                    await self.pbx.refresh_queues()
        for run in self.runs.values():
            self._feed_agents_ready(run)
        if now - self._stats_logged_at >= STATS_LOG_S:
            self._stats_logged_at = now
            for run in self.runs.values():
                self._log_pacing(run)
        if self.pbx.ready and self._reconciled.is_set():
            for cid, run in list(self.runs.items()):
                if cid in self._active and self._pacing.paces(cid, self._clock()):
                    await self._dial(run)

    async def _refresh_campaigns(self) -> None:
        campaigns = {c.id: c for c in await self.store.campaigns()}
        for cid, c in campaigns.items():
            run = self.runs.get(cid)
            if run is None:
                self.runs[cid] = CampaignRun(
                    c,
                    make_pacer(pacing_settings(c)),
                    StatsFeed(CallStats(day_offset_s=_utc_offset_s(c.timezone, self._now()))),
                    _limiter(c.max_originate_rate, self.settings.tick_seconds),
                )
            else:
                if c.max_originate_rate != run.campaign.max_originate_rate:
                    run.limiter = _limiter(c.max_originate_rate, self.settings.tick_seconds)
                run.campaign = c
        for cid in list(self.runs):
            if cid not in campaigns and not self.runs[cid].attempts:
                del self.runs[cid]  # deactivated: kept (not dialling) while its calls run
        self._active = set(campaigns)
        await self._hold_campaigns()

    async def _hold_campaigns(self) -> None:
        """Renews this engine's pacing leases and takes the campaigns no live engine of its
        PBX paces; the others it stands by for (docs/dialer.md, "Nodes")."""
        asked = self._clock()
        held = await self.store.hold_campaigns(self._pbx_name, sorted(self._active))
        lease = self._pacing.renewed(held, asked, self.settings.claim_lease_seconds)
        taken, lost = self._pacing.changes(lease, asked)
        self._pacing = lease
        if taken:
            log.info("campaigns_paced", pbx=self._pbx_name, campaign_ids=taken)
        if lost:
            log.warning("campaigns_lost", pbx=self._pbx_name, campaign_ids=lost)
        standby = self._active - held
        if standby != self._standby:
            self._standby = standby
            log.info("campaigns_standby", pbx=self._pbx_name, campaign_ids=sorted(standby))

    async def _restore_stats(self) -> None:
        await self._refresh_campaigns()
        self._campaigns_at = self._clock()
        since = self._now() - timedelta(seconds=30 * DAY_S)
        counts = await self.store.abandon_counts(since)
        wall = self._wall()
        for cid, run in self.runs.items():
            found = counts.get(cid)
            if found is not None:
                run.stats.restore(
                    wall,
                    answered_window=found.answered_window,
                    abandoned_window=found.abandoned_window,
                    answered_today=found.answered_today,
                    abandoned_today=found.abandoned_today,
                )

    # -- placing calls ------------------------------------------------------------------------

    def _wanted(self, run: CampaignRun) -> int:
        c = run.campaign
        ringing, waiting = run.counts()
        snap = PacingSnapshot(
            now=self._wall(),
            agents=self.pbx.queue_agents(c.queue, self._clock()),
            calls_ringing=ringing,
            calls_waiting=waiting,
            stats=run.stats,
            settings=pacing_settings(c),
        )
        wanted = run.wanted = run.pacer.calls_to_place(snap)
        wanted = apply_caps(wanted, in_flight=run.not_ended(), max_in_flight=c.max_calls_in_flight)
        total = sum(1 for a in self.attempts.values() if not a.events.ended)
        return apply_caps(wanted, in_flight=total, max_in_flight=self.settings.max_calls_in_flight)

    async def _dial(self, run: CampaignRun) -> None:
        if any(a.failed_at is not None and not a.channel_seen for a in run.attempts.values()):
            # A call failed with no channel seen: a dead trunk's, unless its channel's events
            # come within the grace (_expire_failures). Until that is known the campaign
            # places nothing more, or each failure that came in a tick of its own would let
            # the pacer dial its contact again before the breaker could count it.
            return
        limiters = [x for x in (run.limiter, self._limiter) if x is not None]
        caps = [x.burst for x in limiters]
        allowed = run.breaker.allowed(self._clock())
        if allowed is not None:
            caps.append(allowed)
        wanted = min([self._wanted(run), *caps])
        if wanted <= 0:
            return
        async with self._lock:
            calls = await self.scheduler.due_calls(run.campaign, wanted, self._now())
            if not calls:
                return
            # Tokens only for calls that will be placed: a campaign with nothing due must not
            # use up the global rate; what the rate does not allow now is given back.
            granted = len(calls)
            for limiter in limiters:
                granted = limiter.take(self._clock(), granted)
            await self.store.release([(c.contact_id, self._now()) for c in calls[granted:]])
            calls = calls[:granted]
            started = await self.store.start_attempts(
                [(c.contact_id, c.number, c.slot) for c in calls],
                caller_id_number(run.campaign.caller_id),
                self._pbx_name,
            )
            by_contact = {c.contact_id: c for c in calls}
            placing: list[tuple[Attempt, DueCall]] = []
            for s in started:
                call = by_contact.pop(s.contact_id)
                attempt = Attempt(
                    AttemptEvents(s.id, started=s.started),
                    run.campaign.id,
                    s.contact_id,
                    call.slot,
                    call.number,
                )
                placing.append((attempt, call))
            # Locked or changed since the claim: give them back. Should that fail, the attempts
            # just written are nobody's yet, and the reconciliation closes them.
            await self.store.release([(cid, self._now()) for cid in by_contact])
            for attempt, _ in placing:
                self.attempts[attempt.id] = run.attempts[attempt.id] = attempt
            if placing:
                run.breaker.placed(self._clock())
        results = await asyncio.gather(
            *(self._originate(run, a, c) for a, c in placing), return_exceptions=True
        )
        acked = [a.id for (a, _), ok in zip(placing, results, strict=True) if ok is True]
        await self.store.mark_dialing(acked)

    async def _originate(self, run: CampaignRun, attempt: Attempt, call: DueCall) -> bool:
        fields, variables = originate_request(
            run.campaign, attempt.id, call.contact_id, call.number, attempt.agent_phone
        )
        if attempt.agent_phone is None:
            run.feed.placed(attempt.id, self._wall())
        run.placed_at.append(self._wall())
        self.placed += 1
        attempt.originate_tried = True
        ids = {"campaign_id": run.campaign.id, "contact_id": call.contact_id}
        try:
            await self.pbx.originate(fields, variables)
        except PbxNotSent as exc:
            # Never written: nobody was called, and the contact may be dialled again at once.
            log.info("originate_not_sent", **ids, attempt_id=attempt.id, error=str(exc))
            run.feed.withdrawn(attempt.id)
            self._close(attempt, Connres.NOT_DIALLED, detail=f"NOT SENT: {exc}", retry_at_once=True)
            return False
        except PbxRefused as exc:
            # Asterisk refused it: nothing was dialled.
            log.warning("originate_refused", **ids, attempt_id=attempt.id, error=str(exc))
            run.feed.withdrawn(attempt.id)
            self._close(attempt, Connres.NOT_DIALLED, detail=f"ORIGINATE REFUSED: {exc.message}")
            return False
        except PbxUnavailable as exc:
            # It may or may not have gone out: the reconciliation after the reconnect decides.
            log.warning("originate_unconfirmed", **ids, attempt_id=attempt.id, error=str(exc))
            return False
        log.debug("call_placed", **ids, attempt_id=attempt.id, channel=fields["ChannelId"])
        metrics.CALLS_PLACED.labels(str(run.campaign.id)).inc()
        return True

    # -- events -------------------------------------------------------------------------------

    def on_event(self, event: PbxEvent) -> None:
        attempt_id = attempt_id_of(event.name, event.fields)
        if attempt_id is None:
            return
        attempt = self.attempts.get(attempt_id)
        if attempt is None:
            return
        e = attempt.events
        e.feed(event.name, event.fields, self._now())
        run = self.runs.get(attempt.campaign_id)
        if e.channel_created and not attempt.channel_seen:
            attempt.channel_seen = True
            if run is not None and run.breaker.channel():
                log.warning("campaign_trunk_up", campaign_id=run.campaign.id, attempt_id=attempt.id)
        if event.name == "OriginateResponse" and e.originate_result == "Failure" and not e.ended:
            # Asterisk raises OriginateResponse itself but a channel's events through stasis,
            # so under load a made channel's Newchannel and Hangup can come after it: whether
            # anything was dialled is known only when the grace is over (_expire_failures).
            attempt.failed_at = self._clock()
        self._feed_stats(attempt)
        if e.ended:
            self._close(attempt)
        elif e.transferred and e.dt_agent_end is not None and not attempt.talk_ended:
            self._end_talk(attempt, e.dt_agent_end)  # the agent is free, the call goes on

    def _end_talk(self, attempt: Attempt, at: datetime) -> None:
        """The call is over for the pacer and its agent at ``at``: it ended, or its agent's
        leg did (a transfer). The feed learns it; the agent's after-call work begins."""
        attempt.talk_ended = True
        e = attempt.events
        run = self.runs.get(attempt.campaign_id)
        if run is not None:
            run.feed.ended(attempt.id, at.timestamp())
        if e.agent and e.dt_agent_connect is not None:
            self._after_calls.append((e.agent, attempt.campaign_id, attempt.id))

    def _no_channel(self, attempt: Attempt, run: CampaignRun | None) -> None:
        """Nothing was dialled: not the callee's outcome. The contact is not charged and is
        due again; the campaign's breaker counts it."""
        detail = f"NO CHANNEL: ORIGINATE FAILURE (Reason {attempt.events.originate_reason})"
        if run is not None:
            run.feed.withdrawn(attempt.id)
            if run.breaker.no_channel(self._clock()):
                log.warning(
                    "campaign_trunk_down",
                    campaign_id=run.campaign.id,
                    failures=run.breaker.failures,
                    probe_in_s=run.breaker.probe_s,
                    detail=detail,
                )
            elif run.breaker.failures > run.breaker.threshold:
                log.warning(
                    "campaign_trunk_probe_failed",
                    campaign_id=run.campaign.id,
                    down_s=round(self._clock() - run.breaker.opened_at, 1),
                    probe_in_s=run.breaker.probe_s,
                )
        self._close(attempt, Connres.NOT_DIALLED, detail=detail, retry_at_once=True)

    def _feed_stats(self, attempt: Attempt) -> None:
        """The feed learns a live answer once it is clear the answer was a person: an agent
        took it, or it was abandoned; a machine once AMD said so."""
        run = self.runs.get(attempt.campaign_id)
        e = attempt.events
        if run is None or attempt.stats_answer_fed or not e.answered or e.dt_connect is None:
            return
        answered_at = e.dt_connect.timestamp()
        if e.user_result == "MACHINE":
            run.feed.machine(attempt.id, answered_at)
        elif e.dt_agent_connect is not None:
            run.feed.answered(attempt.id, answered_at)
            run.feed.connected(attempt.id, e.agent or "", e.dt_agent_connect.timestamp())
        elif e.user_result == "ABANDONED" or e.caller_abandoned or e.ended:
            run.feed.answered(attempt.id, answered_at)
            run.feed.abandoned(attempt.id, self._wall())
        else:
            return
        attempt.stats_answer_fed = True

    def _feed_agents_ready(self, run: CampaignRun) -> None:
        """Agents of this campaign's connected calls become ready again when the PBX would
        offer them a new call: no longer talking or in wrap-up (a pause ends it too)."""
        now, wall, queue = self._clock(), self._wall(), run.campaign.queue
        ready = []
        for agent, ended in run.feed.in_wrapup():
            state = self.pbx.agent_state(queue, str(agent), now)
            if state in (AgentState.TALKING, AgentState.WRAPUP):
                continue
            recorded = self.pbx.agent_last_call(queue, str(agent)) >= ended - 2
            if state is AgentState.FREE and not recorded and wall - ended < LAST_CALL_WAIT_S:
                continue
            ready.append(agent)
        for agent in ready:
            run.feed.agent_ready(agent, wall)

    def _log_pacing(self, run: CampaignRun) -> None:
        """What the pacer sees, for the operator: one line per campaign a minute."""
        stats, wall = run.stats, self._wall()
        talk, wrapup = stats.talk_times.mean(0.0), stats.wrapup_times.mean(0.0)
        log.info(
            "campaign_pacing",
            campaign_id=run.campaign.id,
            mode=run.campaign.dial_mode.value,
            breaker=run.breaker.state.value,
            agents=self.pbx.queue_agents(run.campaign.queue, self._clock()).logged_in,
            placed=stats.placed_calls,
            live_answers=stats.live_answers,
            answer_rate=round(stats.answer_rate(wall), 4),
            talk_mean_s=round(talk, 1),
            wrapup_mean_s=round(wrapup, 1),
            handle_mean_s=round(talk + wrapup, 1),
            abandon_rate_today=round(stats.abandon_rate_today(wall), 4),
            abandon_rate_30d=round(stats.abandon_rate_window(wall), 4),
        )

    def _close(
        self,
        attempt: Attempt,
        unknown: Connres = Connres.ERROR,
        *,
        detail: str | None = None,
        retry_at_once: bool = False,
    ) -> None:
        """Ends following an attempt; its history row and contact are written on the next
        flush."""
        if self.attempts.pop(attempt.id, None) is None:
            return
        run = self.runs.get(attempt.campaign_id)
        if run is not None:
            run.attempts.pop(attempt.id, None)
        e = attempt.events
        outcome = e.outcome(ended_at=self._now(), unknown=unknown)
        if detail is not None:
            outcome = replace(outcome, detail=detail)
        self._feed_stats(attempt)
        if not attempt.talk_ended and outcome.dt_end is not None:
            self._end_talk(attempt, outcome.dt_end)
        self._unwritten.add(attempt.id)
        if e.transfer_agent:  # the agent of the queue it was transferred to, in its campaign
            for other in self.runs.values():
                if other.campaign.queue == e.transfer_queue:
                    self._after_calls.append((e.transfer_agent, other.campaign.id, attempt.id))
                    break
        after_care = run is not None and after_care_on(
            run.campaign.abandon_after_care, run.campaign.default_region
        )
        self._to_close.append(
            ClosedAttempt(
                attempt.id,
                attempt.contact_id,
                attempt.slot,
                outcome,
                e.channel,
                retry_at_once,
                after_care,
            )
        )
        metrics.count_attempt(attempt.campaign_id, outcome)
        log.info(
            "attempt_closed",
            campaign_id=attempt.campaign_id,
            contact_id=attempt.contact_id,
            attempt_id=attempt.id,
            channel=e.channel,
            connres=int(outcome.connres),
            cause=outcome.cause,
            agent=outcome.agent,
            detail=outcome.detail,
        )

    def _expire_failures(self) -> None:
        now = self._clock()
        for attempt in list(self.attempts.values()):
            if attempt.failed_at is not None and now - attempt.failed_at >= FAILURE_GRACE_S:
                if attempt.events.failed_without_channel:
                    self._no_channel(attempt, self.runs.get(attempt.campaign_id))
                else:
                    self._close(attempt)

    async def _flush_closes(self) -> int:
        """Writes the closes kept since the last flush; returns how many. On failure they
        are kept, in order, for the next one: a close is written once whatever the replay
        (the store completes only open attempts, and moves on only the contact whose open
        attempt it is), so a write whose answer was lost may be sent again."""
        if not self._to_close or self._closing:
            return 0
        self._closing = True
        batch, self._to_close = self._to_close, []
        try:
            await self.store.close_attempts(batch, decider(self._now()))
            self._unwritten.difference_update(c.attempt_id for c in batch)
        except Exception:
            self._to_close[:0] = batch  # written on the next flush
            raise
        finally:
            self._closing = False
        return len(batch)

    # -- the live view ------------------------------------------------------------------------

    def campaigns_live(self) -> list[CampaignLive]:
        """What this engine knows of each campaign it paces or has calls of, for the live
        view: an engine standing by for a campaign does not show it (its agents are the
        pacer's, and counted there once)."""
        now, wall = self._clock(), self._wall()
        found = []
        for cid, run in self.runs.items():
            if not self._pacing.paces(cid, now) and not run.attempts:
                continue
            while run.placed_at and wall - run.placed_at[0] > 60.0:
                run.placed_at.popleft()
            calls = [
                call_live(a.events, a.contact_id, a.number)
                for a in run.attempts.values()
                if not a.events.ended
            ]
            found.append(
                CampaignLive(
                    run.campaign,
                    self.pbx.queue_members(run.campaign.queue, now),
                    calls,
                    run.stats,
                    run.breaker.state,
                    run.wanted,
                    len(run.placed_at),
                )
            )
        return found

    def live_view(self, campaigns: list[CampaignLive]) -> dict[str, Any]:
        return live_view(
            self.store.instance_id,
            self._wall(),
            campaigns,
            self.pbx.status(),
            calls_in_flight=sum(1 for a in self.attempts.values() if not a.events.ended),
            max_calls_in_flight=self.settings.max_calls_in_flight,
            max_originate_rate=self.settings.max_originate_rate,
        )

    async def publish_live(self) -> None:
        """One round of the publisher: the agents' seconds sampled, the view written if it
        changed (or as a heartbeat), the minutes that ended recorded."""
        assert self.live is not None
        # After-call work begun first: no view shows an agent whose call ended free while
        # the store still has it ready (its page would say Ready for a moment).
        await self._after_call_work(self.live, self._clock())
        campaigns = self.campaigns_live()
        wall = self._wall()
        self._meter.sample(wall, ((c.campaign.id, a) for c in campaigns for a in c.agents))
        view = self.live_view(campaigns)
        key = change_key(view)
        if key != self._live_key or self._clock() - self._live_written_at >= LIVE_HEARTBEAT_S:
            await self.live.publish(view)
            self._live_key, self._live_written_at = key, self._clock()
        await self._save_minutes(self._meter.take(wall))

    async def _save_minutes(self, rows: list[AgentSeconds]) -> None:
        assert self.live is not None
        self._unsaved_minutes += rows
        if self._unsaved_minutes:
            # Cleared once written: what a failed write held is tried again next round.
            await self.live.add_agent_seconds(self._unsaved_minutes)
            self._unsaved_minutes = []

    async def _publish_forever(self) -> None:
        while True:
            try:
                await self.publish_live()
            except Exception as exc:
                self._failed("live_view_publish_failed", exc)
            await asyncio.sleep(LIVE_INTERVAL_S)

    async def _stop_live(self, live: LiveStore) -> None:
        """The last minutes recorded and the view withdrawn: this process is gone."""
        try:
            await self._save_minutes(self._meter.take())
            await live.withdraw()
        except Exception:
            log.exception("live_view_withdraw_failed")

    async def _after_call_work(self, live: LiveStore, now: float) -> None:
        """A workspace agent whose call ended goes to after-call work (paused in its queues
        with the after-call reason, which the PBX shows as wrap-up); one whose after-call
        work reached the campaign's limit is ready again."""
        async with self._after_call_lock:
            await self._after_call_moves(live, now)

    async def _after_call_moves(self, live: LiveStore, now: float) -> None:
        moves: list[tuple[str, list[str], AgentActionKind]] = []
        while self._after_calls:  # one at a time: what a failed write held is tried again
            agent, campaign_id, attempt_id = self._after_calls[0]
            queues = await live.start_after_call(agent, campaign_id, attempt_id)
            self._after_calls.pop(0)
            moves.append((agent, queues, AgentActionKind.PAUSE))
        if now - self._after_calls_checked_at >= AFTER_CALL_CHECK_S:
            self._after_calls_checked_at = now
            for agent, queues in await live.end_after_calls():
                moves.append((agent, queues, AgentActionKind.READY))
        for agent, queues, kind in moves:
            reason = AFTER_CALL_REASON if kind is AgentActionKind.PAUSE else ""
            for queue in queues:
                try:
                    await self.pbx.agent_action(AgentAction(kind, queue, agent, reason=reason))
                except PbxError as exc:
                    log.warning(
                        "after_call_action_failed", agent=agent, queue=queue, error=str(exc)
                    )
            if queues:
                log.info("agent_after_call", agent=agent, action=kind.value, queues=queues)

    async def _commands_forever(self, live: LiveStore) -> None:
        while True:
            try:
                for command in await live.next_commands(COMMAND_WAIT_S):
                    await self.carry_out(live, command)
            except Exception as exc:
                self._failed("agent_actions_failed", exc)
                await asyncio.sleep(COMMAND_WAIT_S)

    async def carry_out(self, live: LiveStore, command: AgentCommand) -> None:
        """A supervisor's or an agent's action on one of this engine's agents (an agent's
        Call: its offer called); its result is recorded."""
        action, error = command.action, None
        try:
            if action.kind is AgentActionKind.CALL:
                await self._call_offer(action.agent)
            elif action.transfer is not None:
                await self._transfer(action, action.transfer)
            else:
                await self.pbx.agent_action(action)
        except PbxError as exc:
            error = str(exc)
        await live.finish_command(command.id, error)
        log.info(
            "agent_action",
            command_id=command.id,
            action=action.kind.value,
            queue=action.queue,
            agent=action.agent,
            transfer=action.transfer and f"{action.transfer.kind} {action.transfer.target}",
            error=error,
        )

    # -- preview --------------------------------------------------------------------------------

    def _preview_phones(self) -> set[str]:
        """The agents' phones on this engine's preview calls."""
        return {
            a.agent_phone
            for a in self.attempts.values()
            if a.agent_phone is not None and not a.events.ended
        }

    async def _offer_previews(self, preview: PreviewStore) -> None:
        """Offers a contact to each ready agent whose phone is free, then pauses each ready
        agent in its queues while it holds an offer and unpauses it when it holds none."""
        await preview.withdraw_offers()
        now = self._clock()
        campaigns: dict[int, Campaign] = {
            cid: run.campaign
            for cid, run in self.runs.items()
            if cid in self._active and self._pacing.paces(cid, now)
        }
        agents = await preview.ready_agents(list(campaigns))
        if not agents:
            return
        members = {
            c.queue: self.pbx.queue_members(c.queue, now) for c in campaigns.values() if c.queue
        }
        calling = self._preview_phones()
        offered = {a.user_id for a in agents if a.has_offer}
        for want in reservations(agents, campaigns, members, calling):
            if await self._reserve(preview, want, campaigns):
                offered.add(want.agent.user_id)
        for action in pause_moves(agents, offered, campaigns, members, calling):
            try:
                await self.pbx.agent_action(action)
            except PbxError as exc:
                log.warning(
                    "preview_pause_failed", agent=action.agent, queue=action.queue, error=str(exc)
                )

    async def _reserve(
        self, preview: PreviewStore, want: Reservation, campaigns: dict[int, Campaign]
    ) -> bool:
        """Claims a contact for the agent and offers it; one outside its call window goes back
        until the window opens, and the next is claimed."""
        now = self._now()
        for _ in range(PREVIEW_CLAIMS):
            claim = await preview.claim_for_agent(
                want.agent.user_id, want.callback_campaigns, want.preview_campaigns
            )
            if claim is None:
                return False
            contact, campaign = claim.contact, campaigns[claim.campaign_id]
            slot = pick_slot(contact.slots, contact.next_number)
            if slot is None:  # every number it has left is on a do-not-call list
                await stop_dnc(self.store, campaign.id, [contact])
                continue
            number = contact.slots[slot].number
            assert number is not None
            where = callee(number, campaign.timezone)
            window = CallWindow.of(campaign)
            if not window.is_open(now, *where):
                await self.store.release([(contact.id, window.next_opening(now, *where))])
                continue
            if not await preview.offer(want.agent, claim, slot, number):
                await self.store.release([(contact.id, now)])  # it has one by now
                return False
            log.info(
                "preview_offered",
                campaign_id=campaign.id,
                contact_id=contact.id,
                agent=want.agent.endpoint,
                callback=claim.callback,
            )
            return True
        return False

    async def _call_offer(self, agent: str) -> None:
        """The agent pressed Call: its offer's attempt is written and the callee leg
        originated as any attempt, bridged to the agent's phone once answered. The agent is
        paused in its queues first (a manual call's offer is not yet)."""
        if self.preview is None:
            raise PbxRefused("call", "this dialer makes no preview calls")
        offer = await self.preview.offer_of(agent)
        if offer is None or offer.instance_id != self.store.instance_id:
            raise PbxRefused("call", "nothing is offered to you by this dialer")
        if offer.attempt_id is not None:
            raise PbxRefused("call", "that contact is being called already")
        run = self.runs.get(offer.campaign_id)
        if run is None or offer.campaign_id not in self._active or not self.pbx.ready:
            raise PbxRefused("call", "that campaign does not dial now")
        now = self._clock()
        for queue in dict.fromkeys(r.campaign.queue for r in self.runs.values()):
            for m in self.pbx.queue_members(queue, now):
                if m.interface == agent and m.pause_reason != PREVIEW_REASON:
                    await self.pbx.agent_action(
                        AgentAction(AgentActionKind.PAUSE, queue, agent, PREVIEW_REASON)
                    )
        async with self._lock:
            started = await self.store.start_attempts(
                [(offer.contact_id, offer.number, offer.slot)],
                caller_id_number(run.campaign.caller_id),
                self._pbx_name,
            )
            if not started:
                raise PbxRefused(
                    "call",
                    "that contact cannot be called now (locked, closed, or its number is on a "
                    "do-not-call list)",
                )
            [s] = started
            attempt = Attempt(
                AttemptEvents(s.id, started=s.started),
                run.campaign.id,
                s.contact_id,
                offer.slot,
                offer.number,
                agent_phone=agent,
            )
            self.attempts[attempt.id] = run.attempts[attempt.id] = attempt
            await self.preview.calling(offer.user_id, attempt.id)
        call = DueCall(offer.contact_id, offer.number, offer.slot)
        if not await self._originate(run, attempt, call):
            raise PbxRefused("call", "the call did not go out: its attempt says why")
        await self.store.mark_dialing([attempt.id])

    async def _transfer(self, action: AgentAction, transfer: Transfer) -> None:
        """An agent's transfer of the call it is on: only that call, only while the agent is
        on it, and once."""
        attempt = self.attempts.get(transfer.attempt_id)
        if attempt is None or attempt.events.ended or attempt.events.dt_agent_connect is None:
            raise PbxRefused("transfer", "that call is over")
        e = attempt.events
        if e.agent != action.agent:
            raise PbxRefused("transfer", f"{action.agent} is not on that call")
        if e.transferred:
            raise PbxRefused("transfer", "that call was transferred already")
        run = self.runs.get(attempt.campaign_id)
        if run is None:
            raise PbxRefused("transfer", "that call's campaign is not dialled here")
        exten, variables = transfer_request(run.campaign, transfer)
        await self.pbx.transfer(action, exten, variables)

    # -- AMI loss and reconciliation ----------------------------------------------------------

    def on_lost(self) -> None:
        self._reconciled.clear()
        # The AMI connection says why (ami_lost: a warning unless dialerd is stopping); here
        # the news is calls whose end may go unseen until the reconciliation.
        level = log.warning if self.attempts else log.info
        level("dialer_paused_ami_lost", calls=len(self.attempts))

    async def on_ready(self) -> None:
        """After every (re)login, once LiveState has resynced: reconcile, then dial again."""
        async with self._lock:
            for attempt in list(self.attempts.values()):
                channels = self.pbx.attempt_channels(attempt.id)
                if channels:
                    # Still ringing or talking. Its channel was made while we were not
                    # looking: a failure that follows is the callee's, not a dead trunk's.
                    attempt.events.channel_created = True
                    self._seen_in_resync(attempt.events, channels)
                    continue
                # Its failure's Hangup grace is running, or its Originate is still to be tried.
                if attempt.failed_at is not None or not attempt.originate_tried:
                    continue
                run = self.runs.get(attempt.campaign_id)
                if run is not None and not attempt.stats_answer_fed:
                    # Unanswered or answered, it ended unseen: fed as unanswered, with the
                    # outage in its ring time, it would lower the answer rate the pacer
                    # dials by just when the AMI is back.
                    run.feed.withdrawn(attempt.id)
                self._close(attempt)  # ended while we were not looking: what is known
        await self.reconcile()
        self._reconciled.set()

    async def reconcile(self) -> None:
        """Open attempts in the database that nobody follows — ours after a crash, or a dead
        sibling's whose lease expired — are taken over: followed if their channel still
        exists, else closed. Runs after every (re)login and now and then."""
        await self._flush_closes()  # else what was just closed looks open
        async with self._lock:
            for found in await self.store.take_over_open_attempts(self._pbx_name):
                if found.id not in self.attempts and found.id not in self._unwritten:
                    self._adopt(found)
        await self._flush_closes()

    def _seen_in_resync(self, events: AttemptEvents, channels: list[Channel]) -> bool:
        """What the live state shows of the attempt's own (the callee's) channel among
        ``channels``: its name, and an answer its events did not show (answered while the
        AMI was away, or before a crash). False if that channel is not there."""
        own = next((c for c in channels if c.uniqueid == channel_id(events.attempt_id)), None)
        if own is None:
            return False
        events.channel = events.channel or own.name
        if own.state == "Up" and events.dt_connect is None:
            events.dt_connect = self._now()
        return True

    def _adopt(self, found: OpenAttempt) -> None:
        events = AttemptEvents(found.id, started=found.started)
        attempt = Attempt(events, found.campaign_id, found.contact_id, found.slot)
        self.attempts[found.id] = attempt
        run = self.runs.get(found.campaign_id)
        if run is not None:
            run.attempts[found.id] = attempt
        if self._seen_in_resync(events, self.pbx.attempt_channels(found.id)):
            log.info(
                "attempt_adopted",
                campaign_id=found.campaign_id,
                contact_id=found.contact_id,
                attempt_id=found.id,
                channel=events.channel,
            )
            return
        # Gone, and what happened is unknown (for "pending" not even whether it went out).
        self._close(attempt, detail=f"RECONCILED: NO CHANNEL ({found.status})")


def _utc_offset_s(zone: str, now: datetime) -> float:
    try:
        offset = now.astimezone(ZoneInfo(zone)).utcoffset()
    except (KeyError, ValueError):
        return 0.0
    return offset.total_seconds() if offset else 0.0
