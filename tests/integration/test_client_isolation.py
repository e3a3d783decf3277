"""Client isolation over every operation of every API and every console route, built from the
app's route table and /openapi.json: a token (or console user: an admin, an agent for the
workspace) of client 1 that names an object of client 2 (a campaign, a result code, a contact,
an import, a queue) in a path, a query or a form gets exactly the answer an object that does
not exist gets (status and body), in the same time (medians within 1 ms), and changes nothing
of client 2's; the pages and event streams that name none carry nothing of client 2's while a
dialer's live view shows its agent and call. A new operation or route fails here until it is
given a case.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import io
import operator
import re
import statistics
import time
import uuid
import zipfile
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from dialerd.api import examples
from dialerd.config import Settings
from dialerd.console.guard import roles_of
from dialerd.dialer.breaker import BreakerState
from dialerd.dialer.live import CallLive, CampaignLive, live_view
from dialerd.dialer.pacing import CallStats
from dialerd.domain import (
    AgentLive,
    AgentState,
    AgentStatus,
    DialableCampaign,
    PbxStatus,
    ResultCodeType,
    Role,
)
from dialerd.service import build_app
from dialerd.store import agents
from dialerd.store.dialer import PostgresDialerStore
from dialerd.store.live import PostgresLiveStore
from dialerd.users.service import add_user
from dialerd.users.tokens import create_token
from tests import sheets
from tests.conftest import PASSWORD
from tests.integration.test_attempts import start_one
from tests.integration.test_results import add_code, called
from tests.integration.test_scheduler import add_campaign, add_contact
from tests.integration.test_scheduler import campaign as campaign_of

Client = TestClient[web.Request, web.Application]
REPEATS = 15  # interleaved pairs per round of a case; the medians are compared
MAX_REPEATS = 600
WARM_UP = 2
TIMING_MS = 1.0
# Ids far from anything a small test makes, so that they can be told apart in an answer.
FIRST_ID = 900_001
THEIR_NUMBER = "+4930123477"  # their contact's


@dataclass(frozen=True)
class Ref:
    """An object of client 2's, and one of the same kind that does not exist at all."""

    theirs: str
    missing: str


@dataclass
class World:
    """What client 2 has, by the name of the parameter that names it."""

    refs: dict[str, Ref]
    names: list[str]  # texts of client 2's that no answer to client 1 may hold


def _pick(ref: Ref, which: str) -> str:
    return ref.theirs if which == "theirs" else ref.missing


def _normal(text: str, refs: dict[str, Ref]) -> str:
    """The answer with every named object written ``<ref>``: a message that names the id it
    was asked for says nothing of whose it is."""
    for ref in refs.values():
        for value in (ref.theirs, ref.missing):
            text = re.sub(rf"(?<![\w-]){re.escape(value)}(?![\w-])", "<ref>", text)
    return text


async def _bump_ids(pool: asyncpg.Pool) -> None:
    for table in ("campaigns", "contacts", "campaign_result_codes", "file_imports", "api_tokens"):
        await pool.execute(
            "SELECT setval(pg_get_serial_sequence($1, 'id'), $2)", table, FIRST_ID - 1
        )


async def _their_api_objects(client: Client, token: str, pool: asyncpg.Pool) -> dict[str, Ref]:
    """Client 2's campaign, result code, contact (with history) and async import, made through
    the API with client 2's own token."""
    headers = {"Authorization": f"Bearer {token}"}

    async def call(method: str, path: str, body: dict[str, Any]) -> Any:
        async with client.request(method, path, json=body, headers=headers) as resp:
            assert resp.status == 200, await resp.text()
            return await resp.json()

    settings = {
        "Name": "Their secret campaign",
        "Queue": "sales",
        "DialString": "PJSIP/{number}@t",
        "CallerID": "+4930123499",
    }
    campaign = (await call("POST", "/dialler/campaigns", settings))["records"][0]["ID"]
    code = (
        await call(
            "POST",
            f"/dialler/campaigns/{campaign}/resultcodes",
            {"Name": "Their code", "DiallerResultCodesTypesID": 1},
        )
    )["records"][0]["ID"]
    contact_body = {
        "DiallerCampaignsID": campaign,
        "Name": "Their secret contact",
        "UserData": "their-customer-7",
        "PhoneNumber1": THEIR_NUMBER,
    }
    contact = (await call("POST", "/dialler/contacts/import", contact_body))["records"][0]["ID"]
    await pool.execute(
        "INSERT INTO contact_history (contact_id, campaign_id, client_id, phone_number,"
        " phone_number_offset, status, connres, cause_code, dt_call_start, dt_call_end)"
        " SELECT id, campaign_id, 2, phone_numbers[1], 1, 'closed', 1, 16, now(), now()"
        " FROM contacts"
    )
    calltasks = examples.CALLTASK_REQUEST | {"callCode": campaign}
    async with client.post(
        "/itxdialer/calltaskimport?importAsync=true", json=calltasks, headers=headers
    ) as resp:
        assert resp.status == 200, await resp.text()
        job = (await resp.json())["importId"]
    for _ in range(200):  # their import is done before anything of theirs is compared
        async with client.get(f"/itxdialer/calltaskimport/{job}", headers=headers) as resp:
            if resp.status != 202:
                break
        await asyncio.sleep(0.05)
    assert resp.status == 200, await resp.text()
    return {
        "campaign": Ref(str(campaign), str(FIRST_ID + 90_000)),
        "code": Ref(str(code), str(FIRST_ID + 90_001)),
        "contact": Ref(str(contact), str(FIRST_ID + 90_002)),
        "userData": Ref("their-customer-7", "nobody-customer-7"),
        "import": Ref(job, str(uuid.uuid4())),
        "campaignName": Ref("Their secret campaign", "Nobody's campaign"),
    }


