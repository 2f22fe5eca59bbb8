"""Scenarios of tests/unit/test_websocket_writer.py and test_websocket_frames.py, each run in a
process of its own: eventlet's hub must not live in a pytest process, whose other tests drive
Playwright's greenlets.

    python tests/unit/websocket_writer_scenarios.py NAME   # exit status 0: it held
"""

from __future__ import annotations

import os
import random
import struct
import sys
import warnings
import zlib

from engineio import packet

with warnings.catch_warnings():  # eventlet says on import that it is in bugfix mode; we know
    warnings.simplefilter("ignore")
    import eventlet
    import eventlet.event
    from eventlet.green import socket as green_socket
    from eventlet.greenio import shutdown_safe
    from eventlet.websocket import RFC6455WebSocket

    from callcenter.server.socketio.packet_guard import _Frames
    from callcenter.server.websocket_reader import HubReader, Websocket, detach, unmask
    from callcenter.server.websocket_writer import WriterQueue


def _connected_pair() -> tuple[RFC6455WebSocket, green_socket.socket]:
    listener = eventlet.listen(("127.0.0.1", 0))
    client = green_socket.socket()
    client.connect(listener.getsockname())
    server_side, _ = listener.accept()
    listener.close()
    # A small send buffer, so that a few hundred KiB fill it and the writer must take over.
    server_side.setsockopt(green_socket.SOL_SOCKET, green_socket.SO_SNDBUF, 16384)
    client.setsockopt(green_socket.SOL_SOCKET, green_socket.SO_RCVBUF, 16384)
    return RFC6455WebSocket(server_side, {}), client


def _read_frames(client: green_socket.socket) -> tuple[list[str], bool]:
    """Every text frame the server sent until it closed, and whether a close frame came."""
    data = b""
    while chunk := client.recv(65536):
        data += chunk
    return _parse(data)


def _parse(data: bytes) -> tuple[list[str], bool]:
    texts, closed, i = [], False, 0
    while i < len(data):
        opcode, length = data[i] & 0x0F, data[i + 1] & 0x7F
        i += 2
        if length == 126:
            length, i = struct.unpack("!H", data[i:i + 2])[0], i + 2
        elif length == 127:
            length, i = struct.unpack("!Q", data[i:i + 8])[0], i + 8
        if opcode == 1:
            texts.append(data[i:i + length].decode())
        elif opcode == 8:
            closed = True
        i += length
    return texts, closed


def _message(n: int) -> packet.Packet:
    return packet.Packet(packet.MESSAGE, data=f"{n:06d}:" + "x" * 4000)


def a_sender_never_waits_for_a_client_that_does_not_read_and_it_gets_everything_in_order():
    ws, client = _connected_pair()
    queue = WriterQueue()
    queue.attach(ws)
    with eventlet.Timeout(5, AssertionError("put() waited for the client")):
        for n in range(500):  # ~2 MB: far more than the socket buffers hold
            queue.put(_message(n))
    assert queue.qsize() > 0, "the client read nothing, yet nothing waits for the writer"
    queue.put(None)
    texts, closed = _read_frames(client)
    queue.join()
    assert [int(t[1:7]) for t in texts] == list(range(500))
    assert all(t.startswith("4") and len(t) == 4008 for t in texts)
    assert closed


def packets_put_while_nothing_waits_are_written_at_once_without_a_writer():
    _written_at_once(lambda ws: ws)


def a_websocket_behind_the_packet_guard_is_written_at_once_too():
    # The server's websockets reach the handler wrapped by the packet guard's frame check.
    _written_at_once(lambda ws: _Frames(ws, None, "sid"))


def _written_at_once(wrap) -> None:
    ws, client = _connected_pair()
    queue = WriterQueue()
    queue.attach(wrap(ws))
    writers = []
    eventlet.spawn_n = lambda *a: writers.append(a)  # this process only
    for n in range(3):
        queue.put(_message(n))
    assert writers == [] and queue.qsize() == 0
    client.settimeout(2)
    received = b""
    while len(received) < 3 * 4012:  # three frames: 4 bytes of header, 4,008 of text each
        received += client.recv(65536)
    texts, _ = _parse(received)
    assert [int(t[1:7]) for t in texts] == [0, 1, 2]


