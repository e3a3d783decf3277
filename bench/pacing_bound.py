"""How much occupancy pacers that could see part of the future would get: a reference for
the grid's targets, not pacers the engine can run.

    .venv/bin/python bench/pacing_bound.py [--cells 25:0.15:60,...] [--seeds 3]
        [--knows agents,calls] [--thresholds 0.01,...] [--sampled 0.01,...] [--hours 8]
        [--workers 2] [--out F]

Every pacer runs in the simulator on the grid's scenario (bench/scenarios/grid_base.toml with
the cell's agents, answer rate and mean talk time; by default the cells whose targets
predictive misses), on the same seeds and so the same callees. Two kinds read what no real
pacer knows, from the simulation's own state and event heap:

- ``knows:agents``, ``knows:calls``: the real predictive pacer (its model, calibration and
  abandon budget unchanged) told the truth about one of its two guesses: the second each
  agent will be ready (the talk and wrap-up already drawn for their calls, breaks and
  log-ins to come), or which calls in flight will be live answers and when. What it gains
  over ``predictive`` is what that guess costs.
- ``oracle:<threshold>``: knows both, and is unsure only of the calls it places now (each a
  live answer with the scenario's probability, after a ring time from the scenario's
  distribution). It places the n-th new call while the chance that this call (or a known
  answer it would take the agent from) finds no agent in time, or must wait and its
  callee hangs up, stays within the threshold; the best threshold whose abandon rate stays
  within 3% on every seed is reported.
- ``sampled:<threshold>``: the oracle's rule without its foresight, as a control: its risk
  averaged over futures drawn from what the engine knows (how long each agent has talked or
  been in wrap-up, the age of each call ringing, the calls waiting) and from the scenario's
  true distributions. Against ``predictive`` it tells whether the real pacer's rule, rather
  than its information, leaves occupancy on the table. Slow (24 futures a tick): a few
  minutes per 8-hour day.

Nothing here is proven optimal: these are references built the same way as the real pacer,
with better information. A real pacer, which must guess what they know, gets less.
"""

from __future__ import annotations

import argparse
import itertools
import math
import multiprocessing
import random
import statistics
import time
from bisect import bisect_right
from pathlib import Path

from pacing_grid import cell_scenario, occupancy_target  # bench/ is this script's folder

from dialerd.dialer.pacing import PacingSnapshot, PredictivePacer, make_pacer
from dialerd.domain import AgentsView
from dialerd.simulator.pacers import parse_pacer
from dialerd.simulator.scenario import Dist
from dialerd.simulator.sim import (
    BREAK,
    BREAK_END,
    FREE,
    LOGIN,
    LOGOUT,
    RING_END,
    TALKING,
    WRAPUP,
    PacerSpec,
    Simulation,
    _Call,
)

LIMIT = 0.03
HORIZON_S = 45  # past the longest ring time (40 s) and the agent timeout
# The cells of the grid whose targets predictive misses (bench/results/pacing_grid.md).
MISSED = (
    "5:0.6:180",
    "5:0.6:300",
    "10:0.15:60",
    "10:0.3:60",
    "10:0.6:60",
    "25:0.15:60",
    "25:0.3:60",
    "25:0.6:60",
    "50:0.15:60",
    "50:0.3:60",
    "50:0.6:60",
)

Cell = tuple[int, float, float]
Future = tuple[list[float], list[tuple[float, float]]]  # agents ready at, (answer, deadline)


def foresee(sim: Simulation, now: float) -> Future:
    """What the future holds, from the simulation's own state and event heap: when each
    agent will be ready (sorted), and the live answers of the calls in flight, waiting ones
    included, as (answered at, given up by), sorted."""
    timeout = sim.settings.agent_timeout_s
    leaves: dict[int, float] = {}  # agent -> next break or log-out
    returns: list[float] = []  # agents back from a break or logging in
    answers: list[tuple[float, float]] = []  # known live answers: (at, deadline)
    for when, _, kind, ref in sim._events:
        if kind == RING_END:
            assert isinstance(ref, _Call)
            callee = ref.callee
            answered = callee.u_answer < sim.sc.answer_rate_at(ref.placed_at)
            if answered and callee.machine != callee.amd_right:
                patience = math.inf if callee.machine else callee.patience
                answers.append((when, when + min(timeout, patience)))
        elif kind in (BREAK, LOGOUT):
            assert isinstance(ref, int)
            leaves[ref] = min(when, leaves.get(ref, math.inf))
        elif kind in (BREAK_END, LOGIN):
            returns.append(when)
    for call in sim._waiting:
        if call.waiting:
            patience = math.inf if call.callee.machine else call.callee.patience
            answers.append((now, call.answered_at + min(timeout, patience)))
    ready: list[float] = list(returns)
    for a, state in enumerate(sim._state):
        if state == FREE:
            ready.append(now)
            continue
        if state not in (TALKING, WRAPUP) or sim._pending[a] is not None:
            continue
        current = sim._call_of[a]
        assert current is not None
        callee = current.callee
        if state == TALKING:
            at = sim._talking[a] + callee.talk_time + callee.wrapup_time
        else:
            at = sim._wrapping[a] + callee.wrapup_time
        if leaves.get(a, math.inf) > at:
            ready.append(at)
    ready.sort()
    answers.sort()
    return ready, answers


