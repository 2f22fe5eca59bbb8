"""The contact center of docs/protocol.md ("Contact center") through a real server: customers
enqueue, agents are offered the calls and accept them into ordinary calls; queue behaviour
(positions, max_wait, overflow, max_length, when_empty), ratings and the HTTP credential routes.

One server for the module; every test has its own queue(s) and agents.
"""

from __future__ import annotations

import asyncio
import time

import pytest
import requests
from contact_center_helpers import (
    ORIGIN,
    PASSWORD,
    Desk,
    agent,
    connect,
    enqueue,
    finish,
    first_offer,
    no_offer,
    queue,
    serve,
    until_agent,
)

from callcenter.client.call_client import AUDIO_CALL, CallClient
from callcenter.domain.credentials import verify

SNAPSHOT_KEYS = {"agentId", "name", "status", "reason", "state", "since", "queues", "skills",
                 "answered", "talkTime", "missedInRow", "lastCallEnd", "callId"}

QUEUES = [
    queue("basic", wrap_up=1),
    queue("side"),
    queue("snap"),
    queue("st"),
    queue("vf"),
    queue("pos"),
    queue("mw", max_wait=1, overflow="mwo"),
    queue("mwo"),
    queue("mt", max_wait=1),
    queue("ml", max_length=2),
    queue("we", when_empty="refuse"),
    queue("nl", when_empty="refuse"),
    queue("rate"),
    queue("cred"),
    queue("qs"),
    queue("ab"),
    queue("fan"),
]
# More agents than one slice of a fan-out (signaling.EMIT_SLICE, 50): the rest go out paced.
FAN = [f"fan{i:02d}" for i in range(55)]
AGENTS = [
    agent("b1", ["basic"], name="Bea"),
    agent("sn1", ["snap", "side"], name="Sam", skills={"en": 80, "de": 30}),
    agent("st1", ["st"]),
    agent("vf1", ["vf"]),
    agent("po1", ["pos"]),
    agent("mo1", ["mwo"]),
    agent("we1", ["we"]),
    agent("nl1", ["nl"]),
    agent("rt1", ["rate"]),
    agent("cr1", ["cred"], name="Cris"),
    agent("qs1", ["qs"]),
    agent("ab1", ["ab"]),
    *(agent(agent_id, ["fan"]) for agent_id in FAN),
]


@pytest.fixture(scope="module")
def srv(request, tmp_path_factory):
    yield from serve(request, tmp_path_factory.mktemp("cc"), queues=QUEUES, agents=AGENTS,
                     app_keys={"allowed_origins": [ORIGIN]},
                     contact_center={"enqueue_rate": "1000/minute",
                                     "customer_credential_rate": "1000/minute",
                                     "agent_login_rate": "1000/minute"})


@pytest.fixture
async def desk(srv):
    async with Desk(srv) as desk:
        yield desk


# -- the basic flow --------------------------------------------------------------------------------


async def test_enqueued_call_is_offered_to_an_agent_who_accepts_it_into_an_ordinary_call(desk):
    b1 = await desk.agent("b1")
    await until_agent(b1, state="waiting", status="available")
    attributes = {"name": "Ann", "topic": "billing", "language": "en",
                  "pageUrl": "https://shop.example/cart"}
    customer, call_id, ack = await enqueue(desk, "basic", attributes=attributes, type=AUDIO_CALL)
    assert ack["ok"] is True and ack["queue"] == "basic" and ack["position"] == 1
    assert isinstance(ack["estimatedWait"], int | float) and ack["estimatedWait"] >= 0
    assert ack["recorded"] is False

    offer = await b1.next_event("offer", callId=call_id)
    assert offer["queue"] == "basic" and offer["type"] == AUDIO_CALL
    assert offer["position"] == 1 and offer["ringTimeout"] == 10
    assert 0 <= offer["waited"] < 5
    who = offer["customer"]
    assert who["userID"] == customer.user_id
    assert (who["name"], who["topic"], who["language"], who["pageUrl"]) == (
        "Ann", "billing", "en", "https://shop.example/cart")
    assert who["attributes"] == attributes
    assert not who["verified"]  # nothing verified about a customer without claims
    ringing = await until_agent(b1, state="ringing")
    assert ringing["callId"] == call_id

    ack = await connect(b1, customer, call_id)
    assert ack["participants"] == [customer.user_id] and ack["type"] == AUDIO_CALL
    in_call = await until_agent(b1, state="in_call")
    assert in_call["callId"] == call_id
    # an ordinary call: the agent (who accepted) sends the WebRTC offer to the customer
    await b1.signal(call_id, customer.user_id, "offer", {"type": "offer", "sdp": "v=0"})
    relayed = await customer.next_event("signal", callId=call_id)
    assert relayed["from"] == b1.user_id and relayed["kind"] == "offer"

    await customer.hangup(call_id)
    await b1.next_event("user_leave", callId=call_id, userID=customer.user_id)
    end = await b1.next_event("call_end", callId=call_id)
    assert end["reason"] == "hangup"
    wrap = await until_agent(b1, state="wrap_up")
    assert wrap["callId"] == call_id and wrap["answered"] == 1
    await until_agent(b1, state="waiting", timeout=3)

    state = await b1.agent_state()
    call = state["callsToday"][0]
    assert call["callId"] == call_id and call["queue"] == "basic"
    assert call["customer"]["userID"] == customer.user_id  # the offer's customer object
    assert call["answeredAt"] <= call["endedAt"] and call["talk"] >= 0
    assert call["disposition"] is None and call["rating"] is None


