"""The console's sign-in, sessions, CSRF, roles and client isolation, over real HTTP and a real
Postgres (no browser: tests/browser/ drives the same pages in Chromium)."""

from __future__ import annotations

import asyncio
import re

import pytest
from aiohttp import web

from dialerd.campaigns import resultcodes
from dialerd.campaigns import service as campaigns
from dialerd.domain import Role
from dialerd.store import users as users_store
from dialerd.users import service as users
from tests.conftest import PASSWORD, Console


class _Samples(dict[str, str]):
    """A sample value of each route parameter: 1 unless its pattern needs a word."""

    def __missing__(self, key: str) -> str:
        return {"action": "disable", "move": "pause"}.get(key, "1")


_SAMPLES = _Samples()


def _console_routes(app: web.Application) -> list[tuple[str, str]]:
    """(method, path with sample parameters) of every console route."""
    sub = next(
        r.get_info()["app"]
        for r in app.router.resources()
        if isinstance(r, web.PrefixedSubAppResource)
    )
    out = []
    for resource in sub.router.resources():
        info = resource.get_info()
        path = info.get("path") or info["formatter"].format_map(_SAMPLES)
        for route in resource:
            if route.method != "HEAD":
                out.append((route.method, path))
    return out


async def test_every_console_route_without_a_session_leads_to_sign_in(console: Console) -> None:
    routes = _console_routes(console.client.app)
    assert len(routes) >= 10
    public = {"/console/signin", "/console/assets/vendor/1", "/console/assets/1"}
    checked = 0
    for method, path in routes:
        if path in public:
            continue
        resp = await console.client.request(method, path, allow_redirects=False)
        assert resp.status == 303, (method, path, resp.status)
        assert resp.headers["Location"].startswith("/console/signin"), (method, path)
        checked += 1
    assert checked >= 8
    # htmx asks for a full-page redirect instead of a fragment
    resp = await console.client.get("/console/campaigns", headers={"HX-Request": "true"})
    assert resp.status == 401 and resp.headers["HX-Redirect"].startswith("/console/signin")


async def test_a_wrong_password_is_refused_and_a_right_one_opens_a_session(
    console: Console,
) -> None:
    await console.add_user("ada", Role.ADMIN)
    resp = await console.client.post(
        "/console/signin", data={"login": "ada", "password": "wrong password"}
    )
    assert resp.status == 401
    assert "Wrong login or password" in await resp.text()
    resp = await console.client.post(
        "/console/signin",
        data={"login": "ADA", "password": PASSWORD, "next": "/console/admin/users"},
        allow_redirects=False,
    )
    assert resp.status == 303 and resp.headers["Location"] == "/console/admin/users"
    cookie = resp.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/console/" in cookie
    status, _, body = await console.get("/console/admin/users")
    assert status == 200 and "ada" in body
    # the database keeps the token's hash, not the token
    token = resp.cookies["dialerd_session"].value
    assert token.encode() not in b"".join(
        r["token_hash"] for r in await console.pool.fetch("SELECT token_hash FROM console_sessions")
    )


async def test_sign_in_goes_only_to_console_pages(console: Console) -> None:
    await console.add_user("ada")
    resp = await console.client.post(
        "/console/signin",
        data={"login": "ada", "password": PASSWORD, "next": "https://evil.example/"},
        allow_redirects=False,
    )
    assert resp.headers["Location"] == "/console/"


async def test_failed_sign_ins_slow_down_the_account_even_with_the_right_password(
    console: Console,
) -> None:
    await console.add_user("ada")
    for _ in range(3):
        assert await console.sign_in("ada", "wrong password") == 401
    resp = await console.client.post("/console/signin", data={"login": "ada", "password": PASSWORD})
    assert resp.status == 429
    assert "Too many failed sign-ins: try again in 1 s" in await resp.text()
    await asyncio.sleep(1.1)
    assert await console.sign_in("ada") == 303
    # a success clears the account's count
    assert (
        await console.pool.fetchval("SELECT count(*) FROM sign_in_failures WHERE key = 'login:ada'")
        == 0
    )


async def test_an_address_is_slowed_down_across_accounts(console: Console) -> None:
    for n in range(20):
        assert await console.sign_in(f"nobody{n}", "wrong password") == 401
    assert await console.sign_in("someone-else", "wrong password") == 429


