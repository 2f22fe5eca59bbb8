"""Flask-SocketIO's ``SocketIO`` whose emits to connections go straight to Engine.IO.

Every notice the server sends is ``emit(event, payload, to=sid or [sids])``: an event for
connections of this process, named by their Socket.IO session ids, without acknowledgement. On
its way down, each passed Flask-SocketIO's emit (namespace and callback handling), python-socketio's
``Server.emit`` (a log call), its manager's ``emit`` (a participants generator, a skip list) and,
per recipient, ``Server._send_eio_packet`` and ``engineio.Server.send_packet``: about a tenth of
the server's CPU per call in the call-setup profile, where an emit to 1,000 agents (queue_stats)
goes out every second. Here such an emit is encoded once, as python-socketio encodes it, and each
recipient's Engine.IO socket is handed the same packet (whose websocket frame is then made once:
websocket_writer.framed).

Anything else (another namespace, a callback, a room that is not a session id, ``skip_sid``)
goes through Flask-SocketIO's emit as before.

Reaches into python-socketio 5.x internals; on upgrading it, check: ``Manager.eio_sid_from_sid``
(None for an unknown sid), ``Server.eio.sockets`` and ``engineio.Socket.send`` / ``closed``, and
that an EVENT packet of the default namespace without an id is encoded as ``2`` followed by the
JSON of ``[event, *args]`` with compact separators.
"""

from __future__ import annotations

import json
from typing import Any

import flask_socketio
from engineio import packet as eio_packet

_SEPARATORS = (",", ":")


class SocketIO(flask_socketio.SocketIO):
    """``flask_socketio.SocketIO`` with the direct path for emits to session ids."""

    def emit(self, event: str, *args: Any, **kwargs: Any) -> None:
        to = kwargs.get("to")
        if to is None or len(args) != 1 or len(kwargs) != 1 or self.server is None \
                or args[0] is None or isinstance(args[0], tuple):  # python-socketio expands these
            super().emit(event, *args, **kwargs)
            return
        server = self.server
        sids = [to] if isinstance(to, str) else to
        eio_sid_of = server.manager.eio_sid_from_sid
        eio_sids = [eio_sid_of(sid, "/") for sid in sids]
        if None in eio_sids:
            # Not a connection of this process's: gone, or a room (none of ours, a plugin's
            # may be), which python-socketio's path sends to.
            rooms = server.manager.rooms.get("/", {})
            if any(eio_sid is None and sid in rooms
                   for sid, eio_sid in zip(sids, eio_sids, strict=True)):
                super().emit(event, *args, **kwargs)
                return
        # One packet for every recipient, as python-socketio's manager makes it.
        pkt = eio_packet.Packet(eio_packet.MESSAGE,
                                "2" + json.dumps([event, args[0]], separators=_SEPARATORS))
        sockets = server.eio.sockets
        for eio_sid in eio_sids:
            socket = sockets.get(eio_sid) if eio_sid is not None else None
            if socket is not None and not socket.closed:
                socket.send(pkt)

