"""Engine.IO's websocket writes without a writer greenlet per connection.

python-engineio (4.x, eventlet mode) gives each websocket connection a writer greenlet that waits
on the socket's packet queue for as long as the connection is open, waking for every packet. That
is a parked greenlet per idle client (~7 KiB of saved stacks, its queue waiter and timeout), and
for every packet sent a wake-up, two greenlet switches and a new timeout on the queue.

``install(eio)`` gives each socket of that Engine.IO server, as it connects, a queue that writes
itself once the websocket is up (``WriterQueue``) and a websocket handler that attaches it:

- a packet put while nothing else waits is framed and written at once, in the greenlet that sent
  it, with one non-blocking ``send``: no switch, no greenlet;
- whatever does not fit (the client's TCP buffer is full: a slow or frozen client) and every
  packet put behind it go to a writer greenlet started for them, which writes them in order and
  ends when the queue is empty. A slow client therefore never blocks the sender, as before.

Long-polling (before an upgrade, or a client that never upgrades) is untouched: until the
websocket is attached, the queue is the ordinary eventlet queue the polling requests wait on.

Reaches into internals; on upgrading, check: python-engineio's ``Socket._websocket_handler`` (the
upgrade handshake and the read loop below follow it), ``Socket.queue`` being used only through
``put``/``get``/``task_done``/``join``/``qsize`` and ``None`` meaning "close"; eventlet's
``RFC6455WebSocket._pack_message``, ``_send``, ``_sendlock``, ``socket`` (a ``GreenSocket``
whose ``fd`` is the non-blocking OS socket) and ``websocket_closed``.
"""

from __future__ import annotations

import functools
import logging
import types
from collections.abc import Callable
from typing import Any

import eventlet
from engineio import exceptions, packet
from eventlet import queue
from eventlet.greenio import GreenSocket
from eventlet.websocket import RFC6455WebSocket

from callcenter.server import websocket_reader
from callcenter.server.websocket_reader import ConnectionPool

log = logging.getLogger(__name__)

_PONG = str(packet.PONG)  # a PONG without data, as clients answer a PING


def install(eio: Any, connections: ConnectionPool | None = None) -> None:
    """Give every socket ``eio`` (an ``engineio.Server`` in eventlet mode) accepts from now on a
    self-writing queue and the websocket handler that uses it. Call it once, at start. With
    `connections` (the pool eventlet's WSGI server runs connections in), websockets are read
    from the hub once they are up (callcenter.server.websocket_reader) and their greenlet ends."""
    handle_connect = eio.handlers["connect"]
    handler = functools.partial(_websocket_handler, connections=connections)

    def connect(eio_sid: str, environ: dict[str, Any]) -> Any:
        socket = eio.sockets.get(eio_sid)
        if socket is not None:
            socket.queue = WriterQueue.taking_over(socket.queue)
            # Bound to the socket, as Engine.IO's own is (the packet guard reads __self__.sid).
            socket._websocket_handler = types.MethodType(handler, socket)
        return handle_connect(eio_sid, environ)

    eio.on("connect", connect)


class _Frame(bytes):
    """The unsent rest of a websocket frame already framed (and, with compression, already
    through the compressor): written as it is, before anything queued after it."""


