"""Restarts with the embedded store (docs/deploy.md): a graceful stop (SIGTERM) writes the live
state to a snapshot, and a start within the resume window takes it back, so that every call goes
on and every client resumes; a stale or corrupt snapshot is ignored and a crash (SIGKILL) loses
the live state, as before: the calls are closed as interrupted at the next start.

Real server processes on one port and one database, real Socket.IO clients; the talking pair
sends real media (aiortc), peer to peer, which the restart does not touch."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
import requests
from contact_center_helpers import Desk, agent, demo_extra, enqueue, first_offer, queue
from signaling_helpers import in_call

from callcenter.client.call_client import AUDIO_CALL, CallClient, CallClientError
from callcenter.client.media import CallMedia
from callcenter.testing.tracks import synthetic_tracks

pytestmark = pytest.mark.timeout(120)

QUEUES = [queue("line", ring_timeout=20), queue("wrap", wrap_up=60), queue("brief", max_wait=3)]
AGENTS = [agent("rs_a1", ["line"]), agent("rs_a2", ["line"]), agent("rs_a3", ["wrap"])]
# An agent gone longer than agent_grace goes offline; a loaded test machine must not get there.
# The embedded store even when the suite runs on Redis (CC_TEST_STORE_URL): it is the one restarts
# take a snapshot of.
EXTRA = '[contact_center]\nagent_grace = 60\n[store]\nurl = "memory://"\n'


def start(server_factory: Any, window: float = 30, port: int | None = None,
          database_url: str | None = None) -> Any:
    return server_factory(extra=EXTRA, demo_extra=demo_extra(QUEUES, AGENTS),
                          signaling=f"resume_window = {window}", port=port,
                          database_url=database_url)


def snapshot_file(server: Any, database_url: str | None = None) -> Any:
    """Where the server writes its snapshot by default: beside its SQLite file, named after it,
    or var/callcenter.snapshot.json beside the config with PostgreSQL."""
    folder = server.config_path.parent
    if database_url is None:
        return folder / f"db-{server.port}.snapshot.json"
    return folder / "var" / "callcenter.snapshot.json"


def api(server: Any, path: str, **params: Any) -> requests.Response:
    token = server.token("sup1", role="supervisor")
    return requests.get(server.url + path, params=params,
                        headers={"Authorization": f"Bearer {token}"}, timeout=10)


def until_record(server: Any, call_id: str, timeout: float = 5, **fields: Any) -> dict[str, Any]:
    """The call's record once it has `fields` (history is written in the background)."""
    deadline = time.monotonic() + timeout
    while True:
        response = api(server, f"/api/calls/{call_id}")
        if response.status_code == 200:
            record = response.json()["call"]
            if all(record.get(k) == v for k, v in fields.items()):
                return record
        if time.monotonic() >= deadline:
            raise AssertionError(f"record of {call_id} never had {fields}: {response.text}")
        time.sleep(0.05)


async def resume(client: CallClient, timeout: float = 10) -> dict[str, Any]:
    """Resume once the server answers again (the client noticed its connection close)."""
    await client.wait_disconnected(timeout)
    deadline = time.monotonic() + timeout
    # The server closed the connection: Engine.IO's own state settles a moment after.
    while client.sio.eio.state != "disconnected" and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    while True:
        try:
            return await client.resume()
        except CallClientError as exc:
            if exc.code not in ("CONNECT_FAILED", "RESTARTING") or time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.05)


async def inbound(media: CallMedia, user_id: str) -> int:
    for _ in range(100):
        packets = await media.inbound_packets(user_id)
        if packets:
            return packets
        await asyncio.sleep(0.05)
    return 0


def stop(server: Any, sig: str = "term") -> float:
    """Stop the server (SIGTERM or SIGKILL); returns when it was told."""
    told = time.monotonic()
    server.process.terminate() if sig == "term" else server.process.kill()
    code = server.process.wait(10)
    assert code == (0 if sig == "term" else -9), server.log()
    return told


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str | None:
    if request.param == "sqlite":
        return None  # the server's own file, found again by the restart on the same port
    return request.getfixturevalue("postgres").new_database()


