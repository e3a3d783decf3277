"""The call task screen over HTTP: search by a number typed in local format, a contact's page,
the actions on one contact and on everything a search matches (with the count first), the
audit log, CSRF, the viewer's refusals, escaping, and one client never seeing another's."""

from __future__ import annotations

import re

import asyncpg

from dialerd.domain import Role
from tests.conftest import Console
from tests.integration.test_scheduler import add_campaign, add_contact

XSS = "<script>alert(1)</script>"


async def setup(pool: asyncpg.Pool) -> tuple[int, int, int]:
    """A campaign (region NO) with Ola, busy, and the script-named contact; and another
    client's campaign with one contact. Their ids: campaign, Ola, theirs."""
    k = await add_campaign(pool, "Renewals", default_region="NO")
    ola = await add_contact(
        pool, k, ["+4791234567"], name="Ola Nordmann", last_connres=3, attempts=2
    )
    await add_contact(pool, k, ["+4722000000"], name=XSS, last_connres=3, attempts=1)
    await add_contact(pool, k, ["+4722000001"], name="Kari", last_connres=2, attempts=1)
    theirs = await add_campaign(pool, "Theirs", client_id=2)
    other = await add_contact(pool, theirs, ["+4791234567"], name="Their Ola")
    return k, ola, other


async def audit_actions(pool: asyncpg.Pool) -> list[tuple[str, str]]:
    rows = await pool.fetch("SELECT action, target FROM audit_log ORDER BY id")
    return [(r["action"], r["target"]) for r in rows]


async def test_a_number_in_local_format_finds_the_contact(console: Console) -> None:
    k, ola, _ = await setup(console.pool)
    await console.add_user("sam")
    await console.sign_in("sam")
    status, _, body = await console.get(f"/console/contacts?campaign={k}&number=912+34+567")
    assert status == 200
    assert f'data-contact="{ola}"' in body and "Ola Nordmann" in body
    assert "Their Ola" not in body and "Kari" not in body
    assert "<html" in body  # the whole page
    resp = await console.client.get(
        f"/console/contacts?campaign={k}&name=ola", headers={"HX-Request": "true"}
    )
    fragment = await resp.text()
    assert resp.status == 200
    assert '<section id="search"' in fragment and "<html" not in fragment


async def test_a_bad_field_is_marked_next_to_it(console: Console) -> None:
    k, _, _ = await setup(console.pool)
    await console.add_user("sam")
    await console.sign_in("sam")
    status, _, body = await console.get(f"/console/contacts?campaign={k}&number=12&state=x")
    assert status == 400
    assert re.search(r'id="err-number">[^<]*not a possible phone number', body)
    assert 'id="err-state"' in body


async def test_reset_one_contact_then_see_its_history(console: Console) -> None:
    k, ola, _ = await setup(console.pool)
    await console.pool.execute(
        """INSERT INTO contact_history (contact_id, campaign_id, phone_number,
               phone_number_offset, status, connres, cause_code, dt_call_end)
           VALUES ($1, $2, '+4791234567', 1, 'closed', 3, 17, now())""",
        ola,
        k,
    )
    await console.add_user("sam")
    await console.sign_in("sam")
    status, where, _ = await console.post(f"/console/contacts/{ola}/reset")
    assert (status, where) == (303, f"/console/contacts/{ola}")
    row = await console.pool.fetchrow("SELECT * FROM contacts WHERE id=$1", ola)
    assert row is not None and (row["attempts"], row["last_connres"]) == (0, None)
    status, _, body = await console.get(where)
    assert status == 200
    assert "3 busy" in body and "17 user busy" in body  # the history stays, in words
    assert await audit_actions(console.pool) == [
        ("user.sign_in", "user sam"),
        ("contact.reset", f"contact {ola}"),
    ]


