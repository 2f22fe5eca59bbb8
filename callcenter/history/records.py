"""Call history: the contact center's call records and every event, written to the database.

The event loop must never wait for the database. ``History`` only appends to a list; a background
task hands the list, as one batch, to ``offload`` — in the server, eventlet's thread pool sized to
one thread, so every database operation runs one at a time on a real OS thread while greenlets
go on. A failed write is kept and retried, so a database that is briefly away loses nothing.

One call, one row: a queue call's row is written when the customer joins and updated as the call
goes (answered, ended, wrapped up, rated); a direct call's row when its first invitation rings and
when it ends. The row keeps the server's ``node`` name, and a row still open when that server
starts again is closed then (``Database.close_interrupted``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

from callcenter.domain import call_record
from callcenter.domain.events import CallEvent, EventName
from callcenter.history.db.database import Database

log = logging.getLogger("callcenter.history.records")

T = TypeVar("T")

# Changes held while the database is away; beyond this the oldest events are dropped (call rows
# are kept: they are what "every call has a record" rests on).
MAX_PENDING = 200_000
RETRY_DELAYS = (0.5, 1, 2, 5, 10, 30)
# The background writer waits this long (`[database] write_interval`) for more changes before
# writing: one transaction then carries a call's several changes (and other calls'), merged into
# one row each. Writing every burst at once made the server spend ~40 % more CPU per call
# (docs/benchmarks.md, "History writes").
WRITE_INTERVAL = 0.5


def _direct(fn: Callable[..., T], *args: Any) -> T:
    return fn(*args)


class History:
    def __init__(self, database: Database, node: str,
                 offload: Callable[..., Any] = _direct,
                 spawn: Callable[..., Any] | None = None,
                 sleep: Callable[[float], Any] = time.sleep,
                 write_interval: float = WRITE_INTERVAL) -> None:
        self.database = database
        self.node = node
        self.offload = offload
        self.spawn = spawn
        self.sleep = sleep
        self.write_interval = write_interval
        self.pending: list[tuple[str, dict[str, Any]]] = []
        self.writing = False
        # When the batch being written now was handed to the database (None between batches):
        # a database that stalls shows as a write that has been going on for long.
        self.write_started: float | None = None
        self.failures = 0
        # Calls with an open row: (app, call id) -> kind, so a direct call's first invitation
        # opens its row and only its end closes it.
        self._open: dict[tuple[str, str], str] = {}

    # -- a graceful restart's snapshot (callcenter.server.snapshot) ----------------------------

    def open_state(self) -> list[dict[str, str]]:
        """The calls whose row is open, and of which kind: what a restart must know to close a
        direct call's row when it ends in the next process."""
        return [{"app_id": app_id, "call_id": call_id, "kind": kind}
                for (app_id, call_id), kind in self._open.items()]

    def load_open_state(self, state: list[dict[str, str]]) -> None:
        self._open = {(row["app_id"], row["call_id"]): row["kind"] for row in state}

    # -- what the server tells it --------------------------------------------------------------

    def call_record(self, app_id: str, record: dict[str, Any]) -> None:
        """A queue call's detail record changed (``domain.queue_call.QueuedCall.record``)."""
        key = (app_id, record["callId"])
        if record.get("endedAt") is None:
            self._open[key] = "queue"
        else:
            self._open.pop(key, None)
        self._add("call", {"app_id": app_id, "kind": "queue", "node": self.node,
                           **call_record.stored(record)})

    def event(self, event: CallEvent) -> None:
        """Every event goes to the event log; a direct call's row follows its events."""
        self._add("event", {"app_id": event.app_id, "call_id": event.call_id,
                            "user_id": event.user_id, "name": event.name.value, "at": event.at,
                            "data": _jsonable(event.data)})
        if event.call_id is None:
            return
        key = (event.app_id, event.call_id)
        kind = self._open.get(key)
        if event.name is EventName.INVITED and kind is None:
            self._open[key] = "direct"
            self._add("call", {
                "app_id": event.app_id, "call_id": event.call_id, "kind": "direct",
                "node": self.node, "customer_id": event.data.get("from"),
                "agent_id": event.user_id, "type": event.data.get("type"), "priority": 0,
                "joined_at": event.at, "ring_attempts": 1, "recorded": False})
        elif event.name is EventName.ACCEPTED and kind == "direct":
            # The first to accept answers the call (a group call has several).
            self._open[key] = "direct-answered"
            self._add("call", {"app_id": event.app_id, "call_id": event.call_id,
                               "answered_at": event.at, "agent_id": event.user_id})
        elif event.name is EventName.ENDED and kind in ("direct", "direct-answered"):
            del self._open[key]
            answered = bool(event.data.get("answered"))
            # Talk leaves out the seconds in which someone received no media, as for queue calls.
            silent = float(event.data.get("silent") or 0.0)
            self._add("call", {
                "app_id": event.app_id, "call_id": event.call_id, "ended_at": event.at,
                "talk": round(max(0.0, float(event.data.get("duration") or 0.0) - silent), 3),
                "silent_seconds": silent,
                "outcome": "answered" if answered else "unanswered",
                "end_reason": event.data.get("reason"), "attempts": [
                    {"agent": user, "outcome": leg}
                    for user, leg in (event.data.get("legs") or {}).items()]})

    def recording(self, record: dict[str, Any]) -> None:
        """A recording was closed and indexed (``callcenter_recording_ready``)."""
        self._add("recording", {
            "app_id": record["app"], "call_id": record["callId"], "file": record["file"],
            "duration": record.get("duration"), "size": record.get("size"),
            "sha256": record.get("sha256"), "partial": bool(record.get("partial")),
            "created_at": record.get("createdAt") or time.time()})

    # -- reads ---------------------------------------------------------------------------------

    def read(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a database read off the event loop; it sees every change queued before it."""
        batch, self.pending = self.pending, []

        def write_then_read() -> tuple[Exception | None, T]:
            failed = None
            if batch:
                try:
                    self.database.apply(batch)
                except Exception as exc:  # kept and retried by flush, like any failed write
                    failed = exc
            return failed, fn(*args)

        failed, result = self.offload(write_then_read)
        if failed is not None:
            log.error("writing %d history changes failed (%s); retrying", len(batch), failed)
            self.pending = batch + self.pending
            self.flush_soon()
        return result

    def queue(self, kind: str, row: dict[str, Any]) -> None:
        """Queue any change ``Database.apply`` knows (the outbox uses this)."""
        self._add(kind, row)

    # -- writing -------------------------------------------------------------------------------

    def _add(self, kind: str, row: dict[str, Any]) -> None:
        self.pending.append((kind, row))
        if len(self.pending) > MAX_PENDING:
            dropped = next((i for i, (k, _) in enumerate(self.pending) if k == "event"), None)
            if dropped is not None:
                del self.pending[dropped]
                log.error("the database is behind by %d changes; dropped an event", MAX_PENDING)
        self.flush_soon()

    def flush_soon(self) -> None:
        if self.writing or not self.pending:
            return
        if self.spawn is None:
            self.flush()
        else:
            self.writing = True
            self.spawn(self._flush_later)

    def _flush_later(self) -> None:
        self.sleep(self.write_interval)
        self.flush()

    def flush(self) -> None:
        """Write everything pending, batch after batch, until nothing is left."""
        self.writing = True
        try:
            while self.pending:
                batch, self.pending = self.pending, []
                self.write_started = time.monotonic()
                try:
                    self.offload(self.database.apply, batch)
                    self.failures = 0
                except Exception:
                    self.failures += 1
                    delay = RETRY_DELAYS[min(self.failures, len(RETRY_DELAYS)) - 1]
                    log.exception("writing %d history changes failed; retrying in %.1f s",
                                  len(batch), delay)
                    self.pending = batch + self.pending
                    self.write_started = None
                    self.sleep(delay)
                self.write_started = None
        finally:
            self.writing = False

    def status(self) -> dict[str, Any]:
        """For /healthz: changes waiting to be written, how long the write under way has taken
        (seconds; null when none is), and failed writes in a row."""
        started = self.write_started
        return {"pending": len(self.pending), "failures": self.failures,
                "writingFor": None if started is None else round(time.monotonic() - started, 3)}

    def close_interrupted(self, keep: frozenset[tuple[str, str]] = frozenset()
                          ) -> list[CallEvent]:
        """At start: close this node's calls left open by a process that died, except those in
        ``keep`` (app id, call id: taken over from a restart snapshot); returns the
        ``call.interrupted`` events (already in the event log) for the plugins."""
        closed = self.offload(self.database.close_interrupted, self.node, time.time(), keep)
        if closed:
            log.warning("closed %d calls left open when this server last stopped", len(closed))
        return [CallEvent(EventName.INTERRUPTED, e["app_id"], e["call_id"], None, e["at"],
                          e["data"]) for e in closed]


def _jsonable(value: Any) -> Any:
    """Event data as JSON can store it (tuples become lists, unknown objects their str). A
    module function, not a recursive closure: that is a reference cycle per event, left to the
    garbage collector, whose passes are the server's pauses."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)
