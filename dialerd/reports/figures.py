"""The reports' figures and the rates worked out of them. Pure: no I/O.

A rate of nothing (no live answers, no calls placed, no agent time) is None, shown as a dash:
0% would say the campaign did well.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from dialerd.domain import cause_words, connres_words

MAX_DAYS = 366
"""The longest range a report or an export covers."""
EARLIEST = date(1970, 1, 1)
"""The first day a report or an export may start on."""


class ReportRejected(Exception):
    """A report asked for with bad parameters; the message says which and why."""


def ratio(part: float, whole: float) -> float | None:
    return part / whole if whole else None


@dataclass(frozen=True)
class Period:
    """Days ``first`` to ``last``, both included, in each campaign's time zone."""

    first: date
    last: date

    @classmethod
    def parse(cls, first: str, last: str) -> Period:
        """From ``YYYY-MM-DD`` strings; ReportRejected names the bad one."""
        days = []
        for name, text in (("from", first), ("to", last)):
            try:
                days.append(date.fromisoformat(text.strip()))
            except ValueError:
                raise ReportRejected(f"{name}: not a date (YYYY-MM-DD): {text[:40]!r}") from None
        period = cls(days[0], days[1])
        # asyncpg sends date.min and date.max as -infinity and infinity (a day series that
        # never ends); no call is that old, nor that far ahead.
        if period.first < EARLIEST or period.last >= date.max:
            raise ReportRejected(f"the days must lie from {EARLIEST} to {date.max - timedelta(1)}")
        if period.last < period.first:
            raise ReportRejected("to: must not be before from")
        if period.days > MAX_DAYS:
            raise ReportRejected(f"the range is {period.days} days; at most {MAX_DAYS}")
        return period

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1


@dataclass(frozen=True)
class AbandonDay:
    """One campaign's day, and the 30 days ending with it (the day and the 29 before)."""

    campaign_id: int
    campaign: str
    day: date
    abandon_limit: float
    answered: int  # live answers
    abandoned: int
    answered_30d: int
    abandoned_30d: int

    @property
    def rate(self) -> float | None:
        return ratio(self.abandoned, self.answered)

    @property
    def rate_30d(self) -> float | None:
        return ratio(self.abandoned_30d, self.answered_30d)


@dataclass(frozen=True)
class AbandonWindow:
    """A campaign's live answers and abandoned calls in the pacer's window now: the 30 x 24
    hours up to now."""

    abandon_limit: float
    answered: int
    abandoned: int

    @property
    def rate(self) -> float | None:
        return ratio(self.abandoned, self.answered)


@dataclass(frozen=True)
class OutcomeDay:
    """How many attempts of a day ended with one CONNRES and cause."""

    day: date
    connres: int
    cause: int | None
    attempts: int

    @property
    def connres_words(self) -> str:
        return connres_words(self.connres)

    @property
    def cause_words(self) -> str:
        return cause_words(self.cause)


@dataclass(frozen=True)
class AgentFigures:
    """One agent over the range. ``calls`` and ``talk_s`` from history (calls the agent took,
    agent answer to hang-up); the state seconds from agent_minutes."""

    agent: str
    calls: int
    talk_s: float
    state_talk_s: float
    wrapup_s: float
    ready_s: float
    paused_s: float

    @property
    def logged_in_s(self) -> float:
        return self.state_talk_s + self.wrapup_s + self.ready_s + self.paused_s

    @property
    def occupancy(self) -> float | None:
        """Talk and wrap-up over logged-in time (paused included), from agent_minutes."""
        return ratio(self.state_talk_s + self.wrapup_s, self.logged_in_s)


@dataclass(frozen=True)
class CampaignFigures:
    """A campaign's figures on the campaign list (docs/reports.md)."""

    campaign_id: int
    abandon_limit: float
    due_now: int
    open: int  # left to call: every open contact, due now or later, locked or not
    done: int
    finished: int
    placed_today: int
    answered_today: int  # live answers
    abandoned_today: int
    answered_30d: int
    abandoned_30d: int
    talk_s_today: float
    agent_s_today: float  # logged-in agent time

    @property
    def answer_rate(self) -> float | None:
        """Today's live answers over today's calls placed."""
        return ratio(self.answered_today, self.placed_today)

    @property
    def abandon_rate_today(self) -> float | None:
        return ratio(self.abandoned_today, self.answered_today)

    @property
    def abandon_rate_30d(self) -> float | None:
        return ratio(self.abandoned_30d, self.answered_30d)

    @property
    def talk_minutes_per_agent_hour(self) -> float | None:
        return ratio(self.talk_s_today / 60, self.agent_s_today / 3600)


@dataclass(frozen=True)
class CampaignAbandons:
    """A campaign's abandon rates for /metrics: today and over the 30 days, against its limit."""

    campaign_id: int
    client_id: int
    name: str
    abandon_limit: float
    answered_today: int
    abandoned_today: int
    answered_30d: int
    abandoned_30d: int

    @property
    def rate_today(self) -> float | None:
        return ratio(self.abandoned_today, self.answered_today)

    @property
    def rate_30d(self) -> float | None:
        return ratio(self.abandoned_30d, self.answered_30d)


def over_limit(rate: float | None, limit: float) -> bool:
    """Whether an abandon rate is above the campaign's limit (a rate of nothing is not)."""
    return rate is not None and rate > limit
