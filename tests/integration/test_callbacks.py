"""Callbacks that keep their place (docs/protocol.md, `callback`) through a real server: the ack and
the place in line, the offer that carries the contact, the agent's accept ringing the customer on
a new connection, one record through the REST API, the retries of a customer not reached and the
`unreachable` end, the statistics that do not call it an abandon, and the refusals that change
nothing.

One server for the module; every test has its own queue(s) and agents.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
import requests
from contact_center_helpers import (
    Desk,
    agent,
    enqueue,
    first_offer,
    no_offer,
    queue,
    refused,
    serve,
    until_agent,
)

pytestmark = pytest.mark.timeout(60)

CONTACT = {"name": "Ann Lee", "email": "ann@shop.example", "note": "the blue kettle"}
CALLBACKS = {"callback_after": 0, "callback_ring_timeout": 2, "callback_retry_delay": 1,
             "callback_attempts": 2}
QUEUES = [
    queue("place", **CALLBACKS), queue("ring", **CALLBACKS), queue("away", **CALLBACKS),
    queue("stats", **CALLBACKS), queue("bad", **CALLBACKS), queue("plain"),
]
AGENTS = [
    agent("pa1", ["place"], name="Pia"), agent("ra1", ["ring"], name="Rob"),
    agent("wa1", ["away"]), agent("sa1", ["stats"]), agent("ba1", ["bad", "plain"]),
]


@pytest.fixture(scope="module")
def srv(request, tmp_path_factory):
    yield from serve(request, tmp_path_factory.mktemp("callbacks"), queues=QUEUES, agents=AGENTS)


@pytest.fixture
async def desk(srv):
    async with Desk(srv) as desk:
        yield desk


def supervisor(server: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {server.token('sup1', role='supervisor')}"}


def record(server: Any, call_id: str, timeout: float = 5) -> dict[str, Any]:
    """The call's record through the REST API, once closed (written in the background)."""
    deadline = time.monotonic() + timeout
    while True:
        response = requests.get(f"{server.url}/api/calls/{call_id}", timeout=5,
                                headers=supervisor(server))
        if response.status_code == 200 and response.json()["call"]["endedAt"] is not None:
            return response.json()["call"]
        if time.monotonic() >= deadline:
            raise TimeoutError(f"no closed record of {call_id}: {response.text}")
        time.sleep(0.05)


def events_of(server: Any, call_id: str, *expected: str, timeout: float = 5) -> list[str]:
    """The names of the call's events in its record, once every one of `expected` is there."""
    deadline = time.monotonic() + timeout
    while True:
        call = record(server, call_id)
        names = [e["event"] for e in call.get("events", [])]
        if all(name in names for name in expected) or time.monotonic() >= deadline:
            return names
        time.sleep(0.05)


async def test_a_callback_keeps_its_place_and_its_offer_carries_the_contact(srv, desk):
    pia = await desk.agent("pa1", status="break")
    first, first_id, _ = await enqueue(desk, "place")
    second, second_id, ack = await enqueue(desk, "place")
    assert ack["position"] == 2 and ack["callbackAfter"] == 0
    asked = await first.callback(first_id, CONTACT)
    assert (asked["callId"], asked["position"]) == (first_id, 1)
    assert asked["callback"]["contact"] == CONTACT and asked["callback"]["attempts"] == []
    await first.logout()  # their page went: the call keeps waiting, at its place
    await asyncio.sleep(0.3)
    assert second.pending("call_end") == []
    await pia.agent_status("available")
    _, offer = await first_offer([pia], callId=first_id)
    assert offer["callback"]["contact"] == CONTACT and offer["position"] == 1
    assert offer["customer"]["userID"] == first.user_id
    await pia.reject(first_id)  # served later; the second call is next meanwhile
    await second.hangup(second_id)