@pytest.fixture
async def world(settings: Settings, pool: asyncpg.Pool) -> AsyncIterator[tuple[Client, World]]:
    await _bump_ids(pool)
    await pool.execute("INSERT INTO calling_systems (code) VALUES ('MY_SYSTEM')")
    await pool.execute("INSERT INTO info_fields (id, name) VALUES (216, 'City')")
    async with TestClient(TestServer(build_app(settings, pool))) as client:
        refs = await _their_api_objects(client, await create_token(pool, 2), pool)
        yield client, World(refs, ["Their secret campaign", "Their secret contact", "Their code"])


# --- the APIs ---------------------------------------------------------------------------------

# Which of client 2's objects each parameter of the document names.
PARAMETERS = {
    "id": "campaign",
    "diallerCampaignsID": "campaign",
    "codeId": "code",
    "diallerContactsID": "contact",
    "userData": "userData",
    "importId": "import",
}
# Bodies: a valid one for operations that name their object in the path (so that the answer is
# about the object, not the body), and those that name it in the body.
Body = Callable[[dict[str, Ref], str], dict[str, Any]]
BODIES: dict[str, list[Body]] = {
    "patch/dialler/campaigns/{id}": [lambda r, w: {"Name": "Renamed"}],
    "post/dialler/campaigns/{id}/resultcodes": [
        lambda r, w: {"Name": "Sale", "DiallerResultCodesTypesID": 1}
    ],
    "patch/dialler/campaigns/{id}/resultcodes/{codeId}": [lambda r, w: {"Name": "Renamed"}],
    "post/dialler/contacts/import": [
        lambda r, w: examples.CONTACT_IMPORT | {"DiallerCampaignsID": int(_pick(r["campaign"], w))},
        lambda r, w: (
            examples.CONTACT_IMPORT_BY_NAME
            | {"DiallerCampaignsName": _pick(r["campaignName"], w), "PhoneNumber1": "+4930123457"}
        ),
    ],
    "post/dialler/contacts/update": [
        lambda r, w: {"ID": int(_pick(r["contact"], w)), "Name": "Changed"},
        lambda r, w: {"UserData": _pick(r["userData"], w), "Name": "Changed"},
    ],
    "post/itxdialer/calltaskimport": [
        lambda r, w: examples.CALLTASK_REQUEST | {"callCode": int(_pick(r["campaign"], w))}
    ],
}
# Query strings an operation is also tried with (the async import checks before it queues).
# The abandon-rate report checks its days before the campaign: given them, it looks it up.
DAYS = {"from": "2026-11-01", "to": "2026-11-30"}
VARIANTS = {
    "post/itxdialer/calltaskimport": [{}, {"importAsync": "true"}],
    "get/dialler/campaigns/{id}/abandonrate": [DAYS],
    "get/dialler/campaigns/{id}/abandonrate.csv": [DAYS],
}
# Operations that name no object: they list or create the token's client's own (the
# do-not-call list is the token's client's; tests/integration/test_dnc.py shows that another
# client's numbers neither show nor apply).
OWN_ONLY = {
    "get/dialler/campaigns",
    "post/dialler/campaigns",
    "get/dialler/dnc",
    "post/dialler/dnc",
    "delete/dialler/dnc",
}


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    build: Callable[[str], tuple[str, dict[str, str], Any]]
    form: bool = False  # the body is a form's, else JSON