async def test_a_state_changing_request_without_its_csrf_token_is_refused(
    console: Console,
) -> None:
    await console.add_user("sam")
    await console.sign_in("sam")
    async with console.pool.acquire() as conn:
        created = await campaigns.create(conn, 1, {"Name": "North"})
    path = f"/console/campaigns/{created['ID']}/pause"
    status, _, body = await console.post(path, csrf=False)
    assert status == 403 and "reload the page" in body
    status, _, _ = await console.post(path, {"csrf_token": "forged"}, csrf=False)
    assert status == 403
    async with console.pool.acquire() as conn:
        assert (await campaigns.show(conn, 1, created["ID"]))["bActive"] is True
    # the header works as well as the field (htmx sends the header)
    resp = await console.client.post(
        path, headers={"X-CSRF-Token": console.csrf}, allow_redirects=False
    )
    assert resp.status == 303
    async with console.pool.acquire() as conn:
        assert (await campaigns.show(conn, 1, created["ID"]))["bActive"] is False


async def test_a_viewer_sees_no_buttons_and_its_requests_are_refused(console: Console) -> None:
    await console.add_user("vic", Role.VIEWER)
    async with console.pool.acquire() as conn:
        created = await campaigns.create(conn, 1, {"Name": "North"})
    await console.sign_in("vic")
    status, _, body = await console.get("/console/campaigns")
    assert status == 200 and "North" in body
    assert "Pause" not in body and "New campaign" not in body and "Edit" not in body
    for path in (f"/console/campaigns/{created['ID']}/pause", "/console/campaigns/new"):
        status, _, _ = await console.post(path, {"Name": "X"})
        assert status == 403, path
    assert (await console.get("/console/admin/users"))[0] == 403
    assert "Admin" not in body  # no menu entry for what the role may not open


async def test_one_clients_users_never_see_another_clients_campaigns(console: Console) -> None:
    async with console.pool.acquire() as conn:
        theirs = await campaigns.create(conn, 2, {"Name": "Their campaign"})
        await campaigns.create(conn, 1, {"Name": "Our campaign"})
    await console.add_user("sam", Role.ADMIN, client_id=1)
    await console.sign_in("sam")
    _, _, body = await console.get("/console/campaigns")
    assert "Our campaign" in body and "Their campaign" not in body
    assert (await console.get(f"/console/campaigns/{theirs['ID']}/edit"))[0] == 404
    assert (await console.post(f"/console/campaigns/{theirs['ID']}/pause"))[0] == 404
    assert (await console.post(f"/console/campaigns/{theirs['ID']}/copy"))[0] == 404
    await users.add_user(console.pool, 2, "other", PASSWORD, Role.ADMIN)
    _, _, body = await console.get("/console/admin/users")
    assert "other" not in body
    # nor change another client's user
    assert (await console.post("/console/admin/users/other/disable"))[0] == 400


async def test_no_page_reflects_unescaped_input(console: Console) -> None:
    await console.add_user("sam")
    await console.sign_in("sam")
    status, _, _ = await console.post(
        "/console/campaigns/new", {"Name": "<script>alert(1)</script>", "WindowDays": "1"}
    )
    assert status == 303
    _, _, body = await console.get("/console/campaigns")
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    _, _, body = await console.get("/console/signin?next=%22%3E%3Cscript%3E")
    assert "<script>" not in body.split("</head>")[1]


async def test_the_form_says_what_the_campaigns_api_says_next_to_the_field(
    console: Console,
) -> None:
    await console.add_user("sam")
    await console.sign_in("sam")
    form = {
        "Name": "South",
        "AbandonLimit": "3",
        "WindowStart": "20:00",
        "WindowEnd": "08:00",
        "Timezone": "Mars/Base",
        "WindowDays": "1",
    }
    status, _, body = await console.post("/console/campaigns/new", form)
    assert status == 400
    async with console.pool.acquire() as conn:
        with pytest.raises(campaigns.CampaignRejected) as api_error:
            await campaigns.create(conn, 1, {"Name": "South", "AbandonLimit": 3})
    message = api_error.value.fields["AbandonLimit"]
    assert re.search(
        rf'<p class="field-error" id="err-AbandonLimit">{re.escape(message)}</p>', body
    )
    assert "unknown time zone" in body
    assert await console.pool.fetchval("SELECT count(*) FROM campaigns") == 0