async def test_a_graceful_restart_keeps_every_call_the_queue_and_the_agents(server_factory,
                                                                           database_url):
    srv = start(server_factory, database_url=database_url)
    async with Desk(srv) as desk:
        a1 = await desk.agent("rs_a1")
        talker, talk_id, _ = await enqueue(desk, "line", "talker", type=AUDIO_CALL)
        await first_offer([a1], callId=talk_id)
        a1_media = CallMedia(a1, synthetic_tracks(audio=True))
        talker_media = CallMedia(talker, synthetic_tracks(audio=True))
        try:
            await a1_media.accept(talk_id)
            await asyncio.gather(a1_media.wait_connected(talker.user_id),
                                 talker_media.wait_connected("rs_a1"))
            answered = until_record(srv, talk_id, agent="rs_a1")["answeredAt"]
            assert answered is not None

            # A customer whose call rings an agent, and one waiting behind them.
            a2 = await desk.agent("rs_a2")
            ringing, ring_id, _ = await enqueue(desk, "line", "ringing", type=AUDIO_CALL)
            await a2.next_event("offer", callId=ring_id)
            waiter, wait_id, wait_ack = await enqueue(desk, "line", "waiter", type=AUDIO_CALL)
            assert wait_ack["position"] == 2
            joined = until_record(srv, wait_id)["joinedAt"]
            # A direct call, one side of which dropped before the restart and comes back after.
            alice, bob = await desk.customer("alice"), await desk.customer("bob")
            direct_id = await in_call(alice, bob)
            await bob.close()
            await alice.next_event("reconnecting", callId=direct_id, userID=bob.user_id)
            before = await inbound(talker_media, "rs_a1")
            assert before > 0
            await asyncio.sleep(0.6)  # the history's background write

            told = stop(srv)
            assert "wrote the live state to" in srv.log()
            assert snapshot_file(srv, database_url).exists()
            started = time.monotonic()
            again = start(server_factory, port=srv.port, database_url=database_url)
            up = time.monotonic()
            # Customers first: an agent back before the first in line would be offered the
            # next call (a customer away is offered to nobody).
            customers = [talker, ringing, waiter, alice, bob]
            acks = list(await asyncio.gather(*(resume(c) for c in customers)))
            acks += await asyncio.gather(resume(a1), resume(a2))
            resumed = time.monotonic()
            assert [ack["resumed"] for ack in acks] == [True] * 7, acks
            print(f"\nSIGTERM to process gone {started - told:.2f} s, start to healthy "
                  f"{up - started:.2f} s, healthy to 7 clients resumed {resumed - up:.2f} s, "
                  f"SIGTERM to resumed {resumed - told:.2f} s")
            assert "took back the live state of the last stop" in again.log()
            assert "calls left open" not in again.log()  # none closed as interrupted
            assert not snapshot_file(srv, database_url).exists()

            # Media went peer to peer all along.
            after = await talker_media.inbound_packets("rs_a1")
            await asyncio.sleep(0.5)
            assert before < after < await talker_media.inbound_packets("rs_a1")
            assert await a1_media.inbound_packets(talker.user_id) > 0

            # The call is the same call, answered when it was.
            await talker.next_event("reconnected", callId=talk_id, userID="rs_a1")
            await a1.next_event("reconnected", callId=talk_id, userID=talker.user_id)
            state = await a1.agent_state()
            assert state["agent"]["state"] == "in_call"
            assert state["agent"]["callId"] == talk_id
            assert state["agent"]["status"] == "available"
            assert state["agent"]["answered"] == 1

            # The ringing offer was withdrawn while everyone was away, and made again once
            # both were back; the waiting customer is still behind, since they first joined.
            cancel = await a2.next_event("calling_cancel", callId=ring_id)
            assert cancel["reason"] == "disconnected"
            await a2.next_event("offer", callId=ring_id, timeout=5)
            # In their order: the missed cancel before the new offer, which it must not cancel.
            order = [e.name for e in a2.events if e.name in ("calling_cancel", "offer")
                     and e.data.get("callId") == ring_id]
            assert order == ["offer", "calling_cancel", "offer"], order
            await a2.accept(ring_id)
            await ringing.next_event("user_enter", callId=ring_id, userID="rs_a2")
            update = await waiter.next_event("queue_update", callId=wait_id, position=1)
            assert update["position"] == 1
            live = api(again, "/api/live").json()
            [waiting] = [c for c in live["calls"] if c["callId"] == wait_id]
            assert waiting["joinedAt"] == joined and waiting["state"] == "waiting"

            await alice.next_event("reconnected", callId=direct_id, userID=bob.user_id)
            await bob.hangup(direct_id)
            assert (await alice.next_event("call_end", callId=direct_id))["reason"] == "hangup"

            await talker.hangup(talk_id)
            await a1.next_event("call_end", callId=talk_id)
            await ringing.hangup(ring_id)
            await waiter.hangup(wait_id)
        finally:
            await a1_media.close()
            await talker_media.close()

    talk = until_record(again, talk_id, outcome="completed")
    assert talk["answeredAt"] == answered and talk["endReason"] == "hangup"
    assert talk["talk"] >= resumed - started
    waited = until_record(again, wait_id, outcome="abandoned")
    assert waited["joinedAt"] == joined and waited["wait"] >= resumed - started
    until_record(again, ring_id, outcome="completed")
    direct = until_record(again, direct_id, outcome="answered")
    assert direct["endReason"] == "hangup" and direct["talk"] >= resumed - started
    listed = [c["callId"] for c in api(again, "/api/calls").json()["calls"]]
    for call_id in (talk_id, ring_id, wait_id, direct_id):
        assert listed.count(call_id) == 1, listed
    events = [e["event"] for e in talk["events"]]
    assert "call.interrupted" not in events and events.count("call.ended") == 1, events


