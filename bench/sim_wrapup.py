"""Agents who type after their calls: the day the simulator predicts with its default 5 s
wrap-up next to the day agents give who take 30 s (median) and often much longer.

    .venv/bin/python bench/sim_wrapup.py [--seeds 5] [--hours 8] [--workers 2] [--wrapup FILE]

On top of bench/scenarios/grid_base.toml (answer rate 30%): agents 10, 25, 50 x mean talk
time 60 and 180 s, progressive and predictive on the same seeds, once with the base's wrap-up
(gamma, mean 5 s) and once with the typing agents': an empirical distribution of 5,000
after-call periods drawn from a lognormal with median 30 s and sigma 1 (p90 108 s), each cut
at a wrap-up limit of 300 s, as the history would record them; or, with ``--wrapup``, the
wrap-up of a scenario file (one written by ``dialerd simulate --wrapup-from-db
--save-wrapup``: a real installation's). The pacer learns the wrap-up from its feed either
way. Writes bench/results/sim_wrapup.md and prints it.
"""

from __future__ import annotations

import argparse
import itertools
import math
import multiprocessing
import random
import statistics
import time
from dataclasses import replace
from pathlib import Path

from dialerd.simulator import scenario
from dialerd.simulator.pacers import parse_pacer
from dialerd.simulator.scenario import Dist
from dialerd.simulator.sim import Simulation

HERE = Path(__file__).parent
AGENTS = (10, 25, 50)
TALK_MEANS = (60.0, 180.0)
ANSWER_RATE = 0.30
PACERS = ("progressive", "predictive")
LIMIT = 0.03
WRAPUPS = ("assumed 5 s", "typing")

Task = tuple[int, float, str, str, int, float, Dist]
Summary = dict[str, float | int | str]


def typing_agents(n: int = 5000, median: float = 30.0, sigma: float = 1.0) -> Dist:
    """After-call work as typing agents do it, as the history would have it: ``n`` periods,
    lognormal, each cut at a 300 s wrap-up limit."""
    rng = random.Random("typing agents")
    return Dist(
        "empirical",
        values=tuple(min(rng.lognormvariate(math.log(median), sigma), 300.0) for _ in range(n)),
    )


def run_one(task: Task) -> tuple[Task, Summary]:
    agents, talk_mean, wrapup_name, pacer, seed, hours, wrapup = task
    base = scenario.load(HERE / "scenarios" / "grid_base.toml")
    sc = replace(
        base,
        hours=hours,
        seed=seed,
        agents=replace(base.agents, count=agents),
        answer_rate=((0.0, ANSWER_RATE),),
        talk_time=replace(base.talk_time, mean=talk_mean),
        wrapup_time=wrapup if wrapup_name == "typing" else base.wrapup_time,
    )
    sim = Simulation(sc, parse_pacer(pacer))
    result = sim.run()
    return task, result.summary() | {
        "connected_per_agent_hour": result.connected / (result.active_s / 3600.0),
        # What the feed taught the pacer: the mean of its wrap-up sample at the day's end.
        "learnt_wrapup_s": sim.stats.wrapup_times.mean(0.0),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--hours", type=float, default=8.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--wrapup", type=Path, help="a scenario file whose wrap-up is the agents'")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "sim_wrapup.md")
    args = parser.parse_args()

    typing = scenario.load(args.wrapup).wrapup_time if args.wrapup else typing_agents()
    tasks: list[Task] = [
        (agents, talk, wrapup, pacer, seed, args.hours, typing)
        for agents, talk, wrapup, pacer, seed in itertools.product(
            AGENTS, TALK_MEANS, WRAPUPS, PACERS, range(1, args.seeds + 1)
        )
    ]
    tasks.sort(key=lambda t: (t[3] == "predictive") * t[0] / t[1], reverse=True)
    started = time.monotonic()
    results: dict[tuple[int, float, str, str], list[Summary]] = {}
    with multiprocessing.Pool(args.workers) as pool:
        for task, summary in pool.imap_unordered(run_one, tasks):
            results.setdefault(task[:4], []).append(summary)
    elapsed = time.monotonic() - started
    source = f"the wrap-up of {args.wrapup}" if args.wrapup else "typing agents"
    text = render(results, typing, source, args.seeds, args.hours, elapsed, args.workers)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(text)