class WriterQueue(queue.Queue):
    """A socket's packet queue that, once a websocket is attached, writes what is put on it."""

    def __init__(self) -> None:
        super().__init__()
        self._ws: Any = None
        self._fast = False  # plain TCP RFC 6455 websocket: the write-at-once path applies
        self._writing = False  # a writer greenlet is on its way or running
        self._closed = False
        self._on_close: Callable[[], None] | None = None

    @classmethod
    def taking_over(cls, old: queue.Queue) -> WriterQueue:
        """A new queue holding what `old` holds (the OPEN packet, at connect)."""
        new = cls()
        while True:
            try:
                item = old.get_nowait()
            except queue.Empty:
                return new
            old.task_done()
            new.put(item)

    def attach(self, ws: Any, on_close: Callable[[], None] | None = None) -> None:
        """The websocket is up: from now on this queue writes to it, and calls `on_close` before
        it closes it. A wrapper that checks what is read (the packet guard's) is looked through:
        writing needs the websocket itself."""
        ws = getattr(ws, "websocket", ws)
        self._ws = ws
        self._on_close = on_close
        self._fast = (type(ws) in (RFC6455WebSocket, websocket_reader.Websocket)
                      and type(ws.socket) in (GreenSocket, websocket_reader.BufferedSocket))
        if self.qsize():
            self._start_writer()

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        if self._closed:
            return  # the writer has closed the websocket: nothing would read it, nor join
        ws = self._ws
        if ws is None:
            super().put(item, block, timeout)  # long-polling: a request waits on get()
        elif self._writing or item is None or not self._fast or self.qsize():
            super().put(item, block, timeout)
            if not self._writing:
                self._start_writer()
        else:
            self._write_now(ws, item)

    def _write_now(self, ws: Any, pkt: Any) -> None:
        """Frame `pkt` and write what the OS takes now; queue the rest for a writer."""
        frame = framed(ws, pkt)
        sent = 0
        if not ws.websocket_closed and not ws._sendlock.locked():
            try:
                sent = ws.socket.fd.send(frame)
            except OSError:  # a full buffer (BlockingIOError) or a dead peer, which the
                sent = 0     # writer's sendall meets again, and closes
        if sent < len(frame):
            super().put(_Frame(frame[sent:]))
            self._start_writer()

    def _start_writer(self) -> None:
        self._writing = True
        eventlet.spawn_n(self._write)

    def _write(self) -> None:
        """The writer: what is queued, in order, then it ends (None: close the websocket)."""
        ws = self._ws
        try:
            while True:
                try:
                    item = self.get_nowait()
                except queue.Empty:
                    return
                self.task_done()
                if item is None:
                    self._close(ws)
                    return
                if isinstance(item, _Frame):
                    ws._send(item)  # eventlet's own: sendall under the websocket's send lock
                elif self._fast:
                    ws._send(framed(ws, item))
                else:
                    ws.send(item.encode())
        except Exception:  # a dead peer: Engine.IO's writer, too, closes and ends here
            self._close(ws)
        finally:
            self._writing = False

    def _close(self, ws: Any) -> None:
        self._closed = True
        while True:  # what is left will never be written: let join() return
            try:
                self.get_nowait()
            except queue.Empty:
                break
            self.task_done()
        if self._on_close is not None:
            self._on_close()
        try:
            ws.close()
        except Exception:
            log.debug("closing a websocket failed", exc_info=True)


def framed(ws: Any, pkt: Any) -> bytes:
    """`pkt` as a websocket frame of `ws`. Without compression a frame depends on the packet
    alone, so it is made once and kept on the packet: python-socketio sends one packet object
    to every recipient of an emit (queue_stats to 1,000 agents), the heartbeat one PING to all."""
    if ws.extensions.get("permessage-deflate") is not None:
        return ws._pack_message(pkt.encode())  # the connection's compressor has state
    frame = pkt.__dict__.get("websocket_frame")
    if frame is None:
        frame = pkt.websocket_frame = ws._pack_message(pkt.encode())
    return frame


def _websocket_handler(socket: Any, ws: Any, connections: ConnectionPool | None = None) -> list:
    """Engine.IO's websocket handler (``Socket._websocket_handler``), the writer greenlet left
    out: the upgrade handshake, then read packets until the client goes (from the hub, and
    returning at once, when `connections` is given and the websocket allows it)."""
    server = socket.server
    for attr in ("_sock", "socket"):  # a socket timeout matching the heartbeat
        if hasattr(ws, attr) and hasattr(getattr(ws, attr), "settimeout"):
            getattr(ws, attr).settimeout(server.ping_interval + server.ping_timeout)
    if socket.connected:  # the socket was polling: this is an upgrade
        if not _upgrade(socket, ws, _waiter(server, ws)):
            return []
    else:
        socket.connected = True
        socket.upgraded = True
    if connections is not None and websocket_reader.can_take(ws):
        _read_from_hub(socket, ws, connections)
        return []
    socket.queue.attach(ws)
    _read(socket, _waiter(server, ws))
    _finish(socket)
    return []


