"""The dialler API's records: a contact (``DiallerContacts``) and a history row
(``DiallerContactsHistory``), rendered from the store's rows in one place for both APIs.

Field names and casing are the contacts API's. Absent values are JSON null. Datetimes are UTC,
written ``YYYY-MM-DDTHH:MM:SS.mmm`` like the spec's history example.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import Enum
from typing import Any, Generic, Literal, TypeVar

import asyncpg
import orjson
import phonenumbers
from pydantic import BaseModel, Field, create_model

from dialerd.domain import MAX_PHONE_NUMBERS


class Kind(Enum):
    """The JSON type a free field of a contact takes."""

    TEXT = "string"
    INTEGER = "integer"
    NUMBER = "number"
    DATETIME = "datetime string"

    @property
    def python(self) -> Any:
        """The field's Python type in the records' models (int | float keeps 0 as 0)."""
        return {Kind.INTEGER: int, Kind.NUMBER: int | float}.get(self, str)


# The free fields of a contact, kept in contacts.data under these names, in record order.
DATA_FIELDS: dict[str, Kind] = {
    "UserData2": Kind.TEXT,
    "UserData3": Kind.TEXT,
    "RandomSortOrder": Kind.INTEGER,
    "Client": Kind.TEXT,
    "Service": Kind.TEXT,
    "ReferenceNumber": Kind.TEXT,
    "FirstName": Kind.TEXT,
    "Salutation": Kind.TEXT,
    "Title": Kind.TEXT,
    "Company": Kind.TEXT,
    "Address": Kind.TEXT,
    "PostalCode": Kind.TEXT,
    "City": Kind.TEXT,
    "Country": Kind.TEXT,
    "Region": Kind.TEXT,
    "AccountOwner": Kind.TEXT,
    "AccountBank": Kind.TEXT,
    "AccountNationalBankCode": Kind.TEXT,
    "AccountBIC": Kind.TEXT,
    "AccountNumber": Kind.TEXT,
    "AccountIBAN": Kind.TEXT,
    "Amount": Kind.NUMBER,
    "FaxNumber": Kind.TEXT,
    "Email": Kind.TEXT,
    "Website": Kind.TEXT,
    "Comment": Kind.TEXT,
    "ReservedUsersUID": Kind.TEXT,
    "FollowUpUsersUID": Kind.TEXT,
    "FollowUpDateTime": Kind.DATETIME,
    "dtBeginDate": Kind.DATETIME,
    "dtEndDate": Kind.DATETIME,
    "Manufacturer": Kind.TEXT,
    "Model": Kind.TEXT,
    "Tag": Kind.TEXT,
    "ExternalSystemLink": Kind.TEXT,
}

SLOTS = range(1, MAX_PHONE_NUMBERS + 1)
PHONE_FIELDS = tuple(f"PhoneNumber{n}" for n in SLOTS)
_TRIES_FIELDS = tuple(f"nTriesPhoneNumber{n}" for n in SLOTS)
_CAUSE_FIELDS = tuple(f"nPhoneNumber{n}LastCause" for n in SLOTS)
_INVALID_FIELDS = tuple(f"bPhoneNumber{n}Invalid" for n in SLOTS)
_END_REASON_FIELDS = tuple(f"PhoneNumber{n}LastAcdAgentEndReasonsID" for n in SLOTS)


_DT = "UTC, YYYY-MM-DDTHH:MM:SS.mmm"
_CONTACT_FIELDS: dict[str, Any] = {
    "ID": (int, ...),
    "DiallerCampaignsID": (int, ...),
    "UserData": (str | None, ...),
    "Name": (str, ...),
    **{name: (kind.python | None, ...) for name, kind in DATA_FIELDS.items()},
    **{name: (str | None, Field(description="E.164")) for name in PHONE_FIELDS},
    **{name: (int, ...) for name in _TRIES_FIELDS},
    **{name: (int | None, Field(description="Q.850 cause")) for name in _CAUSE_FIELDS},
    **{name: (bool | None, ...) for name in _INVALID_FIELDS},
    **{name: (int | None, ...) for name in _END_REASON_FIELDS},
    "dtNextTry": (str | None, Field(description=_DT)),
    "bLastResultMailbox": (bool | None, ...),
    "LastAcdAgentEndReasonsID": (int | None, ...),
    "bLocked": (bool, ...),
    "nTries": (int, ...),
    "State": (Literal["open", "done", "finished"], ...),
    "LastCONNRES": (int | None, ...),
    "dtLastTry": (str | None, Field(description=_DT)),
    "dtCreated": (str, Field(description=_DT)),
    "SystemCode": (str | None, ...),
    "ExtCustId": (str | None, ...),
    "SystemLookupCode": (str | None, ...),
    "Properties": (dict[str, str], Field(description="info field ID -> value")),
}
DiallerContact = create_model(
    "DiallerContact",
    __doc__="A contact (DiallerContacts); after LastAcdAgentEndReasonsID, dialerd's own fields.",
    **_CONTACT_FIELDS,
)

_NONE = Field(description="not kept: always null")


class DiallerContactsHistory(BaseModel):
    """An attempt (DiallerContactsHistory); after dtCreatedDiallerContactsHistory, dialerd's own
    fields."""

    DiallerContactsHistoryID: int
    DiallerContactsID: int
    DiallerCampaignsID: int
    ClientsID: int
    UserData: str | None
    UserData2: str | None
    UserData3: str | None
    bOutbound: bool
    bTestCall: bool
    PhoneNumber: str
    PhoneNumberOffset: int = Field(description="the number's slot, 1-6")
    ANumber: str | None
    ANumber_CountryCodesID: int | None
    ANumber_AreaCodesID: int | None = _NONE
    BNumber: str | None
    BNumber_CountryCodesID: int | None
    BNumber_AreaCodesID: int | None = _NONE
    ServiceNumbersID: int | None = _NONE
    StatisticsPartAID: int | None = _NONE
    dtCallStart: str | None = Field(description=_DT)
    dtCallAlert: str | None = Field(description=_DT)
    dtCallConnect: str | None = Field(description=_DT)
    dtCallEnd: str | None = Field(description=_DT)
    CONNRES: int | None = Field(description="0-7")
    CauseCodesID: int | None = Field(description="Q.850 cause")
    bCallerHangup: bool | None
    UsersID: int | None
    DiallerCampaignsResultCodesID: int | None
    DiallerResultCodesTypesID: int | None
    dtCreatedDiallerContactsHistory: str = Field(description=_DT)
    Status: Literal["pending", "dialing", "closed"]
    dtAgentConnect: str | None = Field(description=_DT)
    Agent: str | None
    bAbandoned: bool
    bMachine: bool
    Detail: str | None = Field(
        description="why, where the outcome needs it: DNC (not dialled, the number is on a "
        "do-not-call list), NOT SENT…, NO CHANNEL…, the answering machine's"
    )


Item = TypeVar("Item", bound=BaseModel)


class Records(BaseModel, Generic[Item]):
    """The dialler API's answer of some records."""

    records: list[Item]
    count: int = Field(description="how many records")
    status: Literal[200] = Field(description="the HTTP status")

    @classmethod
    def of(cls, records: list[dict[str, Any]], **more: Any) -> dict[str, Any]:
        """The answer's JSON object, built through the model: what the document says is sent."""
        answer = {"records": records, "count": len(records), "status": 200, **more}
        # Through JSON: the records' strict models (campaigns) read times from their text.
        checked = cls.model_validate_json(orjson.dumps(answer))
        return checked.model_dump(mode="json", by_alias=True)