async def test_agent_snapshot_and_state_describe_the_agent_and_their_queues(desk):
    sn1 = await desk.agent("sn1", status=None)
    ack = await sn1.agent_status("available")
    snap = ack["agent"]
    assert SNAPSHOT_KEYS <= set(snap), set(snap)
    assert (snap["agentId"], snap["name"], snap["status"], snap["state"]) == (
        "sn1", "Sam", "available", "waiting")
    assert sorted(snap["queues"]) == ["side", "snap"]
    assert snap["skills"] == {"en": 80, "de": 30}
    assert (snap["answered"], snap["missedInRow"], snap["callId"]) == (0, 0, None)
    assert snap["talkTime"] == 0 and snap["lastCallEnd"] is None
    assert snap["since"] <= time.time() + 1

    state = await sn1.agent_state()
    assert SNAPSHOT_KEYS <= set(state["agent"]) and state["agent"]["status"] == "available"
    assert sorted(q["name"] for q in state["queues"]) == ["side", "snap"]
    for q in state["queues"]:
        assert set(q) == {"name", "waiting", "longestWait", "agentsAvailable"}
        assert q["waiting"] == 0 and q["agentsAvailable"] == 1
    assert state["callsToday"] == []

    ack = await sn1.agent_status("break", "lunch")
    assert (ack["agent"]["status"], ack["agent"]["reason"]) == ("break", "lunch")
    update = await until_agent(sn1, status="break")
    assert update["reason"] == "lunch"
    ack = await sn1.agent_status("break")
    assert ack["agent"]["reason"] == "break"  # the default reason code


async def test_break_and_offline_stop_offers_and_available_resumes_them(desk):
    st1 = await desk.agent("st1", "break", "coffee")
    customer, call_id, _ = await enqueue(desk, "st")
    await no_offer([st1], within=0.6)
    ack = await st1.agent_status("offline")
    assert ack["agent"]["status"] == "offline"
    assert st1.connected  # offline stops offers; the agent stays connected
    await no_offer([st1], within=0.6)
    await st1.agent_status("available")
    offer = await st1.next_event("offer", callId=call_id, timeout=2)
    assert offer["waited"] >= 1
    await connect(st1, customer, call_id)


async def test_verified_claims_reach_the_agent_apart_from_what_the_customer_says(desk):
    vf1 = await desk.agent("vf1")
    claims = {"name": "Ann Verified", "priority": 3, "attrs": {"tier": "gold"}}
    customer, call_id, _ = await enqueue(desk, "vf", claims=claims,
                                         attributes={"name": "Claimed Name", "tier": "platinum"})
    offer = await vf1.next_event("offer", callId=call_id)
    verified = offer["customer"]["verified"]
    assert verified["name"] == "Ann Verified"
    assert verified["priority"] == 3
    assert verified["attrs"] == {"tier": "gold"}
    assert offer["customer"]["attributes"] == {"name": "Claimed Name", "tier": "platinum"}


# -- queue behaviour -------------------------------------------------------------------------------


