"""The calltask request rules without a database: every status code, their order, the plan."""

from __future__ import annotations

from typing import Any

import pytest

from dialerd.calltasks.errors import CalltaskError
from dialerd.calltasks.validate import Setup, latest_per_key, validate
from tests.unit.fakes import campaign

READY = Setup(
    system_known=True,
    campaign=campaign(123, queue="sales", dial_string="PJSIP/{number}@trunk", default_region="NO"),
    info_fields=frozenset({216}),
)


def body(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "systemCode": "MY_SYSTEM",
        "callCode": 123,
        "maxCallAttempts": 3,
        "minCallIntervalHours": 12,
        "callTasks": [{"callReceiverName": "Kari", "callNumberList": ["+4791234567"]}],
    }
    for key, value in changes.items():
        if value is ...:
            del base[key]
        else:
            base[key] = value
    return base


def code_of(payload: dict[str, Any], setup: Setup = READY) -> int:
    with pytest.raises(CalltaskError) as caught:
        validate(payload, setup)
    return caught.value.status_code


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"systemCode": ...}, 3),
        ({"systemCode": ""}, 3),
        ({"systemCode": None}, 3),
        ({"systemCode": 7}, 4),
        ({"systemCode": "x" * 256}, 4),
        ({"systemCode": "MY\x00SYSTEM"}, 4),  # Postgres text holds no NUL (it was a 500)
        ({"callCode": ...}, 5),
        ({"callCode": "123"}, 6),
        ({"callCode": 12.5}, 6),
        ({"callCode": True}, 6),
        ({"callCode": 2**31}, 6),
        ({"maxCallAttempts": ...}, 7),
        ({"maxCallAttempts": "3"}, 8),
        ({"maxCallAttempts": 0}, 8),
        ({"maxCallAttempts": 3.0}, 8),
        ({"minCallIntervalHours": ...}, 9),
        ({"minCallIntervalHours": -1}, 10),
        ({"minCallIntervalHours": "12"}, 10),
        ({"callTasks": ...}, 11),
        ({"callTasks": []}, 11),
        ({"callTasks": {"callReceiverName": "x"}}, 11),
        ({"callTasks": ["not an object"]}, 2),
        ({"callTasks": [{"callReceiverName": "x", "extCustId": [1]}]}, 2),
        ({"callTasks": [{"callReceiverName": "x", "systemLookupCode": {}}]}, 2),
        ({"callTasks": [{"callReceiverName": "x", "extCustId": "a\x00b"}]}, 2),
        ({"callTasks": [{"callReceiverName": "x", "properties": "Oslo"}]}, 2),
        ({"callTasks": [{"callReceiverName": "x", "properties": [{"value": "x"}]}]}, 2),
        ({"callTasks": [{"properties": {"emprId": 999, "value": "x"}}]}, 12),
    ],
)
def test_request_level_codes(changes: dict[str, Any], code: int) -> None:
    assert code_of(body(**changes)) == code


def test_codes_that_come_from_the_store() -> None:
    assert code_of(body(), Setup(False, READY.campaign, READY.info_fields)) == 4
    assert code_of(body(), Setup(True, None, READY.info_fields)) == 6
    for queue, dial in ((None, "PJSIP/{number}@t"), ("q", None), ("", "")):
        incomplete = campaign(123, queue=queue, dial_string=dial)
        assert code_of(body(), Setup(True, incomplete, frozenset())) == 12


def test_the_first_error_in_the_table_order_is_reported() -> None:
    assert code_of(body(systemCode=..., callCode=..., callTasks=...)) == 3
    assert code_of(body(callCode="x", maxCallAttempts=...)) == 6
    assert code_of(body(maxCallAttempts=0, minCallIntervalHours=...)) == 8
    # A malformed task (2) comes before a missing systemCode (3).
    assert code_of(body(systemCode=..., callTasks=[1])) == 2
    # An incomplete campaign and an undefined info field are both 12; neither beats 11.
    no_queue = Setup(True, campaign(123, queue=None, dial_string=None), frozenset())
    assert code_of(body(callTasks=[]), no_queue) == 11


def test_per_task_errors_carry_every_code_and_the_valid_tasks_go_on() -> None:
    plan = validate(
        body(
            callTasks=[
                {"callReceiverName": "Ok", "callNumberList": ["91234567"]},  # region NO
                {},
                {"callReceiverName": "  ", "callNumberList": ["+47 abc"]},
                {"callReceiverName": 5, "callNumberList": "+4791234567"},
                {"callReceiverName": "x" * 501, "callNumberList": [None]},
            ]
        ),
        READY,
    )
    assert [(t.index, t.numbers) for t in plan.tasks] == [(0, ["+4791234567"])]
    assert [(e.index, e.codes) for e in plan.errors] == [
        (1, [101, 102]),
        (2, [101, 103]),
        (3, [101, 103]),
        (4, [101, 103]),
    ]
    assert "longer than 500" in plan.errors[3].text


def test_a_national_number_needs_the_campaign_region() -> None:
    no_region = Setup(True, campaign(123, queue="q", dial_string="PJSIP/{number}@t"), frozenset())
    plan = validate(body(), no_region)
    assert plan.tasks[0].numbers == ["+4791234567"]
    plan = validate(
        body(callTasks=[{"callReceiverName": "x", "callNumberList": ["91234567"]}]), no_region
    )
    assert [e.codes for e in plan.errors] == [[103]]


def test_names_get_property_values_appended_in_order() -> None:
    props = [
        {"emprId": 216, "value": " Oslo ", "addToCallTaskName": True},
        {"emprId": 216, "value": "Bergen", "addToCallTaskName": False},
    ]
    task = {"callReceiverName": " Ola ", "callNumberList": ["+4791234567"], "properties": props}
    plan = validate(body(callTasks=[task]), READY)
    assert plan.tasks[0].name == "Ola Oslo"
    assert plan.tasks[0].properties == {"216": "Bergen"}  # the same field twice: the last value


def test_of_one_customer_twice_the_later_task_is_written() -> None:
    tasks = [
        {"callReceiverName": n, "callNumberList": ["+4791234567"], "extCustId": e}
        for n, e in (("a", "1"), ("b", 1), ("c", None), ("d", ""), ("e", "2"))
    ]
    plan = validate(body(callTasks=tasks), READY)
    assert [t.ext_cust_id for t in plan.tasks] == ["1", "1", None, None, "2"]
    assert [t.name for t in latest_per_key(plan.tasks)] == ["b", "c", "d", "e"]
