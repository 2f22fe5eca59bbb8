"""Live state: sessions, lines, calls and missed calls, behind one small interface.

Every operation is one step that a Redis implementation can make atomic across processes (noted
beside each: SET NX, compare-and-delete scripts, lists). The in-memory store keeps it in dicts for
a single server process. Calls are stored whole; the switchboard changes a call only inside
``transaction()``, which a shared store implements as a lock on the call's key.
"""

from __future__ import annotations

import threading
from collections import defaultdict, deque
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from callcenter.calls import Call

MISSED_CALLS_KEPT = 100  # per user; older ones are dropped so an offline user cannot fill memory


class Store(Protocol):
    def transaction(self, key: str) -> Any:
        """A context manager that serialises operations on one call or user key."""

    # sessions: which connection a user of an app is logged in on (one at a time)
    def bind_session(self, app_id: str, user_id: str, sid: str) -> str | None:
        """Make ``sid`` the user's session; return the session it replaced (Redis: GETSET)."""

    def unbind_session(self, app_id: str, user_id: str, sid: str) -> bool:
        """Forget the user's session if it is still ``sid`` (Redis: compare-and-delete)."""

    def session_of(self, app_id: str, user_id: str) -> str | None: ...

    # lines: the one call a user is ringing for or talking in
    def claim_line(self, app_id: str, user_id: str, call_id: str) -> bool:
        """Take the user's line for ``call_id`` if it is free (Redis: SET NX)."""

    def release_line(self, app_id: str, user_id: str, call_id: str) -> None:
        """Free the user's line if ``call_id`` holds it (Redis: compare-and-delete)."""

    def line_of(self, app_id: str, user_id: str) -> str | None: ...

    # calls
    def put_call(self, call: Call) -> None: ...
    def get_call(self, app_id: str, call_id: str) -> Call | None: ...
    def delete_call(self, app_id: str, call_id: str) -> None: ...

    # missed calls, handed out once at the user's next login (Redis: RPUSH + LTRIM, then a
    # MULTI of LRANGE and DEL)
    def add_missed(self, app_id: str, user_id: str, record: dict[str, Any]) -> None: ...
    def take_missed(self, app_id: str, user_id: str) -> list[dict[str, Any]]: ...


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

    @contextmanager
    def transaction(self, key: str) -> Iterator[None]:
        with self._lock:
            yield

    def bind_session(self, app_id: str, user_id: str, sid: str) -> str | None:
        with self._lock:
            previous = self._sessions.get((app_id, user_id))
            self._sessions[(app_id, user_id)] = sid
            return previous

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
