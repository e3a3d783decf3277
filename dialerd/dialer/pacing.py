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

import itertools
import math
import operator
from bisect import bisect_right
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Protocol

from dialerd.domain import AgentsView, DialMode

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
_LIVE, _MACHINE, _UNANSWERED = range(3)
# The answer rate of the calls placed lately (see CallStats): its memory, and when it
# replaces the longer estimate (a difference of CHANGE_Z standard errors, with at least
# CHANGE_MIN_OUTCOMES live ring times known and enough calls placed lately).
FRESH_HALF_LIFE_S = 20.0
FRESH_WINDOW_S = 120
CHANGE_Z = 3.0
CHANGE_MIN_OUTCOMES = 20


class CallStats:
    """A campaign's live measurements. The engine and the simulator feed it through one
    :class:`~dialerd.dialer.feed.StatsFeed`, which makes these calls: :meth:`placed` (or,
    for a call that went nowhere, :meth:`withdrawn`), then exactly one of :meth:`answered`
    (a live answer), :meth:`machine` or :meth:`unanswered` (no answer, busy, failure); for a
    live answer then :meth:`connected` or :meth:`abandoned`; for a connected call, when the
    agent is ready again, :meth:`handled`.

    Abandon rate = abandoned / live answers (machines excluded), over two periods: the
    rolling window (``window_s``, default 30 days, kept in ``window_s / 720`` buckets) and
    the current day. Day boundaries are at the multiples of 86 400 s of
    ``t + day_offset_s``: with epoch seconds and the campaign's UTC offset as
    ``day_offset_s`` that is local midnight; the simulator starts its clock at 0.

    The answer rate, ring and handle times follow recent behaviour (decaying with
    ``half_life_s``; the last ``sample_size`` durations). The answer rate also has a short
    memory, by when calls were *placed* rather than when they ended: the live answers of
    the calls placed in the last seconds (weights halving every ``FRESH_HALF_LIFE_S``) over
    the live answers those calls would have given by now at a rate of 1 (each call weighed
    by the share of live answers that come within its age). Unanswered calls end last (they
    ring out), so a rate by end time mixes in the older calls for half a minute and more;
    this one sees a jump of the answer rate (a fresh list, a new hour of the day) within
    about one ring time. Where it differs from the longer estimate by more than
    ``CHANGE_Z`` standard errors, it is the answer rate.
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
        self._recent = _Decayed(half_life_s, 3)
        self._fresh: deque[list[int]] = deque()  # [second placed, calls, live answers]
        self._answer_rate_at: tuple[float, int, float] | None = None  # (now, events, rate)
        self._changed_at = -math.inf  # when the answer rate last jumped
        self.talk_times = _Sample(sample_size)
        self.wrapup_times = _Sample(sample_size)
        self.live_ring_times = _Sample(sample_size)
        self.ring_times = _Sample(sample_size)  # of every outcome
        self.waits = _Sample(sample_size)
        self.outcomes = 0  # every answered/machine/unanswered ever seen
        self.live_answers = 0
        self.placed_calls = 0
        self.abandoned_calls = 0

    # -- events -----------------------------------------------------------------------------

    def placed(self, t: float) -> None:
        self.placed_calls += 1
        second = math.floor(t)
        if not self._fresh or self._fresh[-1][0] < second:
            self._fresh.append([second, 0, 0])
            while second - self._fresh[0][0] > FRESH_WINDOW_S:
                self._fresh.popleft()
        self._fresh[-1][1] += 1

    def withdrawn(self, placed_at: float) -> None:
        """A call :meth:`placed` at ``placed_at`` went nowhere (nobody was called)."""
        self.placed_calls -= 1
        second = math.floor(placed_at)
        for bucket in reversed(self._fresh):
            if bucket[0] <= second:
                if bucket[0] == second and bucket[1] > 0:
                    bucket[1] -= 1
                break

    def answered(self, t: float, ring_time: float) -> None:
        """A live answer after ``ring_time`` s of ringing; it now needs an agent."""
        self._outcome(t, _LIVE, ring_time)
        self.live_answers += 1
        self.live_ring_times.add(ring_time)
        placed_at = math.floor(t - ring_time)
        for bucket in reversed(self._fresh):
            if bucket[0] <= placed_at:
                if bucket[0] == placed_at:
                    bucket[2] += 1
                break
        self._count(t, 0)

    def machine(self, t: float, ring_time: float) -> None:
        self._outcome(t, _MACHINE, ring_time)

    def unanswered(self, t: float, ring_time: float) -> None:
        self._outcome(t, _UNANSWERED, ring_time)

    def connected(self, t: float, wait: float) -> None:
        """An agent took a live answer ``wait`` s after it was answered."""
        self.waits.add(wait)

    def abandoned(self, t: float) -> None:
        self.abandoned_calls += 1
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
        ``window_s`` after ``now``: older history is kept too long, which only errs on the
        cautious side when the past was worse than the present. Call it before feeding
        events.
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
        while there is little data; the last minutes' share when it differs from that by
        more than ``CHANGE_Z`` standard errors, and for ``FRESH_WINDOW_S`` after that, while
        it restarts the longer memory from that share (which must not fall back to the old
        rate while the calls placed before the change still end)."""
        events = self.placed_calls + self.outcomes
        cached = self._answer_rate_at
        if cached is not None and cached[0] == now and cached[1] == events:
            return cached[2]
        rate = self._answer_rate(now)
        self._answer_rate_at = (now, events, rate)
        return rate

    def _answer_rate(self, now: float) -> float:
        """answer_rate, worked out (the pacer asks several times a tick)."""
        self._recent.decay_to(now)
        v = self._recent.values
        total = v[_LIVE] + v[_MACHINE] + v[_UNANSWERED]
        rate = (v[_LIVE] + self._prior_rate * self._prior_weight) / (total + self._prior_weight)
        if len(self.live_ring_times) < CHANGE_MIN_OUTCOMES:
            return rate
        ring_times = self.live_ring_times.sorted()
        n_ring = len(ring_times)
        decay = math.log(2) / FRESH_HALF_LIFE_S
        exposure = live = 0.0
        for second, calls, answers in self._fresh:
            age = now - second
            weight = math.exp(-decay * age)
            exposure += weight * calls * bisect_right(ring_times, age) / n_ring
            live += weight * answers
        if exposure < CHANGE_MIN_OUTCOMES * math.exp(-decay * FRESH_HALF_LIFE_S):
            return rate
        fresh = min(1.0, live / exposure)
        if abs(fresh - rate) > CHANGE_Z * math.sqrt(rate * (1.0 - rate) / exposure):
            self._changed_at = now
        elif now - self._changed_at > FRESH_WINDOW_S:
            return rate
        # As if the longer memory had seen only `exposure` outcomes, at the fresh share.
        weight = self._prior_weight
        total = max(exposure, weight)
        live = min(total, max(0.0, fresh * (total + weight) - self._prior_rate * weight))
        not_live = v[_MACHINE] + v[_UNANSWERED]
        machine_share = v[_MACHINE] / not_live if not_live else 0.0
        v[_LIVE] = live
        v[_MACHINE] = (total - live) * machine_share
        v[_UNANSWERED] = (total - live) * (1.0 - machine_share)
        return fresh

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

    # -- internals --------------------------------------------------------------------------

    def _outcome(self, t: float, kind: int, ring_time: float) -> None:
        self.outcomes += 1
        self._recent.add(t, kind)
        self.ring_times.add(ring_time)

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


