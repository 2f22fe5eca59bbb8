"""A customer's call through a queue: what the queue adds to the call, and the call record.

The call (``calls.Call``) is the switchboard's; a ``QueuedCall`` reads its facts from it and keeps
the rest: the customer's details, the place in line, every offer to an agent (``RingAttempt``),
the outcome, the wrap-up and the rating. ``record()`` is the call detail record the history keeps.
Plugins get a ``QueuedCall`` (docs/plugins.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from callcenter.domain.call import Call, Leg
from callcenter.domain.callbacks import Callback
from callcenter.domain.hold import HoldKind, hold_spans
from callcenter.domain.silence import silent_spans
from callcenter.domain.spans import covered


@dataclass
class RingAttempt:
    agent: str
    offered_at: float
    ended_at: float | None = None
    outcome: str | None = None  # answered, no_answer, rejected, taken, abandoned, ...

    def as_dict(self) -> dict[str, Any]:
        return {"agent": self.agent, "offeredAt": self.offered_at, "endedAt": self.ended_at,
                "outcome": self.outcome}

    def to_state(self) -> dict[str, Any]:
        return {"agent": self.agent, "offered_at": self.offered_at, "ended_at": self.ended_at,
                "outcome": self.outcome}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> RingAttempt:
        return cls(agent=state["agent"], offered_at=float(state["offered_at"]),
                   ended_at=state.get("ended_at"), outcome=state.get("outcome"))


@dataclass
class QueuedCall:
    """A customer's call through a queue, from joining to its history record.

    The call itself (``call``: its queue, type, legs, when it began, was answered and ended, and
    why) is the switchboard's and is only read here; this object keeps what the queue adds: the
    customer's details, the place in line, every offer to an agent, the outcome, the wrap-up and
    the rating. It refreshes ``call`` after every switchboard step.
    """

    call: Call
    attributes: dict[str, str]
    verified: dict[str, Any]
    priority: int
    original_queue: str = ""
    original_position: int = 0
    position: int = 0
    # What the customer was last told: None while no agent staffs the queue; 0 and ringing
    # while an agent's phone rings for the call.
    estimated_wait: int | None = 0
    told_ringing: bool = False
    attempts: list[RingAttempt] = field(default_factory=list)
    outcome: str | None = None  # completed, abandoned, timed_out, no_agents, unreachable
    ended_by: str | None = None  # customer, agent, system
    wrap_up_ended_at: float | None = None
    disposition: str | None = None
    notes: str | None = None
    rating: int | None = None
    max_wait_token: int = 0
    recorded: bool = False
    wait_alerted: bool = False
    # The customer's connection dropped and may resume: the call keeps its place in line but is
    # offered to nobody until they are back (an agent would answer an empty line).
    customer_away: bool = False
    # Who talked with the customer, and when: one {agent, start, end} per answer (a transfer
    # opens the next); end None while they talk.
    talks: list[dict[str, Any]] = field(default_factory=list)
    # Each blind transfer: {from, to (an agent, or None for the queue), queue, note, at, end,
    # outcome (None while its target is sought: answered, returned, requeued, abandoned),
    # answeredBy, returned (it is the way back of one that failed)}.
    transfers: list[dict[str, Any]] = field(default_factory=list)
    # Each consult (warm transfer): {from, to, note, at, answeredAt, end, outcome (None while
    # it goes on: completed, conference, cancelled, no_answer, rejected, left)}.
    consults: list[dict[str, Any]] = field(default_factory=list)
    # The customer asked to be called back (callbacks.py): None until then.
    callback: Callback | None = None

    def __setattr__(self, name: str, value: Any) -> None:
        # As Agent's: a change notes the call in its contact center's set (``sink``); and the
        # call brought up to date after a step (``call``) is put back in its queue's index of
        # waiting calls if it waits (``on_call``: a transfer parks it, an overflow moves it).
        object.__setattr__(self, name, value)
        fields = self.__dict__
        sink = fields.get("sink")
        if sink is not None:
            sink.add((self.call.app_id, self.call.id))
            if name == "call":
                on_call = fields.get("on_call")
                if on_call is not None:
                    on_call(self)

    # -- as plain data: what a shutdown snapshot keeps ---------------------------------------

    # Plain fields kept as they are (the call, the attempts and the callback are encoded apart).
    _STATE_FIELDS = ("attributes", "verified", "priority", "original_queue", "original_position",
                     "position", "estimated_wait", "outcome", "ended_by", "wrap_up_ended_at",
                     "disposition", "notes", "rating", "max_wait_token", "recorded",
                     "wait_alerted", "customer_away", "told_ringing", "talks", "transfers",
                     "consults")

    def to_state(self) -> dict[str, Any]:
        """The queue call as JSON-ready data, fields named; ``from_state`` makes it again."""
        return {"call": self.call.to_state(), "attempts": [a.to_state() for a in self.attempts],
                "callback": self.callback.to_state() if self.callback else None,
                **{name: getattr(self, name) for name in self._STATE_FIELDS}}

    @classmethod
    def from_state(cls, state: dict[str, Any], call: Call | None = None) -> QueuedCall:
        """``call``: the live call as the store holds it (the queue call reads the same object);
        by default the one encoded in ``state`` (a finished call, no longer in the store)."""
        fields = {name: state[name] for name in cls._STATE_FIELDS if name in state}
        return cls(call=call if call is not None else Call.from_state(state["call"]),
                   attempts=[RingAttempt.from_state(a) for a in state.get("attempts", [])],
                   callback=Callback.from_state(state.get("callback")), **fields)

    # -- read from the call ------------------------------------------------------------------

    @property
    def call_id(self) -> str:
        return self.call.id

    @property
    def app_id(self) -> str:
        return self.call.app_id

    @property
    def customer(self) -> str:
        return self.call.sponsor

    @property
    def queue(self) -> str:
        return self.call.queue or ""

    @property
    def type(self) -> int:
        return self.call.type.value

    @property
    def joined_at(self) -> float:
        return self.call.created_at

    @property
    def answered_at(self) -> float | None:
        return self.call.answered_at

    @property
    def ended_at(self) -> float | None:
        return self.call.ended_at

    @property
    def end_reason(self) -> str | None:
        return self.call.end_reason.value if self.call.end_reason else None

    @property
    def ringing(self) -> bool:
        """An agent is being offered the call now (a leg of the call rings)."""
        return any(leg is Leg.RINGING for leg in self.call.legs.values())

    # -- read from the offers ----------------------------------------------------------------

    @property
    def offered_at(self) -> float | None:
        return self.attempts[0].offered_at if self.attempts else None

    @property
    def agent(self) -> str | None:
        """The agent who talked with the customer last: after a transfer, its target."""
        if self.talks:
            return self.talks[-1]["agent"]
        return next((a.agent for a in reversed(self.attempts) if a.outcome == "answered"), None)

    @property
    def talking(self) -> str | None:
        """The agent talking with the customer now, the latest to join in a conference (None
        while the call waits or after it)."""
        talkers = self.talkers
        return talkers[-1] if talkers else None

    @property
    def talkers(self) -> list[str]:
        """The agents talking with the customer now: one, or two in a conference."""
        return [t["agent"] for t in self.talks if t["end"] is None]

    @property
    def consult(self) -> dict[str, Any] | None:
        """The consult going on now, if any."""
        last = self.consults[-1] if self.consults else None
        return last if last is not None and last["outcome"] is None else None

    @property
    def transfer(self) -> dict[str, Any] | None:
        """The blind transfer whose target is being sought now, if any."""
        last = self.transfers[-1] if self.transfers else None
        return last if last is not None and last["outcome"] is None else None

    @property
    def waiting(self) -> bool:
        """Waiting for an agent: not yet answered, or transferred and not yet answered again."""
        call = self.call  # read directly: every routing step asks this of every call
        return call.ended_at is None and (call.answered_at is None or call.parked)

    def wait(self, now: float) -> float:
        return (self.answered_at or self.ended_at or now) - self.joined_at

    def _spans(self, now: float) -> tuple[float, float, float]:
        """(talk, hold, silent) seconds of the answered call up to its end (or ``now``): hold
        is the union of the holds; silent, the silences outside them; talk, the rest."""
        if self.answered_at is None:
            return 0.0, 0.0, 0.0
        start, end = self.answered_at, self.ended_at if self.ended_at is not None else now
        if end <= start:
            return 0.0, 0.0, 0.0
        holds = hold_spans(self.call.holds, start, end)
        silences = silent_spans(self.call.silences, start, end)
        held = covered(holds)
        away = covered(holds + silences)
        return max(0.0, end - start - away), held, away - held

    @property
    def silent(self) -> float:
        """Seconds of the answered call, outside holds, in which one side received no media
        from the other (a frozen browser): 0 until the call ends."""
        return self._spans(self.ended_at)[2] if self.ended_at is not None else 0.0

    @property
    def hold(self) -> float:
        """Seconds the customer was on hold or waited for a transfer's target: 0 until the
        call ends."""
        return self._spans(self.ended_at)[1] if self.ended_at is not None else 0.0

    @property
    def talk(self) -> float:
        """Seconds answered, less holds and silences: nobody talks to a frozen browser or to
        someone hearing music."""
        return self._spans(self.ended_at)[0] if self.ended_at is not None else 0.0

    def talk_of(self, agent: str, now: float) -> float:
        """Seconds ``agent`` talked with the customer (their answers less holds and
        silences), up to ``now``."""
        total = 0.0
        for talk in self.talks:
            if talk["agent"] != agent:
                continue
            end = talk["end"] if talk["end"] is not None else now
            holds = hold_spans(self.call.holds, talk["start"], end)
            silences = silent_spans(self.call.silences, talk["start"], end)
            total += max(0.0, end - talk["start"] - covered(holds + silences))
        return total

    def segments(self) -> list[dict[str, Any]]:
        """The answered call's timeline, by start time: who talked with the customer
        (``talk``; two overlap in a conference), each hold (``hold``), each blind transfer from
        its request to its outcome (``transfer``: the customer waited, on hold, for its target)
        each consult (``consult``: the customer on hold while the agent talked with a
        colleague; outcome completed, conference, cancelled, ...), and each supervisor's
        monitoring (``monitor``: its first mode, then each change)."""
        out: list[dict[str, Any]] = [{"kind": "talk", **t} for t in self.talks]
        out += [h.as_dict() for h in self.call.holds if h.kind is HoldKind.HOLD]
        out += [{"kind": "transfer", "by": t["from"], "to": t["to"], "queue": t["queue"],
                 "note": t["note"], "start": t["at"], "end": t["end"], "outcome": t["outcome"],
                 "answeredBy": t["answeredBy"], "returned": t["returned"]}
                for t in self.transfers]
        out += [{"kind": "consult", "by": c["from"], "to": c["to"], "note": c["note"],
                 "start": c["at"], "answeredAt": c["answeredAt"], "end": c["end"],
                 "outcome": c["outcome"]} for c in self.consults]
        out += [m.as_segment() for m in self.call.monitors]
        return sorted(out, key=lambda s: s["start"])

    def tried(self) -> set[str]:
        return {a.agent for a in self.attempts}

    def open_attempts(self) -> list[RingAttempt]:
        return [a for a in self.attempts if a.outcome is None]

    def customer_view(self) -> dict[str, Any]:
        attrs = self.attributes
        verified_attrs = self.verified.get("attrs") or {}
        return {
            "userID": self.customer,
            "name": self.verified.get("name") or attrs.get("name", ""),
            "topic": attrs.get("topic", ""), "language": attrs.get("language", ""),
            "pageUrl": attrs.get("pageUrl", ""), "attributes": dict(attrs),
            "verified": {**({"name": self.verified["name"]} if "name" in self.verified else {}),
                         **({"attrs": verified_attrs} if verified_attrs else {}),
                         **({"priority": self.priority} if self.priority else {})},
        }

    def record(self, now: float) -> dict[str, Any]:
        """The call detail record, as it stands at ``now`` (``endedAt`` is None while it goes
        on)."""
        wrap_up = None
        if self.wrap_up_ended_at is not None and self.ended_at is not None:
            wrap_up = round(self.wrap_up_ended_at - self.ended_at, 3)
        return {
            "callId": self.call_id, "queue": self.queue, "originalQueue": self.original_queue,
            "customer": self.customer_view(), "agent": self.agent, "type": self.type,
            "priority": self.priority, "joinedAt": self.joined_at, "offeredAt": self.offered_at,
            "answeredAt": self.answered_at, "endedAt": self.ended_at,
            "wrapUpEndedAt": self.wrap_up_ended_at,
            "wait": round(self.wait(now), 3),
            "talk": round(self.talk, 3), "silentSeconds": round(self.silent, 3),
            "hold": round(self.hold, 3), "segments": self.segments(),
            "wrapUp": wrap_up,
            "originalPosition": self.original_position, "finalPosition": self.position,
            "attempts": [a.as_dict() for a in self.attempts], "outcome": self.outcome,
            "endReason": self.end_reason, "endedBy": self.ended_by,
            "disposition": self.disposition, "notes": self.notes, "rating": self.rating,
            "recorded": self.recorded,
            "callback": self.callback.as_dict() if self.callback else None,
        }
