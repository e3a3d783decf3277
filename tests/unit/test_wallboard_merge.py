"""The wallboard's merge of several engines' live views: an agent once, with its call's number
from the engine whose call it is; calls of all; pacer figures summed; stale views left out."""

from __future__ import annotations

from typing import Any

from dialerd.wallboard.merge import STALE_S, InstanceView, merge, summary


def engine_view(instance: str, agents: list[dict[str, Any]], calls: list[dict[str, Any]]) -> Any:
    return {
        "version": 1,
        "instance_id": instance,
        "at": 0.0,
        "pbx": {
            "connected": True,
            "version": "22",
            "calls_in_flight": len(calls),
            "max_calls_in_flight": 200,
            "max_originate_rate": 100.0,
        },
        "campaigns": [
            {
                "id": 1,
                "client_id": 1,
                "name": "C1",
                "queue": "q1",
                "mode": "predictive",
                "abandon_limit": 0.03,
                "breaker": "open" if instance == "b" else "closed",
                "agents": agents,
                "calls": calls,
                "pacer": {
                    "calls_per_agent": 1.0,
                    "placed_per_minute": 3 if instance == "a" else 1,
                    "answer_rate": 0.2 if instance == "a" else 0.6,
                    "expected_free_agents": 0.5,
                    "wanted": 1,
                },
            }
        ],
    }


def agent_entry(agent: str, state: str, number: str | None = None) -> dict[str, Any]:
    return {
        "agent": agent,
        "name": agent,
        "state": state,
        "since": 0.0,
        "pause_reason": "",
        "number": number,
        "attempt_id": None,
    }


def call_entry(attempt: int, state: str, agent: str | None = None) -> dict[str, Any]:
    return {
        "attempt_id": attempt,
        "contact_id": attempt,
        "number": "+49301",
        "state": state,
        "started": float(attempt),
        "agent": agent,
    }


def test_views_of_two_engines_merge_and_a_stale_one_is_left_out() -> None:
    a = engine_view(
        "a", [agent_entry("A1", "talking"), agent_entry("A2", "free")], [call_entry(1, "ringing")]
    )
    b = engine_view(
        "b",
        [agent_entry("A1", "talking", "+49301"), agent_entry("A2", "free")],
        [call_entry(2, "agent", "A1")],
    )
    gone = engine_view("c", [agent_entry("A9", "free")], [call_entry(3, "ringing")])
    merged = merge(
        [
            InstanceView("a", a, 0.5),
            InstanceView("b", b, 1.0),
            InstanceView("c", gone, STALE_S + 1),
        ],
        client_id=1,
    )
    c = merged["campaigns"][1]
    assert [(x["agent"], x["number"], x["instance_id"]) for x in c["agents"]] == [
        ("A1", "+49301", "b"),  # the engine whose call it is tells the number
        ("A2", None, "a"),
    ]
    assert [x["attempt_id"] for x in c["calls"]] == [1, 2]
    assert c["breaker"] == "open" and c["instances"] == ["a", "b"]
    assert c["pacer"] == {
        "calls_per_agent": 0.5,
        "placed_per_minute": 4,
        "answer_rate": 0.3,
        "expected_free_agents": 1.0,
        "wanted": 2,
    }
    assert [p["instance_id"] for p in merged["pbx"]] == ["a", "b"]
    assert merged["stale"] == [{"instance_id": "c", "age_s": STALE_S + 1}]
    theirs = merge([InstanceView("a", a, 0.5)], client_id=2)
    assert theirs["campaigns"] == {}
    # another client's calls are not counted in its PBX side, every client's are for all
    assert [p["calls_in_flight"] for p in theirs["pbx"]] == [0]
    assert [p["calls_in_flight"] for p in merge([InstanceView("a", a, 0.5)])["pbx"]] == [1]
    assert summary(merged["campaigns"].values()) == {
        "agents": {"talking": 1, "free": 1},
        "calls": {"ringing": 1, "agent": 1},
    }
