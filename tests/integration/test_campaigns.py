"""Campaigns: the HTTP endpoints and the ``dialerd campaign`` command."""

from __future__ import annotations

from typing import Any

import asyncpg
import orjson
import pytest
import structlog

from dialerd.cli import build_parser
from dialerd.config import Settings
from tests.conftest import Api

FULL = {
    "Name": "Winter sale",
    "Queue": "sales",
    "DialString": "PJSIP/{number}@trunk",
    "CallerID": '"Acme" <+4722334455>',
    "DialMode": "predictive",
    "DialRatio": 2.0,
    "MaxLinesPerAgent": 4,
    "AbandonLimit": 0.05,
    "Aggressiveness": 1.2,
    "MaxCallsInFlight": 50,
    "MaxOriginateRate": 10,
    "RingTimeoutSeconds": 25,
    "AgentTimeoutSeconds": 3,
    "bAmdEnabled": True,
    "MachineAction": "message",
    "WindowStart": "09:00",
    "WindowEnd": "17:30",
    "WindowDays": [5, 1, 2],
    "Timezone": "Europe/Oslo",
    "DefaultRegion": "no",
    "MaxAttempts": 5,
    "MinCallIntervalHours": 2.5,
    "RetryMinutes": {"2": 30, "3": 5},
    "CallbackGraceSeconds": 120,
    "bActive": False,
}


async def test_create_show_list_round_trip(api: Api) -> None:
    status, body = await api.request("POST", "/dialler/campaigns", json=FULL)
    assert status == 200, body
    created = body["records"][0]
    assert created["WindowDays"] == [1, 2, 5] and created["DefaultRegion"] == "NO"
    assert {
        k: v for k, v in created.items() if k in FULL and k not in ("WindowDays", "DefaultRegion")
    } == {k: v for k, v in FULL.items() if k not in ("WindowDays", "DefaultRegion")}
    status, shown = await api.request("GET", f"/dialler/campaigns/{created['ID']}")
    assert (status, shown) == (200, {"records": [created], "count": 1, "status": 200})
    status, listed = await api.request("GET", "/dialler/campaigns")
    assert status == 200 and listed["records"] == [created] and listed["count"] == 1
    assert listed["limitPageSize"] == -1 and listed["orderBy"] == "Name"


async def test_defaults_and_an_explicit_id_then_the_next_free_one(api: Api) -> None:
    status, body = await api.request("POST", "/dialler/campaigns", json={"Name": "A", "ID": 123})
    assert status == 200 and body["records"][0]["ID"] == 123
    assert body["records"][0]["DialMode"] == "progressive"
    assert body["records"][0]["WindowStart"] == "08:00" and body["records"][0]["bActive"] is True
    status, body = await api.request("POST", "/dialler/campaigns", json={"Name": "B"})
    assert status == 200 and body["records"][0]["ID"] == 124


async def test_patch_changes_only_what_is_sent_and_null_clears(api: Api) -> None:
    _, body = await api.request("POST", "/dialler/campaigns", json=FULL)
    cid = body["records"][0]["ID"]
    status, body = await api.request(
        "PATCH", f"/dialler/campaigns/{cid}", json={"Queue": None, "bActive": True}
    )
    assert status == 200, body
    rec = body["records"][0]
    assert rec["Queue"] is None and rec["bActive"] is True and rec["DialMode"] == "predictive"


BAD: list[tuple[Any, str]] = [
    ({}, "Name"),
    ({"Name": ""}, "Name"),
    ({"Name": "x", "DialMode": "turbo"}, "DialMode"),
    ({"Name": "x", "DialString": "PJSIP/trunk"}, "DialString"),
    ({"Name": "x", "MaxAttempts": "3"}, "MaxAttempts"),
    ({"Name": "x", "MaxAttempts": 0}, "MaxAttempts"),
    ({"Name": "x", "AbandonLimit": 1}, "AbandonLimit"),
    ({"Name": "x", "WindowStart": "21:00"}, "WindowStart"),
    ({"Name": "x", "WindowDays": [0]}, "WindowDays"),
    ({"Name": "x", "WindowDays": [1, 1]}, "WindowDays"),
    ({"Name": "x", "Timezone": "Mars/Base"}, "Timezone"),
    ({"Name": "x", "DefaultRegion": "XX"}, "DefaultRegion"),
    ({"Name": "x", "RetryMinutes": {"9": 1}}, "RetryMinutes"),
    ({"Name": "x", "CallbackGraceSeconds": -1}, "CallbackGraceSeconds"),
    ({"Name": "x", "CallerID": "a\r\nAction: Hangup"}, "CallerID"),
    ({"Name": "x", "Colour": "red"}, "Colour"),
    # Bounded as a `real` column stores them (these were 500s): 0 there, and 1 there.
    ({"Name": "x", "AbandonLimit": 2.2e-309}, "AbandonLimit"),
    ({"Name": "x", "AbandonLimit": 0.99999999}, "AbandonLimit"),
    ({"Name": "x", "DialRatio": 1e-50}, "DialRatio"),
    # A local time: an offset could not be compared with the other end (a 500).
    ({"Name": "x", "WindowEnd": "00:00:00Z"}, "WindowEnd"),
    ({"Name": "x", "ID": "7"}, "ID"),
    ([1, 2], "object"),
]


