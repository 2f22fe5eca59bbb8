"""Supervisor monitoring (docs/protocol.md, "Supervisor monitoring") through a real server: what the
agent and the supervisor are told, the live view, the event log and the record's segments via
REST; when a session ends by itself (the call ends, a transfer, the supervisor goes); who may
signal whom (never the customer and the supervisor); and the refusals, which change nothing.

One server for the module (its event log read back as a file); every test has its own queue and
agents, and a supervisor of its own. App "other" has a call of its own to try across apps.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest
from contact_center_helpers import (
    OTHER_APP_PEOPLE,
    Desk,
    _start_server,
    agent,
    answered,
    closed_record,
    connect,
    demo_extra,
    enqueue,
    first_offer,
    password_hash,
    queue,
    until_agent,
)
from test_call_control import code_of

from callcenter.client.call_client import CallClient

pytestmark = pytest.mark.timeout(60)

QUEUES = [queue(name) for name in ("mq", "cq", "tq", "gq", "bq", "wq", "fq")]
AGENTS = [agent("ma1", ["mq"], name="Mia"), agent("ca1", ["cq"]), agent("ta1", ["tq"]),
          agent("ta2", ["tq"]), agent("ga1", ["gq"]), agent("ba1", ["bq"]),
          agent("ba2", ["bq"]), agent("wa1", ["wq"]), agent("wa2", ["wq"]),
          agent("fa1", ["fq"]), agent("fa2", ["fq"])]
SUPERVISORS = [("sue", "Sue"), ("sam", "Sam"), ("sid", "Sid"), ("sal", "Sal"), ("sol", "Sol"),
               ("sky", "Sky"), ("sia", "Sia")]


def supervisors_toml() -> str:
    return "\n\n".join(f'[[apps.supervisors]]\nid = "{sid}"\nname = "{name}"\n'
                       f'password_hash = "{password_hash()}"' for sid, name in SUPERVISORS)




@pytest.fixture(scope="module")
def srv(request, tmp_path_factory):
    start = _start_server(request.config)
    tmp = tmp_path_factory.mktemp("monitoring")
    log = tmp / "events.jsonl"
    plugins = f'[plugins]\nenable = ["event-log"]\n\n[plugins.settings.event-log]\npath = "{log}"'
    server = start(tmp, f"{OTHER_APP_PEOPLE}\n{plugins}", "200/second", True,
                   demo_extra(QUEUES, AGENTS) + "\n\n" + supervisors_toml())
    server.events_path = log
    try:
        yield server
    finally:
        server.stop()
    assert "Traceback" not in server.log(), server.log()


@pytest.fixture
async def desk(srv):
    async with Desk(srv) as desk:
        yield desk


async def supervisor(desk: Desk, user_id: str, app: str = "demo") -> CallClient:
    client = CallClient(desk.server.url, app)
    desk.made.append(client)
    await client.login(user_id, desk.server.token(user_id, app=app, role="supervisor"))
    return client




def monitor(client: CallClient, call_id: str, mode: str) -> Any:
    return client.request("monitor", {"callId": call_id, "mode": mode})


def stop(client: CallClient, call_id: str) -> Any:
    return client.request("monitor_stop", {"callId": call_id})




def logged(server: Any, call_id: str, prefix: str = "monitor.") -> list[dict[str, Any]]:
    lines = Path(server.events_path).read_text().splitlines()
    return [e for e in map(json.loads, lines)
            if e["call"] == call_id and e["event"].startswith(prefix)]


async def live_call(client: CallClient, call_id: str, **fields: Any) -> dict[str, Any]:
    """The call in the supervisor's live view, once it has ``fields``."""
    view = await client.supervisor_watch()
    deadline = time.monotonic() + 5
    while True:
        call = next(c for c in view["calls"] if c["callId"] == call_id)
        if all(call.get(k) == v for k, v in fields.items()):
            return call
        assert time.monotonic() < deadline, call
        view = await client.next_event("supervisor_stats")