async def test_console_actions_are_in_the_audit_log_for_admins(console: Console) -> None:
    await console.add_user("ada", Role.ADMIN)
    await console.sign_in("ada")
    await console.post("/console/campaigns/new", {"Name": "North", "WindowDays": "1"})
    campaign_id = await console.pool.fetchval("SELECT id FROM campaigns")
    await console.post(f"/console/campaigns/{campaign_id}/pause")
    await console.post(f"/console/campaigns/{campaign_id}/resume")
    _, _, body = await console.get("/console/admin/audit")
    actions = re.findall(r"<code>([\w.]+)</code>", body)
    assert actions == ["campaign.resume", "campaign.pause", "campaign.create", "user.sign_in"]
    assert f"campaign {campaign_id}" in body and "ada" in body


async def test_sign_ins_failures_and_sign_outs_are_in_the_audit_log(console: Console) -> None:
    await console.add_user("ada", Role.ADMIN)
    await console.add_user("sam")
    await console.add_user("old")
    await users.set_disabled(console.pool, "old", True)
    await console.add_user("cy", client_id=2)
    typed = "Tr0ub4dor&3 typed wrong"
    for login in ("sam", "old", "nobody", typed, "cy"):
        assert await console.sign_in(login, typed) == 401
    assert await console.sign_in("sam") == 303
    assert (await console.post("/console/signout"))[0] == 303
    assert await console.sign_in("ada") == 303

    _, _, body = await console.get("/console/admin/audit")
    rows = re.findall(r"<tr><td[^>]*>[^<]*</td><td>(\w+)</td><td><code>([\w.]+)</code></td>", body)
    assert rows == [
        ("ada", "user.sign_in"),
        ("sam", "user.sign_out"),
        ("sam", "user.sign_in"),
        ("old", "user.sign_in_failed"),
        ("sam", "user.sign_in_failed"),
    ]
    assert "reason: wrong password" in body and "reason: account disabled" in body
    assert "127.0.0.1" in body
    # The password is nowhere, nor a name that is no account's (it may be a password typed
    # into the login field), nor another client's account.
    everything = await console.pool.fetchval("SELECT json_agg(a)::text FROM audit_log a")
    assert "Tr0ub4dor" not in everything and "nobody" not in everything
    assert "Tr0ub4dor" not in body and "nobody" not in body and ">cy<" not in body
    assert await console.pool.fetchval("SELECT count(*) FROM audit_log WHERE client_id = 2") == 1


async def test_a_disabled_user_is_signed_out_at_once(console: Console) -> None:
    await console.add_user("ada", Role.ADMIN)
    await console.add_user("sam")
    other = Console(console.client, console.pool)
    assert await console.sign_in("ada") == 303
    status, _, _ = await console.post("/console/admin/users/sam/disable")
    assert status == 303
    assert await users_store.session_user(console.pool, b"x", 60) is None
    assert await other.sign_in("sam") == 401  # disabled: refused like a wrong password


async def test_copy_makes_a_paused_campaign_with_every_setting_and_result_code(
    console: Console,
) -> None:
    await console.add_user("sam")
    await console.sign_in("sam")
    async with console.pool.acquire() as conn:
        source = await campaigns.create(
            conn,
            1,
            {
                "Name": "North",
                "Queue": "sales",
                "DialMode": "predictive",
                "RetryMinutes": {"3": 10},
            },
        )
        for body in (
            {"Name": "Sale", "DiallerResultCodesTypesID": 1, "Position": 1},
            {"Name": "Later", "DiallerResultCodesTypesID": 3, "RetryMinutes": 90, "Position": 2},
        ):
            await resultcodes.create_code(conn, 1, source["ID"], body)
    status, location, _ = await console.post(f"/console/campaigns/{source['ID']}/copy")
    assert status == 303
    copy_id = int(location.split("/")[-2])
    async with console.pool.acquire() as conn:
        copied = await campaigns.show(conn, 1, copy_id)
    assert copied["Name"] == "North (copy)" and copied["bActive"] is False
    same = {
        k: v
        for k, v in copied.items()
        if k not in ("ID", "Name", "bActive", "dtCreated", "dtUpdated")
    }
    assert same == {k: v for k, v in source.items() if k in same}
    kept = ("Name", "DiallerResultCodesTypesID", "RetryMinutes", "Position", "bActive")
    async with console.pool.acquire() as conn:
        codes = [await resultcodes.list_codes(conn, 1, c) for c in (source["ID"], copy_id)]
    source_codes, copied_codes = ([{k: c[k] for k in kept} for c in of] for of in codes)
    assert [(c["Name"], c["RetryMinutes"]) for c in copied_codes] == [("Sale", None), ("Later", 90)]
    assert copied_codes == source_codes
    assert {c["DiallerCampaignsID"] for c in codes[1]} == {copy_id}