def _api_cases(document: dict[str, Any], refs: dict[str, Ref]) -> list[Case]:
    cases = []
    for path, item in document["paths"].items():
        for method, op in item.items():
            op_id = op["operationId"]
            if op.get("security") == [] or op_id in OWN_ONLY:
                continue
            params = [p for p in op.get("parameters", []) if p["in"] in ("path", "query")]
            named = [p["name"] for p in params if p["name"] in PARAMETERS]
            bodies: list[Body | None] = list(BODIES.get(op_id, []))
            assert named or bodies, f"{op_id} names no object: give it a case or OWN_ONLY"
            assert "requestBody" not in op or bodies, f"{op_id} needs a body in BODIES"
            unknown = [p["name"] for p in params if p["in"] == "path" and p["name"] not in named]
            assert not unknown, f"{op_id}: no object for path parameter(s) {unknown}"
            for query in VARIANTS.get(op_id, [{}]):
                for n, body in enumerate(bodies or [None]):
                    cases.append(
                        Case(
                            f"{op_id} {query} #{n}",
                            method.upper(),
                            _builder(path, named, query, body, refs),
                        )
                    )
    return cases


def _builder(
    path: str,
    named: list[str],
    query: dict[str, str],
    body: Body | None,
    refs: dict[str, Ref],
) -> Callable[[str], tuple[str, dict[str, str], dict[str, Any] | None]]:
    def build(which: str) -> tuple[str, dict[str, str], dict[str, Any] | None]:
        url, params = path, dict(query)
        for name in named:
            value = _pick(refs[PARAMETERS[name]], which)
            if "{" + name + "}" in url:
                url = url.replace("{" + name + "}", value)
            else:
                params[name] = value
        return url, params, body(refs, which) if body else None

    return build


def _api_routes(app: web.Application) -> set[str]:
    """operationId-like names of the app's own routes (not the console's)."""
    out = set()
    for resource in app.router.resources():
        if isinstance(resource, web.PrefixedSubAppResource):
            continue
        for route in resource:
            if route.method != "HEAD":
                out.add(f"{route.method.lower()}{resource.canonical}")
    return out


async def _timed(
    client: Client, case: Case, request: tuple[str, dict[str, str], Any], **kw: Any
) -> tuple[float, int, str]:
    url, params, body = request
    sent = {"data": body} if case.form else {"json": body}
    started = time.perf_counter()
    async with client.request(case.method, url, params=params, **sent, **kw) as resp:
        text = await resp.text()
    return (time.perf_counter() - started) * 1000, resp.status, text


async def _compare(
    client: Client, case: Case, refs: dict[str, Ref], **kw: Any
) -> tuple[int, str, float]:
    """(status, normalised body, |median difference| in ms) of the case for their object and a
    missing one; the answers must be equal. The two requests of a pair are sent one after the
    other, and the difference is the median of the pairs' differences: a change in the
    machine's load hits both of a pair alike, where the two medians apart would each carry it
    (on a busy 2-core machine latencies vary by tens of ms). More rounds are taken while it is
    1 ms or more, up to MAX_REPEATS: noise fades, a real difference stays."""
    times: dict[str, list[float]] = {"theirs": [], "missing": []}
    answers: dict[str, set[tuple[int, str]]] = {"theirs": set(), "missing": set()}
    n, diff = 0, float("inf")
    while diff >= TIMING_MS and n < MAX_REPEATS + WARM_UP:
        for _ in range(REPEATS):
            for which in ("theirs", "missing") if n % 2 else ("missing", "theirs"):
                ms, status, text = await _timed(client, case, case.build(which), **kw)
                answers[which].add((status, _normal(text, refs)))
                if n >= WARM_UP:  # plans and caches are warm
                    times[which].append(ms)
            n += 1
        diff = abs(statistics.median(map(operator.sub, times["theirs"], times["missing"])))
    assert answers["theirs"] == answers["missing"], case.name
    assert len(answers["missing"]) == 1, (case.name, answers["missing"])
    ((status, text),) = answers["missing"]
    return status, text, diff