async def test_waiting_customers_positions_count_down_as_calls_are_answered(desk):
    po1 = await desk.agent("po1", "break")
    waiting = []
    for i in range(3):
        customer, call_id, ack = await enqueue(desk, "pos", f"q{i}")
        assert ack["position"] == i + 1
        waiting.append((customer, call_id))
    (c1, id1), (c2, id2), (c3, id3) = waiting

    await po1.agent_status("available")
    await po1.next_event("offer", callId=id1)
    await connect(po1, c1, id1)
    u2 = await c2.next_event("queue_update", callId=id2, position=1)
    u3 = await c3.next_event("queue_update", callId=id3, position=2)
    assert u2["estimatedWait"] >= 0 and u3["estimatedWait"] >= 0
    await finish(po1, c1, id1, wait_idle=False)

    await po1.next_event("offer", callId=id2)
    await connect(po1, c2, id2)
    await c3.next_event("queue_update", callId=id3, position=1)
    # positions only go down while waiting
    seen = [e.data["position"] for e in c3.events if e.name == "queue_update"]
    assert seen == sorted(seen, reverse=True), seen


async def test_call_that_waited_max_wait_overflows_to_the_overflow_queue(desk):
    mo1 = await desk.agent("mo1")
    started = time.monotonic()
    customer, call_id, _ = await enqueue(desk, "mw")
    offer = await mo1.next_event("offer", callId=call_id, timeout=5)
    assert offer["queue"] == "mwo"
    assert time.monotonic() - started >= 0.8  # not before mw's max_wait of 1 s
    await connect(mo1, customer, call_id)
    assert not customer.pending("call_end")


async def test_call_that_waited_max_wait_without_overflow_ends_with_queue_timeout(desk):
    started = time.monotonic()
    customer, call_id, _ = await enqueue(desk, "mt")
    end = await customer.next_event("call_end", callId=call_id, timeout=5)
    assert end["reason"] == "queue_timeout"
    assert time.monotonic() - started >= 0.8
    # the customer is free again
    again = await customer.enqueue("mt")
    assert again["callId"] != call_id


async def test_full_queue_refuses_with_queue_full_until_a_place_is_free(desk):
    first, first_id, _ = await enqueue(desk, "ml")
    await enqueue(desk, "ml")
    third = await desk.customer("third")
    ack = await third.request("enqueue", {"queue": "ml", "type": 2})
    assert ack["error"]["code"] == "QUEUE_FULL"
    await first.hangup(first_id)
    ack = await third.enqueue("ml")
    assert ack["position"] == 2


async def test_queue_without_logged_in_agents_refuses_with_no_agents_when_set_to(desk):
    customer = await desk.customer()
    ack = await customer.request("enqueue", {"queue": "we", "type": 2})
    assert ack["error"]["code"] == "NO_AGENTS"
    we1 = await desk.agent("we1")
    ack = await customer.enqueue("we")
    await we1.next_event("offer", callId=ack["callId"])


async def test_last_agent_leaving_a_refusing_queue_ends_the_waiting_calls_with_no_agents(desk):
    nl1 = await desk.agent("nl1", "break")
    customer, call_id, _ = await enqueue(desk, "nl")
    await nl1.logout()
    end = await customer.next_event("call_end", callId=call_id, timeout=3)
    assert end["reason"] == "no_agents"
    later = await desk.customer()
    ack = await later.request("enqueue", {"queue": "nl", "type": 2})
    assert ack["error"]["code"] == "NO_AGENTS"


async def test_hangup_while_waiting_abandons_the_call(desk):
    ab1 = await desk.agent("ab1", "break")
    customer, call_id, _ = await enqueue(desk, "ab")
    assert (await ab1.agent_state())["queues"][0]["waiting"] == 1
    await customer.hangup(call_id)
    assert (await ab1.agent_state())["queues"][0]["waiting"] == 0
    await ab1.agent_status("available")
    await no_offer([ab1], within=0.5)
    # the customer may join again at once
    ack = await customer.enqueue("ab")
    await ab1.next_event("offer", callId=ack["callId"])


async def test_agents_are_sent_queue_stats_while_the_queue_changes(desk):
    qs1 = await desk.agent("qs1", "break")
    await enqueue(desk, "qs")
    deadline = time.monotonic() + 4
    while True:
        stats = await qs1.next_event("queue_stats", timeout=max(0.1, deadline - time.monotonic()))
        entry = next((q for q in stats["queues"] if q["name"] == "qs"), None)
        if entry is None:
            continue
        assert set(entry) == {"name", "waiting", "longestWait", "agentsAvailable"}
        if entry["waiting"] == 1:
            break
    # more changes within a second: still at most one queue_stats a second
    for _ in range(3):
        await enqueue(desk, "qs")
    await qs1.next_event("queue_stats", timeout=3)
    await asyncio.sleep(1.2)
    times = [e.at for e in qs1.events if e.name == "queue_stats"]
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert all(gap >= 0.9 for gap in gaps), gaps