async def test_a_supervisor_listens_whispers_barges_and_stops_and_the_agent_is_told(srv, desk):
    mia, customer, call_id = await answered(desk, "mq", "ma1")
    sue = await supervisor(desk, "sue")
    ack = await monitor(sue, call_id, "listen")
    assert ack["ok"], ack
    told = {"callId": call_id, "supervisor": {"userID": "sue", "name": "Sue"}, "agent": "ma1",
            "customer": customer.user_id, "shown": True}
    assert {k: ack[k] for k in (*told, "mode")} == {**told, "mode": "listen"}
    assert await mia.next_event("monitor_started", callId=call_id) == {**told, "mode": "listen"}
    shown = await live_call(sue, call_id, monitoredBy=[{"userID": "sue", "name": "Sue",
                                                        "mode": "listen"}])
    assert shown["state"] == "in_call"
    await asyncio.sleep(0.2)
    assert (await monitor(sue, call_id, "whisper"))["mode"] == "whisper"
    assert (await mia.next_event("monitor_changed", callId=call_id))["mode"] == "whisper"
    await asyncio.sleep(0.2)
    assert (await monitor(sue, call_id, "barge"))["mode"] == "barge"
    assert (await mia.next_event("monitor_changed", callId=call_id))["mode"] == "barge"
    again = await monitor(sue, call_id, "barge")  # asked twice: nothing changes
    assert again["ok"] and again["since"] == ack["since"]
    await asyncio.sleep(0.2)
    done = await stop(sue, call_id)
    assert done["ok"] and 0.5 <= done["monitored"] <= 2, done
    ended = await mia.next_event("monitor_ended", callId=call_id)
    assert (ended["reason"], ended["mode"]) == ("stopped", "barge")
    await live_call(sue, call_id, monitoredBy=[])
    # The customer was told nothing of it, and their own call went on.
    assert [e.name for e in customer.pending() if e.name.startswith("monitor")] == []
    await asyncio.sleep(0.2)
    await customer.hangup(call_id)
    call = closed_record(srv, call_id)
    monitors = [s for s in call["segments"] if s["kind"] == "monitor"]
    assert len(monitors) == 1, call["segments"]
    segment = monitors[0]
    assert (segment["by"], segment["agent"], segment["mode"], segment["reason"]) == \
        ("sue", "ma1", "listen", "stopped")
    assert [c["mode"] for c in segment["changes"]] == ["whisper", "barge"]
    assert segment["start"] < segment["changes"][0]["at"] < segment["changes"][1]["at"] \
        < segment["end"] < call["endedAt"]
    # Monitoring takes nothing from the talk time.
    assert call["talk"] == pytest.approx(call["endedAt"] - call["answeredAt"], abs=0.05)
    events = logged(srv, call_id)
    assert [(e["event"], e["user"], e["mode"]) for e in events] == [
        ("monitor.started", "sue", "listen"), ("monitor.changed", "sue", "whisper"),
        ("monitor.changed", "sue", "barge"), ("monitor.ended", "sue", "barge")]
    assert events[0]["shown"] is True and events[-1]["reason"] == "stopped"


async def test_monitoring_ends_with_the_call_and_both_are_told(srv, desk):
    agent1, customer, call_id = await answered(desk, "cq", "ca1")
    sam = await supervisor(desk, "sam")
    await monitor(sam, call_id, "whisper")
    await agent1.next_event("monitor_started", callId=call_id)
    await customer.hangup(call_id)
    for client in (agent1, sam):
        ended = await client.next_event("monitor_ended", callId=call_id)
        assert ended["reason"] == "call_ended"
    segment = next(s for s in closed_record(srv, call_id)["segments"] if s["kind"] == "monitor")
    assert (segment["mode"], segment["reason"], segment["changes"]) == \
        ("whisper", "call_ended", [])
    # A call that ended is not found any more.
    assert await code_of(monitor(sam, call_id, "listen")) == "CALL_NOT_FOUND"


async def test_monitoring_ends_when_the_agent_transfers_the_call(srv, desk):
    ta2 = await desk.agent("ta2", status="break")
    ta1, customer, call_id = await answered(desk, "tq", "ta1")
    sid = await supervisor(desk, "sid")
    await monitor(sid, call_id, "barge")
    await ta1.next_event("monitor_started", callId=call_id)
    await ta2.agent_status("available")
    await ta1.transfer(call_id, to_agent="ta2")
    for client in (ta1, sid):
        assert (await client.next_event("monitor_ended", callId=call_id))["reason"] == \
            "transferred"
    # The customer waits for the target: nothing to monitor until they answer.
    assert await code_of(monitor(sid, call_id, "listen")) == "NOT_ANSWERED"
    await first_offer([ta2], callId=call_id)
    await connect(ta2, customer, call_id)
    await monitor(sid, call_id, "listen")  # the new agent is the one monitored now
    started = await ta2.next_event("monitor_started", callId=call_id)
    assert started["agent"] == "ta2"
    await customer.hangup(call_id)
    monitors = [s for s in closed_record(srv, call_id)["segments"] if s["kind"] == "monitor"]
    assert [(s["agent"], s["reason"]) for s in monitors] == [("ta1", "transferred"),
                                                            ("ta2", "call_ended")]