class InformedPredictive(PredictivePacer):
    """The real predictive pacer, risk model, calibration and budget unchanged, with one of
    its guesses replaced by what the simulation knows: ``agents`` (when each agent will be
    ready) or ``calls`` (which calls in flight will be live answers, and when). What it
    gains over the real pacer is what that guess costs. (Both at once leave its normal
    approximation with no variance at all, and it stops working: that is the oracle's job.)"""

    def __init__(self, sim: Simulation, knows: str) -> None:
        if knows not in ("agents", "calls"):
            raise ValueError(f"knows:{knows}: expected agents or calls")
        super().__init__()
        self.sim = sim
        self.knows = knows
        self.now = 0.0
        self._future: tuple[float, Future] | None = None

    def _foresee(self) -> Future:
        if self._future is None or self._future[0] != self.now:
            self._future = (self.now, foresee(self.sim, self.now))
        return self._future[1]

    def _agents_ready(self, agents: AgentsView, timeout: float) -> tuple[list[float], list[float]]:
        if self.knows != "agents":
            return super()._agents_ready(agents, timeout)
        ready, _ = self._foresee()
        means = [float(bisect_right(ready, self.now + tau + timeout)) for tau in self._taus]
        return means, [0.0] * len(means)

    def _ringing_answers(
        self, now: float, ringing: int, p_live: float
    ) -> tuple[list[float], list[float]]:
        if self.knows != "calls":
            return super()._ringing_answers(now, ringing, p_live)
        _, answers = self._foresee()
        # waiting calls are counted by the pacer itself (snap.calls_waiting)
        ringing_at = [at for at, _ in answers if at > now]
        means = [float(bisect_right(ringing_at, now + tau)) for tau in self._taus]
        return means, [0.0] * len(means)

    def calls_to_place(self, snap: PacingSnapshot) -> int:
        self.now = snap.now
        return super().calls_to_place(snap)


class OraclePacer:
    """See the module docstring. ``threshold``: the largest chance of an abandon a new
    call may carry."""

    def __init__(self, sim: Simulation, threshold: float) -> None:
        self.sim = sim
        self.threshold = threshold
        sc = sim.sc
        live_share = (1 - sc.machine_share) * sc.amd_accuracy + sc.machine_share * (
            1 - sc.amd_accuracy
        )
        self.live_share = live_share
        rng = random.Random(f"{sc.seed}:oracle")
        draw = sc.ring_time.sampler(rng)
        rings = sorted(draw() for _ in range(20_000))
        # ring_cdf[s]: P(ring time <= s); answer_at[s]: P(s - 1 < ring time <= s)
        self.ring_cdf = [bisect_right(rings, s) / len(rings) for s in range(HORIZON_S)]
        self.answer_at = [
            self.ring_cdf[s] - (self.ring_cdf[s - 1] if s else 0.0) for s in range(HORIZON_S)
        ]
        # A callee who must wait for an agent hangs up first with about this chance (the
        # wait taken as half the agent timeout).
        patience = sc.patience.sampler(rng)
        half = sim.settings.agent_timeout_s / 2
        self.hang_up = sum(patience() < half for _ in range(20_000)) / 20_000

    def futures(self, snap: PacingSnapshot) -> list[Future]:
        """The futures the risk is averaged over: for the oracle, the one that will happen."""
        return [foresee(self.sim, snap.now)]

    def calls_to_place(self, snap: PacingSnapshot) -> int:
        agents = snap.agents
        if agents.logged_in == 0 or agents.available == 0:
            return 0
        now = snap.now
        timeout = self.sim.settings.agent_timeout_s
        q = self.sim.sc.answer_rate_at(now) * self.live_share
        tables = [slack(now, timeout, *future) for future in self.futures(snap)]
        ring_cdf, answer_at, hang_up = self.ring_cdf, self.answer_at, self.hang_up

        def p_abandon(n: int) -> float:
            """The n-th new call, answered at s, is abandoned when no agent is ready by
            s + timeout, or when it must wait and its callee hangs up first; or it takes
            the agent of a later answer, when that happens at some s' >= s. Averaged over
            the futures."""
            total = 0.0
            for late, ready_now in tables:
                risk = [0.0] * HORIZON_S
                worst = 0.0
                for s in range(HORIZON_S - 1, -1, -1):
                    pi = q * ring_cdf[s]
                    mean = (n - 1) * pi + 0.5
                    sd = math.sqrt((n - 1) * pi * (1 - pi) + 1e-9) * math.sqrt(2.0)
                    # P(new answers ahead >= slack), normal approximation
                    none = 0.5 * (1.0 + math.erf((mean - late[s]) / sd))
                    wait = 0.5 * (1.0 + math.erf((mean - ready_now[s]) / sd))
                    worst = max(worst, none + hang_up * (wait - none))
                    risk[s] = worst
                total += sum(a * b for a, b in zip(answer_at, risk, strict=True))
            return total / len(tables)

        ceiling = 5 * agents.available
        n = 0
        while n < ceiling and p_abandon(n + 1) <= self.threshold:
            n += 1
        return n


