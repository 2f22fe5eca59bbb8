"""Run the server under eventlet: everything eventlet-specific lives in this module.

Eventlet is in bugfix-only maintenance; keeping it here means another async mode could replace it
without touching the domain or the adapters.
"""

from __future__ import annotations

import os
import warnings

# Eventlet warns on import that it is in maintenance mode; that is known (see the module doc).
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
# Database work runs in eventlet's thread pool (see run): one thread, so every database operation
# runs one at a time, in the order it was asked for, and SQLAlchemy's locks (made green by the
# monkey patching) are never contended by two OS threads.
os.environ["EVENTLET_THREADPOOL_SIZE"] = "1"

import eventlet  # noqa: E402

eventlet.monkey_patch()

import errno  # noqa: E402
import gc  # noqa: E402
import importlib.util  # noqa: E402
import logging  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import ssl  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import eventlet.hubs  # noqa: E402
import eventlet.patcher  # noqa: E402
import eventlet.tpool  # noqa: E402
import eventlet.wsgi  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.exc import SQLAlchemyError  # noqa: E402

from callcenter.config import Config  # noqa: E402
from callcenter.domain.credentials import SHARED, Role, mint  # noqa: E402
from callcenter.domain.store import Store, StoreUnavailable  # noqa: E402
from callcenter.history.recordings import Recorder  # noqa: E402
from callcenter.hooks.host import PluginHost  # noqa: E402
from callcenter.server import (  # noqa: E402
    heartbeat,
    snapshot,
    websocket_reader,
    websocket_writer,
)
from callcenter.server.app import WEB_ROOT, Runtime, create_app  # noqa: E402
from callcenter.server.tls import TlsError, server_context  # noqa: E402
from callcenter.store import redacted  # noqa: E402

log = logging.getLogger("callcenter.server.serve")
# Log records do not name their thread: no format of ours shows it, and under eventlet asking for
# it (threading.current_thread) made and kept a thread object for every greenlet that logged.
logging.logThreads = False

# At most this long a graceful stop waits for the outcomes being delivered (their timers are set
# last) before it takes the restart snapshot; requests are served meanwhile.
DRAIN_SECONDS = 1.0