async def _snapshot(pool: asyncpg.Pool) -> str:
    """Everything of client 2's, as text."""
    parts = [
        await pool.fetchval(f"SELECT coalesce(json_agg(t ORDER BY t)::text, '') FROM {sql} t")
        for sql in (
            "(SELECT * FROM campaigns WHERE client_id = 2)",
            "(SELECT c.* FROM contacts c JOIN campaigns p ON p.id = c.campaign_id"
            " WHERE p.client_id = 2)",
            "(SELECT r.* FROM campaign_result_codes r JOIN campaigns p ON p.id = r.campaign_id"
            " WHERE p.client_id = 2)",
            "(SELECT * FROM contact_history WHERE client_id = 2)",
            "(SELECT id, client_id, status FROM import_jobs)",
            "(SELECT * FROM users WHERE client_id = 2)",
            "(SELECT * FROM api_tokens WHERE client_id = 2)",
            "(SELECT id, client_id, status, campaign_id FROM file_imports WHERE client_id = 2)",
        )
    ]
    return "\n".join(parts)


async def test_every_api_operation_answers_their_object_as_a_missing_one(
    world: tuple[Client, World], pool: asyncpg.Pool
) -> None:
    client, their = world
    async with client.get("/openapi.json") as resp:
        document = await resp.json()
    documented = {op["operationId"] for item in document["paths"].values() for op in item.values()}
    # every route of the app that needs a token is in the document, so none escapes the cases
    # below; the others are public pages (/, /docs, /openapi.json, the console's redirect)
    for route in _api_routes(client.app) - documented:
        method, path = re.fullmatch(r"([a-z]+)(/.*)", route).groups()  # type: ignore[union-attr]
        async with client.request(method, path.replace("{name}", "x"), allow_redirects=False) as r:
            assert r.status != 401 and not path.startswith(("/dialler", "/itx")), route
    headers = {"Authorization": f"Bearer {await create_token(pool, 1)}"}
    before = await _snapshot(pool)
    cases = _api_cases(document, their.refs)
    assert len(cases) >= 20
    slow = []
    statuses = {}
    for case in cases:
        status, _, diff = await _compare(client, case, their.refs, headers=headers)
        statuses[case.name] = status
        if diff >= TIMING_MS:
            slow.append((case.name, round(diff, 3)))
    # each case reached the object's lookup: a not-found (a calltask refusal is a 400)
    assert {n: s for n, s in statuses.items() if s != 404 and "calltaskimport " not in n} == {}
    assert not slow, slow
    assert await _snapshot(pool) == before

    # what names no object lists only client 1's
    for path in ("/dialler/campaigns", "/dialler/contacts"):
        async with client.get(path, headers=headers) as resp:
            text = await resp.text()
        assert resp.status == 200 and not any(n in text for n in their.names), text


# --- the console ------------------------------------------------------------------------------

CONSOLE_PARAMETERS = {
    "campaign_id": "campaign",
    "contact_id": "contact",
    "code_id": "code",
    "import_id": "file_import",
    "token_id": "token",
    "login": "login",
}
# Fixed parts of a path, by parameter: the route admits these words (the users' actions
# others than the contacts').
CONSOLE_WORDS = {"action": "lock", "move": "pause"}
CONSOLE_ROUTE_WORDS = {"/console/admin/users/{login}/{action}": {"action": "disable"}}
CONSOLE_BODIES: dict[str, dict[str, str]] = {
    "/console/campaigns/{campaign_id}/edit": {"Name": "Renamed", "WindowDays": "1"},
    "/console/campaigns/{campaign_id}/resultcodes": {"Name": "Sale", "Type": "1"},
    "/console/campaigns/{campaign_id}/resultcodes/{code_id}": {"Name": "Renamed", "Type": "1"},
    "/console/wallboard/{campaign_id}/action": {"action": "pause", "agent": "PJSIP/agent1"},
}
AGENT = "PJSIP/our-agent"  # client 1's agent's phone
OUR_QUEUE = "our-queue"  # client 1's campaign's; client 2's is "sales"
THEIR_AGENT = "PJSIP/their-agent"
ConsoleBody = Callable[[dict[str, Ref], str], tuple[str, dict[str, str], Any]]


def _upload(refs: dict[str, Ref], which: str) -> tuple[str, dict[str, str], Any]:
    form = aiohttp.FormData()  # a multipart body is sent once: a new one each time
    form.add_field("campaign", _pick(refs["campaign"], which))
    rows: list[list[object]] = [["Name", "Telefon"], ["Ina", 4915112345679]]
    form.add_field("file", sheets.xlsx({"Kunden": rows}), filename="our-list.xlsx")
    return "/console/imports", {}, form


def _query(path: str, **more: str) -> ConsoleBody:
    """A GET whose query names the campaign."""
    return lambda r, w: (path, {"campaign": _pick(r["campaign"], w)} | more, None)


