"""The reports' pure parts: periods, rates, CONNRES and causes in words, the export's cells and
its workbook's sheets."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from python_calamine import CalamineWorkbook

from dialerd.domain import Connres, cause_words, connres_words
from dialerd.reports import export
from dialerd.reports.figures import (
    MAX_DAYS,
    AgentFigures,
    CampaignFigures,
    Period,
    ReportRejected,
    over_limit,
)


def test_period_parse() -> None:
    assert Period.parse("2026-11-01", " 2026-11-30 ") == Period(
        date(2026, 11, 1), date(2026, 11, 30)
    )
    assert Period.parse("2026-11-01", "2026-11-01").days == 1


@pytest.mark.parametrize(
    ("first", "last", "message"),
    [
        ("yesterday", "2026-11-01", "from: not a date (YYYY-MM-DD): 'yesterday'"),
        ("2026-11-01", "2026-13-01", "to: not a date"),
        ("2026-11-02", "2026-11-01", "to: must not be before from"),
        ("2025-01-01", "2026-01-02", f"the range is 367 days; at most {MAX_DAYS}"),
        # asyncpg would send date.min as -infinity: a day series without end
        ("0001-01-01", "0002-01-01", "the days must lie from 1970-01-01 to 9999-12-30"),
        ("9999-12-01", "9999-12-31", "the days must lie from 1970-01-01"),
    ],
)
def test_period_parse_refuses(first: str, last: str, message: str) -> None:
    with pytest.raises(ReportRejected, match=message.replace("(", r"\(").replace(")", r"\)")):
        Period.parse(first, last)


def campaign_figures(**values: Any) -> CampaignFigures:
    zero: dict[str, Any] = {f: 0 for f in CampaignFigures.__dataclass_fields__}
    return CampaignFigures(**{**zero, "campaign_id": 1, "abandon_limit": 0.03, **values})


def test_campaign_rates() -> None:
    f = campaign_figures(
        placed_today=40,
        answered_today=10,
        abandoned_today=1,
        answered_30d=200,
        abandoned_30d=4,
        talk_s_today=2 * 3600,
        agent_s_today=4 * 3600,
    )
    assert (f.answer_rate, f.abandon_rate_today, f.abandon_rate_30d) == (0.25, 0.1, 0.02)
    assert f.talk_minutes_per_agent_hour == 30.0
    assert over_limit(f.abandon_rate_today, f.abandon_limit)
    assert not over_limit(f.abandon_rate_30d, f.abandon_limit)


def test_a_rate_of_nothing_is_none_and_not_over_the_limit() -> None:
    f = campaign_figures(talk_s_today=60)
    assert f.answer_rate is f.abandon_rate_today is f.talk_minutes_per_agent_hour is None
    assert not over_limit(f.abandon_rate_today, 0.03)
    assert not over_limit(0.03, 0.03)  # at the limit is within it


def test_occupancy_is_talk_and_wrapup_over_logged_in_time() -> None:
    agent = AgentFigures("a1", 3, 100.0, 90.0, 30.0, 40.0, 40.0)
    assert (agent.logged_in_s, agent.occupancy) == (200.0, 0.6)
    assert AgentFigures("a2", 1, 5.0, 0, 0, 0, 0).occupancy is None


def test_connres_and_causes_in_words() -> None:
    assert [connres_words(c) for c in Connres] == [
        "not dialled",
        "connected to an agent",
        "no answer",
        "busy",
        "aborted by the dialer",
        "network failure",
        "callee hung up before an agent",
        "error",
    ]
    assert (connres_words(None), connres_words(9)) == ("", "CONNRES 9")
    assert (cause_words(17), cause_words(None), cause_words(250)) == ("user busy", "", "cause 250")


def attempt(attempt_id: int = 7, **values: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": attempt_id,
        "campaign_id": 3,
        "campaign": "Winter",
        "timezone": "America/New_York",
        "contact_id": 11,
        "user_data": "crm-11",
        "phone_number": "+12025550100",
        "phone_number_offset": 2,
        "dt_call_start": datetime(2026, 7, 1, 16, 0, 0, tzinfo=UTC),
        "dt_call_alert": None,
        "dt_call_connect": datetime(2026, 7, 1, 16, 0, 5, tzinfo=UTC),
        "dt_agent_connect": datetime(2026, 7, 1, 16, 0, 6, 250000, tzinfo=UTC),
        "dt_call_end": datetime(2026, 7, 1, 16, 1, 6, 500000, tzinfo=UTC),
        "connres": 1,
        "cause_code": 16,
        "agent": "PJSIP/a1",
        "abandoned": False,
        "machine": False,
        "caller_hangup": None,
    }
    return {**row, **values}


def test_attempt_values_are_in_local_time_with_words() -> None:
    cells = dict(zip(export.COLUMNS, export.attempt_values(attempt()), strict=True))
    assert cells["ended"].isoformat() == "2026-07-01T12:01:06.500000-04:00"  # summer time
    assert (cells["alerted"], cells["talk s"], cells["number slot"]) == (None, 60.25, 2)
    assert (cells["CONNRES in words"], cells["cause in words"]) == (
        "connected to an agent",
        "normal clearing",
    )
    unanswered = export.attempt_values(attempt(dt_agent_connect=None, agent=None, connres=2))
    assert unanswered[export.COLUMNS.index("talk s")] is None


async def batches_of(rows: Sequence[dict[str, Any]], size: int) -> AsyncIterator[list[Any]]:
    for i in range(0, len(rows), size):
        yield list(rows[i : i + size])


async def test_csv_chunks() -> None:
    rows = [attempt(1), attempt(2, abandoned=True, caller_hangup=True, user_data='say "hi", 1')]
    chunks = [c async for c in export.csv_chunks(batches_of(rows, 1))]
    assert len(chunks) == 3  # the header, then one chunk per batch
    lines = b"".join(chunks).decode().split("\r\n")
    assert lines[0].startswith("attempt ID,campaign ID,campaign,contact ID,UserData,number")
    assert lines[2].startswith('2,3,Winter,11,"say ""hi"", 1",+12025550100,2,')
    assert lines[2].endswith(",PJSIP/a1,60.25,true,false,true")
    assert ",2026-07-01T12:00:00.000-04:00,," in lines[1]
    assert lines[1].endswith(",60.25,false,false,") and lines[3] == ""


async def test_a_full_worksheet_goes_on_in_a_new_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(export, "XLSX_MAX_ROWS", 3)  # the header and two attempts
    path = tmp_path / "a.xlsx"
    await export.write_xlsx(batches_of([attempt(i) for i in range(1, 6)], 2), path)
    book = CalamineWorkbook.from_path(str(path))
    assert book.sheet_names == ["attempts", "attempts 2", "attempts 3"]
    ids = [[r[0] for r in book.get_sheet_by_name(n).to_python()] for n in book.sheet_names]
    assert ids == [["attempt ID", 1, 2], ["attempt ID", 3, 4], ["attempt ID", 5]]
