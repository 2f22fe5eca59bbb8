"""What the domain needs of live state: sessions, lines, calls and missed calls.

The switchboard reads and changes live state only through this interface, so that where it lives
is the adapter's choice (``callcenter.store``: in this process's memory, or shared). Every
operation is one step that a shared implementation can make atomic across processes (noted beside
each: SET NX, compare-and-delete scripts, lists). Calls are stored whole; the switchboard changes a
call only inside ``transaction()``, which a shared store implements as a lock on the call's key.

A shared store can be out of reach (Redis restarting, a network cut): every operation then raises
``StoreUnavailable`` instead of its client library's own errors, so adapters answer one code
(``UNAVAILABLE``) without knowing which store is behind the interface.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from callcenter.domain.errors import ErrorCode

if TYPE_CHECKING:
    from callcenter.domain.call import Call

MISSED_CALLS_KEPT = 100  # per user; older ones are dropped so an offline user cannot fill memory


class StoreUnavailable(Exception):
    """The store cannot be reached now; the operation that raised it did not happen.

    Not a ``Refused``: the domain catches refusals to carry on (``leave_all``), and a store that is
    gone must stop the whole step instead. Adapters answer it as ``UNAVAILABLE``."""

    code = ErrorCode.UNAVAILABLE

    def __init__(self, message: str = "the live-state store cannot be reached now; nothing was "
                 "changed, try again shortly", reason: str = "") -> None:
        super().__init__(message)
        self.message = message
        # Why, for the operator's log (never sent to clients: it names the infrastructure).
        self.reason = reason or message

    def as_dict(self) -> dict[str, object]:
        """The answer's ``error`` object, as ``Refused.as_dict``."""
        return {"code": self.code.value, "message": self.message}


class Store(Protocol):
    def ping(self) -> None:
        """Raise ``StoreUnavailable`` unless the store answers now. Adapters ask before a step
        that changes state, so that a store already gone refuses it before anything changed."""

    def when_back(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` each time the store answers again after it was out of reach (from
        whichever operation first succeeds: the callback must be quick)."""

    def transaction(self, key: str) -> Any:
        """A context manager that serialises operations on one call or user key."""

    # sessions: which connection a user of an app is logged in on (one at a time)
    def bind_session(self, app_id: str, user_id: str, sid: str) -> str | None:
        """Make ``sid`` the user's session; return the session it replaced (Redis: GETSET)."""

    def restore_session(self, app_id: str, user_id: str, sid: str) -> bool:
        """Bind ``sid`` only if the user has no session (Redis: SET NX): after the store lost its
        memory, a process binds its connections again without undoing a newer login."""

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
