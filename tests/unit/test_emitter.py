"""Emits to session ids past the framework's layers (callcenter.server.socketio.emitter): the
same packet python-socketio would send, to every connected recipient, and python-socketio's own
path for what the direct one does not take (a room, no payload)."""

from __future__ import annotations

from engineio import socket as eio_socket
from flask import Flask

from callcenter.server.socketio.emitter import SocketIO


def connected(sio: SocketIO, eio_sid: str) -> tuple[str, eio_socket.Socket]:
    """A Socket.IO session on a real Engine.IO socket whose queue shows what was sent."""
    socket = eio_socket.Socket(sio.server.eio, eio_sid)
    sio.server.eio.sockets[eio_sid] = socket
    return sio.server.manager.connect(eio_sid, "/"), socket


def sent(socket: eio_socket.Socket) -> list[str]:
    out = []
    while not socket.queue.empty():
        out.append(socket.queue.get_nowait().encode())
    return out


def test_an_emit_reaches_every_connected_recipient_and_skips_one_that_has_gone() -> None:
    sio = SocketIO(Flask(__name__), async_mode="threading")
    (a, a_socket), (b, b_socket) = connected(sio, "ea"), connected(sio, "eb")
    sio.emit("queue_stats", {"queues": [{"waiting": 1}]}, to=[a, "gone", b])
    assert sent(a_socket) == sent(b_socket) == ['42["queue_stats",{"queues":[{"waiting":1}]}]']
    sio.emit("offer", {"callId": "c1"}, to=b)
    assert sent(a_socket) == [] and sent(b_socket) == ['42["offer",{"callId":"c1"}]']


def test_a_room_and_an_emit_without_payload_take_python_socketios_path() -> None:
    sio = SocketIO(Flask(__name__), async_mode="threading")
    (a, a_socket), (b, b_socket) = connected(sio, "ea"), connected(sio, "eb")
    sio.server.enter_room(a, "supervisors")
    sio.emit("notice", {"n": 1}, to="supervisors")
    assert sent(a_socket) == ['42["notice",{"n":1}]'] and sent(b_socket) == []
    sio.emit("ping_all", to=[a, b])
    assert sent(a_socket) == sent(b_socket) == ['42["ping_all"]']
