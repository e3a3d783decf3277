"""Pure parts of the contacts API: request parsing, number slots, record rendering."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any, cast

import asyncpg
import pytest

from dialerd.api.contacts import parse_changes
from dialerd.api.errors import ApiError
from dialerd.api.records import DATA_FIELDS, format_dt, render_contact, render_history
from dialerd.domain import NumberSlot
from dialerd.store.contacts import ContactRejected, merge_numbers, normalize_numbers
from dialerd.store.slots import columns


def slots(*numbers: str | None) -> tuple[NumberSlot, ...]:
    return tuple(NumberSlot(n, 1, 17, 3, True) for n in numbers)


def test_a_changed_number_starts_afresh_and_an_unchanged_one_keeps_its_state() -> None:
    merged = merge_numbers(
        slots("+4791234567", "+4722000002"), {0: "+4791234567", 1: "+4722999999"}
    )
    assert columns(merged) == (
        ["+4791234567", "+4722999999"],
        [1, 0],
        [17, None],
        [3, None],
        [True, False],
    )


def test_numbers_can_go_to_any_slot_and_trailing_empty_slots_are_dropped() -> None:
    merged = merge_numbers(slots("+4791234567", "+4722000002"), {0: None, 4: "+4722000005"})
    numbers, tries, _, _, invalid = columns(merged)
    assert numbers == [None, "+4722000002", None, None, "+4722000005"]
    assert tries == [0, 1, 0, 0, 0] and invalid == [False, True, False, False, False]
    assert columns(merge_numbers(merged, {4: None}))[0] == [None, "+4722000002"]


def test_no_number_left_is_rejected() -> None:
    with pytest.raises(ContactRejected, match="at least one phone number"):
        merge_numbers(slots("+4791234567"), {0: None})
    with pytest.raises(ContactRejected):
        merge_numbers((), {})


def test_numbers_are_normalised_with_the_region_and_blank_means_empty() -> None:
    assert normalize_numbers({0: "912 34 567", 1: " ", 2: None}, "NO") == {
        0: "+4791234567",
        1: None,
        2: None,
    }
    with pytest.raises(
        ContactRejected, match=r"^PhoneNumber2 is not a possible phone number: 'x'$"
    ):
        normalize_numbers({1: "x"}, "NO")
    with pytest.raises(ContactRejected, match="no default region"):
        normalize_numbers({0: "912 34 567"}, None)


def test_datetimes_are_utc_with_milliseconds() -> None:
    cet = timezone(timedelta(hours=1))
    assert format_dt(datetime(2020, 11, 11, 16, 31, 47, 70123, tzinfo=cet)) == (
        "2020-11-11T15:31:47.070"
    )
    assert format_dt(datetime(2020, 1, 1)) == "2020-01-01T00:00:00.000"
    assert format_dt(None) is None


def test_update_parsing_keeps_only_the_fields_sent() -> None:
    changes = parse_changes(
        {"FirstName": "Ola", "Amount": None, "PhoneNumber3": ""}, complete=False
    )
    assert changes.name is None and not changes.sent_user_data
    assert changes.data == {"FirstName": "Ola", "Amount": None}
    assert changes.numbers == {2: ""}


def test_import_parsing_sends_every_field() -> None:
    changes = parse_changes(
        {"Name": "N", "UserData": "", "PhoneNumber1": "+4791234567"}, complete=True
    )
    assert changes.name == "N" and changes.sent_user_data and changes.user_data is None
    assert set(changes.data) == set(DATA_FIELDS) and set(changes.data.values()) == {None}
    assert changes.numbers == {0: "+4791234567", 1: None, 2: None, 3: None, 4: None, 5: None}


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"Name": None}, "Name must not be empty"),
        ({"Amount": "1"}, "Amount must be a number"),
        ({"dtEndDate": "2020-02-30"}, "dtEndDate must be a datetime"),
        ({"dtEndDate": "9999-12-31T23:59:59-01:00"}, "dtEndDate must be a datetime"),
        ({"City": "a\x00"}, "City must not contain NUL characters"),
    ],
)
def test_parsing_errors(body: dict[str, Any], error: str) -> None:
    with pytest.raises(ApiError) as caught:
        parse_changes(body, complete=False)
    assert caught.value.status == 400 and caught.value.error.startswith(error)


CONTACT_ROW: dict[str, Any] = {
    "id": 7, "campaign_id": 538, "user_data": "U", "name": "N", "data": {"City": "Oslo"},
    "phone_numbers": [None, "+4722000002"], "number_tries": [0, 2],
    "number_last_cause": [None, 17], "number_end_reason": [None, 4],
    "number_invalid": [False, True], "dt_next_try": None, "last_result_mailbox": False,
    "last_agent_end_reason": 4, "locked": True, "attempts": 2, "state": "open",
    "last_connres": 2, "dt_last_try": datetime(2020, 1, 1, tzinfo=UTC),
    "created_at": datetime(2020, 1, 1, tzinfo=UTC), "system_code": "CRM", "ext_cust_id": "U",
    "system_lookup_code": "L", "properties": {"216": "Oslo"},
}  # fmt: skip


def test_a_contact_record_shows_empty_slots_without_state() -> None:
    record = render_contact(cast(asyncpg.Record, CONTACT_ROW))
    assert record["City"] == "Oslo" and record["Company"] is None
    assert [record[f"PhoneNumber{n}"] for n in range(1, 7)] == [None, "+4722000002"] + [None] * 4
    assert [record[f"nTriesPhoneNumber{n}"] for n in range(1, 7)] == [0, 2, 0, 0, 0, 0]
    assert [record[f"bPhoneNumber{n}Invalid"] for n in range(1, 7)] == [None, True] + [None] * 4
    assert record["nPhoneNumber2LastCause"] == 17
    assert record["PhoneNumber2LastAcdAgentEndReasonsID"] == 4
    assert (record["bLocked"], record["nTries"], record["LastCONNRES"]) == (True, 2, 2)
    assert record["Properties"] == {"216": "Oslo"} and record["ExtCustId"] == "U"


def test_history_country_codes_come_from_the_numbers() -> None:
    row = dict.fromkeys(
        ["id", "contact_id", "campaign_id", "client_id", "user_data", "user_data2",
         "user_data3", "outbound", "test_call", "phone_number", "phone_number_offset",
         "dt_call_start", "dt_call_alert", "dt_call_connect", "dt_call_end", "connres",
         "cause_code", "caller_hangup", "users_id", "result_code_id", "result_code_type_id",
         "created_at", "status", "dt_agent_connect", "agent", "abandoned", "machine", "detail"]
    )  # fmt: skip
    row |= {"a_number": "49894614950703", "b_number": "+4722000002"}
    record = render_history(cast(asyncpg.Record, row))
    assert (record["ANumber_CountryCodesID"], record["BNumber_CountryCodesID"]) == (49, 47)
    row |= {"a_number": None, "b_number": "garbage"}
    record = render_history(cast(asyncpg.Record, row))
    assert (record["ANumber_CountryCodesID"], record["BNumber_CountryCodesID"]) == (None, None)
