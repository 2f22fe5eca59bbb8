"""Callbacks: a waiting customer asks to be called back instead of waiting, and keeps their place.

The call stays in its queue with its join time and priority; only the customer's leg leaves (their
page may close or move to another page of the site). When the call reaches the head of the line
and an agent is free, the agent is offered it like any call, with the contact details the customer
left; on accept, the switchboard rings the customer back (``Switchboard.ring_back``) and, once
they answer, the call goes on as a queue call in the same record. A customer not reached (offline,
busy, no answer, declined) is tried again after the queue's ``callback_retry_delay``, up to
``callback_attempts`` times; then the call ends ``unreachable``, its record keeping the contact
for a follow-up. A callback is not an abandon (statistics.py).

This module holds what a callback adds to a queue call (``Callback``) and the checks of the
customer's contact; contact_center.py runs the steps. Plain Python.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from callcenter.domain.errors import Refused

# What a contact may hold, and how long each part may be.
CONTACT_LIMITS = {"name": 64, "email": 254, "phone": 32, "note": 500}
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PHONE = re.compile(r"^\+?[0-9 ()./-]{4,32}$")

# How each ring of the customer can end, besides being answered: these count as attempts.
NOT_REACHED = ("no_answer", "rejected", "offline", "busy")


def checked_contact(contact: dict[str, Any]) -> dict[str, str]:
    """The contact details as kept: name, email or phone (at least one: the way to follow up when
    the customer cannot be reached in the browser) and a note, each trimmed; BAD_CONTACT
    otherwise."""
    unknown = set(contact) - set(CONTACT_LIMITS)
    if unknown:
        raise Refused("BAD_CONTACT", f"contact: unknown field {sorted(unknown)[0]!r}")
    kept: dict[str, str] = {}
    for key, limit in CONTACT_LIMITS.items():
        value = contact.get(key)
        if value is None:
            continue
        if not isinstance(value, str):
            raise Refused("BAD_CONTACT", f"contact.{key} must be a string")
        value = value.strip()
        if len(value) > limit:
            raise Refused("BAD_CONTACT", f"contact.{key}: at most {limit} characters")
        if value:
            kept[key] = value
    if "email" in kept and not EMAIL.match(kept["email"]):
        raise Refused("BAD_CONTACT", "contact.email is not an email address")
    if "phone" in kept and not PHONE.match(kept["phone"]):
        raise Refused("BAD_CONTACT", "contact.phone is not a phone number")
    if "email" not in kept and "phone" not in kept:
        raise Refused("BAD_CONTACT", "contact: give an email or a phone number, to be "
                      "reached if the call back in the browser fails")
    return kept


@dataclass
class Callback:
    """What a callback adds to its queue call: who to call back, and each try.

    ``rings``: one ``{agent, start, end, outcome}`` per time the customer was rung (outcome None
    while it rings: answered, or one of NOT_REACHED, or cancelled when the agent left first);
    ``retry_at``: not offered to an agent before then (a try failed a moment ago)."""

    contact: dict[str, str]
    requested_at: float
    position: int
    rings: list[dict[str, Any]] = field(default_factory=list)
    retry_at: float = 0.0

    @property
    def ringing(self) -> dict[str, Any] | None:
        """The ring of the customer going on now, if any."""
        last = self.rings[-1] if self.rings else None
        return last if last is not None and last["outcome"] is None else None

    @property
    def failed(self) -> int:
        """Tries that did not reach the customer."""
        return sum(1 for r in self.rings if r["outcome"] in NOT_REACHED)

    @property
    def answered(self) -> bool:
        return any(r["outcome"] == "answered" for r in self.rings)

    def may_offer(self, now: float) -> bool:
        """Whether an agent may be offered it now: nobody is calling the customer, and the last
        failed try is far enough back."""
        return self.ringing is None and not self.answered and now >= self.retry_at

    def as_dict(self) -> dict[str, Any]:
        """As the record and the agent's offer show it."""
        return {"contact": dict(self.contact), "requestedAt": self.requested_at,
                "position": self.position, "attempts": [dict(r) for r in self.rings]}

    def to_state(self) -> dict[str, Any]:
        return {"contact": self.contact, "requested_at": self.requested_at,
                "position": self.position, "rings": self.rings, "retry_at": self.retry_at}

    @classmethod
    def from_state(cls, state: dict[str, Any] | None) -> Callback | None:
        if state is None:
            return None
        return cls(contact=dict(state["contact"]), requested_at=float(state["requested_at"]),
                   position=int(state["position"]),
                   rings=[dict(r) for r in state.get("rings", [])],
                   retry_at=float(state.get("retry_at", 0.0)))