def _waiter(server: Any, ws: Any) -> Callable[[], Any]:
    """The next message of `ws` (``None``: closed by the client), no larger than Engine.IO takes."""

    def websocket_wait() -> Any:
        data = ws.wait()
        if data and len(data) > server.max_http_buffer_size:
            raise ValueError("packet is too large")
        return data

    return websocket_wait


def _read_from_hub(socket: Any, ws: Any, connections: ConnectionPool) -> None:
    """Hand the connection to a reader on the hub; the calling greenlet may then end."""
    detached = websocket_reader.detach(getattr(ws, "websocket", ws))
    around = getattr(ws, "around", None)  # the packet guard's check, around the new websocket
    frames = around(detached) if around is not None else detached
    reader = websocket_reader.HubReader(
        detached, _waiter(socket.server, frames),
        receive=functools.partial(_receive, socket),
        finish=functools.partial(_finish, socket),
        release=connections.keep_current())
    socket.queue.attach(detached, on_close=reader.stop)
    reader.start()


def _finish(socket: Any) -> None:
    """The client has gone, or reading failed: close the websocket, then the Engine.IO socket."""
    socket.queue.put(None)  # the writer closes the websocket
    socket.queue.join()
    socket.close(wait=False, abort=True, reason=socket.server.reason.TRANSPORT_CLOSE)


def _upgrade(socket: Any, ws: Any, websocket_wait: Callable[[], Any]) -> bool:
    """Engine.IO's upgrade from long-polling: the probe, then the UPGRADE packet."""
    server = socket.server
    socket.upgrading = True  # hold packet sends during the upgrade
    pkt = packet.Packet(encoded_packet=websocket_wait())
    if pkt.packet_type != packet.PING or pkt.data != "probe":
        server.logger.info("%s: Failed websocket upgrade, no PING packet", socket.sid)
        socket.upgrading = False
        return False
    ws.send(packet.Packet(packet.PONG, data="probe").encode())
    socket.queue.put(packet.Packet(packet.NOOP))  # end the poll
    pkt = packet.Packet(encoded_packet=websocket_wait())
    if pkt.packet_type != packet.UPGRADE:
        socket.upgraded = False
        server.logger.info("%s: Failed websocket upgrade, expected UPGRADE packet", socket.sid)
        socket.upgrading = False
        return False
    socket.upgraded = True
    socket.upgrading = False
    return True


def _read(socket: Any, websocket_wait: Callable[[], Any]) -> None:
    """Receive packets until the client closes or the connection fails."""
    while True:
        try:
            data = websocket_wait()
        except Exception as e:
            if not socket.closed:
                socket.server.logger.info('%s: Unexpected error "%s", closing connection',
                                          socket.sid, e)
            return
        if data is None or not _receive(socket, data):  # None: closed by the client
            return


def _receive(socket: Any, data: Any) -> bool:
    """Hand one message to Engine.IO; whether to go on reading."""
    server = socket.server
    if data == _PONG:
        # What Engine.IO's receive does with a PONG, without the packet object and its log
        # call: every client sends one per heartbeat (600 a second at 3,000 clients).
        socket.schedule_ping()
        return True
    try:
        socket.receive(packet.Packet(encoded_packet=data))
    except exceptions.UnknownPacketError:
        pass
    except exceptions.SocketIsClosedError:
        server.logger.info("Receive error -- socket is closed")
        return False
    except Exception:
        server.logger.exception("Unknown receive error")
        return False
    return True