async def consulted(desk: Desk, queue_name: str, first: str, second: str,
                    supervisor_id: str) -> tuple[Any, Any, Any, Any, str]:
    """`first` answers a customer and is monitored (listen) by `supervisor_id`, then consults
    `second`, who answers: (first, second, customer, supervisor, call id)."""
    b = await desk.agent(second, status="break")  # not offered the customer's call
    a, customer, call_id = await answered(desk, queue_name, first)
    sup = await supervisor(desk, supervisor_id)
    await monitor(sup, call_id, "listen")
    await a.next_event("monitor_started", callId=call_id)
    await b.agent_status("available")
    await until_agent(b, state="waiting", status="available")
    await a.consult(call_id, second)
    await first_offer([b], callId=call_id)
    await b.accept(call_id)
    await a.next_event("user_enter", callId=call_id, userID=second)
    return a, b, customer, sup, call_id


async def test_a_warm_transfer_ends_the_monitoring_of_the_agent_who_hands_the_call_on(srv, desk):
    wa1, wa2, customer, sky, call_id = await consulted(desk, "wq", "wa1", "wa2", "sky")
    # During the consult the agent is still the one monitored (the customer holds).
    assert (await monitor(sky, call_id, "whisper"))["agent"] == "wa1"
    await wa1.consult_complete(call_id)
    for client in (wa1, sky):
        assert (await client.next_event("monitor_ended", callId=call_id))["reason"] == \
            "transferred"
    assert wa2.pending("monitor_ended") == []
    assert (await monitor(sky, call_id, "listen"))["agent"] == "wa2"
    await wa2.next_event("monitor_started", callId=call_id)
    await customer.hangup(call_id)
    monitors = [s for s in closed_record(srv, call_id)["segments"] if s["kind"] == "monitor"]
    assert [(s["agent"], s["reason"]) for s in monitors] == [("wa1", "transferred"),
                                                            ("wa2", "call_ended")]


async def test_an_agent_who_leaves_a_conference_stops_being_monitored_and_the_call_goes_on(
        srv, desk):
    fa1, fa2, customer, sia, call_id = await consulted(desk, "fq", "fa1", "fa2", "sia")
    await fa1.conference(call_id)
    await customer.next_event("user_enter", callId=call_id, userID="fa2")
    assert fa1.pending("monitor_ended") == []  # the conference goes on with fa1 monitored
    await fa1.hangup(call_id)
    for client in (fa1, sia):
        assert (await client.next_event("monitor_ended", callId=call_id))["reason"] == \
            "agent_left"
    assert (await monitor(sia, call_id, "listen"))["agent"] == "fa2"
    await customer.hangup(call_id)
    assert (await sia.next_event("monitor_ended", callId=call_id))["reason"] == "call_ended"


async def test_monitoring_ends_when_the_supervisor_disconnects(srv, desk):
    agent1, customer, call_id = await answered(desk, "gq", "ga1")
    sal = await supervisor(desk, "sal")
    await monitor(sal, call_id, "listen")
    await agent1.next_event("monitor_started", callId=call_id)
    await sal.close()
    ended = await agent1.next_event("monitor_ended", callId=call_id)
    assert ended["reason"] == "supervisor_gone"
    # They may monitor it again once back; logging in elsewhere ends it too (the old page
    # carried its media).
    sal_again = await supervisor(desk, "sal")
    assert (await monitor(sal_again, call_id, "listen"))["ok"]
    await agent1.next_event("monitor_started", callId=call_id)
    elsewhere = await supervisor(desk, "sal")
    ended = await agent1.next_event("monitor_ended", callId=call_id)
    assert ended["reason"] == "supervisor_gone"
    assert (await monitor(elsewhere, call_id, "whisper"))["ok"]
    await customer.hangup(call_id)


async def test_only_the_monitoring_supervisor_and_the_agent_may_signal_each_other(srv, desk):
    agent1, customer, call_id = await answered(desk, "bq", "ba1")
    sol = await supervisor(desk, "sol")
    candidate = {"candidate": "candidate:1 1 udp 1 127.0.0.1 9 typ host", "sdpMid": "0",
                 "sdpMLineIndex": 0}

    def signal(client: CallClient, to: str) -> Any:
        return client.request("signal", {"callId": call_id, "to": to, "kind": "candidate",
                                         "payload": candidate})

    # Not monitoring yet: the supervisor is nobody in this call.
    assert await code_of(signal(sol, "ba1")) == "NOT_IN_CALL"
    await monitor(sol, call_id, "listen")
    await agent1.next_event("monitor_started", callId=call_id)
    assert (await signal(sol, "ba1"))["ok"]
    relayed = await agent1.next_event("signal", callId=call_id)
    assert relayed["from"] == "sol"
    assert (await signal(agent1, "sol"))["ok"]
    assert (await sol.next_event("signal", callId=call_id))["from"] == "ba1"
    # Never between the supervisor and the customer, either way.
    assert await code_of(signal(sol, customer.user_id)) == "NOT_IN_CALL"
    assert await code_of(signal(customer, "sol")) == "PEER_NOT_IN_CALL"
    assert customer.pending("signal", **{"from": "sol"}) == []
    await stop(sol, call_id)
    assert await code_of(signal(sol, "ba1")) == "NOT_IN_CALL"
    await customer.hangup(call_id)