class RecordList(Records[Item], Generic[Item]):
    """The dialler API's answer of all records (the spec's paging fields are fixed)."""

    filter: Literal[""]
    limitStart: Literal[0]
    limitPageSize: Literal[-1] = Field(description="all records")
    orderBy: str
    ascending: Literal[True]

    @classmethod
    def of_all(cls, records: list[dict[str, Any]], order_by: str) -> dict[str, Any]:
        fixed = {"filter": "", "limitStart": 0, "limitPageSize": -1, "ascending": True}
        return cls.of(records, orderBy=order_by, **fixed)


def format_dt(value: datetime | None) -> str | None:
    """``YYYY-MM-DDTHH:MM:SS.mmm`` in UTC; naive datetimes are taken as UTC already."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(timespec="milliseconds")


def render_contact(row: asyncpg.Record) -> dict[str, Any]:
    """A ``contacts`` row (``SELECT c.*``) as the contacts API's record."""
    data: dict[str, Any] = row["data"]
    record: dict[str, Any] = {
        "ID": row["id"],
        "DiallerCampaignsID": row["campaign_id"],
        "UserData": row["user_data"],
        "Name": row["name"],
    }
    for field in DATA_FIELDS:
        record[field] = data.get(field)

    # Slot i exists in the arrays up to their length; a NULL number is an empty slot, and an
    # empty slot has no state to show.
    numbers: list[str | None] = row["phone_numbers"]
    pad = [None] * (MAX_PHONE_NUMBERS - len(numbers))
    slots = numbers + pad
    filled = [n is not None for n in slots]
    record.update(zip(PHONE_FIELDS, slots, strict=True))
    for keys, values, empty in (
        (_TRIES_FIELDS, row["number_tries"], 0),
        (_CAUSE_FIELDS, row["number_last_cause"], None),
        (_INVALID_FIELDS, row["number_invalid"], None),
        (_END_REASON_FIELDS, row["number_end_reason"], None),
    ):
        shown = [v if f else empty for v, f in zip(values + pad, filled, strict=True)]
        record.update(zip(keys, shown, strict=True))

    record["dtNextTry"] = format_dt(row["dt_next_try"])
    record["bLastResultMailbox"] = row["last_result_mailbox"]
    record["LastAcdAgentEndReasonsID"] = row["last_agent_end_reason"]
    # Our own state and the calltask API's keys (documented extras).
    record["bLocked"] = row["locked"]
    record["nTries"] = row["attempts"]
    record["State"] = row["state"]
    record["LastCONNRES"] = row["last_connres"]
    record["dtLastTry"] = format_dt(row["dt_last_try"])
    record["dtCreated"] = format_dt(row["created_at"])
    record["SystemCode"] = row["system_code"]
    record["ExtCustId"] = row["ext_cust_id"]
    record["SystemLookupCode"] = row["system_lookup_code"]
    record["Properties"] = row["properties"]
    return record