class _Cdf:
    """A sample's distribution at one-second steps, for fast lookups up to ``reach``
    seconds past the sample's largest value."""

    def __init__(self, sample: _Sample, default_mean: float, reach: int) -> None:
        values = sample.sorted()
        n = max(len(values), 1)
        self.last = math.ceil(values[-1]) + 1
        self.table = [bisect_right(values, k) / n for k in range(self.last + 1)]
        self.table += [1.0] * reach
        self.mean = max(sample.mean(default_mean), 1.0)
        self.tail = 5 / n  # below this share left, the sample says too little
        self._rows: dict[int, list[float]] = {}

    def at(self, seconds: float) -> float:
        return self.table[min(self.last, max(0, int(seconds)))]

    def done_within(self, elapsed: float, within: list[int]) -> list[float]:
        """P(duration <= elapsed + w | duration > elapsed) for each w (0 <= w <= reach);
        past the sample's tail, a memoryless guess from its mean. Remembered per whole
        second of ``elapsed``: agents pass through the same seconds, and ``within`` is
        the same list until the table is rebuilt."""
        i = int(elapsed)
        row = self._rows.get(i)
        if row is None:
            left = 1.0 - self.table[i] if i < self.last else 0.0
            if left < self.tail:
                row = [1.0 - math.exp(-w / self.mean) for w in within]
            else:
                table, base, scale = self.table, self.table[i], 1.0 / left
                row = [(table[i + w] - base) * scale for w in within]
            self._rows[i] = row
        return row


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


