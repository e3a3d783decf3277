"""A discrete-event simulation of one campaign day, with virtual time, for one pacer.

The pacer and the :class:`~dialerd.dialer.pacing.CallStats` it reads are the engine's own
classes; the simulation plays the PBX, the agents and the callees around them. Every
tick it builds a :class:`~dialerd.dialer.pacing.PacingSnapshot`, asks the pacer, applies
the engine's caps and places the calls.

Common random numbers: callee *i* (the i-th call placed) is the i-th draw of a stream
seeded by the scenario seed alone, so every pacer meets the same callees in the same
order; agent breaks come from a second stream of the same seed.
"""

from __future__ import annotations

import gc
import heapq
import itertools
import math
import random
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from dialerd.dialer.feed import StatsFeed
from dialerd.dialer.pacing import (
    CallStats,
    Pacer,
    PacingSettings,
    PacingSnapshot,
    RateLimiter,
    apply_caps,
)
from dialerd.domain import AgentsView, DialMode
from dialerd.simulator.scenario import Scenario, quantile

BIN_S = 300.0  # resolution of the rolling windows and of the plot


@dataclass(frozen=True, slots=True)
class Callee:
    """Everything random about one call, drawn whether or not it is needed."""

    u_answer: float  # answered if below the answer rate at the time the call is placed
    machine: bool
    amd_right: bool
    ring_time: float  # if answered
    failure_time: float  # if not answered: busy, congestion or no answer
    talk_time: float
    wrapup_time: float
    patience: float
    connect_delay: float  # from an agent taking the answered call to its connection


def callees(scenario: Scenario) -> Iterator[Callee]:
    """Callee 0, 1, 2, ...; what is drawn for callee i depends on the seed and on
    callee i's own earlier draws only, never on the time or the pacer."""
    rng = random.Random(f"{scenario.seed}:callees")
    sc = scenario
    ring, busy, congestion = (
        d.sampler(rng) for d in (sc.ring_time, sc.busy_time, sc.congestion_time)
    )
    talk, machine_talk = sc.talk_time.sampler(rng), sc.machine_talk_time.sampler(rng)
    wrapup, patience = sc.wrapup_time.sampler(rng), sc.patience.sampler(rng)
    connect = sc.agents.connect_delay.sampler(rng)  # draws nothing when fixed (the default 0)
    uniform = rng.random
    while True:
        machine = uniform() < sc.machine_share
        failure_u = uniform()
        if failure_u < sc.busy_share:
            failure_time = busy()
        elif failure_u < sc.busy_share + sc.congestion_share:
            failure_time = congestion()
        else:
            failure_time = sc.no_answer_timeout_s
        yield Callee(
            u_answer=uniform(),
            machine=machine,
            amd_right=uniform() < sc.amd_accuracy,
            ring_time=ring(),
            failure_time=failure_time,
            talk_time=machine_talk() if machine else talk(),
            wrapup_time=wrapup(),
            patience=patience(),
            connect_delay=connect(),
        )


@dataclass
class Result:
    """One pacer's day. Occupancy = talk time / time logged in and not paused."""

    pacer: str
    seed: int
    agents: int
    placed: int = 0
    answered: int = 0  # live answers, as the dialer sees them (undetected machines too)
    machines: int = 0  # answering machines AMD recognised
    amd_false_positives: int = 0  # people AMD took for machines and hung up on
    connected: int = 0
    abandoned: int = 0
    talk_s: float = 0.0
    active_s: float = 0.0
    agent_waits: list[float] = field(default_factory=list, repr=False)
    answer_waits: list[float] = field(default_factory=list, repr=False)
    bin_answered: list[int] = field(default_factory=list, repr=False)
    bin_abandoned: list[int] = field(default_factory=list, repr=False)
    bin_occupancy: list[float] = field(default_factory=list, repr=False)

    @property
    def occupancy(self) -> float:
        return self.talk_s / self.active_s if self.active_s else 0.0

    @property
    def abandon_rate(self) -> float:
        return self.abandoned / self.answered if self.answered else 0.0

    def worst_rolling(self, window_s: float) -> float:
        """Highest abandon rate over windows of ``window_s`` (in steps of 5 minutes); the
        whole run when it is shorter than the window."""
        size = max(1, round(window_s / BIN_S))
        if size >= len(self.bin_answered):
            return self.abandon_rate
        worst = 0.0
        answered = sum(self.bin_answered[:size])
        abandoned = sum(self.bin_abandoned[:size])
        for i in range(size, len(self.bin_answered) + 1):
            if answered:
                worst = max(worst, abandoned / answered)
            if i < len(self.bin_answered):
                answered += self.bin_answered[i] - self.bin_answered[i - size]
                abandoned += self.bin_abandoned[i] - self.bin_abandoned[i - size]
        return worst

    def summary(self) -> dict[str, float | int | str]:
        hours = self.active_s / 3600.0
        return {
            "pacer": self.pacer,
            "seed": self.seed,
            "agents": self.agents,
            "occupancy": self.occupancy,
            "talk_min_per_agent_hour": self.talk_s / 60.0 / hours if hours else 0.0,
            "agent_wait_mean_s": _mean(self.agent_waits),
            "agent_wait_p95_s": quantile(self.agent_waits, 0.95),
            "placed": self.placed,
            "answered": self.answered,
            "machines": self.machines,
            "amd_false_positives": self.amd_false_positives,
            "connected": self.connected,
            "abandoned": self.abandoned,
            "abandon_rate": self.abandon_rate,
            "abandon_rate_worst_day": self.worst_rolling(86_400.0),
            "abandon_rate_worst_hour": self.worst_rolling(3_600.0),
            "answer_to_agent_p95_s": quantile(self.answer_waits, 0.95),
        }


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


