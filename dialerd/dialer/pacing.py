"""Pacing: how many calls a campaign should place now.

Pure: no I/O, no asyncio, no clock. Time is passed in as float seconds on one clock the
caller chooses; the only place where the clock's origin matters is the "current day" of
:class:`CallStats` (see there). The engine and ``dialerd simulate`` use the very same
classes: each tick they build a :class:`PacingSnapshot` and ask the campaign's pacer.

Terms:

- *live answer*: a call answered by a person (or by a machine AMD took for a person), i.e.
  one that needs an agent. Machines that AMD recognised are not live answers.
- *abandon*: a live answer that no agent took within ``agent_timeout_s`` (it hears a message
  and is hung up), or whose callee hung up while waiting for an agent.
- *abandon rate*: abandoned / live answers. Machines are excluded from both.
- *in flight*: calls placed and not yet with an agent or ended (ringing + waiting).
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import deque
from dataclasses import dataclass
from typing import Protocol

from dialerd.domain import DialMode

DAY_S = 86_400.0


@dataclass(frozen=True)
class PacingSettings:
    """A campaign's pacing parameters; 1:1 with the campaigns table columns
    (dial_mode, dial_ratio, max_lines_per_agent, abandon_limit, aggressiveness,
    agent_timeout_s)."""

    mode: DialMode
    ratio: float = 1.5  # ratio mode: lines per free agent
    max_lines_per_agent: float = 3.0  # predictive: calls in flight per available agent, at most
    abandon_limit: float = 0.03  # share of live answers that may be abandoned
    aggressiveness: float = 1.0  # predictive: >1 spends the abandon budget faster, <1 slower
    agent_timeout_s: float = 2.0  # a live answer no agent takes within this is abandoned


@dataclass(frozen=True)
class AgentsView:
    """The campaign's agents right now. ``logged_in = free + talking + wrapup + paused``."""

    logged_in: int
    free: int
    talking: int
    wrapup: int
    paused: int
    talking_for: tuple[float, ...] = ()  # seconds each talking agent has been talking
    wrapup_for: tuple[float, ...] = ()  # seconds each agent in wrap-up has been in it

    @property
    def available(self) -> int:
        """Logged-in agents that are not paused."""
        return self.logged_in - self.paused


class _Sample:
    """The most recent observations of a duration, with an on-demand sorted copy."""

    def __init__(self, size: int) -> None:
        self._values: deque[float] = deque(maxlen=size)
        self._sorted: list[float] | None = None
        self._total = 0.0

    def add(self, value: float) -> None:
        if len(self._values) == self._values.maxlen:
            self._total -= self._values[0]
        self._values.append(value)
        self._total += value
        self._sorted = None

    def __len__(self) -> int:
        return len(self._values)

    def mean(self, default: float) -> float:
        return self._total / len(self._values) if self._values else default

    def sorted(self) -> list[float]:
        if self._sorted is None:
            self._sorted = sorted(self._values)
        return self._sorted

    def quantile(self, q: float, default: float) -> float:
        values = self.sorted()
        return values[min(len(values) - 1, int(q * len(values)))] if values else default


class _Decayed:
    """Counts that decay exponentially with time, so read-outs follow recent behaviour."""

    def __init__(self, half_life_s: float, size: int) -> None:
        self._rate = math.log(2) / half_life_s
        self.values = [0.0] * size
        self._t: float | None = None

    def decay_to(self, t: float) -> None:
        if self._t is not None and t > self._t:
            factor = math.exp(-self._rate * (t - self._t))
            self.values = [v * factor for v in self.values]
        if self._t is None or t > self._t:
            self._t = t

    def add(self, t: float, index: int, amount: float = 1.0) -> None:
        self.decay_to(t)
        self.values[index] += amount

    def per_second(self, index: int) -> float:
        """The recent event rate: a decayed count settles at rate / decay-rate."""
        return self.values[index] * self._rate


# Indexes into CallStats._recent.
_LIVE, _MACHINE, _UNANSWERED, _LIVE_RING, _ALL_RING = range(5)


