"""A checkpoint in front of python-socketio's packet dispatch, for whatever a client can send.

python-socketio decodes a client's frames and dispatches them with few checks of its own: a client
event named ``connect`` or ``disconnect`` runs the server's own handler (logging the user out while
the socket stays open, or re-running authentication), an event name that is not a string raises
inside the library, and a frame that does not decode raises out of the library's read loop. Each is
a traceback in the log, and some leave the connection wedged or half closed.

``install(server, refuse)`` puts checks in front of that dispatch. Nothing here knows the
application: ``refuse(code, message)`` builds the application's error acknowledgement, and the
names clients may not use are worked out from the handlers the server registered. Three rules:

1. **A frame that cannot be decoded ends the connection**, after one warning naming it: invalid
   JSON, nesting deeper than ``max_depth``, integers past Python's digit limit, unknown Engine.IO
   or Socket.IO packet types, a CONNECT_ERROR (only servers send those), a binary packet that
   announces no attachments or more than ``max_attachments``, a binary frame no packet announced.
   Such a peer's framing cannot be trusted, and it left no ack id to answer. The close is clean:
   a Socket.IO DISCONNECT for each namespace (so the client does not reconnect into the same
   fault), the server's disconnect handler as for any disconnection, an Engine.IO CLOSE, and then
   the transport is closed.
2. **An event that decodes but is not one a client may send is refused, and the connection goes
   on**: a reserved or over-long name, a name that is not a string, a packet that is not
   ``[name, ...args]``. With an ack id it is answered ``refuse(code, message)`` (code
   ``UNKNOWN_EVENT`` for a bad name, ``BAD_REQUEST`` when there is no event at all); without one it
   is dropped. One warning either way, and nothing reaches a handler.
3. **Other packets the library would misuse are dropped with one warning**: events for a namespace
   the connection has not joined, acknowledgements for ids the server never asked about.

It works at the python-socketio / python-engineio level only (no eventlet, no Flask), so it serves
any synchronous async mode, threading included. It supports the default JSON serializer.
"""

from __future__ import annotations

import functools
import logging
import urllib.parse
from collections.abc import Callable
from typing import Any

import socketio
from engineio import exceptions as engineio_exceptions
from socketio import packet as sio

__all__ = ["BadPacket", "PacketGuard", "install", "Refuse"]

log = logging.getLogger(__name__)

#: Builds the acknowledgement of a refused event from an error code and a message.
Refuse = Callable[[str, str], Any]

#: Event names Socket.IO keeps for itself: the server's lifecycle handlers (connect, disconnect),
#: Flask-SocketIO's handlers of send() (message, json), the catch-all (*), and the names the
#: JavaScript client keeps (connect_error, disconnecting, newListener, removeListener). The names
#: of the handlers the server registers are added at each check (PacketGuard.reserved).
PROTOCOL_NAMES = frozenset({"connect", "connect_error", "disconnect", "disconnecting", "message",
                            "json", "*", "newListener", "removeListener"})

# What decoding a client's bytes may raise: ValueError (invalid JSON, integers past
# sys.get_int_max_str_digits(), a bad base64 body or header), RecursionError (nesting deeper than
# the interpreter's stack), TypeError/IndexError/KeyError (binary placeholders that point nowhere).
DECODE_ERRORS = (ValueError, RecursionError, TypeError, IndexError, KeyError)

_ENGINEIO_TYPES = "0123456"  # OPEN ... NOOP; every other leading character is no packet
_DIGITS = "0123456789"
_SOCKETIO_TYPES = {sio.CONNECT, sio.DISCONNECT, sio.EVENT, sio.ACK, sio.BINARY_EVENT,
                   sio.BINARY_ACK}
_EVENTS = (sio.EVENT, sio.BINARY_EVENT)
_BINARY = (sio.BINARY_EVENT, sio.BINARY_ACK)


class BadPacket(ValueError):
    """A frame that is not a packet a client may send: the connection is closed (rule 1)."""


