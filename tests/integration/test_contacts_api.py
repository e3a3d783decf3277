"""The dialler contacts API against a real Postgres: every endpoint, status and envelope."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer

from dialerd.api.app import init_app
from dialerd.api.records import DATA_FIELDS
from dialerd.config import Settings
from dialerd.store.sqlfiles import q
from dialerd.users.tokens import hash_token
from tests.conftest import Api

# The spec's import example, verbatim: its phone numbers are the literal field names.
SPEC_IMPORT: dict[str, Any] = {
    "DiallerCampaignsID": 538, "RandomSortOrder": None, "UserData": "testUserData",
    "Client": "Client", "Service": "Service", "ReferenceNumber": "ReferenceNumber",
    "Name": "Name", "FirstName": "FirstName", "Salutation": "Salutation", "Title": "Title",
    "Company": "Company", "Address": "Address", "PostalCode": "PostalCode", "City": "City",
    "Country": "Country", "AccountOwner": "AccountOwner", "AccountBank": "AccountBank",
    "AccountNationalBankCode": "AccountNationalBankCode", "AccountBIC": "AccountBIC",
    "AccountNumber": "AccountNumber", "AccountIBAN": "AccountIBAN", "Amount": 0.0,
    "PhoneNumber1": "PhoneNumber1", "PhoneNumber2": "PhoneNumber2",
    "PhoneNumber3": "PhoneNumber3", "PhoneNumber4": "PhoneNumber4",
    "PhoneNumber5": "PhoneNumber5", "PhoneNumber6": "PhoneNumber6", "FaxNumber": "FaxNumber",
    "Email": "Email", "Website": "Website", "Comment": "Comment",
    "ReservedUsersUID": "ReservedUsersUID", "FollowUpUsersUID": "FollowUpUsersUID",
    "FollowUpDateTime": None, "dtBeginDate": "2020-01-01T00:00:00",
    "dtEndDate": "2020-03-01T00:00:00", "Manufacturer": "Manufacturer", "Model": "Model",
    "Tag": "Tag", "ExternalSystemLink": "",
}  # fmt: skip
REAL_NUMBERS = {f"PhoneNumber{n}": f"+47 2{n}00 000{n}" for n in range(1, 7)}

# The spec's update example (all updatable fields), verbatim.
SPEC_UPDATE: dict[str, Any] = {
    "ID": 123456, "UserData": "newUserData", "UserData2": "newUserData2",
    "UserData3": "newUserData3", "Client": "NewClient", "Service": "NewService",
    "ReferenceNumber": "NewReferenceNumber", "Name": "NewName", "FirstName": "NewFirstName",
    "Salutation": "NewSalutation", "Title": "NewTitle", "Company": "NewCompany",
    "Address": "NewAddress", "PostalCode": "NewPostCode", "City": "NewCity",
    "Country": "NewCountry", "AccountOwner": "NewAccountOwner", "AccountBank": "NewAccountBank",
    "AccountNationalBankCode": "NewAccountNationalBankCode", "AccountBIC": "NewAccountBIC",
    "AccountNumber": "NewAccountNumber", "AccountIBAN": "NewAccountIBAN", "Amount": 999.99,
    "PhoneNumber1": "NewPhoneNumber1", "PhoneNumber2": "NewPhoneNumber2",
    "PhoneNumber3": "NewPhoneNumber3", "PhoneNumber4": "NewPhoneNumber4",
    "PhoneNumber5": "NewPhoneNumber5", "PhoneNumber6": "NewPhoneNumber6",
    "FaxNumber": "NewFaxNumber", "Email": "NewEmail", "Website": "NewWebsite",
    "Comment": "NewComment", "Region": "NewRegion", "dtBeginDate": "2030-01-01T00:00:00",
    "dtEndDate": "2030-03-01T00:00:00", "Manufacturer": "NewManufacturer",
    "Model": "NewModel", "Tag": "NewTag", "ExternalSystemLink": "",
}  # fmt: skip

# Fields of the spec's output examples beyond the import example's.
OUTPUT_FIELDS = {
    "ID", "bLastResultMailbox", "LastAcdAgentEndReasonsID", "dtNextTry",
    *(f"nTriesPhoneNumber{n}" for n in range(1, 7)),
    *(f"nPhoneNumber{n}LastCause" for n in range(1, 7)),
    *(f"bPhoneNumber{n}Invalid" for n in range(1, 7)),
    *(f"PhoneNumber{n}LastAcdAgentEndReasonsID" for n in range(1, 7)),
}  # fmt: skip
EXTRA_FIELDS = {
    "bLocked", "nTries", "State", "LastCONNRES", "dtLastTry", "dtCreated",
    "SystemCode", "ExtCustId", "SystemLookupCode", "Properties",
}  # fmt: skip
RECORD_FIELDS = (set(SPEC_IMPORT) | set(SPEC_UPDATE) | OUTPUT_FIELDS | EXTRA_FIELDS) - {
    "DiallerCampaignsName"
}


async def add_campaign(
    pool: asyncpg.Pool, name: str = "My Campaign", *, id: int = 538, client_id: int = 1,
    region: str | None = "NO",
) -> int:  # fmt: skip
    campaign_id: int = await pool.fetchval(
        "INSERT INTO campaigns (id, name, client_id, default_region, max_attempts,"
        " min_call_interval_h) VALUES ($1, $2, $3, $4, 5, 2.5) RETURNING id",
        id,
        name,
        client_id,
        region,
    )
    return campaign_id


async def import_ok(api: Api, query: str = "", **fields: Any) -> dict[str, Any]:
    body = {"DiallerCampaignsID": 538, "Name": "Nordmann", "PhoneNumber1": "+4791234567"}
    body.update(fields)
    status, reply = await api.request("POST", "/dialler/contacts/import" + query, json=body)
    assert status == 200, reply
    assert reply["count"] == 1 and reply["status"] == 200
    record: dict[str, Any] = reply["records"][0]
    return record


async def stored(pool: asyncpg.Pool, contact_id: int) -> asyncpg.Record:
    row = await pool.fetchrow("SELECT * FROM contacts WHERE id = $1", contact_id)
    assert row is not None
    return row


async def bearer(pool: asyncpg.Pool, client_id: int) -> str:
    """An Authorization header with a new token of ``client_id``."""
    token = f"test-{client_id}-{uuid.uuid4().hex}"
    await pool.execute(q("insert_token"), client_id, hash_token(token), "test", None)
    return f"Bearer {token}"


async def count_contacts(pool: asyncpg.Pool) -> int:
    n: int = await pool.fetchval("SELECT count(*) FROM contacts")
    return n


@pytest.fixture
async def campaign(pool: asyncpg.Pool) -> int:
    return await add_campaign(pool)


ROUTES = [
    ("GET", "/dialler/contacts"),
    ("GET", "/dialler/contacts?diallerCampaignsID=538"),
    ("GET", "/dialler/contacts/1"),
    ("GET", "/dialler/contacts/contact?userData=u"),
    ("POST", "/dialler/contacts/import"),
    ("POST", "/dialler/contacts/update"),
    ("DELETE", "/dialler/contacts/contact/1"),
    ("DELETE", "/dialler/contacts/contact?userData=u"),
    ("PATCH", "/dialler/contacts/contact/1/lock"),
    ("PATCH", "/dialler/contacts/contact/lock?userData=u"),
    ("PATCH", "/dialler/contacts/contact/1/unlock"),
    ("PATCH", "/dialler/contacts/contact/unlock?userData=u"),
    ("PATCH", "/dialler/contacts/contact/1/reset"),
    ("PATCH", "/dialler/contacts/contact/reset?userData=u"),
    ("GET", "/dialler/contacts/contact/1/history"),
    ("GET", "/dialler/contacts/contact/history?userData=u"),
]


async def test_every_route_needs_a_valid_token_and_reveals_nothing(api: Api, campaign: int) -> None:
    await import_ok(api, UserData="u")
    auths: list[bool | str] = [
        False,
        "Bearer wrong",
        "Basic abc",
        "Bearer ",
        f"Bearer {api.token}x",
    ]
    for auth in auths:
        for method, path in ROUTES:
            status, body = await api.request(method, path, auth=auth, json=SPEC_IMPORT)
            assert status == 401, (auth, method, path)
            assert body == {"status": 401, "error": "Unauthorized: missing or invalid API token"}


# --- import -----------------------------------------------------------------------------------


async def test_spec_import_example_is_400_for_its_literal_phone_numbers(
    api: Api, pool: asyncpg.Pool, campaign: int
) -> None:
    status, body = await api.request("POST", "/dialler/contacts/import", json=SPEC_IMPORT)
    assert (status, body) == (
        400,
        {"status": 400, "error": "PhoneNumber1 is not a possible phone number: 'PhoneNumber1'"},
    )
    assert await count_contacts(pool) == 0


async def test_spec_import_example_with_real_numbers_gives_the_full_record(
    api: Api, campaign: int
) -> None:
    status, body = await api.request(
        "POST", "/dialler/contacts/import", json=SPEC_IMPORT | REAL_NUMBERS
    )
    assert status == 200
    assert list(body) == ["records", "count", "status"]
    assert (body["count"], body["status"]) == (1, 200)
    record = body["records"][0]
    assert set(record) == RECORD_FIELDS
    for field, sent in SPEC_IMPORT.items():
        if field.startswith("PhoneNumber"):
            continue
        expected = sent + ".000" if field.startswith("dt") else sent
        assert record[field] == expected, field
    for n in range(1, 7):
        assert record[f"PhoneNumber{n}"] == f"+472{n}00000{n}"
        assert record[f"nTriesPhoneNumber{n}"] == 0
        assert record[f"nPhoneNumber{n}LastCause"] is None
        assert record[f"bPhoneNumber{n}Invalid"] is False
        assert record[f"PhoneNumber{n}LastAcdAgentEndReasonsID"] is None
    assert record["UserData2"] is None and record["Region"] is None
    assert record["dtNextTry"] is None and record["bLastResultMailbox"] is None
    assert (record["bLocked"], record["nTries"], record["State"]) == (False, 0, "open")
    assert record["Properties"] == {} and record["ExtCustId"] is None
    assert len(record["dtCreated"]) == len("2020-01-01T00:00:00.000")


async def test_import_takes_attempt_rules_from_the_campaign(
    api: Api, pool: asyncpg.Pool, campaign: int
) -> None:
    record = await import_ok(api)
    row = await stored(pool, record["ID"])
    assert (row["max_attempts"], row["min_call_interval_h"]) == (5, 2.5)


async def test_import_by_campaign_name(api: Api, pool: asyncpg.Pool, campaign: int) -> None:
    await add_campaign(pool, "Other", id=7)
    record = await import_ok(api, DiallerCampaignsID=None, DiallerCampaignsName="Other")
    assert record["DiallerCampaignsID"] == 7
    record = await import_ok(api, DiallerCampaignsName="My Campaign")
    assert record["DiallerCampaignsID"] == 538
    status, body = await api.request(
        "POST",
        "/dialler/contacts/import",
        json={"DiallerCampaignsID": 538, "DiallerCampaignsName": "Other", "Name": "x",
              "PhoneNumber1": "+4791234567"},
    )  # fmt: skip
    assert status == 400 and "different campaigns" in body["error"]


async def test_import_into_an_unknown_or_foreign_campaign_is_404(
    api: Api, pool: asyncpg.Pool, campaign: int
) -> None:
    await add_campaign(pool, "Someone else's", id=9, client_id=2)
    refs: list[dict[str, Any]] = [
        {"DiallerCampaignsID": 99}, {"DiallerCampaignsName": "Nope"},
        {"DiallerCampaignsID": 9}, {"DiallerCampaignsName": "Someone else's"},
    ]  # fmt: skip
    for ref in refs:
        body = {"Name": "x", "PhoneNumber1": "+4791234567"} | ref
        status, reply = await api.request("POST", "/dialler/contacts/import", json=body)
        assert (status, reply) == (404, {"status": 404, "error": "Dialler campaign not found"})
    assert await count_contacts(pool) == 0


async def test_import_names_every_missing_mandatory_field(api: Api, campaign: int) -> None:
    status, body = await api.request("POST", "/dialler/contacts/import", json={"Tag": "x"})
    assert status == 400
    assert body["error"] == (
        "Missing mandatory field(s): Name; DiallerCampaignsID or DiallerCampaignsName; "
        "at least one of PhoneNumber1..6"
    )
    status, body = await api.request(
        "POST",
        "/dialler/contacts/import",
        json={"DiallerCampaignsID": 538, "Name": "x", "PhoneNumber1": " ", "PhoneNumber2": None},
    )
    assert status == 400 and body["error"].endswith("at least one of PhoneNumber1..6")


ODD_NUMBERS = [
    ("+47 912 34 567", "+4791234567"),
    ("0047-912-34-567", "+4791234567"),
    ("912 34 567", "+4791234567"),  # national: the campaign's region (NO)
    ("(+49) 89 1234567", "+49891234567"),
    ("+49 (0)89 1234567", "+49891234567"),
    ("+1 (212) 555-0123", "+12125550123"),
    ("\u00a0+47\t91234567 ", "+4791234567"),
]


async def test_numbers_in_odd_formats_are_stored_as_e164(api: Api, campaign: int) -> None:
    for raw, e164 in ODD_NUMBERS:
        record = await import_ok(api, PhoneNumber1=None, PhoneNumber3=raw)
        assert record["PhoneNumber1"] is None and record["PhoneNumber3"] == e164, raw
        assert record["nTriesPhoneNumber1"] == 0 and record["bPhoneNumber1Invalid"] is None
        assert record["bPhoneNumber3Invalid"] is False


async def test_impossible_numbers_are_400_and_nothing_is_written(
    api: Api, pool: asyncpg.Pool, campaign: int
) -> None:
    for raw in ["abc", "+47 12", "123", "+999 1234567", "+47 9123456789012345"]:
        body = {"DiallerCampaignsID": 538, "Name": "x", "PhoneNumber1": "+4791234567",
                "PhoneNumber2": raw}  # fmt: skip
        status, reply = await api.request("POST", "/dialler/contacts/import", json=body)
        assert (status, reply) == (
            400,
            {"status": 400, "error": f"PhoneNumber2 is not a possible phone number: {raw!r}"},
        )
    assert await count_contacts(pool) == 0


async def test_a_national_number_without_a_campaign_region_says_why(
    api: Api, pool: asyncpg.Pool
) -> None:
    await add_campaign(pool, id=538, region=None)
    status, body = await api.request(
        "POST", "/dialler/contacts/import",
        json={"DiallerCampaignsID": 538, "Name": "x", "PhoneNumber1": "912 34 567"},
    )  # fmt: skip
    assert status == 400 and "no default region" in body["error"]


async def test_unicode_names_are_kept_as_sent(api: Api, campaign: int) -> None:
    name = "Øyvind Åsmund Lævås-Zoë 李小龍 😀"
    record = await import_ok(api, Name=name, City="Tromsø", UserData="ü-1")
    assert (record["Name"], record["City"]) == (name, "Tromsø")
    status, body = await api.request("GET", "/dialler/contacts/contact?userData=ü-1")
    assert status == 200 and body["records"][0]["Name"] == name


MALFORMED = [
    (b"", "Request body is missing: a JSON object is expected"),
    (b"{", "Malformed JSON: "),
    (b'{"Name": "x",}', "Malformed JSON: "),
    (b'{"Name": "\\ud800"}', "Malformed JSON: "),  # a lone surrogate is no character
    (b'{"Name": "\xff"}', "Malformed JSON: "),  # not UTF-8
    (b"[1, 2]", "The request body must be a JSON object"),
    (b'"Name"', "The request body must be a JSON object"),
]


async def test_malformed_bodies_are_400(api: Api, pool: asyncpg.Pool, campaign: int) -> None:
    for raw, error in MALFORMED:
        for path in ("/dialler/contacts/import", "/dialler/contacts/update"):
            status, body = await api.request(
                "POST", path, data=raw, headers={"Content-Type": "application/json"}
            )
            assert status == 400 and set(body) == {"status", "error"}, raw
            assert body["status"] == 400 and body["error"].startswith(error), (raw, body)
    assert await count_contacts(pool) == 0


WRONG_TYPES: list[tuple[str, Any, str]] = [
    ("Name", 5, "Name must be a string"),
    ("Name", "  ", "Name must not be empty"),
    ("Name", "a\x00b", "Name must not contain NUL characters"),
    ("Name", "x" * 4001, "Name is longer than 4000 characters"),
    ("UserData", 123, "UserData must be a string"),
    ("Amount", "12.5", "Amount must be a number"),
    ("Amount", True, "Amount must be a number"),
    ("RandomSortOrder", 1.5, "RandomSortOrder must be an integer"),
    ("DiallerCampaignsID", "538", "DiallerCampaignsID must be an integer"),
    ("DiallerCampaignsID", True, "DiallerCampaignsID must be an integer"),
    ("DiallerCampaignsID", 2**31, "DiallerCampaignsID is out of range"),
    ("DiallerCampaignsID", 2**70, "DiallerCampaignsID must be an integer"),  # JSON: a float
    ("PhoneNumber1", 4791234567, "PhoneNumber1 must be a string"),
    ("PhoneNumber2", ["+4791234567"], "PhoneNumber2 must be a string"),
    ("dtBeginDate", "yesterday", "dtBeginDate must be a datetime like 2020-01-01T00:00:00"),
    ("Properties", {}, "Unknown or read-only field(s): 'Properties'"),
    ("nTriesPhoneNumber1", 0, "Unknown or read-only field(s): 'nTriesPhoneNumber1'"),
    ("Fristname", "x", "Unknown or read-only field(s): 'Fristname'"),
]


async def test_wrong_types_are_400_and_nothing_is_written(
    api: Api, pool: asyncpg.Pool, campaign: int
) -> None:
    contact = await import_ok(api)
    for field, value, error in WRONG_TYPES:
        body = {"DiallerCampaignsID": 538, "Name": "x", "PhoneNumber1": "+4791234567"}
        status, reply = await api.request(
            "POST", "/dialler/contacts/import", json=body | {field: value}
        )
        assert status == 400 and reply["error"].startswith(error), (field, reply)
        if field not in ("DiallerCampaignsID", "Properties"):  # the same checks on update
            body = {"ID": contact["ID"], field: value}
            status, reply = await api.request("POST", "/dialler/contacts/update", json=body)
            assert status == 400 and reply["error"].startswith(error), (field, reply)
    assert await count_contacts(pool) == 1
    _, body = await api.request("GET", f"/dialler/contacts/{contact['ID']}")
    assert body["records"] == [contact]


async def test_an_oversized_body_is_413_in_the_api_format(
    settings: Settings, pool: asyncpg.Pool, campaign: int
) -> None:
    token = (await bearer(pool, 1)).removeprefix("Bearer ")
    small = settings.model_copy(update={"max_body_bytes": 1024})
    async with TestClient(TestServer(init_app(small, pool))) as client:
        api = Api(client, token, 1)
        status, body = await api.request(
            "POST", "/dialler/contacts/import", json=SPEC_IMPORT | {"Comment": "x" * 2000}
        )
        assert (status, body) == (413, {"status": 413, "error": "Request body too large"})
        await import_ok(api)  # a body under the limit is fine
    assert await count_contacts(pool) == 1


async def test_datetimes_are_read_as_iso_and_kept_in_utc(api: Api, campaign: int) -> None:
    record = await import_ok(
        api, dtBeginDate="2020-01-01T10:00:00.5+02:00", dtEndDate="2020-03-01",
        FollowUpDateTime="",
    )  # fmt: skip
    assert record["dtBeginDate"] == "2020-01-01T08:00:00.500"
    assert record["dtEndDate"] == "2020-03-01T00:00:00.000"
    assert record["FollowUpDateTime"] is None


# --- import with duplicates -------------------------------------------------------------------


async def test_without_overwrite_a_duplicate_is_a_new_contact(api: Api, campaign: int) -> None:
    first = await import_ok(api, UserData="dup")
    second = await import_ok(api, "?overwriteDuplicates=false", UserData="dup", Name="Second")
    assert second["ID"] != first["ID"]
    status, body = await api.request("GET", "/dialler/contacts/contact?userData=dup")
    assert status == 200 and [r["ID"] for r in body["records"]] == [first["ID"], second["ID"]]


async def set_dialer_state(pool: asyncpg.Pool, contact_id: int) -> None:
    """As if the dialer had tried twice on two numbers and someone had locked the contact."""
    await pool.execute(
        "UPDATE contacts SET attempts = 2, locked = true, state = 'finished', next_number = 1,"
        " number_tries = '{1,1}', number_last_cause = '{17,19}', number_end_reason = '{3,4}',"
        " number_invalid = '{false,true}', dt_next_try = now(), dt_last_try = now(),"
        " last_connres = 3, last_cause = 17, last_result_mailbox = true,"
        " last_agent_end_reason = 4 WHERE id = $1",
        contact_id,
    )


async def test_overwrite_replaces_the_data_of_the_lowest_id_match_in_the_campaign(
    api: Api, pool: asyncpg.Pool, campaign: int
) -> None:
    await add_campaign(pool, "Other", id=7)
    first = await import_ok(
        api, UserData="dup", Company="Old AS", Tag="t", PhoneNumber2="+4722000002"
    )
    await import_ok(api, UserData="dup")  # a later duplicate: not the one overwritten
    elsewhere = await import_ok(api, DiallerCampaignsID=7, UserData="dup")
    await set_dialer_state(pool, first["ID"])

    record = await import_ok(
        api, "?overwriteDuplicates=true", UserData="dup", Name="New",
        PhoneNumber1="+4791234567", PhoneNumber2="+4722999999", Company="New AS",
    )  # fmt: skip
    assert record["ID"] == first["ID"]
    assert (record["Name"], record["Company"], record["Tag"]) == ("New", "New AS", None)
    # The unchanged number keeps its state, the changed one starts afresh.
    assert (record["nTriesPhoneNumber1"], record["nPhoneNumber1LastCause"]) == (1, 17)
    assert (record["PhoneNumber2"], record["nTriesPhoneNumber2"]) == ("+4722999999", 0)
    assert (record["bPhoneNumber2Invalid"], record["nPhoneNumber2LastCause"]) == (False, None)
    # Without resetContact / unlockContact the dialer state stays.
    assert (record["nTries"], record["bLocked"], record["State"]) == (2, True, "finished")
    _status, body = await api.request("GET", f"/dialler/contacts/{elsewhere['ID']}")
    assert body["records"][0]["Name"] == "Nordmann"  # other campaign untouched
    assert await count_contacts(pool) == 3


async def test_overwrite_with_reset_and_unlock(api: Api, pool: asyncpg.Pool, campaign: int) -> None:
    first = await import_ok(api, UserData="dup", PhoneNumber2="+4722000002")
    await set_dialer_state(pool, first["ID"])
    record = await import_ok(
        api, "?overwriteDuplicates=true&resetContact=true", UserData="dup",
        PhoneNumber2="+4722000002",
    )  # fmt: skip
    assert record["ID"] == first["ID"]
    assert (record["nTries"], record["State"], record["bLocked"]) == (0, "open", True)
    assert record["nTriesPhoneNumber1"] == 0 and record["bPhoneNumber2Invalid"] is False
    record = await import_ok(
        api, "?overwriteDuplicates=TRUE&unlockContact=1", UserData="dup",
        PhoneNumber2="+4722000002",
    )  # fmt: skip
    assert record["bLocked"] is False


async def test_concurrent_overwriting_imports_of_one_user_data_make_one_contact(
    api: Api, pool: asyncpg.Pool, campaign: int
) -> None:
    records = await asyncio.gather(
        *(
            import_ok(api, "?overwriteDuplicates=true", UserData="race", Tag=str(i))
            for i in range(8)
        )
    )
    assert len({r["ID"] for r in records}) == 1
    assert await count_contacts(pool) == 1


async def test_reset_and_unlock_do_nothing_without_overwrite(
    api: Api, pool: asyncpg.Pool, campaign: int
) -> None:
    first = await import_ok(api, UserData="dup", PhoneNumber2="+4722000002")
    await set_dialer_state(pool, first["ID"])
    second = await import_ok(api, "?resetContact=true&unlockContact=true", UserData="dup")
    assert second["ID"] != first["ID"]
    _status, body = await api.request("GET", f"/dialler/contacts/{first['ID']}")
    assert (body["records"][0]["nTries"], body["records"][0]["bLocked"]) == (2, True)


async def test_bad_import_flags_are_400(api: Api, pool: asyncpg.Pool, campaign: int) -> None:
    for query in ["?overwriteDuplicates=yes", "?resetContact=", "?unlockContact=2"]:
        status, body = await api.request(
            "POST", "/dialler/contacts/import" + query, json=SPEC_IMPORT | REAL_NUMBERS
        )
        assert status == 400 and "must be true or false" in body["error"], query
    assert await count_contacts(pool) == 0


# --- update -----------------------------------------------------------------------------------


async def test_update_changes_only_the_fields_sent(api: Api, campaign: int) -> None:
    before = await import_ok(api, UserData="u1", Company="C", FirstName="Kari", Amount=10.5)
    status, body = await api.request(
        "POST", "/dialler/contacts/update",
        json={"ID": before["ID"], "FirstName": "Ola", "Amount": None, "Tag": "vip"},
    )  # fmt: skip
    assert status == 200 and list(body) == ["records", "count", "status"]
    after = body["records"][0]
    changed = {k for k in before if before[k] != after[k]}
    assert changed == {"FirstName", "Amount", "Tag"}
    assert (after["FirstName"], after["Amount"], after["Tag"]) == ("Ola", None, "vip")


async def test_spec_update_examples(api: Api, pool: asyncpg.Pool, campaign: int) -> None:
    contact = await import_ok(api, UserData="MyUserData")
    # The all-fields example: literal numbers are 400, and nothing of it is written.
    status, body = await api.request(
        "POST", "/dialler/contacts/update", json=SPEC_UPDATE | {"ID": contact["ID"]}
    )
    assert (status, body["error"]) == (
        400,
        "PhoneNumber1 is not a possible phone number: 'NewPhoneNumber1'",
    )
    status, body = await api.request("GET", f"/dialler/contacts/{contact['ID']}")
    assert body["records"][0] == contact
    # With real numbers it updates everything, UserData included (by ID).
    status, body = await api.request(
        "POST", "/dialler/contacts/update",
        json=SPEC_UPDATE | REAL_NUMBERS | {"ID": contact["ID"]},
    )  # fmt: skip
    assert status == 200
    record = body["records"][0]
    for field, sent in SPEC_UPDATE.items():
        if field not in REAL_NUMBERS and field != "ID":
            assert record[field] == (sent + ".000" if field.startswith("dt") else sent), field
    # The partial example, by UserData.
    status, body = await api.request(
        "POST", "/dialler/contacts/update",
        json={"UserData": "newUserData", "Name": "CorrectedName",
              "FirstName": "CorrectedFirstName"},
    )  # fmt: skip
    assert status == 200 and body["count"] == 1
    assert body["records"][0] == record | {"Name": "CorrectedName",
                                           "FirstName": "CorrectedFirstName"}  # fmt: skip


async def test_update_by_user_data_takes_the_lowest_id(api: Api, campaign: int) -> None:
    first = await import_ok(api, UserData="same")
    second = await import_ok(api, UserData="same")
    status, body = await api.request(
        "POST", "/dialler/contacts/update", json={"UserData": "same", "Tag": "first"}
    )
    assert status == 200 and body["records"][0]["ID"] == first["ID"]
    status, body = await api.request("GET", f"/dialler/contacts/{second['ID']}")
    assert body["records"][0]["Tag"] is None


async def test_update_numbers_by_slot(api: Api, pool: asyncpg.Pool, campaign: int) -> None:
    contact = await import_ok(api, PhoneNumber2="+4722000002")
    await set_dialer_state(pool, contact["ID"])
    status, body = await api.request(
        "POST", "/dialler/contacts/update",
        json={"ID": contact["ID"], "PhoneNumber1": "", "PhoneNumber5": "+47 22 00 00 05"},
    )  # fmt: skip
    assert status == 200
    record = body["records"][0]
    assert [record[f"PhoneNumber{n}"] for n in range(1, 7)] == [
        None, "+4722000002", None, None, "+4722000005", None,
    ]  # fmt: skip
    # Slot 2 is untouched and keeps its state; slot 5 is new.
    assert (record["nTriesPhoneNumber2"], record["bPhoneNumber2Invalid"]) == (1, True)
    assert (record["nTriesPhoneNumber5"], record["bPhoneNumber5Invalid"]) == (0, False)
    assert record["nTriesPhoneNumber1"] == 0 and record["bPhoneNumber1Invalid"] is None
    row = await stored(pool, contact["ID"])
    assert row["phone_numbers"] == [None, "+4722000002", None, None, "+4722000005"]
    assert row["number_tries"] == [0, 1, 0, 0, 0] and row["next_number"] == 1
    # Emptying every slot that has a number is refused.
    status, body = await api.request(
        "POST", "/dialler/contacts/update",
        json={"ID": contact["ID"], "PhoneNumber2": None, "PhoneNumber5": ""},
    )  # fmt: skip
    assert (status, body["error"]) == (
        400,
        "A contact needs at least one phone number (PhoneNumber1..6)",
    )


UPDATE_ERRORS: list[tuple[dict[str, Any], int, str]] = [
    ({"Name": "x"}, 400, "Missing mandatory field: ID or UserData"),
    ({"UserData": "", "Name": "x"}, 400, "Missing mandatory field: ID or UserData"),
    ({"ID": "1"}, 400, "ID must be an integer"),
    ({"ID": 0}, 400, "ID must be a positive integer"),
    ({"ID": 2**63}, 400, "ID is out of range"),
    ({"ID": 1, "Name": None}, 400, "Name must not be empty"),
    ({"ID": 1, "DiallerCampaignsID": 7}, 400, "Unknown or read-only field(s)"),
    ({"ID": 1, "PhoneNumber1": "nope"}, 400, "PhoneNumber1 is not a possible phone number"),
    ({"ID": 999, "Name": "x"}, 404, "Dialler contact not found"),
    ({"UserData": "nobody", "Name": "x"}, 404, "Dialler contact not found"),
]


async def test_update_errors(api: Api, campaign: int) -> None:
    contact = await import_ok(api)
    assert contact["ID"] == 1
    for body, status, error in UPDATE_ERRORS:
        got, reply = await api.request("POST", "/dialler/contacts/update", json=body)
        assert (got, reply["status"]) == (status, status), body
        assert reply["error"].startswith(error), (body, reply)
    _, after = await api.request("GET", "/dialler/contacts/1")
    assert after["records"][0] == contact


# --- get and list -----------------------------------------------------------------------------


async def test_get_by_id_and_by_user_data(api: Api, campaign: int) -> None:
    a = await import_ok(api, UserData="k")
    await import_ok(api, UserData="other")
    b = await import_ok(api, UserData="k")
    status, body = await api.request("GET", f"/dialler/contacts/{a['ID']}")
    assert (status, body) == (200, {"records": [a], "count": 1, "status": 200})
    status, body = await api.request("GET", "/dialler/contacts/contact", params={"userData": "k"})
    assert (status, body) == (200, {"records": [a, b], "count": 2, "status": 200})


GET_ERRORS = [
    ("/dialler/contacts/999", 404, "Dialler contact not found"),
    ("/dialler/contacts/contact?userData=none", 404, "Dialler contact not found"),
    ("/dialler/contacts/abc", 400, "diallerContactsID must be a positive integer, not 'abc'"),
    ("/dialler/contacts/-1", 400, "diallerContactsID must be a positive integer, not '-1'"),
    ("/dialler/contacts/99999999999999999999", 400, "diallerContactsID must be a positive"),
    ("/dialler/contacts/contact", 400, "The query parameter userData is required"),
    ("/dialler/contacts/contact?userData=", 400, "The query parameter userData is required"),
    ("/dialler/contacts/contact?userData=a%00b", 400, "userData must not contain NUL characters"),
    ("/dialler/contacts/contact/history?userData=%00", 400, "userData must not contain NUL"),
    ("/dialler/contacts?diallerCampaignsID=2147483648", 400, "diallerCampaignsID must be"),
    ("/dialler/contacts?diallerCampaignsID=x", 400, "diallerCampaignsID must be a positive"),
    ("/dialler/contacts?diallerCampaignsID=99", 404, "Dialler campaign not found"),
    ("/dialler/contacts?diallerCampaignsID=9", 404, "Dialler campaign not found"),
]


async def test_get_errors(api: Api, pool: asyncpg.Pool, campaign: int) -> None:
    await add_campaign(pool, "Someone else's", id=9, client_id=2)
    for path, status, error in GET_ERRORS:
        got, body = await api.request("GET", path)
        assert (got, body["status"]) == (status, status), path
        assert body["error"].startswith(error), (path, body)


async def test_list_envelope_and_filter(api: Api, pool: asyncpg.Pool, campaign: int) -> None:
    await add_campaign(pool, "Other", id=7)
    await add_campaign(pool, "Someone else's", id=9, client_id=2)
    mine = [await import_ok(api, DiallerCampaignsID=c) for c in (538, 7, 538)]
    await pool.execute(
        "INSERT INTO contacts (campaign_id, name, phone_numbers, number_tries, number_last_cause,"
        " number_end_reason, number_invalid, max_attempts, min_call_interval_h)"
        " VALUES (9, 'foreign', '{+4791234567}', '{0}', '{NULL}', '{NULL}', '{f}', 3, 1)"
    )
    status, body = await api.request("GET", "/dialler/contacts")
    assert status == 200
    assert body == {"filter": "", "limitStart": 0, "limitPageSize": -1, "records": mine,
                    "count": 3, "orderBy": "ID", "ascending": True, "status": 200}  # fmt: skip
    status, body = await api.request("GET", "/dialler/contacts?diallerCampaignsID=538")
    assert body["records"] == [mine[0], mine[2]] and body["count"] == 2
    status, body = await api.request("GET", "/dialler/contacts?diallerCampaignsID=7")
    assert body["records"] == [mine[1]] and body["count"] == 1


async def test_an_empty_list(api: Api, campaign: int) -> None:
    status, body = await api.request("GET", "/dialler/contacts")
    assert (status, body["records"], body["count"]) == (200, [], 0)


async def test_another_client_sees_none_of_it(api: Api, pool: asyncpg.Pool, campaign: int) -> None:
    contact = await import_ok(api, UserData="mine")
    other = await bearer(pool, 2)
    cid = contact["ID"]
    for method, path in ROUTES:
        path = path.replace("/1", f"/{cid}").replace("userData=u", "userData=mine")
        sent = SPEC_IMPORT | REAL_NUMBERS if "import" in path else {"ID": cid, "Name": "x"}
        status, body = await api.request(method, path, auth=other, json=sent)
        if method == "GET" and path == "/dialler/contacts":
            assert (status, body["count"]) == (200, 0)
        elif path == "/dialler/contacts/import":
            assert (status, body["error"]) == (404, "Dialler campaign not found")
        else:
            assert status == 404, (method, path)
    _, body = await api.request("GET", f"/dialler/contacts/{cid}")
    assert body["records"][0] == contact


# --- lock, unlock, reset, delete --------------------------------------------------------------


@pytest.mark.parametrize("by", ["id", "userData"])
async def test_lock_unlock_reset_delete(
    api: Api, pool: asyncpg.Pool, campaign: int, by: str
) -> None:
    first = await import_ok(api, UserData="k", PhoneNumber2="+4722000002")
    second = await import_ok(api, UserData="k")
    cid = first["ID"]

    def path(action: str) -> str:
        if by == "id":
            return f"/dialler/contacts/contact/{cid}" + (f"/{action}" if action else "")
        return "/dialler/contacts/contact" + (f"/{action}" if action else "") + "?userData=k"

    async def state() -> tuple[Any, ...]:
        row = await stored(pool, cid)
        return (row["locked"], row["attempts"], row["state"], row["number_tries"])

    assert await api.request("PATCH", path("lock")) == (200, {"status": 200})
    assert (await state())[0] is True
    assert await api.request("PATCH", path("unlock")) == (200, {"status": 200})
    assert (await state())[0] is False

    await set_dialer_state(pool, cid)
    assert await api.request("PATCH", path("reset")) == (200, {"status": 200})
    row = await stored(pool, cid)
    assert dict(row) | {"updated_at": None} == dict(row) | {
        "locked": True,  # reset leaves the lock alone
        "attempts": 0, "state": "open", "next_number": 0,
        "number_tries": [0, 0], "number_last_cause": [None, None],
        "number_end_reason": [None, None], "number_invalid": [False, False],
        "dt_next_try": None, "dt_last_try": None, "last_connres": None, "last_cause": None,
        "last_result_mailbox": None, "last_agent_end_reason": None, "updated_at": None,
    }  # fmt: skip

    assert await api.request("DELETE", path("")) == (200, {"status": 200})
    assert await pool.fetchval("SELECT array_agg(id) FROM contacts") == [second["ID"]]
    cid = 999 if by == "id" else cid
    if by == "userData":
        await pool.execute("DELETE FROM contacts")
    for method, action in [("PATCH", "lock"), ("PATCH", "unlock"), ("PATCH", "reset"),
                           ("DELETE", "")]:  # fmt: skip
        assert await api.request(method, path(action)) == (
            404,
            {"status": 404, "error": "Dialler contact not found"},
        )


async def test_reset_that_would_reopen_a_second_open_call_task_is_409(
    api: Api, pool: asyncpg.Pool, campaign: int
) -> None:
    await pool.execute("INSERT INTO calling_systems (code) VALUES ('CRM')")
    done = await import_ok(api)
    still_open = await import_ok(api)
    await pool.execute(
        "UPDATE contacts SET system_code = 'CRM', ext_cust_id = '5124',"
        " state = CASE WHEN id = $1 THEN 'done' ELSE 'open' END",
        done["ID"],
    )
    status, body = await api.request("PATCH", f"/dialler/contacts/contact/{done['ID']}/reset")
    assert (status, body["status"]) == (409, 409) and "another open call task" in body["error"]
    assert await pool.fetchval("SELECT state FROM contacts WHERE id = $1", done["ID"]) == "done"
    await api.request("DELETE", f"/dialler/contacts/contact/{still_open['ID']}")
    status, body = await api.request("PATCH", f"/dialler/contacts/contact/{done['ID']}/reset")
    assert status == 200


# --- history ----------------------------------------------------------------------------------


async def add_attempt(pool: asyncpg.Pool, contact_id: int, offset: int = 1) -> int:
    history_id: int = await pool.fetchval(
        "INSERT INTO contact_history (contact_id, campaign_id, user_data, phone_number,"
        " phone_number_offset, a_number, b_number, status, dt_call_start, dt_call_alert,"
        " dt_call_connect, dt_call_end, connres, cause_code, caller_hangup, users_id,"
        " result_code_id, result_code_type_id)"
        " SELECT id, campaign_id, user_data, phone_numbers[$2], $2, '+49894614950703',"
        " phone_numbers[$2], 'closed', '2020-11-11T15:31:41.649Z', '2020-11-11T15:31:43.19Z',"
        " '2020-11-11T15:31:44.117Z', '2020-11-11T15:31:47.07Z', 1, 31, true, 3, 2811, 3"
        " FROM contacts WHERE id = $1 RETURNING id",
        contact_id,
        offset,
    )
    return history_id


HISTORY_FIELDS = {
    "bOutbound", "dtCallEnd", "UserData", "ServiceNumbersID", "DiallerCampaignsID",
    "ANumber_CountryCodesID", "BNumber_CountryCodesID", "DiallerContactsID",
    "ANumber_AreaCodesID", "CONNRES", "BNumber_AreaCodesID", "bCallerHangup", "ANumber",
    "dtCallConnect", "dtCreatedDiallerContactsHistory", "CauseCodesID", "dtCallAlert",
    "PhoneNumberOffset", "DiallerCampaignsResultCodesID", "StatisticsPartAID", "UsersID",
    "BNumber", "UserData2", "ClientsID", "UserData3", "dtCallStart", "bTestCall", "PhoneNumber",
    "DiallerContactsHistoryID", "DiallerResultCodesTypesID",
    # extras
    "Status", "dtAgentConnect", "Agent", "bAbandoned", "bMachine", "Detail",
}  # fmt: skip


async def test_history_by_id_and_by_user_data(api: Api, pool: asyncpg.Pool, campaign: int) -> None:
    a = await import_ok(api, UserData="Contact10", UserData2="u2", PhoneNumber2="+4722000002")
    b = await import_ok(api, UserData="Contact10")
    quiet = await import_ok(api, UserData="quiet")
    # The spec's example's result code (contact_history's foreign key wants it to exist).
    await pool.execute(
        "INSERT INTO campaign_result_codes (id, campaign_id, name, type_id, retry_minutes)"
        " OVERRIDING SYSTEM VALUE VALUES (2811, $1, 'Call again', 3, 60)",
        campaign,
    )
    h1 = await add_attempt(pool, a["ID"], 1)
    hb = await add_attempt(pool, b["ID"], 1)
    h2 = await add_attempt(pool, a["ID"], 2)

    status, body = await api.request("GET", f"/dialler/contacts/contact/{a['ID']}/history")
    assert status == 200 and list(body) == ["records", "count", "status"]
    assert body["count"] == 2 and [r["DiallerContactsHistoryID"] for r in body["records"]] == [
        h1, h2,
    ]  # fmt: skip
    first = body["records"][0]
    assert set(first) == HISTORY_FIELDS
    assert first == first | {
        "bOutbound": True, "bTestCall": False, "DiallerContactsID": a["ID"],
        "DiallerCampaignsID": 538, "ClientsID": 1, "UserData": "Contact10", "UserData2": "u2",
        "UserData3": None, "PhoneNumber": "+4791234567", "PhoneNumberOffset": 1,
        "ANumber": "+49894614950703", "ANumber_CountryCodesID": 49, "BNumber_CountryCodesID": 47,
        "dtCallStart": "2020-11-11T15:31:41.649", "dtCallAlert": "2020-11-11T15:31:43.190",
        "dtCallConnect": "2020-11-11T15:31:44.117", "dtCallEnd": "2020-11-11T15:31:47.070",
        "CONNRES": 1, "CauseCodesID": 31, "bCallerHangup": True, "UsersID": 3,
        "DiallerCampaignsResultCodesID": 2811, "DiallerResultCodesTypesID": 3, "Status": "closed",
    }  # fmt: skip
    assert body["records"][1]["PhoneNumber"] == "+4722000002"

    status, body = await api.request("GET", "/dialler/contacts/contact/history?userData=Contact10")
    assert status == 200 and body["count"] == 3
    assert [r["DiallerContactsHistoryID"] for r in body["records"]] == [h1, h2, hb]

    status, body = await api.request("GET", f"/dialler/contacts/contact/{quiet['ID']}/history")
    assert (status, body) == (200, {"records": [], "count": 0, "status": 200})
    for path in ("/dialler/contacts/contact/999/history",
                 "/dialler/contacts/contact/history?userData=nobody"):  # fmt: skip
        assert await api.request("GET", path) == (
            404,
            {"status": 404, "error": "Dialler contact not found"},
        )

    await api.request("DELETE", f"/dialler/contacts/contact/{a['ID']}")
    assert await pool.fetchval("SELECT array_agg(id) FROM contact_history") == [hb]


def test_record_fields_cover_the_spec() -> None:
    assert set(SPEC_IMPORT) - {"DiallerCampaignsID", "UserData", "Name"} - {
        f"PhoneNumber{n}" for n in range(1, 7)
    } <= set(DATA_FIELDS)