def one_packet_sent_to_a_compressing_and_a_plain_websocket_reaches_each_in_its_own_frames():
    # An emit to many and the heartbeat send one packet object to every socket; its frame is
    # made once for the plain ones, and never kept from a compressing one.
    plain, plain_client = _connected_pair()
    deflating, deflating_client = _connected_pair()
    deflating = RFC6455WebSocket(deflating.socket, {}, extensions={"permessage-deflate": {}})
    queues = [WriterQueue(), WriterQueue()]
    queues[0].attach(deflating)
    queues[1].attach(plain)
    shared = [packet.Packet(packet.MESSAGE, data=f"shared {n} " + "y" * 300) for n in range(3)]
    for pkt in shared:
        for queue in queues:
            queue.put(pkt)
    for queue in queues:
        queue.put(None)
    texts, _ = _read_frames(plain_client)
    assert texts == [pkt.encode() for pkt in shared]
    raw = b""
    while chunk := deflating_client.recv(65536):
        raw += chunk
    inflate = zlib.decompressobj(-zlib.MAX_WBITS)
    inflated, i = [], 0
    while i < len(raw):
        first, length = raw[i], raw[i + 1] & 0x7F
        i += 2
        if length == 126:
            length, i = struct.unpack("!H", raw[i:i + 2])[0], i + 2
        if first & 0x0F == 1:
            assert first & 0x40, "a frame to the compressing websocket was not compressed"
            inflated.append(inflate.decompress(raw[i:i + length] + b"\x00\x00\xff\xff").decode())
        i += length
    assert inflated == texts


def after_the_writer_closed_the_websocket_puts_are_dropped_and_join_returns():
    ws, client = _connected_pair()
    queue = WriterQueue()
    queue.attach(ws)
    queue.put(_message(0))
    queue.put(None)
    texts, closed = _read_frames(client)
    assert len(texts) == 1 and closed
    queue.put(_message(1))  # nobody will write it: it must not be kept for join() to wait on
    with eventlet.Timeout(2, AssertionError("join() waits for a packet nobody writes")):
        queue.join()


def before_the_websocket_is_attached_it_is_the_queue_long_polling_waits_on():
    queue = WriterQueue()
    got = eventlet.spawn(queue.get, timeout=2)
    eventlet.sleep(0)
    queue.put(_message(7))
    assert got.wait().data.startswith("000007:")


def unmasking_gives_what_eventlets_own_gives():
    rnd = random.Random(16)
    for _ in range(3000):
        size = rnd.randrange(0, 300)
        data, mask = os.urandom(size + rnd.randrange(0, 5)), os.urandom(4)
        length, offset = rnd.choice([None, size]), rnd.randrange(0, 9)
        expected = RFC6455WebSocket._apply_mask(data, mask, length, offset)
        assert unmask(data, mask, length, offset) == expected, (data, mask)
        assert unmask(data, tuple(mask), length, offset) == expected  # as eventlet passes it


def _client_frame(text: str, mask: bytes = b"\x01\x02\x03\x04") -> bytes:
    payload = text.encode()
    assert len(payload) < 126
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return bytes([0x81, 0x80 | len(payload)]) + mask + masked


def _reading_pair() -> tuple[Websocket, green_socket.socket]:
    """A websocket taken from eventlet's socket object as the hub reader takes it, and its
    client; eventlet's object closed, as its server closes it when the handler returns."""
    ws, client = _connected_pair()
    taken = detach(ws)
    shutdown_safe(ws.socket)  # what eventlet's server does as the handler returns
    ws.socket.close()
    return taken, client


def messages_sent_in_one_write_are_read_in_order_from_one_receive():
    ws, client = _reading_pair()
    client.sendall(b"".join(_client_frame(f"message {n}") for n in range(3)))
    assert ws.wait() == "message 0"
    assert ws.buffered  # the other two came with it: the hub will not say so
    assert [ws.wait(), ws.wait()] == ["message 1", "message 2"]
    assert not ws.buffered


def a_message_arriving_in_pieces_is_waited_for():
    ws, client = _reading_pair()
    frame = _client_frame("in three pieces")

    def send_slowly():
        for piece in (frame[:1], frame[1:7], frame[7:]):
            client.sendall(piece)
            eventlet.sleep(0.05)

    eventlet.spawn(send_slowly)
    with eventlet.Timeout(5):
        assert ws.wait() == "in three pieces"
    client.close()
    with eventlet.Timeout(5):
        assert ws.wait() is None  # closed by the client


def messages_arriving_while_a_handler_waits_are_read_after_it_in_order():
    ws, client = _reading_pair()
    received, finished = [], eventlet.event.Event()
    turns = {"readable": 0}

    def receive(data):
        if data == "first":
            eventlet.sleep(0.3)  # a handler that waits (the step, the store)
        received.append(data)  # as handled: the next message only after this one
        return True

    reader = HubReader(ws, ws.wait, receive, finish=lambda: finished.send(),
                       release=lambda: None)
    counted = reader._readable

    def readable(fileno):
        turns["readable"] += 1
        counted(fileno)

    reader._callbacks = (readable, reader._callbacks[1])
    reader.start()
    client.sendall(_client_frame("first"))
    eventlet.sleep(0.05)
    client.sendall(_client_frame("second") + _client_frame("third"))
    eventlet.sleep(0.5)
    assert received == ["first", "second", "third"]
    # While the handler waited the hub did not call back at every turn for the unread socket.
    assert turns["readable"] <= 3, turns
    client.sendall(_client_frame("later"))  # listening again once it was done
    eventlet.sleep(0.1)
    assert received[-1] == "later"
    client.close()
    with eventlet.Timeout(5):
        finished.wait()


if __name__ == "__main__":
    globals()[sys.argv[1]]()