def slack(
    now: float, timeout: float, ready: list[float], answers: list[tuple[float, float]]
) -> tuple[list[int], list[int]]:
    """(late, ready_now): for each second s ahead, the agents ready by now + s + timeout
    (by now + s) minus the known answers that connect by now + s, the known answers matched
    to the agents in order (FIFO)."""
    connected: list[float] = []
    j = 0
    for at, deadline in answers:
        if j < len(ready) and ready[j] <= deadline:
            connected.append(at)
            j += 1
    late, ready_now = [], []
    r = r0 = c = 0
    for s in range(HORIZON_S):
        while r < len(ready) and ready[r] <= now + s + timeout:
            r += 1
        while r0 < len(ready) and ready[r0] <= now + s:
            r0 += 1
        while c < len(connected) and connected[c] <= now + s:
            c += 1
        late.append(r - c)
        ready_now.append(r0 - c)
    return late, ready_now


class SampledPacer(OraclePacer):
    """The oracle's rule with no foresight: its risk averaged over ``SAMPLES`` futures drawn
    from what the engine knows (how long each agent has talked or been in wrap-up, the age
    of each call ringing, the calls waiting) and from the scenario's true distributions (the
    real pacer must estimate them). What it gets, against ``predictive``, says whether the
    real pacer's rule leaves occupancy on the table, not its information."""

    SAMPLES = 24

    def __init__(self, sim: Simulation, threshold: float) -> None:
        super().__init__(sim, threshold)
        sc = sim.sc
        rng = random.Random(f"{sc.seed}:sampled")
        self.rng = random.Random(f"{sc.seed}:futures")

        def pool(dist: Dist) -> list[float]:
            draw = dist.sampler(rng)
            return sorted(draw() for _ in range(20_000))

        self.talk, self.wrapup, self.ring = (
            pool(sc.talk_time),
            pool(sc.wrapup_time),
            pool(sc.ring_time),
        )
        busy, congestion = pool(sc.busy_time), pool(sc.congestion_time)
        n_busy = round(20_000 * sc.busy_share)
        n_congestion = round(20_000 * sc.congestion_share)
        self.failure = sorted(
            busy[:n_busy]
            + congestion[:n_congestion]
            + [sc.no_answer_timeout_s] * (20_000 - n_busy - n_congestion)
        )

    def _beyond(self, values: list[float], elapsed: float) -> float:
        """A draw of a duration known to be longer than ``elapsed``."""
        i = bisect_right(values, elapsed)
        return values[self.rng.randrange(i, len(values))] if i < len(values) else elapsed + 1.0

    def futures(self, snap: PacingSnapshot) -> list[Future]:
        sim, now = self.sim, snap.now
        timeout = sim.settings.agent_timeout_s
        p_answer = sim.sc.answer_rate_at(now)
        ages = [
            now - ref.placed_at
            for _, _, kind, ref in sim._events
            if kind == RING_END and isinstance(ref, _Call)
        ]
        waiting = [(now, call.answered_at + timeout) for call in sim._waiting if call.waiting]
        n = len(self.ring)
        futures: list[Future] = []
        for _ in range(self.SAMPLES):
            ready = [now] * snap.agents.free
            for elapsed in snap.agents.talking_for:
                left = self._beyond(self.talk, elapsed) - elapsed
                ready.append(now + left + self.wrapup[self.rng.randrange(len(self.wrapup))])
            for elapsed in snap.agents.wrapup_for:
                ready.append(now + self._beyond(self.wrapup, elapsed) - elapsed)
            answers = list(waiting)
            for age in ages:
                still_ringing_answered = p_answer * (1 - bisect_right(self.ring, age) / n)
                still_ringing_failed = (1 - p_answer) * (
                    1 - bisect_right(self.failure, age) / len(self.failure)
                )
                total = still_ringing_answered + still_ringing_failed
                if total <= 0 or self.rng.random() * total >= still_ringing_answered:
                    continue
                if self.rng.random() >= self.live_share:
                    continue
                at = now + self._beyond(self.ring, age) - age
                answers.append((at, at + timeout))
            ready.sort()
            answers.sort()
            futures.append((ready, answers))
        return futures


