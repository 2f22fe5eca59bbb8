"""Holds: stretches of an answered call in which the customer waited, hearing music, without an
agent talking to them — an agent's hold, or the ring of a transfer target.

calls.py opens and closes them; the call's record reads them: their union is the record's
``hold``, kept out of ``talk`` (talk + hold + wrap-up is the handle time). Plain Python.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from callcenter.domain.spans import Span, clipped


class HoldKind(StrEnum):
    HOLD = "hold"  # an agent put the customer on hold
    TRANSFER = "transfer"  # the customer waits for a transfer's target to answer
    CONSULT = "consult"  # the agent talks with a colleague before handing the customer over


@dataclass
class Hold:
    """``by`` put the customer on hold (or transferred them) at ``start``; ``end`` None: still
    holding."""

    by: str
    start: float
    end: float | None = None
    kind: HoldKind = HoldKind.HOLD

    def to_state(self) -> dict[str, Any]:
        return {"by": self.by, "start": self.start, "end": self.end, "kind": str(self.kind)}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Hold:
        end = state.get("end")
        return cls(by=str(state["by"]), start=float(state["start"]),
                   end=None if end is None else float(end),
                   kind=HoldKind(state.get("kind", "hold")))

    def as_dict(self) -> dict[str, Any]:
        """As the record's timeline shows it."""
        return {"kind": str(self.kind), "by": self.by, "start": self.start, "end": self.end}


def open_hold(holds: Iterable[Hold]) -> Hold | None:
    """The hold going on now, if any (there is at most one)."""
    return next((h for h in holds if h.end is None), None)


def hold_spans(holds: Iterable[Hold], start: float, end: float) -> list[Span]:
    """The holds cut to [start, end], one still open running to ``end``."""
    return clipped(((h.start, h.end) for h in holds), start, end)
