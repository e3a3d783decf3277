"""The dialer's PBX port on Asterisk: one AMI connection and the live state built from its
events, wired in the order the engine relies on (live state resynced before the engine's
reconciliation reads it; forgotten when the connection is lost); and a supervisor's actions on
an agent as AMI actions."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from dialerd.domain import (
    AgentAction,
    AgentActionKind,
    AgentLive,
    AgentState,
    AgentsView,
    Channel,
    PbxError,
    PbxRefused,
    PbxStatus,
    channel_id,
)
from dialerd.pbx.ami import AmiConnection, AmiEvent
from dialerd.pbx.state import LiveState

# ChanSpy's options: b only a bridged call, q no beep or name spoken to the supervisor, E end
# when the agent's channel hangs up; w whisper to the agent, B barge (talk to both).
SPY_OPTIONS = {
    AgentActionKind.LISTEN: "bqE",
    AgentActionKind.WHISPER: "bqEw",
    AgentActionKind.BARGE: "bqEB",
}
SPY_RING_TIMEOUT_MS = "30000"
TRANSFER_CONTEXT = "dialerd-transfer"  # asterisk_conf/extensions_dialerd.conf


def agent_action_request(action: AgentAction, agent: AgentLive | None) -> dict[str, str]:
    """The AMI action of a supervisor's or an agent's action; ``agent`` is the queue member
    as the PBX shows it (None: not a member), whose live channel listen, whisper and barge
    spy on and a hang-up ends. Raises :class:`PbxRefused` when it cannot be done."""
    if action.kind is AgentActionKind.SIGN_IN and agent is None:
        return {
            "Action": "QueueAdd",
            "Queue": action.queue,
            "Interface": action.agent,
            "MemberName": action.member_name or action.agent,
            "StateInterface": action.agent,
            "Paused": "false",
        }
    if agent is None:
        raise PbxRefused(action.kind.value, f"{action.agent} is not an agent of {action.queue}")
    if action.kind in (AgentActionKind.SIGN_IN, AgentActionKind.READY):
        # Signing in again (a member already, e.g. after the browser was closed) is ready.
        return {
            "Action": "QueuePause",
            "Queue": action.queue,
            "Interface": action.agent,
            "Paused": "false",
        }
    if action.kind is AgentActionKind.PAUSE:
        return {
            "Action": "QueuePause",
            "Queue": action.queue,
            "Interface": action.agent,
            "Paused": "true",
            "Reason": action.reason,
        }
    if action.kind is AgentActionKind.SIGN_OUT:
        return {"Action": "QueueRemove", "Queue": action.queue, "Interface": action.agent}
    if agent.channel is None:
        raise PbxRefused(action.kind.value, f"{action.agent} is not on a call")
    if action.kind is AgentActionKind.HANGUP:
        return {"Action": "Hangup", "Channel": agent.channel}
    if not action.phone:
        raise PbxRefused("ChanSpy", "the supervisor has no phone")
    return {
        "Action": "Originate",
        "Channel": action.phone,
        "Application": "ChanSpy",
        "Data": f"{agent.channel},{SPY_OPTIONS[action.kind]}",
        "CallerID": f'"{action.kind.value}" <{action.agent}>',
        "Timeout": SPY_RING_TIMEOUT_MS,
    }


def transfer_requests(
    attempt_id: int,
    agent: str,
    channels: list[Channel],
    exten: str,
    variables: dict[str, str],
) -> list[dict[str, str]]:
    """The AMI actions of an agent's blind transfer of the call ``attempt_id``: the transfer's
    variables set on the callee's channel, then ``BlindTransfer`` of the agent's leg (one of
    ``channels``, the call's, named after the agent's phone), which sends the callee, its
    bridge peer, to ``exten`` of the transfer context and ends the agent's leg. Raises
    :class:`PbxRefused` when the call or the agent's leg is gone."""
    callee = next((c for c in channels if c.uniqueid == channel_id(attempt_id)), None)
    leg = next((c for c in channels if c.name.rpartition("-")[0] == agent), None)
    if callee is None:
        raise PbxRefused("BlindTransfer", "the call is over")
    if leg is None:
        raise PbxRefused("BlindTransfer", f"{agent} is not on the call")
    setvars = [
        {"Action": "Setvar", "Channel": callee.name, "Variable": name, "Value": value}
        for name, value in variables.items()
    ]
    return [
        *setvars,
        {
            "Action": "BlindTransfer",
            "Channel": leg.name,
            "Context": TRANSFER_CONTEXT,
            "Exten": exten,
        },
    ]


class AsteriskPbx:
    def __init__(self, ami: AmiConnection, live: LiveState | None = None) -> None:
        self.ami = ami
        self.live = live or LiveState()
        ami.add_listener(self.live.apply)
        ami.on_ready.append(self._resync)
        ami.on_lost.append(self.live.clear)
        self.version = ""

    async def _resync(self) -> None:
        await self.live.resync(self.ami)
        try:
            (settings,) = await self.ami.send({"Action": "CoreSettings"})
        except (PbxError, ValueError):
            return  # the live view shows the version as unknown
        self.version = settings.get("AsteriskVersion", "")

    async def start(self) -> None:
        await self.ami.start()

    async def stop(self) -> None:
        await self.ami.stop()

    @property
    def ready(self) -> bool:
        return self.ami.ready

    def subscribe(
        self,
        on_event: Callable[[AmiEvent], None],
        on_ready: Callable[[], Awaitable[None]],
        on_lost: Callable[[], None],
    ) -> None:
        self.ami.add_listener(on_event)
        self.ami.on_ready.append(on_ready)
        self.ami.on_lost.append(on_lost)

    async def originate(self, fields: dict[str, str], variables: dict[str, str]) -> None:
        await self.ami.originate(fields, variables)

    def attempt_channels(self, attempt_id: int) -> list[Channel]:
        return self.live.attempt_channels(attempt_id)

    def queue_agents(self, queue: str, now: float) -> AgentsView:
        return self.live.queue_agents(queue, now)

    def agent_state(self, queue: str, agent: str, now: float) -> AgentState:
        return self.live.agent_state(queue, agent, now)

    def agent_last_call(self, queue: str, agent: str) -> float:
        return self.live.agent_last_call(queue, agent)

    def queue_members(self, queue: str, now: float) -> list[AgentLive]:
        return self.live.queue_members(queue, now)

    def status(self) -> PbxStatus:
        return PbxStatus(self.ami.ready, self.version)

    async def agent_action(self, action: AgentAction) -> None:
        members = self.live.queue_members(action.queue, time.monotonic())
        agent = next((a for a in members if a.interface == action.agent), None)
        if agent is None and action.kind is AgentActionKind.SIGN_OUT:
            return  # not a member (a supervisor signed it out): out already
        request = agent_action_request(action, agent)
        if request["Action"] == "Originate":
            fields = {k: v for k, v in request.items() if k != "Action"}
            await self.ami.originate(fields, {})
        else:
            await self.ami.send(request)

    async def transfer(self, action: AgentAction, exten: str, variables: dict[str, str]) -> None:
        assert action.transfer is not None
        attempt_id = action.transfer.attempt_id
        channels = self.live.attempt_channels(attempt_id)
        for request in transfer_requests(attempt_id, action.agent, channels, exten, variables):
            await self.ami.send(request)

    async def refresh_queues(self) -> None:
        await self.live.refresh_queues(self.ami)
