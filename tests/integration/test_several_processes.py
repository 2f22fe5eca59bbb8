"""Several `callcenter serve` processes on one Redis and one PostgreSQL (docs/deploy.md, "Several
processes"): a call whose customer and agent are on different processes goes end to end, events
and timers cross between them, and when one process is killed (`kill -9`) its clients resume on
the other through nginx with their calls, places in line and ringing offers intact. Real
processes, real redis-server, PostgreSQL and nginx, real Socket.IO connections."""

from __future__ import annotations

import asyncio
import signal
import time
from typing import Any

import psycopg2
import requests
from contact_center_helpers import Desk, agent, demo_extra, first_offer, queue, until_agent
from test_recording import AGENT_TONE, CUSTOMER_TONE, WorkerProcess, peak_frequency, read_recording
from werkzeug.security import generate_password_hash

from callcenter.client.call_client import AUDIO_CALL, CallClient
from callcenter.client.media import CallMedia
from callcenter.testing.tracks import tone_tracks

WINDOW = 15
# "quick" rings for 1 s: well within the 3 to 4 s a killed process's beat takes to run out
# (after that its customer's session is suspended, which withdraws the offer another way).
QUEUES = [queue("line", ring_timeout=3), queue("wait"), queue("quick", ring_timeout=1)]
AGENTS = [*(agent(f"mp{i}", ["line"]) for i in range(1, 15)), agent("mpw", ["wait"]),
          agent("mq1", ["quick"]), agent("mq2", ["quick"])]
SUPERVISOR = (f'[[apps.supervisors]]\nid = "boss"\nname = "Bo"\n'
              f'password_hash = "{generate_password_hash("boss-password-123")}"\nadmin = true')


def start_pair(server_factory: Any, redis_url: str, database_url: str,
               extra: str = "") -> tuple[Any, Any]:
    """Two processes with the same config but their ports, sharing Redis and the database."""
    made = [server_factory(extra=f'[store]\nurl = "{redis_url}"\n{extra}',
                           demo_extra=demo_extra(QUEUES, AGENTS) + "\n\n" + SUPERVISOR,
                           database_url=database_url, signaling=f"resume_window = {WINDOW}")
            for _ in range(2)]
    return made[0], made[1]


class Behind:
    """A server as seen through nginx: its credentials, the proxy's URL."""

    def __init__(self, server: Any, url: str) -> None:
        self.server, self.url = server, url

    def token(self, *args: Any, **kwargs: Any) -> str:
        return self.server.token(*args, **kwargs)


