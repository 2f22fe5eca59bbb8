"""TURN ([turn], docs/deploy.md): every user gets relay credentials of their own at login, in
coturn's REST form, and a real coturn (`use-auth-secret`) takes them, and refuses expired or
forged ones. The relay is asked for an allocation with aioice's TURN client, as a browser's ICE
agent would."""

from __future__ import annotations

import asyncio
import time

import pytest
from aioice import stun, turn

from callcenter.hooks.defaults.ice_servers import turn_credential

SECOND_SECRET = "turn-next-secret-abcdefghijkl"


async def allocate(relay, username: str, password: str) -> tuple[str, int]:
    """A relayed address from the relay for these credentials (raises if refused)."""
    transport, _ = await turn.create_turn_endpoint(
        asyncio.DatagramProtocol, ("127.0.0.1", relay.port), username, password, lifetime=60)
    try:
        return transport.get_extra_info("related_address") or \
            transport.get_extra_info("sockname")
    finally:
        transport.close()


async def test_each_user_gets_relay_credentials_of_their_own_that_the_relay_accepts(
        server_factory, turn, clients):
    server = server_factory(turn.config())
    alice, bob = await clients(server, "alice"), await clients(server, "bob")
    servers = {c.user_id: [s for s in c.ice_servers if s["urls"] == [turn.url]]
               for c in (alice, bob)}
    for user, (entry,) in servers.items():
        expiry, name = entry["username"].split(":", 1)
        assert name == f"demo/{user}"
        assert 86000 < int(expiry) - time.time() <= 86400  # [turn] ttl, one day by default
    assert servers[alice.user_id][0]["credential"] != servers[bob.user_id][0]["credential"]

    entry = servers[alice.user_id][0]
    assert await allocate(turn, entry["username"], entry["credential"])


async def test_the_relay_refuses_expired_and_forged_credentials(turn):
    expired = turn_credential(turn.secret, "demo/alice", int(time.time()) - 5)
    forged = turn_credential("not-the-relays-secret-at-all", "demo/alice",
                             int(time.time()) + 600)
    valid_user, valid_password = turn_credential(turn.secret, "demo/alice",
                                                 int(time.time()) + 600)
    for username, password in (expired, forged, (valid_user, valid_password + "x")):
        with pytest.raises(stun.TransactionFailed) as refused:
            await allocate(turn, username, password)
        assert "401" in str(refused.value)
    assert await allocate(turn, valid_user, valid_password)


async def test_the_first_of_several_secrets_signs_while_the_relay_rotates(
        server_factory, turn, clients):
    # The new secret goes first; the relay still has the old one, and only that one.
    server = server_factory(f'[turn]\nurls = ["{turn.url}"]\n'
                            f'secrets = ["{SECOND_SECRET}", "{turn.secret}"]\n')
    alice = await clients(server, "alice")
    (entry,) = [s for s in alice.ice_servers if s["urls"] == [turn.url]]
    assert (entry["username"], entry["credential"]) == turn_credential(
        SECOND_SECRET, "demo/" + alice.user_id, int(entry["username"].split(":")[0]))
    with pytest.raises(stun.TransactionFailed):  # until the relay is given the new secret
        await allocate(turn, entry["username"], entry["credential"])


async def test_media_workers_get_relay_credentials_too(server_factory, turn, clients):
    server = server_factory(turn.config())
    worker = await clients(server, "media-w1", app="demo", role="service")
    ack = await worker.request("worker_hello", {"capacity": 2, "name": "w1"})
    assert ack["ok"] is True
    (entry,) = [s for s in ack["iceServers"] if s["urls"] == [turn.url]]
    assert await allocate(turn, entry["username"], entry["credential"])