# Routes that name an object in a query or a form, by "METHOD path": each way they name it,
# as (path, query, form) for their object or a missing one.
CONSOLE_NAMED: dict[str, list[ConsoleBody]] = {
    "GET /console/contacts": [_query("/console/contacts")],
    "GET /console/contacts/bulk": [_query("/console/contacts/bulk", action="lock")],
    "POST /console/contacts/bulk": [
        lambda r, w: (
            "/console/contacts/bulk",
            {},
            {"campaign": _pick(r["campaign"], w), "action": "lock"},
        )
    ],
    "POST /console/imports": [_upload],
    "GET /console/reports": [_query("/console/reports", **DAYS)],
    "GET /console/reports/attempts.csv": [_query("/console/reports/attempts.csv", **DAYS)],
    "GET /console/reports/attempts.xlsx": [_query("/console/reports/attempts.xlsx", **DAYS)],
    "GET /console/wallboard/events": [_query("/console/wallboard/events")],
    "POST /console/admin/users": [
        lambda r, w: (
            "/console/admin/users",
            {},
            {
                "login": "new-agent",
                "password": PASSWORD,
                "role": "agent",
                "endpoint": "PJSIP/new-agent",
                "campaign": _pick(r["campaign"], w),
            },
        )
    ],
    "POST /console/admin/users/{login}/{action}": [
        lambda r, w: (
            "/console/admin/users/our-agent/campaigns",
            {},
            {"campaign": _pick(r["campaign"], w)},
        )
    ],
    "POST /console/agent/skip": [
        lambda r, w: ("/console/agent/skip", {}, {"contact": _pick(r["contact"], w), "reason": "x"})
    ],
    "POST /console/agent/manual": [
        lambda r, w: (
            "/console/agent/manual",
            {},
            {"campaign": _pick(r["campaign"], w), "number": "+4930123999"},
        )
    ],
    "POST /console/agent/result": [
        lambda r, w: ("/console/agent/result", {}, {"code": _pick(r["code"], w)})
    ],
    "POST /console/agent/transfer": [
        lambda r, w: (
            "/console/agent/transfer",
            {},
            {"to": "queue", "target": _pick(r["queue"], w)},
        )
    ],
}
# Cases whose refusal is a form's error (400) or a message in an htmx fragment (200; without
# htmx, a redirect to the page that shows it) rather than a 404: the message, the same for
# their object and a missing one.
CONSOLE_REFUSALS = {
    "POST /console/wallboard/{campaign_id}/action": (200, "there is no campaign <ref>"),
    "POST /console/imports #0": (400, "our-list.xlsx: campaign <ref> is not a campaign of this"),
    "POST /console/admin/users #0": (400, "No campaign <ref> of this client"),
    "POST /console/admin/users/{login}/{action}": (400, "No user &#39;<ref>&#39;"),
    "POST /console/admin/users/{login}/{action} #0": (400, "No campaign <ref> of this client"),
    "POST /console/agent/skip #0": (200, "That contact is not offered to you"),
    "POST /console/agent/manual #0": (200, "That is not one of your campaigns"),
    "POST /console/agent/result #0": (200, "Not recorded: no result code with ID <ref>"),
    "POST /console/agent/transfer #0": (200, "&#39;<ref>&#39; is not one of your queues"),
}
# The event streams: read as the pages they feed read them, for what they carry.
CONSOLE_STREAMS = {"GET /console/wallboard/events", "GET /console/agent/events"}
# Routes that name no object: the user's client's own (lists, its do-not-call list, its
# users, tokens and pause reasons), the installation's calling systems and info fields, the
# agent's own state, call and offer, the sign-in and the assets. Their pages are read for
# anything of client 2's.
CONSOLE_OWN = {
    "GET /console/",
    "GET /console/signin",
    "POST /console/signin",
    "POST /console/signout",
    "GET /console/assets/{name}",
    "GET /console/assets/vendor/{name}",
    "GET /console/campaigns",
    "GET /console/campaigns/table",
    "GET /console/campaigns/new",
    "POST /console/campaigns/new",
    "GET /console/imports",
    "GET /console/dnc",
    "POST /console/dnc/add",
    "POST /console/dnc/remove",
    "POST /console/dnc/upload",
    "GET /console/wallboard",
    "GET /console/admin/users",
    "GET /console/admin/audit",
    "GET /console/admin/setup",
    "POST /console/admin/setup/systems",
    "POST /console/admin/setup/fields",
    "POST /console/admin/setup/tokens",
    "POST /console/admin/setup/systems/{code}/crm",
    "POST /console/admin/setup/reasons",
    "POST /console/admin/setup/reasons/delete",
    "GET /console/agent/",
    "POST /console/agent/{move}",
    "POST /console/agent/hangup",
    "POST /console/agent/call",
}


