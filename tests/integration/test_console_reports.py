"""The console's reports over HTTP on a real Postgres: a viewer reads them, bad input is said
next to its field, another client's campaign is not there, the downloads are the attempts."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import asyncpg
from python_calamine import CalamineWorkbook

from dialerd.domain import Connres, Role
from dialerd.reports import export
from tests.conftest import Console
from tests.integration.test_reports import (
    DAY,
    abandoned_call,
    add_attempt,
    answered_call,
    oslo,
    oslo_campaign,
)

RANGE = f"from={DAY}&to={DAY}"


async def history(pool: asyncpg.Pool) -> tuple[int, int]:
    """Client 1's campaign with one answered and one abandoned call on DAY (50% abandoned,
    over its 3% limit), and client 2's campaign with a busy call."""
    mine, contact = await oslo_campaign(pool, "<b>Winter</b>")
    await answered_call(pool, contact, oslo(DAY, 10))
    await abandoned_call(pool, contact, oslo(DAY, 11))
    theirs, their_contact = await oslo_campaign(pool, "Theirs")
    await pool.execute("UPDATE campaigns SET client_id = 2 WHERE id = $1", theirs)
    await add_attempt(pool, their_contact, oslo(DAY, 12), Connres.BUSY, 17)
    return mine, theirs


async def test_a_viewer_reads_the_report(console: Console, pool: asyncpg.Pool) -> None:
    mine, _ = await history(pool)
    await console.add_user("vera", Role.VIEWER)
    await console.sign_in("vera")
    status, _, body = await console.get(f"/console/reports?{RANGE}&campaign={mine}")
    assert status == 200
    assert "&lt;b&gt;Winter&lt;/b&gt;" in body and "<b>Winter</b>" not in body
    row = re.search(rf'<tr data-campaign="{mine}" data-day="{DAY}">(.*?)</tr>', body, re.S)
    assert row, body
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row.group(1), re.S)
    assert cells[2:4] == ["2", "1"]
    assert "50.00\u00a0% · over the limit" in cells[4] and 'class="state bad"' in cells[4]
    assert cells[8] == "3.0\u00a0%"
    assert "connected to an agent" in body and "aborted by the dialer" in body
    assert "Theirs" not in body  # nor in the campaign picker
    assert f"/console/reports/attempts.csv?from={DAY}&amp;to={DAY}&amp;campaign={mine}" in body
    # All campaigns of the client: the other client's busy call is not among the outcomes.
    status, _, body = await console.get(f"/console/reports?{RANGE}")
    assert status == 200 and "user busy" not in body


async def test_bad_input_is_said_next_to_its_field(console: Console, pool: asyncpg.Pool) -> None:
    _, theirs = await history(pool)
    await console.add_user("vera", Role.VIEWER)
    await console.sign_in("vera")
    status, _, body = await console.get("/console/reports?from=2026-11-31&to=2026-12-01")
    assert status == 400
    assert 'id="err-from">from: not a date (YYYY-MM-DD): &#39;2026-11-31&#39;</p>' in body
    assert 'id="from" name="from" value="2026-11-31" required aria-invalid="true"' in body
    status, _, body = await console.get(f"/console/reports?{RANGE}&campaign={theirs}")
    assert status == 404  # another client's campaign is a missing one, as in the exports
    assert f'id="err-campaign">no campaign with ID {theirs}</p>' in body
    # an ID no campaign can have (campaigns.id is an integer) is a missing one too
    status, _, body = await console.get(f"/console/reports?{RANGE}&campaign={2**31}")
    assert status == 404 and f'id="err-campaign">no campaign with ID {2**31}</p>' in body
    status, _, body = await console.get("/console/reports?from=2026-12-02&to=2026-12-01")
    assert status == 400 and 'id="err-to">to: must not be before from</p>' in body
    status, _, body = await console.get("/console/reports?from=2025-01-01&to=2026-01-02")
    assert status == 400 and 'role="alert">the range is 367 days; at most 366</p>' in body
    for path, missing in [
        (f"/console/reports/attempts.{kind}?{RANGE}&campaign={c}", c)
        for kind in ("csv", "xlsx")
        for c in (theirs, 2**31)
    ]:
        status, _, body = await console.get(path)
        assert status == 404 and f"<p>no campaign with ID {missing}</p>" in body
    status, _, body = await console.get("/console/reports/attempts.csv?from=x&to=2026-12-01")
    assert status == 400 and "<p>from: not a date (YYYY-MM-DD): &#39;x&#39;</p>" in body
    exports = "SELECT count(*) FROM audit_log WHERE action = 'report.export'"
    assert await pool.fetchval(exports) == 0  # nothing was exported


async def test_the_downloads_are_the_attempts(console: Console, pool: asyncpg.Pool) -> None:
    mine, _ = await history(pool)
    await console.add_user("vera", Role.VIEWER)
    await console.sign_in("vera")
    resp = await console.client.get(f"/console/reports/attempts.csv?{RANGE}")
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert resp.headers["Content-Disposition"] == (
        f'attachment; filename="attempts-{DAY}-to-{DAY}.csv"'
    )
    rows = list(csv.DictReader(io.StringIO(await resp.text())))
    assert [(r["campaign ID"], r["CONNRES"], r["abandoned"]) for r in rows] == [
        (str(mine), "1", "false"),
        (str(mine), "4", "true"),
    ]

    resp = await console.client.get(f"/console/reports/attempts.xlsx?{RANGE}&campaign={mine}")
    assert resp.status == 200
    assert resp.headers["Content-Disposition"] == (
        f'attachment; filename="attempts-campaign-{mine}-{DAY}-to-{DAY}.xlsx"'
    )
    sheet = CalamineWorkbook.from_filelike(io.BytesIO(await resp.read())).get_sheet_by_name(
        "attempts"
    )
    cells = sheet.to_python()
    assert tuple(cells[0]) == export.COLUMNS
    assert [(r[1], r[13], r[14]) for r in cells[1:]] == [
        (mine, 1, "connected to an agent"),
        (mine, 4, "aborted by the dialer"),
    ]

    logged = await pool.fetch(
        "SELECT action, target, detail->>'format' AS format FROM audit_log ORDER BY id"
    )
    assert [tuple(r) for r in logged] == [
        ("user.sign_in", "user vera", None),
        ("report.export", "all campaigns", "csv"),
        ("report.export", f"campaign {mine}", "xlsx"),
    ]


async def test_an_empty_range_says_what_to_do(console: Console, pool: asyncpg.Pool) -> None:
    await history(pool)
    await console.add_user("vera", Role.VIEWER)
    await console.sign_in("vera")
    later = DAY + timedelta(days=40)
    status, _, body = await console.get(f"/console/reports?from={later}&to={later}")
    assert status == 200
    assert "No call ended on these days. Pick other days or another campaign." in body
    assert "No agent took a call or was logged in on these days." in body