async def test_accepting_a_callback_rings_the_customer_and_the_call_goes_on_in_one_record(
        srv, desk):
    rob = await desk.agent("ra1", status="break")
    customer, call_id, _ = await enqueue(desk, "ring")
    await customer.callback(call_id, {**CONTACT, "phone": "+44 20 7946 0000"})
    await customer.close()  # the page went...
    again = await desk.customer(user_id=customer.user_id)  # ...and the next page logs in
    await rob.agent_status("available")
    _, offer = await first_offer([rob], callId=call_id)
    assert offer["callback"]["contact"]["phone"] == "+44 20 7946 0000"
    accepted = await rob.accept(call_id)
    assert accepted["participants"] == []
    await until_agent(rob, state="in_call")
    ring = await again.next_event("invited", callId=call_id)
    assert ring["sponsor"] == "ra1"
    assert ring["callback"] == {"agent": {"userID": "ra1", "name": "Rob"}, "queue": "ring"}
    await asyncio.sleep(0.3)
    joined = await again.accept(call_id)
    assert joined["participants"] == ["ra1"]
    await rob.next_event("user_enter", callId=call_id, userID=again.user_id)
    answered = await again.next_event("queue_answered", callId=call_id)
    assert answered["agent"]["userID"] == "ra1"
    await asyncio.sleep(0.3)
    await again.hangup(call_id)
    await rob.next_event("call_end", callId=call_id)
    call = record(srv, call_id)
    assert (call["outcome"], call["agent"], call["queue"]) == ("completed", "ra1", "ring")
    assert call["joinedAt"] < call["callback"]["requestedAt"] < call["answeredAt"]
    assert call["callback"]["contact"]["email"] == CONTACT["email"]
    assert [a["outcome"] for a in call["callback"]["attempts"]] == ["answered"]
    assert 0.2 <= call["talk"] <= 2, call
    token = srv.token("sup1", role="supervisor")
    listed = requests.get(f"{srv.url}/api/calls", params={"limit": 500}, timeout=5,
                          headers={"Authorization": f"Bearer {token}"}).json()["calls"]
    assert [c["callId"] for c in listed].count(call_id) == 1
    names = events_of(srv, call_id, "callback.requested", "callback.offered",
                      "callback.completed", "queue.completed")
    order = [names.index(n) for n in ("queue.joined", "callback.requested", "callback.offered",
                                      "queue.answered", "callback.completed", "queue.completed")]
    assert order == sorted(order), names
    assert "queue.abandoned" not in names


async def test_a_customer_not_online_is_tried_again_then_the_call_ends_unreachable(srv, desk):
    wa1 = await desk.agent("wa1", status="break")
    customer, call_id, _ = await enqueue(desk, "away")
    await customer.callback(call_id, CONTACT)
    await customer.logout()  # gone from the site for good
    await wa1.agent_status("available")
    for _ in range(2):  # callback_attempts = 2
        await first_offer([wa1], callId=call_id, timeout=5)
        await wa1.accept(call_id)
        ended = await wa1.next_event("call_end", callId=call_id)
        assert ended["reason"] == "offline"
        await until_agent(wa1, state="waiting")
    call = record(srv, call_id)
    assert (call["outcome"], call["answeredAt"], call["endReason"]) == \
        ("unreachable", None, "unreachable")
    attempts = call["callback"]["attempts"]
    assert [a["outcome"] for a in attempts] == ["offline", "offline"]
    assert attempts[1]["start"] - attempts[0]["end"] >= 0.9  # callback_retry_delay = 1
    assert call["callback"]["contact"] == CONTACT  # for the follow-up
    names = events_of(srv, call_id, "callback.unreachable")
    assert names.count("callback.offered") == 2 and "callback.unreachable" in names, names
    assert "queue.abandoned" not in names and "queue.answered" not in names
    await no_offer([wa1], within=1.5, callId=call_id)


