"""A peer that freezes (its process stopped, as a hung browser or a pulled cable) is noticed by
the server's heartbeat within `ping_interval + ping_timeout` ([signaling], docs/config.md): the
other side of its call is told it is reconnecting, and that it left when the resume window ends."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time

from signaling_helpers import unique

# The frozen peer: a client in a process of its own, which the test stops with SIGSTOP. It
# accepts the first invitation, says so, and then does nothing but keep its connection.
PEER = """
import asyncio, sys
from callcenter.client.call_client import CallClient

async def main(url, user, token):
    client = CallClient(url, "demo")
    await client.login(user, token)
    print("ready", flush=True)
    invited = await client.next_event("invited", timeout=20)
    await client.accept(invited["callId"])
    print("in call", flush=True)
    await asyncio.sleep(3600)

asyncio.run(main(*sys.argv[1:]))
"""


def start_peer(url: str, user: str, token: str) -> subprocess.Popen:
    peer = subprocess.Popen([sys.executable, "-c", PEER, url, user, token],
                            stdout=subprocess.PIPE, text=True, env=dict(os.environ))
    assert peer.stdout is not None
    assert peer.stdout.readline().strip() == "ready"
    return peer


async def test_a_frozen_peer_is_dropped_within_ping_interval_plus_timeout(server_factory,
                                                                          clients):
    server = server_factory(signaling="ping_interval = 1\nping_timeout = 1\nresume_window = 1")
    frozen_id = unique("frozen")
    peer = start_peer(server.url, frozen_id, server.token(frozen_id))
    try:
        alice = await clients(server, "alice")
        call_id = await alice.call(frozen_id, 1)
        assert await asyncio.to_thread(peer.stdout.readline) == "in call\n"
        await alice.next_event("user_enter", callId=call_id, userID=frozen_id)
        peer.send_signal(signal.SIGSTOP)
        stopped = time.monotonic()
        await alice.next_event("reconnecting", callId=call_id, userID=frozen_id, timeout=10)
        noticed = time.monotonic() - stopped
        # It does not come back within the resume window: it has left.
        leave = await alice.next_event("user_leave", callId=call_id, userID=frozen_id)
        assert leave["reason"] == "disconnected"
        await alice.next_event("call_end", callId=call_id)
        # Socket.IO's defaults would have taken 25 + 20 s; 1 + 1 s, with a little slack for the
        # ping that was already on its way and a loaded machine.
        assert noticed < 10, f"noticed after {noticed:.1f} s"
    finally:
        peer.send_signal(signal.SIGCONT)
        peer.kill()
        peer.wait(5)
