"""What the PBX is doing now: channels (tied to attempts) and, per campaign queue, its
agents and waiting callers. Rebuilt by :meth:`LiveState.resync` after every (re)connect,
kept current by :meth:`LiveState.apply` on every event, read by the dialer every tick.

Agents are queue members. An agent is *logged in* unless its device is unavailable or
invalid (``joinempty=…unavailable,invalid`` sees it the same way), *paused* if paused in
that queue, *talking* while its device is in use, busy, ringing or on hold, in *wrap-up*
until ``LastCall + wrapuptime`` (exactly app_queue's rule, in whole epoch seconds) and
*free* otherwise. A member paused with the workspace's after-call reason is in wrap-up too (it
is the agent's real wrap-up, and the pacer learns it so). The queue's wrapuptime is not in any
AMI event: it is read with ``GetConfig queues.conf``; a member's own ``Wrapuptime`` (from its
events) overrides it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Protocol

import structlog

from dialerd.domain import (
    AFTER_CALL_REASON,
    AgentLive,
    AgentState,
    AgentsView,
    Channel,
    attempt_of_channel_id,
)
from dialerd.pbx.ami import AmiActionError, AmiError, AmiEvent

log = structlog.get_logger(__name__)

ATTEMPT_VAR = "ChanVariable(DIALERD_ATTEMPT_ID)"

# Device states (AST_DEVICE_*) in the Status field of queue member events.
_NOT_LOGGED_IN = frozenset({4, 5})  # invalid, unavailable
_BUSY = frozenset({2, 3, 6, 7, 8})  # in use, busy, ringing, ringing in use, on hold
_RINGING = frozenset({6, 7})


class ActionSender(Protocol):
    @property
    def ready(self) -> bool: ...

    async def send(self, action: dict[str, str]) -> list[AmiEvent]: ...


@dataclass
class _Member:
    device: str  # StateInterface: its channels are named "<device>-<n>"
    changed_at: float  # epoch s its status or pause last changed (the live view's "since")
    name: str = ""
    status: int = 0
    paused: bool = False
    pause_reason: str = ""
    last_call: int = 0  # epoch s the last queue call ended (app_queue's LastCall)
    wrapuptime: float = 0.0  # the member's own; 0 = the queue's
    busy_since: float | None = None  # monotonic


@dataclass
class _Queue:
    members: dict[str, _Member] = field(default_factory=dict)  # by Interface
    callers: set[str] = field(default_factory=set)  # Uniqueids


def _attempt_id(event: AmiEvent) -> int | None:
    value = event.get(ATTEMPT_VAR)
    if value and value.isdigit():
        return int(value)
    # Originate's ChannelId/OtherChannelId become the Uniqueid, and the Linkedid of every
    # channel of the call (the agent leg too).
    for key in ("Uniqueid", "Linkedid"):
        found = attempt_of_channel_id(event.get(key))
        if found is not None:
            return found
    return None


def _duration_s(value: str) -> float:
    """CoreShowChannel's Duration, "HH:MM:SS"."""
    seconds = 0.0
    for part in value.split(":"):
        seconds = seconds * 60 + float(part or 0)
    return seconds