def render(
    results: dict[tuple[int, float, str, str], list[Summary]],
    typing: Dist,
    source: str,
    seeds: int,
    hours: float,
    elapsed: float,
    workers: int,
) -> str:
    def mean(cell: tuple[int, float, str, str], key: str) -> float:
        return statistics.fmean(float(s[key]) for s in results[cell])

    def worst(cell: tuple[int, float, str, str], key: str) -> float:
        return max(float(s[key]) for s in results[cell])

    d = typing.describe()
    lines = [
        "# Wrap-up: assumed 5 s, or what agents who type take",
        "",
        f"{hours:g} simulated hours, {seeds} seeds per cell, answer rate {ANSWER_RATE:.0%}, "
        f"bench/scenarios/grid_base.toml otherwise; ran in {elapsed / 60:.1f} min on "
        f"{workers} worker(s). Wrap-up *assumed 5 s*: the base's gamma, mean 5 s. *Typing*: "
        f"{source}, {d['n']} periods, median {d['median_s']:.1f} s, p90 {d['p90_s']:.1f} s, "
        f"mean {statistics.fmean(typing.values):.1f} s. Means over the seeds; abandon rates "
        "the worst seed's, over the whole day and over its worst rolling hour. Occupancy = "
        "talk / logged in; *wait* is an agent's mean wait between calls (after its wrap-up); "
        "*wrap-up learnt* the mean of the pacer's wrap-up sample at the day's end.",
        "",
        "| agents | talk s | wrap-up | prog. occupancy | pred. occupancy | pred. talk min/agent-h "
        "| pred. calls/agent-h | pred. wait s | wrap-up learnt s | pred. abandon max "
        "| pred. worst hour max |",
        "|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    over: list[str] = []
    for agents, talk in itertools.product(AGENTS, TALK_MEANS):
        for wrapup in WRAPUPS:
            pred, prog = (agents, talk, wrapup, "predictive"), (agents, talk, wrapup, "progressive")
            lines.append(
                f"| {agents} | {talk:g} | {wrapup} | {100 * mean(prog, 'occupancy'):.1f}% "
                f"| {100 * mean(pred, 'occupancy'):.1f}% "
                f"| {mean(pred, 'talk_min_per_agent_hour'):.1f} "
                f"| {mean(pred, 'connected_per_agent_hour'):.1f} "
                f"| {mean(pred, 'agent_wait_mean_s'):.1f} "
                f"| {mean(pred, 'learnt_wrapup_s'):.1f} "
                f"| {100 * worst(pred, 'abandon_rate'):.2f}% "
                f"| {100 * worst(pred, 'abandon_rate_worst_hour'):.2f}% |"
            )
        assumed, real = ((agents, talk, w, "predictive") for w in WRAPUPS)
        promised = mean(assumed, "connected_per_agent_hour")
        got = mean(real, "connected_per_agent_hour")
        over.append(
            f"- {agents} agents, {talk:g} s calls: the 5 s day promises {promised:.1f} calls "
            f"per agent-hour, typing agents handle {got:.1f} "
            f"(it overstates them by {100 * (promised / got - 1):.0f}%: at the typing agents' "
            f"rate, as many calls need about {math.ceil(agents * promised / got)} agents)"
        )
    abandon = max(
        max(
            worst((a, t, w, "predictive"), "abandon_rate")
            for a, t in itertools.product(AGENTS, TALK_MEANS)
        )
        for w in WRAPUPS
    )
    lines += [
        "",
        f"Predictive's worst seed over every cell and both wrap-ups: {100 * abandon:.2f}% "
        f"abandoned (limit {100 * LIMIT:g}%).",
        "",
        "## What the 5 s assumption gets wrong",
        "",
        *over,
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