class CallStats:
    """A campaign's live measurements, fed the same way by the engine and the simulator.

    Feed it every event of every call: :meth:`placed`, then exactly one of :meth:`answered`
    (a live answer), :meth:`machine` or :meth:`unanswered` (no answer, busy, failure); for a
    live answer then :meth:`connected` or :meth:`abandoned`; for a connected call, when the
    agent is ready again, :meth:`handled`.

    Abandon rate = abandoned / live answers (machines excluded), over two periods: the
    rolling window (``window_s``, default 30 days, kept in ``window_s / 720`` buckets) and
    the current day. Day boundaries are at the multiples of 86 400 s of
    ``t + day_offset_s``: with epoch seconds and the campaign's UTC offset as
    ``day_offset_s`` that is local midnight; the simulator starts its clock at 0.

    The answer rate, ring and handle times follow recent behaviour (decaying with
    ``half_life_s``; the last ``sample_size`` durations), so pacing adapts within minutes.
    """

    def __init__(
        self,
        *,
        window_s: float = 30 * DAY_S,
        day_offset_s: float = 0.0,
        half_life_s: float = 600.0,
        sample_size: int = 400,
        prior_answer_rate: float = 0.2,
        prior_weight: float = 20.0,
    ) -> None:
        self.window_s = window_s
        self.day_offset_s = day_offset_s
        self._bucket_s = window_s / 720
        self._buckets: deque[list[int]] = deque()  # [bucket index, answered, abandoned]
        self._window = [0, 0]  # answered, abandoned within the window
        self._day: int | None = None
        self._today = [0, 0]
        self._prior_rate = prior_answer_rate
        self._prior_weight = prior_weight
        self._recent = _Decayed(half_life_s, 5)
        self.talk_times = _Sample(sample_size)
        self.wrapup_times = _Sample(sample_size)
        self.live_ring_times = _Sample(sample_size)
        self.waits = _Sample(sample_size)
        self.outcomes = 0  # every answered/machine/unanswered ever seen
        self.live_answers = 0
        self.placed_calls = 0

    # -- events -----------------------------------------------------------------------------

    def placed(self, t: float) -> None:
        self.placed_calls += 1

    def answered(self, t: float, ring_time: float) -> None:
        """A live answer after ``ring_time`` s of ringing; it now needs an agent."""
        self._outcome(t, _LIVE, ring_time)
        self.live_answers += 1
        self.live_ring_times.add(ring_time)
        self._count(t, 0)

    def machine(self, t: float, ring_time: float) -> None:
        self._outcome(t, _MACHINE, ring_time)

    def unanswered(self, t: float, ring_time: float) -> None:
        self._outcome(t, _UNANSWERED, ring_time)

    def connected(self, t: float, wait: float) -> None:
        """An agent took a live answer ``wait`` s after it was answered."""
        self.waits.add(wait)

    def abandoned(self, t: float) -> None:
        self._count(t, 1)

    def handled(self, t: float, handle_time: float, wrapup_time: float = 0.0) -> None:
        """A connected call is finished: the agent is ready again after ``handle_time`` s
        (talk + wrap-up), ``wrapup_time`` s of which were wrap-up, if the caller knows."""
        self.talk_times.add(handle_time - wrapup_time)
        self.wrapup_times.add(wrapup_time)

    def restore(
        self,
        now: float,
        *,
        answered_window: int,
        abandoned_window: int,
        answered_today: int,
        abandoned_today: int,
    ) -> None:
        """Seed the abandon counts from history at start-up:
        ``restore(now, answered_window=, abandoned_window=, answered_today=, abandoned_today=)``.

        The ``*_window`` counts cover the rolling window up to ``now`` and include today's.
        They are added to the bucket of ``now`` and so leave the window as one block,
        ``window_s`` after ``now``: conservative, and exact again after a restart within a
        window. Call it before feeding events.
        """
        self._roll(now)
        self._buckets[-1][1] += answered_window
        self._buckets[-1][2] += abandoned_window
        self._window[0] += answered_window
        self._window[1] += abandoned_window
        self._today[0] += answered_today
        self._today[1] += abandoned_today

    # -- read-outs --------------------------------------------------------------------------

    def answer_rate(self, now: float) -> float:
        """Recent share of placed calls that became live answers, pulled towards the prior
        while there is little data."""
        self._recent.decay_to(now)
        v = self._recent.values
        total = v[_LIVE] + v[_MACHINE] + v[_UNANSWERED]
        return (v[_LIVE] + self._prior_rate * self._prior_weight) / (total + self._prior_weight)

    def ringing_live_share(self, now: float) -> float:
        """Share of the calls ringing now that will become live answers.

        A ringing pool holds each kind of call in proportion to its rate times its ring
        time (Little's law), so calls that ring long and are never answered are
        over-represented compared with :meth:`answer_rate`.
        """
        self._recent.decay_to(now)
        v = self._recent.values
        if v[_ALL_RING] <= 0.0:
            return self.answer_rate(now)
        return v[_LIVE_RING] / v[_ALL_RING]

    def live_answers_per_s(self, now: float) -> float:
        self._recent.decay_to(now)
        return self._recent.per_second(_LIVE)

    def window_counts(self, now: float) -> tuple[int, int]:
        """(live answers, abandoned) within the rolling window."""
        self._roll(now)
        return self._window[0], self._window[1]

    def today_counts(self, now: float) -> tuple[int, int]:
        """(live answers, abandoned) of the current day."""
        self._roll(now)
        return self._today[0], self._today[1]

    def abandon_rate_window(self, now: float) -> float:
        return _rate(*self.window_counts(now))

    def abandon_rate_today(self, now: float) -> float:
        return _rate(*self.today_counts(now))

    def p_free_within(self, talking_for: float, horizon: float) -> float:
        """Probability that an agent talking for ``talking_for`` s is ready within
        ``horizon`` s (the rest of the talk plus a typical wrap-up)."""
        needed = horizon - self.wrapup_times.mean(0.0)
        if needed <= 0.0:
            return 0.0
        return _conditional_done(self.talk_times, talking_for, needed)

    def p_wrapup_done_within(self, wrapup_for: float, horizon: float) -> float:
        if not self.wrapup_times.mean(0.0):
            return 1.0
        return _conditional_done(self.wrapup_times, wrapup_for, horizon)

    # -- internals --------------------------------------------------------------------------

    def _outcome(self, t: float, kind: int, ring_time: float) -> None:
        self.outcomes += 1
        self._recent.add(t, kind)
        self._recent.add(t, _ALL_RING, ring_time)
        if kind == _LIVE:
            self._recent.add(t, _LIVE_RING, ring_time)

    def _count(self, t: float, index: int) -> None:
        self._roll(t)
        self._buckets[-1][1 + index] += 1
        self._window[index] += 1
        self._today[index] += 1

    def _roll(self, t: float) -> None:
        day = math.floor((t + self.day_offset_s) / DAY_S)
        if self._day is None or day > self._day:
            if self._day is not None:
                self._today = [0, 0]
            self._day = day
        bucket = math.floor(t / self._bucket_s)
        if not self._buckets or self._buckets[-1][0] < bucket:
            self._buckets.append([bucket, 0, 0])
        while self._buckets[0][0] <= bucket - 720:
            _, answered, abandoned = self._buckets.popleft()
            self._window[0] -= answered
            self._window[1] -= abandoned