async def test_bad_settings_are_400_naming_the_field(api: Api) -> None:
    for payload, needle in BAD:
        status, body = await api.request("POST", "/dialler/campaigns", json=payload)
        assert status == 400 and body["status"] == 400 and needle in body["error"], body
    assert (await api.request("GET", "/dialler/campaigns"))[1]["count"] == 0


async def test_malformed_json_unknown_id_duplicate_name_and_other_clients(
    api: Api, pool: asyncpg.Pool
) -> None:
    status, body = await api.request("POST", "/dialler/campaigns", data=b"{nope")
    assert status == 400 and "JSON" in body["error"]
    assert (await api.request("GET", "/dialler/campaigns/99"))[0] == 404
    assert (await api.request("PATCH", "/dialler/campaigns/99", json={}))[0] == 404
    assert (await api.request("GET", "/dialler/campaigns/99999999999"))[0] == 404
    assert (await api.request("POST", "/dialler/campaigns", json={"Name": "Ünïcødé ☎"}))[0] == 200
    status, body = await api.request("POST", "/dialler/campaigns", json={"Name": "Ünïcødé ☎"})
    assert (status, body["status"]) == (409, 409)
    _, body = await api.request("POST", "/dialler/campaigns", json={"Name": "Other"})
    cid = body["records"][0]["ID"]
    status, _ = await api.request("PATCH", f"/dialler/campaigns/{cid}", json={"Name": "Ünïcødé ☎"})
    assert status == 409
    await pool.execute("UPDATE campaigns SET client_id = 2 WHERE id = $1", cid)
    assert (await api.request("GET", f"/dialler/campaigns/{cid}"))[0] == 404
    assert (await api.request("GET", "/dialler/campaigns"))[1]["count"] == 1


async def test_cli_create_update_list_show(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    db = ["--name", "Cli", "--queue", "q1", "--dial-string", "Local/{number}@out"]
    db += ["--caller-id", '"Cli" <+4722334455>']
    assert (
        await _cli(settings, "campaign", "create", "--id", "7", *db, "--window-days", "[6,7]") == 0
    )
    created = orjson.loads(capsys.readouterr().out)
    assert created["ID"] == 7 and created["WindowDays"] == [6, 7] and created["Queue"] == "q1"
    args = [
        "campaign",
        "update",
        "7",
        "--queue",
        "",
        "--max-attempts",
        "9",
        "--amd-enabled",
        "true",
    ]
    assert await _cli(settings, *args) == 0
    updated = orjson.loads(capsys.readouterr().out)
    assert updated["Queue"] is None and updated["MaxAttempts"] == 9 and updated["bAmdEnabled"]
    assert await _cli(settings, "campaign", "show", "7") == 0
    assert orjson.loads(capsys.readouterr().out) == updated
    assert await _cli(settings, "campaign", "list") == 0
    assert orjson.loads(capsys.readouterr().out) == [updated]
    assert await _cli(settings, "campaign", "update", "7", "--max-attempts", "0") == 1
    assert "MaxAttempts" in capsys.readouterr().err
    # Active with a dial string: a caller ID stays set (docs/compliance.md).
    assert await _cli(settings, "campaign", "update", "7", "--caller-id", "") == 1
    assert "CallerID: an active campaign must send a caller ID" in capsys.readouterr().err
    assert await _cli(settings, "campaign", "show", "8") == 1


async def _cli(settings: Settings, *argv: str) -> int:
    """Runs ``dialerd`` in this event loop (main() would start its own); its logs are kept
    apart so that stdout is the command's JSON alone."""
    args = build_parser().parse_args(argv)
    with structlog.testing.capture_logs():
        result: int = await args.run(args, settings)
    return result