def install(server: socketio.Server, refuse: Refuse, *, max_attachments: int = 10,
            max_name_length: int = 64, max_depth: int = 32) -> PacketGuard:
    """Guard ``server`` (a python-socketio ``Server``; Flask-SocketIO's ``socketio.server``).

    ``refuse(code, message)`` is the acknowledgement of a refused event. Client events are
    expected to reach the catch-all handler (``*``): a name with a handler of its own is the
    server's, and refused like ``connect``. Call it once, before the server takes connections.
    """
    guard = PacketGuard(server, refuse, max_attachments=max_attachments,
                        max_name_length=max_name_length, max_depth=max_depth)
    guard.attach()
    return guard


def _safe(text: Any, limit: int = 60) -> str:
    """Client text for a log line: clipped and ASCII. A lone surrogate in a name would make the
    log handler itself fail, with a traceback of its own."""
    text = str(text)
    clipped = text[:limit].encode("ascii", "backslashreplace").decode("ascii")
    return repr(clipped) + ("..." if len(text) > limit else "")


def _too_deep(data: Any, limit: int) -> bool:
    """Whether lists and objects nest deeper than ``limit``; iterative, so any depth is safe."""
    stack = [(data, 1)] if isinstance(data, (list, dict)) else []
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        children = item.values() if isinstance(item, dict) else item
        stack.extend((child, depth + 1) for child in children
                     if isinstance(child, (list, dict)))
    return False


def _engineio_problem(frame: str) -> str | None:
    """What is wrong with a websocket text frame, before Engine.IO decodes it, or None.

    Engine.IO's websocket loop decodes each frame outside its error handling: an empty frame or an
    unknown leading character raises out of the loop (a 500 written onto the websocket, the
    session left open until it times out). And it tries to parse a message's payload as JSON when
    that does not start with a digit: deep nesting raises RecursionError from there too. On a
    Socket.IO server every message carries a Socket.IO packet, which starts with its type digit.
    """
    if not frame:
        return "an empty frame"
    kind = frame[0]
    if kind == "b":  # a base64 binary message (polling's form; Engine.IO takes it here too)
        return None
    if kind not in _ENGINEIO_TYPES:
        return f"unknown Engine.IO packet type {_safe(kind)}"
    if kind == "4" and (len(frame) < 2 or frame[1] not in _DIGITS):
        return "an Engine.IO message that is no Socket.IO packet"
    return None