async def test_queue_stats_reach_every_agent_of_a_fan_out_larger_than_one_slice(desk):
    agents = await asyncio.gather(*(desk.agent(agent_id, "break") for agent_id in FAN))
    await enqueue(desk, "fan")

    async def told_of_the_waiting_call(client: CallClient) -> None:
        while True:
            stats = await client.next_event("queue_stats", timeout=4)
            if any(q["name"] == "fan" and q["waiting"] == 1 for q in stats["queues"]):
                return

    # The slices after the first go out from a task of their own, after the step: all arrive.
    await asyncio.gather(*(told_of_the_waiting_call(client) for client in agents))


async def test_customer_rating_is_stored_with_the_agents_call(desk):
    rt1 = await desk.agent("rt1")
    customer, call_id, _ = await enqueue(desk, "rate")
    await rt1.next_event("offer", callId=call_id)
    await connect(rt1, customer, call_id)
    await finish(rt1, customer, call_id, by_customer=False)
    ack = await customer.rate(call_id, 4)
    assert ack["ok"] is True
    call = (await rt1.agent_state())["callsToday"][0]
    assert (call["callId"], call["rating"]) == (call_id, 4)
    again = await customer.request("rate", {"callId": call_id, "rating": 5})
    assert again["error"]["code"] == "ALREADY_RATED"
    assert (await rt1.agent_state())["callsToday"][0]["rating"] == 4


# -- HTTP ------------------------------------------------------------------------------------------


async def test_customer_credential_route_gives_an_anonymous_customer_who_can_enqueue(srv, desk):
    cr1 = await desk.agent("cr1")
    response = await asyncio.to_thread(
        requests.post, srv.url + "/api/customer-credential", json={"appId": "demo",
                                                                   "name": "Web Ann"},
        headers={"Origin": ORIGIN}, timeout=5)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["ok"] is True and body["appId"] == "demo" and body["expiresIn"] == 900
    assert body["userID"].startswith("c_")
    identity = verify(body["userSig"], "demo", srv.secrets["demo"])
    assert (identity.user_id, identity.role.value) == (body["userID"], "customer")
    assert 890 <= identity.expires_at - time.time() <= 905

    customer = CallClient(srv.url, "demo")
    desk.made.append(customer)
    await customer.login(body["userID"], body["userSig"])
    ack = await customer.enqueue("cred")
    offer = await cr1.next_event("offer", callId=ack["callId"])
    assert offer["customer"]["userID"] == body["userID"]
    # each request gives a fresh customer
    second = await asyncio.to_thread(
        requests.post, srv.url + "/api/customer-credential", json={"appId": "demo"},
        headers={"Origin": ORIGIN}, timeout=5)
    assert second.json()["userID"] != body["userID"]


async def test_agent_login_route_gives_an_agent_credential(srv, desk):
    response = await asyncio.to_thread(
        requests.post, srv.url + "/api/agent-login",
        json={"appId": "demo", "agentId": "cr1", "password": PASSWORD}, timeout=5)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["ok"] is True and body["userID"] == "cr1" and body["name"] == "Cris"
    assert body["queues"] == ["cred"]
    identity = verify(body["userSig"], "demo", srv.secrets["demo"])
    assert identity.role.value == "agent"
    assert 43190 <= identity.expires_at - time.time() <= 43205

    cr1 = CallClient(srv.url, "demo")
    desk.made.append(cr1)
    hello = await cr1.login("cr1", body["userSig"])
    assert hello["role"] == "agent"
    ack = await cr1.agent_status("available")
    assert ack["agent"]["agentId"] == "cr1"


async def test_offer_goes_only_to_agents_of_the_queue(desk):
    # b1 serves basic only, sn1 serves snap and side: a call to side reaches sn1 alone
    b1, sn1 = await desk.agents("b1", "sn1")
    customer, call_id, _ = await enqueue(desk, "side")
    chosen, offer = await first_offer([b1, sn1], callId=call_id)
    assert chosen is sn1 and offer["queue"] == "side"
    await no_offer([b1], within=0.3)
