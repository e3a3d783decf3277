"""The AMI connection: login, events to listeners, actions with timeouts, a ping watchdog,
reconnect with back-off and a resync hook before the connection counts as ready.

panoramisk only serialises actions here (see :mod:`dialerd.pbx._wire`, which frames and parses
what Asterisk sends); the lifecycle is ours, because every part of panoramisk's own lifecycle
is wrong for a dialer.

Timeouts are ``asyncio.timeout`` blocks, never ``asyncio.wait_for``: on Python 3.11,
``wait_for`` drops a cancellation that arrives as the awaited thing completes (CPython
gh-86296, fixed in 3.12 by rebuilding it on ``asyncio.timeout``). ``stop()`` cancelled the
connection task at the moment a reconnect's TCP connect finished, the task went on reconnecting
and ``stop()`` waited for ever: a test hung that way.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import overload

import structlog

from dialerd import metrics
from dialerd.domain import PbxError, PbxNotSent, PbxRefused, PbxUnavailable
from dialerd.pbx._wire import RawMessage, Wire, open_wire

log = structlog.get_logger(__name__)

_seq = itertools.count(1)
_STOPPED = "stopped"  # the reason of a loss caused by stop()


class AmiError(PbxError):
    """Base of the errors of this module."""


class AmiUnavailable(AmiError, PbxUnavailable):
    """Not connected, or the connection was lost or timed out while waiting."""


class AmiNotSent(AmiUnavailable, PbxNotSent):
    """Unavailable before the action was written: Asterisk never saw it (for an Originate:
    no call went out)."""


class AmiActionError(AmiError, PbxRefused):
    """Asterisk answered an action with ``Response: Error``."""


@dataclass(frozen=True)
class AmiEvent:
    """One AMI message. For an event ``name`` is its ``Event`` header; for the response to
    an action it is ``"Response"``. ``seq`` numbers the messages of the process in the
    order they were received."""

    name: str
    fields: Mapping[str, str]
    seq: int = 0

    @overload
    def get(self, key: str) -> str | None: ...
    @overload
    def get(self, key: str, default: str) -> str: ...
    def get(self, key: str, default: str | None = None) -> str | None:
        return self.fields.get(key, default)

    def __getitem__(self, key: str) -> str:
        return self.fields[key]


def decode(raw: RawMessage) -> AmiEvent:
    name = raw.get("Event") or ("Response" if "Response" in raw else "")
    return AmiEvent(name, raw, next(_seq))


def backoff_delay(failures: int, low: float, high: float) -> float:
    """Exponential back-off with jitter: between half and all of ``low * 2**failures``,
    capped at ``high``; the jitter keeps many dialers from reconnecting in step."""
    ceiling = min(high, low * 2 ** min(failures, 30))
    return random.uniform(ceiling / 2, ceiling)


@dataclass
class _Pending:
    """An action waiting for its response and, for a list action, its events."""

    action: str
    future: asyncio.Future[list[AmiEvent]]
    events: list[AmiEvent] = field(default_factory=list)

    def take(self, event: AmiEvent) -> bool:
        """Consumes ``event`` if it belongs to this action, completing it when it is the
        response to a plain action or the last event of a list action."""
        if self.future.done() or (not self.events and event.name != "Response"):
            return False
        self.events.append(event)
        if len(self.events) == 1:
            if event.get("Response") == "Error":
                self.future.set_exception(AmiActionError(self.action, event.get("Message", "")))
            elif event.get("EventList") != "start":
                self.future.set_result(self.events)
        elif event.get("EventList") == "Complete":
            self.future.set_result(self.events)
        return True


class _Session:
    """One TCP connection and the actions waiting on it."""

    def __init__(self) -> None:
        self.wire: Wire | None = None
        self.pending: dict[str, _Pending] = {}
        self.logged_in = False
        self.lost = asyncio.Event()
        self.booted = asyncio.Event()  # Asterisk said FullyBooted
        self.reason = ""
        self.watchdog: asyncio.Task[None] | None = None


Listener = Callable[[AmiEvent], None]


class AmiConnection:
    """A self-healing AMI client. See docs/engine-interfaces.md for the contract.

    After :meth:`start` it connects and logs in, runs the :attr:`on_ready` hooks (the
    resync) and only then sets :attr:`ready`; it pings every ``ping_interval`` seconds and
    treats a missing answer within ``ping_timeout`` as a dead connection. Whenever the
    connection is lost it fails the waiting actions, calls :attr:`on_lost` and reconnects
    with exponential back-off (``reconnect_min`` doubling up to ``reconnect_max``).
    """

    def __init__(
        self,
        host: str,
        port: int,
        username: str,
        secret: str,
        *,
        ping_interval: float = 5.0,
        ping_timeout: float = 3.0,
        reconnect_min: float = 0.5,
        reconnect_max: float = 10.0,
        boot_wait: float = 30.0,
    ) -> None:
        self.host = host
        self.port = port
        self.username = username
        self._secret = secret
        self.ping_interval = ping_interval
        self.ping_timeout = ping_timeout
        self.reconnect_min = reconnect_min
        self.reconnect_max = reconnect_max
        self.boot_wait = boot_wait
        self.on_ready: list[Callable[[], Awaitable[None]]] = []
        self.on_lost: list[Callable[[], None]] = []
        self._listeners: list[Listener] = []
        self._session: _Session | None = None
        self._ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.connects = 0  # successful logins so far, for logs and tests

    @property
    def ready(self) -> bool:
        return self._ready.is_set()

    def add_listener(self, fn: Listener) -> None:
        self._listeners.append(fn)

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="ami-connection")

    async def stop(self) -> None:
        """Closes the connection for good: waiting actions fail, ``on_lost`` runs."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # The timeouts are part of the contract: an action's timeout also triggers a reconnect,
    # which a caller's own asyncio.timeout could not.
    async def wait_ready(self, timeout: float) -> None:  # noqa: ASYNC109
        """Returns once ready; raises :class:`AmiUnavailable` after ``timeout`` seconds."""
        try:
            async with asyncio.timeout(timeout):
                await self._ready.wait()
        except TimeoutError:
            raise AmiUnavailable(f"AMI not ready within {timeout} s") from None

    async def send(
        self,
        action: dict[str, str],
        *,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> list[AmiEvent]:
        """Sends an action; returns its response and, for a list action, its events up to
        the ``…Complete`` one. Works while the ``on_ready`` hooks run (before ``ready``)."""
        session = self._session
        if session is None or not session.logged_in:
            raise AmiUnavailable("AMI not connected")
        return await self._request(session, action, timeout)

    async def originate(
        self,
        fields: dict[str, str],
        variables: dict[str, str],
        *,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> None:
        """Places a call: an async Originate, returning once Asterisk accepted it. Raises
        :class:`AmiNotSent` unless :attr:`ready` (so no call goes out before a resync), and
        :class:`AmiUnavailable` when the connection fails after the action was written (the
        call may have gone out). The OriginateResponse event comes later through the
        listeners."""
        session = self._session
        if session is None or not self.ready:
            raise AmiNotSent("AMI not ready")
        action: dict[str, str | list[str]] = {**fields, "Action": "Originate", "Async": "true"}
        if variables:
            action["Variable"] = [f"{k}={v}" for k, v in variables.items()]
        await self._request(session, action, timeout)

    # -- internals --------------------------------------------------------------------------

    async def _request(
        self, session: _Session, action: Mapping[str, str | list[str]], wait_s: float
    ) -> list[AmiEvent]:
        if session.lost.is_set() or session.wire is None:
            raise AmiNotSent(f"AMI connection lost: {session.reason}")
        name = str(action.get("Action", ""))
        future: asyncio.Future[list[AmiEvent]] = asyncio.get_running_loop().create_future()
        action_id = session.wire.write(action)
        session.pending[action_id] = _Pending(name, future)
        sent = time.perf_counter()
        try:
            # The future of a response lost with the connection would never resolve.
            async with asyncio.timeout(wait_s):
                answer = await future
            metrics.AMI_ACTION_SECONDS.labels(name).observe(time.perf_counter() - sent)
            return answer
        except TimeoutError:
            self._lose(session, f"no answer to {name} within {wait_s} s")
            raise AmiUnavailable(f"AMI timeout on {name}") from None
        finally:
            session.pending.pop(action_id, None)

    def _on_message(self, session: _Session, raw: RawMessage) -> None:
        if session.lost.is_set():
            return
        event = decode(raw)
        if event.name == "FullyBooted":
            session.booted.set()
        action_id = event.get("ActionID")
        pending = session.pending.get(action_id) if action_id else None
        if pending is not None and pending.take(event):
            return
        if event.name in ("", "Response"):
            return  # a late answer to an action that already gave up
        for listener in self._listeners:
            try:
                listener(event)
            except Exception:
                log.exception("ami_listener_failed", ami_event=event.name)

    def _lose(self, session: _Session, reason: str) -> None:
        if session.lost.is_set():
            return
        session.lost.set()
        session.reason = reason
        if session.wire is not None:
            session.wire.close()
        if session.watchdog is not None and session.watchdog is not asyncio.current_task():
            session.watchdog.cancel()
        failed = 0
        for pending in session.pending.values():
            if not pending.future.done():
                pending.future.set_exception(AmiUnavailable(f"AMI connection lost: {reason}"))
                failed += 1
        if self._session is session:
            self._session = None
        if session.logged_in:
            self._ready.clear()
            level = log.info if reason == _STOPPED else log.warning
            level("ami_lost", reason=reason, failed_actions=failed)
            for callback in self.on_lost:
                try:
                    callback()
                except Exception:
                    log.exception("ami_on_lost_failed")

    async def _run(self) -> None:
        failures = 0
        while True:
            session = _Session()
            try:
                await self._connect(session)
                failures = 0
                await session.lost.wait()
            except asyncio.CancelledError:
                self._lose(session, _STOPPED)
                raise
            except (OSError, TimeoutError, AmiError) as exc:
                log.warning(
                    "ami_connect_failed",
                    host=self.host,
                    port=self.port,
                    error=str(exc) or repr(exc),
                )
            except Exception:
                log.exception("ami_ready_hook_failed")
            self._lose(session, "reconnecting")
            delay = backoff_delay(failures, self.reconnect_min, self.reconnect_max)
            failures += 1
            log.info("ami_reconnect_in", seconds=round(delay, 3), attempt=failures)
            await asyncio.sleep(delay)

    async def _connect(self, session: _Session) -> None:
        started = time.monotonic()
        self._session = session
        async with asyncio.timeout(self.ping_timeout):
            session.wire = await open_wire(
                self.host,
                self.port,
                lambda raw: self._on_message(session, raw),
                lambda reason: self._lose(session, reason),
            )
        # panoramisk's connect() returns before the login completes; here nothing else
        # may use the session until this Login has been answered.
        login = {"Action": "Login", "Username": self.username, "Secret": self._secret}
        await self._request(session, login, self.ping_timeout)
        await self._booted(session)
        session.logged_in = True
        self.connects += 1
        if self.connects > 1:
            metrics.AMI_RECONNECTS.inc()
        log.info("ami_connected", host=self.host, port=self.port, connects=self.connects)
        for hook in self.on_ready:
            await hook()
        if session.lost.is_set():
            raise AmiUnavailable(f"AMI connection lost during resync: {session.reason}")
        session.watchdog = asyncio.create_task(self._watchdog(session), name="ami-ping")
        self._ready.set()
        log.info(
            "ami_ready", ms=round((time.monotonic() - started) * 1000, 1), connects=self.connects
        )

    async def _booted(self, session: _Session) -> None:
        """An Asterisk still loading its modules (just restarted) takes logins, but its
        Originates fail at once with no channel. It says FullyBooted at a login once it is
        booted, else when it is; the connection is ready only then. An Asterisk that never
        says so (a manager user without the ``system`` read class) is taken as booted after
        ``boot_wait``, with a warning."""
        lost = asyncio.ensure_future(session.lost.wait())
        booted = asyncio.ensure_future(session.booted.wait())
        try:
            await asyncio.wait(
                [lost, booted], timeout=self.boot_wait, return_when="FIRST_COMPLETED"
            )
        finally:
            lost.cancel()
            booted.cancel()
        if session.lost.is_set():
            raise AmiUnavailable(f"AMI connection lost before FullyBooted: {session.reason}")
        if not session.booted.is_set():
            log.warning("ami_no_fully_booted", waited_s=self.boot_wait)

    async def _watchdog(self, session: _Session) -> None:
        """panoramisk never checks its pings' answers, so a half-open TCP connection (a
        crashed host, a dropped NAT entry) would look alive for ever."""
        while not session.lost.is_set():
            await asyncio.sleep(self.ping_interval)
            with contextlib.suppress(AmiUnavailable):
                await self._request(session, {"Action": "Ping"}, self.ping_timeout)
