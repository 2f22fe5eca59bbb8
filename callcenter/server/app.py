"""The application factory: one Flask app with Socket.IO signaling, the SDK and the demo.

``create_app(config)`` wires the parts together and starts nothing; ``callcenter.server.serve``
runs it under eventlet. Tests of the factory itself can build an app without a network.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask, abort, jsonify, redirect, request, send_file, send_from_directory
from limits import parse as parse_rate
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from prometheus_client import CONTENT_TYPE_LATEST
from socketio import middleware as socketio_wsgi
from werkzeug.middleware.proxy_fix import ProxyFix

from callcenter.config import Config
from callcenter.domain.access import Scope
from callcenter.domain.calls import Limits, Switchboard
from callcenter.domain.contact_center import ContactCenter
from callcenter.domain.credentials import SHARED, Identity, Role, mint
from callcenter.domain.errors import Refused
from callcenter.domain.events import CallEvent
from callcenter.domain.store import Store, StoreUnavailable
from callcenter.history.db.database import Database
from callcenter.history.outbox import Outbox
from callcenter.history.recordings import Recorder
from callcenter.history.records import History
from callcenter.hooks.host import PluginHost
from callcenter.hooks.services import Services
from callcenter.server.cluster import Cluster
from callcenter.server.http.admin_api import add_admin_routes
from callcenter.server.http.api import ApiError, add_api_routes, bearer_token, endpoint
from callcenter.server.http.metrics import Metrics
from callcenter.server.live_settings import LiveSettings
from callcenter.server.socketio import packet_guard
from callcenter.server.socketio.emitter import SocketIO
from callcenter.server.socketio.serializer import JsonPacket
from callcenter.server.socketio.signaling import Signaling, error
from callcenter.store import open_shared_state, open_store

log = logging.getLogger("callcenter.server.app")

WEB_ROOT = Path(__file__).resolve().parents[2] / "web"
SOCKET_IO_CLIENT = WEB_ROOT / "node_modules" / "socket.io-client" / "dist"
# Anonymous demo credentials are cheap to ask for; keep a page from minting thousands.
DEMO_CREDENTIAL_RATE = "10/second"


@dataclass
class Runtime:
    """What a running server is made of, for the serve entry point and tests."""

    app: Flask
    socketio: SocketIO
    plugins: PluginHost
    signaling: Signaling
    history: History
    services: Services
    store: Store
    settings: LiveSettings
    # Live state shared with other processes on the same Redis; None on the memory store.
    cluster: Cluster | None = None
    # The calls a crash left open, closed by open_database: told to the plugins once they start.
    interrupted: list[CallEvent] = field(default_factory=list)

    def open_settings(self) -> None:
        """Before anything else reads them: migrate the schema and take the administered
        settings from the database, seeding it from the config file for apps it has none of."""
        self.history.database.migrate()
        self.settings.open()

    def open_database(self, keep: frozenset[tuple[str, str]] = frozenset()) -> None:
        """Before serving: migrate the schema, close the calls a crash left open (all but
        ``keep``, the calls a restart snapshot brings back), and record the agents."""
        database = self.history.database
        database.migrate()
        if self.cluster is not None:
            # Calls in the shared store go on, whichever process started them.
            keep |= self.cluster.shared.live_calls()
        self.interrupted = self.history.close_interrupted(keep)
        database.sync_agents(((app.id, a.id, a.name or a.id, list(a.queues))
                              for app in self.settings.config.apps for a in app.agents),
                             time.time())


def create_app(config: Config, plugins: PluginHost | None = None,
               async_mode: str | None = None,
               offload: Callable[..., Any] | None = None) -> Runtime:
    """Build the server. ``offload(fn, *args)`` runs database work off the event loop and returns
    its result (serve.py passes eventlet's thread pool); by default it is called in place."""
    if plugins is None:
        plugins = PluginHost(config)
        plugins.load()
    app = Flask(__name__, static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    flask_wsgi = app.wsgi_app
    socketio = SocketIO(
        app, async_mode=async_mode, cors_allowed_origins="*", logger=False, engineio_logger=False,
        # Oversized frames are refused by Engine.IO itself (connection closed); below that our
        # own check answers PAYLOAD_TOO_LARGE, which a client can act on.
        max_http_buffer_size=config.server.max_message_bytes * 4,
        # One zlib compressor per connection costs ~90 KB; signaling messages are small.
        websocket_compression=False,
        ping_interval=config.signaling.ping_interval,
        ping_timeout=config.signaling.ping_timeout,
        # Our handlers need neither Flask's session nor its request (signaling.py registers them
        # with python-socketio itself); this keeps Flask-SocketIO from copying the session.
        manage_session=False,
        # async_handlers stays True (a greenlet per event): handled in the connection's reader
        # instead, a request waiting its turn for the step (clock.py) held up the PONGs read
        # behind it, and past ping_timeout (5 s) an overloaded server cut its clients off
        # (measured: at 1,000 agents on a contended core, NOT_CONNECTED errors and a collapse
        # the per-event greenlet version rode out).
        serializer=JsonPacket,
    )
    # Client frames are checked before python-socketio dispatches them: reserved event names
    # (connect, disconnect, *) never reach our handlers, and malformed packets are refused or
    # close the connection, with one warning (docs/protocol.md, "Bad input at the packet level").
    packet_guard.install(socketio.server, refuse=error)
    # python-socketio's own middleware in front of Flask, in place of Flask-SocketIO's: that one
    # copies every request's environ to add the Flask app to it (for the request context of
    # handlers registered through Flask-SocketIO, which we do not use), and python-socketio
    # keeps the environ of each connection for its lifetime: one copy fewer per connection.
    app.wsgi_app = socketio_wsgi.WSGIApp(socketio.server, flask_wsgi,  # type: ignore[method-assign]
                                         socketio_path="socket.io")
    store = open_store(config.store.url)
    limits = Limits(group_max=config.signaling.group_max,
                    default_timeout=config.signaling.default_timeout,
                    max_timeout=config.signaling.max_timeout)
    switchboard = Switchboard(store, limits, time.time)
    recorder = Recorder(config.recordings_dir)
    center = ContactCenter(config, switchboard, plugins, recorder)
    database = Database(config.database.url, config.base_dir)
    history = History(database, config.database.node,
                      **({"offload": offload} if offload is not None else {}),
                      spawn=socketio.start_background_task, sleep=socketio.sleep,
                      write_interval=config.database.write_interval)
    metrics = Metrics(center, plugins)
    signaling = Signaling(socketio, config, store, switchboard, center, plugins, history, metrics)
    shared = open_shared_state(store, Cluster.node_name(config.database.node))
    cluster = None if shared is None else Cluster(socketio, shared, signaling, history)
    if cluster is not None:
        signaling.relay = cluster
        switchboard.clock.guard = cluster.guard
    services = Services(Outbox(history), socketio.start_background_task, socketio.sleep)
    settings = LiveSettings(center, plugins, history)
    signaling.on_tick.append(settings.poll)
    _add_routes(app, config, plugins, recorder, history, store)
    _add_contact_center_routes(app, config, plugins, center)
    _add_recording_routes(app, config, recorder, history)
    add_api_routes(app, config, center, history)
    add_admin_routes(app, config, settings)
    _add_metrics_route(app, config, metrics)
    if config.server.trusted_proxies:
        # Outermost, around Socket.IO's middleware too: every request sees the client's address.
        n = config.server.trusted_proxies
        # X-Forwarded-Prefix too: a proxy serving the server under a sub-path says which.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n,  # type: ignore
                                x_prefix=n)
    return Runtime(app, socketio, plugins, signaling, history, services, store, settings,
                   cluster)


def _add_routes(app: Flask, config: Config, plugins: PluginHost, recorder: Recorder,
                history: History, store: Store) -> None:
    demo_limiter = MovingWindowRateLimiter(MemoryStorage())
    demo_rate = parse_rate(DEMO_CREDENTIAL_RATE)

    @app.errorhandler(StoreUnavailable)
    def store_unavailable(exc: StoreUnavailable) -> Any:
        """Any view that needs the live-state store while it is out of reach: 503, with the
        code Socket.IO requests are answered with (the store logged the outage once)."""
        return jsonify(ok=False, error=exc.as_dict()), 503, {"Retry-After": "1"}

    @app.get("/healthz")
    def healthz() -> Any:
        # A load balancer stops sending clients to a server whose store is gone (503 UNAVAILABLE).
        store.ping()
        workers = [{"id": w.id, "name": w.name, "capacity": w.capacity, "jobs": len(w.jobs),
                    "app": w.app_id or SHARED} for w in recorder.workers.values()]
        return jsonify(ok=True, plugins={"failures": plugins.failure_counts()},
                       mediaWorkers=workers, history=history.status())

    @app.get("/ping")
    def ping() -> Any:
        # The SDK's pre-call check times its round trip to the server from the business's page:
        # any origin may read this empty answer (unlike /healthz's details).
        response = jsonify(ok=True)
        response.headers["Access-Control-Allow-Origin"] = "*"
        response.headers["Cache-Control"] = "no-store"
        return response

    # The OpenAPI document rendered by Swagger UI (from npm).
    _serve_folder(app, "/api/docs/vendor", WEB_ROOT / "node_modules" / "swagger-ui-dist")
    _serve_folder(app, "/api/docs", WEB_ROOT / "api-docs", index=True)

    # Browsers fetch module scripts in CORS mode, and the widget imports the SDK from other
    # sites' pages: the SDK is public code, so any origin may load it.
    _serve_folder(app, "/sdk/vendor", SOCKET_IO_CLIENT, public=True)
    _serve_folder(app, "/sdk", WEB_ROOT / "sdk", public=True)
    _serve_folder(app, "/ui", WEB_ROOT / "ui", public=True)
    # Hold music: the widget on other sites plays it (and a test reads it) from a page of theirs.
    _serve_folder(app, "/music", WEB_ROOT / "music", public=True)
    _serve_folder(app, "/demo", WEB_ROOT / "demo", index=True)

    @app.post("/demo/credential")
    def demo_credential() -> Any:
        app_config = config.app(config.server.demo_app) if config.server.demo_app else None
        if app_config is None:
            abort(404)
        if not demo_limiter.hit(demo_rate, "demo-credential", request.remote_addr or "-"):
            return _http_error(429, "RATE_LIMITED", f"at most {DEMO_CREDENTIAL_RATE}")
        body = request.get_json(silent=True)
        if not isinstance(body, dict) or set(body) != {"userID"}:
            return _http_error(400, "BAD_REQUEST", "send {\"userID\": \"...\"}")
        try:
            token = mint(app_config.id, app_config.secret, body["userID"], Role.CUSTOMER,
                         app_config.token_ttl)
        except (Refused, TypeError):
            return _http_error(400, "BAD_USER_ID",
                               "user id must match [A-Za-z0-9_-], 1 to 32 characters")
        return jsonify(ok=True, userSig=token, appId=app_config.id, userID=body["userID"])


def _serve_folder(app: Flask, url: str, folder: Path, index: bool = False,
                  public: bool = False) -> None:
    """Serve the files of ``folder`` under ``url``; ``index`` serves index.html at ``url`` itself,
    ``public`` lets pages of any origin load them."""
    endpoint = "files" + url.replace("/", "_")

    def files(name: str = "index.html") -> Any:
        response = send_from_directory(folder, name)
        if public:
            response.headers["Access-Control-Allow-Origin"] = "*"
        return response

    app.add_url_rule(f"{url}/<path:name>", endpoint, files)
    if index:
        app.add_url_rule(url, endpoint + "_index", files)
        # The pages name their files relative to themselves, so that they work under a proxy's
        # sub-path too: with a trailing slash those would resolve one folder too deep. The
        # redirect is relative as well, for the same reason.
        leaf = url.rsplit("/", 1)[-1]
        app.add_url_rule(url + "/", endpoint + "_index_slash",
                         lambda: redirect(f"../{leaf}", code=308))


def _http_error(status: int, code: str, message: str) -> Any:
    return jsonify(ok=False, error={"code": code, "message": message}), status


def _add_contact_center_routes(app: Flask, config: Config, plugins: PluginHost,
                               center: ContactCenter) -> None:
    limiter = MovingWindowRateLimiter(MemoryStorage())
    credential_rate = parse_rate(config.contact_center.customer_credential_rate)
    login_rate = parse_rate(config.contact_center.agent_login_rate)

    # The widget is loaded by other sites' pages.
    _serve_folder(app, "/widget", WEB_ROOT / "widget", public=True)
    _serve_folder(app, "/console", WEB_ROOT / "console", index=True)
    _serve_folder(app, "/console/vendor/chart.js", WEB_ROOT / "node_modules" / "chart.js" / "dist")

    @app.route("/api/customer-credential", methods=["POST", "OPTIONS"])
    def customer_credential() -> Any:
        origin = request.headers.get("Origin", "")
        body = request.get_json(silent=True) if request.method == "POST" else None
        app_id = body.get("appId") if isinstance(body, dict) else request.args.get("appId")
        # The CORS header goes on refusals too, so a widget can read why it was refused; the
        # answer itself reveals nothing and grants nothing.
        cors = {"Access-Control-Allow-Origin": origin or "*", "Vary": "Origin",
                "Access-Control-Allow-Methods": "POST",
                "Access-Control-Allow-Headers": "Content-Type"}
        allowed = {o for a in config.apps for o in a.allowed_origins}
        if origin not in allowed:
            return (*_http_error(403, "FORBIDDEN_ORIGIN",
                                 "this origin may not ask for credentials"), cors)
        if request.method == "OPTIONS":
            return "", 204, cors
        app_config = config.app(app_id) if isinstance(app_id, str) else None
        if app_config is None or origin not in app_config.allowed_origins:
            return (*_http_error(403, "FORBIDDEN_ORIGIN",
                                 "this origin may not ask for this app's credentials"), cors)
        if not limiter.hit(credential_rate, "customer-credential", request.remote_addr or "-"):
            return (*_http_error(429, "RATE_LIMITED", "too many credentials; wait a minute"),
                    cors)
        name = body.get("name", "") if isinstance(body, dict) else ""
        if set(body) - {"appId", "name"} or not isinstance(name, str) or len(name) > 64:
            return (*_http_error(400, "BAD_REQUEST", "send {appId, name?} (name ≤ 64 chars)"),
                    cors)
        user_id = "c_" + secrets.token_hex(8)
        ttl = app_config.customer_token_ttl
        token = mint(app_config.id, app_config.secret, user_id, Role.CUSTOMER, ttl)
        return jsonify(ok=True, appId=app_config.id, userID=user_id, userSig=token,
                       expiresIn=ttl), 200, cors

    @app.post("/api/agent-login")
    def agent_login() -> Any:
        body = request.get_json(silent=True)
        if not isinstance(body, dict) or set(body) != {"appId", "agentId", "password"} or \
                not all(isinstance(v, str) for v in body.values()):
            return _http_error(400, "BAD_REQUEST", "send {appId, agentId, password}")
        # Failures are counted per account and address, successes not at all: a whole office
        # behind one NAT logs in at nine, while guessing one account's password stays slow and
        # another account is not locked out by it. Checked before the password, so a locked
        # account's right password is refused too (no oracle); counted only after a failure.
        attempt = ("agent-login", body["appId"][:64], body["agentId"][:64],
                   request.remote_addr or "-")
        if not limiter.test(login_rate, *attempt):
            return _http_error(429, "RATE_LIMITED", "too many failed logins; wait a minute")
        # The settings as they are now: agents and supervisors are administered while it runs.
        app_config = center.config.app(body["appId"])
        # Supervisors log in here too (their ids are never agents'); the answer's `role` says
        # which console to show.
        person = (app_config.agent(body["agentId"]) or app_config.supervisor(body["agentId"])
                  ) if app_config else None
        # Asked even for an unknown id, so that refusing one takes as long as a wrong password.
        signed_in = plugins.authenticate(body["appId"][:64], body["agentId"][:64],
                                         body["password"])
        if not signed_in or person is None or app_config is None:
            limiter.hit(login_rate, *attempt)
            return _http_error(401, "BAD_LOGIN", "unknown agent or wrong password")
        role = Role.AGENT if app_config.agent(person.id) else Role.SUPERVISOR
        token = mint(app_config.id, app_config.secret, person.id, role,
                     app_config.agent_token_ttl)
        return jsonify(ok=True, appId=app_config.id, userID=person.id, userSig=token,
                       name=person.name or person.id, role=role.value,
                       queues=getattr(person, "queues", [q.name for q in app_config.queues]),
                       admin=bool(getattr(person, "admin", False)),
                       dispositions=[r.model_dump() for r in app_config.dispositions],
                       breakReasons=[r.model_dump() for r in app_config.break_reasons])


def _add_metrics_route(app: Flask, config: Config, metrics: Metrics) -> None:
    @app.get("/metrics")
    def prometheus() -> Any:
        settings = config.metrics
        if not settings.enabled:
            abort(404)
        if settings.token is not None and not secrets.compare_digest(
                bearer_token(request.headers.get("Authorization", "")) or "", settings.token):
            return _http_error(401, "AUTH_REQUIRED", "send Authorization: Bearer <metrics token>")
        return metrics.exposition(), 200, {"Content-Type": CONTENT_TYPE_LATEST}


def _add_recording_routes(app: Flask, config: Config, recorder: Recorder,
                          history: History) -> None:
    def visible(who: Identity, scope: Scope, call_id: str) -> dict[str, Any]:
        """The index record of ``call_id`` if ``who`` may hear it: all of their app's (APP), or
        only calls they took part in (OWN: a leg of the recording, or the call's agent)."""
        record = recorder.record(who.app_id, call_id)  # another app's call: not found
        if record is not None and scope is Scope.OWN and who.user_id not in record["legs"]:
            call = history.read(history.database.get_call, who.app_id, call_id[:64])
            if call is None or call["agent"] != who.user_id:
                record = None
        if record is None:
            raise ApiError(404, "NOT_FOUND", "no recording of that call")
        return record

    @endpoint(app, config, "GET /api/recordings/{callId}")
    def recording_record(who: Identity, scope: Scope, call_id: str) -> Any:
        return jsonify(ok=True, **visible(who, scope, call_id))

    @endpoint(app, config, "GET /api/recordings/{callId}/audio", links=True)
    def recording_audio(who: Identity, scope: Scope, call_id: str) -> Any:
        path = recorder.path_of(visible(who, scope, call_id))
        if not path.is_file():
            raise ApiError(404, "NOT_FOUND", "the recording's file is gone")
        # conditional=True answers Range requests with 206 Partial Content.
        return send_file(path, mimetype=recorder.media_type(path), conditional=True,
                         download_name=f"{call_id}{path.suffix}")
