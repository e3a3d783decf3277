"""``dialerd simulate``: run pacers through a simulated campaign day, side by side."""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from typing import Any

from dialerd.config import Settings
from dialerd.simulator import report, scenario
from dialerd.simulator.pacers import DEFAULT_PACERS, parse_pacer
from dialerd.simulator.scenario import Scenario
from dialerd.simulator.sim import run_scenario

# flag -> (scenario field, distribution field or None), for the flags that override a file.
_FLAGS: dict[str, tuple[str, str | None]] = {
    "hours": ("hours", None),
    "seed": ("seed", None),
    "contacts": ("contacts", None),
    "answer_rate": ("answer_rate", None),
    "machine_share": ("machine_share", None),
    "amd_accuracy": ("amd_accuracy", None),
    "ring_mean": ("ring_time", "mean"),
    "talk_mean": ("talk_time", "mean"),
    "wrapup_mean": ("wrapup_time", "mean"),
    "patience_mean": ("patience", "mean"),
    "ratio": ("ratio", None),
    "max_lines_per_agent": ("max_lines_per_agent", None),
    "abandon_limit": ("abandon_limit", None),
    "aggressiveness": ("aggressiveness", None),
    "max_in_flight": ("max_in_flight", None),
    "max_rate": ("max_rate_per_s", None),
}


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "simulate",
        help="run pacers through a simulated campaign day",
        description=__doc__ + " Flags override the scenario file; see dialerd/simulator/README.md.",
    )
    p.add_argument("scenario", nargs="?", help="scenario file, .json or .toml")
    p.add_argument("--agents", type=int, help="number of agents")
    for flag, kind, text in [
        ("--hours", float, "simulated hours"),
        ("--seed", int, "random seed"),
        ("--contacts", int, "contact list size (calls that can be placed)"),
        ("--answer-rate", float, "probability that a call is answered (person or machine)"),
        ("--machine-share", float, "share of answers that are answering machines"),
        ("--amd-accuracy", float, "share of right AMD verdicts"),
        ("--ring-mean", float, "mean ring time of answered calls, s"),
        ("--talk-mean", float, "mean talk time, s"),
        ("--wrapup-mean", float, "mean wrap-up time, s"),
        ("--patience-mean", float, "mean time an answered person waits for an agent, s"),
        ("--ratio", float, "lines per free agent of the ratio pacer"),
        ("--max-lines-per-agent", float, "predictive: calls in flight per agent, at most"),
        ("--abandon-limit", float, "abandon rate limit, e.g. 0.03"),
        ("--aggressiveness", float, "predictive: how fast to spend the abandon budget"),
        ("--max-in-flight", int, "cap on calls in flight"),
        ("--max-rate", float, "cap on originations per second"),
    ]:
        p.add_argument(flag, type=kind, help=text)
    p.add_argument(
        "--pacer",
        action="append",
        help="progressive | ratio[:R] | predictive | module:factory | file.py:factory; "
        f"repeatable (default: {', '.join(DEFAULT_PACERS)})",
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--plot", help="write a PNG of occupancy and abandon rate (needs matplotlib)")
    p.set_defaults(run=run)


def build_scenario(args: argparse.Namespace) -> Scenario:
    base = scenario.load_path(args.scenario) if args.scenario else Scenario()
    changes: dict[str, Any] = {}
    if args.agents is not None:
        changes["agents"] = replace(base.agents, count=args.agents)
    for flag, (name, part) in _FLAGS.items():
        value = getattr(args, flag)
        if value is None:
            continue
        if name == "answer_rate":
            changes[name] = ((0.0, value),)
        elif part is None:
            changes[name] = value
        else:
            changes[name] = replace(getattr(base, name), **{part: value})
    return replace(base, **changes)


async def run(args: argparse.Namespace, settings: Settings) -> int:
    try:
        sc = build_scenario(args)
        specs = [parse_pacer(text) for text in args.pacer or DEFAULT_PACERS]
    except (OSError, ValueError, TypeError) as exc:
        print(f"dialerd simulate: {exc}")
        return 2
    results = run_scenario(sc, specs)
    if args.json:
        print(json.dumps({"seed": sc.seed, "results": [r.summary() for r in results]}, indent=2))
    else:
        print(report.table(results))
    if args.plot:
        try:
            report.plot(results, args.plot)
        except ImportError:
            print("dialerd simulate: --plot needs matplotlib (pip install matplotlib)")
            return 2
    return 0
