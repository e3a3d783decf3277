"""Scenarios: what the simulated day looks like, from a JSON or TOML file and flags."""

from __future__ import annotations

import json
import math
import random
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields, replace
from functools import partial
from pathlib import Path
from typing import Any, Literal, get_args

Kind = Literal["fixed", "exponential", "lognormal", "gamma", "uniform", "empirical"]


@dataclass(frozen=True)
class Dist:
    """A duration distribution in seconds: ``kind`` with ``mean`` and coefficient of
    variation ``cv`` (uniform: mean ± mean·cv·√3), cut to [``low``, ``high``]. ``empirical``
    draws one of the observed ``values`` (each as likely), and ignores ``mean`` and ``cv``."""

    kind: Kind = "lognormal"
    mean: float = 1.0
    cv: float = 1.0
    low: float = 0.0
    high: float = math.inf
    values: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in get_args(Kind):
            raise ValueError(f"unknown distribution kind {self.kind!r}")
        if (self.kind == "empirical") != bool(self.values):
            raise ValueError("an empirical distribution needs its values, and only it has them")
        if not all(math.isfinite(v) and v >= 0.0 for v in self.values):
            raise ValueError("the values of an empirical distribution are seconds, 0 or more")

    def sampler(self, rng: random.Random) -> Callable[[], float]:
        """A function drawing from this distribution with ``rng``; parameters are worked
        out once, since the simulator draws millions of durations."""
        low, high, mean, cv = self.low, self.high, self.mean, self.cv
        raw: Callable[[], float]
        if self.kind == "empirical":
            values, n, uniform = self.values, len(self.values), rng.random
            raw = lambda: values[int(uniform() * n)]  # noqa: E731
        elif self.kind == "fixed" or mean <= 0.0:
            raw = lambda: mean  # noqa: E731
        elif self.kind == "exponential":
            raw = partial(rng.expovariate, 1.0 / mean)
        elif self.kind == "lognormal":
            sigma2 = math.log(1.0 + cv * cv)
            raw = partial(rng.lognormvariate, math.log(mean) - sigma2 / 2.0, math.sqrt(sigma2))
        elif self.kind == "gamma":
            shape = 1.0 / (cv * cv)
            raw = partial(rng.gammavariate, shape, mean / shape)
        else:
            half = mean * cv * math.sqrt(3.0)
            raw = partial(rng.uniform, mean - half, mean + half)
        return lambda: min(max(raw(), low), high)

    def describe(self) -> dict[str, float | int | str]:
        """What the distribution is, for a run's summary: an empirical one by its number of
        values, median and 90th percentile."""
        if self.kind != "empirical":
            return {"kind": self.kind, "mean_s": self.mean, "cv": self.cv}
        return {
            "kind": self.kind,
            "n": len(self.values),
            "median_s": quantile(self.values, 0.5),
            "p90_s": quantile(self.values, 0.9),
        }