PacerFactory = Callable[[PacingSettings], Pacer]


@dataclass(frozen=True)
class PacerSpec:
    """A pacer to run: its name in the output, its factory and the mode in its settings."""

    name: str
    factory: PacerFactory
    mode: DialMode = DialMode.PREDICTIVE
    ratio: float | None = None  # overrides the scenario's ratio

    def settings(self, scenario: Scenario) -> PacingSettings:
        return PacingSettings(
            mode=self.mode,
            ratio=self.ratio if self.ratio is not None else scenario.ratio,
            max_lines_per_agent=scenario.max_lines_per_agent,
            abandon_limit=scenario.abandon_limit,
            aggressiveness=scenario.aggressiveness,
            agent_timeout_s=scenario.agent_timeout_s,
        )


# Agent states.
OFF, FREE, TALKING, WRAPUP, PAUSED = range(5)
# Event kinds.
RING_END, GIVE_UP, TALK_END, READY, LOGIN, LOGOUT, BREAK, BREAK_END, RING_OFF = range(9)


@dataclass(slots=True, eq=False)  # a feed key: one call is equal to itself only
class _Call:
    callee: Callee
    placed_at: float
    answered_at: float = 0.0
    waiting: bool = False


class Simulation:
    """One pacer through one scenario; :meth:`run` once."""

    def __init__(self, scenario: Scenario, spec: PacerSpec) -> None:
        self.sc = scenario
        self.settings = spec.settings(scenario)
        self.pacer = spec.factory(self.settings)
        self.stats = CallStats()
        self.feed = StatsFeed(self.stats)
        self.result = Result(spec.name, scenario.seed, scenario.agents.count)
        bins = math.ceil(scenario.duration_s / BIN_S)
        self.result.bin_answered = [0] * bins
        self.result.bin_abandoned = [0] * bins
        self._busy_bins = [0.0] * bins  # talking agent-seconds, sampled each tick
        self._active_bins = [0.0] * bins
        self._callees = callees(scenario)
        self._events: list[tuple[float, int, int, int | _Call]] = []
        self._seq = itertools.count()
        n = scenario.agents.count
        self._state = [OFF] * n
        self._since = [0.0] * n  # when the agent entered its state
        self._call_of: list[_Call | None] = [None] * n
        self._pending: list[int | None] = [None] * n  # BREAK or LOGOUT once the call is done
        self._break_lens: list[deque[float]] = [deque() for _ in range(n)]  # still to come
        self._break_len = [0.0] * n  # of the break due now
        self._free: deque[int] = deque()
        self._counts = [n, 0, 0, 0, 0]
        self._talking: dict[int, float] = {}
        self._wrapping: dict[int, float] = {}
        self._waiting: deque[_Call] = deque()
        self._ringing = 0
        self._n_waiting = 0
        self._limiter = (
            RateLimiter(scenario.max_rate_per_s, max(1, math.ceil(scenario.max_rate_per_s)))
            if scenario.max_rate_per_s
            else None
        )
        self._schedule_agents()

    def _at(self, t: float, kind: int, ref: int | _Call) -> None:
        heapq.heappush(self._events, (t, next(self._seq), kind, ref))

    def _schedule_agents(self) -> None:
        agents, end = self.sc.agents, self.sc.duration_s
        rng = random.Random(f"{self.sc.seed}:agents")
        for a in range(agents.count):
            self._at(rng.random() * agents.login_spread_s, LOGIN, a)
            self._at(end - rng.random() * agents.logout_spread_s, LOGOUT, a)
            starts = sorted(
                (b.at_s + rng.random() * b.spread_s, b.duration_s) for b in agents.breaks
            )
            for start, _ in starts:
                self._at(start, BREAK, a)
            self._break_lens[a] = deque(duration for _, duration in starts)

    def run(self) -> Result:
        # Millions of short-lived, acyclic objects: the cyclic collector only costs time.
        enabled = gc.isenabled()
        gc.disable()
        try:
            return self._run()
        finally:
            if enabled:
                gc.enable()

    def _run(self) -> Result:
        end, tick = self.sc.duration_s, self.sc.tick_s
        handlers = (
            self._ring_end,
            self._give_up,
            self._talk_end,
            self._ready,
            self._login,
            self._logout,
            self._break,
            self._break_end,
            self._ring_off,
        )
        events = self._events
        t = 0.0
        while t < end:
            while events and events[0][0] <= t:
                when, _, kind, ref = heapq.heappop(events)
                handlers[kind](when, ref)  # type: ignore[arg-type]
            self._tick(t)
            t += tick
        for a in range(self.sc.agents.count):
            self._leave_state(a, end)
        self.result.bin_occupancy = [
            busy / active if active else 0.0
            for busy, active in zip(self._busy_bins, self._active_bins, strict=True)
        ]
        return self.result

    # -- the dialer side ---------------------------------------------------------------------

    def _tick(self, now: float) -> None:
        c = self._counts
        logged_in = c[FREE] + c[TALKING] + c[WRAPUP] + c[PAUSED]
        agents = AgentsView(
            logged_in=logged_in,
            free=c[FREE],
            talking=c[TALKING],
            wrapup=c[WRAPUP],
            paused=c[PAUSED],
            talking_for=tuple(now - s for s in self._talking.values()),
            wrapup_for=tuple(now - s for s in self._wrapping.values()),
        )
        b = int(now // BIN_S)
        self._busy_bins[b] += c[TALKING]
        self._active_bins[b] += logged_in - c[PAUSED]
        snap = PacingSnapshot(
            now, agents, self._ringing, self._n_waiting, self.stats, self.settings
        )
        n = self.pacer.calls_to_place(snap)
        if n > 0 and (logged_in == 0 or c[PAUSED] == logged_in):
            raise AssertionError(f"pacer {self.result.pacer} dialled without agents")
        n = apply_caps(n, in_flight=snap.in_flight, max_in_flight=self.sc.max_in_flight)
        if self._limiter is not None:
            n = self._limiter.take(now, n)
        if self.sc.contacts is not None:
            n = min(n, self.sc.contacts - self.result.placed)
        for _ in range(n):
            self._place(now)

    def _place(self, now: float) -> None:
        callee = next(self._callees)
        call = _Call(callee, now)
        self._ringing += 1
        self.result.placed += 1
        self.feed.placed(call, now)
        answered = callee.u_answer < self.sc.answer_rate_at(now)
        self._at(now + (callee.ring_time if answered else callee.failure_time), RING_END, call)

    def _ring_end(self, t: float, call: _Call) -> None:
        self._ringing -= 1
        callee = call.callee
        if callee.u_answer >= self.sc.answer_rate_at(call.placed_at):
            self.feed.ended(call, t)
            return
        if callee.machine == callee.amd_right:  # a recognised machine or a person taken for one
            self.feed.machine(call, t)
            if callee.machine:
                self.result.machines += 1
            else:
                self.result.amd_false_positives += 1
            return
        self.feed.answered(call, t)
        self.result.answered += 1
        self.result.bin_answered[self._bin(t)] += 1
        call.answered_at = t
        while self._free:
            agent = self._free.popleft()
            if self._state[agent] == FREE:
                self._connect(t, agent, call)
                return
        call.waiting = True
        self._n_waiting += 1
        self._waiting.append(call)
        patience = callee.patience if not callee.machine else math.inf
        self._at(t + min(self.settings.agent_timeout_s, patience), GIVE_UP, call)

    def _give_up(self, t: float, call: _Call) -> None:
        if not call.waiting:
            return
        call.waiting = False
        self._n_waiting -= 1
        self.feed.abandoned(call, t)
        self.result.abandoned += 1
        self.result.bin_abandoned[self._bin(t)] += 1

    def _connect(self, t: float, agent: int, call: _Call) -> None:
        # The agent is taken now and the call connected after the connect delay (the PBX
        # rings the agent's phone first): busy meanwhile, as LiveState sees a ringing member,
        # but not talking. If the caller's time runs out first, the call is abandoned.
        delay = call.callee.connect_delay
        if delay > 0.0:
            patience = call.callee.patience if not call.callee.machine else math.inf
            give_up = call.answered_at + min(self.settings.agent_timeout_s, patience)
            if t + delay > give_up:
                self._ring_out(t, agent, call, give_up)
                return
        wait = t + delay - call.answered_at
        self.feed.connected(call, agent, t + delay)
        self.result.connected += 1
        self.result.answer_waits.append(wait)
        self.result.agent_waits.append(t - self._since[agent])
        self._enter(agent, TALKING, t)
        self.result.talk_s -= delay  # its TALKING time from now on includes the ring
        self._call_of[agent] = call
        self._talking[agent] = t
        self._at(t + delay + call.callee.talk_time, TALK_END, agent)

    def _ring_out(self, t: float, agent: int, call: _Call, give_up: float) -> None:
        """The caller gives up while the agent's phone rings: abandoned then (GIVE_UP), and
        the agent free again (RING_OFF), with no call and no wrap-up."""
        call.waiting = True  # until GIVE_UP; the engine, too, counts it as waiting
        self._n_waiting += 1
        self._at(give_up, GIVE_UP, call)  # a call that waited has one already: one is a no-op
        self._enter(agent, TALKING, t)
        self._talking[agent] = t
        self._at(give_up, RING_OFF, agent)

    def _ring_off(self, t: float, agent: int) -> None:
        del self._talking[agent]
        self.result.talk_s -= t - self._since[agent]  # rung, not talked
        self._done_with_call(t, agent)

    # -- the agents --------------------------------------------------------------------------

    def _talk_end(self, t: float, agent: int) -> None:
        del self._talking[agent]
        self._enter(agent, WRAPUP, t)
        self._wrapping[agent] = t
        call = self._call_of[agent]
        assert call is not None
        self.feed.ended(call, t)
        self._at(t + call.callee.wrapup_time, READY, agent)

    def _ready(self, t: float, agent: int) -> None:
        call = self._call_of[agent]
        assert call is not None
        self._call_of[agent] = None
        del self._wrapping[agent]
        self.feed.agent_ready(agent, t)
        self._done_with_call(t, agent)

    def _done_with_call(self, t: float, agent: int) -> None:
        """Off, on a break or free, as the agent's plan says since the call began."""
        pending, self._pending[agent] = self._pending[agent], None
        if pending == LOGOUT:
            self._enter(agent, OFF, t)
        elif pending == BREAK:
            self._pause(t, agent)
        else:
            self._make_free(t, agent)

    def _make_free(self, t: float, agent: int) -> None:
        self._enter(agent, FREE, t)
        while self._waiting:
            call = self._waiting.popleft()
            if call.waiting:
                call.waiting = False
                self._n_waiting -= 1
                self._connect(t, agent, call)
                return
        self._free.append(agent)

    def _login(self, t: float, agent: int) -> None:
        self._make_free(t, agent)

    def _logout(self, t: float, agent: int) -> None:
        state = self._state[agent]
        if state in (TALKING, WRAPUP):
            self._pending[agent] = LOGOUT
        elif state != OFF:
            self._enter(agent, OFF, t)

    def _break(self, t: float, agent: int) -> None:
        self._break_len[agent] = self._break_lens[agent].popleft()
        state = self._state[agent]
        if state in (TALKING, WRAPUP):
            self._pending[agent] = BREAK
        elif state == FREE:
            self._pause(t, agent)

    def _pause(self, t: float, agent: int) -> None:
        self._enter(agent, PAUSED, t)
        self._at(t + self._break_len[agent], BREAK_END, agent)

    def _break_end(self, t: float, agent: int) -> None:
        if self._state[agent] == PAUSED:
            self._make_free(t, agent)

    def _enter(self, agent: int, state: int, t: float) -> None:
        self._leave_state(agent, t)
        self._state[agent] = state
        self._counts[state] += 1
        self._since[agent] = t

    def _leave_state(self, agent: int, t: float) -> None:
        state = self._state[agent]
        self._counts[state] -= 1
        if state == TALKING:
            self.result.talk_s += t - self._since[agent]
        if state in (FREE, TALKING, WRAPUP):
            self.result.active_s += t - self._since[agent]

    def _bin(self, t: float) -> int:
        return min(int(t // BIN_S), len(self.result.bin_answered) - 1)


def run_scenario(scenario: Scenario, specs: list[PacerSpec]) -> list[Result]:
    """Every pacer through the same scenario, and so through the same callees."""
    return [Simulation(scenario, spec).run() for spec in specs]