async def test_bad_monitor_requests_are_refused_and_change_nothing(srv, desk):
    ba2 = await desk.agent("ba2", status="break")
    ba1, customer, call_id = await answered(desk, "bq", "ba1")
    waiting, waiting_id, _ = await enqueue(desk, "bq", name="waits")
    sue, sam = await supervisor(desk, "sue"), await supervisor(desk, "sam")
    other_supervisor = await supervisor(desk, "boss", app="other")
    direct_caller, callee = await desk.customer("direct"), await desk.customer("callee")
    direct = await direct_caller.call(callee.user_id, timeout=30)
    cases = {
        "an agent monitors": (monitor(ba1, call_id, "listen"), "FORBIDDEN"),
        "the customer monitors": (monitor(customer, call_id, "listen"), "FORBIDDEN"),
        "another app's supervisor": (monitor(other_supervisor, call_id, "listen"),
                                     "CALL_NOT_FOUND"),
        "no such call": (monitor(sue, "x" * 16, "listen"), "CALL_NOT_FOUND"),
        "a direct call": (monitor(sue, direct, "listen"), "CALL_NOT_FOUND"),
        "a call nobody answered": (monitor(sue, waiting_id, "listen"), "NOT_ANSWERED"),
        "a bad mode": (monitor(sue, call_id, "spy"), "BAD_REQUEST"),
        "no mode": (sue.request("monitor", {"callId": call_id}), "BAD_REQUEST"),
        "a number for a mode": (sue.request("monitor", {"callId": call_id, "mode": 1}),
                                "BAD_REQUEST"),
        "stop, not monitoring": (stop(sue, call_id), "NOT_MONITORING"),
        "an agent stops": (stop(ba1, call_id), "FORBIDDEN"),
    }
    for what, (attempt, code) in cases.items():
        assert await code_of(attempt) == code, what
    assert ba1.pending("monitor_started") == []
    # A second supervisor on the same call: MONITOR_BUSY, the first one's session unchanged.
    await monitor(sue, call_id, "listen")
    await ba1.next_event("monitor_started", callId=call_id)
    assert await code_of(monitor(sam, call_id, "barge")) == "MONITOR_BUSY"
    assert await code_of(stop(sam, call_id)) == "NOT_MONITORING"
    # Nor one supervisor on two calls.
    await ba2.agent_status("available")
    await first_offer([ba2], callId=waiting_id)
    await connect(ba2, waiting, waiting_id)
    assert await code_of(monitor(sue, waiting_id, "listen")) == "MONITOR_BUSY"
    assert ba2.pending("monitor_started") == [] and ba1.pending("monitor_changed") == []
    await stop(sue, call_id)
    await ba1.next_event("monitor_ended", callId=call_id)
    await customer.hangup(call_id)
    await waiting.hangup(waiting_id)
    await direct_caller.hangup(direct)
    segments = [s for s in closed_record(srv, call_id)["segments"] if s["kind"] == "monitor"]
    assert [(s["by"], s["mode"], s["changes"]) for s in segments] == [("sue", "listen", [])]
    assert not [s for s in closed_record(srv, waiting_id)["segments"] if s["kind"] == "monitor"]


async def test_monitoring_shown_false_tells_the_agents_sdk_but_not_to_show_it(request, tmp_path):
    start = _start_server(request.config)
    server = start(tmp_path, "", "200/second", True,
                   "monitoring_shown = false\n\n" + demo_extra([queue("hq")],
                                                               [agent("ha1", ["hq"])]))
    try:
        async with Desk(server) as desk:
            agent1, customer, call_id = await answered(desk, "hq", "ha1")
            sue = await supervisor(desk, "sue")
            assert (await monitor(sue, call_id, "listen"))["shown"] is False
            started = await agent1.next_event("monitor_started", callId=call_id)
            assert started["shown"] is False
            await customer.hangup(call_id)
    finally:
        server.stop()
    assert "Traceback" not in server.log(), server.log()