def run(config: Config, plugins: PluginHost, host: str, port: int) -> None:
    # SQLite and psycopg2 calls block the OS thread: they run in the pool, and only the greenlet
    # that asked waits for them.
    runtime = create_app(config, plugins, async_mode="eventlet", offload=eventlet.tpool.execute)
    # Pings from hub timers, not a sleeping greenlet per connection (memory and CPU per client).
    heartbeat.install(runtime.socketio.server.eio)
    # Packets written by the greenlet that sends them; a writer greenlet only while some wait.
    # Websockets read from the hub: their connection's greenlet ends once they are up, its place
    # in the count of connections kept.
    connections = websocket_reader.ConnectionPool(config.server.max_connections)
    websocket_writer.install(runtime.socketio.server.eio, connections)
    # Media workers are started only where something may be recorded: a plugin answers
    # callcenter_should_record (the stock `recording` plugin, or one of the operator's own).
    records = bool(plugins.pm.hook.callcenter_should_record.get_hookimpls())
    child_workers = config.recording.workers if records else 0
    missing = missing_media_packages() if child_workers else []
    if missing:
        log.error("recording is enabled but the media worker needs %s, which is not installed: "
                  "pip install 'callcenter[media]' (or set [recording] workers = 0 and run "
                  "`callcenter media` where it is installed)", " and ".join(missing))
        sys.exit(2)
    listener, scheme = _open_listener(config, host, port)
    # The port first: a second server started by mistake must stop before it touches the
    # database, where it would close the first one's live calls as interrupted.
    _check_store(runtime.store, config.store.url)
    snapshot_path = config.snapshot_path if snapshot.supported(runtime) else None
    # The administered settings before the snapshot: its agents and queues are theirs.
    _open_database(runtime, runtime.open_settings)
    saved, kept = _take_back(runtime, snapshot_path, config.signaling.resume_window)
    _open_database(runtime, lambda: runtime.open_database(kept))
    snapshot.discard(snapshot_path if saved is not None else None)
    # Known before a signal can arrive: a SIGTERM during the plugins' start-up stops them too.
    workers: list[_ChildWorker] = []

    def graceful_exit() -> None:
        # eventlet's server waits for every open websocket before it returns, so the process
        # closes the sessions itself, runs the shutdown hooks and leaves.
        log.info("callcenter stopping")
        _close_connections(runtime, kept=_hand_over(runtime, snapshot_path))
        for worker in workers:
            worker.stop()
        eventlet.sleep(0.2)
        # The calls those disconnects ended are written before the process goes.
        try:
            runtime.history.flush()
        except Exception:
            log.exception("writing the last history changes failed")
        plugins.shutdown()
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)

    # A signal handler cannot wake eventlet's hub (the interrupted poll is simply retried), so it
    # writes to a pipe that a greenlet is waiting on.
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_read, False)
    os.set_blocking(wake_write, False)
    write_unpatched = eventlet.patcher.original("os").write

    def wait_for_signal() -> None:
        eventlet.hubs.trampoline(wake_read, read=True)
        graceful_exit()

    eventlet.spawn(wait_for_signal)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: write_unpatched(wake_write, b"x"))
    plugins.startup(runtime.services)
    snapshot.resume_sessions(runtime, saved)
    for event in runtime.interrupted:  # in the event log already; webhooks want them too
        plugins.call_event(event)
    runtime.signaling.start_clock()
    eventlet.spawn(_expire_recordings, runtime.signaling.recorder,
                   config.recording.retention_days)
    bound = listener.getsockname()
    log.info("callcenter listening on %s://%s:%d (demo: /demo, agent console: /console, "
             "SDK: /sdk/callcenter.js)", scheme, bound[0], bound[1])
    if config.server.shop_demo_port:
        _serve_shop_demo(host, config.server.shop_demo_port, f"http://{host}:{bound[1]}")
    # The children record every app's calls: their credential is signed with the server's
    # shared-worker secret.
    workers += [_ChildWorker(config, runtime.signaling.shared_worker_secret,
                             f"{scheme}://127.0.0.1:{bound[1]}", i) for i in range(child_workers)]
    for worker in workers:
        eventlet.spawn(worker.keep_running)
    tune_gc()
    # debug=False: eventlet's default sends a failing request's traceback to the client.
    eventlet.wsgi.server(listener, runtime.app, log_output=False, debug=False,
                         custom_pool=connections,
                         protocol=_TlsProtocol if scheme == "https" else _HttpProtocol)


def _open_listener(config: Config, host: str, port: int) -> tuple[socket.socket, str]:
    """The server's listening socket, with TLS when the config asks for it, and its scheme."""
    tls = _tls_context(config)
    listener = _listen(host, port)
    # eventlet leaves Nagle on: an ack followed by a relayed message to the same client would
    # wait ~40 ms for the peer's delayed ACK. Accepted sockets inherit this option.
    listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if tls is None:
        return listener, "http"
    # eventlet's green SSL socket accepts without the handshake, which then runs in the
    # connection's own greenlet: a slow or silent client cannot hold up the accept loop.
    return tls.wrap_socket(listener, server_side=True), "https"


class _HttpProtocol(eventlet.wsgi.HttpProtocol):
    """eventlet's HTTP protocol with small buffers. Each connection keeps its protocol object,
    and with it a read buffer (8 KiB by default) and a write buffer (16 KiB) for as long as it
    is open, though a websocket reads and writes the raw socket once upgraded: at 3,000 idle
    clients those were a third of the server's memory per client. Only the request head and
    short responses go through them; a larger write passes the buffer by. 512 bytes: buffers
    that size come from Python's small-object pools, not malloc (~3 KiB less per connection
    than 2 KiB ones); a browser's request head is read in two or three reads."""

    rbufsize = 512
    wbufsize = 512


class _TlsProtocol(_HttpProtocol):
    """HTTP over TLS: the handshake runs first, in the connection's greenlet. eventlet lets a
    failed one (no shared cipher, plain HTTP sent to the TLS port, a scanner) escape as a
    traceback from its hub; here it is one log line, and the connection is closed."""

    def handle(self) -> None:
        try:
            self.request.do_handshake()
            super().handle()
        except ssl.SSLError as exc:
            self.close_connection = True
            log.info("TLS with %s failed: %s", self.client_address[0], exc.reason or exc)


def _tls_context(config: Config) -> ssl.SSLContext | None:
    """The TLS context of ``[server] tls_cert``/``tls_key``, or exit 2 with one line."""
    files = config.tls_files
    if files is None:
        return None
    try:
        return server_context(*files)
    except TlsError as exc:
        log.error("%s", exc)
        sys.exit(2)


