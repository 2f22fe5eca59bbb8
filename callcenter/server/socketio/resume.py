"""Sessions that outlive a connection: sequence numbers, the events a dropped client missed, and
the resume window (docs/protocol.md, "Resume").

Every event for one user's session is numbered (``seq``) and kept, a bounded number of them, so
that a client coming back on a new connection with its resume token and the last ``seq`` it saw
gets what it missed, in order. When a connection drops, its session is *suspended*: the user's
call waits and the others in it are told ``reconnecting``; a resume within the window takes the
session back, and the window running out ends it as a dropped connection did before.

Snapshots that are sent again on every change (``queue_stats``, ``supervisor_stats``) carry no
number and are not kept: the next one replaces what was missed.
"""

from __future__ import annotations

import secrets
from collections import deque
from dataclasses import dataclass
from typing import Any

# Events per session kept for a resume: a call's setup and a minute of queue updates fit many
# times over; a client that missed more gets what is kept and the current state from hello.
REPLAY_KEPT = 500
SNAPSHOTS = frozenset({"queue_stats", "supervisor_stats"})
# Events kept in a restart snapshot (callcenter.server.snapshot) from before the connection
# closed: a connected client has all but those in flight, or sent during a stall its heartbeat
# had not yet noticed (ping_interval + ping_timeout). Keeping all 500 of a thousand agents made a
# 190 MB snapshot, 10 s to write and 13 s to read.
IN_FLIGHT_KEPT = 50
# The same, in the state processes on one Redis share, saved again with every event a user gets:
# what a process that dies may have sent but not got out is a few milliseconds' worth.
SHARED_IN_FLIGHT_KEPT = 16


@dataclass
class Stream:
    """The numbered events of one user's session, and whether it waits for a resume."""

    session_id: str
    seq: int = 0
    # The kept events, oldest first: no deque until the first one (a deque allocates its first
    # block at once, ~0.75 KiB for every session, and an idle one may never get an event).
    sent: deque[tuple[int, str, dict[str, Any]]] | tuple[()] = ()
    suspended_sid: str | None = None  # the connection that dropped
    epoch: int = 0  # bumped on every suspension, so that an old window's timer does nothing
    suspended_seq: int = 0  # the last event sent before the connection dropped

    def to_state(self, in_flight: int = IN_FLIGHT_KEPT) -> dict[str, Any]:
        """JSON-ready, fields named: the kept events are payloads already sent as JSON. Of the
        events sent before the connection closed (now, or when it dropped), the last
        ``in_flight``; every one since."""
        closed = self.suspended_seq if self.suspended_sid is not None else self.seq
        return {"session_id": self.session_id, "seq": self.seq,
                "sent": [{"seq": seq, "event": event, "payload": payload}
                         for seq, event, payload in self.sent if seq > closed - in_flight],
                "suspended_sid": self.suspended_sid, "epoch": self.epoch,
                "suspended_seq": self.suspended_seq}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Stream:
        stream = cls(state["session_id"], int(state["seq"]),
                     suspended_sid=state.get("suspended_sid"), epoch=int(state.get("epoch", 0)),
                     suspended_seq=int(state.get("suspended_seq", 0)))
        for e in state["sent"]:
            stream.keep((int(e["seq"]), e["event"], e["payload"]))
        return stream

    def keep(self, event: tuple[int, str, dict[str, Any]]) -> None:
        """Keep a numbered event for a replay (the last REPLAY_KEPT of them)."""
        if not isinstance(self.sent, deque):
            self.sent = deque(maxlen=REPLAY_KEPT)
        self.sent.append(event)


