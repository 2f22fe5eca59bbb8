"""An asyncio client for the callcenter signaling protocol (docs/protocol.md).

Integration tests and load benchmarks drive a real server with it, often many clients in one
process, so it is plain asyncio on `socketio.AsyncClient` (no eventlet) and keeps every server
event it receives: a test can then wait for an event that may already have arrived, or prove that
none did.

Two ways to send a request:
- `request(event, payload)` returns the raw ack and never raises on `ok: false`, because tests of
  bad input need to see the exact error;
- the convenience methods (`call`, `accept`, ...) raise `CallClientError` on `ok: false`, because a
  flow that goes wrong should stop the test at the step that failed.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import socketio
import socketio.exceptions

__all__ = ["CallClient", "CallClientError", "ReceivedEvent", "AUDIO_CALL", "VIDEO_CALL"]

AUDIO_CALL = 1
VIDEO_CALL = 2

#: A listener gets every server event (name, payload) as it arrives; it may be a coroutine function.
Listener = Callable[[str, Any], Awaitable[None] | None]


class CallClientError(Exception):
    """A refused connection or an `ok: false` ack, carrying the protocol's error code.

    Client-side failures use codes of their own: `TIMEOUT` (no ack in time), `NOT_CONNECTED`,
    `CONNECT_FAILED` (refused without a protocol error), `BAD_ACK` (an ack that is not one object).
    """

    def __init__(self, code: str, message: str = "") -> None:
        super().__init__(f"{code}: {message}" if message else code)
        self.code = code
        self.message = message


@dataclass
class ReceivedEvent:
    """One server event as received; `consumed` once `next_event` has handed it out."""

    name: str
    data: Any
    at: float = field(default_factory=time.monotonic)
    consumed: bool = False

    def matches(self, name: str, match: dict[str, Any]) -> bool:
        if self.name != name:
            return False
        if not match:
            return True
        if not isinstance(self.data, dict):
            return False
        return all(key in self.data and self.data[key] == value for key, value in match.items())


def _error_from_connect_data(data: Any) -> CallClientError:
    """Turn Socket.IO's connect_error data into a CallClientError.

    The server refuses with `{code, message}`; python-socketio may hand it over as is or wrapped as
    `{"message": ..., "data": {code, message}}`, depending on how the server raised it.
    """
    if isinstance(data, dict):
        inner = data.get("data")
        if isinstance(inner, dict) and "code" in inner:
            return CallClientError(str(inner["code"]), str(inner.get("message", "")))
        if "code" in data:
            return CallClientError(str(data["code"]), str(data.get("message", "")))
        return CallClientError("CONNECT_FAILED", str(data.get("message", data)))
    return CallClientError("CONNECT_FAILED", str(data))


class CallClient:
    """One user's signaling connection.

    Every server event is appended to `events` (in arrival order) and handed out once by
    `next_event`, so the order in which a test waits for events does not matter.
    """

    def __init__(self, server_url: str, app_id: str = "demo", *,
                 max_events: int = 10_000) -> None:
        """`max_events` bounds the history so a long benchmark run neither grows without limit
        nor slows `next_event` down: beyond it, handed-out events are dropped, and if that is not
        enough, the oldest others, down to half the bound."""
        self.server_url = server_url
        self.max_events = max_events
        self.app_id = app_id
        self.user_id: str | None = None
        self.hello_ack: dict[str, Any] | None = None
        self.events: list[ReceivedEvent] = []
        self.connect_error: CallClientError | None = None
        self.disconnect_reason: str | None = None
        self._listeners: list[Listener] = []
        self._changed = asyncio.Condition()
        self._disconnected = asyncio.Event()
        self._pending: set[asyncio.Future[Any]] = set()
        # Resume (docs/protocol.md): the token of this session from the hello ack, and the seq of
        # the last event received, which the server numbers and replays after a resume.
        self.resume_token: str | None = None
        self.last_seq = 0
        self._auth: dict[str, Any] | None = None
        # reconnection off: a kicked-out client must stay out, or it would kick its successor.
        self.sio = socketio.AsyncClient(reconnection=False, logger=False, engineio_logger=False)
        self.sio.on("*", self._on_any)
        self.sio.on("connect_error", self._on_connect_error)
        self.sio.on("disconnect", self._on_disconnect)

    # -- connection -----------------------------------------------------------------------------

    async def login(self, user_id: str, user_sig: str, *, auth: Any = ...,
                    timeout: float = 5) -> dict[str, Any]:
        """Connect as `user_id` and send `hello`; return the hello ack.

        `auth` overrides the Socket.IO auth object (tests of malformed auth pass their own, or
        None for none at all). Raises CallClientError with the server's code when refused.
        """
        self.user_id = user_id
        if auth is ...:
            auth = {"appId": self.app_id, "userID": user_id, "userSig": user_sig}
        self._auth = auth if isinstance(auth, dict) else None
        self.resume_token, self.last_seq = None, 0
        return await self._connect(auth, timeout)

    async def resume(self, timeout: float = 5) -> dict[str, Any]:
        """After the connection dropped, connect again with the resume token and the last seq
        seen; return the hello ack (`resumed`: whether the session, and its call, were taken
        back). The events missed meanwhile arrive after it, in order."""
        if self._auth is None or self.resume_token is None:
            raise CallClientError("NOT_LOGGED_IN", "resume needs an earlier login")
        if self.sio.connected:
            raise CallClientError("ALREADY_CONNECTED", "the connection has not dropped")
        return await self._connect({**self._auth, "resumeToken": self.resume_token,
                                    "lastSeq": self.last_seq}, timeout)

    async def _connect(self, auth: Any, timeout: float) -> dict[str, Any]:
        self.connect_error = None
        self._disconnected.clear()
        try:
            await self.sio.connect(self.server_url, auth=auth, transports=["websocket"],
                                   wait_timeout=timeout)
        except socketio.exceptions.ConnectionError as exc:
            # the connect_error handler has run before connect() raises
            if self.connect_error is not None:
                raise self.connect_error from exc
            raise CallClientError("CONNECT_FAILED", str(exc)) from exc
        try:
            self.hello_ack = await self._checked("hello", {}, timeout=timeout)
        except CallClientError:
            await self.close()
            raise
        self.resume_token = self.hello_ack.get("resumeToken")
        return self.hello_ack

    @property
    def connected(self) -> bool:
        return self.sio.connected

    @property
    def ice_servers(self) -> list[dict[str, Any]]:
        """The hello ack's iceServers (empty before login or when the server gives none)."""
        return list((self.hello_ack or {}).get("iceServers") or [])

    async def wait_disconnected(self, timeout: float = 5) -> None:
        """Wait until the server (or we) closed the connection; raises TimeoutError otherwise."""
        await asyncio.wait_for(self._disconnected.wait(), timeout)

    async def close(self) -> None:
        """Disconnect without logging out (the server sees a dropped connection). Idempotent."""
        try:
            if self.sio.connected or self.sio.eio.state == "connected":
                await self.sio.disconnect()
        finally:
            self._disconnected.set()

    # -- requests -------------------------------------------------------------------------------

    async def request(self, event: str, payload: Any = None, timeout: float = 5) -> Any:
        """Send one request and return its ack as received (normally a dict), even when not ok.

        `payload=None` sends no payload at all; a tuple is sent as several arguments (to test
        malformed requests). Raises CallClientError only for TIMEOUT, or NOT_CONNECTED (also
        at once when the connection drops while the ack is awaited, rather than at the timeout).
        """
        ack: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

        def on_ack(*args: Any) -> None:
            if not ack.done():
                ack.set_result(args[0] if len(args) == 1 else (list(args) if args else None))

        self._pending.add(ack)
        try:
            await self.sio.emit(event, payload, callback=on_ack)
            return await asyncio.wait_for(ack, timeout)
        except TimeoutError as exc:
            raise CallClientError("TIMEOUT", f"no ack for {event!r} within {timeout} s") from exc
        except (socketio.exceptions.BadNamespaceError,
                socketio.exceptions.DisconnectedError) as exc:
            raise CallClientError("NOT_CONNECTED", str(exc)) from exc
        finally:
            self._pending.discard(ack)

    async def _checked(self, event: str, payload: dict[str, Any],
                       timeout: float = 5) -> dict[str, Any]:
        ack = await self.request(event, payload, timeout=timeout)
        if not isinstance(ack, dict):
            raise CallClientError("BAD_ACK", f"{event}: {ack!r}")
        if not ack.get("ok"):
            raise self._ack_error(ack)
        return ack

    @staticmethod
    def _ack_error(ack: Any) -> CallClientError:
        error = ack.get("error") if isinstance(ack, dict) else None
        if isinstance(error, dict):
            return CallClientError(str(error.get("code")), str(error.get("message", "")))
        return CallClientError("BAD_ACK", repr(ack))

    async def invite(self, user_ids: list[str], type: int = VIDEO_CALL, *,
                     timeout: int | None = None, group: bool | None = None,
                     data: dict[str, Any] | None = None) -> dict[str, Any]:
        """Send `invite` and return the ack (`callId`)."""
        payload: dict[str, Any] = {"userIDList": list(user_ids), "type": type}
        if timeout is not None:
            payload["timeout"] = timeout
        if group is not None:
            payload["group"] = group
        if data is not None:
            payload["data"] = data
        return await self._checked("invite", payload)

    async def call(self, user_id: str, type: int = VIDEO_CALL, timeout: int | None = 30,
                   data: dict[str, Any] | None = None) -> str:
        """Start a 1:1 call (the SDK's `call`); return the call id."""
        ack = await self.invite([user_id], type, timeout=timeout, data=data)
        return str(ack["callId"])

    async def group_call(self, user_ids: list[str], type: int = VIDEO_CALL,
                         timeout: int | None = 30, data: dict[str, Any] | None = None) -> str:
        """Start a group call (the SDK's `groupCall`); return the call id."""
        ack = await self.invite(user_ids, type, timeout=timeout, group=True, data=data)
        return str(ack["callId"])

    async def accept(self, call_id: str) -> dict[str, Any]:
        """Accept an invitation; the ack's `participants` are who this user must send offers to."""
        return await self._checked("accept", {"callId": call_id})

    async def reject(self, call_id: str) -> dict[str, Any]:
        return await self._checked("reject", {"callId": call_id})

    async def hangup(self, call_id: str) -> dict[str, Any]:
        return await self._checked("hangup", {"callId": call_id})

    async def signal(self, call_id: str, to: str, kind: str, payload: Any) -> dict[str, Any]:
        """Relay an offer/answer/candidate to one joined participant."""
        return await self._checked("signal", {"callId": call_id, "to": to, "kind": kind,
                                              "payload": payload})

    async def media_state(self, call_id: str, *, audio: bool | None = None,
                          video: bool | None = None) -> dict[str, Any]:
        payload: dict[str, Any] = {"callId": call_id}
        if audio is not None:
            payload["audio"] = audio
        if video is not None:
            payload["video"] = video
        return await self._checked("media_state", payload)

    async def media_flow(self, call_id: str, user_id: str, flowing: bool,
                         silent_for: float | None = None) -> dict[str, Any]:
        """Report that media from `user_id` stopped arriving `silent_for` seconds ago
        (`flowing` False) or arrives again (the SDK does this by itself from its byte counters;
        docs/protocol.md)."""
        payload: dict[str, Any] = {"callId": call_id, "userID": user_id, "flowing": flowing}
        if silent_for is not None:
            payload["silentFor"] = silent_for
        return await self._checked("media_flow", payload)

    async def switch_type(self, call_id: str, type: int) -> dict[str, Any]:
        return await self._checked("switch_type", {"callId": call_id, "type": type})

    async def logout(self, timeout: float = 5) -> dict[str, Any]:
        """Log out (ends this user's calls) and wait for the server to disconnect us."""
        ack = await self._checked("logout", {})
        try:
            await self.wait_disconnected(timeout)
        finally:
            await self.close()
        return ack

    # -- contact center (docs/protocol.md, "Contact center") -------------------------------------

    async def enqueue(self, queue: str, type: int = VIDEO_CALL,
                      attributes: dict[str, str] | None = None) -> dict[str, Any]:
        """As a customer, join `queue`; return the ack (`callId`, `position`, `estimatedWait`).
        Leaving the queue is `hangup(callId)`."""
        payload: dict[str, Any] = {"queue": queue, "type": type}
        if attributes is not None:
            payload["attributes"] = attributes
        return await self._checked("enqueue", payload)

    async def callback(self, call_id: str, contact: dict[str, Any]) -> dict[str, Any]:
        """As a waiting customer, ask to be called back instead of waiting (keeping the place
        in line); `contact`: name, email and/or phone, note."""
        return await self._checked("callback", {"callId": call_id, "contact": contact})

    async def rate(self, call_id: str, rating: int) -> dict[str, Any]:
        """As the customer of an ended call, rate it 1-5."""
        return await self._checked("rate", {"callId": call_id, "rating": rating})

    async def agent_status(self, status: str, reason: str | None = None) -> dict[str, Any]:
        """As an agent, choose `available`, `break` (with a reason code) or `offline`; the ack's
        `agent` is the agent's snapshot."""
        payload: dict[str, Any] = {"status": status}
        if reason is not None:
            payload["reason"] = reason
        return await self._checked("agent_status", payload)

    async def agent_state(self) -> dict[str, Any]:
        """As an agent, get `agent` (snapshot), `queues` and `callsToday`."""
        return await self._checked("agent_state", {})

    async def wrap_up(self, call_id: str, disposition: str | None = None,
                      notes: str | None = None) -> dict[str, Any]:
        """As an agent in wrap-up after `call_id`, record the outcome and end wrap-up now."""
        payload: dict[str, Any] = {"callId": call_id}
        if disposition is not None:
            payload["disposition"] = disposition
        if notes is not None:
            payload["notes"] = notes
        return await self._checked("wrap_up", payload)

    async def hold(self, call_id: str) -> dict[str, Any]:
        """Put the other side of `call_id` on hold (as a queue call's agent: the customer)."""
        return await self._checked("hold", {"callId": call_id})

    async def unhold(self, call_id: str) -> dict[str, Any]:
        return await self._checked("unhold", {"callId": call_id})

    async def transfer(self, call_id: str, *, to_agent: str | None = None,
                       to_queue: str | None = None, note: str = "") -> dict[str, Any]:
        """As the agent of a queue call, hand its customer to another agent or to a queue."""
        payload: dict[str, Any] = {"callId": call_id, "note": note}
        if to_agent is not None:
            payload["toAgent"] = to_agent
        if to_queue is not None:
            payload["toQueue"] = to_queue
        return await self._checked("transfer", payload)

    async def consult(self, call_id: str, to_agent: str, note: str = "") -> dict[str, Any]:
        """As the agent of a queue call: the customer on hold, ring a colleague to talk first."""
        return await self._checked("consult", {"callId": call_id, "toAgent": to_agent,
                                               "note": note})

    async def consult_cancel(self, call_id: str) -> dict[str, Any]:
        return await self._checked("consult_cancel", {"callId": call_id})

    async def consult_complete(self, call_id: str) -> dict[str, Any]:
        return await self._checked("consult_complete", {"callId": call_id})

    async def conference(self, call_id: str) -> dict[str, Any]:
        return await self._checked("conference", {"callId": call_id})

    async def transfer_targets(self) -> dict[str, Any]:
        """As an agent: the app's other agents (with their state) and its queues."""
        return await self._checked("transfer_targets", {})

    # -- events ---------------------------------------------------------------------------------

    async def supervisor_watch(self) -> dict[str, Any]:
        """Open the live view (supervisors): the snapshot now; ``supervisor_stats`` follow."""
        return await self._checked("supervisor_watch", {})

    def add_listener(self, listener: Listener) -> None:
        """Call `listener(name, data)` for every server event (used by callcenter.client.media)."""
        self._listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    async def next_event(self, name: str, timeout: float = 5, **match: Any) -> dict[str, Any]:
        """Return the oldest not yet handed out event `name` whose payload has the given fields.

        Waits up to `timeout` seconds for it to arrive; raises TimeoutError (listing what did
        arrive) otherwise.
        """
        deadline = time.monotonic() + timeout
        async with self._changed:
            while True:
                for event in self.events:
                    if not event.consumed and event.matches(name, match):
                        event.consumed = True
                        return event.data
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    seen = [(e.name, e.data) for e in self.events if not e.consumed]
                    raise TimeoutError(f"{self.user_id}: no {name} {match} within {timeout} s; "
                                       f"unconsumed events: {seen}")
                try:
                    await asyncio.wait_for(self._changed.wait(), remaining)
                except TimeoutError:
                    pass

    def pending(self, name: str | None = None, **match: Any) -> list[ReceivedEvent]:
        """Events not yet handed out (optionally only those named `name` matching `match`)."""
        return [e for e in self.events
                if not e.consumed and (name is None or e.matches(name, match))]

    async def _on_any(self, name: str, *args: Any) -> None:
        data = args[0] if len(args) == 1 else (list(args) if args else None)
        if isinstance(data, dict) and isinstance(data.get("seq"), int):
            # The event's number is the connection's business, not the event's content.
            self.last_seq = max(self.last_seq, data.pop("seq"))
        self.events.append(ReceivedEvent(name, data))
        if len(self.events) > self.max_events:
            self.events = [e for e in self.events if not e.consumed][-(self.max_events // 2):]
        async with self._changed:
            self._changed.notify_all()
        for listener in list(self._listeners):
            result = listener(name, data)
            if inspect.isawaitable(result):
                await result

    def _on_connect_error(self, data: Any = None) -> None:
        self.connect_error = _error_from_connect_data(data)

    def _on_disconnect(self, reason: Any = None) -> None:
        self.disconnect_reason = str(reason) if reason is not None else None
        self._disconnected.set()
        for ack in self._pending:
            if not ack.done():
                ack.set_exception(CallClientError("NOT_CONNECTED", "connection closed before ack"))

    async def __aenter__(self) -> CallClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
