"""Websockets read from eventlet's hub, not by a greenlet parked in ``recv`` per connection.

eventlet's WSGI server runs each connection in a greenlet of its pool. For a websocket that
greenlet stays inside the handler for as long as the client is connected, parked in ``recv``:
its saved C stack, its Python frames (eventlet's HTTP protocol, Engine.IO's request handling, the
websocket's frame loop) and what they hold: the upgrade request's parsed headers, the HTTP read
and write buffers, the environ's input. At 10,000 idle clients that was over a third of the
server's memory per client.

``take_over`` lets that greenlet end and keeps the connection. The OS socket is detached from
eventlet's socket object (whose ``shutdown`` and ``close``, run by eventlet's server as the
greenlet ends, then touch nothing) and wrapped anew; a ``READ`` listener on the hub watches it.
When the client sends, the hub switches into a new greenlet that reads the frame, hands the
packet to Engine.IO, listens again and ends. Nothing of the connection is on a stack while it
is idle.

The connection keeps its place in the server's count (``ConnectionPool``): eventlet's pool
counted it by its greenlet, and ``[server] max_connections`` still bounds what is open.

Only plain-TCP RFC 6455 websockets are taken over (TLS sockets buffer decrypted bytes the hub
cannot see; they keep the reading greenlet), and only between messages: a frame that arrives in
pieces, or a control frame (whose reading goes on to the next message), is waited for by the
greenlet reading it, with the socket's timeout.

Reaches into internals; on upgrading eventlet, check: ``GreenSocket`` binds ``close``,
``shutdown`` and ``fileno`` to the OS socket it wraps (``fd``) and ``wsgi.server`` shuts down and
closes that object when the connection's greenlet ends; ``RFC6455WebSocket`` reads through its
``iterator`` (``_iter_frames``) and ``socket``, and ``WebSocketWSGI`` sends a closing frame after
the handler returns unless ``websocket_closed``; the hub's ``add``/``remove`` of ``READ``
listeners; ``GreenPool``'s ``sem`` and ``_spawn_done``; the environ keys eventlet adds
(``eventlet.input``, ``eventlet.set_idle``).
"""

from __future__ import annotations

import copy
import io
import logging
import socket as os_socket
from collections.abc import Callable
from typing import Any

import eventlet
import eventlet.hubs
import greenlet
from eventlet.greenio import GreenSocket
from eventlet.websocket import RFC6455WebSocket

log = logging.getLogger(__name__)


class ConnectionPool(eventlet.GreenPool):
    """eventlet's pool of connection greenlets (``wsgi.server(custom_pool=...)``) that also
    counts the websockets whose greenlet has ended: ``size`` bounds both together, so the server
    stops accepting when that many are open, as eventlet's own pool does."""

    def __init__(self, size: int) -> None:
        super().__init__(size)
        self._kept: set[Any] = set()

    @property
    def open(self) -> int:
        """Connections open: greenlets running and websockets kept."""
        return self.size - self.sem.balance

    def keep_current(self) -> Callable[[], None]:
        """The calling pool greenlet is about to end, its connection not: the connection keeps
        the greenlet's slot until the function returned is called (once; later calls do
        nothing)."""
        self._kept.add(greenlet.getcurrent())
        released = False

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                super(ConnectionPool, self)._spawn_done(None)

        return release

    def _spawn_done(self, coro: Any) -> None:
        if coro in self._kept:  # its connection lives on: the slot stays taken
            self._kept.discard(coro)
            self.coroutines_running.discard(coro)
            return
        super()._spawn_done(coro)


def can_take(ws: Any) -> bool:
    """Whether `ws` (a websocket, or a wrapper with a ``websocket`` property) can be read from
    the hub: a plain-TCP RFC 6455 websocket, still open."""
    ws = getattr(ws, "websocket", ws)
    return (type(ws) is RFC6455WebSocket and type(ws.socket) is GreenSocket
            and not ws.websocket_closed)


