"""Simulation results as a table, as JSON, and as a plot."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from dialerd.simulator.scenario import Dist
from dialerd.simulator.sim import BIN_S, Result

Row = tuple[str, Callable[[dict[str, float | int | str]], str]]


def _pct(key: str) -> Callable[[dict[str, float | int | str]], str]:
    return lambda s: f"{100 * float(s[key]):.2f}%"


def _num(key: str, digits: int = 1) -> Callable[[dict[str, float | int | str]], str]:
    return lambda s: f"{float(s[key]):.{digits}f}"


ROWS: list[Row] = [
    ("occupancy (talk / logged in)", _pct("occupancy")),
    ("talk min per agent-hour", _num("talk_min_per_agent_hour")),
    ("agent wait between calls, mean s", _num("agent_wait_mean_s")),
    ("agent wait between calls, p95 s", _num("agent_wait_p95_s")),
    ("calls placed", _num("placed", 0)),
    ("live answers", _num("answered", 0)),
    ("machines (detected)", _num("machines", 0)),
    ("people hung up on as machines", _num("amd_false_positives", 0)),
    ("connected", _num("connected", 0)),
    ("abandoned", _num("abandoned", 0)),
    ("abandon rate", _pct("abandon_rate")),
    ("abandon rate, worst rolling day", _pct("abandon_rate_worst_day")),
    ("abandon rate, worst rolling hour", _pct("abandon_rate_worst_hour")),
    ("answer to agent, p95 s", _num("answer_to_agent_p95_s", 2)),
]


def wrapup_line(wrapup: Dist) -> str:
    """Which wrap-up the scenario gave the run."""
    d = wrapup.describe()
    if wrapup.kind == "empirical":
        shape = f"{d['n']} values, median {d['median_s']:.1f} s, p90 {d['p90_s']:.1f} s"
    else:
        shape = f"mean {d['mean_s']:.1f} s, cv {d['cv']:.2f}"
    return f"wrap-up: the scenario's, {wrapup.kind}, {shape}"


def table(results: list[Result]) -> str:
    """Metrics as rows, one column per pacer."""
    summaries = [r.summary() for r in results]
    header = ["", *(str(s["pacer"]) for s in summaries)]
    body = [[label, *(fmt(s) for s in summaries)] for label, fmt in ROWS]
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        first = cells[0].ljust(widths[0])
        return "  ".join([first, *(c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True))])

    return "\n".join([line(header), *(line(row) for row in body)])


def plot(results: list[Result], path: Path) -> None:
    """A PNG of occupancy and of the abandon rate so far, over the day. Needs matplotlib
    (not a dependency of dialerd)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (occupancy, abandon) = plt.subplots(2, 1, sharex=True, figsize=(9, 6))
    for r in results:
        hours = [(i + 0.5) * BIN_S / 3600 for i in range(len(r.bin_occupancy))]
        occupancy.plot(hours, [100 * o for o in r.bin_occupancy], label=r.pacer)
        answered = abandoned = 0
        so_far = []
        for a, b in zip(r.bin_answered, r.bin_abandoned, strict=True):
            answered, abandoned = answered + a, abandoned + b
            so_far.append(100 * abandoned / answered if answered else 0.0)
        abandon.plot(hours, so_far, label=r.pacer)
    occupancy.set_ylabel("occupancy, %")
    abandon.set_ylabel("abandon rate so far, %")
    abandon.set_xlabel("hour of the day")
    occupancy.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