def _rate(answered: int, abandoned: int) -> float:
    return abandoned / answered if answered else 0.0


def _conditional_done(sample: _Sample, elapsed: float, within: float) -> float:
    """P(duration <= elapsed + within | duration > elapsed), from the sample; past the
    sample's tail, a memoryless guess from its mean."""
    values = sample.sorted()
    n = len(values)
    above = n - bisect_right(values, elapsed)
    if above < 5:
        return 1.0 - math.exp(-within / max(sample.mean(60.0), 1.0))
    done = bisect_right(values, elapsed + within) - (n - above)
    return done / above


@dataclass(frozen=True)
class PacingSnapshot:
    """Everything a pacer may look at, for one campaign at one tick."""

    now: float
    agents: AgentsView
    calls_ringing: int  # placed, not yet answered or ended
    calls_waiting: int  # live answers waiting for an agent
    stats: CallStats
    settings: PacingSettings

    @property
    def in_flight(self) -> int:
        return self.calls_ringing + self.calls_waiting


class Pacer(Protocol):
    """Decides how many calls to place now. May keep state between ticks; one per campaign.
    Must return 0 when no agent is logged in or all logged-in agents are paused."""

    def calls_to_place(self, snap: PacingSnapshot) -> int: ...


def _can_dial(agents: AgentsView) -> bool:
    return agents.logged_in > 0 and agents.available > 0


