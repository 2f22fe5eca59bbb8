"""Run the server under eventlet: everything eventlet-specific lives in this module.

Eventlet is in bugfix-only maintenance; keeping it here means another async mode could replace it
without touching the domain or the adapters.
"""

from __future__ import annotations

import warnings

# Eventlet warns on import that it is in maintenance mode; that is known (see the module doc).
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

import eventlet  # noqa: E402

eventlet.monkey_patch()

import logging  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import sys  # noqa: E402
from collections.abc import Callable  # noqa: E402

import eventlet.hubs  # noqa: E402
import eventlet.patcher  # noqa: E402
import eventlet.wsgi  # noqa: E402

from callcenter.config import Config  # noqa: E402
from callcenter.plugin_host import PluginHost  # noqa: E402
from callcenter.server import WEB_ROOT, create_app  # noqa: E402

log = logging.getLogger("callcenter.serve")


def run(config: Config, plugins: PluginHost, host: str, port: int) -> None:
    runtime = create_app(config, plugins, async_mode="eventlet")
    listener = eventlet.listen((host, port))
    # eventlet leaves Nagle on: an ack followed by a relayed message to the same client would
    # wait ~40 ms for the peer's delayed ACK. Accepted sockets inherit this option.
    listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def graceful_exit() -> None:
        # eventlet's server waits for every open websocket before it returns, so the process
        # closes the sessions itself, runs the shutdown hooks and leaves.
        log.info("callcenter stopping")
        for sid in list(runtime.signaling.sessions):
            runtime.socketio.server.disconnect(sid)
        eventlet.sleep(0.2)
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
    plugins.startup()
    runtime.signaling.start_clock()
    bound = listener.getsockname()
    log.info("callcenter listening on http://%s:%d (demo: /demo, agent console: /console, "
             "SDK: /sdk/callcenter.js)", bound[0], bound[1])
    if config.server.shop_demo_port:
        _serve_shop_demo(host, config.server.shop_demo_port, f"http://{host}:{bound[1]}")
    eventlet.wsgi.server(listener, runtime.app, log_output=False,
                         max_size=config.server.max_connections)


def _serve_shop_demo(host: str, port: int, callcenter_url: str) -> None:
    """An example business page on a second origin, embedding the widget with one script tag."""
    page = (WEB_ROOT / "shop" / "index.html").read_text().replace("{{CALLCENTER}}",
                                                                   callcenter_url).encode()

    def shop(environ: dict, start_response: Callable) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8"),
                                  ("Content-Length", str(len(page)))])
        return [page]

    listener = eventlet.listen((host, port))
    eventlet.spawn(eventlet.wsgi.server, listener, shop, log_output=False)
    log.info("example shop page with the widget on http://%s:%d", host, port)
