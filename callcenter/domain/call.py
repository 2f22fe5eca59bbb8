"""A call's parts: its type, the states of its legs, why it ended, and the ``Call`` itself.

Only the switchboard (calls.py, where the life of a call is told) changes a ``Call``; everything
else reads it. The store keeps calls whole (store.py).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from typing import Any

from callcenter.domain.hold import Hold
from callcenter.domain.monitor import Monitor
from callcenter.domain.silence import Silence


class CallType(IntEnum):
    UNKNOWN = 0
    AUDIO = 1
    VIDEO = 2


class Leg(StrEnum):
    RINGING = "ringing"
    JOINED = "joined"
    LEFT = "left"
    REJECTED = "rejected"
    TIMED_OUT = "timed_out"
    CANCELLED = "cancelled"
    BUSY = "busy"
    OFFLINE = "offline"


class EndReason(StrEnum):
    QUEUE_TIMEOUT = "queue_timeout"
    NO_AGENTS = "no_agents"
    HANGUP = "hangup"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    KICKED_OUT = "kicked_out"
    DISCONNECTED = "disconnected"
    LOGOUT = "logout"
    UNREACHABLE = "unreachable"  # a callback whose customer could not be reached (callbacks.py)


def new_call_id() -> str:
    """16 URL-safe characters, the first a letter or digit: ids land in CSV exports, where a
    leading '-' would read as a formula to a spreadsheet (and be quoted by the export)."""
    while True:
        call_id = secrets.token_urlsafe(12)
        if call_id[0].isalnum():
            return call_id


@dataclass
class Call:
    id: str
    app_id: str
    sponsor: str
    type: CallType
    group: bool
    timeout: int
    created_at: float
    data: dict[str, Any] | None
    legs: dict[str, Leg]
    answered_at: float | None = None
    ended_at: float | None = None
    end_reason: EndReason | None = None
    # Set for a contact-center call: the customer (sponsor) waits in this queue while agents are
    # offered the call one leg at a time; it does not end when an offer fails. The one place the
    # call's queue is kept: overflow moves it (``move_to_queue``), the queue side reads it.
    queue: str | None = None
    # Who received no media from whom, and when (silence.py): kept out of the talk time.
    silences: list[Silence] = field(default_factory=list)
    # When the customer was on hold or waited for a transfer's target (hold.py): kept out of
    # the talk time, counted as the record's hold.
    holds: list[Hold] = field(default_factory=list)
    # An answered queue call whose customer waits for an agent again (a transfer): it goes on
    # with the customer alone, as a call not yet answered does.
    parked: bool = False
    # The agent consulted now (a warm transfer's target): rung, then in the call with the agent
    # who consults them, not yet with the customer, who is on hold meanwhile.
    consult: str | None = None
    # A queue call whose customer asked to be called back (callbacks.py): it waits in line with
    # nobody on it, and the customer is rung once an agent takes it.
    callback: bool = False
    # Supervisors' monitoring sessions (monitor.py): listen, whisper, barge.
    monitors: list[Monitor] = field(default_factory=list)

    def users(self, state: Leg) -> list[str]:
        return [user for user, leg in self.legs.items() if leg is state]

    @property
    def invitees(self) -> list[str]:
        return [user for user in self.legs if user != self.sponsor]

    # -- as plain data: what a shared store or a shutdown snapshot keeps ------------------------

    def to_state(self) -> dict[str, Any]:
        """The call as JSON-ready data; ``from_state`` makes it again. Written by one version of
        the code and read by the next (a deploy), so fields are named, never positional."""
        return {
            "id": self.id, "app_id": self.app_id, "sponsor": self.sponsor,
            "type": int(self.type), "group": self.group, "timeout": self.timeout,
            "created_at": self.created_at, "data": self.data,
            "legs": {user: str(leg) for user, leg in self.legs.items()},
            "answered_at": self.answered_at, "ended_at": self.ended_at,
            "end_reason": None if self.end_reason is None else str(self.end_reason),
            "queue": self.queue,
            "silences": [s.to_state() for s in self.silences],
            "holds": [h.to_state() for h in self.holds], "parked": self.parked,
            "consult": self.consult,
            "callback": self.callback,
            "monitors": [m.to_state() for m in self.monitors],
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Call:
        reason = state.get("end_reason")
        return cls(
            id=state["id"], app_id=state["app_id"], sponsor=state["sponsor"],
            type=CallType(state["type"]), group=bool(state["group"]),
            timeout=int(state["timeout"]), created_at=float(state["created_at"]),
            data=state.get("data"),
            legs={user: Leg(leg) for user, leg in state["legs"].items()},
            answered_at=state.get("answered_at"), ended_at=state.get("ended_at"),
            end_reason=None if reason is None else EndReason(reason),
            queue=state.get("queue"),
            silences=[Silence.from_state(s) for s in state.get("silences") or ()],
            holds=[Hold.from_state(h) for h in state.get("holds") or ()],
            parked=bool(state.get("parked", False)),
            consult=state.get("consult"),
            callback=bool(state.get("callback", False)),
            monitors=[Monitor.from_state(m) for m in state.get("monitors") or ()],
        )