async def test_timers_come_due_when_they_were_due_and_wrap_up_and_rating_carry_over(
        server_factory):
    srv = start(server_factory)
    async with Desk(srv) as desk:
        a3 = await desk.agent("rs_a3")
        rated, rated_id, _ = await enqueue(desk, "wrap", "rated", type=AUDIO_CALL)
        await first_offer([a3], callId=rated_id)
        await a3.accept(rated_id)
        await rated.next_event("user_enter", callId=rated_id)
        await rated.hangup(rated_id)
        await a3.next_event("call_end", callId=rated_id)
        # Nobody serves "brief": its max_wait (3 s) comes due while the server is down.
        brief, brief_id, _ = await enqueue(desk, "brief", "brief", type=AUDIO_CALL)
        joined = until_record(srv, brief_id)["joinedAt"]
        stop(srv)
        await asyncio.sleep(max(0.0, joined + 3.2 - time.time()))
        again = start(server_factory, port=srv.port)
        healthy = time.time()
        for client in (a3, rated, brief):
            assert (await resume(client))["resumed"] is True

        # Overdue: it fired at once on the start, not 3 s after it.
        end = await brief.next_event("call_end", callId=brief_id)
        assert end["reason"] == "queue_timeout"
        timed_out = until_record(again, brief_id, outcome="timed_out")
        assert joined + 3 <= timed_out["endedAt"] <= healthy

        # The wrap-up goes on (its 60 s timer with it), and the customer may still rate.
        state = await a3.agent_state()
        assert state["agent"]["state"] == "wrap_up" and state["agent"]["callId"] == rated_id
        assert [c["callId"] for c in state["callsToday"]] == [rated_id]
        await a3.wrap_up(rated_id, "sold", "across a restart")
        await rated.rate(rated_id, 5)
    record = until_record(again, rated_id, rating=5)
    assert record["disposition"] == "sold" and record["notes"] == "across a restart"
    assert record["outcome"] == "completed" and record["endReason"] == "hangup"


async def in_talk(srv: Any, desk: Desk) -> tuple[CallClient, CallClient, str]:
    a1 = await desk.agent("rs_a1")
    customer, call_id, _ = await enqueue(desk, "line", type=AUDIO_CALL)
    await first_offer([a1], callId=call_id)
    await a1.accept(call_id)
    await customer.next_event("user_enter", callId=call_id)
    until_record(srv, call_id, agent="rs_a1")
    await asyncio.sleep(0.6)  # the history's background write
    return a1, customer, call_id


async def interrupted_at_restart(again: Any, a1: CallClient, customer: CallClient,
                                 call_id: str) -> None:
    """The call was closed as interrupted and the clients come back to new sessions."""
    record = until_record(again, call_id, endReason="server_restart")
    assert record["outcome"] == "completed" and record["endedBy"] == "system"
    assert "closed 1 calls left open" in again.log()
    for client in (a1, customer):
        assert (await resume(client))["resumed"] is False
    state = await a1.agent_state()
    assert state["agent"]["state"] == "waiting" and state["agent"]["callId"] is None