@dataclass
class Ours:
    """Client 1's console users (an admin, an agent), each signed in on a client of its
    own, and what the agent is on."""

    admin: Client
    admin_csrf: str
    agent: Client
    agent_csrf: str
    agent_id: int
    campaign: int
    after_call: int  # the agent's ended call, whose result it has to record


async def _signed_in(client: Client, login: str) -> str:
    resp = await client.post("/console/signin", data={"login": login, "password": PASSWORD})
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', await resp.text())
    assert csrf, await resp.text()
    return csrf.group(1)


@pytest.fixture
async def console_world(
    settings: Settings, pool: asyncpg.Pool, world: tuple[Client, World]
) -> AsyncIterator[tuple[Client, World]]:
    """Client 2 also has a console user, an API token and a file import, and its queue."""
    client, their = world
    await add_user(pool, 2, "their-admin", PASSWORD, Role.ADMIN)
    await create_token(pool, 2, "their token")
    token_id = await pool.fetchval("SELECT max(id) FROM api_tokens WHERE client_id = 2")
    async with TestClient(TestServer(build_app(settings, pool))) as theirs:
        csrf = await _signed_in(theirs, "their-admin")
        form = aiohttp.FormData()
        form.add_field("campaign", their.refs["campaign"].theirs)
        rows: list[list[object]] = [["Name", "Telefon"], ["Hans", 4915112345678]]
        form.add_field("file", sheets.xlsx({"Kunden": rows}), filename="their-list.xlsx")
        resp = await theirs.post(
            "/console/imports",
            data=form,
            headers={"X-CSRF-Token": csrf, "HX-Request": "true"},
            allow_redirects=False,
        )
        assert resp.status == 204, await resp.text()
        file_import = resp.headers["HX-Redirect"].rsplit("/", 1)[1]
    their.refs |= {
        "file_import": Ref(file_import, str(FIRST_ID + 90_003)),
        "token": Ref(str(token_id), str(FIRST_ID + 90_004)),
        "login": Ref("their-admin", "nobody-admin"),
        "queue": Ref("sales", "nobody-queue"),
    }
    their.names += ["their-admin", "their token", "their-list.xlsx"]
    yield client, their


@pytest.fixture
async def ours(
    settings: Settings, pool: asyncpg.Pool, console_world: tuple[Client, World]
) -> AsyncIterator[Ours]:
    """Client 1's admin and agent; the agent works client 1's campaign (with a result code),
    has a call of it that ended and the dialer's view shows it on another."""
    client, _ = console_world
    await add_user(pool, 1, "ada", PASSWORD, Role.ADMIN)
    campaign = await add_campaign(pool, "Our campaign", queue=OUR_QUEUE)
    await add_code(pool, campaign, ResultCodeType.SUCCESS, name="Our code")
    agent = await add_user(
        pool, 1, "our-agent", PASSWORD, Role.AGENT, endpoint=AGENT, campaign_ids=[campaign]
    )
    after_call = await called(pool, await add_contact(pool, campaign, ["+4930100000"]))
    async with TestClient(TestServer(build_app(settings, pool))) as agent_client:
        yield Ours(
            client,
            await _signed_in(client, "ada"),
            agent_client,
            await _signed_in(agent_client, "our-agent"),
            agent.id,
            campaign,
            after_call,
        )