class PacketGuard:
    """The checks of one server; see the module's documentation."""

    def __init__(self, server: socketio.Server, refuse: Refuse, *, max_attachments: int,
                 max_name_length: int, max_depth: int) -> None:
        # The default JSON serializer, or a subclass of it that encodes and decodes the same
        # text (callcenter.server.socketio.serializer); msgpack and the like are not known here.
        base = server.packet_class
        if not issubclass(base, sio.Packet) or base.encode is not sio.Packet.encode \
                or base.decode is not sio.Packet.decode:
            raise TypeError("packet_guard knows python-socketio's default JSON serializer only")
        if server.is_asyncio_based():
            raise TypeError("packet_guard guards the synchronous socketio.Server only")
        self.server = server
        self.refuse = refuse
        self.max_name_length = max_name_length
        self.reserved_names = PROTOCOL_NAMES | set(server.reserved_events)
        self.packet_class = _guarded_packet_class(server.packet_class, max_attachments, max_depth)

    def attach(self) -> None:
        server = self.server
        eio = server.eio
        # python-socketio registered its bound _handle_eio_message with Engine.IO when it was
        # built; the instance attribute serves callers of the method (Flask-SocketIO's test client).
        server._handle_eio_message = self.on_message
        eio.on("message", self.on_message)
        # Engine.IO's own frame decoding, in front of the websocket loop (a copy of the driver's
        # table: it is shared by every server of that async mode) and of polling POST bodies.
        websocket = eio._async.get("websocket")
        if websocket is not None:
            eio._async = {**eio._async, "websocket": self._websocket_app(websocket)}
        eio._get_socket = functools.partial(self._get_socket, eio._get_socket)
        # A closure, not a functools.partial: the websocket's reader runs inside this call for
        # the connection's whole life, and a Python function called from Python adds no C
        # frame to the greenlet's stack, which is saved on the heap whenever it waits.
        handle_request = eio.handle_request

        def guarded_request(environ: dict, start_response: Callable[..., Any]) -> Any:
            return self._handle_request(handle_request, environ, start_response)

        eio.handle_request = guarded_request

    def _websocket_app(self, wsgi_class: Any) -> Callable[..., Any]:
        """Engine.IO's websocket WSGI app class, as called by Engine.IO (``(handler, server)``),
        for connections whose frames pass the guard first."""

        def make(handler: Callable[[Any], Any], server: Any, **kwargs: Any) -> Any:
            # The handler is the Engine.IO socket's bound _websocket_handler: its sid names the
            # connection in the warning. The app returned is the driver's own (no wrapper of
            # ours around its __call__: one C frame fewer on every reader's stack).
            eio_sid = getattr(getattr(handler, "__self__", None), "sid", None)
            return wsgi_class(lambda ws: handler(_Frames(ws, self, eio_sid)), server, **kwargs)

        return make

    # -- Socket.IO ---------------------------------------------------------------------------

    def on_message(self, eio_sid: str, data: Any) -> None:
        """Engine.IO's message handler: one frame of a Socket.IO packet."""
        socket = self.server.eio.sockets.get(eio_sid)
        if socket is not None and (socket.closed or socket.closing):
            return  # frames still in flight after we closed it are not read
        try:
            self._receive(eio_sid, data)
        except BadPacket as exc:
            self.close(eio_sid, str(exc))

    def _receive(self, eio_sid: str, data: Any) -> None:
        server = self.server
        pending = server._binary_packet.get(eio_sid)
        if pending is not None:
            if not isinstance(data, str):
                if pending.add_attachment(data):
                    del server._binary_packet[eio_sid]
                    self._dispatch(eio_sid, pending)
                return
            # Socket.IO sends attachments as binary frames, always right after their packet: a
            # text frame is a packet of its own, never an attachment (python-socketio took it for
            # one: every later frame went to the half-built packet). The packet can no longer be
            # completed; it is refused, and the text frame handled as usual: unlike an undecodable
            # frame, this one leaves no doubt where packets begin, so nothing is gained by cutting
            # off a client (and ending its calls) over one broken request.
            del server._binary_packet[eio_sid]
            self._refuse(eio_sid, pending, "BAD_REQUEST",
                         f"a binary packet's {pending.attachment_count} attachment(s) did not "
                         "come before the next packet")
        # python-socketio's Packet skips decoding for '' and b'' (a bare "4" from Engine.IO), and
        # took them for an EVENT without data.
        if not isinstance(data, str):
            raise BadPacket("a binary frame that no packet announced")
        if not data:
            raise BadPacket("an empty Socket.IO packet")
        packet = self.packet_class(encoded_packet=data)
        if packet.packet_type in _BINARY:
            if self._sid(eio_sid, packet.namespace) is None:
                raise BadPacket("a binary packet for a namespace it has not joined")
            server._binary_packet[eio_sid] = packet  # python-socketio clears it on disconnect
            return
        self._dispatch(eio_sid, packet)

    def _dispatch(self, eio_sid: str, packet: sio.Packet) -> None:
        kind = packet.packet_type
        if kind == sio.CONNECT:
            self.server._handle_connect(eio_sid, packet.namespace, packet.data)
        elif kind == sio.DISCONNECT:
            self.server._handle_disconnect(eio_sid, packet.namespace,
                                           self.server.reason.CLIENT_DISCONNECT)
        elif kind in _EVENTS:
            self._event(eio_sid, packet)
        else:
            self._ack(eio_sid, packet)

    def _event(self, eio_sid: str, packet: sio.Packet) -> None:
        if self._sid(eio_sid, packet.namespace) is None:
            self._warn(eio_sid, f"an event for namespace {_safe(packet.namespace or '/')}, "
                       "which it has not joined; dropped")
            return
        data = packet.data
        if not isinstance(data, list) or not data:
            self._refuse(eio_sid, packet, "BAD_REQUEST",
                         "an event is an array: [name, ...arguments]")
            return
        name = data[0]
        if not isinstance(name, str):
            self._refuse(eio_sid, packet, "UNKNOWN_EVENT", "an event's name must be a string")
        elif len(name) > self.max_name_length:
            self._refuse(eio_sid, packet, "UNKNOWN_EVENT",
                         f"event names are at most {self.max_name_length} characters")
        elif self.reserved(name, packet.namespace):
            self._refuse(eio_sid, packet, "UNKNOWN_EVENT",
                         f"{_safe(name)} is not an event clients may send")
        else:
            self.server._handle_event(eio_sid, packet.namespace, packet.id, data)

    def reserved(self, name: str, namespace: str | None) -> bool:
        """Whether ``name`` is the server's own: a protocol name, or one with a handler of its
        own (worked out at each check: handlers may be registered after install)."""
        if name in self.reserved_names:
            return True
        handlers = self.server.handlers
        return name in handlers.get(namespace or "/", ()) or name in handlers.get("*", ())

    def _ack(self, eio_sid: str, packet: sio.Packet) -> None:
        sid = self._sid(eio_sid, packet.namespace)
        # The manager keeps its id counter under 0: calling it would raise.
        asked = self.server.manager.callbacks.get(sid, {}) if sid is not None else {}
        if packet.id is None:
            self._warn(eio_sid, "an acknowledgement without an id; dropped")
        elif packet.id < 1 or packet.id not in asked:
            self._warn(eio_sid, f"an acknowledgement of id {packet.id}, which was never asked "
                       "for; dropped")
        elif not isinstance(packet.data, list):
            self._warn(eio_sid, "an acknowledgement that is no array; dropped")
        else:
            self.server._handle_ack(eio_sid, packet.namespace, packet.id, packet.data)

    def _refuse(self, eio_sid: str, packet: sio.Packet, code: str, message: str) -> None:
        answered = packet.id is not None and packet.packet_type in _EVENTS
        self._warn(eio_sid, f"{message}; answered {code}" if answered else f"{message}; dropped")
        if answered:
            self.server._send_packet(eio_sid, self.server.packet_class(
                sio.ACK, namespace=packet.namespace, id=packet.id,
                data=[self.refuse(code, message)]))

    # -- the connection ----------------------------------------------------------------------

    def _sid(self, eio_sid: str, namespace: str | None) -> str | None:
        """The Socket.IO sid of a connection that has joined ``namespace``, or None."""
        manager = self.server.manager
        namespace = namespace or "/"
        sid = manager.sid_from_eio_sid(eio_sid, namespace)
        return sid if sid is not None and manager.is_connected(sid, namespace) else None

    def _who(self, eio_sid: str) -> str:
        manager = self.server.manager
        sids = [sid for namespace in list(manager.get_namespaces())
                if (sid := manager.sid_from_eio_sid(eio_sid, namespace)) is not None]
        if sids:
            return f"connection {', '.join(sids)} (engine.io {eio_sid})"
        return f"engine.io connection {eio_sid}"

    def _warn(self, eio_sid: str, message: str) -> None:
        log.warning("bad packet from %s: %s", self._who(eio_sid), message)

    def close(self, eio_sid: str, reason: str) -> None:
        """Rule 1: one warning, then close the connection cleanly."""
        log.warning("bad packet from %s: %s; closing the connection", self._who(eio_sid), reason)
        server = self.server
        for namespace in list(server.manager.get_namespaces()):
            sid = self._sid(eio_sid, namespace)
            if sid is not None:
                # Sends DISCONNECT and runs the disconnect handler, as for any disconnection.
                server.disconnect(sid, namespace=namespace, ignore_queue=True)
        socket = server.eio.sockets.get(eio_sid)
        if socket is not None:
            # Queues Engine.IO's CLOSE; the transport closes once it is sent. Not waiting: this
            # runs in the connection's own reader (or in a polling POST, where the queue is only
            # drained by the client's next GET).
            socket.close(wait=False, reason=server.eio.reason.SERVER_DISCONNECT)

    # -- Engine.IO ---------------------------------------------------------------------------

    def _handle_request(self, handle: Callable[..., Any], environ: dict,
                        start_response: Callable[..., Any]) -> Any:
        """Engine.IO's WSGI entry. It looks a POST's session up outside its error handling: a POST
        to a session closed a moment before (by this guard, or a ping timeout) raised KeyError, a
        500 carrying a traceback. It is refused like a POST to an unknown session."""
        if environ.get("REQUEST_METHOD") == "POST":
            query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
            socket = self.server.eio.sockets.get(query.get("sid", [""])[0])
            if socket is not None and socket.closed:
                response = self.server.eio._bad_request("Session is disconnected")
                start_response(response["status"], response["headers"])
                return [response["response"]]
        return handle(environ, start_response)

    def _get_socket(self, get_socket: Callable[[str], Any], eio_sid: str) -> Any:
        """Engine.IO's lookup of a polling request's session: its POST handler guarded too."""
        socket = get_socket(eio_sid)
        if "handle_post_request" not in vars(socket):
            socket.handle_post_request = functools.partial(
                self._post, socket, socket.handle_post_request)
        return socket

    def _post(self, socket: Any, handle: Callable[[dict], Any], environ: dict) -> Any:
        # A body that is not UTF-8, not Engine.IO's payload format, or a packet of it that does
        # not decode (RecursionError included) was logged with a traceback; an unknown packet type
        # closed the session without a word.
        try:
            return handle(environ)
        except (*DECODE_ERRORS, engineio_exceptions.UnknownPacketError) as exc:
            problem = "an unknown Engine.IO packet type" \
                if isinstance(exc, engineio_exceptions.UnknownPacketError) \
                else f"a polling request that does not decode ({type(exc).__name__})"
            self.close(socket.sid, problem)
            return None

    def frame_problem(self, eio_sid: str | None, frame: Any) -> bool:
        """Whether a websocket frame is bad (and the connection is being closed for it)."""
        problem = _engineio_problem(frame) if isinstance(frame, str) else None
        if problem is None:
            return False
        if eio_sid is None:
            log.warning("bad packet from an engine.io connection: %s; closing it", problem)
        else:
            self.close(eio_sid, problem)
        return True