Task = tuple[Cell, str, int, float]


def run(task: Task) -> tuple[Task, float, float]:
    """(task, occupancy, abandon rate); pacer is a built-in name, knows:<what>,
    oracle:<threshold> or sampled:<threshold>."""
    cell, pacer, seed, hours = task
    sc = cell_scenario(*cell, seed, hours)
    if pacer.startswith(("oracle:", "knows:", "sampled:")):
        sim = Simulation(sc, PacerSpec(pacer, make_pacer))
        kind, _, arg = pacer.partition(":")
        if kind == "knows":
            sim.pacer = InformedPredictive(sim, arg)
        else:
            sim.pacer = (OraclePacer if kind == "oracle" else SampledPacer)(sim, float(arg))
    else:
        sim = Simulation(sc, parse_pacer(pacer))
    result = sim.run()
    return task, result.occupancy, result.abandon_rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", default=",".join(MISSED))
    parser.add_argument(
        "--knows",
        default="agents,calls",
        help="the real pacer told the truth about, one at a time: agents, calls",
    )
    parser.add_argument("--thresholds", default="0.01,0.03,0.06,0.1")
    parser.add_argument(
        "--sampled", default="", help="thresholds for the oracle's rule without foresight"
    )
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--hours", type=float, default=8.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, help="also write the table here")
    args = parser.parse_args()
    cells: list[Cell] = []
    for text in args.cells.split(","):
        a, p, t = text.split(":")
        cells.append((int(a), float(p), float(t)))
    knows = [f"knows:{k}" for k in args.knows.split(",") if k]
    oracles = [f"oracle:{t}" for t in args.thresholds.split(",") if t]
    sampled = [f"sampled:{t}" for t in args.sampled.split(",") if t]
    pacers = ["progressive", "predictive", *knows, *oracles, *sampled]
    tasks: list[Task] = [
        (cell, pacer, seed, args.hours)
        for cell, pacer, seed in itertools.product(cells, pacers, range(1, args.seeds + 1))
    ]
    started = time.monotonic()
    with multiprocessing.Pool(args.workers) as pool:
        done = pool.map(run, tasks, chunksize=1)
    elapsed = time.monotonic() - started
    by: dict[tuple[Cell, str], list[tuple[float, float]]] = {}
    for (cell, pacer, _, _), occupancy, abandon in done:
        by.setdefault((cell, pacer), []).append((occupancy, abandon))

    def shown(cell: Cell, pacer: str) -> str:
        runs = by[(cell, pacer)]
        worst = max(a for _, a in runs)
        return f"{statistics.mean(o for o, _ in runs):.1%} ({worst:.2%})"

    # The threshold rules: the best threshold of each whose abandon rate stays within the
    # limit on every seed.
    rules = [(name, group) for name, group in (("oracle", oracles), ("sampled", sampled)) if group]
    lines = [
        "# What foresight buys (bench/pacing_bound.py)",
        "",
        f"{args.seeds} seeds of {args.hours:g} h per cell, {elapsed / 60:.1f} min on "
        f"{args.workers} worker(s). Occupancy is the mean over the seeds, in brackets the "
        "worst seed's abandon rate. *oracle*"
        + (", *sampled*" if sampled else "")
        + ": the best threshold whose abandon rate stays within 3% on every seed.",
        "",
        "| agents | answer | talk s | target | progressive | predictive | "
        + "".join(f"{k.replace(':', ' ')} | " for k in knows)
        + "".join(f"{name} | {name} threshold | " for name, _ in rules),
        "|---:|---:|---:|---|---:|---:|" + "---:|" * (len(knows) + 2 * len(rules)),
    ]
    for cell in cells:
        target = occupancy_target(cell[0])
        row = (
            f"| {cell[0]} | {cell[1]:.0%} | {cell[2]:g} | "
            + (f"{target:.0%}" if target else "progressive + 2")
            + f" | {shown(cell, 'progressive')} | {shown(cell, 'predictive')} | "
            + "".join(f"{shown(cell, k)} | " for k in knows)
        )
        for _, group in rules:
            within = [
                (statistics.mean(o for o, _ in by[(cell, p)]), p)
                for p in group
                if max(a for _, a in by[(cell, p)]) <= LIMIT
            ]
            best = max(within)[1] if within else None
            row += f"{shown(cell, best)} | {best.partition(':')[2]} | " if best else "— | — | "
        lines.append(row.rstrip())
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