class Resumption:
    """The streams of every logged-in user of one server process."""

    def __init__(self, window: float) -> None:
        self.window = window
        self.streams: dict[tuple[str, str], Stream] = {}
        # The streams changed since ``take_touched`` last asked (processes sharing the streams
        # save only those: callcenter.server.cluster).
        self.touched: set[tuple[str, str]] = set()

    def take_touched(self) -> set[tuple[str, str]]:
        touched, self.touched = self.touched, set()
        return touched

    def put(self, app_id: str, user_id: str, state: dict[str, Any] | None) -> None:
        """One stream as another process left it (None: it is gone)."""
        if state is None:
            self.streams.pop((app_id, user_id), None)
        else:
            self.streams[(app_id, user_id)] = Stream.from_state(state)

    def to_state(self) -> list[dict[str, Any]]:
        return [{"app_id": app_id, "user_id": user_id, **stream.to_state()}
                for (app_id, user_id), stream in self.streams.items()]

    def load_state(self, state: list[dict[str, Any]]) -> None:
        """Take back the streams ``to_state`` wrote (a restart within the window)."""
        self.streams = {(s["app_id"], s["user_id"]): Stream.from_state(s) for s in state}

    def open(self, app_id: str, user_id: str) -> Stream:
        """A new login: a new session, whose events start again from 1."""
        stream = Stream(secrets.token_urlsafe(12))
        self.streams[(app_id, user_id)] = stream
        self.touched.add((app_id, user_id))
        return stream

    def close(self, app_id: str, user_id: str) -> None:
        self.streams.pop((app_id, user_id), None)
        self.touched.add((app_id, user_id))

    def stamp(self, app_id: str, user_id: str, event: str,
              payload: dict[str, Any]) -> dict[str, Any]:
        """The payload to send, numbered and kept if it is one to replay."""
        stream = self.streams.get((app_id, user_id))
        if stream is None or event in SNAPSHOTS:
            return payload
        stream.seq += 1
        numbered = {**payload, "seq": stream.seq}
        stream.keep((stream.seq, event, numbered))
        self.touched.add((app_id, user_id))
        return numbered

    def suspend(self, app_id: str, user_id: str, sid: str) -> int | None:
        """The connection ``sid`` dropped: its session waits for a resume. The epoch to give the
        window's timer; None if resuming is off or the user has no session."""
        stream = self.streams.get((app_id, user_id))
        if stream is None or self.window <= 0:
            return None
        stream.suspended_sid = sid
        stream.suspended_seq = stream.seq
        stream.epoch += 1
        self.touched.add((app_id, user_id))
        return stream.epoch

    def suspended(self, app_id: str, user_id: str, session_id: str) -> Stream | None:
        """The user's session, if it is ``session_id`` and waits for a resume."""
        stream = self.streams.get((app_id, user_id))
        if stream is None or stream.suspended_sid is None or stream.session_id != session_id:
            return None
        return stream

    def live(self, app_id: str, user_id: str, session_id: str) -> Stream | None:
        """The user's session, if it is ``session_id`` and still on a connection: a reloaded
        page can reconnect before the server has seen the old connection go."""
        stream = self.streams.get((app_id, user_id))
        if stream is None or stream.suspended_sid is not None or stream.session_id != session_id:
            return None
        return stream

    def take_back(self, stream: Stream, last_seq: int, key: tuple[str, str] | None = None
                  ) -> list[tuple[str, dict[str, Any]]]:
        """Resume ``stream`` (of the user ``key``, app id and user id): the events after
        ``last_seq``, in order."""
        stream.suspended_sid = None
        stream.epoch += 1
        if key is not None:
            self.touched.add(key)
        return [(event, payload) for seq, event, payload in stream.sent if seq > last_seq]

    def expire(self, app_id: str, user_id: str, epoch: int) -> str | None:
        """The window of suspension ``epoch`` ran out: forget the session and return the
        connection that dropped; None if it was resumed or replaced meanwhile."""
        stream = self.streams.get((app_id, user_id))
        if stream is None or stream.suspended_sid is None or stream.epoch != epoch:
            return None
        del self.streams[(app_id, user_id)]
        self.touched.add((app_id, user_id))
        return stream.suspended_sid