def _guarded_packet_class(base: type[sio.Packet], max_attachments: int,
                          max_depth: int) -> type[sio.Packet]:
    """``base`` whose decoding raises BadPacket, and only BadPacket, for what a client may not
    send (rule 1). Outgoing packets are left to the server's own class."""

    class GuardedPacket(base):  # type: ignore[misc, valid-type]
        def decode(self, encoded_packet: Any) -> int:
            if not isinstance(encoded_packet, str):
                raise BadPacket("a binary frame that no packet announced")
            # Engine.IO hands over '' for a bare "4"; python-socketio took it for an EVENT
            # without data. int() also reads non-ASCII digits, so the type is checked here.
            if not encoded_packet or encoded_packet[0] not in _DIGITS:
                raise BadPacket("a message that is no Socket.IO packet")
            try:
                count = super().decode(encoded_packet)
            except DECODE_ERRORS as exc:
                raise BadPacket(f"a packet that does not decode ({type(exc).__name__})") from None
            if self.packet_type not in _SOCKETIO_TYPES:
                raise BadPacket("a CONNECT_ERROR, which only servers send"
                                if self.packet_type == sio.CONNECT_ERROR
                                else f"unknown Socket.IO packet type {self.packet_type}")
            if self.packet_type in _BINARY and not 1 <= count <= max_attachments:
                raise BadPacket(f"a binary packet announcing {count} attachments "
                                f"(1 to {max_attachments} are taken)")
            if _too_deep(self.data, max_depth):
                raise BadPacket(f"a packet nested deeper than {max_depth} levels")
            return count

        def add_attachment(self, attachment: Any) -> bool:
            try:
                return super().add_attachment(attachment)
            except DECODE_ERRORS as exc:  # placeholders whose "num" is no attachment's
                raise BadPacket(f"a binary packet whose placeholders do not match its "
                                f"attachments ({type(exc).__name__})") from None

    return GuardedPacket


class _Frames:
    """A websocket whose ``wait`` reports a bad frame as the end of the connection: Engine.IO's
    loop then stops reading and closes its side as if the client had left."""

    __slots__ = ("_ws", "_guard", "_eio_sid")

    def __init__(self, ws: Any, guard: PacketGuard, eio_sid: str | None) -> None:
        self._ws = ws
        self._guard = guard
        self._eio_sid = eio_sid

    @property
    def websocket(self) -> Any:
        """The websocket itself, for what only writes to it (callcenter.server.websocket_writer)."""
        return self._ws

    def around(self, ws: Any) -> _Frames:
        """The same check around another websocket of the same connection."""
        return _Frames(ws, self._guard, self._eio_sid)

    def wait(self) -> Any:
        frame = self._ws.wait()
        return None if self._guard.frame_problem(self._eio_sid, frame) else frame

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ws, name)