async def test_a_callback_not_answered_is_retried_and_is_not_an_abandon(srv, desk):
    started = time.time() - 1
    sa1 = await desk.agent("sa1", status="break")
    customer, call_id, _ = await enqueue(desk, "stats")
    await customer.callback(call_id, {"phone": "+1 555 0100"})
    await sa1.agent_status("available")
    for _ in range(2):  # rings out (callback_ring_timeout = 2), then is declined
        await first_offer([sa1], callId=call_id, timeout=5)
        await sa1.accept(call_id)
        await customer.next_event("invited", callId=call_id)
        if not _:
            await customer.next_event("calling_cancel", callId=call_id, timeout=5)
        else:
            await customer.reject(call_id)
        await sa1.next_event("call_end", callId=call_id, timeout=5)
    call = record(srv, call_id)
    assert call["outcome"] == "unreachable"
    assert [a["outcome"] for a in call["callback"]["attempts"]] == ["no_answer", "rejected"]
    stats = requests.get(f"{srv.url}/api/stats", timeout=5, headers=supervisor(srv),
                         params={"queue": "stats", "from": started}).json()["summary"]
    assert (stats["offered"], stats["abandoned"], stats["shortAbandoned"]) == (1, 0, 0)


async def test_bad_callback_requests_are_refused_and_change_nothing(srv, desk):
    ba1 = await desk.agent("ba1", status="break")
    customer, call_id, _ = await enqueue(desk, "bad")
    other, other_id, _ = await enqueue(desk, "bad")
    plain, plain_id, ack = await enqueue(desk, "plain")
    assert ack["callbackAfter"] is None
    cases = {
        "another customer's call": (other.callback(call_id, CONTACT), "CALL_NOT_FOUND"),
        "no such call": (customer.callback("x" * 16, CONTACT), "CALL_NOT_FOUND"),
        "neither email nor phone": (customer.callback(call_id, {"name": "Ann"}), "BAD_CONTACT"),
        "not an email": (customer.callback(call_id, {"email": "ann at shop"}), "BAD_CONTACT"),
        "a note too long": (customer.callback(call_id, {**CONTACT, "note": "x" * 501}),
                            "BAD_CONTACT"),
        "an unknown field": (customer.callback(call_id, {**CONTACT, "fax": "1"}), "BAD_CONTACT"),
        "a number for a name": (customer.callback(call_id, {**CONTACT, "name": 7}),
                                "BAD_CONTACT"),
        "no contact": (customer.request("callback", {"callId": call_id}), "BAD_REQUEST"),
        "a queue that does not call back": (plain.callback(plain_id, CONTACT),
                                            "CALLBACK_NOT_OFFERED"),
        "an agent asking": (ba1.callback(call_id, CONTACT), "FORBIDDEN"),
    }
    for what, (attempt, code) in cases.items():
        try:
            result = await attempt
        except Exception as exc:  # CallClientError
            result = {"ok": False, "error": {"code": getattr(exc, "code", repr(exc))}}
        assert result.get("ok") is False and result["error"]["code"] == code, what
    # Nothing changed: both still wait on the line, in their order.
    assert customer.pending("call_end") == [] and other.pending("call_end") == []
    await customer.callback(call_id, CONTACT)
    assert await refused(customer.callback(call_id, CONTACT)) == "CALLBACK_ALREADY_REQUESTED"
    # Answered: no longer waiting.
    await plain.hangup(plain_id)
    await other.hangup(other_id)
    waiting, waiting_id, _ = await enqueue(desk, "bad")
    await ba1.agent_status("available")
    _, offer = await first_offer([ba1], timeout=5)
    assert offer["callId"] == call_id  # the callback is first: it kept its place
    await ba1.accept(call_id)
    await customer.next_event("invited", callId=call_id)
    await customer.reject(call_id)  # not now: tried again later, the next call is served
    _, offer = await first_offer([ba1], callId=waiting_id, timeout=5)
    await ba1.accept(waiting_id)
    await waiting.next_event("user_enter", callId=waiting_id)
    assert await refused(waiting.callback(waiting_id, CONTACT)) == "NOT_WAITING"
    await waiting.hangup(waiting_id)
