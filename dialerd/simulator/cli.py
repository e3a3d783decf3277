"""``dialerd simulate``: run pacers through a simulated campaign day, side by side."""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from dialerd.config import Settings
from dialerd.simulator import report, scenario
from dialerd.simulator.pacers import DEFAULT_PACERS, parse_pacer
from dialerd.simulator.scenario import Scenario
from dialerd.simulator.sim import run_scenario
from dialerd.simulator.wrapup import ObservedWrapup, observed
from dialerd.store import agents, campaigns
from dialerd.store.pool import connect

HISTORY_DAYS = 30  # --wrapup-from-db without --since: the after-call work of the last 30 days

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
    history = p.add_argument_group(
        "wrap-up from the history",
        "the agents' after-call work in Postgres (DIALERD_DATABASE_URL) as the wrap-up",
    )
    history.add_argument(
        "--wrapup-from-db",
        action="store_true",
        help="draw wrap-ups from the after-call work of the history (replaces the scenario's)",
    )
    history.add_argument("--campaign", type=int, help="only this campaign's (default: all)")
    history.add_argument(
        "--since",
        help=f"begun from this day or time, ISO 8601, UTC unless given (default: "
        f"{HISTORY_DAYS} days before --until)",
    )
    history.add_argument("--until", help="...and before this one (default: now)")
    history.add_argument(
        "--save-wrapup",
        metavar="FILE.json",
        help="also write the wrap-up read as a scenario file (to run it again without the "
        "database, or to copy into one)",
    )
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
    if args.wrapup_mean is not None and (
        args.wrapup_from_db or base.wrapup_time.kind == "empirical"
    ):
        raise ValueError("--wrapup-mean: the wrap-up is the observed one, which has no mean to set")
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


def parse_when(text: str) -> datetime:
    """A day (its midnight) or a time, ISO 8601; UTC when no zone is given."""
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"not an ISO 8601 day or time: {text!r}") from None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def history_range(args: argparse.Namespace, now: datetime) -> tuple[datetime, datetime] | None:
    """[since, until) of the after-call work to read; None: the wrap-up is the scenario's."""
    if not args.wrapup_from_db:
        given = [f for f in ("campaign", "since", "until", "save_wrapup") if getattr(args, f)]
        if given:
            flag = "--" + given[0].replace("_", "-")
            raise ValueError(f"{flag} goes with --wrapup-from-db")
        return None
    until = parse_when(args.until) if args.until else now
    since = parse_when(args.since) if args.since else until - timedelta(days=HISTORY_DAYS)
    if since >= until:
        raise ValueError(f"--since {since.isoformat()} is not before --until {until.isoformat()}")
    return since, until


async def read_wrapup(
    dsn: str, campaign_id: int | None, since: datetime, until: datetime
) -> ObservedWrapup:
    conn = await connect(dsn)
    try:
        if campaign_id is not None and not await campaigns.find(conn, campaign_id=campaign_id):
            raise ValueError(f"--campaign {campaign_id}: no such campaign")
        periods = await agents.after_call_periods(conn, campaign_id, since, until)
    finally:
        await conn.close()
    return observed(periods, campaign_id, since, until)


def save_wrapup(history: ObservedWrapup, path: str) -> None:
    """A scenario file of the wrap-up alone."""
    with open(path, "w") as out:
        json.dump({"wrapup_time": {"kind": "empirical", "values": list(history.values)}}, out)


async def run(args: argparse.Namespace, settings: Settings) -> int:
    try:
        sc = build_scenario(args)
        specs = [parse_pacer(text) for text in args.pacer or DEFAULT_PACERS]
        window = history_range(args, datetime.now(UTC))
        history = None
        if window is not None:
            history = await read_wrapup(settings.require_database_url(), args.campaign, *window)
            sc = replace(sc, wrapup_time=history.dist())
            if args.save_wrapup:
                save_wrapup(history, args.save_wrapup)
    except (OSError, ValueError, TypeError, asyncpg.PostgresError) as exc:
        print(f"dialerd simulate: {exc}")
        return 2
    results = run_scenario(sc, specs)
    wrapup = history.summary() if history else sc.wrapup_time.describe()
    if args.json:
        summaries = [r.summary() for r in results]
        print(json.dumps({"seed": sc.seed, "wrapup": wrapup, "results": summaries}, indent=2))
    else:
        print("\n".join(history.lines() if history else [report.wrapup_line(sc.wrapup_time)]))
        print(report.table(results))
    if args.plot:
        try:
            report.plot(results, args.plot)
        except ImportError:
            print("dialerd simulate: --plot needs matplotlib (pip install matplotlib)")
            return 2
    return 0
