"""Socket.IO adapter: authenticates connections and turns client requests into switchboard calls.

Thin on purpose. Each request is checked for size, rate and shape (``wire``), handed to the
domain (``calls.Switchboard``), and the resulting ``Outcome`` is delivered: the reply as the
acknowledgement, notices as events to the users' sessions, events to the plugins, timers as
background tasks. Every request is answered ``{ok: true, ...}`` or ``{ok: false, error}``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import request
from flask_socketio import ConnectionRefusedError, SocketIO
from limits import parse as parse_rate
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from callcenter import wire
from callcenter.calls import CallError, EndReason, Outcome, Switchboard, Timer
from callcenter.config import Config
from callcenter.credentials import CredentialError, Identity, app_of, valid_user_id, verify
from callcenter.events import CallEvent, EventName
from callcenter.plugin_host import PluginHost
from callcenter.store import Store

log = logging.getLogger("callcenter.signaling")

# How long a kicked or logged-out connection lives after its last message, so that message
# (kicked_out, or the logout ack) is flushed before the socket closes.
CLOSE_DELAY = 0.2


class RequestError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def error(code: str, message: str) -> dict[str, Any]:
    return {"ok": False, "error": {"code": code, "message": message}}


@dataclass(frozen=True)
class Session:
    sid: str
    identity: Identity

    @property
    def app_id(self) -> str:
        return self.identity.app_id

    @property
    def user_id(self) -> str:
        return self.identity.user_id


class Signaling:
    """The Socket.IO side of one server: sessions and the request table."""

    # Every request a client may send; request X is handled by method on_X.
    REQUESTS = ("hello", "invite", "accept", "reject", "hangup", "signal", "media_state",
                "switch_type", "logout")

    def __init__(self, socketio: SocketIO, config: Config, store: Store,
                 switchboard: Switchboard, plugins: PluginHost) -> None:
        self.socketio = socketio
        self.config = config
        self.store = store
        self.switchboard = switchboard
        self.plugins = plugins
        self.sessions: dict[str, Session] = {}
        self.rate = parse_rate(config.server.rate_limit)
        self.limiter = MovingWindowRateLimiter(MemoryStorage())
        self.requests: dict[str, Callable[[Session, Any], dict[str, Any]]] = {
            name: getattr(self, f"on_{name}") for name in self.REQUESTS}
        socketio.on_event("connect", self.on_connect)
        socketio.on_event("disconnect", self.on_disconnect)
        socketio.on_event("*", self.on_request)

    # -- connection ------------------------------------------------------------------------

    def authenticate(self, auth: Any) -> Identity:
        if not isinstance(auth, dict) or not all(
                isinstance(auth.get(k), str) for k in ("appId", "userID", "userSig")):
            raise CredentialError("AUTH_REQUIRED", "auth must be {appId, userID, userSig} strings")
        app = self.config.app(auth["appId"])
        if app is None:
            raise CredentialError("UNKNOWN_APP", "no such app")
        if not valid_user_id(auth["userID"]):
            raise CredentialError("BAD_USER_ID", "user id must match [A-Za-z0-9_-], 1 to 32 chars")
        claimed = app_of(auth["userSig"])
        if claimed is not None and claimed != app.id:
            raise CredentialError("AUTH_MISMATCH", "the credential is for another app")
        identity = verify(auth["userSig"], app.id, app.secret)
        if identity.user_id != auth["userID"]:
            raise CredentialError("AUTH_MISMATCH", "the credential is for another user")
        return identity

    def on_connect(self, auth: Any = None) -> None:
        try:
            identity = self.authenticate(auth)
        except CredentialError as exc:
            log.info("connection refused: %s", exc.code)
            raise ConnectionRefusedError(
                exc.message, {"code": exc.code, "message": exc.message}) from None
        sid = request.sid
        session = Session(sid, identity)
        self.sessions[sid] = session
        previous = self.store.bind_session(identity.app_id, identity.user_id, sid)
        log.info("login %s/%s (%s) on %s", identity.app_id, identity.user_id, identity.role, sid)
        if previous is not None and previous != sid:
            self.kick(previous, session)

    def kick(self, old_sid: str, new: Session) -> None:
        """The user logged in again: end the old connection's call, tell it, close it."""
        self.sessions.pop(old_sid, None)  # its requests are refused from now on
        self.socketio.emit("kicked_out", {"reason": "login_elsewhere"}, to=old_sid)
        call_id = self.store.line_of(new.app_id, new.user_id)
        self.deliver(new.app_id, self.switchboard.leave_all(
            new.app_id, new.user_id, EndReason.KICKED_OUT))
        self.plugins.call_event(CallEvent(EventName.KICKED_OUT, new.app_id, call_id, new.user_id,
                                          time.time(), {"reason": "login_elsewhere"}))
        self.close_later(old_sid)

    def close_later(self, sid: str) -> None:
        def close() -> None:
            self.socketio.sleep(CLOSE_DELAY)
            self.socketio.server.disconnect(sid)

        self.socketio.start_background_task(close)

    def on_disconnect(self, reason: Any = None) -> None:
        sid = request.sid
        self.limiter.clear(self.rate, "request", sid)
        session = self.sessions.pop(sid, None)
        if session is None:
            return
        log.info("logout %s/%s (disconnected)", session.app_id, session.user_id)
        if self.store.unbind_session(session.app_id, session.user_id, sid):
            self.deliver(session.app_id, self.switchboard.leave_all(
                session.app_id, session.user_id, EndReason.DISCONNECTED))

    # -- requests --------------------------------------------------------------------------

    def on_request(self, event: str, *args: Any) -> dict[str, Any]:
        """Every client event arrives here; the answer is the acknowledgement."""
        try:
            return {"ok": True, **self.handle(event, args)}
        except (RequestError, CallError) as exc:
            return error(exc.code, exc.message)
        except wire.BadRequest as exc:
            return error("BAD_REQUEST", exc.message)
        except Exception:
            log.exception("request %r failed", event)
            return error("INTERNAL", "the server failed; the request was not carried out")

    def handle(self, event: str, args: tuple[Any, ...]) -> dict[str, Any]:
        sid = request.sid
        if not self.limiter.hit(self.rate, "request", sid):
            raise RequestError("RATE_LIMITED", f"at most {self.config.server.rate_limit}")
        session = self.sessions.get(sid)
        if session is None:
            raise RequestError("NOT_LOGGED_IN", "this connection is no longer logged in")
        handler = self.requests.get(event)
        if handler is None:
            raise RequestError("UNKNOWN_EVENT", f"no such request: {str(event)[:64]!r}")
        if len(args) > 1:
            raise RequestError("BAD_REQUEST", "a request carries one payload object")
        payload = args[0] if args else None
        if wire.encoded_size(payload) > self.config.server.max_message_bytes:
            raise RequestError("PAYLOAD_TOO_LARGE",
                               f"at most {self.config.server.max_message_bytes} bytes")
        return handler(session, payload)

    def on_hello(self, session: Session, payload: Any) -> dict[str, Any]:
        wire.parse(wire.Empty, payload)
        limits = self.switchboard.limits
        return {
            "userID": session.user_id, "appId": session.app_id,
            "role": session.identity.role.value,
            "iceServers": self.plugins.ice_servers(session.app_id, session.user_id),
            "limits": {"groupMax": limits.group_max, "maxTimeout": limits.max_timeout,
                       "defaultTimeout": limits.default_timeout},
            "missedCalls": self.switchboard.take_missed(session.app_id, session.user_id),
        }

    def on_invite(self, session: Session, payload: Any) -> dict[str, Any]:
        req = wire.parse(wire.Invite, payload)
        out = self.switchboard.invite(session.app_id, session.user_id, req.userIDList, req.type,
                                      req.timeout, req.group, req.data)
        # The ack must reach the caller before line_busy/no_resp/call_end about this call.
        self.socketio.start_background_task(self.deliver, session.app_id, out)
        return out.reply

    def on_accept(self, session: Session, payload: Any) -> dict[str, Any]:
        req = wire.parse(wire.CallRef, payload)
        return self.deliver(session.app_id, self.switchboard.accept(
            session.app_id, session.user_id, req.callId))

    def on_reject(self, session: Session, payload: Any) -> dict[str, Any]:
        req = wire.parse(wire.CallRef, payload)
        return self.deliver(session.app_id, self.switchboard.reject(
            session.app_id, session.user_id, req.callId))

    def on_hangup(self, session: Session, payload: Any) -> dict[str, Any]:
        req = wire.parse(wire.CallRef, payload)
        return self.deliver(session.app_id, self.switchboard.hangup(
            session.app_id, session.user_id, req.callId))

    def on_signal(self, session: Session, payload: Any) -> dict[str, Any]:
        req = wire.parse(wire.Signal, payload)
        self.switchboard.check_relay(session.app_id, session.user_id, req.callId, req.to)
        self.emit_to_user(session.app_id, req.to, "signal", {
            "callId": req.callId, "from": session.user_id, "kind": req.kind,
            "payload": req.payload})
        return {}

    def on_media_state(self, session: Session, payload: Any) -> dict[str, Any]:
        req = wire.parse(wire.MediaState, payload)
        state = {k: v for k, v in (("audio", req.audio), ("video", req.video)) if v is not None}
        return self.deliver(session.app_id, self.switchboard.media_state(
            session.app_id, session.user_id, req.callId, state))

    def on_switch_type(self, session: Session, payload: Any) -> dict[str, Any]:
        req = wire.parse(wire.SwitchType, payload)
        return self.deliver(session.app_id, self.switchboard.switch_type(
            session.app_id, session.user_id, req.callId, req.type))

    def on_logout(self, session: Session, payload: Any) -> dict[str, Any]:
        wire.parse(wire.Empty, payload)
        self.sessions.pop(session.sid, None)
        self.store.unbind_session(session.app_id, session.user_id, session.sid)
        self.deliver(session.app_id, self.switchboard.leave_all(
            session.app_id, session.user_id, EndReason.LOGOUT))
        self.close_later(session.sid)
        return {}

    # -- delivery --------------------------------------------------------------------------

    def emit_to_user(self, app_id: str, user_id: str, event: str, payload: dict[str, Any]) -> None:
        sid = self.store.session_of(app_id, user_id)
        if sid is not None:
            self.socketio.emit(event, payload, to=sid)

    def deliver(self, app_id: str, out: Outcome) -> dict[str, Any]:
        for notice in out.notices:
            self.emit_to_user(app_id, notice.to, notice.event, notice.payload)
        for timer in out.timers:
            self.socketio.start_background_task(self.run_timer, timer)
        for event in out.events:
            self.plugins.call_event(event)
        return out.reply

    def run_timer(self, timer: Timer) -> None:
        self.socketio.sleep(timer.delay)
        try:
            self.deliver(timer.app_id, self.switchboard.expire_invite(
                timer.app_id, timer.call_id, timer.user_id))
        except Exception:
            log.exception("ring timer for %s in call %s failed", timer.user_id, timer.call_id)