async def _live_view(
    pool: asyncpg.Pool, ours: Ours, their: World, *, on_their_call: bool = False
) -> dict[str, Any]:
    """One engine dialling both clients: our agent talking on our call; their agent talking
    on their contact's call, and our agent in their queue too (a queue of one name), where
    it is put on their call in their agent's place (``on_their_call``; ours then waits for
    an agent)."""
    store = PostgresDialerStore(pool, "e1", 60)
    mine = DialableCampaign.of(await campaign_of(store, ours.campaign))
    theirs = DialableCampaign.of(await campaign_of(store, int(their.refs["campaign"].theirs)))
    assert mine is not None and theirs is not None
    our_call = await start_one(pool, store, await add_contact(pool, ours.campaign, ["+4930100001"]))
    their_contact = int(their.refs["contact"].theirs)
    their_call = await pool.fetchval(
        "SELECT max(id) FROM contact_history WHERE contact_id = $1", their_contact
    )
    now = time.time()
    calls = [
        CallLive(our_call, 0, "+4930100001", "agent", now, None if on_their_call else AGENT),
        CallLive(
            their_call,
            their_contact,
            THEIR_NUMBER,
            "agent",
            now,
            AGENT if on_their_call else THEIR_AGENT,
        ),
    ]
    ours_on, theirs_on, their_agent_on = (
        (AgentState.FREE, AgentState.TALKING, AgentState.FREE)
        if on_their_call
        else (AgentState.TALKING, AgentState.FREE, AgentState.TALKING)
    )
    return live_view(
        "e1",
        now,
        [
            CampaignLive(
                mine,
                [AgentLive(AGENT, "our-agent", ours_on, now)],
                calls[:1],
                CallStats(),
                BreakerState.CLOSED,
                0,
                1,
            ),
            CampaignLive(
                theirs,
                [
                    AgentLive(THEIR_AGENT, "their-agent-name", their_agent_on, now),
                    AgentLive(AGENT, "our-agent", theirs_on, now),
                ],
                calls[1:],
                CallStats(),
                BreakerState.CLOSED,
                0,
                1,
            ),
        ],
        PbxStatus(True, "22.10.1"),
        calls_in_flight=2,
        max_calls_in_flight=200,
        max_originate_rate=100.0,
    )


@contextlib.asynccontextmanager
async def _publishing(pool: asyncpg.Pool, dsn: str, view: dict[str, Any]) -> AsyncIterator[None]:
    """The view published as a running engine does, every second (so that it stays fresh)."""
    live = PostgresLiveStore(pool, dsn, "e1")

    async def beat() -> None:
        while True:
            await live.publish(view)
            await asyncio.sleep(1)

    await live.publish(view)
    task = asyncio.create_task(beat())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await live.withdraw()


def _console_routes(app: web.Application) -> dict[str, tuple[str, web.AbstractRoute]]:
    """ "METHOD path" → (path, route) of every route of the console."""
    sub = next(
        r.get_info()["app"]
        for r in app.router.resources()
        if isinstance(r, web.PrefixedSubAppResource)
    )
    return {
        f"{route.method} {resource.canonical}": (resource.canonical, route)
        for resource in sub.router.resources()
        for route in resource
        if route.method != "HEAD"
    }


def _console_path(
    canonical: str, form: dict[str, str] | None, refs: dict[str, Ref], which: str
) -> tuple[str, dict[str, str], Any]:
    url = canonical
    for name, word in (CONSOLE_WORDS | CONSOLE_ROUTE_WORDS.get(canonical, {})).items():
        url = url.replace("{" + name + "}", word)
    for name, kind in CONSOLE_PARAMETERS.items():
        url = url.replace("{" + name + "}", _pick(refs[kind], which))
    return url, {}, form


def _console_cases(app: web.Application, refs: dict[str, Ref]) -> tuple[list[Case], dict[str, str]]:
    """The cases of every console route that names an object (in its path, its query or its
    form), and the paths of the GET routes that name none. Every route must be in one of
    the tables above: a new one fails here until it is given a case."""
    cases, own = [], {}
    for name, (canonical, route) in sorted(_console_routes(app).items()):
        names = re.findall(r"{(\w+)}", canonical)
        in_path = [n for n in names if n in CONSOLE_PARAMETERS]
        tables = [
            t
            for t, there in [
                ("path", bool(in_path)),
                ("named", name in CONSOLE_NAMED),
                ("stream", name in CONSOLE_STREAMS),
                ("own", name in CONSOLE_OWN),
            ]
            if there
        ]
        assert tables, f"{name}: give it a case (or say why it names nothing)"
        assert "own" not in tables or tables == ["own"], f"{name}: names an object, not own"
        if in_path:
            unknown = [n for n in names if n not in in_path and n not in CONSOLE_WORDS]
            assert not unknown, f"{canonical}: no sample for {unknown}"
            form = CONSOLE_BODIES.get(canonical, {}) if route.method == "POST" else None
            build = functools.partial(_console_path, canonical, form, refs)
            cases.append(Case(name, route.method, build, form=True))
        for n, body in enumerate(CONSOLE_NAMED.get(name, [])):
            cases.append(
                Case(f"{name} #{n}", route.method, functools.partial(body, refs), form=True)
            )
        if name in CONSOLE_OWN and route.method == "GET" and not names:
            own[name] = canonical
    return cases, own


def _for_agents(app: web.Application, name: str) -> bool:
    _, route = _console_routes(app)[name]
    roles = roles_of(route.handler) or ()
    return Role.AGENT in roles and Role.VIEWER not in roles