class ProgressivePacer:
    """One call per free agent, minus calls already in flight. Never abandons a call as
    long as agents stay: every live answer finds the agent it was placed for."""

    def calls_to_place(self, snap: PacingSnapshot) -> int:
        if not _can_dial(snap.agents):
            return 0
        return max(0, snap.agents.free - snap.in_flight)


class RatioPacer:
    """``settings.ratio`` lines per free agent, minus calls already in flight."""

    def calls_to_place(self, snap: PacingSnapshot) -> int:
        if not _can_dial(snap.agents):
            return 0
        lines = math.floor(snap.settings.ratio * snap.agents.free + 1e-9)
        return max(0, lines - snap.in_flight)


# Predictive tuning. Evidence needed before leaving progressive behaviour:
MIN_OUTCOMES = 30
MIN_LIVE_ANSWERS = 10
MIN_HANDLED = 10
PLAN_S = 900.0  # the abandon budget is spread over this much of the coming time
EVIDENCE_Z = 1.5  # margin below the limit, in standard errors of the measured rate
MIN_TARGET_SHARE = 0.4  # ...but the target never drops below this share of the limit
MAX_ALLOWANCE_SHARE = 2.0  # cap on the per-tick abandon allowance, as a share of the limit


class PredictivePacer:
    """Places calls so that the live answers expected over the next ring time match the
    agents expected to be free by then, overshooting only as far as the abandon budget
    allows.

    Each tick: (1) the *allowance* is the abandon rate the campaign may run at for the next
    ``PLAN_S`` seconds without its rate over the rolling window or today exceeding a
    target set below the limit by a margin that shrinks as answers accumulate; it is 0 at
    or above the target, which makes the pacer back off before the limit, not after.
    (2) Agent supply at the horizon (recent mean ring time of live answers + the agent
    timeout) is the free agents plus, for each talking or wrap-up agent, the probability
    that they are ready by then, from the recent talk and wrap-up samples given how long
    they have been at it. (3) Demand is the waiting calls, the ringing calls that will
    become live answers, and the new calls times the answer rate. With a normal
    approximation of supply minus demand, it places the most calls whose expected
    overflow (live answers no agent can take) stays within the allowance times the
    expected live answers, never fewer than progressive and never more than
    ``max_lines_per_agent`` per available agent in flight.

    Too little data, an exhausted budget or a small team whose variance eats the
    allowance all end in progressive behaviour.
    """

    def calls_to_place(self, snap: PacingSnapshot) -> int:
        agents, settings, stats, now = snap.agents, snap.settings, snap.stats, snap.now
        if not _can_dial(agents):
            return 0
        floor = max(0, agents.free - snap.in_flight)
        ceiling = math.floor(settings.max_lines_per_agent * agents.available) - snap.in_flight
        if ceiling <= floor or not _enough_evidence(stats):
            return floor
        allowance = self.allowance(snap)
        if allowance <= 0.0:
            return floor

        horizon = stats.live_ring_times.mean(15.0) + settings.agent_timeout_s
        ready = [stats.p_free_within(e, horizon) for e in agents.talking_for]
        ready += [stats.p_wrapup_done_within(w, horizon) for w in agents.wrapup_for]
        supply = agents.free + sum(ready)
        supply_var = sum(p * (1.0 - p) for p in ready)
        p_new = stats.answer_rate(now)
        p_ring = stats.ringing_live_share(now)
        demand0 = snap.calls_waiting + snap.calls_ringing * p_ring
        var0 = supply_var + snap.calls_ringing * p_ring * (1.0 - p_ring)

        def within(n: int) -> bool:
            demand = demand0 + n * p_new
            sd = math.sqrt(var0 + n * p_new * (1.0 - p_new))
            return _expected_excess(demand - supply, sd) <= allowance * demand

        lo, hi = floor, ceiling  # within(lo) is assumed: progressive is always allowed
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if within(mid):
                lo = mid
            else:
                hi = mid - 1
        return lo

    def allowance(self, snap: PacingSnapshot) -> float:
        """The abandon rate the coming calls may have, from the budget left."""
        settings, stats, now = snap.settings, snap.stats, snap.now
        limit = settings.abandon_limit
        coming = max(stats.live_answers_per_s(now) * PLAN_S, 1.0)
        allowance = MAX_ALLOWANCE_SHARE * limit
        for answered, abandoned in (stats.window_counts(now), stats.today_counts(now)):
            margin = EVIDENCE_Z * math.sqrt(limit * (1.0 - limit) / max(answered, 1))
            target = max(limit - margin, MIN_TARGET_SHARE * limit)
            budget = target * (answered + coming) - abandoned
            allowance = min(allowance, budget / coming)
        return max(0.0, allowance * settings.aggressiveness)


