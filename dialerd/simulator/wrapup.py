"""The wrap-up of a real installation: its agents' after-call work as the history has it,
turned into the simulator's wrap-up distribution.

The engine's feed counts after-call work as wrap-up (``dialerd/dialer/feed.py``): an agent is
ready again when it is done, when the campaign's wrap-up limit ends the work, or when it
pauses. So the length of each closed period is the time that agent was kept from calls, and
the simulator draws its wrap-ups from those lengths, each as likely (an empirical
distribution). Periods the limit cut are kept at their length: the real agent was made ready
then too, so nothing longer can happen under that limit. Periods still open are left out:
their end is not known yet.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from dialerd.simulator.scenario import Dist, quantile
from dialerd.store.agents import AfterCallPeriod

NO_CODE = "no result code"


@dataclass(frozen=True)
class CodeTime:
    """The after-call work of the calls given one result code."""

    code: str
    n: int
    median_s: float
    p90_s: float


@dataclass(frozen=True)
class ObservedWrapup:
    """Closed after-call periods of a campaign (None: of every campaign) begun in
    [``since``, ``until``)."""

    campaign_id: int | None
    since: datetime
    until: datetime
    values: tuple[float, ...]  # the closed periods' lengths, s, oldest first
    cut: int  # of them, ended by their campaign's wrap-up limit
    still_open: int  # left out
    by_code: tuple[CodeTime, ...]  # most frequent first

    def dist(self) -> Dist:
        return Dist("empirical", values=self.values)

    def summary(self) -> dict[str, object]:
        return {
            **self.dist().describe(),
            "campaign": self.campaign_id,
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "cut_by_limit": self.cut,
            "still_open_left_out": self.still_open,
            "by_result_code": [vars(c) for c in self.by_code],
        }

    def lines(self) -> list[str]:
        of = f"campaign {self.campaign_id}" if self.campaign_id is not None else "every campaign"
        d = self.dist().describe()
        head = (
            f"wrap-up: the after-call work of {of} begun {self.since:%Y-%m-%d %H:%M} to "
            f"{self.until:%Y-%m-%d %H:%M %Z}: {d['n']} periods, median {d['median_s']:.1f} s, "
            f"p90 {d['p90_s']:.1f} s ({self.cut} cut by the wrap-up limit, "
            f"{self.still_open} still open left out)"
        )
        return [head] + [
            f"  {c.code}: {c.n}, median {c.median_s:.1f} s, p90 {c.p90_s:.1f} s"
            for c in self.by_code
        ]


def observed(
    periods: Sequence[AfterCallPeriod], campaign_id: int | None, since: datetime, until: datetime
) -> ObservedWrapup:
    """The wrap-up the periods show; a ValueError when none of them is closed."""
    closed = [(p, p.seconds) for p in periods if p.seconds is not None]
    if not closed:
        of = f"campaign {campaign_id}" if campaign_id is not None else "any campaign"
        raise ValueError(
            f"no closed after-call work of {of} began from {since.isoformat()} to "
            f"{until.isoformat()}: nothing to take the wrap-up from"
        )
    by_code: dict[str, list[float]] = defaultdict(list)
    for p, seconds in closed:
        code = NO_CODE if p.result_code is None else f"{p.result_code} (code {p.result_code_id})"
        by_code[code].append(seconds)
    codes = sorted(by_code.items(), key=lambda item: (-len(item[1]), item[0]))
    return ObservedWrapup(
        campaign_id,
        since,
        until,
        tuple(seconds for _, seconds in closed),
        sum(1 for p, seconds in closed if seconds >= p.wrapup_limit_s),
        len(periods) - len(closed),
        tuple(CodeTime(code, len(v), quantile(v, 0.5), quantile(v, 0.9)) for code, v in codes),
    )
