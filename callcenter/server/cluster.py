"""Several ``callcenter serve`` processes on one Redis (docs/deploy.md, "Several processes").

The store already shares sessions, lines and calls. What each process otherwise keeps in memory —
the contact center's queues and agents, the resume streams with their numbered events, every
timer, which calls have an open history row — is shared here as one document: every step (the
domain's ``StepClock``, whose ``guard`` this is) holds the processes' common lock, loads the
document if another process saved a newer one, and saves it if the step changed it. Steps of all
processes therefore run one at a time, each on the latest state, and a timer due on a process
that died fires on another (its step finds it due in the document).

A connection lives on one process. An event for a connection held by another process is sent to
that process over its own channel (``SharedState.publish``), which emits it there; so is a
disconnection. Events a process emits to its own connections never touch Redis. Flask-SocketIO's
message queue was the other way: every emit of every process is published to all of them
(docs/benchmarks.md, "Several processes", has what the one we chose costs).

Each process beats every tick. When one stops beating (``kill -9``, a lost machine), one survivor
claims it and suspends the sessions of its connections, as if each had dropped: their clients,
reconnecting through the proxy to a survivor, resume within the window.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from flask_socketio import SocketIO

from callcenter.domain.credentials import Identity, Role
from callcenter.domain.timers import Timer, TimerQueue

if TYPE_CHECKING:  # shared_state imports redis-py, which a memory-store server never loads
    from callcenter.history.records import History
    from callcenter.server.socketio.signaling import Signaling
    from callcenter.store.shared_state import SharedState

log = logging.getLogger("callcenter.server.cluster")

FORMAT = 1


class LocalRelay:
    """One process alone: every connection is its own."""

    def __init__(self, socketio: SocketIO) -> None:
        self.socketio = socketio

    def emit(self, event: str, payload: Any, to: str | list[str]) -> None:
        self.socketio.emit(event, payload, to=to)

    def disconnect(self, sid: str) -> None:
        self.socketio.server.disconnect(sid)

    def emit_elsewhere(self, event: str, payload: dict[str, Any], sid: str) -> None:
        """A numbered event for a session whose connection ``sid`` is not this process's: alone,
        there is no other (the user is not logged in)."""

    def session_added(self, sid: str, identity: Identity) -> None:
        """A connection of this process logged in (or resumed)."""

    def session_removed(self, sid: str) -> None:
        """A connection of this process is gone."""

    def start(self) -> None:
        """Before serving."""

    def tick(self) -> None:
        """Once a second."""


class Cluster(LocalRelay):
    """This process among others on one Redis (module doc)."""

    def __init__(self, socketio: SocketIO, shared: SharedState, signaling: Signaling,
                 history: History) -> None:
        super().__init__(socketio)
        self.shared = shared
        self.signaling = signaling
        self.history = history
        self.node = shared.node
        # The version of the shared state this process holds; None: unknown, load it.
        self.version: int | None = None
        self.saved_text: str | None = None
        # sid -> process, for connections of other processes (a connection never moves).
        self.nodes_of: dict[str, str] = {}
        self.loads = self.saves = 0

    @staticmethod
    def node_name(base: str) -> str:
        """A name no other running process has: the history's node name and a random part."""
        return f"{base}-{secrets.token_hex(4)}"

    def start(self) -> None:
        self.shared.beat()
        self.socketio.start_background_task(self.shared.listen, self.on_message,
                                            self.socketio.sleep)
        log.info("sharing live state as %s with every process on the store", self.node)

    # -- the steps' guard ------------------------------------------------------------------

    @contextmanager
    def guard(self) -> Iterator[None]:
        """Around every outermost step: the common lock, the latest state in, the changes out."""
        with self.shared.lock():
            if self.version is None or self.shared.version() != self.version:
                self.version, text = self.shared.load()
                if text is not None and text != self.saved_text:
                    self.apply(text)
                    self.loads += 1
                self.saved_text = text
            try:
                yield
            finally:
                self.save()

    def save(self) -> None:
        try:
            text = json.dumps(self.capture(), separators=(",", ":"), allow_nan=False)
            if text != self.saved_text:
                self.version = self.shared.save(text)
                self.saved_text = text
                self.saves += 1
        except Exception:
            # What this process holds may now differ from the shared state: load it next time.
            self.version = None
            raise

    def capture(self) -> dict[str, Any]:
        signaling = self.signaling
        return {
            "format": FORMAT,
            "contact_center": signaling.center.shared_state(),
            "streams": signaling.resumption.to_state(),
            "timers": signaling.timers_state(),
            "history": self.history.open_state(),
            # Media workers (connected to one process each) and their recordings' jobs: a
            # call's legs on any process reach its worker through the worker's process.
            "recorder": None if signaling.recorder is None else signaling.recorder.to_state(),
            "worker_sids": signaling.worker_sids,
        }

    def apply(self, text: str) -> None:
        state = json.loads(text)
        if state.get("format") != FORMAT:
            log.warning("the shared state is of format %r, this version reads %d: starting "
                        "from what this process holds", state.get("format"), FORMAT)
            return
        signaling = self.signaling
        signaling.center.load_shared(state["contact_center"])
        signaling.resumption.load_state(state["streams"])
        now, mono = time.time(), time.monotonic()
        timers = TimerQueue()
        for saved in state["timers"]:
            timers.schedule(Timer.from_state(saved, now), mono)
        signaling.replace_timers(timers)
        self.history.load_open_state(state["history"])
        if signaling.recorder is not None and state.get("recorder") is not None:
            signaling.recorder.load_state(state["recorder"])
        signaling.worker_sids = dict(state.get("worker_sids", {}))
        signaling.sid_workers = {sid: worker for worker, sid in signaling.worker_sids.items()}

    # -- connections on other processes ---------------------------------------------------

    def _is_local(self, sid: str) -> bool:
        return self.socketio.server.manager.is_connected(sid, "/")

    def _node_of(self, sid: str) -> str | None:
        node = self.nodes_of.get(sid)
        if node is None:
            node = self.shared.node_of(sid)
            if node is not None:
                self.nodes_of[sid] = node
        return node

    def emit(self, event: str, payload: Any, to: str | list[str]) -> None:
        sids = [to] if isinstance(to, str) else to
        local = [sid for sid in sids if self._is_local(sid)]
        if local:
            self.socketio.emit(event, payload, to=local if len(local) > 1 else local[0])
        remote: dict[str, list[str]] = {}
        for sid in sids:
            if sid not in local and (node := self._node_of(sid)) is not None:
                remote.setdefault(node, []).append(sid)
        for node, group in remote.items():
            self.shared.publish(node, {"kind": "emit", "event": event, "payload": payload,
                                       "to": group})

    def disconnect(self, sid: str) -> None:
        if self._is_local(sid):
            self.socketio.server.disconnect(sid)
        elif (node := self._node_of(sid)) is not None:
            self.shared.publish(node, {"kind": "disconnect", "to": [sid]})

    def emit_elsewhere(self, event: str, payload: dict[str, Any], sid: str) -> None:
        """A numbered event for a session held by another process: that process sends it in
        order after a replay it may still be sending."""
        node = self._node_of(sid)
        if node is not None and node != self.node:
            self.shared.publish(node, {"kind": "session", "event": event, "payload": payload,
                                       "to": [sid]})

    def on_message(self, message: dict[str, Any]) -> None:
        """What another process sent to this one's connections."""
        sids = [sid for sid in message.get("to", []) if self._is_local(sid)]
        kind = message.get("kind")
        if not sids:
            return
        if kind == "emit":
            self.socketio.emit(message["event"], message["payload"],
                               to=sids if len(sids) > 1 else sids[0])
        elif kind == "session":
            for sid in sids:
                self.signaling.emit_here(sid, message["event"], message["payload"])
        elif kind == "disconnect":
            for sid in sids:
                self.socketio.server.disconnect(sid)

    def session_added(self, sid: str, identity: Identity) -> None:
        self.shared.add_session(sid, {"app_id": identity.app_id, "user_id": identity.user_id,
                                      "role": identity.role.value,
                                      "expires_at": identity.expires_at})

    def session_removed(self, sid: str) -> None:
        self.nodes_of.pop(sid, None)
        self.shared.remove_session(sid)

    # -- processes that died -----------------------------------------------------------------

    def tick(self) -> None:
        """Beat; take over the sessions of every process that stopped beating."""
        self.shared.beat()
        for node in self.shared.dead_nodes():
            sessions = self.shared.take_sessions(node)
            log.warning("server process %s stopped beating: its %d connections' sessions wait "
                        "for their clients to resume here", node, len(sessions))
            for sid, saved in sessions.items():
                self.nodes_of.pop(sid, None)
                identity = Identity(saved["app_id"], saved["user_id"], Role(saved["role"]),
                                    int(saved.get("expires_at", 0)))
                try:
                    self.signaling.connection_lost(sid, identity)
                except Exception:
                    log.exception("taking over the session of %s/%s failed", saved["app_id"],
                                  saved["user_id"])

    def retire(self) -> None:
        """This process stops (SIGTERM): another takes its connections over at its next tick,
        while their clients reconnect to it (a rolling restart)."""
        try:
            self.shared.retire()
        except Exception:
            log.warning("could not tell the other processes that this one stops: they notice "
                        "in %g s", self.shared.beat_ttl)