def _open_database(runtime: Runtime, step: Callable[[], None]) -> None:
    """Run ``step`` on the database, or stop with one line if it cannot be opened."""
    try:
        step()
    except SQLAlchemyError as exc:
        # Unreachable, wrong password, not a database: say so in one line and stop.
        url = make_url(runtime.history.database.url).render_as_string(hide_password=True)
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        log.error("cannot open the database %s: %s", url, reason)
        sys.exit(2)  # a snapshot taken back stays for the next start within the window


def _take_back(runtime: Runtime, path: Path | None, window: float
               ) -> tuple[dict[str, Any] | None, frozenset[tuple[str, str]]]:
    """The restart snapshot, if one can be used, taken back into the store and the contact
    center; and the calls it brought back, which the history keeps open."""
    saved = snapshot.load(path, window) if path is not None else None
    if saved is None:
        return None, frozenset()
    try:
        return saved, snapshot.restore(runtime, saved)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        log.warning("ignoring the restart snapshot %s: its contents do not fit (%s: %s); calls "
                    "left open are closed as interrupted", path, type(exc).__name__, exc)
        snapshot.forget(runtime)
        snapshot.discard(path)
        return None, frozenset()


def _write_snapshot(runtime: Runtime, path: Path | None) -> bool:
    """Stop taking connections, let the deliveries under way finish, then write the live state
    for the next start (callcenter.server.snapshot) and freeze it: whether it was written (never
    with resuming off: clients could not come back to it)."""
    signaling = runtime.signaling
    if path is None or signaling.resumption.window <= 0:
        return False
    signaling.restarting = True
    started = time.monotonic()
    eventlet.sleep(0)
    while signaling.delivering and time.monotonic() - started < DRAIN_SECONDS:
        eventlet.sleep(0.005)
    if signaling.delivering:
        log.warning("taking the restart snapshot with %d deliveries under way: their timers "
                    "may be missing", signaling.delivering)
    started = time.monotonic()
    try:
        state = snapshot.capture(runtime)
        text = snapshot.encode(state)
        # No greenlet runs from here to the write's end: nothing can change after the capture.
        signaling.frozen = True
        snapshot.write(path, text)
    except Exception:
        log.exception("writing the restart snapshot %s failed: the calls end now", path)
        signaling.frozen = signaling.restarting = False
        return False
    log.info("wrote the live state to %s in %.0f ms (%d calls, %d sessions): a start within "
             "%g s takes it back", path, (time.monotonic() - started) * 1000,
             len(snapshot.live_calls(state)), len(state["sessions"]), signaling.resumption.window)
    return True


def _hand_over(runtime: Runtime, path: Path | None) -> bool:
    """Before the connections close: whether their calls go on after this process. On a shared
    store the other processes carry them on (the clients reconnect to one and resume, and one
    takes over what this process held); alone, the restart snapshot keeps them for the next
    start."""
    if runtime.cluster is not None:
        # Once no step of this process is half done, it takes none: a connection closing now
        # changes nothing, and the process that takes it over suspends its session.
        with runtime.signaling.clock.step():
            runtime.signaling.restarting = runtime.signaling.frozen = True
        runtime.cluster.retire()
        return True
    return _write_snapshot(runtime, path)


def _close_connections(runtime: Runtime, kept: bool) -> None:
    """Close every connection: after a restart snapshot only the transports (the sessions and
    their calls go on in the next process), otherwise the sessions, which ends their calls."""
    for sid in list(runtime.signaling.sessions):
        if kept:
            runtime.signaling.drop_connection(sid)
        else:
            runtime.socketio.server.disconnect(sid)


def _listen(host: str, port: int) -> socket.socket:
    """The listening socket, or exit 2 with one line if the port is taken.

    eventlet sets SO_REUSEPORT by default, so a second server on the same port would start
    without a word and the kernel would split the clients between two processes with separate
    state: agents and customers would never meet. Without it, the bind fails as it should.
    """
    try:
        return eventlet.listen((host, port), reuse_port=False)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            log.error("cannot listen on %s:%d: the port is in use (another callcenter, or "
                      "another program); stop it or choose another --port", host, port)
        else:
            log.error("cannot listen on %s:%d: %s", host, port, exc.strerror or exc)
        sys.exit(2)