class PreviewPacer:
    """No paced calls: in a preview campaign the agent places each call itself (the engine
    reserves a contact for a ready agent instead: ``dialerd/dialer/preview.py``)."""

    def calls_to_place(self, snap: PacingSnapshot) -> int:
        return 0


# Predictive tuning. Evidence needed before leaving progressive behaviour:
MIN_OUTCOMES = 30
MIN_LIVE_ANSWERS = 10
MIN_HANDLED = 10
# The abandon budget is spread over this much of the coming time; much shorter plans
# overreact to a burst of abandons and fall back to progressive for long spells.
PLAN_S = 3600.0
EVIDENCE_Z = 1.5  # margin below the limit, in standard errors of the measured rate
MIN_TARGET_SHARE = 0.4  # ...but the target never drops below this share of the limit
MIN_MARGIN_SHARE = 0.15  # ...nor rises above 85% of it: the budget is tracked, not hit
MAX_ALLOWANCE_SHARE = 2.0  # cap on the per-tick abandon allowance, as a share of the limit
LOSS_HORIZON_QUANTILE = 0.95  # the loss is checked up to this quantile of live ring times
LOSS_POINTS = 6  # ...at about this many points
TABLES_REFRESH_S = 60.0
CALIBRATION_HALF_LIFE_S = 3600.0
CALIBRATION_PRIOR = 3.0  # abandons' worth of belief in the model as it is
CALIBRATION_MAX = 4.0
CALIBRATION_GAP_S = 60.0  # a longer pause between ticks: the pacer was not in charge