async def _read_event(client: Client, path: str, **kw: Any) -> str:
    """The first event of a stream, then the stream closed."""
    async with client.get(path, **kw) as resp:
        assert resp.status == 200 and resp.content_type == "text/event-stream", resp.status
        return (await asyncio.wait_for(resp.content.readuntil(b"\n\n"), 30)).decode()


def _text(body: bytes) -> str:
    if body.startswith(b"PK"):  # an .xlsx export: its sheets and shared strings
        with zipfile.ZipFile(io.BytesIO(body)) as sheets:
            return "".join(sheets.read(name).decode() for name in sheets.namelist())
    return body.decode()


async def test_every_console_route_answers_their_object_as_a_missing_one(
    console_world: tuple[Client, World], ours: Ours, pool: asyncpg.Pool, db_dsn: str
) -> None:
    """Signed in as client 1's admin (an agent for the agent's routes), every route that
    names client 2's object answers as for a missing one; the pages and streams that name
    none carry nothing of client 2's, while the dialer's view shows its agent and call."""
    _, their = console_world
    app = ours.admin.app
    cases, own = _console_cases(app, their.refs)
    assert len(cases) >= 30
    their.names += ["their-agent-name", THEIR_AGENT, THEIR_NUMBER]

    # the agent's states its cases need to reach their lookup
    async def ready() -> None:
        new = agents.NewState(AgentStatus.READY)
        await agents.move(pool, ours.agent_id, 1, new, lambda _: True)

    async def after_call() -> None:
        await ready()
        live = PostgresLiveStore(pool, db_dsn, "e1")
        assert await live.start_after_call(AGENT, ours.campaign, ours.after_call)

    prepare = {"POST /console/agent/manual #0": ready, "POST /console/agent/result #0": after_call}
    before = await _snapshot(pool)
    slow, statuses = [], {}
    async with _publishing(pool, db_dsn, await _live_view(pool, ours, their)):
        for case in cases:
            name = case.name.split(" #")[0]
            if case.name in prepare:
                await prepare[case.name]()
            client, csrf = (
                (ours.agent, ours.agent_csrf)
                if _for_agents(app, name)
                else (ours.admin, ours.admin_csrf)
            )
            refusal = CONSOLE_REFUSALS.get(case.name)
            htmx = refusal is not None and refusal[0] == 200
            status, text, diff = await _compare(
                client,
                case,
                their.refs,
                headers={"X-CSRF-Token": csrf} | ({"HX-Request": "true"} if htmx else {}),
                allow_redirects=False,
            )
            if refusal is not None and status == refusal[0] and refusal[1] in text:
                status = 404  # refused as a missing object is
            statuses[case.name] = status
            assert not [n for n in their.names if n in text], (case.name, text)
            if diff >= TIMING_MS:
                slow.append((case.name, round(diff, 3)))
        assert {n: s for n, s in statuses.items() if s != 404} == {}
        assert not slow, slow
        assert await _snapshot(pool) == before

        pages = 0
        for name, path in own.items():
            client = ours.agent if _for_agents(app, name) else ours.admin
            async with client.get(path) as resp:  # the home page sends on to the user's first
                text = _text(await resp.read())
            assert resp.status == 200, (path, resp.status)
            leaked = [n for n in their.names if n in text]
            assert not leaked, (path, leaked)
            pages += 1
        assert pages >= 10

        # the streams' first events: the dialer shows their agent on their call, ours on ours
        events = {}
        for name in sorted(CONSOLE_STREAMS):
            client = ours.agent if _for_agents(app, name) else ours.admin
            events[name] = await _read_event(client, name.split(" ", 1)[1])
        one = await _read_event(
            ours.admin, "/console/wallboard/events", params={"campaign": str(ours.campaign)}
        )
    for text in [*events.values(), one]:
        assert not [n for n in their.names if n in text], text
    for text in (events["GET /console/wallboard/events"], one):
        assert "our-agent" in text, text
        # the PBX's calls in flight are our one, not every client's two
        assert re.findall(r'class="num">(\d+) <span class="unit">of 200', text) == ["1"], text
    workspace = events["GET /console/agent/events"]
    assert "+4930100001" in workspace and "On a call" in workspace  # the pop of our call

    # our agent put on their call (their queue of one name): its workspace shows nothing of it
    async with _publishing(pool, db_dsn, await _live_view(pool, ours, their, on_their_call=True)):
        workspace = await _read_event(ours.agent, "/console/agent/events")
        async with ours.agent.get("/console/agent/") as resp:
            page = await resp.text()
    for text in (workspace, page):
        assert "On a call" not in text and not [n for n in their.names if n in text], text