def _enough_evidence(stats: CallStats) -> bool:
    return (
        stats.outcomes >= MIN_OUTCOMES
        and stats.live_answers >= MIN_LIVE_ANSWERS
        and len(stats.talk_times) >= MIN_HANDLED
    )


def _expected_excess(mean: float, sd: float) -> float:
    """E[max(X, 0)] for X ~ N(mean, sd): with X = demand - supply, the expected number of
    live answers no agent can take."""
    if sd <= 1e-9:
        return max(mean, 0.0)
    z = mean / sd
    cdf = 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))
    pdf = math.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)
    return mean * cdf + sd * pdf


class CampaignPacer:
    """What :func:`make_pacer` returns: the pacer of the snapshot's current mode.

    Settings are read from each snapshot, so a change of any of them, the mode included,
    applies on the next tick; the engine keeps one ``CampaignPacer`` per campaign for its
    whole life and never needs to rebuild it. The predictive state survives mode changes.
    """

    def __init__(self) -> None:
        self._pacers: dict[DialMode, Pacer] = {
            DialMode.PROGRESSIVE: ProgressivePacer(),
            DialMode.RATIO: RatioPacer(),
            DialMode.PREDICTIVE: PredictivePacer(),
        }

    def calls_to_place(self, snap: PacingSnapshot) -> int:
        return self._pacers[snap.settings.mode].calls_to_place(snap)


def make_pacer(settings: PacingSettings) -> Pacer:
    """The pacer for a campaign; ``settings`` is the campaign's at creation (the pacer
    follows later changes through the snapshots)."""
    return CampaignPacer()


class RateLimiter:
    """Token bucket on call originations: ``rate_per_s`` on average, ``burst`` at once.
    Starts full."""

    def __init__(self, rate_per_s: float, burst: int) -> None:
        self.rate_per_s = rate_per_s
        self.burst = burst
        self._tokens = float(burst)
        self._t: float | None = None

    def take(self, now: float, n: int) -> int:
        """Take up to ``n`` tokens; returns how many calls may be placed now."""
        if self._t is not None and now > self._t:
            self._tokens = min(float(self.burst), self._tokens + (now - self._t) * self.rate_per_s)
        if self._t is None or now > self._t:
            self._t = now
        granted = max(0, min(n, math.floor(self._tokens + 1e-9)))
        self._tokens -= granted
        return granted


def apply_caps(wanted: int, *, in_flight: int, max_in_flight: int | None) -> int:
    """``wanted`` cut so that calls in flight stay within ``max_in_flight`` (None: no cap)."""
    if max_in_flight is not None:
        wanted = min(wanted, max_in_flight - in_flight)
    return max(0, wanted)