def detach(ws: RFC6455WebSocket) -> RFC6455WebSocket:
    """A websocket on `ws`'s connection that eventlet's server no longer holds: the OS socket is
    taken from eventlet's socket object, and `ws` is left closed (eventlet sends no closing frame
    for it when the handler returns). Call it between messages (`can_take` first)."""
    old = ws.socket
    sock = os_socket.socket(fileno=old.fd.detach())  # eventlet's object now wraps nothing
    green = GreenSocket(sock)
    green.settimeout(old.gettimeout())
    new = copy.copy(ws)  # the same deflate state, send lock, extensions
    new.socket = green
    new.iterator = new._iter_frames()  # reads through the new socket (between messages: fresh)
    new.environ = _forget_connection(ws.environ)
    ws.websocket_closed = True
    ws.iterator = iter(())
    return new


_NO_INPUT = io.BytesIO()


def _forget_connection(environ: dict[str, Any]) -> dict[str, Any]:
    """Let go of eventlet's HTTP connection: the environ lives on in Socket.IO's session, and its
    input (the read and write buffers) and idle flag (the protocol object, with the request's
    parsed headers) would keep that alive. The request's headers, as environ keys, stay."""
    environ.pop("eventlet.input", None)
    environ.pop("eventlet.set_idle", None)
    environ["wsgi.input"] = _NO_INPUT  # a websocket's upgrade request has no body
    return environ


class HubReader:
    """Reads one Engine.IO socket's websocket from the hub (see the module's docstring).

    `wait` returns the next message (``None``: the client closed), `receive` hands it to
    Engine.IO and says whether to go on reading; `finish` ends the connection's Engine.IO side,
    once, whoever ends it: the client, a failed read or write, or the server closing it."""

    __slots__ = ("_ws", "_wait", "_receive", "_finish", "_release", "_fileno", "_listener",
                 "_done")

    def __init__(self, ws: RFC6455WebSocket, wait: Callable[[], Any],
                 receive: Callable[[Any], bool], finish: Callable[[], None],
                 release: Callable[[], None]) -> None:
        self._ws = ws
        self._wait = wait
        self._receive = receive
        self._finish = finish
        self._release = release
        self._fileno = ws.socket.fileno()
        self._listener: Any = None
        self._done = False

    def start(self) -> None:
        self._listen()

    def stop(self) -> None:
        """The websocket is being closed (by its writer): stop listening before its descriptor is
        closed and given to another connection, and end the connection."""
        self._unlisten()
        if not self._done:
            eventlet.spawn_n(self._end)

    def _listen(self) -> None:
        if self._done or self._ws.websocket_closed:
            self._end()
            return
        hub = eventlet.hubs.get_hub()
        self._listener = hub.add(hub.READ, self._fileno, self._readable, self._obsoleted, None)

    def _unlisten(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            try:
                eventlet.hubs.get_hub().remove(listener)
            except (KeyError, ValueError):  # already dropped by the hub (descriptor reused)
                pass

    def _readable(self, fileno: int) -> None:
        """In the hub: the client sent something (or closed)."""
        if self._listener is None:
            return  # stopped by an earlier callback of the same poll
        hub = eventlet.hubs.get_hub()
        self._unlisten()
        # Switched to now, like a greenlet whose recv waited; back here when it waits or ends.
        greenlet.greenlet(self._read_one, hub.greenlet).switch()

    def _obsoleted(self, *_: Any) -> None:
        """In the hub: the descriptor was reused by another connection, so this one is gone."""
        self._listener = None
        eventlet.spawn_n(self._end)

    def _read_one(self) -> None:
        try:
            data = self._wait()
        except Exception as e:
            log.info("reading a websocket failed, closing it: %s", e)
            data = None
        try:
            if data is not None and self._receive(data):
                self._listen()
                return
        except Exception:  # the reader must end the connection whatever happened
            log.exception("receiving a websocket packet failed")
        self._end()

    def _end(self) -> None:
        if self._done:
            return
        self._done = True
        self._unlisten()
        try:
            self._finish()
        except Exception:  # in the hub's greenlet, or a greenlet of its own: nobody else to tell
            log.exception("closing a websocket's Engine.IO socket failed")
        finally:
            self._release()
