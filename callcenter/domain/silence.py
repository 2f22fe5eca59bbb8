"""Silences: stretches of a call in which one participant received no media from another.

Media goes browser to browser, so the server cannot see it stop; each participant's SDK watches
the bytes it receives and reports (``media_flow``) when they stop rising and when they rise
again. A call keeps those reports as ``Silence`` stretches (calls.py changes them, the call's
record reads them), and ``silent_seconds`` is the time in which at least one was going on: a
frozen browser's seconds are then kept out of the call's talk time.

Plain Python, no framework.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from callcenter.domain.spans import Span, clipped, covered, union

# Closed stretches beyond this many are merged into their union (a flapping connection must not
# grow a call without bound); the open ones, which later reports close, are always kept apart.
MAX_SILENCES = 200


@dataclass
class Silence:
    """``receiver`` received nothing from ``sender`` from ``start`` until ``end`` (None: still
    nothing). A merged stretch (``compact``) names nobody."""

    receiver: str
    sender: str
    start: float
    end: float | None = None

    def to_state(self) -> dict[str, Any]:
        return {"receiver": self.receiver, "sender": self.sender, "start": self.start,
                "end": self.end}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Silence:
        end = state.get("end")
        return cls(receiver=str(state["receiver"]), sender=str(state["sender"]),
                   start=float(state["start"]), end=None if end is None else float(end))


def silent_seconds(silences: Iterable[Silence], start: float | None,
                   end: float | None) -> float:
    """Seconds of [start, end] (a call's answer to its end) in which at least one silence was
    going on; a silence still open counts up to ``end``. Overlapping silences (both sides of a
    frozen link reporting, or two peers of a group call) count once. 0 without both times."""
    if start is None or end is None or end <= start:
        return 0.0
    return covered(silent_spans(silences, start, end))


def silent_spans(silences: Iterable[Silence], start: float, end: float) -> list[Span]:
    """The silences cut to [start, end], an open one running to ``end``."""
    return clipped(((s.start, s.end) for s in silences), start, end)


def open_silence(silences: Iterable[Silence], receiver: str, sender: str) -> Silence | None:
    """The silence of ``receiver`` hearing nothing from ``sender`` going on now, if any."""
    return next((s for s in silences
                 if s.end is None and s.receiver == receiver and s.sender == sender), None)


def compact(silences: list[Silence]) -> list[Silence]:
    """At most MAX_SILENCES closed stretches: beyond that they are merged into their union (who
    heard whom no longer matters once a stretch is over), the open ones kept as they are. If the
    union is still too long (a client reporting stalls many times a second), the stretches with
    the shortest gaps between them are joined, that gap counted as silent: bounded memory is
    worth a few milliseconds more of silence on such a call."""
    closed = [(s.start, s.end) for s in silences if s.end is not None]
    if len(closed) <= MAX_SILENCES:
        return silences
    spans = union(closed)
    while len(spans) > MAX_SILENCES // 2:
        i = min(range(len(spans) - 1), key=lambda k: spans[k + 1][0] - spans[k][1])
        spans[i:i + 2] = [(spans[i][0], spans[i + 1][1])]
    return [Silence("", "", lo, hi) for lo, hi in spans] + [s for s in silences if s.end is None]
