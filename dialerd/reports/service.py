"""Reports of a client's campaigns, and the figures of its campaign list (docs/reports.md).

A campaign asked for by ID must be the client's: another client's is not found, and without
an ID only the client's own campaigns are counted.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import asyncpg

from dialerd.reports.figures import (
    AbandonDay,
    AbandonWindow,
    AgentFigures,
    CampaignAbandons,
    CampaignFigures,
    OutcomeDay,
    Period,
    ReportRejected,
)
from dialerd.store import campaigns
from dialerd.store import reports as store

if TYPE_CHECKING:
    from dialerd.store.campaigns import Conn


class ReportNotFound(ReportRejected):
    def __init__(self, campaign_id: int) -> None:
        super().__init__(f"no campaign with ID {campaign_id}")


@dataclass(frozen=True)
class Report:
    """Screen 6: the abandon rates, outcomes and agents of a period."""

    period: Period
    campaign_id: int | None
    abandon: list[AbandonDay]
    outcomes: list[OutcomeDay]
    agents: list[AgentFigures]


async def _check_campaign(conn: Conn, client_id: int, campaign_id: int | None) -> None:
    if campaign_id is not None and await campaigns.get(conn, client_id, campaign_id) is None:
        raise ReportNotFound(campaign_id)


async def report(conn: Conn, client_id: int, campaign_id: int | None, period: Period) -> Report:
    """The report of one campaign of the client, or of all of them (None)."""
    await _check_campaign(conn, client_id, campaign_id)
    rows = await store.report(conn, client_id, campaign_id, period.first, period.last)
    return Report(
        period,
        campaign_id,
        [AbandonDay(**r) for r in rows.abandon],
        [OutcomeDay(**r) for r in rows.outcomes],
        [AgentFigures(**r) for r in rows.agents],
    )


@asynccontextmanager
async def attempts(
    pool: asyncpg.Pool, client_id: int, campaign_id: int | None, period: Period
) -> AsyncGenerator[AsyncGenerator[Sequence[Any], None], None]:
    """The closed attempts of the period in batches, for export.csv_chunks or write_xlsx;
    the campaign is checked first, so a bad one raises before anything is sent."""
    async with pool.acquire() as conn:
        await _check_campaign(conn, client_id, campaign_id)
    batches = store.stream_attempts(pool, client_id, campaign_id, period.first, period.last)
    try:
        yield batches
    finally:
        await batches.aclose()  # a client that went away frees the connection


@dataclass(frozen=True)
class AbandonReport:
    """One campaign's abandon rate by day (and the 30 days ending with each), and the
    pacer's window now: the 30 × 24 hours the predictive pacer holds under the limit."""

    days: list[AbandonDay]
    window: AbandonWindow


async def abandon_report(
    conn: Conn, client_id: int, campaign_id: int, period: Period
) -> AbandonReport:
    await _check_campaign(conn, client_id, campaign_id)
    rows = await store.abandon_by_day(conn, client_id, campaign_id, period.first, period.last)
    window = await store.abandon_window(conn, client_id, campaign_id)
    if window is None:  # deleted meanwhile
        raise ReportNotFound(campaign_id)
    return AbandonReport([AbandonDay(**r) for r in rows], AbandonWindow(**window))


async def campaign_figures(conn: Conn, client_id: int) -> dict[int, CampaignFigures]:
    """The campaign list's figures of every campaign of the client, by campaign ID."""
    return {
        r["campaign_id"]: CampaignFigures(**r)
        for r in await store.campaign_figures(conn, client_id)
    }


async def abandons_of_every_campaign(pool: asyncpg.Pool) -> list[CampaignAbandons]:
    async with pool.acquire() as conn:
        return [CampaignAbandons(**r) for r in await store.metrics_abandons(conn)]
