"""Monitoring across two `callcenter serve` processes on one Redis and one PostgreSQL (as
test_several_processes.py): the supervisor on one process, the call's agent and customer on the
other. The session is kept on the call in the shared store, so each process sees it: the agent is
told, the signals between supervisor and agent cross, the other process ends it with the call, and
the record has it."""

from __future__ import annotations

import time

import requests
from contact_center_helpers import Desk
from test_several_processes import start_pair

from callcenter.client.call_client import AUDIO_CALL, CallClient


async def test_a_supervisor_on_one_process_monitors_a_call_served_on_the_other(
        own_redis_server, postgres, server_factory):
    one, two = start_pair(server_factory, own_redis_server.url, postgres.new_database())
    async with Desk(one) as on_one, Desk(two) as on_two:
        ann = await on_one.agent("mp1")
        customer = await on_one.customer("watched")
        call_id = (await customer.enqueue("line", AUDIO_CALL))["callId"]
        await ann.next_event("offer", callId=call_id)
        await ann.accept(call_id)
        await customer.next_event("user_enter", callId=call_id, userID="mp1")
        boss = CallClient(two.url, "demo")
        on_two.made.append(boss)
        await boss.login("boss", two.token("boss", role="supervisor"))

        ack = await boss.request("monitor", {"callId": call_id, "mode": "listen"})
        assert ack["ok"] and ack["agent"] == "mp1", ack
        started = await ann.next_event("monitor_started", callId=call_id)
        assert started["supervisor"] == {"userID": "boss", "name": "Bo"}
        # The signals of their own connection cross the processes both ways.
        offer = {"type": "offer", "sdp": "v=0"}
        await ann.signal(call_id, "boss", "offer", offer)
        assert (await boss.next_event("signal", callId=call_id))["from"] == "mp1"
        await boss.signal(call_id, "mp1", "answer", {"type": "answer", "sdp": "v=1"})
        assert (await ann.next_event("signal", callId=call_id))["from"] == "boss"
        # A switch on two reaches the agent on one; the live view of one shows it.
        await boss.request("monitor", {"callId": call_id, "mode": "barge"})
        assert (await ann.next_event("monitor_changed", callId=call_id))["mode"] == "barge"
        token = one.token("boss", role="supervisor")
        live = requests.get(f"{one.url}/api/live", timeout=5,
                            headers={"Authorization": f"Bearer {token}"}).json()
        assert [c["monitoredBy"] for c in live["calls"] if c["callId"] == call_id] == \
            [[{"userID": "boss", "name": "Bo", "mode": "barge"}]]
        # The call ends on one: the supervisor on two is told.
        await customer.hangup(call_id)
        ended = await boss.next_event("monitor_ended", callId=call_id)
        assert ended["reason"] == "call_ended"
        deadline = time.monotonic() + 10
        while True:
            call = requests.get(f"{two.url}/api/calls/{call_id}", timeout=5,
                                headers={"Authorization": f"Bearer {token}"}).json().get("call")
            if call and call["endedAt"] is not None:
                break
            assert time.monotonic() < deadline, call
            time.sleep(0.2)
        monitors = [s for s in call["segments"] if s["kind"] == "monitor"]
        assert [(s["by"], s["mode"], [c["mode"] for c in s["changes"]], s["reason"])
                for s in monitors] == [("boss", "listen", ["barge"], "call_ended")]