def quantile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile by nearest rank (0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


@dataclass(frozen=True)
class Break:
    """Every agent leaves at ``at_s`` plus a random 0..``spread_s`` (after the call in
    progress) for ``duration_s``."""

    at_s: float
    duration_s: float
    spread_s: float = 0.0


@dataclass(frozen=True)
class Agents:
    count: int = 10
    login_spread_s: float = 0.0  # agent i logs in at a random time in [0, this)
    logout_spread_s: float = 0.0  # ...and logs out that much before the end, at most
    breaks: tuple[Break, ...] = ()
    # From a live answer taking a free agent to the call being connected (the PBX rings the
    # agent's phone first); it comes out of the agent timeout.
    connect_delay: Dist = field(default_factory=lambda: Dist("fixed", 0.0))


@dataclass(frozen=True)
class Scenario:
    """One simulated campaign day. Probabilities are per placed call unless said."""

    hours: float = 8.0
    seed: int = 1
    tick_s: float = 1.0
    agents: Agents = field(default_factory=Agents)
    contacts: int | None = None  # list size; None: never runs out
    # (from second, probability that a call placed from then on is answered, by anyone)
    answer_rate: tuple[tuple[float, float], ...] = ((0.0, 0.3),)
    machine_share: float = 0.15  # share of answered calls that are answering machines
    amd_accuracy: float = 0.9  # AMD's share of right verdicts, for machines and for people
    busy_share: float = 0.15  # of the calls not answered
    congestion_share: float = 0.03  # of the calls not answered
    ring_time: Dist = field(default_factory=lambda: Dist("lognormal", 12.0, 0.5, 2.0, 40.0))
    no_answer_timeout_s: float = 30.0
    busy_time: Dist = field(default_factory=lambda: Dist("uniform", 4.0, 0.5))
    congestion_time: Dist = field(default_factory=lambda: Dist("uniform", 1.5, 0.5))
    talk_time: Dist = field(default_factory=lambda: Dist("lognormal", 180.0, 1.0, 5.0))
    wrapup_time: Dist = field(default_factory=lambda: Dist("gamma", 5.0, 0.7))
    machine_talk_time: Dist = field(default_factory=lambda: Dist("uniform", 8.0, 0.5))
    patience: Dist = field(default_factory=lambda: Dist("exponential", 8.0, 1.0))
    # Pacing settings shared by every pacer of the run (the mode is per pacer).
    ratio: float = 1.5
    max_lines_per_agent: float = 3.0
    abandon_limit: float = 0.03
    aggressiveness: float = 1.0
    agent_timeout_s: float = 2.0
    # Caps as the engine applies them: calls in flight and originations per second.
    max_in_flight: int | None = None
    max_rate_per_s: float | None = None

    @property
    def duration_s(self) -> float:
        return self.hours * 3600.0

    def answer_rate_at(self, t: float) -> float:
        rate = self.answer_rate[0][1]
        for start, value in self.answer_rate:
            if t >= start:
                rate = value
        return rate


def load_path(name: str) -> Scenario:
    return load(Path(name))


def load(path: Path) -> Scenario:
    """A scenario from a ``.json`` or ``.toml`` file; missing keys keep their defaults."""
    text = path.read_text()
    data = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
    return from_dict(data)


def from_dict(data: dict[str, Any], base: Scenario | None = None) -> Scenario:
    """``base`` (default: the defaults) with the keys of ``data`` replaced."""
    base = base or Scenario()
    known = {f.name for f in fields(Scenario)}
    unknown = set(data) - known
    if unknown:
        raise ValueError(f"unknown scenario keys: {sorted(unknown)}")
    changes: dict[str, Any] = {}
    for key, value in data.items():
        current = getattr(base, key)
        if isinstance(current, Dist):
            changes[key] = _dist(current, value)
        elif key == "agents":
            breaks = tuple(Break(**b) for b in value.get("breaks", []))
            delay = _dist(current.connect_delay, value.get("connect_delay", {}))
            changes[key] = replace(current, **{**value, "breaks": breaks, "connect_delay": delay})
        elif key == "answer_rate":
            changes[key] = _answer_rate(value)
        else:
            changes[key] = value
    return replace(base, **changes)


def _dist(base: Dist, value: dict[str, Any]) -> Dist:
    """``base`` with the keys of ``value`` replaced; only an empirical one keeps values."""
    empirical = value.get("kind", base.kind) == "empirical"
    values = tuple(float(v) for v in value.get("values", base.values if empirical else ()))
    return replace(base, **{**value, "values": values})


def _answer_rate(value: float | list[list[float]]) -> tuple[tuple[float, float], ...]:
    """A single rate, or a day schedule ``[[from_s, rate], ...]``."""
    if isinstance(value, int | float):
        return ((0.0, float(value)),)
    schedule = tuple(sorted((float(t), float(p)) for t, p in value))
    if not schedule:
        raise ValueError("answer_rate: empty schedule")
    return schedule
