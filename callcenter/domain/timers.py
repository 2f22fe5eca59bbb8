"""Timers: what the domain asks to happen later, and the one scheduler that keeps them.

The domain never sleeps: a step that needs something done later puts a ``Timer`` in its
``Outcome`` (or the key of one to cancel), and the adapter hands it to a ``TimerQueue``, a heap of
due times that one task of the server's loop drains. Setting a timer whose key is already set
replaces it; cancelling removes it, so a ring timeout whose invitation was answered, a wrap-up
ended early or a grace period ended by a reconnection never fires. Plain Python, no I/O.
"""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class TimerKind(StrEnum):
    RING = "ring"                # an invitation or an offer rings out
    MAX_WAIT = "max_wait"        # a queued call has waited its queue's max_wait
    WRAP_UP = "wrap_up"          # an agent's wrap-up time is over
    AGENT_GRACE = "agent_grace"  # a dropped agent did not come back in time
    RESUME = "resume"            # a dropped connection was not resumed within the window


TimerKey = tuple[TimerKind, str, str | None, str | None]


@dataclass(frozen=True)
class Timer:
    """Something to do after ``delay`` seconds, for the call ``call_id`` and user ``user_id``
    of app ``app_id`` (either may be None where the kind has none)."""

    delay: float
    app_id: str
    call_id: str | None
    user_id: str | None
    kind: TimerKind = TimerKind.RING
    token: int = 0  # lets a timer see that what it was set for has since changed

    def to_state(self, due: float) -> dict[str, Any]:
        """The timer as JSON-ready data, with ``due``: when it fires, seconds since the epoch
        (a wall-clock time: another process, whose monotonic clock differs, reads it)."""
        return {"kind": self.kind.value, "app_id": self.app_id, "call_id": self.call_id,
                "user_id": self.user_id, "token": self.token, "due": due}

    @classmethod
    def from_state(cls, state: dict[str, Any], now: float) -> Timer:
        """The timer ``to_state`` wrote, due as it was: its delay counts from ``now`` (wall
        clock); one already overdue fires at once."""
        return cls(max(0.0, float(state["due"]) - now), state["app_id"], state.get("call_id"),
                   state.get("user_id"), TimerKind(state["kind"]), int(state.get("token", 0)))

    @property
    def key(self) -> TimerKey:
        """At most one timer of a kind per call and user: setting another replaces it."""
        return timer_key(self.kind, self.app_id, self.call_id, self.user_id)


def timer_key(kind: TimerKind, app_id: str, call_id: str | None, user_id: str | None
              ) -> TimerKey:
    return (kind, app_id, call_id, user_id)


@dataclass(order=True)
class _Entry:
    due: float
    seq: int
    timer: Timer = field(compare=False)
    cancelled: bool = field(default=False, compare=False)


class TimerQueue:
    """Due timers in order. Cancelled or replaced entries stay in the heap, marked, until their
    time comes (removing from the middle of a heap costs more than skipping them)."""

    def __init__(self) -> None:
        self._heap: list[_Entry] = []
        self._by_key: dict[TimerKey, _Entry] = {}
        self._seq = itertools.count()
        # Keys set, cancelled or fired since ``take_touched`` last asked (processes sharing
        # the timers save only those).
        self.touched: set[TimerKey] = set()

    def take_touched(self) -> dict[TimerKey, tuple[Timer, float] | None]:
        """The timers changed since the last ask: each key's timer and due time, or None."""
        touched, self.touched = self.touched, set()
        out: dict[TimerKey, tuple[Timer, float] | None] = {}
        for key in touched:
            entry = self._by_key.get(key)
            out[key] = None if entry is None else (entry.timer, entry.due)
        return out

    def __len__(self) -> int:
        return len(self._by_key)

    def schedule(self, timer: Timer, now: float) -> None:
        self.cancel(timer.key)
        entry = _Entry(now + max(0.0, timer.delay), next(self._seq), timer)
        self._by_key[timer.key] = entry
        self.touched.add(timer.key)
        heapq.heappush(self._heap, entry)

    def cancel(self, key: TimerKey) -> bool:
        """Whether a timer was set under ``key`` (it will not fire)."""
        entry = self._by_key.pop(key, None)
        if entry is None:
            return False
        self.touched.add(key)
        entry.cancelled = True
        return True

    def next_due(self) -> float | None:
        while self._heap and self._heap[0].cancelled:
            heapq.heappop(self._heap)
        return self._heap[0].due if self._heap else None

    def pending(self) -> list[tuple[Timer, float]]:
        """Every timer still set, with its due time (on the clock ``schedule`` was given)."""
        return sorted(((e.timer, e.due) for e in self._by_key.values()), key=lambda t: t[1])

    def pop_due(self, now: float) -> list[Timer]:
        """The timers due by ``now``, earliest first; they are no longer set."""
        due = []
        while self._heap and self._heap[0].due <= now:
            entry = heapq.heappop(self._heap)
            if not entry.cancelled:
                del self._by_key[entry.timer.key]
                self.touched.add(entry.timer.key)
                due.append(entry.timer)
        return due
