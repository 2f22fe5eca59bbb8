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
packet to Engine.IO and ends. Nothing of the connection is on a stack while it is idle. The
listener stays for the connection's life and is taken off the hub only while a reading greenlet
waits (for the rest of a frame, or inside a handler): taking it off and adding it again for
every message was two ``epoll_ctl`` calls and a listener object per message, 4 % of the server's
CPU at 50 calls/s.

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
            and not ws.websocket_closed)  # exactly eventlet's classes, whose reads detach knows


_READ_SIZE = 16384


def unmask(data: bytes, mask: bytes, length: int | None = None, offset: int = 0) -> bytes:
    """The first `length` bytes of `data` XORed with the 4-byte `mask`, from its byte
    `offset` % 4 on (RFC 6455, 5.3): eventlet's ``_apply_mask``, in C."""
    if length is None:
        length = len(data)
    if length <= 0:
        return b""
    start = offset % 4
    mask = bytes(mask)  # eventlet unpacks it into a tuple of ints
    key = (mask[start:] + mask[:start]) * (length // 4 + 1)
    return (int.from_bytes(data[:length], "little")
            ^ int.from_bytes(key[:length], "little")).to_bytes(length, "little")


class BufferedSocket(GreenSocket):
    """eventlet's green socket, whose reads take what has arrived (up to 16 KiB) and keep what
    was not asked for: eventlet's websocket reads the header, the mask and the payload of every
    frame in a ``recv`` each. `buffered`: bytes are waiting here, which the hub cannot see."""

    _rest = b""
    # Called before a read waits on the hub: the hub reader's own listener must be off first
    # (eventlet allows one reader per descriptor).
    before_wait: Callable[[], None] | None = None

    @property
    def buffered(self) -> bool:
        return bool(self._rest)

    def _read_trampoline(self) -> None:
        if self.before_wait is not None:
            self.before_wait()
        super()._read_trampoline()

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        data = self._rest
        if not data:
            data = super().recv(max(bufsize, _READ_SIZE), flags)
            if len(data) <= bufsize:
                return data
        self._rest = data[bufsize:]
        return data[:bufsize]


class Websocket(RFC6455WebSocket):
    """eventlet's RFC 6455 websocket as the hub reads it: on a `BufferedSocket`, a client's frames
    unmasked by one integer XOR (eventlet's makes a bytes object per byte)."""

    socket: BufferedSocket
    _apply_mask = staticmethod(unmask)

    @property
    def buffered(self) -> bool:
        """Messages may be waiting in the socket's buffer."""
        return self.socket.buffered

    def wait(self) -> Any:
        """The next message (None: closed), as eventlet's ``wait``, from a frame loop made for
        it and closed after it: eventlet keeps one loop for the connection's life, and with it
        the last message's objects (its decoders) until the next message, seconds later; at
        thousands of clients those were most of what each garbage collection pass went
        through."""
        frames = self._iter_frames()
        try:
            return next(frames, None)
        finally:
            frames.close()


def detach(ws: RFC6455WebSocket) -> Websocket:
    """A websocket on `ws`'s connection that eventlet's server no longer holds: the OS socket is
    taken from eventlet's socket object, and `ws` is left closed (eventlet sends no closing frame
    for it when the handler returns). Call it between messages (`can_take` first)."""
    old = ws.socket
    sock = os_socket.socket(fileno=old.fd.detach())  # eventlet's object now wraps nothing
    green = BufferedSocket(sock)
    green.settimeout(old.gettimeout())
    new = copy.copy(ws)  # the same deflate state, send lock, extensions
    new.__class__ = Websocket
    new.socket = green
    new.iterator = None  # its wait() makes a frame loop per message
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
                 "_done", "_reading", "_in_hub", "_listen_after", "_callbacks")

    def __init__(self, ws: Websocket, wait: Callable[[], Any],
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
        self._reading = False  # a reading greenlet is alive (running, or waiting)
        self._in_hub = False  # a reading greenlet runs, switched to by the hub's callback
        self._listen_after = False  # its listener was off: listen again once it has ended
        self._callbacks = (self._readable, self._obsoleted)

    def start(self) -> None:
        self._ws.socket.before_wait = self._unlisten
        # From the hub's greenlet: the listener keeps a reference to the greenlet that added it
        # for the connection's life, and this one (eventlet's, for the HTTP request) would
        # stay with all it holds (measured: 1.9 KiB per idle client).
        eventlet.hubs.get_hub().schedule_call_global(0, self._listen)

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
        self._listener = hub.add(hub.READ, self._fileno, *self._callbacks, None)

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
        if self._reading:
            # The reading greenlet waits inside a handler (the step, the store): what came is
            # read when it is back, in order. Off the hub till then, or the hub would call
            # back at every turn (epoll reports a readable socket until it is read).
            self._unlisten()
            return
        hub = eventlet.hubs.get_hub()
        # Switched to now, like a greenlet whose recv waited; back here when it waits or ends.
        self._reading = True
        self._in_hub = True
        try:
            greenlet.greenlet(self._read_one, hub.greenlet).switch()
        finally:
            self._in_hub = False
        if self._listen_after:
            # Listening again from the hub's greenlet, which the listener keeps a reference
            # to: from the reading one, each idle connection would keep that greenlet too.
            self._listen_after = False
            self._listen()

    def _obsoleted(self, *_: Any) -> None:
        """In the hub: the descriptor was reused by another connection, so this one is gone."""
        self._listener = None
        eventlet.spawn_n(self._end)

    def _read_one(self) -> None:
        """What has arrived: a message, and those read with it."""
        try:
            self._read_arrived()
        finally:
            self._reading = False

    def _read_arrived(self) -> None:
        while True:
            try:
                data = self._wait()
            except Exception as e:
                log.info("reading a websocket failed, closing it: %s", e)
                data = None
            try:
                if data is None or not self._receive(data):
                    break
            except Exception:  # the reader must end the connection whatever happened
                log.exception("receiving a websocket packet failed")
                break
            if not self._ws.buffered:
                if self._listener is not None:
                    return  # still listening: it never waited
                if self._in_hub:  # back in the hub's callback, which listens again
                    self._listen_after = True
                else:
                    self._listen()
                return
        self._end()

    def _end(self) -> None:
        if self._done:
            return
        self._done = True
        self._unlisten()
        self._callbacks = ()  # they refer to this reader: no cycle left for the collector
        self._ws.socket.before_wait = None
        try:
            self._finish()
        except Exception:  # in the hub's greenlet, or a greenlet of its own: nobody else to tell
            log.exception("closing a websocket's Engine.IO socket failed")
        finally:
            self._release()