class PredictivePacer:
    """Places a call when the chance that it becomes a live answer no agent is ready for
    stays within what the abandon budget allows.

    Each tick: (1) the *allowance* is the abandon rate the campaign may run at for the next
    ``PLAN_S`` seconds without its rate over the rolling window or today exceeding a
    target set below the limit by a margin that shrinks as answers accumulate (1.5
    standard errors of the measured rate, at least 15% of the limit). The coming hour's
    answers are counted at the pace the agents can take them, so that a spell over the
    target is paid back at a lower rate, not by an hour of progressive dialling. It
    shrinks as the measured rate rises, is 0 once the budget is spent and 0 at the limit,
    which makes the pacer back off before the limit, not after.
    (2) At points τ every few seconds up to the 95th percentile of the recent ring times of
    live answers, demand D(τ) is the waiting calls plus the live answers expected by τ
    from the calls already ringing and from the new ones; supply S(τ) is the agents ready
    by τ plus the agent timeout, given how long each has been talking or in wrap-up
    (:meth:`_agents_ready`). The ringing calls' answers are timed from the pacer's own
    recent placements (their ages), scaled to the calls actually ringing: a young pool
    answers sooner and more often than a steady one. (3) The n-th new call is abandoned
    if it is answered at some τ with D(τ) ≥ S(τ) before it; that probability (normal
    approximation, weighted by when a new call is answered) must stay within the
    allowance. It places the most calls that pass, never fewer than progressive and never
    more than ``max_lines_per_agent`` per available agent in flight.

    Too little data, a spent budget, or a small team whose spread of outcomes makes even
    one extra call too risky all end in progressive behaviour.
    """

    def __init__(self) -> None:
        self._placed: deque[tuple[float, int]] = deque()  # own recent decisions
        self._tables_at = -math.inf
        # Set by _refresh_tables before first use.
        self._talk: _Cdf
        self._wrapup: _Cdf
        self._any_ring_survival: list[float]  # P(a call of any outcome rings > k s)
        self._answer_shares: list[list[float]]  # [age][τ]: P(live answer in (age, age + τ])
        self._taus: list[int]  # the points τ ahead at which supply and demand are compared
        self._new_by: list[float]  # share of a new call's live answers by each τ
        self._covered: float
        # Abandons the model expected of the calls placed and abandons seen, decayed: their
        # ratio corrects the model's level (see _calibration).
        self._expected_seen = _Decayed(CALIBRATION_HALF_LIFE_S, 2)
        self._abandons_counted: tuple[float, int] | None = None  # (when, stats.abandoned_calls)

    def calls_to_place(self, snap: PacingSnapshot) -> int:
        self._count_abandons(snap.stats, snap.now)
        n = self._decide(snap)
        if n > 0:
            self._placed.append((snap.now, n))
        return n

    def _decide(self, snap: PacingSnapshot) -> int:
        agents, settings, stats = snap.agents, snap.settings, snap.stats
        if not _can_dial(agents):
            return 0
        floor = max(0, agents.free - snap.in_flight)
        ceiling = math.floor(settings.max_lines_per_agent * agents.available) - snap.in_flight
        if ceiling <= floor or not _enough_evidence(stats):
            return floor
        allowance = self.allowance(snap)
        if allowance <= 0.0:
            return floor

        p_abandon = self._abandon_probability(snap)
        calibration = self._calibration()

        def within(n: int) -> bool:
            return calibration * p_abandon(n) <= allowance

        # Galloping from progressive (always allowed): the answer is usually a few calls.
        lo, hi, step = floor, ceiling, 1
        while lo + step <= ceiling and within(lo + step):
            lo, step = lo + step, step * 2
        hi = min(ceiling, lo + step - 1)
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if within(mid):
                lo = mid
            else:
                hi = mid - 1
        self._expected_seen.add(snap.now, 0, stats.answer_rate(snap.now) * _sum_to(p_abandon, lo))
        return lo

    def _count_abandons(self, stats: CallStats, now: float) -> None:
        """The abandons since the last tick; none from before the pacer was first asked or
        from a spell in another mode (they are not of calls this model placed)."""
        last = self._abandons_counted
        if last is not None and now - last[0] <= CALIBRATION_GAP_S:
            self._expected_seen.add(now, 1, stats.abandoned_calls - last[1])
        self._abandons_counted = (now, stats.abandoned_calls)

    def _calibration(self) -> float:
        """Abandons seen over abandons the model expected of the calls it placed, lately,
        from 1 while there are few."""
        expected, seen = self._expected_seen.values
        ratio = (seen + CALIBRATION_PRIOR) / (expected + CALIBRATION_PRIOR)
        return min(max(ratio, 1.0 / CALIBRATION_MAX), CALIBRATION_MAX)

    def _abandon_probability(self, snap: PacingSnapshot) -> Callable[[int], float]:
        """P(the n-th new call, if it is a live answer, finds no agent), as a function of n."""
        agents, settings, stats, now = snap.agents, snap.settings, snap.stats, snap.now
        self._refresh_tables(stats, now, settings.agent_timeout_s)
        p_new = stats.answer_rate(now)
        supply, supply_var = self._agents_ready(agents, settings.agent_timeout_s)
        pool, pool_var = self._ringing_answers(now, snap.calls_ringing, p_new)
        waiting = snap.calls_waiting
        segments = [  # demand minus supply, its variance, new calls' answers by τ and within
            (waiting + d - s, v + s_var, p_new * by, (by - prev) / self._covered)
            for d, v, s, s_var, by, prev in zip(
                pool,
                pool_var,
                supply,
                supply_var,
                self._new_by,
                [0.0, *self._new_by[:-1]],
                strict=True,
            )
        ]

        @cache
        def p_abandon(n: int) -> float:
            ahead = n - 1
            p_abandon = 0.0
            for excess, var, q, share in segments:
                sd = math.sqrt(var + ahead * q * (1.0 - q) + 1e-9)
                p_abandon += share * _normal_cdf((excess + ahead * q + 0.5) / sd)
            return p_abandon

        return p_abandon

    def _agents_ready(self, agents: AgentsView, timeout: float) -> tuple[list[float], list[float]]:
        """Mean and variance of how many agents are ready by each point τ plus the agent
        timeout: the free ones, each talking agent by the rest of their talk and a typical
        wrap-up, each agent in wrap-up by the rest of it, given how long they have been at
        it."""
        horizons = [int(tau + timeout) for tau in self._taus]
        talk_horizons = [max(0, h - round(self._wrapup.mean)) for h in horizons]
        rows = [self._talk.done_within(e, talk_horizons) for e in agents.talking_for]
        rows += [self._wrapup.done_within(e, horizons) for e in agents.wrapup_for]
        if not rows:
            return [float(agents.free)] * len(horizons), [0.0] * len(horizons)
        columns = list(zip(*rows, strict=True))
        means = [agents.free + sum(c) for c in columns]
        variances = [sum(c) - sum(map(operator.mul, c, c)) for c in columns]
        return means, variances

    def _ringing_answers(
        self, now: float, ringing: int, p_live: float
    ) -> tuple[list[float], list[float]]:
        """Mean and variance of the live answers the ringing calls give by each point τ,
        from the ages of the pacer's recent placements, scaled to the calls ringing."""
        shares, survival = self._answer_shares, self._any_ring_survival
        oldest = len(shares) - 1
        while self._placed and now - self._placed[0][0] > oldest:
            self._placed.popleft()
        ages = [(int(now - t), n) for t, n in self._placed]
        expected = sum(n * survival[age] for age, n in ages)
        if expected <= 0.5:
            return [0.0] * len(self._taus), [0.0] * len(self._taus)
        scale = min(ringing / expected, 3.0) * p_live
        rows = [[n * scale * d for d in shares[age]] for age, n in ages]
        means = [sum(c) for c in zip(*rows, strict=True)]
        # A sum of Bernoulli draws; its Poisson variance (= mean) errs on the cautious side.
        return means, means

    def _refresh_tables(self, stats: CallStats, now: float, timeout: float) -> None:
        """Duration tables and the points τ, redone every ``TABLES_REFRESH_S``: durations
        drift slowly and this walks the whole samples."""
        if now - self._tables_at < TABLES_REFRESH_S:
            return
        self._tables_at = now
        last = stats.live_ring_times.quantile(LOSS_HORIZON_QUANTILE, 15.0)
        step = max(1, math.ceil(last / LOSS_POINTS))
        self._taus = list(range(step, math.ceil(last) + step, step))
        reach = self._taus[-1] + math.ceil(timeout) + 1
        self._talk = _Cdf(stats.talk_times, 120.0, reach)
        self._wrapup = _Cdf(stats.wrapup_times, 0.0, reach)
        live = _Cdf(stats.live_ring_times, 15.0, reach)
        every = _Cdf(stats.ring_times, 15.0, 0)
        self._any_ring_survival = [1.0 - every.at(age) for age in range(live.last + 1)]
        self._answer_shares = [
            [live.at(age + tau) - live.at(age) for tau in self._taus]
            for age in range(live.last + 1)
        ]
        self._new_by = [live.at(tau) for tau in self._taus]
        self._covered = max(self._new_by[-1], 1e-9)

    def allowance(self, snap: PacingSnapshot) -> float:
        """The abandon rate the coming calls may have, from the budget left."""
        settings, stats, now = snap.settings, snap.stats, snap.now
        limit = settings.abandon_limit
        # The answers of the coming hour at the pace the campaign's agents can take them, not
        # at the recent rate only: after a spell of backing off that rate is low, and a plan
        # built on it would keep the pacer progressive long after the budget has recovered.
        handle = stats.talk_times.mean(120.0) + stats.wrapup_times.mean(0.0)
        capacity = snap.agents.available / max(handle, 1.0)
        coming = max(max(stats.live_answers_per_s(now), capacity) * PLAN_S, 1.0)
        allowance = MAX_ALLOWANCE_SHARE * limit
        for answered, abandoned in (stats.window_counts(now), stats.today_counts(now)):
            if answered and abandoned >= limit * answered:
                return 0.0
            margin = EVIDENCE_Z * math.sqrt(limit * (1.0 - limit) / max(answered, 1))
            margin = min(max(margin, MIN_MARGIN_SHARE * limit), (1.0 - MIN_TARGET_SHARE) * limit)
            target = limit - margin
            budget = target * (answered + coming) - abandoned
            allowance = min(allowance, budget / coming)
        return max(0.0, allowance * settings.aggressiveness)


def _sum_to(f: Callable[[int], float], last: int, points: int = 8) -> float:
    """f(1) + ... + f(last) for a smooth f; past ``points`` terms, by the trapezoid rule
    on about that many of them (f is a probability rising with n: the error is small)."""
    if last <= points:
        return sum(f(n) for n in range(1, last + 1))
    ns = sorted({1 + round(i * (last - 1) / (points - 1)) for i in range(points)})
    total = 0.0
    for a, b in itertools.pairwise(ns):
        total += (f(a) + f(b)) * (b - a) / 2.0
    return total + (f(ns[0]) + f(ns[-1])) / 2.0


def _enough_evidence(stats: CallStats) -> bool:
    return (
        stats.outcomes >= MIN_OUTCOMES
        and stats.live_answers >= MIN_LIVE_ANSWERS
        and len(stats.talk_times) >= MIN_HANDLED
    )


def _normal_cdf(z: float) -> float:
    return 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))


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
            DialMode.PREVIEW: PreviewPacer(),
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
