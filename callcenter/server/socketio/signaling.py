"""Socket.IO adapter: authenticates connections and turns client requests into switchboard calls.

Thin on purpose. Each request is checked for size, rate and shape (``wire``), handed to the
domain (``calls.Switchboard``), and the resulting ``Outcome`` is delivered: the reply as the
acknowledgement, notices as events to the users' sessions, events to the plugins, timers as
background tasks. Every request is answered ``{ok: true, ...}`` or ``{ok: false, error}``.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from flask_socketio import SocketIO
from socketio.exceptions import ConnectionRefusedError

from callcenter.config import Config
from callcenter.domain import access
from callcenter.domain.calls import EndReason, Outcome, Switchboard
from callcenter.domain.contact_center import ContactCenter
from callcenter.domain.credentials import (
    SHARED,
    Identity,
    Role,
    app_of,
    mint_resume,
    valid_user_id,
    verify,
    verify_resume,
)
from callcenter.domain.errors import Refused
from callcenter.domain.events import CallEvent, EventName
from callcenter.domain.monitoring import Monitoring
from callcenter.domain.store import Store, StoreUnavailable
from callcenter.domain.timers import Timer, TimerKey, TimerKind, TimerQueue
from callcenter.domain.usersig import looks_like_usersig, verify_usersig
from callcenter.history.records import History
from callcenter.hooks.host import PluginHost
from callcenter.server.cluster import LocalRelay
from callcenter.server.http.metrics import Metrics
from callcenter.server.http.rate_limit import MovingWindow
from callcenter.server.socketio import wire
from callcenter.server.socketio.resume import REPLAY_KEPT, Resumption, Stream

log = logging.getLogger("callcenter.server.socketio.signaling")
calls_log = logging.getLogger("callcenter.calls")

# How long a kicked or logged-out connection lives after its last message, so that message
# (kicked_out, or the logout ack) is flushed before the socket closes.
CLOSE_DELAY = 0.2
# While the store is out of reach, work that must still happen (a dropped connection's logout, a
# timer) is tried again this often, for at most STORE_RETRY_FOR seconds.
STORE_RETRY_EVERY = 1.0
STORE_RETRY_FOR = 600.0
# A notice to many users (queue_stats to every agent) goes out EMIT_SLICE recipients at a time,
# EMIT_PAUSE seconds apart (see deliver).
EMIT_SLICE = 50
EMIT_PAUSE = 0.005


def error(code: str, message: str) -> dict[str, Any]:
    return {"ok": False, "error": {"code": code, "message": message}}


@dataclass
class Session:
    sid: str
    identity: Identity
    # The session this connection carries on (resume.py) and, when it took one back, the events
    # it missed, sent after the hello ack; until they are, the session's new events queue
    # behind them (a new offer must not arrive before the missed cancel of the old one).
    stream_id: str = ""
    resumed: bool | None = None  # None: no resume asked
    missed: list[tuple[str, dict[str, Any]]] | None = None
    replaying: bool = False

    @property
    def app_id(self) -> str:
        return self.identity.app_id

    @property
    def user_id(self) -> str:
        return self.identity.user_id


class Signaling:
    """The Socket.IO side of one server: sessions and the request table."""

    # Every request a client may send (request X is handled by method on_X), and which role may
    # send it: the table of callcenter.domain.access, also written out in docs/protocol.md.
    REQUESTS = tuple(access.SOCKET)
    TICK_SECONDS = 1.0

    def __init__(self, socketio: SocketIO, config: Config, store: Store,
                 switchboard: Switchboard, center: ContactCenter, plugins: PluginHost,
                 history: History, metrics: Metrics) -> None:
        self.socketio = socketio
        self.history = history
        self.metrics = metrics
        self.config = config
        self.store = store
        self.switchboard = switchboard
        self.center = center
        self.monitoring = Monitoring(center)
        self.plugins = plugins
        self.clock = switchboard.clock
        # How events reach connections: this process's own, or (callcenter.server.cluster)
        # those of other processes on the same store too.
        self.relay: LocalRelay = LocalRelay(socketio)
        self.enqueue_limiter = MovingWindow(config.contact_center.enqueue_rate)
        self.recorder = center.recorder
        # Signs the credentials of media workers shared by every app; without one in the config,
        # a secret of this process's own, for the child workers serve starts.
        self.shared_worker_secret = (config.recording.shared_worker_secret
                                     or secrets.token_urlsafe(32))
        # Media worker connections: worker id <-> Socket.IO session id.
        self.worker_sids: dict[str, str] = {}
        self.sid_workers: dict[str, str] = {}
        self.sessions: dict[str, Session] = {}
        self.resumption = Resumption(config.signaling.resume_window)
        # Every timer of every call and agent, fired by one task (started with the first).
        self.timers = TimerQueue()
        self._timer_wake: Any = None
        # A graceful restart (callcenter.server.snapshot): while `restarting`, new connections
        # are refused and the tick stops; the snapshot is taken once no outcome is being
        # delivered (`delivering`: a step's timers are set at the end of its delivery, which
        # may yield, or run in a background task after the ack). Once `frozen` (the snapshot
        # is taken), nothing changes the live state any more: every request is refused, no
        # timer fires, a closed connection ends nothing.
        self.restarting = False
        self.frozen = False
        self.delivering = 0
        self.request_limiter = MovingWindow(config.server.rate_limit)
        # Run first on every tick, each on its own (the administered settings' check).
        self.on_tick: list[Callable[[], None]] = []
        self.requests: dict[str, Callable[[Session, Any], dict[str, Any]]] = {
            name: getattr(self, f"on_{name}") for name in self.REQUESTS}
        # A Redis that restarted empty forgot who is connected where: this process's connections
        # are bound again, so that they can be reached without logging in again.
        store.when_back(lambda: socketio.start_background_task(self.restore_sessions))
        # Registered with python-socketio itself, not through Flask-SocketIO's on_event: its
        # wrapper pushes a Flask request context built from the connection's environ (and
        # copies the Flask session) for every event. These handlers need nothing of Flask's,
        # only the connection's sid, which python-socketio passes them.
        server = socketio.server
        server.on("connect", self.on_connect)
        server.on("disconnect", self.on_disconnect)
        server.on("*", self.on_request)

    def start_clock(self) -> None:
        """Run the contact center's once-a-second tick (queue positions, statistics, offers
        that became possible with time) for every app that has queues, after ``on_tick``; and
        the processes' (``relay.tick``) when several share the store."""
        self.relay.start()

        def run() -> None:
            while True:
                self.socketio.sleep(self.TICK_SECONDS)
                if self.restarting:
                    return
                try:
                    self.relay.tick()
                except StoreUnavailable:
                    pass
                except Exception:
                    log.exception("the tick of the processes sharing the store failed")
                for task in self.on_tick:
                    try:
                        task()
                    except Exception:
                        log.exception("tick task %s failed", getattr(task, "__name__", task))
                # Queues come and go while the server runs (administered settings).
                for app_id in [app.id for app in self.center.config.apps if app.queues]:
                    try:
                        self.store.ping()  # gone: the tick changes nothing, the next catches up
                        with self.clock.step():
                            self.deliver(app_id, self.center.tick(app_id))
                    except StoreUnavailable:
                        pass  # logged by the store; the next tick catches up
                    except Exception:
                        log.exception("contact-center tick for app %s failed", app_id)

        self.socketio.start_background_task(run)
    # -- connection ------------------------------------------------------------------------

    def authenticate(self, auth: Any) -> Identity:
        if not isinstance(auth, dict) or not all(
                isinstance(auth.get(k), str) for k in ("appId", "userID", "userSig")):
            raise Refused("AUTH_REQUIRED", "auth must be {appId, userID, userSig} strings")
        if auth["appId"] == SHARED:
            return self._shared_worker(auth)
        app = self.config.app_for_login(auth["appId"])
        if app is None:
            raise Refused("UNKNOWN_APP", "no such app")
        if not valid_user_id(auth["userID"]):
            raise Refused("BAD_USER_ID", "user id must match [A-Za-z0-9_-], 1 to 32 chars")
        if app.sdk_app_id is not None and looks_like_usersig(auth["userSig"]):
            # A customer's Tencent UserSig (usersig.py), as trtc-calling-js pages log in.
            identity = verify_usersig(auth["userSig"], app.id, app.sdk_app_id, app.secret)
        else:
            claimed = app_of(auth["userSig"])
            if claimed is not None and claimed != app.id:
                raise Refused("AUTH_MISMATCH", "the credential is for another app")
            identity = verify(auth["userSig"], app.id, app.secret)
        if identity.user_id != auth["userID"]:
            raise Refused("AUTH_MISMATCH", "the credential is for another user")
        return identity

    def _shared_worker(self, auth: dict[str, str]) -> Identity:
        """A media worker for every app: a service credential signed with the server's
        shared-worker secret."""
        identity = verify(auth["userSig"], SHARED, self.shared_worker_secret)
        if identity.role is not Role.SERVICE or identity.user_id != auth["userID"]:
            raise Refused("AUTH_MISMATCH", "a shared credential is for a media worker")
        return identity

    def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        try:
            if self.restarting:
                raise Refused("RESTARTING", "the server is restarting; connect again shortly")
            identity = self.authenticate(auth)
        except Refused as exc:
            log.info("connection refused: %s", exc.code)
            raise ConnectionRefusedError(
                exc.message, {"code": exc.code, "message": exc.message}) from None
        try:
            # Asked first, so that a store already gone refuses the login before it changed
            # anything (a session half made: in this process but not in the store).
            self.store.ping()
            with self.clock.step():
                self.log_in(identity, auth, sid)
        except StoreUnavailable as exc:
            self.sessions.pop(sid, None)
            raise ConnectionRefusedError(exc.message, exc.as_dict()) from None

    def log_in(self, identity: Identity, auth: dict[str, Any], sid: str) -> None:
        """A connection with a valid credential: a new session, or a suspended one taken back."""
        try:
            stream, last_seq = self.stream_to_resume(identity, auth)
        except Refused as exc:
            log.info("resume refused: %s", exc.code)
            raise ConnectionRefusedError(
                exc.message, {"code": exc.code, "message": exc.message}) from None
        if stream is not None:
            self.resume(Session(sid, identity), stream, last_seq)
            return
        session = Session(sid, identity, resumed=False if "resumeToken" in auth else None)
        self.sessions[sid] = session
        self.relay.session_added(sid, identity)
        previous = self.store.bind_session(identity.app_id, identity.user_id, sid)
        log.info("login %s/%s (%s) on %s", identity.app_id, identity.user_id, identity.role, sid,
                 extra={"app_id": identity.app_id, "user_id": identity.user_id})
        if previous is not None and previous != sid:
            self.kick(previous, session)
        session.stream_id = self.resumption.open(identity.app_id, identity.user_id).session_id
        self.deliver(identity.app_id, self.center.session_started(identity.app_id,
                                                                  identity.user_id))

    def stream_to_resume(self, identity: Identity, auth: dict[str, Any]
                         ) -> tuple[Stream | None, int]:
        """The suspended session a connection's ``resumeToken`` takes back, with the last
        ``seq`` the client saw; None when there is none to take back (the window ran out, or the
        server restarted): the connection is then a new login, told ``resumed: false``."""
        if "resumeToken" not in auth:
            return None, 0
        last_seq = auth.get("lastSeq", 0)
        if not isinstance(last_seq, int) or isinstance(last_seq, bool) or last_seq < 0:
            raise Refused("BAD_REQUEST", "lastSeq must be a whole number")
        app = self.config.app(identity.app_id)
        if app is None or identity.role is Role.SERVICE:  # media workers have no session to resume
            raise Refused("RESUME_INVALID", "this connection has no session to resume")
        stream_id = verify_resume(auth["resumeToken"], identity, app.secret)
        if self.resumption.window > 0 and self.resumption.live(
                identity.app_id, identity.user_id, stream_id) is not None:
            self.take_over(identity)
        return self.resumption.suspended(identity.app_id, identity.user_id, stream_id), last_seq

    def take_over(self, identity: Identity) -> None:
        """The session's own token arrived on a new connection while the old one still looks
        open (a reload: the page's new connection can come before the old one's close). The old
        connection is dropped as if it had gone, so the new one resumes instead of logging in
        again, which would end the call."""
        old_sid = self.store.session_of(identity.app_id, identity.user_id)
        if old_sid is None:
            return
        # Its disconnect, when it comes (here, or on the process that holds it), finds nothing
        # to do: the session is not bound to it any more.
        old = self.sessions.pop(old_sid, None) or Session(old_sid, identity)
        if identity.role is Role.SUPERVISOR:  # the old page's monitoring media is gone with it
            self.supervisor_gone(identity.app_id, identity.user_id)
        self.suspend(old)
        self.close_later(old_sid)

    def resume(self, session: Session, stream: Stream, last_seq: int) -> None:
        """A client took its suspended session back: the new connection carries it on."""
        app_id, user_id = session.app_id, session.user_id
        session.stream_id, session.resumed = stream.session_id, True
        session.missed = self.resumption.take_back(stream, last_seq, (app_id, user_id))
        self.sessions[session.sid] = session
        self.relay.session_added(session.sid, session.identity)
        self.store.bind_session(app_id, user_id, session.sid)
        log.info("resume %s/%s on %s (%d events missed)", app_id, user_id, session.sid,
                 len(session.missed), extra={"app_id": app_id, "user_id": user_id})
        self.set_timers([], [(TimerKind.RESUME, app_id, None, user_id)])
        self.deliver(app_id, self.center.session_resumed(app_id, user_id))

    def kick(self, old_sid: str, new: Session) -> None:
        """The user logged in again: end the old connection's call, tell it, close it."""
        self.sessions.pop(old_sid, None)  # its requests are refused from now on
        self.relay.emit("kicked_out", {"reason": "login_elsewhere"}, to=old_sid)
        if new.identity.role is Role.SUPERVISOR:  # what the old page monitored ends with it
            self.supervisor_gone(new.app_id, new.user_id)
        call_id = self.store.line_of(new.app_id, new.user_id)
        self.deliver(new.app_id, self.center.session_ended(
            new.app_id, new.user_id, EndReason.KICKED_OUT, replaced=True))
        self.publish(CallEvent(EventName.KICKED_OUT, new.app_id, call_id, new.user_id,
                               time.time(), {"reason": "login_elsewhere"}))
        self.close_later(old_sid)

    def close_later(self, sid: str) -> None:
        def close() -> None:
            self.socketio.sleep(CLOSE_DELAY)
            self.relay.disconnect(sid)

        self.socketio.start_background_task(close)

    def on_disconnect(self, sid: str, reason: Any = None) -> None:
        if self.frozen:  # the restart's snapshot holds the session as it was
            self.sessions.pop(sid, None)
            return
        self.request_limiter.clear(sid)
        try:
            self.relay.session_removed(sid)
        except StoreUnavailable:
            pass  # a process that takes its sessions over finds this one's not bound to it
        if sid in self.sid_workers:
            with self.clock.step():
                self.worker_gone(sid)
        session = self.sessions.pop(sid, None)
        if session is None:
            return
        try:
            with self.clock.step():
                if session.identity.role is Role.SUPERVISOR:
                    self.supervisor_gone(session.app_id, session.user_id)
                self.session_dropped(session)
        except StoreUnavailable:
            # Its session and call are in the store, which cannot be told now: it is told when
            # it is back (no resume then: the connection is gone and nobody can take it back).
            self.socketio.start_background_task(
                self.retry_while_unavailable, f"the logout of {session.user_id}",
                self.end_dropped, session.app_id, session.user_id, sid)

    def session_dropped(self, session: Session) -> None:
        """A logged-in connection dropped: suspend its session for a resume, or end it."""
        sid = session.sid
        if session.identity.role is not Role.SERVICE and \
                self.store.session_of(session.app_id, session.user_id) == sid and \
                self.suspend(session):
            return
        log.info("logout %s/%s (disconnected)", session.app_id, session.user_id,
                 extra={"app_id": session.app_id, "user_id": session.user_id})
        self.end_dropped(session.app_id, session.user_id, sid)

    def worker_gone(self, sid: str) -> None:
        """A media worker's connection ``sid`` is gone: its recordings close as they are."""
        worker_id = self.sid_workers.pop(sid, None)
        if worker_id is None or self.recorder is None:
            return
        self.worker_sids.pop(worker_id, None)
        log.warning("media worker %s went away", worker_id)
        for record in self.recorder.worker_gone(worker_id):
            self.recording_ready(record)

    def connection_lost(self, sid: str, identity: Identity) -> None:
        """A connection held by a process that died (callcenter.server.cluster): its session
        is dropped as if the connection had closed, unless the user is bound elsewhere now."""
        with self.clock.step():
            self.worker_gone(sid)
            stream = self.resumption.streams.get((identity.app_id, identity.user_id))
            if stream is not None and stream.suspended_sid == sid:
                return  # suspended already (the process saw it go before it stopped)
            if self.store.session_of(identity.app_id, identity.user_id) == sid:
                if identity.role is Role.SUPERVISOR:
                    self.supervisor_gone(identity.app_id, identity.user_id)
                self.session_dropped(Session(sid, identity))

    def supervisor_gone(self, app_id: str, user_id: str) -> None:
        """A supervisor's connection is gone: no more live view, and what they monitor ends
        (their media went with the page; a resumed session starts monitoring again)."""
        self.center.unwatch(app_id, user_id)
        self.deliver(app_id, self.monitoring.supervisor_gone(app_id, user_id))

    def suspend(self, session: Session) -> bool:
        """The session's connection is gone: it waits for a resume, if resuming is on."""
        epoch = self.resumption.suspend(session.app_id, session.user_id, session.sid)
        if epoch is None:
            return False
        log.info("suspend %s/%s (disconnected; %g s to resume)", session.app_id,
                 session.user_id, self.resumption.window,
                 extra={"app_id": session.app_id, "user_id": session.user_id})
        self.set_timers([Timer(self.resumption.window, session.app_id, None,
                               session.user_id, TimerKind.RESUME, epoch)], [])
        self.deliver(session.app_id, self.center.session_suspended(
            session.app_id, session.user_id))
        return True

    def retry_while_unavailable(self, what: str, action: Callable[..., Any], *args: Any) -> None:
        """Run ``action(*args)`` once the store answers again (a background task)."""
        deadline = time.monotonic() + STORE_RETRY_FOR
        while time.monotonic() < deadline:
            self.socketio.sleep(STORE_RETRY_EVERY)
            try:
                action(*args)
                return
            except StoreUnavailable:
                continue
        log.warning("gave up %s: the store was out of reach for %g s", what, STORE_RETRY_FOR)

    def restore_sessions(self) -> None:
        """Bind this process's connections again where the store has no session for their user
        (after it lost its memory); a login made since, here or elsewhere, stays."""
        restored = 0
        try:
            for session in list(self.sessions.values()):
                if self.sessions.get(session.sid) is session:
                    restored += self.store.restore_session(session.app_id, session.user_id,
                                                           session.sid)
        except StoreUnavailable:
            return  # out of reach again: done again when it is back
        if restored:
            log.info("bound %d sessions again that the store had lost", restored)

    def end_dropped(self, app_id: str, user_id: str, sid: str) -> None:
        """A dropped connection that will not be resumed: its session ends."""
        with self.clock.step():
            if self.store.unbind_session(app_id, user_id, sid):
                self.resumption.close(app_id, user_id)
                self.deliver(app_id, self.center.session_ended(app_id, user_id,
                                                               EndReason.DISCONNECTED))

    # -- requests --------------------------------------------------------------------------

    # Requests whose handling time is the server's share of call setup (a metric).
    SETUP_REQUESTS = frozenset({"invite", "enqueue", "accept"})

    def on_request(self, event: str, sid: str, *args: Any) -> dict[str, Any]:
        """Every client event of connection ``sid`` arrives here (python-socketio's catch-all);
        the answer is the acknowledgement."""
        try:
            if event in self.SETUP_REQUESTS:
                started = time.perf_counter()
                reply = {"ok": True, **self.handle(sid, event, args)}
                self.metrics.setup.labels(event).observe(time.perf_counter() - started)
                return reply
            return {"ok": True, **self.handle(sid, event, args)}
        except Refused as exc:
            return {"ok": False, "error": exc.as_dict()}
        except StoreUnavailable as exc:
            # The store logged the outage once; each request just hears it.
            return {"ok": False, "error": exc.as_dict()}
        except Exception:
            log.exception("request %r failed", event)
            return error("INTERNAL", "the server failed; the request was not carried out")

    def handle(self, sid: str, event: str, args: tuple[Any, ...]) -> dict[str, Any]:
        if self.frozen:
            raise Refused("RESTARTING", "the server is restarting: resume, then ask again")
        if not self.request_limiter.hit(sid):
            raise Refused("RATE_LIMITED", f"at most {self.config.server.rate_limit}")
        session = self.sessions.get(sid)
        if session is None:
            raise Refused("NOT_LOGGED_IN", "this connection is no longer logged in")
        handler = self.requests.get(event)
        if handler is None:
            raise Refused("UNKNOWN_EVENT", f"no such request: {str(event)[:64]!r}")
        self.check_access(session, event)
        if len(args) > 1:
            raise Refused("BAD_REQUEST", "a request carries one payload object")
        payload = args[0] if args else None
        if wire.encoded_size(payload) > self.config.server.max_message_bytes:
            raise Refused("PAYLOAD_TOO_LARGE",
                          f"at most {self.config.server.max_message_bytes} bytes")
        # A store already gone refuses the request here, before the handler changed anything
        # (the queues and agents in this process's memory, then the store); one round trip to
        # Redis, nothing with the memory store.
        self.store.ping()
        with self.clock.step():
            return handler(session, payload)

    def check_access(self, session: Session, event: str) -> None:
        """FORBIDDEN unless the table lets the session's role make this request."""
        role = session.identity.role
        if access.socket_scope(event, role) is access.Scope.NONE:
            raise Refused("FORBIDDEN", f"{event} is not for the {role.value} role")
        if event in access.DIRECT_CALL_REQUESTS and role is Role.CUSTOMER:
            app = self.config.app(session.app_id)
            if app is None or not app.customer_direct_calls:
                raise Refused("FORBIDDEN", "customers reach agents through a queue "
                              "(enqueue); this app allows no direct calls")

    def on_hello(self, session: Session, payload: Any) -> dict[str, Any]:
        wire.parse(wire.Empty, payload)
        limits = self.switchboard.limits
        if session.missed is not None and not session.replaying:
            # After the ack, in their order: the client knows from the ack it resumed.
            session.replaying = True
            self.socketio.start_background_task(self.replay, session)
        app = self.config.app(session.app_id)
        resume = {} if app is None or session.identity.role is Role.SERVICE else {
            "resumeToken": mint_resume(session.identity, app.secret, session.stream_id),
            "resumeWindow": self.resumption.window,
            **({} if session.resumed is None else {"resumed": session.resumed})}
        if session.resumed:
            resume["call"] = self.call_view(session)
        return {**resume,
            "userID": session.user_id, "appId": session.app_id,
            "role": session.identity.role.value,
            "iceServers": self.plugins.ice_servers(session.app_id, session.user_id),
            "iceTransportPolicy": self.config.signaling.ice_transport_policy,
            "limits": {"groupMax": limits.group_max, "maxTimeout": limits.max_timeout,
                       "defaultTimeout": limits.default_timeout},
            "missedCalls": self.switchboard.take_missed(session.app_id, session.user_id),
        }

    def call_view(self, session: Session) -> dict[str, Any] | None:
        """The call a resumed session is in, for a client that lost its own copy of it (a
        reloaded page): with the recording job its new media must join again."""
        view = self.center.call_of(session.app_id, session.user_id)
        job = None if view is None or self.recorder is None else \
            self.recorder.job_for_call(session.app_id, view["callId"])
        if view is not None and job is not None and job.state in ("pending", "started") \
                and session.user_id in job.legs:
            view["recording"] = {"jobId": job.id, "video": job.video}
        monitor = None if view is None else \
            self.monitoring.of_agent(session.app_id, view["callId"], session.user_id)
        if monitor is not None:  # a supervisor monitors it: the new page offers them its media
            view["monitor"] = monitor
        return view

    def on_invite(self, session: Session, payload: Any) -> dict[str, Any]:
        req = wire.parse(wire.Invite, payload)
        out = self.switchboard.invite(session.app_id, session.user_id, req.userIDList, req.type,
                                      req.timeout, req.group, req.data)
        # The ack must reach the caller before line_busy/no_resp/call_end about this call.
        self.deliver_later(session.app_id, out)
        return out.reply

    def _on_call(self, session: Session, payload: Any,
                 action: Callable[[str, str, str], Outcome]) -> dict[str, Any]:
        """accept, reject, hangup, hold, unhold: a request naming one call."""
        req = wire.parse(wire.CallRef, payload)
        return self.deliver(session.app_id, action(session.app_id, session.user_id, req.callId))

    def on_accept(self, session: Session, payload: Any) -> dict[str, Any]:
        return self._on_call(session, payload, self.center.accept)

    def on_reject(self, session: Session, payload: Any) -> dict[str, Any]:
        return self._on_call(session, payload, self.center.reject)

    def on_hangup(self, session: Session, payload: Any) -> dict[str, Any]:
        return self._on_call(session, payload, self.center.hangup)

    def on_signal(self, session: Session, payload: Any) -> dict[str, Any]:
        req = wire.parse(wire.Signal, payload)
        # Between the call's participants, or a monitoring supervisor and the agent (monitoring).
        self.monitoring.check_relay(session.app_id, session.user_id, req.callId, req.to)
        relayed = {"callId": req.callId, "from": session.user_id, "kind": req.kind,
                   "payload": req.payload}
        if req.id is not None:
            relayed["id"] = req.id
        self.emit_to_user(session.app_id, req.to, "signal", relayed)
        return {}

    def on_media_state(self, session: Session, payload: Any) -> dict[str, Any]:
        req = wire.parse(wire.MediaState, payload)
        state = {k: v for k, v in (("audio", req.audio), ("video", req.video)) if v is not None}
        return self.deliver(session.app_id, self.switchboard.media_state(
            session.app_id, session.user_id, req.callId, state))

    def on_media_flow(self, session: Session, payload: Any) -> dict[str, Any]:
        req = wire.parse(wire.MediaFlow, payload)
        return self.deliver(session.app_id, self.center.media_flow(
            session.app_id, session.user_id, req.callId, req.userID, req.flowing,
            req.silentFor or 0.0))

    def on_switch_type(self, session: Session, payload: Any) -> dict[str, Any]:
        req = wire.parse(wire.SwitchType, payload)
        return self.deliver(session.app_id, self.center.switch_type(
            session.app_id, session.user_id, req.callId, req.type))

    def on_logout(self, session: Session, payload: Any) -> dict[str, Any]:
        wire.parse(wire.Empty, payload)
        self.sessions.pop(session.sid, None)
        if session.identity.role is Role.SUPERVISOR:
            self.supervisor_gone(session.app_id, session.user_id)
        self.store.unbind_session(session.app_id, session.user_id, session.sid)
        self.resumption.close(session.app_id, session.user_id)
        self.deliver(session.app_id, self.center.session_ended(
            session.app_id, session.user_id, EndReason.LOGOUT))
        self.close_later(session.sid)
        return {}

    def on_enqueue(self, session: Session, payload: Any) -> dict[str, Any]:
        req = wire.parse(wire.Enqueue, payload)
        if not self.enqueue_limiter.hit((session.app_id, session.user_id)):
            raise Refused("RATE_LIMITED",
                          f"at most {self.config.contact_center.enqueue_rate} calls")
        out = self.center.enqueue(session.identity, req.queue, req.type, req.attributes or {})
        # The ack (with the position) goes out before queue_update and the agents' offers.
        self.deliver_later(session.app_id, out)
        return out.reply

    def on_rate(self, session: Session, payload: Any) -> dict[str, Any]:
        req = wire.parse(wire.Rate, payload)
        return self.deliver(session.app_id, self.center.rate(
            session.app_id, session.user_id, req.callId, req.rating))

    def on_callback(self, session: Session, payload: Any) -> dict[str, Any]:
        req = wire.parse(wire.Callback, payload)
        return self.deliver(session.app_id, self.center.request_callback(
            session.app_id, session.user_id, req.callId, req.contact))

    def on_agent_status(self, session: Session, payload: Any) -> dict[str, Any]:
        req = wire.parse(wire.AgentStatus, payload)
        return self.deliver(session.app_id, self.center.set_status(
            session.app_id, session.user_id, req.status, req.reason))

    def on_agent_state(self, session: Session, payload: Any) -> dict[str, Any]:
        wire.parse(wire.Empty, payload)
        return self.center.agent_state(session.app_id, session.user_id)

    def on_wrap_up(self, session: Session, payload: Any) -> dict[str, Any]:
        req = wire.parse(wire.WrapUp, payload)
        return self.deliver(session.app_id, self.center.wrap_up(
            session.app_id, session.user_id, req.callId, req.disposition, req.notes))

    def on_hold(self, session: Session, payload: Any) -> dict[str, Any]:
        return self._on_call(session, payload, self.center.hold)

    def on_unhold(self, session: Session, payload: Any) -> dict[str, Any]:
        return self._on_call(session, payload, self.center.unhold)

    def on_transfer(self, session: Session, payload: Any) -> dict[str, Any]:
        req = wire.parse(wire.Transfer, payload)
        return self.deliver(session.app_id, self.center.transfer(
            session.app_id, session.user_id, req.callId, req.toAgent, req.toQueue, req.note))

    def on_consult(self, session: Session, payload: Any) -> dict[str, Any]:
        req = wire.parse(wire.Consult, payload)
        return self.deliver(session.app_id, self.center.consult(
            session.app_id, session.user_id, req.callId, req.toAgent, req.note))

    def _end_consult(self, session: Session, payload: Any, how: str) -> dict[str, Any]:
        req = wire.parse(wire.CallRef, payload)
        return self.deliver(session.app_id, self.center.consult_end(
            session.app_id, session.user_id, req.callId, how))

    def on_consult_cancel(self, session: Session, payload: Any) -> dict[str, Any]:
        return self._end_consult(session, payload, "cancelled")

    def on_consult_complete(self, session: Session, payload: Any) -> dict[str, Any]:
        return self._end_consult(session, payload, "completed")

    def on_conference(self, session: Session, payload: Any) -> dict[str, Any]:
        return self._end_consult(session, payload, "conference")

    def on_transfer_targets(self, session: Session, payload: Any) -> dict[str, Any]:
        wire.parse(wire.Empty, payload)
        return self.center.transfer_targets(session.app_id, session.user_id)

    def on_supervisor_watch(self, session: Session, payload: Any) -> dict[str, Any]:
        wire.parse(wire.Empty, payload)
        return self.center.watch(session.app_id, session.user_id)

    def on_monitor(self, session: Session, payload: Any) -> dict[str, Any]:
        req = wire.parse(wire.Monitor, payload)
        return self.deliver(session.app_id, self.monitoring.monitor(
            session.app_id, session.user_id, req.callId, req.mode))

    def on_monitor_stop(self, session: Session, payload: Any) -> dict[str, Any]:
        req = wire.parse(wire.CallRef, payload)
        return self.deliver(session.app_id, self.monitoring.stop(
            session.app_id, session.user_id, req.callId))

    # -- media workers and recording --------------------------------------------------------

    def _recorder(self) -> Any:
        if self.recorder is None:
            raise Refused("NOT_RECORDED", "recording is not configured")
        return self.recorder

    def on_worker_hello(self, session: Session, payload: Any) -> dict[str, Any]:
        req = wire.parse(wire.WorkerHello, payload)
        recorder = self._recorder()
        if session.sid in self.sid_workers:
            raise Refused("BAD_REQUEST", "this connection is a worker already")
        app_id = None if session.app_id == SHARED else session.app_id
        worker = recorder.add_worker(req.capacity, req.name or session.user_id, app_id)
        self.worker_sids[worker.id] = session.sid
        self.sid_workers[session.sid] = worker.id
        log.info("media worker %s (%s) ready for %d jobs of %s", worker.id, worker.name,
                 req.capacity, f"app {app_id}" if app_id else "every app")
        # A worker behind NAT reaches browsers through the same relay they use.
        return {"workerId": worker.id, "recordingsDir": str(recorder.directory),
                "iceServers": self.plugins.ice_servers(session.app_id, session.user_id)}

    def on_job_update(self, session: Session, payload: Any) -> dict[str, Any]:
        req = wire.parse(wire.JobUpdate, payload)
        worker_id = self.sid_workers.get(session.sid)
        try:
            if worker_id is None:
                raise KeyError(req.jobId)
            record = self._recorder().update(worker_id, req.jobId, req.state,
                                             req.model_dump(exclude_none=True))
        except KeyError:
            raise Refused("JOB_NOT_FOUND", "no such job of this worker") from None
        if record is not None:
            self.recording_ready(record)
        return {}

    def on_record_signal(self, session: Session, payload: Any) -> dict[str, Any]:
        recorder = self._recorder()
        worker_id = self.sid_workers.get(session.sid)
        if worker_id is not None:
            req = wire.parse(wire.WorkerSignal, payload)
            job = recorder.jobs.get(req.jobId)
            if job is None or job.worker_id != worker_id or req.to not in job.legs:
                raise Refused("JOB_NOT_FOUND", "no such job and leg of this worker")
            self.emit_to_user(job.app_id, req.to, "record_signal", {
                "callId": job.call_id, "kind": req.kind, "payload": req.payload})
            return {}
        participant = wire.parse(wire.RecordSignal, payload)
        job = recorder.job_for_call(session.app_id, participant.callId)
        if job is None or session.user_id not in job.legs:
            raise Refused("NOT_RECORDED", "no recording of this call for you")
        sid = self.worker_sids.get(job.worker_id)
        if sid is not None:
            self.relay.emit("record_signal", {
                "jobId": job.id, "from": session.user_id, "kind": participant.kind,
                "payload": participant.payload}, to=sid)
        return {}

    # -- delivery --------------------------------------------------------------------------

    def emit_to_user(self, app_id: str, user_id: str, event: str, payload: dict[str, Any]) -> None:
        self._emit_to_session(app_id, user_id, self.store.session_of(app_id, user_id), event,
                              payload)

    def _emit_to_session(self, app_id: str, user_id: str, sid: str | None, event: str,
                         payload: dict[str, Any]) -> None:
        """``event`` for the user whose session is ``sid`` (None: not logged in)."""
        if sid is not None:
            # Numbered and kept for a resume; a suspended session's dropped connection gets
            # nothing now, and the events on resume.
            payload = self.resumption.stamp(app_id, user_id, event, payload)
            if sid in self.sessions:
                self.emit_here(sid, event, payload)
            else:
                self.relay.emit_elsewhere(event, payload, sid)

    def emit_here(self, sid: str, event: str, payload: dict[str, Any]) -> None:
        """``event`` for a session of this process's connection ``sid``, in order after the
        events a resume's replay still holds."""
        session = self.sessions.get(sid)
        if session is None:
            return
        if session.missed is not None:  # a resume's replay has not gone out yet
            session.missed.append((event, payload))
            if len(session.missed) > REPLAY_KEPT:  # a client that never says hello
                del session.missed[0]
        else:
            self.socketio.emit(event, payload, to=sid)

    def replay(self, session: Session) -> None:
        """A resumed session's missed events, then those that came meanwhile, in order."""
        missed = session.missed or []
        while missed:
            event, payload = missed.pop(0)
            self.socketio.emit(event, payload, to=session.sid)
        session.missed = None

    def sessions_of(self, app_id: str, out: Outcome) -> dict[str, str | None]:
        """The session of every user a step's notices go to, read as one step (the domain's one
        at a time, clock.py): with Redis each read waits on the network, and were another step
        to run and deliver meanwhile, a user could get its notices before this step's (an agent
        told "waiting" by the customer's hang-up, then "ringing" by the offer before it)."""
        with self.switchboard.clock.step():
            return {user: self.store.session_of(app_id, user)
                    for user in dict.fromkeys(n.to for n in out.notices)}

    def deliver_later(self, app_id: str, out: Outcome) -> None:
        """Deliver ``out`` after the request's ack, in a background task; who gets what is read
        now, so the notices keep their place in the order of steps."""
        sids = self.sessions_of(app_id, out)
        # The timers are set now, in the request's step: were this process to die before the
        # delivery, another one sharing its state would still fire them (an offer would not
        # ring forever).
        if out.timers or out.cancelled:
            self.set_timers(out.timers, out.cancelled)
            out.timers, out.cancelled = [], []
        self.delivering += 1
        self.socketio.start_background_task(self._deliver_later, app_id, out, sids)

    def _deliver_later(self, app_id: str, out: Outcome, sids: dict[str, str | None]) -> None:
        try:
            with self.clock.step():
                self.deliver(app_id, out, sids)
        except StoreUnavailable:
            pass  # what else the outcome holds waits for nothing in the store; logged once
        finally:
            self.delivering -= 1

    def deliver(self, app_id: str, out: Outcome,
                sids: dict[str, str | None] | None = None) -> dict[str, Any]:
        """Send a step's notices, hand its timers, records and events on; ``sids``: the
        recipients' sessions when already read (``deliver_later``). Counted in ``delivering``
        while under way (a graceful restart's snapshot waits for none)."""
        self.delivering += 1
        try:
            return self._deliver(app_id, out, sids)
        finally:
            self.delivering -= 1

    def _deliver(self, app_id: str, out: Outcome,
                 sids: dict[str, str | None] | None) -> dict[str, Any]:
        if sids is None:
            sids = self.sessions_of(app_id, out)
        notices = out.notices
        i = 0
        while i < len(notices):
            notice = notices[i]
            # Notices in a row with the same event and the same payload object (one notify to
            # several users, e.g. queue_stats to every agent) go out as one emit, encoded once.
            j = i + 1
            while j < len(notices) and notices[j].payload is notice.payload \
                    and notices[j].event == notice.event:
                j += 1
            if j == i + 1:
                self._emit_to_session(app_id, notice.to, sids[notice.to], notice.event,
                                      notice.payload)
            else:
                group = [sid for n in notices[i:j] if (sid := sids[n.to]) is not None]
                # A large group goes out in slices with requests served in between: sending
                # queue_stats to 1,000 agents at once held every request up for ~50 ms. The
                # slices after the first go out from a task of their own: paced here, inside the
                # step (steps run one at a time), they held every request up for the whole
                # 100 ms of pauses each second, which was the call-setup p99. Only fan-outs are
                # so sent (one payload to many: statistics), whose order against the next
                # steps' notices does not matter.
                self.relay.emit(notice.event, notice.payload, to=group[:EMIT_SLICE])
                if len(group) > EMIT_SLICE:
                    self.socketio.start_background_task(self._emit_paced, notice.event,
                                                        notice.payload, group[EMIT_SLICE:])
            i = j
        for worker_id, event, payload in out.to_workers:
            sid = self.worker_sids.get(worker_id)
            if sid is not None:
                self.relay.emit(event, payload, to=sid)
        if out.timers or out.cancelled:
            self.set_timers(out.timers, out.cancelled)
        # Records before events: a queue call's row must exist before its events are read.
        for record in out.records:
            self.history.call_record(app_id, record)
        for event in out.events:
            self.publish(event)
        return out.reply

    def _emit_paced(self, event: str, payload: dict[str, Any], sids: list[str]) -> None:
        """The rest of a large fan-out, EMIT_SLICE recipients every EMIT_PAUSE seconds."""
        for k in range(0, len(sids), EMIT_SLICE):
            self.socketio.sleep(EMIT_PAUSE)
            try:
                self.relay.emit(event, payload, to=sids[k:k + EMIT_SLICE])
            except Exception:  # a relay that failed must not end the rest, nor print a trace
                log.exception("sending %s to %d connections failed", event,
                              len(sids[k:k + EMIT_SLICE]))

    def publish(self, event: CallEvent) -> None:
        """An event goes to the history's event log, the metrics and the plugins."""
        self.history.event(event)
        # One line per event of a call: what an operator greps for when asked about call X.
        calls_log.info("%s %s/%s %s", event.name.value, event.app_id, event.call_id or "-",
                       event.user_id or "-", extra={
                           "event": event.name.value, "app_id": event.app_id,
                           "call_id": event.call_id, "user_id": event.user_id})
        self.metrics.observe(event)
        self.plugins.call_event(event)

    def recording_ready(self, record: dict[str, Any]) -> None:
        self.history.recording(record)
        self.plugins.recording_ready(record)

    # -- timers ----------------------------------------------------------------------------

    def set_timers(self, timers: list[Timer], cancelled: list[TimerKey]) -> None:
        """Hand a step's timers to the one scheduler, and wake it if one is due sooner."""
        soonest = self.timers.next_due()
        for key in cancelled:
            self.timers.cancel(key)
        now = time.monotonic()
        for timer in timers:
            self.timers.schedule(timer, now)
        self._start_timers()
        due = self.timers.next_due()
        if due is not None and (soonest is None or due < soonest):
            self._timer_wake.set()

    def _start_timers(self) -> None:
        if self._timer_wake is None:
            self._timer_wake = self.socketio.server.eio.create_event()
            self.socketio.start_background_task(self._run_timers)

    def replace_timers(self, timers: TimerQueue) -> None:
        """Every timer, as another process left them (callcenter.server.cluster)."""
        self.timers = timers
        if len(timers):
            self._start_timers()
            self._timer_wake.set()

    # Longest sleep of the timer task with nothing due: it wakes when a sooner timer is set.
    TIMER_IDLE_WAIT = 60.0

    def resume_window_over(self, timer: Timer) -> None:
        user_id = timer.user_id or ""
        sid = self.resumption.expire(timer.app_id, user_id, timer.token)
        if sid is not None:
            log.info("logout %s/%s (not resumed in %g s)", timer.app_id, user_id,
                     self.resumption.window)
            self.end_dropped(timer.app_id, user_id, sid)

    def _run_timers(self) -> None:
        """The one task that fires timers, in order, as they come due."""
        wake = self._timer_wake
        assert wake is not None
        while True:
            due = self.timers.next_due()
            wait = self.TIMER_IDLE_WAIT if due is None else due - time.monotonic()
            if wait > 0:
                wake.wait(wait)
                wake.clear()
                continue
            if self.frozen:
                return
            try:
                # Taken in the step: with processes sharing the timers, another may have fired
                # some of them already (the step starts from the state it left).
                with self.clock.step():
                    for timer in self.timers.pop_due(time.monotonic()):
                        self._fire(timer)
            except StoreUnavailable:
                self.socketio.sleep(STORE_RETRY_EVERY)  # the timers are still set; logged once

    def _fire(self, timer: Timer) -> None:
        try:
            # With the store gone the timer does nothing now and fires when it is back.
            self.store.ping()
            if timer.kind is TimerKind.RESUME:
                self.resume_window_over(timer)
                return
            self.deliver(timer.app_id, self.center.on_timer(timer))
        except StoreUnavailable:
            # A timer fires once, when it can: again in a moment (the store logged it).
            self.set_timers([replace(timer, delay=STORE_RETRY_EVERY)], [])
        except Exception:
            log.exception("%s timer of %s in call %s failed", timer.kind,
                          timer.user_id, timer.call_id)

    # -- a graceful restart (callcenter.server.snapshot) ------------------------------------

    def drop_connection(self, sid: str) -> None:
        """Close the connection's transport, not its Socket.IO session: a client told
        "io server disconnect" would not reconnect (socket.io-client's rule; the SDK then ends
        its call), while one whose transport closed reconnects and resumes."""
        eio_sid = self.socketio.server.manager.eio_sid_from_sid(sid, "/")
        if eio_sid is not None:
            self.socketio.server.eio.disconnect(eio_sid)

    def timers_state(self) -> list[dict[str, Any]]:
        """Every timer still set, due at a wall-clock time (the next process's monotonic clock
        is another)."""
        mono, wall = time.monotonic(), time.time()
        return [timer.to_state(wall + due - mono) for timer, due in self.timers.pending()]

    def sessions_state(self) -> list[dict[str, Any]]:
        """The connections logged in now: at start they are suspended, waiting for a resume."""
        return [{"app_id": s.app_id, "user_id": s.user_id, "sid": s.sid,
                 "role": s.identity.role.value} for s in self.sessions.values()]

    def restore(self, streams: list[dict[str, Any]], timers: list[dict[str, Any]],
                sessions: list[dict[str, Any]], dropped_at: float) -> int:
        """After a graceful restart, once the store and the contact center have their state
        back: the sessions' streams and the timers come back (overdue ones fire at once), and
        every session that was connected is suspended as if its connection had dropped at
        ``dropped_at``, with the rest of the resume window to come back in. Media workers'
        sessions end (their recordings did). Returns the sessions suspended."""
        self.resumption.load_state(streams)
        now = time.time()
        self.set_timers([Timer.from_state(t, now) for t in timers], [])
        remaining = max(0.0, self.resumption.window - (now - dropped_at))
        users = []
        for saved in sessions:
            app_id, user_id, sid = saved["app_id"], saved["user_id"], saved["sid"]
            if self.store.session_of(app_id, user_id) != sid:
                continue
            epoch = None if saved["role"] == Role.SERVICE.value else \
                self.resumption.suspend(app_id, user_id, sid)
            if epoch is None:
                self.end_dropped(app_id, user_id, sid)
                continue
            self.set_timers([Timer(remaining, app_id, None, user_id, TimerKind.RESUME, epoch)],
                            [])
            users.append((app_id, user_id))
        for app_id in dict.fromkeys(app_id for app_id, _ in users):
            self.deliver(app_id, self.center.sessions_suspended(
                [(a, u) for a, u in users if a == app_id]))
        return len(users)

