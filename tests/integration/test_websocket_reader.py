"""A websocket's connection greenlet ends once it is up and the hub reads it
(callcenter.server.websocket_reader): what that must not change, on a real server process.
`[server] max_connections` still counts every open websocket and a closed one gives its place
back, whoever closes it; a connection idle for many heartbeats still carries requests both
ways."""

from __future__ import annotations

import asyncio
import socket
import time

import websocket
from signaling_helpers import in_call, unique
from test_raw_packets import login

from callcenter.client.call_client import CallClient

MAX_CONNECTIONS = 16  # the least the config takes


def request_is_answered(url: str, within: float) -> socket.socket | None:
    """Sends a plain HTTP request on a new connection: None if it was answered within `within`
    seconds, else the connection, still waiting (answered once a place frees)."""
    host, port = url.removeprefix("http://").split(":")
    conn = socket.create_connection((host, int(port)), timeout=within)
    conn.sendall(f"GET /healthz HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
    try:
        if conn.recv(64).startswith(b"HTTP/1.1"):
            conn.close()
            return None
    except TimeoutError:
        pass
    return conn


async def answered_later(conn: socket.socket, within: float) -> bool:
    conn.settimeout(within)
    try:
        return (await asyncio.to_thread(conn.recv, 64)).startswith(b"HTTP/1.1")
    except TimeoutError:
        return False
    finally:
        conn.close()


async def test_open_websockets_count_against_max_connections_and_a_closed_one_frees_its_place(
        server_factory, clients):
    server = server_factory(server_extra=f"max_connections = {MAX_CONNECTIONS}")
    assert await asyncio.to_thread(request_is_answered, server.url, 5) is None
    idle = [await clients(server, "idle") for _ in range(MAX_CONNECTIONS)]
    waiting = await asyncio.to_thread(request_is_answered, server.url, 1.5)
    assert waiting is not None, "a connection beyond max_connections was served"
    await idle.pop().close()  # the client leaves: its place goes to the waiting request
    assert await answered_later(waiting, 10)
    # The places of the other fifteen are still taken: one more is free, and no more.
    one_more = await clients(server, "one-more")
    waiting = await asyncio.to_thread(request_is_answered, server.url, 1.5)
    assert waiting is not None
    await one_more.close()
    assert await answered_later(waiting, 10)


async def test_websockets_the_server_closes_give_their_place_back(server_factory, clients):
    server = server_factory(server_extra=f"max_connections = {MAX_CONNECTIONS}")
    user = unique("kicked")
    first = await clients(server, user_id=user)
    # Each login of the same user makes the server close the one before: many more than the
    # places there are, so a place not given back would leave the next login waiting.
    for _ in range(3 * MAX_CONNECTIONS):
        again = CallClient(server.url, "demo")
        await asyncio.wait_for(again.login(user, server.token(user)), 10)
        await first.next_event("kicked_out")
        await first.wait_disconnected(timeout=5)
        await first.close()
        first = again
    others = [await clients(server, "other") for _ in range(MAX_CONNECTIONS - 1)]
    assert all(other.connected for other in others)
    await first.close()


async def test_a_connection_idle_for_many_heartbeats_still_carries_requests_both_ways(
        server_factory, clients):
    server = server_factory(signaling="ping_interval = 0.2\nping_timeout = 0.5\n"
                                      "resume_window = 0")
    alice, bob = await clients(server, "alice"), await clients(server, "bob")
    # Ten pings answered, each answer read by the hub: a connection whose answers went unread
    # would be dropped after 0.7 s.
    await asyncio.sleep(2)
    assert alice.connected and bob.connected
    call_id = await in_call(alice, bob)
    await bob.hangup(call_id)
    await alice.next_event("call_end", callId=call_id)


def test_requests_arriving_in_one_write_are_all_answered_and_one_in_pieces_too(shared_server):
    conn, _ = login(shared_server, "together")
    try:
        frames = [websocket.ABNF.create_frame(f"42{n}" + '["hello",{}]', websocket.ABNF.OPCODE_TEXT)
                  .format() for n in range(1, 4)]
        conn.ws.sock.sendall(b"".join(frames))  # one TCP write, three messages
        # Answered at once, not when something else arrives (the next PONG, 5 s on).
        assert [conn.ack(n, timeout=2)["ok"] for n in range(1, 4)] == [True, True, True]
        piece = websocket.ABNF.create_frame('424["hello",{}]', websocket.ABNF.OPCODE_TEXT).format()
        for part in (piece[:1], piece[1:6], piece[6:]):
            conn.ws.sock.sendall(part)
            time.sleep(0.1)
        assert conn.ack(4, timeout=2)["ok"] is True
    finally:
        conn.close()
