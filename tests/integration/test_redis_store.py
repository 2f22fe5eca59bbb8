"""A real server on the Redis store (`[store] url = "redis://..."`): calls go through it end to end
and leave nothing behind; an unreachable Redis stops `serve` at start with one line; a Redis lost
while running is answered `UNAVAILABLE`, and service comes back by itself with it."""

from __future__ import annotations

import asyncio
import json
import signal
import time

import pytest
import requests
from contact_center_helpers import Desk, agent, demo_extra, first_offer, queue
from signaling_helpers import in_call, unique

from callcenter.client.call_client import CallClient, CallClientError


def store_toml(url: str) -> str:
    return f'[store]\nurl = "{url}"\n'


def call_keys(redis_client, call_id: str) -> list[str]:
    return [k for k in redis_client.keys("cc:*") if call_id in k or
            redis_client.type(k) == "string" and redis_client.get(k) == call_id]


async def test_a_call_on_the_redis_store_goes_end_to_end_and_leaves_no_keys(
        redis_server, server_factory, clients):
    server = server_factory(extra=store_toml(redis_server.url))
    r = redis_server.client()
    alice = await clients(server, "alice")
    bob = await clients(server, "bob")
    assert r.get(f"cc:{{demo}}:session:{alice.user_id}") is not None
    call_id = await in_call(alice, bob)
    # The call lives in Redis, as JSON, with both legs joined; both lines point at it.
    state = json.loads(r.get(f"cc:{{demo}}:call:{call_id}"))
    assert state["legs"] == {alice.user_id: "joined", bob.user_id: "joined"}
    assert r.get(f"cc:{{demo}}:line:{alice.user_id}") == call_id
    assert r.get(f"cc:{{demo}}:line:{bob.user_id}") == call_id
    await alice.signal(call_id, bob.user_id, "offer", {"type": "offer", "sdp": "v=0"})
    assert (await bob.next_event("signal", callId=call_id))["payload"]["sdp"] == "v=0"
    await bob.hangup(call_id)
    await alice.next_event("user_leave", callId=call_id, userID=bob.user_id)
    await alice.next_event("call_end", callId=call_id)
    assert call_keys(r, call_id) == []
    await alice.close()
    await bob.close()
    # Logged out: their sessions are gone too; nothing of theirs is left. What stays is the
    # processes' own: the shared state document, this process's beat, who holds which
    # connection (empty hashes are no keys).
    def left() -> list[str]:
        return sorted(k for k in r.keys("cc:*")
                      if not k.startswith(("cc:shared:", "cc:node:")) and k != "cc:nodes")

    for _ in range(50):
        if not left():
            break
        await asyncio.sleep(0.1)
    assert left() == []


def test_an_unreachable_redis_stops_serve_with_one_line_naming_it(server_factory):
    with pytest.raises(RuntimeError) as failed:
        server_factory(extra=store_toml("redis://:hunter2@127.0.0.1:1/0"))
    log = str(failed.value)
    assert "server exited with 2" in log
    errors = [line for line in log.splitlines() if " ERROR " in line]
    assert len(errors) == 1, log
    assert "cannot reach the store redis://:***@127.0.0.1:1/0: " in errors[0]
    assert "hunter2" not in log and "Traceback" not in log


async def test_a_lost_redis_is_answered_unavailable_and_service_comes_back_with_it(
        own_redis_server, server_factory, clients):
    redis_server = own_redis_server
    server = server_factory(extra=store_toml(redis_server.url))
    alice = await clients(server, "alice")
    bob = await clients(server, "bob")
    call_id = await in_call(alice, bob)

    redis_server.stop()
    offer = {"type": "offer", "sdp": "v=0"}
    for request in (lambda: alice.request("hello", {}),
                    lambda: alice.request("hangup", {"callId": call_id}),
                    lambda: bob.request("invite", {"userIDList": [alice.user_id], "type": 1}),
                    lambda: alice.request("signal", {"callId": call_id, "to": bob.user_id,
                                                     "kind": "offer", "payload": offer})):
        ack = await request()
        assert ack["ok"] is False and ack["error"]["code"] == "UNAVAILABLE", ack
        assert "store" in ack["error"]["message"]
    health = requests.get(server.url + "/healthz", timeout=10)
    assert health.status_code == 503
    assert health.json()["error"]["code"] == "UNAVAILABLE"
    # A new login is refused with the same code, and nothing of it stays behind.
    carol = CallClient(server.url)
    user = unique("carol")
    with pytest.raises(CallClientError) as refused:
        await carol.login(user, server.token(user))
    assert refused.value.code == "UNAVAILABLE"
    await carol.close()
    assert server.process.poll() is None  # the server stays up
    assert bob.connected and alice.connected

    # Redis is back, on the same port (empty: it keeps nothing on disk). Requests work again.
    redis_server.start()
    hello = await alice.request("hello", {})
    assert hello["ok"] is True, hello
    assert requests.get(server.url + "/healthz", timeout=10).ok
    # The sessions of connections that stayed up are bound again: alice and bob reach each
    # other without logging in again. The call in progress was lost with Redis's memory.
    new_call = await in_call(bob, alice)
    await alice.hangup(new_call)
    await bob.next_event("call_end", callId=new_call)
    # New logins work too.
    dave = await clients(server, "dave")
    erin = await clients(server, "erin")
    await in_call(dave, erin)

    log = server.log()
    assert "Traceback" not in log
    lost = [line for line in log.splitlines() if "is unreachable" in line]
    assert len(lost) == 1 and " WARNING " in lost[0], log
    assert "requests are answered UNAVAILABLE" in lost[0]
    assert len([line for line in log.splitlines() if "is reachable again" in line]) == 1


