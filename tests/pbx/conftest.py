"""PBX lab fixtures: a real Asterisk + sipp lab on test ports, and a raw AMI client.

The lab is brought up once per session with scripts/lab.sh (the Asterisk build is cached; a cold
build takes several minutes) on ports that do not clash with a demo lab, and brought down at the
end. Every test in tests/pbx gets the `pbx` marker (deselect with `-m "not pbx"`).

panoramisk 1.4 pitfalls handled here: connect() returns before the login completes (we wait for
it), Originate must always carry Async, every await is bounded by asyncio.wait_for, and an event
carrying a pending action's ActionID (the OriginateResponse) goes to that action's future, not to
the event callbacks, so the helper records it from the future.
"""

from __future__ import annotations

import asyncio
import fcntl
import itertools
import os
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from panoramisk import Manager

from dialerd.config import Settings
from tests.browser.conftest import browser, page, server  # noqa: F401 (the wallboard's lab test)
from tests.conftest import Api
from tests.pbx.bare import bare_manager
from tests.pbx.harness import Blackhole, Harness, Serve

REPO = Path(__file__).resolve().parents[2]
LAB_SH = REPO / "scripts" / "lab.sh"

# Test lab settings (a demo lab keeps the defaults 5038/5060 and <repo>/.lab). Several pytest
# sessions may run on one machine at once (several engineers, CI): each takes a free slot k
# (an flock held for the whole session) with its own LAB_DIR and ports, so no session stops or
# reconfigures another's lab.
TEST_LAB_SETTINGS = {
    "LAB_AGENTS": "3",
    "LAB_TALK_TIME": "3",
    "LAB_WRAPUP": "2",
    "LAB_BENCH_AGENTS": "20",
    "LAB_BENCH_TALK": "1",
}
SLOTS = 10


