"""What counting calls that went nowhere as placed, unanswered calls would do to the pacer.

    .venv/bin/python bench/phantom_calls.py [--seeds 5]

An Originate that was never sent (AMI not ready), that Asterisk refused, or that failed
before any channel existed (a dead trunk) called nobody. dialerd withdraws such a call from
the pacing statistics (StatsFeed.withdrawn). The old accounting fed it as placed and
unanswered after 0 s of ringing. This runs the real predictive pacer in the simulator
(25 agents, 30% answer, 60 s talk) and, at minute 30, feeds a burst of such calls the old
way — 20 (the contacts a dead trunk burned in 1.8 s before the breaker) and 200 — against a
control run of the same seed (the same callees) that withdraws them. Prints the answer rate
the pacer saw right after, and what happened in the 10 minutes after the burst.
"""

from __future__ import annotations

import argparse
import statistics
from dataclasses import replace
from pathlib import Path

from dialerd.simulator import scenario
from dialerd.simulator.pacers import parse_pacer
from dialerd.simulator.sim import Simulation

HERE = Path(__file__).parent
BURST_AT_S = 1800.0
AFTER_S = 600.0


class Burst(Simulation):
    """The simulation with ``phantoms`` calls fed the old way at BURST_AT_S."""

    def __init__(self, sc: scenario.Scenario, phantoms: int) -> None:
        super().__init__(sc, parse_pacer("predictive"))
        self.phantoms = phantoms
        self.seen: dict[str, float] = {}

    def _tick(self, now: float) -> None:
        if now == BURST_AT_S:
            self.seen["rate_before"] = self.stats.answer_rate(now)
            for _ in range(self.phantoms):
                self.stats.placed(now)
                self.stats.unanswered(now, 0.0)
            self.seen["rate_after"] = self.stats.answer_rate(now)
            self.seen["placed"] = self.result.placed
            self.seen["connected"] = self.result.connected
            self.seen["talk_s"] = self.result.talk_s
        if now == BURST_AT_S + AFTER_S:
            self.seen["placed"] = self.result.placed - self.seen["placed"]
            self.seen["connected"] = self.result.connected - self.seen["connected"]
            self.seen["talk_s"] = self.result.talk_s - self.seen["talk_s"]
        super()._tick(now)


def run(seed: int, phantoms: int) -> dict[str, float]:
    base = scenario.load(HERE / "scenarios" / "grid_base.toml")
    sc = replace(
        base,
        hours=(BURST_AT_S + AFTER_S) / 3600 + 0.05,
        seed=seed,
        agents=replace(base.agents, count=25, breaks=()),
        answer_rate=((0.0, 0.30),),
        talk_time=replace(base.talk_time, mean=60.0),
    )
    sim = Burst(sc, phantoms)
    sim.run()
    return sim.seen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()
    seeds = range(1, args.seeds + 1)
    print(f"predictive, 25 agents, 30% answer, 60 s talk; burst at {BURST_AT_S / 60:.0f} min;")
    print(f"the {AFTER_S / 60:.0f} minutes after it, mean of {args.seeds} seeds\n")
    print(
        "| calls that went nowhere | answer rate seen after | calls placed | connected | talk min |"
    )
    print("|---|---:|---:|---:|---:|")
    for phantoms in (0, 20, 200):
        rows = [run(seed, phantoms) for seed in seeds]
        label = "withdrawn (dialerd)" if phantoms == 0 else f"{phantoms} fed as unanswered"
        mean = {k: statistics.mean(r[k] for r in rows) for k in rows[0]}
        print(
            f"| {label} | {mean['rate_after']:.1%} (before {mean['rate_before']:.1%}) "
            f"| {mean['placed']:.0f} | {mean['connected']:.0f} | {mean['talk_s'] / 60:.0f} |"
        )


if __name__ == "__main__":
    main()