async def test_an_action_on_a_search_says_how_many_first(console: Console) -> None:
    k, _, _ = await setup(console.pool)
    await console.add_user("sam")
    await console.sign_in("sam")
    status, _, body = await console.get(
        f"/console/contacts/bulk?campaign={k}&outcome=3&action=reset"
    )
    assert status == 200
    assert re.search(r'id="bulk-count">2<', body)
    status, where, _ = await console.post(
        "/console/contacts/bulk", {"campaign": str(k), "outcome": "3", "action": "reset"}
    )
    assert status == 303 and "done=reset" in where and "count=2" in where
    busy = await console.pool.fetchval(
        "SELECT count(*) FROM contacts WHERE campaign_id=$1 AND last_connres=3", k
    )
    assert busy == 0
    status, _, body = await console.get(where)
    assert "Reset: 2 contacts" in body
    assert await audit_actions(console.pool) == [
        ("user.sign_in", "user sam"),
        ("contacts.reset", f"campaign {k}"),
    ]
    detail = await console.pool.fetchval(
        "SELECT detail FROM audit_log WHERE action = 'contacts.reset'"
    )
    assert detail == {"contacts": 2, "search": {"outcome": "3"}}


async def test_a_post_without_the_csrf_token_is_refused(console: Console) -> None:
    _, ola, _ = await setup(console.pool)
    await console.add_user("sam")
    await console.sign_in("sam")
    status, _, _ = await console.post(f"/console/contacts/{ola}/delete", csrf=False)
    assert status == 403
    assert await console.pool.fetchval("SELECT count(*) FROM contacts WHERE id=$1", ola) == 1


async def test_a_viewer_sees_no_actions_and_cannot_act(console: Console) -> None:
    k, ola, _ = await setup(console.pool)
    await console.add_user("vera", Role.VIEWER)
    await console.sign_in("vera")
    _, _, body = await console.get(f"/console/contacts?campaign={k}")
    assert "Ola Nordmann" in body and "all…" not in body
    _, _, body = await console.get(f"/console/contacts/{ola}")
    assert "Ola Nordmann" in body and "Reset</button>" not in body
    assert (await console.post(f"/console/contacts/{ola}/lock"))[0] == 403
    bulk = {"campaign": str(k), "action": "delete"}
    assert (await console.post("/console/contacts/bulk", bulk))[0] == 403
    assert (await console.get(f"/console/contacts/bulk?campaign={k}&action=delete"))[0] == 403
    assert await console.pool.fetchval("SELECT count(*) FROM contacts WHERE campaign_id=$1", k) == 3
    assert await audit_actions(console.pool) == [("user.sign_in", "user vera")]  # nothing else


async def test_a_script_name_is_text(console: Console) -> None:
    k, _, _ = await setup(console.pool)
    contact = await console.pool.fetchval("SELECT id FROM contacts WHERE name=$1", XSS)
    await console.add_user("sam")
    await console.sign_in("sam")
    for path in (f"/console/contacts?campaign={k}", f"/console/contacts/{contact}"):
        _, _, body = await console.get(path)
        assert XSS not in body and "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    # And what a search reflects.
    _, _, body = await console.get(f"/console/contacts?campaign={k}&customer={XSS}")
    assert XSS not in body


async def test_another_clients_contacts_do_not_exist_for_them(console: Console) -> None:
    k, _, other = await setup(console.pool)
    theirs = await console.pool.fetchval("SELECT campaign_id FROM contacts WHERE id=$1", other)
    await console.add_user("sam")
    await console.sign_in("sam")
    _, _, body = await console.get(f"/console/contacts?campaign={k}&number=91234567")
    assert "Their Ola" not in body
    assert (await console.get(f"/console/contacts?campaign={theirs}"))[0] == 404
    assert (await console.get(f"/console/contacts/{other}"))[0] == 404
    assert (await console.get(f"/console/contacts/bulk?campaign={theirs}&action=reset"))[0] == 404
    for action in ("lock", "reset", "delete"):
        assert (await console.post(f"/console/contacts/{other}/{action}"))[0] == 404
    bulk = {"campaign": str(theirs), "action": "delete"}
    assert (await console.post("/console/contacts/bulk", bulk))[0] == 404
    row = await console.pool.fetchrow("SELECT locked FROM contacts WHERE id=$1", other)
    assert row is not None and row["locked"] is False