async def test_a_request_refused_unavailable_changed_nothing_and_the_call_goes_on_after(
        own_redis_server, server_factory):
    """The agent's status lives in this process's memory, offers and calls in Redis: a status
    change asked while Redis is gone is refused before either changed (without the store's ping
    first, the status would turn available and the offer fail). Redis comes back with what it
    had saved, and the waiting customer's call goes to the agent and ends."""
    server = server_factory(extra=store_toml(own_redis_server.url),
                            demo_extra=demo_extra([queue("rq")], [agent("rq_a1", ["rq"])]))
    r = own_redis_server.client()
    async with Desk(server) as desk:
        agent_client = await desk.agent("rq_a1", status=None)
        assert (await agent_client.agent_state())["agent"]["status"] == "break"
        customer = await desk.customer("rq_c")
        call_id = (await customer.enqueue("rq"))["callId"]
        r.save()  # a Redis with persistence: it comes back with this
        own_redis_server.stop()
        ack = await agent_client.request("agent_status", {"status": "available"})
        assert ack["error"]["code"] == "UNAVAILABLE", ack
        own_redis_server.start()
        assert (await agent_client.agent_state())["agent"]["status"] == "break"
        assert r.exists(f"cc:{{demo}}:call:{call_id}")

        await agent_client.agent_status("available")
        _, offer = await first_offer([agent_client])
        assert offer["callId"] == call_id
        assert r.get("cc:{demo}:line:rq_a1") == call_id
        await agent_client.accept(call_id)
        await customer.next_event("user_accept", callId=call_id)
        await customer.hangup(call_id)
        await agent_client.next_event("call_end", callId=call_id)
        assert not r.exists(f"cc:{{demo}}:call:{call_id}")
        assert not r.exists("cc:{demo}:line:rq_a1")
    assert "Traceback" not in server.log()


async def test_work_that_came_due_while_redis_was_away_is_done_when_it_is_back(
        own_redis_server, server_factory, clients):
    """A ring timeout that came due, and a connection that dropped, while Redis was gone: both
    happen once it is back (here with what it had saved)."""
    server = server_factory(extra=store_toml(own_redis_server.url))
    alice = await clients(server, "alice")
    bob = await clients(server, "bob")
    carol = await clients(server, "carol")
    dave = await clients(server, "dave")
    ringing = await alice.call(bob.user_id, 1, timeout=1)
    await bob.next_event("invited", callId=ringing)
    talking = await in_call(carol, dave)
    own_redis_server.client().save()
    own_redis_server.stop()
    await dave.close()  # its logout cannot be told to Redis now
    await asyncio.sleep(1.5)  # the ring timeout comes due
    assert not alice.pending("no_resp") and not carol.pending("call_end")
    own_redis_server.start()
    await alice.next_event("no_resp", timeout=10, callId=ringing, userID=bob.user_id,
                           reason="timeout")
    await bob.next_event("calling_timeout", callId=ringing)
    await carol.next_event("call_end", timeout=10, callId=talking)
    r = own_redis_server.client()
    assert not r.exists(f"cc:{{demo}}:session:{dave.user_id}")
    assert r.keys("cc:{demo}:call:*") == []
    assert "Traceback" not in server.log()


async def test_a_redis_that_stops_answering_is_answered_unavailable_within_its_timeout(
        own_redis_server, server_factory, clients):
    """A Redis that hangs (here: SIGSTOP) rather than refusing: each request waits at most the
    store's socket timeout (2 s), then is answered UNAVAILABLE; when Redis answers again, so
    does the server."""
    server = server_factory(extra=store_toml(own_redis_server.url))
    alice = await clients(server, "alice")
    process = own_redis_server.process
    assert process is not None
    process.send_signal(signal.SIGSTOP)
    try:
        started = time.monotonic()
        ack = await alice.request("hello", {}, timeout=10)
        assert ack["error"]["code"] == "UNAVAILABLE", ack
        assert time.monotonic() - started < 5
    finally:
        process.send_signal(signal.SIGCONT)
    assert (await alice.request("hello", {}))["ok"] is True
    assert "Traceback" not in server.log()