async def test_a_snapshot_older_than_the_window_is_ignored(server_factory):
    srv = start(server_factory, window=1.5)
    async with Desk(srv) as desk:
        a1, customer, call_id = await in_talk(srv, desk)
        stop(srv)
        assert snapshot_file(srv).exists()
        await asyncio.sleep(1.6)
        again = start(server_factory, window=1.5, port=srv.port)
        await interrupted_at_restart(again, a1, customer, call_id)
    lines = [line for line in again.log().splitlines() if "snapshot" in line]
    assert len(lines) == 1 and "ignoring the restart snapshot" in lines[0], lines
    assert "the resume window is 1.5 s" in lines[0]


async def test_a_corrupt_snapshot_is_ignored_with_one_log_line(server_factory):
    srv = start(server_factory)
    async with Desk(srv) as desk:
        a1, customer, call_id = await in_talk(srv, desk)
        stop(srv)
        path = snapshot_file(srv)
        path.write_text(path.read_text()[:-40])  # cut short, as a full disk would leave it
        again = start(server_factory, port=srv.port)
        await interrupted_at_restart(again, a1, customer, call_id)
    lines = [line for line in again.log().splitlines() if "snapshot" in line]
    assert len(lines) == 1 and "unreadable" in lines[0], lines
    assert not path.exists()


async def test_a_crash_loses_the_live_state_and_closes_the_calls_as_interrupted(
        server_factory):
    srv = start(server_factory)
    async with Desk(srv) as desk:
        a1, customer, call_id = await in_talk(srv, desk)
        # A graceful restart first: its snapshot is taken back once, and only once.
        stop(srv)
        again = start(server_factory, port=srv.port)
        assert [(await resume(c))["resumed"] for c in (a1, customer)] == [True, True]
        assert not snapshot_file(srv).exists()
        stop(again, "kill")
        assert not snapshot_file(srv).exists()
        third = start(server_factory, port=srv.port)
        await interrupted_at_restart(third, a1, customer, call_id)
    assert "snapshot" not in third.log()


async def test_a_snapshot_whose_contents_do_not_fit_is_ignored_with_one_log_line(
        server_factory):
    srv = start(server_factory)
    async with Desk(srv) as desk:
        a1, customer, call_id = await in_talk(srv, desk)
        stop(srv)
        path = snapshot_file(srv)
        state = json.loads(path.read_text())
        state["contact_center"]["calls"] = [{"call": {"app_id": "demo"}}]  # no id
        path.write_text(json.dumps(state))
        again = start(server_factory, port=srv.port)
        await interrupted_at_restart(again, a1, customer, call_id)
    lines = [line for line in again.log().splitlines() if "snapshot" in line]
    assert len(lines) == 1 and "do not fit" in lines[0], lines
    assert not path.exists()


async def test_what_was_acknowledged_around_the_stop_is_kept_with_its_timers(
        server_factory):
    srv = start(server_factory)
    async with Desk(srv) as desk:
        customers = [await desk.customer(f"late{i}") for i in range(10)]

        async def enqueue_soon(client: CallClient, delay: float) -> Any:
            await asyncio.sleep(delay)
            try:
                return await client.request("enqueue", {"queue": "brief", "type": AUDIO_CALL},
                                            timeout=3)
            except CallClientError as exc:
                return exc.code

        sent = asyncio.gather(*(enqueue_soon(c, i * 0.008) for i, c in enumerate(customers)))
        await asyncio.sleep(0.03)
        srv.process.terminate()  # while the requests keep coming
        acks = await sent
        assert srv.process.wait(10) == 0
        again = start(server_factory, port=srv.port)
        print("\nacks around the stop:", [a.get("error", {}).get("code", "ok")
                                          if isinstance(a, dict) else a for a in acks])
        for client, ack in zip(customers, acks, strict=True):
            assert (await resume(client))["resumed"] is True
            if isinstance(ack, dict) and ack["ok"]:
                # Its call came through the restart, and so did its max_wait timer.
                end = await client.next_event("call_end", callId=ack["callId"], timeout=10)
                assert end["reason"] == "queue_timeout"
                until_record(again, ack["callId"], outcome="timed_out")
            elif isinstance(ack, dict):
                assert ack["error"]["code"] == "RESTARTING", ack
                # Refused means nothing was done: no call holds the customer's line.
                joined = await client.enqueue("wrap", AUDIO_CALL)
                await client.hangup(joined["callId"])
            else:
                assert ack in ("NOT_CONNECTED", "TIMEOUT"), ack
