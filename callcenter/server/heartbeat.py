"""Engine.IO's heartbeat on eventlet's hub timers, instead of a greenlet per connection.

python-engineio schedules a connection's next PING by starting a background task that sleeps
``ping_interval`` and then sends it (``Socket.schedule_ping`` / ``_send_ping``), again after each
PONG. Under eventlet that is one greenlet per connection for as long as it is open: a sleeping
greenlet holds ~7.7 KiB (its saved C stack and its own Python frame stack), a hub timer ~0.5 KiB;
and the spawn and two switches per interval are CPU for every client, idle or not (at 3,000
clients and a 5 s interval, 600 spawns a second).

``install(eio)`` gives each socket of that Engine.IO server, as it connects, a ``schedule_ping``
that puts it on the server's ``PingWheel``, turned by a timer on eventlet's hub; when the socket's
time comes the wheel queues the PING as ``_send_ping`` does after its sleep. That runs in the
hub's own greenlet, where nothing may block: it only sets ``last_ping`` and puts the packet on
the socket's (unbounded) queue, which writes it at once with a non-blocking send or leaves it to
a writer greenlet (callcenter.server.websocket_writer). Timeouts are still found by Engine.IO
(its service task and ``check_ping_timeout``).

Only the sockets of the server it is installed on change (``serve`` installs it; servers made by
``create_app`` alone, in other async modes, keep Engine.IO's own heartbeat).

Reaches into python-engineio 4.x internals; on upgrading it, check: ``Server.handlers["connect"]``
is called with the new socket already in ``Server.sockets`` and before ``Socket.schedule_ping``;
``schedule_ping`` / ``_send_ping`` still work as described, with ``last_ping``, ``closing``,
``closed``, ``queue`` and ``server.ping_interval``; ``packet.Packet(packet.PING)``.
"""

from __future__ import annotations

import functools
import logging
import math
import time
from typing import Any

import eventlet.hubs
from engineio import packet

log = logging.getLogger(__name__)

# One PING for every socket: encoded, and framed (websocket_writer.framed), once.
_PING = packet.Packet(packet.PING)


def install(eio: Any) -> None:
    """Give every socket ``eio`` (an ``engineio.Server`` in eventlet mode) accepts from now on
    the timer-based heartbeat. Call it once, after the Socket.IO server registered its handlers."""
    handle_connect = eio.handlers["connect"]
    wheel = PingWheel()

    def connect(eio_sid: str, environ: dict[str, Any]) -> Any:
        socket = eio.sockets.get(eio_sid)
        if socket is not None:
            socket.schedule_ping = functools.partial(_schedule_ping, wheel, socket)
        return handle_connect(eio_sid, environ)

    eio.on("connect", connect)


def _schedule_ping(wheel: PingWheel, socket: Any) -> None:
    """Engine.IO's schedule_ping: the next PING one interval after the last PONG (or the
    connection), only once per cycle (``last_ping`` is set while a PING awaits its PONG)."""
    if socket.last_ping:
        socket.last_ping = None
        wheel.add(socket)


class PingWheel:
    """The sockets waiting for their next PING, by the tenth of a second it is due, and one hub
    timer for them all: a timer per socket is an eventlet ``Timer`` with its tuples, in the hub's
    heap, made for every PING and alive for the whole interval; at thousands of clients those
    were a large part of what each garbage collection pass went through. A PING goes out up to
    a tenth of a second later than its interval."""

    TICK = 0.1

    def __init__(self) -> None:
        self._slots: dict[int, list[Any]] = {}
        self._turning = False

    def add(self, socket: Any) -> None:
        """`socket`'s next PING, one interval of its server from now."""
        slot = math.ceil((time.monotonic() + socket.server.ping_interval) / self.TICK)
        sockets = self._slots.get(slot)
        if sockets is None:
            self._slots[slot] = [socket]
        else:
            sockets.append(socket)
        if not self._turning:
            self._turning = True
            eventlet.hubs.get_hub().schedule_call_global(self.TICK, self._turn)

    def _turn(self) -> None:
        """In the hub's greenlet: the PINGs now due, then the next tick while any wait."""
        try:
            now = time.monotonic() / self.TICK
            for slot in [slot for slot in self._slots if slot <= now]:
                for socket in self._slots.pop(slot):
                    _ping(socket)
        finally:  # whatever happened, the other sockets' PINGs still go out
            if self._slots:
                eventlet.hubs.get_hub().schedule_call_global(self.TICK, self._turn)
            else:
                self._turning = False


def _ping(socket: Any) -> None:
    """In the hub's greenlet: queue the PING for the socket's writer, never wait."""
    try:
        if not socket.closing and not socket.closed:
            socket.last_ping = time.time()
            socket.queue.put(_PING)
    except Exception:  # the hub would print a traceback of its own, and go on
        log.exception("sending the heartbeat of engine.io connection %s failed",
                      getattr(socket, "sid", "?"))
