"""A graceful restart on the embedded memory store: the live state, kept in a file between two
processes (docs/deploy.md, "Restarts with the embedded store").

On SIGTERM with resuming on (``[signaling] resume_window`` > 0), serve.py stops taking requests,
``capture``s everything the process holds in memory (the store's sessions, lines, calls and
missed calls; the contact center's agents, queued calls, recently finished calls and handle
times; the resume streams with their kept events; every timer with its wall-clock due time; the
history rows still open) and ``write``s it to ``[store] snapshot``, then closes the connections
without ending a call. The next start ``load``s it if it is younger than the resume window,
``restore``s it (the history keeps those calls open), and every session that was connected
waits for its client to resume, as after a dropped connection. Each domain object encodes itself
(``to_state``/``from_state``, fields named, so that the next version of the code can read what
this one wrote); this module only puts the parts together and does the file's I/O.

A crash (SIGKILL, a power cut) writes nothing: the next start closes the calls as interrupted.
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from callcenter.store import MemoryStore

if TYPE_CHECKING:
    from callcenter.server.app import Runtime

log = logging.getLogger("callcenter.server.snapshot")

KIND = "callcenter.snapshot"
# Bumped when a part changes so that the new code cannot read it; an older or newer file is then
# ignored (start-up proceeds as after a crash).
FORMAT = 1


def supported(runtime: Runtime) -> bool:
    """Only the embedded store's state lives and dies with the process (a shared store keeps
    its own)."""
    return isinstance(runtime.signaling.store, MemoryStore)


def capture(runtime: Runtime) -> dict[str, Any]:
    """The process's live state as JSON-ready data, named part by part."""
    signaling = runtime.signaling
    assert isinstance(signaling.store, MemoryStore)
    return {
        "kind": KIND, "format": FORMAT, "written_at": time.time(),
        "store": signaling.store.to_state(),
        "contact_center": signaling.center.to_state(),
        "streams": signaling.resumption.to_state(),
        "timers": signaling.timers_state(),
        "sessions": signaling.sessions_state(),
        "history": runtime.history.open_state(),
    }


def encode(state: dict[str, Any]) -> str:
    """As JSON text; raises (TypeError, ValueError) if something in it is not JSON."""
    return json.dumps(state, separators=(",", ":"), allow_nan=False)


def write(path: Path, text: str) -> None:
    """Replace ``path`` atomically: a reader sees the old file or the whole new one, never a
    part. Readable by the server's user only (it holds customers' details and calls)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def load(path: Path, window: float) -> dict[str, Any] | None:
    """The snapshot at ``path`` if one is there and can be used: written by this format, less
    than ``window`` seconds ago. One that cannot be used is ignored with one log line, and
    removed; one that can be is removed by ``discard`` once the start has got past the database
    (a snapshot is good for one start, but a start that fails before it has used it leaves it to
    the next)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        log.warning("ignoring the restart snapshot %s: cannot read it (%s); calls left open are "
                    "closed as interrupted", path, exc.strerror or exc)
        return None
    try:
        state = json.loads(text)
        if not isinstance(state, dict) or state.get("kind") != KIND:
            raise ValueError("not a callcenter snapshot")
        written_at = float(state["written_at"])
    except (ValueError, KeyError, TypeError) as exc:
        path.unlink(missing_ok=True)
        log.warning("ignoring the restart snapshot %s: unreadable (%s); calls left open are "
                    "closed as interrupted", path, exc)
        return None
    if state.get("format") != FORMAT:
        path.unlink(missing_ok=True)
        log.warning("ignoring the restart snapshot %s: format %r, this version reads %d; calls "
                    "left open are closed as interrupted", path, state.get("format"), FORMAT)
        return None
    age = time.time() - written_at
    if not 0 <= age < window:
        path.unlink(missing_ok=True)
        log.warning("ignoring the restart snapshot %s: written %.1f s ago, the resume window is "
                    "%g s; calls left open are closed as interrupted", path, age, window)
        return None
    return state


def discard(path: Path | None) -> None:
    """The snapshot was taken back: the next start must not take it back again."""
    if path is not None:
        path.unlink(missing_ok=True)


def live_calls(state: dict[str, Any] | None) -> frozenset[tuple[str, str]]:
    """(app id, call id) of every call the snapshot brings back: the history keeps them open."""
    if state is None:
        return frozenset()
    calls = {(c["app_id"], c["id"]) for c in state["store"].get("calls", [])}
    calls |= {(c["call"]["app_id"], c["call"]["id"])
              for c in state["contact_center"].get("calls", [])}
    return frozenset(calls)


def restore(runtime: Runtime, state: dict[str, Any]) -> frozenset[tuple[str, str]]:
    """Take the snapshot's calls, queues and agents back into this (new, empty) process, before
    the history is opened; returns the calls taken back (app id, call id), which the history
    keeps open. ``resume_sessions`` follows once the plugins have started."""
    signaling = runtime.signaling
    assert isinstance(signaling.store, MemoryStore)
    signaling.store.load_state(state["store"])
    dropped = signaling.center.restore(state["contact_center"])
    for app_id, call_id in dropped:
        log.warning("call %s/%s waited in a queue no longer configured: not taken back",
                    app_id, call_id)
    kept = live_calls(state) - set(dropped)
    runtime.history.load_open_state([row for row in state.get("history", [])
                                     if (row["app_id"], row["call_id"]) in kept])
    return kept


def forget(runtime: Runtime) -> None:
    """Undo a ``restore`` that failed half-way: the store and the contact center start empty."""
    assert isinstance(runtime.signaling.store, MemoryStore)
    runtime.signaling.store.load_state({})
    runtime.signaling.center.restore({})
    runtime.history.load_open_state([])


def resume_sessions(runtime: Runtime, state: dict[str, Any] | None) -> None:
    """The sessions' streams and the timers come back; every session that was connected waits
    for its client to resume. Nothing without a snapshot."""
    if state is None:
        return
    written_at = float(state["written_at"])
    suspended = runtime.signaling.restore(state["streams"], state["timers"], state["sessions"],
                                          written_at)
    log.info("took back the live state of the last stop, written %.1f s ago: %d calls, "
             "%d sessions waiting to resume", time.time() - written_at,
             len(live_calls(state)), suspended)
