"""The workspace's pure parts: the CRM link, the agent's moves, what the engines' views say of
an agent's phone and which engine carries out its actions, the result form's callback time."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from dialerd.domain import AgentActionKind, AgentStatus, TransferKind
from dialerd.wallboard.merge import STALE_S, InstanceView
from dialerd.workspace.callback import callback_time, callback_zone, zone_label
from dialerd.workspace.crm import crm_url, template_error
from dialerd.workspace.moves import Phone, engine_for, may_move, phone_of, transfer_target

TEMPLATE = "https://crm.example/customer?id={systemLookupCode}&c={extCustId}"


def test_a_crm_link_gets_every_value_url_encoded() -> None:
    url = crm_url(TEMPLATE, {"systemLookupCode": "a b&x=1/#", "extCustId": "ÆØ"})
    assert url == "https://crm.example/customer?id=a%20b%26x%3D1%2F%23&c=%C3%86%C3%98"


def test_a_crm_link_without_a_value_it_needs_is_none() -> None:
    assert crm_url(TEMPLATE, {"systemLookupCode": "17", "extCustId": None}) is None
    assert crm_url("https://crm.example/{contactId}", {"contactId": 5}) == "https://crm.example/5"


@pytest.mark.parametrize(
    ("template", "error"),
    [
        ("https://crm.example/?id={nope}", "Unknown placeholder {nope}"),
        ("javascript:alert(1)//{extCustId}", "starts with https://"),
        ("https://{systemCode}.example/", "host cannot be a placeholder"),
        ("https://crm.example/ {extCustId}", "no spaces"),
        ("https://crm.example/{extCustId", "braces"),
    ],
)
def test_a_bad_crm_template_is_refused(template: str, error: str) -> None:
    found = template_error(template)
    assert found is not None and error in found


def test_a_good_crm_template_is_taken() -> None:
    assert template_error(TEMPLATE) is None


def test_the_moves_of_an_agent() -> None:
    assert may_move(AgentActionKind.SIGN_IN, None) and may_move(
        AgentActionKind.SIGN_IN, AgentStatus.OUT
    )
    assert not may_move(AgentActionKind.SIGN_IN, AgentStatus.READY)
    assert may_move(AgentActionKind.PAUSE, AgentStatus.AFTER_CALL)
    assert not may_move(AgentActionKind.PAUSE, AgentStatus.OUT)
    assert may_move(AgentActionKind.READY, AgentStatus.AFTER_CALL)
    assert not may_move(AgentActionKind.READY, AgentStatus.READY)
    assert not may_move(AgentActionKind.SIGN_OUT, None)


def _view(
    instance: str,
    agents: list[dict[str, Any]],
    *,
    client: int = 1,
    age: float = 1.0,
    connected: bool = True,
) -> InstanceView:
    return InstanceView(
        instance,
        {
            "pbx": {"connected": connected},
            "campaigns": [{"id": 7, "client_id": client, "agents": agents}],
        },
        age,
    )


def _agent(state: str, attempt: int | None = None, who: str = "PJSIP/agent1") -> dict[str, Any]:
    return {
        "agent": who,
        "state": state,
        "since": 10.0,
        "pause_reason": "",
        "attempt_id": attempt,
        "number": "+4799" if attempt else None,
    }


def test_the_agent_s_phone_is_the_engine_s_whose_call_it_is() -> None:
    views = [
        _view("a", [_agent("free")]),
        _view("b", [_agent("talking", 17)]),
        _view("c", [_agent("talking", 99, who="PJSIP/agent2")]),
    ]
    assert phone_of(views, 1, "PJSIP/agent1") == Phone("talking", 10.0, "", 17, 7, "+4799", "b")
    assert engine_for(views, 1, "PJSIP/agent1") == "b"


def test_other_clients_and_stale_or_cut_off_engines_show_nothing() -> None:
    views = [
        _view("a", [_agent("talking", 17)], client=2),
        _view("b", [_agent("talking", 18)], age=STALE_S + 1),
        _view("c", [_agent("talking", 19)], connected=False),
    ]
    assert phone_of(views, 1, "PJSIP/agent1") == Phone("")
    assert engine_for(views[1:], 1, "PJSIP/agent1") is None
    # an agent not in any queue yet: any running engine signs it in (engines serve all clients)
    assert engine_for(views, 1, "PJSIP/agent1") == "a"


def test_a_callback_s_time_is_the_callee_s_where_its_number_tells() -> None:
    def zone(number: str, campaign_zone: str) -> str:
        return callback_zone(number, campaign_zone, datetime(2026, 12, 1, tzinfo=UTC))

    assert zone("+4930100000", "UTC") == "Europe/Berlin"
    assert zone("+12125550123", "Europe/Oslo") == "America/New_York"
    # Oslo's and Longyearbyen's: the campaign's where it is one of them, else one clock.
    assert zone("+4791234567", "Europe/Oslo") == "Europe/Oslo"
    assert zone("+4791234567", "America/Chicago") == "Arctic/Longyearbyen"
    # A country whose zones differ, or a number that does not tell: the campaign's zone.
    assert zone("+79161234567", "Asia/Tokyo") == "Asia/Tokyo"
    assert zone("+79161234567", "Europe/Moscow") == "Europe/Moscow"
    assert zone("+15555550123", "Europe/Oslo") == "Europe/Oslo"


def test_the_form_s_date_and_time_are_read_in_the_zone() -> None:
    at = callback_time("2026-12-24", "10:00", "Europe/Berlin")
    assert at == datetime(2026, 12, 24, 9, 0, tzinfo=UTC)
    assert at is not None and at.tzinfo == ZoneInfo("Europe/Berlin")
    summer = callback_time(" 2026-07-01 ", "10:30", "Europe/Berlin")
    assert summer == datetime(2026, 7, 1, 8, 30, tzinfo=UTC)
    assert callback_time("", " ", "Europe/Berlin") is None  # the result's rule says what is missing


@pytest.mark.parametrize(
    ("day", "at", "error"),
    [
        ("2026-12-24", "", "a callback needs its date and its time"),
        ("", "10:00", "a callback needs its date and its time"),
        ("24.12.2026", "10:00", "the callback's date '24.12.2026' is not a date like 2026-12-24"),
        ("2026-02-30", "10:00", "the callback's date '2026-02-30' is not a date"),
        ("2026-12-24", "25:00", "the callback's time '25:00' is not a time like 10:00"),
    ],
)
def test_a_bad_date_or_time_says_which(day: str, at: str, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        callback_time(day, at, "Europe/Berlin")


def test_the_zone_is_named_with_its_offset_then() -> None:
    assert (
        zone_label("Europe/Berlin", datetime(2026, 7, 1, tzinfo=UTC)) == "Europe/Berlin, UTC+02:00"
    )
    assert zone_label("America/New_York", datetime(2026, 12, 1, tzinfo=UTC)) == (
        "America/New_York, UTC-05:00"
    )


@pytest.mark.parametrize(
    ("kind", "raw", "region", "expected"),
    [
        (TransferKind.NUMBER, " +49 30 1234567 ", None, "+49301234567"),
        (TransferKind.NUMBER, "030 1234567", "DE", "+49301234567"),  # the campaign's region
        (TransferKind.QUEUE, "sales", None, "sales"),
    ],
)
def test_a_transfer_goes_to_a_number_in_e164_or_one_of_the_client_s_queues(
    kind: TransferKind, raw: str, region: str | None, expected: str
) -> None:
    assert transfer_target(kind, raw, region, ["sales", "support"], "support") == expected


@pytest.mark.parametrize(
    ("kind", "raw", "error"),
    [
        (TransferKind.NUMBER, "030 1234567", "is not a valid phone number"),  # no region
        (TransferKind.NUMBER, "+49 3", "is not a valid phone number"),
        (TransferKind.NUMBER, "", "is not a valid phone number"),
        (TransferKind.QUEUE, "support", "The call is in support already"),
        (TransferKind.QUEUE, "lab-other", "is not one of your queues"),
    ],
)
def test_a_transfer_to_a_bad_number_or_queue_is_refused(
    kind: TransferKind, raw: str, error: str
) -> None:
    with pytest.raises(ValueError, match=error):
        transfer_target(kind, raw, None, ["sales", "support"], "support")
