"""Agents: who they are, the status they choose and the state the system sets.

    status (chosen):  available | break (with a reason) | offline
    state (system):   waiting --offer--> ringing --accept--> in_call --end--> wrap_up --> waiting
                      ringing --timeout/reject/withdrawn--> waiting

An agent is offered a call only when available, waiting, connected, serving the queue, skilled
enough for it and not held back by a recent reject. Plain Python; the contact center drives it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from callcenter.config import AgentSettings, QueueSettings


class AgentStatus(StrEnum):
    AVAILABLE = "available"
    BREAK = "break"
    OFFLINE = "offline"


class AgentState(StrEnum):
    WAITING = "waiting"
    RINGING = "ringing"
    IN_CALL = "in_call"
    WRAP_UP = "wrap_up"


# Fields no routing reads (not who is free, nor any order's key): a change of one does not
# re-rank the agent (free_agents.py), which saves two of the three re-rankings of every offer.
_NOT_RANKED = frozenset({"since", "status_since", "reason", "call_id", "wrap_up_until",
                         "connection_epoch"})


@dataclass
class Agent:
    app_id: str
    id: str
    name: str
    queues: tuple[str, ...]
    skills: dict[str, int]
    status: AgentStatus = AgentStatus.OFFLINE
    reason: str = ""
    state: AgentState = AgentState.WAITING
    since: float = 0.0  # when the state last changed
    status_since: float = 0.0  # when the status last changed
    connected: bool = False
    answered: int = 0
    talk_time: float = 0.0
    missed_in_row: int = 0
    last_call_end: float | None = None
    logged_in_at: float = 0.0
    blocked_until: float = 0.0  # reject delay: no offers before this time
    call_id: str | None = None  # the call ringing, in progress or being wrapped up
    wrap_up_until: float | None = None  # when wrap-up ends by itself
    # Bumped on every disconnect/reconnect so that a stale grace timer does nothing.
    connection_epoch: int = 0

    @classmethod
    def from_settings(cls, app_id: str, settings: AgentSettings) -> Agent:
        return cls(app_id=app_id, id=settings.id, name=settings.name or settings.id,
                   queues=tuple(settings.queues), skills=dict(settings.skills))

    @property
    def idle_since(self) -> float:
        """When the agent last became free to talk: longest-idle picks the smallest."""
        return self.last_call_end if self.last_call_end is not None else self.logged_in_at

    def has_skills(self, required: dict[str, int]) -> bool:
        if not required:
            return True
        return all(self.skills.get(skill, 0) >= level for skill, level in required.items())

    def can_take(self, queue: QueueSettings, now: float) -> bool:
        return (self.connected and self.status is AgentStatus.AVAILABLE
                and self.state is AgentState.WAITING and queue.name in self.queues
                and now >= self.blocked_until and self.has_skills(queue.required_skills))

    def public_view(self) -> dict[str, str]:
        """What a customer is told of the agent who answered: their id and display name."""
        return {"userID": self.id, "name": self.name}

    # -- as plain data: what a shutdown snapshot keeps --------------------------------------------

    # What the system and the agent changed since the config made them; the rest (name, queues,
    # skills) is the config's, read again at start so that a changed config wins.
    _STATE_FIELDS = ("reason", "since", "status_since", "connected", "answered", "talk_time",
                     "missed_in_row", "last_call_end", "logged_in_at", "blocked_until",
                     "call_id", "wrap_up_until", "connection_epoch")

    def to_state(self) -> dict[str, Any]:
        """The agent's live state as JSON-ready data, fields named (``from_state``)."""
        return {"app_id": self.app_id, "id": self.id, "status": self.status.value,
                "state": self.state.value,
                **{name: getattr(self, name) for name in self._STATE_FIELDS}}

    @classmethod
    def from_state(cls, app_id: str, settings: AgentSettings, state: dict[str, Any]) -> Agent:
        """The configured agent ``settings`` with the live state ``to_state`` wrote."""
        agent = cls.from_settings(app_id, settings)
        agent.take_state(state)
        return agent

    def __setattr__(self, name: str, value: Any) -> None:
        # Every change notes the agent in the set its contact center gave (``sink``), so that
        # processes sharing live state save only the agents a step changed.
        # And every change reaches the indexes of free agents of its queues (``on_change``), so
        # that routing reads them instead of scanning the agents (free_agents.py).
        object.__setattr__(self, name, value)
        fields = self.__dict__
        sink = fields.get("sink")
        if sink is not None:
            sink.add((self.app_id, self.id))
        on_change = fields.get("on_change")
        if on_change is not None and name not in _NOT_RANKED:
            on_change(self)

    def take_state(self, state: dict[str, Any]) -> None:
        """Take the live state ``to_state`` wrote (by another process sharing ours)."""
        self.status, self.state = AgentStatus(state["status"]), AgentState(state["state"])
        for name in self._STATE_FIELDS:
            if name in state:
                setattr(self, name, state[name])

    def snapshot(self) -> dict[str, Any]:
        return {
            "agentId": self.id, "name": self.name, "status": self.status.value,
            "reason": self.reason, "state": self.state.value, "since": self.since,
            "queues": list(self.queues), "skills": dict(self.skills), "answered": self.answered,
            "talkTime": round(self.talk_time, 3), "missedInRow": self.missed_in_row,
            "lastCallEnd": self.last_call_end, "callId": self.call_id,
            "connected": self.connected,
            "wrapUpUntil": self.wrap_up_until if self.state is AgentState.WRAP_UP else None,
        }
