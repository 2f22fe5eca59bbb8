"""The live state of a single server process, in dicts (``callcenter.domain.store.Store``)."""

from __future__ import annotations

import threading
from collections import defaultdict, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from callcenter.domain.call import Call
from callcenter.domain.store import MISSED_CALLS_KEPT


class MemoryStore:
    """The store of a single server process."""

    def __init__(self) -> None:
        # One lock for everything: greenlets rarely contend, and the domain never blocks inside.
        self._lock = threading.RLock()
        self._sessions: dict[tuple[str, str], str] = {}
        self._lines: dict[tuple[str, str], str] = {}
        self._calls: dict[tuple[str, str], Call] = {}
        self._missed: defaultdict[tuple[str, str], deque[dict[str, Any]]] = defaultdict(
            lambda: deque(maxlen=MISSED_CALLS_KEPT))

    def ping(self) -> None:
        """Always reachable: it is this process's memory."""

    def when_back(self, callback: Callable[[], None]) -> None:
        """Never called: this store is never out of reach."""

    @contextmanager
    def transaction(self, key: str) -> Iterator[None]:
        with self._lock:
            yield

    def bind_session(self, app_id: str, user_id: str, sid: str) -> str | None:
        with self._lock:
            previous = self._sessions.get((app_id, user_id))
            self._sessions[(app_id, user_id)] = sid
            return previous

    def restore_session(self, app_id: str, user_id: str, sid: str) -> bool:
        with self._lock:
            if (app_id, user_id) in self._sessions:
                return False
            self._sessions[(app_id, user_id)] = sid
            return True

    def unbind_session(self, app_id: str, user_id: str, sid: str) -> bool:
        with self._lock:
            if self._sessions.get((app_id, user_id)) == sid:
                del self._sessions[(app_id, user_id)]
                return True
            return False

    def session_of(self, app_id: str, user_id: str) -> str | None:
        return self._sessions.get((app_id, user_id))

    def claim_line(self, app_id: str, user_id: str, call_id: str) -> bool:
        with self._lock:
            if (app_id, user_id) in self._lines:
                return False
            self._lines[(app_id, user_id)] = call_id
            return True

    def release_line(self, app_id: str, user_id: str, call_id: str) -> None:
        with self._lock:
            if self._lines.get((app_id, user_id)) == call_id:
                del self._lines[(app_id, user_id)]

    def line_of(self, app_id: str, user_id: str) -> str | None:
        return self._lines.get((app_id, user_id))

    def put_call(self, call: Call) -> None:
        self._calls[(call.app_id, call.id)] = call

    def get_call(self, app_id: str, call_id: str) -> Call | None:
        return self._calls.get((app_id, call_id))

    def delete_call(self, app_id: str, call_id: str) -> None:
        self._calls.pop((app_id, call_id), None)

    def add_missed(self, app_id: str, user_id: str, record: dict[str, Any]) -> None:
        with self._lock:
            self._missed[(app_id, user_id)].append(record)

    def take_missed(self, app_id: str, user_id: str) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._missed.pop((app_id, user_id), ()))

    # -- a shutdown snapshot (callcenter.server.snapshot) ---------------------------------------

    def to_state(self) -> dict[str, Any]:
        """Everything held, as JSON-ready data with named fields; ``from_state`` takes it
        back."""
        with self._lock:
            return {
                "sessions": [{"app_id": a, "user_id": u, "sid": sid}
                             for (a, u), sid in self._sessions.items()],
                "lines": [{"app_id": a, "user_id": u, "call_id": c}
                          for (a, u), c in self._lines.items()],
                "calls": [call.to_state() for call in self._calls.values()],
                "missed": [{"app_id": a, "user_id": u, "calls": list(records)}
                           for (a, u), records in self._missed.items() if records],
            }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> MemoryStore:
        store = cls()
        store.load_state(state)
        return store

    def load_state(self, state: dict[str, Any]) -> None:
        """Replace what is held with what ``to_state`` wrote."""
        with self._lock:
            self._sessions = {(s["app_id"], s["user_id"]): s["sid"]
                              for s in state.get("sessions", [])}
            self._lines = {(line["app_id"], line["user_id"]): line["call_id"]
                           for line in state.get("lines", [])}
            calls = (Call.from_state(c) for c in state.get("calls", []))
            self._calls = {(call.app_id, call.id): call for call in calls}
            self._missed.clear()
            for missed in state.get("missed", []):
                self._missed[(missed["app_id"], missed["user_id"])].extend(missed["calls"])