def api(url: str, server: Any, path: str) -> dict[str, Any]:
    token = server.token("boss", role="supervisor")
    response = requests.get(url + path, headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert response.ok, response.text
    return response.json()


def call_rows(database_url: str, call_id: str) -> list[tuple[Any, ...]]:
    with psycopg2.connect(database_url) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT outcome, ended_at FROM calls WHERE call_id = %s", (call_id,))
        return cursor.fetchall()


async def answer_latest_offer(agents: list[CallClient], call_id: str,
                              timeout: float = 10) -> CallClient:
    """The agent whose offer of ``call_id`` still rings accepts it (offers withdrawn since, to
    agents who dropped, are passed over)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        offers = sorted(((event.at, a) for a in agents
                         for event in a.pending("offer", callId=call_id)),
                        key=lambda found: found[0], reverse=True)
        for _, candidate in offers:
            if (await candidate.request("accept", {"callId": call_id})).get("ok"):
                return candidate
        await asyncio.sleep(0.2)
    raise TimeoutError(f"nobody could answer {call_id}")


Talking = dict[str, tuple[CallClient, CallClient]]


async def calls_in_talk(desk: Desk, agents: list[CallClient], count: int, name: str
                        ) -> Talking:
    """``count`` customers join "line", each answered by the agent offered it: call id ->
    (agent, customer)."""
    talking: Talking = {}
    for n in range(count):
        customer = await desk.customer(f"{name}{n}")
        joined = await customer.enqueue("line", AUDIO_CALL)
        taker, _ = await first_offer(agents, callId=joined["callId"])
        await taker.accept(joined["callId"])
        await customer.next_event("user_enter", callId=joined["callId"])
        talking[joined["callId"]] = (taker, customer)
    return talking


async def wait_for(predicate: Any, timeout: float = 10, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        await asyncio.sleep(0.1)


async def test_a_queue_call_whose_customer_and_agent_are_on_two_processes_goes_end_to_end(
        own_redis_server, postgres, server_factory):
    database = postgres.new_database()
    one, two = start_pair(server_factory, own_redis_server.url, database)
    async with Desk(one) as on_one, Desk(two) as on_two:
        ann = await on_one.agent("mp1")
        customer = await on_two.customer("cross")
        joined = await customer.enqueue("line", AUDIO_CALL)
        call_id = joined["callId"]
        # The customer's step ran on two; the offer reaches ann's connection on one.
        offer = await ann.next_event("offer", callId=call_id)
        await ann.accept(call_id)
        await customer.next_event("user_enter", callId=call_id, userID="mp1")
        # Signals cross both ways.
        await ann.signal(call_id, customer.user_id, "offer", {"type": "offer", "sdp": "v=0"})
        assert (await customer.next_event("signal", callId=call_id))["payload"]["sdp"] == "v=0"
        await customer.signal(call_id, "mp1", "answer", {"type": "answer", "sdp": "v=1"})
        assert (await ann.next_event("signal", callId=call_id))["payload"]["sdp"] == "v=1"
        # Each process's live view is the same (read through its own REST API).
        for server in (one, two):
            live = api(server.url, server, "/api/live")
            assert [c["callId"] for c in live["calls"]] == [call_id], live
        await customer.hangup(call_id)
        await ann.next_event("call_end", callId=call_id)
        await until_agent(ann, state="waiting")
    assert offer["queue"] == "line"
    await wait_for(lambda: call_rows(database, call_id) and call_rows(database, call_id)[0][1],
                   what="the call's record")
    assert [row[0] for row in call_rows(database, call_id)] == ["completed"]


async def test_hold_and_a_transfer_across_two_processes_keep_one_record(
        own_redis_server, postgres, server_factory):
    """The agent on one process holds the customer on the other, then transfers them to an
    agent of the other: the hold, the transfer and the record are shared live state."""
    database = postgres.new_database()
    one, two = start_pair(server_factory, own_redis_server.url, database)
    async with Desk(one) as on_one, Desk(two) as on_two:
        first = await on_one.agent("mp2")
        second = await on_two.agent("mp3", status="break")
        customer = await on_two.customer("held")
        call_id = (await customer.enqueue("line", AUDIO_CALL))["callId"]
        await first.next_event("offer", callId=call_id)
        await first.accept(call_id)
        await customer.next_event("user_enter", callId=call_id, userID="mp2")
        await first.hold(call_id)
        held = await customer.next_event("call_held", callId=call_id, userID="mp2")
        assert held["music"] == "/music/hold.wav"
        await asyncio.sleep(0.3)
        assert (await first.unhold(call_id))["held"] >= 0.3
        await customer.next_event("call_resumed", callId=call_id)
        await second.agent_status("available")
        await until_agent(second, state="waiting", status="available")
        await first.transfer(call_id, to_agent="mp3", note="cross")
        offer = await second.next_event("offer", callId=call_id)
        assert offer["transfer"]["from"]["userID"] == "mp2"
        await second.accept(call_id)
        await customer.next_event("user_enter", callId=call_id, userID="mp3")
        await customer.hangup(call_id)
        await until_agent(second, state="waiting")
    await wait_for(lambda: call_rows(database, call_id) and call_rows(database, call_id)[0][1],
                   what="the call's record")
    call = api(one.url, one, f"/api/calls/{call_id}")["call"]
    steps = [(s["kind"], s.get("agent") or s.get("by")) for s in call["segments"]]
    assert steps == [("talk", "mp2"), ("hold", "mp2"), ("transfer", "mp2"), ("talk", "mp3")]
    assert call["agent"] == "mp3" and call["hold"] >= 0.3


async def test_a_timer_set_on_one_process_fires_on_the_other_when_the_first_is_killed(
        own_redis_server, postgres, server_factory):
    database = postgres.new_database()
    one, two = start_pair(server_factory, own_redis_server.url, database)
    async with Desk(two) as on_two:
        ann, bob = await on_two.agent("mq1"), await on_two.agent("mq2")
        customer = await on_two.customer("timer")
        # The offer's ring timeout is set by one, where the customer's enqueue runs.
        on_one = Desk(one)
        cust_one = await on_one.customer("timer1")
        try:
            joined = await cust_one.enqueue("quick", AUDIO_CALL)
            first, _ = await first_offer([ann, bob], callId=joined["callId"])
            one.process.send_signal(signal.SIGKILL)
            one.process.wait(5)
            second = bob if first is ann else ann
            # Fired on two, 1 s after the offer: the next agent is offered the call.
            cancel = await first.next_event("calling_cancel", callId=joined["callId"], timeout=3)
            assert cancel["reason"] == "timeout"
            await second.next_event("offer", callId=joined["callId"], timeout=5)
        finally:
            await on_one.close()
        assert customer.connected


async def test_kill_9_of_one_of_two_processes_behind_nginx_keeps_every_call(
        own_redis_server, postgres, server_factory, nginx):
    database = postgres.new_database()
    one, two = start_pair(server_factory, own_redis_server.url, database)
    proxy = nginx([one.port, two.port])
    front = Behind(one, proxy.url())
    async with Desk(front) as desk:
        agents = await desk.agents(*(f"mp{i}" for i in range(1, 15)))
        # A dozen calls in talk, one offer ringing (its agent lets it ring), two customers
        # waiting.
        talking = await calls_in_talk(desk, agents, 12, "k")
        ringing_customer = await desk.customer("k-ringing")
        ringing_call = (await ringing_customer.enqueue("line", AUDIO_CALL))["callId"]
        ringing_agent, _ = await first_offer(agents, callId=ringing_call)
        waiting = [await desk.customer(f"w{n}") for n in range(2)]
        for n, customer in enumerate(waiting):
            assert (await customer.enqueue("wait", AUDIO_CALL))["position"] == n + 1
        everyone = [*agents, *(c for _, c in talking.values()), ringing_customer, *waiting]

        one.process.send_signal(signal.SIGKILL)
        one.process.wait(5)
        killed_at = time.monotonic()
        await wait_for(lambda: all(c.connected for c in everyone if c.connected)
                       and any(not c.connected for c in everyone), 5, "no client dropped")
        dropped = [c for c in everyone if not c.connected]
        kept = [c for c in everyone if c.connected]
        assert dropped and kept, "nginx put every client on one process"
        acks = await asyncio.gather(*(c.resume(timeout=10) for c in dropped))
        resumed_in = time.monotonic() - killed_at
        assert all(ack["resumed"] is True for ack in acks), acks

        # The calls in talk go on: each side reaches the other.
        for call_id, (taker, customer) in talking.items():
            await taker.signal(call_id, customer.user_id, "candidate", {"candidate": call_id})
            got = await customer.next_event("signal", callId=call_id, kind="candidate",
                                            timeout=5)
            assert got["payload"] == {"candidate": call_id}
        # The ringing offer ends on the survivor: its ring timeout fires there, or it is
        # withdrawn at once if its agent was on the killed process (an agent who drops is
        # passed over, as with one process). Then an agent answers it.
        cancel = await ringing_agent.next_event("calling_cancel", callId=ringing_call,
                                                timeout=10)
        expected = "disconnected" if ringing_agent in dropped else "timeout"
        assert cancel["reason"] == expected, (cancel, ringing_agent in dropped)
        taker = await answer_latest_offer(agents, ringing_call)
        await ringing_customer.next_event("user_enter", callId=ringing_call)
        talking[ringing_call] = (taker, ringing_customer)
        # The waiting customers kept their places.
        line = api(proxy.url(), two, "/api/live")
        queued = {q["name"]: q for q in line["queues"]}
        assert queued["wait"]["waiting"] == 2, line

        for call_id, (taker, customer) in talking.items():
            await customer.hangup(call_id)
            await taker.next_event("call_end", callId=call_id)
        for taker, _ in talking.values():
            await until_agent(taker, state="waiting", timeout=10)
        # No agent is stuck: every one is free again, and no call is left.
        live = api(proxy.url(), two, "/api/live")
        states = {a["agentId"]: a["state"] for a in live["agents"]}
        assert all(states[f"mp{i}"] == "available" for i in range(1, 15)), states
        assert [c["queue"] for c in live["calls"]] == ["wait", "wait"], live["calls"]

    for call_id in talking:
        await wait_for(lambda c=call_id: bool(call_rows(database, c))
                       and call_rows(database, c)[0][1] is not None, what=call_id)
        assert [row[0] for row in call_rows(database, call_id)] == ["completed"]
    print(f"killed one of two processes: {len(dropped)} clients resumed on the other "
          f"{resumed_in:.2f} s after the kill")


async def test_a_call_recorded_by_the_other_processs_worker_is_closed_and_indexed_for_both(
        own_redis_server, postgres, server_factory, tmp_path):
    database = postgres.new_database()
    recording = (f'[recording]\ndir = "{tmp_path / "recordings"}"\nworkers = 0\n\n'
                 '[plugins]\nenable = ["recording"]\n\n'
                 '[plugins.settings.recording]\nqueues = ["line"]\n')
    one, two = start_pair(server_factory, own_redis_server.url, database, recording)
    worker = WorkerProcess(one, tmp_path, "w1")  # connected to one only
    medias: list[CallMedia] = []
    try:
        worker.wait_ready()
        async with Desk(one) as on_one, Desk(two) as on_two:
            ann = await on_two.agent("mp1")
            customer = await on_one.customer("rec")
            medias += [CallMedia(ann, tracks=tone_tracks(AGENT_TONE)),
                       CallMedia(customer, tracks=tone_tracks(CUSTOMER_TONE))]
            ack = await customer.enqueue("line", AUDIO_CALL)
            assert ack["recorded"] is True
            call_id = ack["callId"]
            await ann.next_event("offer", callId=call_id)
            await medias[0].accept(call_id)
            # The agent's leg to the recorder is signalled through two, to one's worker.
            await asyncio.gather(medias[0].wait_connected(customer.user_id),
                                 medias[1].wait_connected(ann.user_id),
                                 medias[0].wait_recording(call_id),
                                 medias[1].wait_recording(call_id))
            await asyncio.sleep(3)
            await medias[1].hangup(call_id)
            await ann.next_event("call_end", callId=call_id)
            token = one.token("mp1", role="agent")
            for server in (two, one):  # indexed by one, read by both
                deadline = time.monotonic() + 15
                while True:
                    got = await asyncio.to_thread(
                        requests.get, f"{server.url}/api/recordings/{call_id}/audio",
                        headers={"Authorization": f"Bearer {token}"}, timeout=10)
                    if got.status_code == 200 or time.monotonic() > deadline:
                        break
                    await asyncio.sleep(0.2)
                assert got.status_code == 200, got.text
                samples, rate = read_recording(got.content)
                assert abs(peak_frequency(samples[:, 0], rate) - CUSTOMER_TONE) <= 5
                assert abs(peak_frequency(samples[:, 1], rate) - AGENT_TONE) <= 5
    finally:
        for media in medias:
            await media.close()
        worker.stop()
    assert "Traceback" not in worker.log(), worker.log()


async def test_a_rolling_restart_of_two_processes_behind_nginx_keeps_every_call(
        own_redis_server, postgres, server_factory, nginx):
    database = postgres.new_database()
    one, two = start_pair(server_factory, own_redis_server.url, database)
    proxy = nginx([one.port, two.port])
    front = Behind(one, proxy.url())
    async with Desk(front) as desk:
        agents = await desk.agents(*(f"mp{i}" for i in range(1, 5)))
        talking = await calls_in_talk(desk, agents, 4, "r")
        waiting = await desk.customer("rw")
        assert (await waiting.enqueue("wait", AUDIO_CALL))["position"] == 1
        everyone = [*agents, *(c for _, c in talking.values()), waiting]

        for n, old in enumerate((one, two)):
            old.stop()  # SIGTERM: the other process carries its calls on
            await wait_for(lambda: any(not c.connected for c in everyone), 5, "nobody dropped")
            await asyncio.sleep(0.3)
            dropped = [c for c in everyone if not c.connected]
            acks = await asyncio.gather(*(c.resume(timeout=10) for c in dropped))
            assert all(ack["resumed"] is True for ack in acks), (n, acks)
            # Started again where it was: the next one to stop hands over to it.
            server_factory(extra=f'[store]\nurl = "{own_redis_server.url}"\n',
                           demo_extra=demo_extra(QUEUES, AGENTS) + "\n\n" + SUPERVISOR,
                           database_url=database, signaling=f"resume_window = {WINDOW}",
                           port=old.port)
            for call_id, (taker, customer) in talking.items():
                await taker.signal(call_id, customer.user_id, "candidate",
                                   {"candidate": f"{call_id}-{n}"})
                got = await customer.next_event("signal", callId=call_id, kind="candidate",
                                                timeout=5)
                assert got["payload"] == {"candidate": f"{call_id}-{n}"}

        live = api(proxy.url(), two, "/api/live")
        assert sorted(c["callId"] for c in live["calls"] if c["state"] == "in_call") == \
            sorted(talking), live
        waits = [c for c in live["calls"] if c["queue"] == "wait"]
        assert [c["position"] for c in waits] == [1], waits
        for call_id, (taker, customer) in talking.items():
            await customer.hangup(call_id)
            await taker.next_event("call_end", callId=call_id)
    for call_id in talking:
        await wait_for(lambda c=call_id: bool(call_rows(database, c))
                       and call_rows(database, c)[0][1] is not None, what=call_id)
        assert [row[0] for row in call_rows(database, call_id)] == ["completed"]


async def test_a_lone_process_on_redis_killed_and_started_again_keeps_every_call(
        own_redis_server, postgres, server_factory):
    database = postgres.new_database()
    config = dict(extra=f'[store]\nurl = "{own_redis_server.url}"\n',
                  demo_extra=demo_extra(QUEUES, AGENTS) + "\n\n" + SUPERVISOR,
                  database_url=database, signaling=f"resume_window = {WINDOW}")
    server = server_factory(**config)
    async with Desk(server) as desk:
        ann, bob = await desk.agents("mp1", "mp2")
        customer = await desk.customer("crash")
        joined = await customer.enqueue("line", AUDIO_CALL)
        call_id = joined["callId"]
        taker, _ = await first_offer([ann, bob], callId=call_id)
        await taker.accept(call_id)
        await customer.next_event("user_enter", callId=call_id)
        waiting = await desk.customer("crash-w")
        assert (await waiting.enqueue("wait", AUDIO_CALL))["position"] == 1

        server.process.send_signal(signal.SIGKILL)
        server.process.wait(5)
        server_factory(**config, port=server.port)
        for client in (ann, bob, customer, waiting):
            await client.wait_disconnected()
            assert (await client.resume(timeout=10))["resumed"] is True
        assert taker.hello_ack["call"]["callId"] == call_id
        await taker.signal(call_id, customer.user_id, "candidate", {"candidate": "again"})
        got = await customer.next_event("signal", callId=call_id, kind="candidate")
        assert got["payload"] == {"candidate": "again"}
        live = api(server.url, server, "/api/live")
        assert {c["callId"]: c["state"] for c in live["calls"]}[call_id] == "in_call"
        assert [c["position"] for c in live["calls"] if c["queue"] == "wait"] == [1]
        await customer.hangup(call_id)
        await taker.next_event("call_end", callId=call_id)
    await wait_for(lambda: bool(call_rows(database, call_id))
                   and call_rows(database, call_id)[0][1] is not None, what=call_id)
    assert [row[0] for row in call_rows(database, call_id)] == ["completed"]


async def test_an_agent_added_on_one_process_keeps_the_state_it_takes_before_the_other_knows_it(
        own_redis_server, postgres, server_factory):
    database = postgres.new_database()
    one, two = start_pair(server_factory, own_redis_server.url, database)
    token = one.token("boss", role="supervisor")
    added = requests.post(f"{one.url}/api/admin/agents", timeout=10,
                          headers={"Authorization": f"Bearer {token}"},
                          json={"id": "fresh", "password": "new-agent-pass-42",
                                "queues": ["line"]})
    assert added.status_code == 201, added.text
    async with Desk(one) as on_one, Desk(two) as on_two:
        # Signed in and available on one at once; two (which learns of the agent on its next
        # tick) takes steps meanwhile and saves the shared state without knowing them.
        fresh = await on_one.agent("fresh")
        for n in range(3):
            await on_two.customer(f"busy{n}")
        customer = await on_two.customer("for-fresh")
        joined = await customer.enqueue("line", AUDIO_CALL)
        await fresh.next_event("offer", callId=joined["callId"], timeout=5)