def _country_code(number: str | None) -> int | None:
    """The calling code of an E.164 number (49 for +49…), the history's *_CountryCodesID."""
    if not number:
        return None
    try:
        return phonenumbers.parse(number if number.startswith("+") else "+" + number).country_code
    except phonenumbers.NumberParseException:
        return None


def render_history(row: asyncpg.Record) -> dict[str, Any]:
    """A ``contact_history`` row (with the contact's ``user_data2``/``user_data3``) as the
    contacts API's history record."""
    return {
        "DiallerContactsHistoryID": row["id"],
        "DiallerContactsID": row["contact_id"],
        "DiallerCampaignsID": row["campaign_id"],
        "ClientsID": row["client_id"],
        "UserData": row["user_data"],
        "UserData2": row["user_data2"],
        "UserData3": row["user_data3"],
        "bOutbound": row["outbound"],
        "bTestCall": row["test_call"],
        "PhoneNumber": row["phone_number"],
        "PhoneNumberOffset": row["phone_number_offset"],
        "ANumber": row["a_number"],
        "ANumber_CountryCodesID": _country_code(row["a_number"]),
        "ANumber_AreaCodesID": None,
        "BNumber": row["b_number"],
        "BNumber_CountryCodesID": _country_code(row["b_number"]),
        "BNumber_AreaCodesID": None,
        "ServiceNumbersID": None,
        "StatisticsPartAID": None,
        "dtCallStart": format_dt(row["dt_call_start"]),
        "dtCallAlert": format_dt(row["dt_call_alert"]),
        "dtCallConnect": format_dt(row["dt_call_connect"]),
        "dtCallEnd": format_dt(row["dt_call_end"]),
        "CONNRES": row["connres"],
        "CauseCodesID": row["cause_code"],
        "bCallerHangup": row["caller_hangup"],
        "UsersID": row["users_id"],
        "DiallerCampaignsResultCodesID": row["result_code_id"],
        "DiallerResultCodesTypesID": row["result_code_type_id"],
        "dtCreatedDiallerContactsHistory": format_dt(row["created_at"]),
        # Our own detail of the attempt (documented extras).
        "Status": row["status"],
        "dtAgentConnect": format_dt(row["dt_agent_connect"]),
        "Agent": row["agent"],
        "bAbandoned": row["abandoned"],
        "bMachine": row["machine"],
        "Detail": row["detail"],
    }