def _check_store(store: Store, url: str) -> None:
    """Exit 2 with one line if the live-state store cannot be reached: a server without it could
    answer nothing but UNAVAILABLE. (Lost later, the server stays up and recovers with it.)"""
    try:
        store.ping()
    except StoreUnavailable as exc:
        log.error("cannot reach the store %s: %s", redacted(url), exc.reason)
        sys.exit(2)


def missing_media_packages() -> list[str]:
    """The packages a media worker imports that this Python lacks (without importing them:
    aiortc is heavy, and the server itself never uses it)."""
    missing = []
    for name in ("aiortc", "aiohttp"):
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            missing.append(name)
    return missing


# Python's default thresholds (700, 10, 10) made a full collection every few seconds under load:
# each connection keeps ~200 framework objects (greenlets, timers, sockets), so at 3,000 clients
# a full pass took ~0.4 s and set the call-setup p99. Young collections every 10,000 allocations
# let short-lived objects die young; full collections become rare (garbage cycles in old objects,
# e.g. of closed connections, wait longer to be freed).
GC_THRESHOLDS = (10_000, 50, 1000)


def tune_gc() -> None:
    """Once started: everything allocated so far (modules, config, app) lives as long as the
    process, so it leaves the collector's generations; then the thresholds above."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def _serve_shop_demo(host: str, port: int, callcenter_url: str) -> None:
    """An example business page on a second origin, embedding the widget with one script tag."""
    page = (WEB_ROOT / "shop" / "index.html").read_text().replace("{{CALLCENTER}}",
                                                                   callcenter_url).encode()

    def shop(environ: dict, start_response: Callable) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8"),
                                  ("Content-Length", str(len(page)))])
        return [page]

    listener = _listen(host, port)
    eventlet.spawn(eventlet.wsgi.server, listener, shop, log_output=False, debug=False)
    log.info("example shop page with the widget on http://%s:%d", host, port)


class _ChildWorker:
    """A media worker run as a child process in the single-machine setup, restarted if it dies.

    It records every app's calls: its service credential is signed with the server's
    shared-worker secret, minted here and handed over in the environment, so it never appears on
    a command line.
    """

    RESTART_DELAY = 1.0
    TOKEN_TTL = 30 * 86400

    def __init__(self, config: Config, shared_secret: str, server_url: str, index: int) -> None:
        self.config = config
        self.shared_secret = shared_secret
        self.server_url = server_url
        self.name = f"child-{index + 1}"
        self.process: subprocess.Popen | None = None
        self.stopping = False

    def start(self) -> None:
        token = mint(SHARED, self.shared_secret, f"media-{self.name}", Role.SERVICE,
                     self.TOKEN_TTL)
        env = dict(os.environ, CALLCENTER_SERVICE_TOKEN=token)
        # Over TLS the child connects to 127.0.0.1, which the certificate does not name: it
        # skips the check, as it may for its own parent on the same machine (the credential
        # it sends came from this process's memory anyway).
        tls = ["--no-verify-tls"] if self.server_url.startswith("https:") else []
        # The children write to the server's own output: in its format, at its level.
        server = self.config.server
        self.process = subprocess.Popen(
            [sys.executable, "-m", "callcenter", "media", "--server", self.server_url,
             "--app", SHARED, "--name", self.name, *tls, "--log-format", server.log_format,
             "--log-level", server.log_level,
             "--capacity", str(self.config.recording.worker_capacity)], env=env)
        log.info("started media worker %s (pid %d)", self.name, self.process.pid)

    def keep_running(self) -> None:
        while not self.stopping:
            if self.process is None or self.process.poll() is not None:
                if self.process is not None:
                    log.warning("media worker %s exited with %s; restarting", self.name,
                                self.process.returncode)
                    eventlet.sleep(self.RESTART_DELAY)
                    if self.stopping:
                        return
                self.start()
            eventlet.sleep(0.5)

    def stop(self) -> None:
        self.stopping = True
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()


def _expire_recordings(recorder: Recorder | None, retention_days: int) -> None:
    """Delete recordings past the retention period: at start, then once an hour."""
    if recorder is None or retention_days <= 0:
        return
    while True:
        try:
            removed = recorder.expire(retention_days)
            if removed:
                log.info("deleted %d recordings older than %d days", removed, retention_days)
        except OSError:
            log.exception("deleting old recordings failed; trying again in an hour")
        eventlet.sleep(3600)
