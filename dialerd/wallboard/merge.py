"""The engines' live views merged into one wallboard: per campaign and for all. Pure.

Several dialerd processes may dial one campaign, and engines on one Asterisk all see the same
queue members: an agent is shown once (by its interface), with the call it is on from the
engine whose call it is. A view not written for ``STALE_S`` belongs to a process that is gone
(or cut off from the database): its content is left out and the process is listed as stale.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

STALE_S = 10.0  # five missed heartbeats (the engine writes one every 2 s at least)
_BREAKER_ORDER = {"closed": 0, "probing": 1, "open": 2}  # the worst state is shown


@dataclass(frozen=True)
class InstanceView:
    instance_id: str
    view: Mapping[str, Any]
    age_s: float

    @property
    def stale(self) -> bool:
        return self.age_s > STALE_S


def _merge_campaign(parts: list[tuple[str, Mapping[str, Any]]]) -> dict[str, Any]:
    first = parts[0][1]
    agents: dict[str, dict[str, Any]] = {}
    calls: list[dict[str, Any]] = []
    placed = wanted = 0
    expected = 0.0
    rates: list[tuple[float, int]] = []
    for instance, c in parts:
        for agent in c["agents"]:
            shown = agents.get(agent["agent"])
            if shown is None or (shown["number"] is None and agent["number"] is not None):
                agents[agent["agent"]] = {**agent, "instance_id": instance}
        calls += [{**call, "instance_id": instance} for call in c["calls"]]
        pacer = c["pacer"]
        placed += pacer["placed_per_minute"]
        wanted += pacer["wanted"]
        expected += pacer["expected_free_agents"] or 0.0
        if pacer["answer_rate"] is not None:
            rates.append((pacer["answer_rate"], pacer["placed_per_minute"]))
    available = sum(1 for a in agents.values() if a["state"] not in ("paused", "out"))
    in_flight = sum(1 for call in calls if call["state"] in ("ringing", "waiting"))
    weight = sum(w for _, w in rates)
    if rates and weight:
        answer_rate: float | None = sum(r * w for r, w in rates) / weight
    else:
        answer_rate = sum(r for r, _ in rates) / len(rates) if rates else None
    return {
        "id": first["id"],
        "client_id": first["client_id"],
        "name": first["name"],
        "queue": first["queue"],
        "mode": first["mode"],
        "abandon_limit": first["abandon_limit"],
        "breaker": max((c["breaker"] for _, c in parts), key=lambda b: _BREAKER_ORDER.get(b, 0)),
        "instances": sorted({instance for instance, _ in parts}),
        "agents": sorted(agents.values(), key=lambda a: (a["name"], a["agent"])),
        "calls": sorted(calls, key=lambda call: call["started"]),
        "pacer": {
            "calls_per_agent": round(in_flight / available, 2) if available else None,
            "placed_per_minute": placed,
            "answer_rate": round(answer_rate, 4) if answer_rate is not None else None,
            "expected_free_agents": round(expected, 2),
            "wanted": wanted,
        },
    }


def merge(views: Iterable[InstanceView], client_id: int | None = None) -> dict[str, Any]:
    """Campaigns (of ``client_id``, or every client's) merged over the fresh views, each
    process's PBX side, and the stale processes. A client's PBX side counts only its own calls
    in flight: the engine's figure holds every client's."""
    by_campaign: dict[int, list[tuple[str, Mapping[str, Any]]]] = {}
    pbx, stale = [], []
    for v in sorted(views, key=lambda v: v.instance_id):
        if v.stale:
            stale.append({"instance_id": v.instance_id, "age_s": round(v.age_s, 1)})
            continue
        side = {"instance_id": v.instance_id, "age_s": round(v.age_s, 1), **v.view["pbx"]}
        if client_id is not None:
            side["calls_in_flight"] = 0
        for c in v.view["campaigns"]:
            if client_id is None or c["client_id"] == client_id:
                by_campaign.setdefault(c["id"], []).append((v.instance_id, c))
                if client_id is not None:
                    side["calls_in_flight"] += len(c["calls"])
        pbx.append(side)
    return {
        "campaigns": {cid: _merge_campaign(parts) for cid, parts in sorted(by_campaign.items())},
        "pbx": pbx,
        "stale": stale,
    }


def summary(campaigns: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Agents by state (each agent once, over every campaign) and calls by state."""
    agents: dict[str, str] = {}
    calls: dict[str, int] = {}
    for c in campaigns:
        for a in c["agents"]:
            agents.setdefault(a["agent"], a["state"])
        for call in c["calls"]:
            calls[call["state"]] = calls.get(call["state"], 0) + 1
    by_state: dict[str, int] = {}
    for state in agents.values():
        by_state[state] = by_state.get(state, 0) + 1
    return {"agents": by_state, "calls": calls}