def _take_slot() -> tuple[int, int]:
    """Lock a free slot; returns (slot, lock fd). Slot 0 is .lab-test, AMI 15038, SIP 15060.
    The locks are the machine's, not the clone's: the ports are the machine's too, and two
    clones (two engineers, or CI next to a working tree) must not take the same slot. A slot
    whose AMI port something else holds (a lab not started by a test session) is skipped."""
    cache = Path(os.environ.get("DIALERD_CACHE_DIR") or Path.home() / ".cache" / "dialerd")
    lock_dir = cache / "lab-locks"
    lock_dir.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + 1800
    while True:
        for slot in range(SLOTS):
            fd = os.open(lock_dir / f"slot-{slot}.lock", os.O_CREAT | os.O_RDWR, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            if _port_taken(int(_slot_env(slot)["LAB_AMI_PORT"])):
                os.close(fd)
                continue
            return slot, fd
        if time.monotonic() > deadline:
            pytest.fail(f"no free PBX test lab slot out of {SLOTS}")
        time.sleep(2)


def _port_taken(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _slot_env(slot: int) -> dict[str, str]:
    return {
        **TEST_LAB_SETTINGS,
        "LAB_DIR": str(REPO / (".lab-test" if slot == 0 else f".lab-test-{slot}")),
        "LAB_AMI_PORT": str(15038 + 100 * slot),
        "LAB_SIP_PORT": str(15060 + 100 * slot),
    }


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.pbx)
    # A test that restarts Asterisk runs after the others: the session's raw AMI client
    # (`ami`) does not survive it.
    items.sort(key=lambda item: item.get_closest_marker("asterisk_restart") is not None)


@dataclass(frozen=True)
class TonePhone:
    """One of the lab's tone phones: a sipp at ``address`` that answers and sends a sine."""

    name: str
    address: str
    hz: int


@dataclass(frozen=True)
class Lab:
    ami_host: str
    ami_port: int
    ami_username: str
    ami_secret: str
    talk_time: float
    wrapup: float
    agents: int
    lab_dir: Path
    asterisk_conf: Path
    asterisk_prefix: Path
    media_port: int  # the sipp phones' RTP port, on each phone's own address
    tone_phones: dict[str, TonePhone]  # by endpoint name

    def cli(self, command: str) -> str:
        """Run an Asterisk CLI command in the lab (asterisk -rx)."""
        out = subprocess.run(
            [
                str(self.asterisk_prefix / "sbin" / "asterisk"),
                "-C",
                str(self.asterisk_conf),
                "-rx",
                command,
            ],
            check=True,
            capture_output=True,
            text=True,
            timeout=30,
        )
        return out.stdout

    def ami_sessions(self) -> set[str]:
        """File descriptors of dialerd's AMI sessions, from ``manager show connected``."""
        lines = self.cli("manager show connected").splitlines()
        return {line.split()[4] for line in lines[1:] if line.split()[:1] == [self.ami_username]}

    def lab_sh(self, action: str) -> None:
        """Run ``scripts/lab.sh <action>`` on this running lab (the trunk commands take its
        ports from its lab.env, so LAB_DIR is all they need); fails the test when it fails."""
        done = _lab_sh(action, {**os.environ, "LAB_DIR": str(self.lab_dir)}, 60)
        if done.returncode != 0:
            pytest.fail(f"lab.sh {action} failed ({done.returncode}):\n{done.stderr[-4000:]}")


@dataclass(frozen=True)
class Trunk:
    """The lab's trunk, i.e. its far end: ``down`` stops it and returns once Asterisk's qualify
    has the contact Unavailable, ``up`` restarts it and returns once it is Reachable."""

    lab: Lab

    def down(self) -> None:
        self.lab.lab_sh("trunk-down")

    def up(self) -> None:
        self.lab.lab_sh("trunk-up")


@pytest.fixture
def trunk(lab: Lab) -> Iterator[Trunk]:
    """The trunk is up again after the test, passed or failed: the session's other tests share
    the lab. (trunk-up on a running far end only checks that it is Reachable.)"""
    trunk = Trunk(lab)
    yield trunk
    trunk.up()


def _lab_sh(action: str, env: dict[str, str], timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(LAB_SH), action],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture(scope="session")
def lab() -> Iterator[Lab]:
    yield from _slot_lab()


@pytest.fixture(scope="session")
def second_lab(lab: Lab) -> Iterator[Lab]:
    """Another lab in a slot of its own (its own Asterisk, far end and agents): a second PBX
    next to ``lab`` on the same database (tests/pbx/test_nodes_lab.py)."""
    yield from _slot_lab()


def _slot_lab() -> Iterator[Lab]:
    slot, lock_fd = _take_slot()
    try:
        yield from _run_lab({**os.environ, **_slot_env(slot)})
    finally:
        os.close(lock_fd)  # releases the slot


def _run_lab(env: dict[str, str]) -> Iterator[Lab]:
    _lab_sh("down", env, 60)  # leftovers of an interrupted session in this slot
    # A cold Asterisk build takes minutes; a cached one is instant.
    up = _lab_sh("up", env, 1800)
    if up.returncode != 0:
        _lab_sh("down", env, 60)
        pytest.fail(f"lab.sh up failed ({up.returncode}):\n{up.stderr[-4000:]}")
    kv = dict(line.split("=", 1) for line in up.stdout.splitlines() if "=" in line)
    try:
        yield Lab(
            ami_host=kv["DIALERD_AMI_HOST"],
            ami_port=int(kv["DIALERD_AMI_PORT"]),
            ami_username=kv["DIALERD_AMI_USERNAME"],
            ami_secret=kv["DIALERD_AMI_SECRET"],
            talk_time=float(kv["LAB_TALK_TIME"]),
            wrapup=float(kv["LAB_WRAPUP"]),
            agents=int(kv["LAB_AGENTS"]),
            lab_dir=Path(kv["LAB_DIR"]),
            asterisk_conf=Path(kv["LAB_ASTERISK_CONF"]),
            asterisk_prefix=Path(kv["LAB_ASTERISK_PREFIX"]),
            media_port=int(kv["LAB_MEDIA_PORT"]),
            tone_phones=tone_phones(kv["LAB_TONE_PHONES"]),
        )
    finally:
        down = _lab_sh("down", env, 120)
        assert down.returncode == 0, down.stderr


def tone_phones(listed: str) -> dict[str, TonePhone]:
    """lab.env's LAB_TONE_PHONES: ``name:address:Hz`` items, comma-separated."""
    phones = [item.split(":") for item in listed.split(",")]
    return {name: TonePhone(name, address, int(hz)) for name, address, hz in phones}


@pytest.fixture(autouse=True)
def no_calls_left(lab: Lab) -> None:
    """Every pbx test starts on a lab without channels. Asterisk refuses an Originate whose
    ChannelId is a prefix of a live channel's uniqueid (OriginateResponse Failure, Reason 0, no
    channel; "Channel Unique ID 'dialerd-2' already in use"), and the dialer tests' attempt ids
    restart at 1 in every test database: an earlier test's call still up as dialerd-26299108
    made the engine's dialerd-2 fail that way."""
    deadline = time.monotonic() + 60
    while lab.cli("core show channels count").split()[0] != "0":
        if time.monotonic() > deadline:
            pytest.fail(f"an earlier test's calls are still up:\n{lab.cli('core show channels')}")
        time.sleep(0.2)


@dataclass
class Event:
    t: float  # time.monotonic() when received
    name: str
    fields: dict[str, Any]

    def get(self, key: str, default: Any = None) -> Any:
        return self.fields.get(key.lower(), default)

    def chanvars(self, prefix: str = "ChanVariable") -> dict[str, str]:
        raw = self.get(prefix, [])
        if isinstance(raw, str):
            raw = [raw]
        out: dict[str, str] = {}
        for item in raw:
            k, _, v = item.partition("=")
            out[k] = v
        return out


def _to_event(message: Any) -> Event:
    fields = {str(k).lower(): v for k, v in dict(message).items()}
    name = fields.get("event") or fields.get("response") or ""
    return Event(time.monotonic(), str(name), fields)


_attempt_ids = itertools.count(int(time.time() * 1000) % 1_000_000_000)


@dataclass
class Attempt:
    attempt_id: str
    number: str
    sent_at: float
    response: Event | None = None  # the OriginateResponse
    ack: Event | None = None


@dataclass
class Ami:
    """A raw panoramisk client that records every event with its arrival time."""

    manager: Manager = field(init=False)
    events: list[Event] = field(default_factory=list)

    def _on_event(self, _manager: Any, message: Any) -> None:
        self.events.append(_to_event(message))

    def record(self, ev: Event) -> None:
        self.events.append(ev)

    async def wait_for(self, pred: Callable[[Event], bool], within: float) -> Event:
        """First event (already received or arriving within `within` s) matching pred.

        Polls the recorded events rather than waking a future from the event callback: a
        predicate that raises inside panoramisk's dispatch would otherwise be lost silently.
        On timeout, lists the last events received, with the attempts they concern."""
        deadline = time.monotonic() + within
        seen = 0
        while True:
            arrived = len(self.events)
            for ev in self.events[seen:arrived]:
                if pred(ev):
                    return ev
            seen = arrived
            if time.monotonic() > deadline:
                tail = [
                    (round(ev.t, 2), ev.name, sorted(attempt_ids(ev))) for ev in self.events[-15:]
                ]
                raise TimeoutError(f"no matching event within {within} s; the last ones: {tail}")
            await asyncio.sleep(0.02)

    def send_originate(
        self,
        number: str,
        queue: str,
        *,
        amd: bool = False,
        machine_action: str = "hangup",
        agent_timeout: int = 2,
        ring_timeout_ms: int = 30000,
        response_timeout: float = 60.0,
    ) -> tuple[Attempt, asyncio.Task[None]]:
        """Send an async Originate the way the engine does; returns at once."""
        attempt = Attempt(str(next(_attempt_ids)), number, time.monotonic())
        action = {
            "Action": "Originate",
            "Channel": f"PJSIP/{number}@farend",
            "Context": "dialerd-outbound",
            "Exten": "s",
            "Priority": "1",
            "Async": "true",
            "Timeout": str(ring_timeout_ms),
            "CallerID": '"dialerd" <5550100>',
            "ChannelId": f"dialerd-{attempt.attempt_id}",
            "OtherChannelId": f"dialerd-{attempt.attempt_id}-2",
            "Variable": [
                f"DIALERD_ATTEMPT_ID={attempt.attempt_id}",
                "DIALERD_CONTACT_ID=1",
                "DIALERD_CAMPAIGN_ID=1",
                f"DIALERD_QUEUE={queue}",
                f"DIALERD_AMD={1 if amd else 0}",
                f"DIALERD_MACHINE_ACTION={machine_action}",
                f"DIALERD_AGENT_TIMEOUT={agent_timeout}",
            ],
        }

        async def run() -> None:
            result = await asyncio.wait_for(self.manager.send_action(action), response_timeout)
            msgs = result if isinstance(result, list) else [result]
            for m in msgs:
                ev = _to_event(m)
                if ev.name == "OriginateResponse":
                    attempt.response = ev
                    # also visible to wait_for(), like any other event
                    self.record(ev)
                else:
                    attempt.ack = ev

        return attempt, asyncio.get_running_loop().create_task(run())

    def for_attempt(self, attempt: Attempt) -> list[Event]:
        return [ev for ev in self.events if attempt.attempt_id in attempt_ids(ev)]

    def by_attempt(self) -> dict[str, list[Event]]:
        """All recorded events grouped by attempt id (one pass, for many attempts)."""
        out: dict[str, list[Event]] = {}
        for ev in self.events:
            for aid in attempt_ids(ev):
                out.setdefault(aid, []).append(ev)
        return out


def attempt_ids(ev: Event) -> set[str]:
    """The attempts whose callee channel this event concerns: by Uniqueid/DestUniqueid
    `dialerd-<id>`, the UserEvent's AttemptId, or the DIALERD_ATTEMPT_ID channel variable."""
    ids = set()
    for key in ("uniqueid", "destuniqueid"):
        value = ev.get(key) or ""
        if value.startswith("dialerd-") and value.count("-") == 1:
            ids.add(value[len("dialerd-") :])
    if ev.get("attemptid"):
        ids.add(ev.get("attemptid"))
    aid = ev.chanvars().get("DIALERD_ATTEMPT_ID")
    if aid:
        ids.add(aid)
    return ids


@pytest.fixture(scope="session")
async def ami(lab: Lab) -> AsyncIterator[Ami]:
    client = Ami()  # records from the first event on, login included
    client.manager = await bare_manager(
        lab.ami_host, lab.ami_port, lab.ami_username, lab.ami_secret, on_event=client._on_event
    )
    try:
        yield client
    finally:
        client.manager.close()


@pytest.fixture
async def blackhole(lab: Lab) -> AsyncIterator[Blackhole]:
    """A relay to the lab's AMI (:class:`Blackhole`), closed after the test."""
    relay = Blackhole(lab.ami_host, lab.ami_port)
    await relay.start()
    yield relay
    await relay.close()


@pytest.fixture
async def h(api: Api, pool: asyncpg.Pool, lab: Lab, settings: Settings) -> Harness:
    return Harness(api, pool, lab, settings)


@pytest.fixture
async def serve(h: Harness) -> AsyncIterator[Serve]:
    """Starts ``dialerd serve`` processes (see :class:`Serve`); kills what still runs after
    the test and lets the calls left behind end (talk time) and the agents get free."""
    processes = Serve(h)
    yield processes
    processes.kill_all()
    await asyncio.sleep(h.lab.wrapup + 3.5)
