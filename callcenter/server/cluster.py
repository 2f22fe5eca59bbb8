"""Several ``callcenter serve`` processes on one Redis (docs/deploy.md, "Several processes").

The store already shares sessions, lines and calls. What each process otherwise keeps in memory —
the contact center's agents and queue calls, the finished calls still to be rated, the resume
streams with their numbered events, every timer, the media workers and their jobs, which calls
have an open history row — is shared here as entries (``SharedState``): every step (the
domain's ``StepClock``, whose ``guard`` this is) holds the processes' common lock, loads the
entries another process changed since this one's version, and saves those it changed itself
(agents and queue calls note their own changes; streams, timers and finished calls are noted
where they change). Steps of all processes therefore run one at a time, each on the latest
state, and a timer due on a process that died fires on another (its step finds it due).

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

from callcenter.domain.contact_center import RATING_WINDOW
from callcenter.domain.credentials import Identity, Role
from callcenter.domain.timers import Timer, TimerQueue
from callcenter.server.socketio.resume import SHARED_IN_FLIGHT_KEPT

if TYPE_CHECKING:  # shared_state imports redis-py, which a memory-store server never loads
    from callcenter.history.records import History
    from callcenter.server.socketio.signaling import Signaling
    from callcenter.store.shared_state import SharedState

log = logging.getLogger("callcenter.server.cluster")


def _encode(state: dict[str, Any]) -> str:
    return json.dumps(state, separators=(",", ":"), allow_nan=False)


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
        # The version of the shared state this process holds; None: unknown, load it all.
        self.version: int | None = None
        # The "misc" entry as this process last saved or loaded it: a step saves it if it differs.
        self.saved_misc: dict[str, Any] | None = None
        self.finished_until: dict[str, float] = {}  # finished-call entries and their expiry
        # Every timer entry, as saved or loaded: the queue is made again from them on a load.
        self.timers: dict[str, dict[str, Any] | None] = {}
        self.timers_changed = False
        self.next_prune = 0.0
        # sid -> process, for connections of other processes (a connection never moves).
        self.nodes_of: dict[str, str] = {}
        # The lock token of the step running now (None between steps): kept alive while it runs.
        self.holding: str | None = None

    @staticmethod
    def node_name(base: str) -> str:
        """A name no other running process has: the history's node name and a random part."""
        return f"{base}-{secrets.token_hex(4)}"

    def start(self) -> None:
        self.shared.beat()
        self.socketio.start_background_task(self.shared.listen, self.on_message,
                                            self.socketio.sleep)
        self.socketio.start_background_task(self.shared.keep, lambda: self.holding,
                                            self.socketio.sleep)
        log.info("sharing live state as %s with every process on the store", self.node)

    # -- the steps' guard ------------------------------------------------------------------

    @contextmanager
    def guard(self) -> Iterator[None]:
        """Around every outermost step: the common lock, the latest state in, the changes out."""
        token = secrets.token_hex(8)
        version = self.shared.begin(token, self.socketio.sleep)
        self.holding = token
        try:
            if self.version is None or version != self.version:
                self.load()
            yield
        finally:
            # Until the changes are written, what this process holds is not the shared state
            # of any version: if writing them fails, all of it is loaded again next time.
            self.version = None
            try:
                changes = self.changes()
            except Exception:
                log.exception("the shared state could not be saved: loading it all again")
                self.shared.end(token, {})
            else:
                self.version = self.shared.end(token, changes)
            finally:
                self.holding = None

    def load(self) -> None:
        """The entries other processes changed since this one's version (all of them when it
        holds none yet, or fell too far behind)."""
        version, changed, everything = self.shared.load(self.version)
        if everything:
            self.saved_misc, self.timers = None, {}
            self.signaling.center.calls = {}
            self.signaling.resumption.streams = {}
        self.timers_changed = everything
        for field, text in changed.items():
            state = None if text is None else json.loads(text)
            try:
                self.put(field, state)
            except (KeyError, TypeError, ValueError) as exc:
                log.warning("ignoring the shared entry %s: %s", field, exc)
                continue
            if field == "misc":
                self.saved_misc = state
        if self.timers_changed:
            self.timers = {f: t for f, t in self.timers.items() if t is not None}
            self.put_timers()
        # What was loaded is not this process's change: it is not saved back.
        self.signaling.center.take_touched()
        self.signaling.resumption.take_touched()
        self.version = version

    def put(self, field: str, state: dict[str, Any] | None) -> None:
        signaling = self.signaling
        kind, _, rest = field.partition(":")
        if kind == "misc":
            if state is not None:
                self.put_misc(state)
            return
        if kind == "timer":
            self.timers[field] = state
            self.timers_changed = True
            return
        app_id, _, key = rest.partition(":")
        if kind == "stream":
            signaling.resumption.put(app_id, key, state)
        else:
            signaling.center.put_entry(kind, app_id, key, state)

    def put_timers(self) -> None:
        """The timers as loaded: this process's queue made again from them."""
        now, mono = time.time(), time.monotonic()
        timers = TimerQueue()
        for saved in self.timers.values():
            if saved is not None:
                timers.schedule(Timer.from_state(saved, now), mono)
        timers.touched.clear()
        self.signaling.replace_timers(timers)

    def put_misc(self, state: dict[str, Any]) -> None:
        signaling = self.signaling
        signaling.center.put_extras(state)
        self.history.load_open_state(state["history"])
        if signaling.recorder is not None and state.get("recorder") is not None:
            signaling.recorder.load_state(state["recorder"])
        signaling.worker_sids = dict(state.get("worker_sids", {}))
        signaling.sid_workers = {sid: worker for worker, sid in signaling.worker_sids.items()}

    def changes(self) -> dict[str, str | None]:
        signaling = self.signaling
        out: dict[str, str | None] = {}

        for field, state in signaling.center.take_touched().items():
            out[field] = None if state is None else _encode(state)
        streams = signaling.resumption.streams
        for app_id, user_id in signaling.resumption.take_touched():
            field = f"stream:{app_id}:{user_id}"
            stream = streams.get((app_id, user_id))
            out[field] = None if stream is None else \
                _encode(stream.to_state(SHARED_IN_FLIGHT_KEPT))
        now = wall = time.time()
        mono = time.monotonic()
        for field, state in signaling.center.take_finished().items():
            out[field] = None if state is None else _encode(state)
            if state is None:
                self.finished_until.pop(field, None)
            else:
                self.finished_until[field] = now + RATING_WINDOW
        if now >= self.next_prune:  # finished calls past their rating window leave Redis
            self.next_prune = now + 10
            for field in [f for f, until in self.finished_until.items() if until < now]:
                out[field] = None
                del self.finished_until[field]
        for key, pending in signaling.timers.take_touched().items():
            field = "timer:" + ":".join(part or "" for part in key)
            if pending is None:
                self.timers.pop(field, None)
                out[field] = None
            else:
                timer, due = pending
                state = timer.to_state(wall + due - mono)
                self.timers[field] = state
                out[field] = _encode(state)
        misc = self.misc()
        if misc != self.saved_misc:
            out["misc"] = _encode(misc)
            self.saved_misc = misc
        return out

    def misc(self) -> dict[str, Any]:
        signaling = self.signaling
        return {
            **signaling.center.shared_extras(),
            "history": self.history.open_state(),
            # Media workers (connected to one process each) and their recordings' jobs: a
            # call's legs on any process reach its worker through the worker's process.
            "recorder": None if signaling.recorder is None else signaling.recorder.to_state(),
            "worker_sids": dict(signaling.worker_sids),
        }

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