class LiveState:
    """Channels and queue state. Register :meth:`apply` as a listener, :meth:`resync` in
    ``on_ready`` and :meth:`clear` in ``on_lost``, and run :meth:`refresh_forever` as a task:
    QueueStatus now and then corrects what events cannot tell (e.g. the wrap-up of a shared
    agent in its other queues).
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._clock = clock
        self._wall = wall_clock
        self._channels: dict[str, Channel] = {}
        self._queues: dict[str, _Queue] = {}
        self._wrapup: dict[str, float] = {}  # queue → wrapuptime from queues.conf
        self._recording: list[AmiEvent] | None = None
        self._handlers: dict[str, Callable[[AmiEvent], None]] = {
            "Newchannel": self._new_channel,
            "CoreShowChannel": self._new_channel,
            "Rename": self._rename,
            "Hangup": self._hangup,
            "QueueCallerJoin": self._caller_join,
            "QueueEntry": self._caller_join,
            "QueueCallerLeave": self._caller_leave,
            "QueueCallerAbandon": self._caller_leave,
            "QueueMember": self._member,
            "QueueMemberStatus": self._member,
            "QueueMemberAdded": self._member,
            "QueueMemberPause": self._member,
            "QueueMemberRemoved": self._member_removed,
            "AgentConnect": self._agent_connect,
            "AgentComplete": self._agent_complete,
        }

    # -- read-outs --------------------------------------------------------------------------

    @property
    def channels(self) -> Mapping[str, Channel]:
        return self._channels

    def attempt_channels(self, attempt_id: int) -> list[Channel]:
        return [c for c in self._channels.values() if c.attempt_id == attempt_id]

    def queue_agents(self, queue: str, now: float) -> AgentsView:
        """The queue's agents at ``now`` (``time.monotonic()``)."""
        q = self._queues.get(queue)
        counts = dict.fromkeys(AgentState, 0)
        talking_for: list[float] = []
        wrapup_for: list[float] = []
        wall_now = self._wall() + (now - self._clock())
        for member in q.members.values() if q else ():
            state = self._state_of(queue, member, wall_now)
            counts[state] += 1
            if state is AgentState.TALKING:
                since = member.busy_since if member.busy_since is not None else now
                talking_for.append(max(0.0, now - since))
            elif state is AgentState.WRAPUP:
                wrapup_for.append(max(0.0, wall_now - member.last_call))
        return AgentsView(
            logged_in=len(q.members) - counts[AgentState.OUT] if q else 0,
            free=counts[AgentState.FREE],
            talking=counts[AgentState.TALKING],
            wrapup=counts[AgentState.WRAPUP],
            paused=counts[AgentState.PAUSED],
            talking_for=tuple(talking_for),
            wrapup_for=tuple(wrapup_for),
        )

    def agent_state(self, queue: str, agent: str, now: float) -> AgentState:
        """An agent's (a member ``Interface``'s) state in ``queue`` at ``now`` (monotonic)."""
        q = self._queues.get(queue)
        member = q.members.get(agent) if q else None
        if member is None:
            return AgentState.OUT
        return self._state_of(queue, member, self._wall() + (now - self._clock()))

    def queue_members(self, queue: str, now: float) -> list[AgentLive]:
        """Every member of ``queue`` at ``now`` (monotonic): state, since when (epoch s),
        pause reason and the channel it is on."""
        q = self._queues.get(queue)
        if q is None:
            return []
        wall_now = self._wall() + (now - self._clock())
        on_channel = {c.name.rpartition("-")[0]: c.name for c in self._channels.values()}
        found = []
        for interface, member in q.members.items():
            state = self._state_of(queue, member, wall_now)
            since = member.changed_at
            if state is AgentState.TALKING and member.busy_since is not None:
                since = wall_now - (now - member.busy_since)
            elif state is AgentState.WRAPUP:
                since = float(member.last_call)
            elif state is AgentState.FREE and member.last_call:
                since = max(since, member.last_call + self._wrapup_of(queue, member))
            found.append(
                AgentLive(
                    interface,
                    member.name or interface,
                    state,
                    since,
                    member.pause_reason if member.paused else "",
                    on_channel.get(member.device),
                    member.status in _RINGING,
                )
            )
        return found

    def agent_last_call(self, queue: str, agent: str) -> float:
        q = self._queues.get(queue)
        member = q.members.get(agent) if q else None
        return float(member.last_call) if member else 0.0

    def _state_of(self, queue: str, member: _Member, wall_now: float) -> AgentState:
        if member.status in _NOT_LOGGED_IN:
            return AgentState.OUT
        if member.paused:
            if member.pause_reason == AFTER_CALL_REASON:
                return AgentState.WRAPUP
            return AgentState.PAUSED
        if member.status in _BUSY:
            return AgentState.TALKING
        wrapup_end = member.last_call + self._wrapup_of(queue, member)
        if member.last_call and wall_now < wrapup_end:
            return AgentState.WRAPUP
        return AgentState.FREE

    def _wrapup_of(self, queue: str, member: _Member) -> float:
        return member.wrapuptime or self._wrapup.get(queue, 0.0)

    def queue_waiting(self, queue: str) -> int:
        q = self._queues.get(queue)
        return len(q.callers) if q else 0

    # -- keeping it current -----------------------------------------------------------------

    def apply(self, event: AmiEvent) -> None:
        if self._recording is not None:
            self._recording.append(event)
        channel = self._channels.get(event.get("Uniqueid", ""))
        if channel is not None:
            self._touch(channel, event)
        handler = self._handlers.get(event.name)
        if handler is not None:
            handler(event)

    def clear(self) -> None:
        """Forgets everything: what the PBX does while we are not connected is unknown."""
        self._channels = {}
        self._queues = {}

    async def resync(self, conn: ActionSender) -> None:
        """Rebuilds everything from CoreShowChannels and QueueStatus (and the queues'
        wrapuptime from queues.conf)."""
        started = self._clock()
        await self._read_wrapup(conn)
        self._recording = []
        try:
            channel_list = await conn.send({"Action": "CoreShowChannels"})
            queue_list = await conn.send({"Action": "QueueStatus"})
        finally:
            recorded, self._recording = self._recording, None
        old_queues = self._queues
        self._channels, self._queues = {}, {}
        for event in channel_list + queue_list:
            self.apply(event)
        self._keep_since(old_queues)
        # Events that arrived after the channel list was complete are not in it: apply them
        # again, in order, on the new state (every handler is idempotent).
        replayed = [e for e in recorded if e.seq > channel_list[-1].seq]
        for event in replayed:
            self.apply(event)
        log.info(
            "ami_resync",
            channels=len(self._channels),
            queues=len(self._queues),
            members=sum(len(q.members) for q in self._queues.values()),
            callers=sum(len(q.callers) for q in self._queues.values()),
            replayed=len(replayed),
            ms=round((self._clock() - started) * 1000, 1),
        )

    async def refresh_forever(self, conn: ActionSender, interval: float = 30.0) -> None:
        """Runs :meth:`refresh_queues` every ``interval`` seconds while ``conn`` is ready;
        run it as a task for the life of the connection."""
        while True:
            await asyncio.sleep(interval)
            if conn.ready:
                try:
                    await self.refresh_queues(conn)
                except AmiError as exc:  # the connection heals itself and resyncs
                    log.info("ami_refresh_failed", error=str(exc))

    async def refresh_queues(self, conn: ActionSender) -> None:
        """Re-reads QueueStatus; talking agents keep the time their call started."""
        self._recording = []
        try:
            queue_list = await conn.send({"Action": "QueueStatus"})
        finally:
            recorded, self._recording = self._recording, None
        old_queues, self._queues = self._queues, {}
        for event in queue_list:
            self.apply(event)
        self._keep_since(old_queues)
        for event in recorded:
            if event.seq > queue_list[-1].seq:
                self.apply(event)

    # -- internals --------------------------------------------------------------------------

    async def _read_wrapup(self, conn: ActionSender) -> None:
        try:
            (config,) = await conn.send({"Action": "GetConfig", "Filename": "queues.conf"})
        except AmiActionError as exc:
            log.warning("ami_wrapup_unknown", error=str(exc))
            return
        categories = {
            key.removeprefix("Category-"): value
            for key, value in config.fields.items()
            if key.startswith("Category-")
        }
        wrapup: dict[str, float] = {}
        for key, line in config.fields.items():
            name, _, value = line.partition("=")
            if key.startswith("Line-") and name.strip().lower() == "wrapuptime":
                wrapup[categories[key.split("-")[1]]] = float(value)
        self._wrapup = wrapup

    def _keep_since(self, old_queues: Mapping[str, _Queue]) -> None:
        """A member whose status and pause a rebuild did not change keeps when they last
        changed; one talking before and after keeps its start; one newly seen talking gets
        the age of its device's channel, if there is one."""
        started = {c.name.rpartition("-")[0]: c.started for c in self._channels.values()}
        for name, queue in self._queues.items():
            old = old_queues.get(name)
            for interface, member in queue.members.items():
                before = old.members.get(interface) if old else None
                if (
                    before is not None
                    and before.paused == member.paused
                    and (before.status in _BUSY) == (member.status in _BUSY)
                ):
                    member.changed_at = before.changed_at
                if member.status not in _BUSY:
                    continue
                if before is not None and before.busy_since is not None:
                    member.busy_since = before.busy_since
                elif member.device in started:
                    member.busy_since = started[member.device]

    def _touch(self, channel: Channel, event: AmiEvent) -> None:
        state = event.get("ChannelStateDesc", channel.state)
        attempt_id = channel.attempt_id if channel.attempt_id is not None else _attempt_id(event)
        if state != channel.state or attempt_id != channel.attempt_id:
            self._channels[channel.uniqueid] = replace(channel, state=state, attempt_id=attempt_id)

    def _queue(self, event: AmiEvent) -> _Queue:
        return self._queues.setdefault(event["Queue"], _Queue())

    def _new_channel(self, event: AmiEvent) -> None:
        uniqueid = event["Uniqueid"]
        self._channels[uniqueid] = Channel(
            uniqueid=uniqueid,
            name=event.get("Channel", ""),
            linkedid=event.get("Linkedid", uniqueid),
            state=event.get("ChannelStateDesc", ""),
            attempt_id=_attempt_id(event),
            started=self._clock() - _duration_s(event.get("Duration", "0")),
        )

    def _rename(self, event: AmiEvent) -> None:
        channel = self._channels.get(event.get("Uniqueid", ""))
        if channel is not None:
            self._channels[channel.uniqueid] = replace(channel, name=event["Newname"])

    def _hangup(self, event: AmiEvent) -> None:
        uniqueid = event.get("Uniqueid", "")
        self._channels.pop(uniqueid, None)
        for queue in self._queues.values():
            queue.callers.discard(uniqueid)

    def _caller_join(self, event: AmiEvent) -> None:
        self._queue(event).callers.add(event["Uniqueid"])

    def _caller_leave(self, event: AmiEvent) -> None:
        self._queue(event).callers.discard(event["Uniqueid"])

    def _member(self, event: AmiEvent) -> None:
        """QueueMemberStatus/Added/Pause carry the whole member; QueueStatus' QueueMember
        names the interface ``Location`` instead of ``Interface``."""
        interface = event.get("Interface") or event["Location"]
        member = self._queue(event).members.setdefault(
            interface, _Member(event.get("StateInterface") or interface, self._wall())
        )
        status = int(event.get("Status") or member.status)
        if status not in _BUSY:
            member.busy_since = None
        elif member.busy_since is None:
            member.busy_since = self._clock()
        paused = event.get("Paused", "1" if member.paused else "0") == "1"
        if paused != member.paused or (status in _BUSY) != (member.status in _BUSY):
            member.changed_at = self._wall()
        member.status = status
        member.paused = paused
        member.pause_reason = event.get("PausedReason", member.pause_reason) if paused else ""
        member.name = event.get("MemberName") or event.get("Name") or member.name
        member.last_call = max(member.last_call, int(event.get("LastCall", "0")))
        member.wrapuptime = float(event.get("Wrapuptime") or member.wrapuptime)

    def _member_removed(self, event: AmiEvent) -> None:
        self._queue(event).members.pop(event.get("Interface", ""), None)

    def _agent_connect(self, event: AmiEvent) -> None:
        member = self._queue(event).members.get(event.get("Interface", ""))
        if member is not None:
            member.busy_since = self._clock()  # the talk starts now, not when it rang

    def _agent_complete(self, event: AmiEvent) -> None:
        member = self._queue(event).members.get(event.get("Interface", ""))
        if member is not None:
            ended = float(event.get("Timestamp") or self._wall())
            member.last_call = max(member.last_call, int(ended))
