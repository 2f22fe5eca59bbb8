"""`media_flow` through a real server: who may report a stall and about whom (anything else is
refused with a code and changes nothing), the relay to the other side, and the silent seconds a
queue call's record then has (through the REST API), kept out of its talk time."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from contact_center_helpers import (
    Desk,
    agent,
    closed_record,
    connect,
    enqueue,
    error_code,
    first_offer,
    queue,
    serve,
)
from signaling_helpers import in_call, no_event

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def desk_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    yield from serve(request, tmp_path_factory.mktemp("media-flow"),
                     queues=[queue("mf")], agents=[agent("mfa", ["mf"]), agent("mfb", ["mf"])])


async def test_only_a_joined_participant_may_report_and_only_about_another_joined_one(
        desk_server, clients):
    alice = await clients(desk_server, "alice")
    bob = await clients(desk_server, "bob")
    carol = await clients(desk_server, "carol")
    stranger = await clients(desk_server, "stranger", app="other")
    call_id = await in_call(alice, bob)
    # carol rings in another call of her own: she is in no way part of this one
    dave = await clients(desk_server, "dave")
    other_call = await dave.call(carol.user_id, 1)
    await carol.next_event("invited", callId=other_call)

    cases = [
        (carol, {"callId": call_id, "userID": bob.user_id, "flowing": False}, "NOT_IN_CALL"),
        (alice, {"callId": call_id, "userID": carol.user_id, "flowing": False},
         "PEER_NOT_IN_CALL"),
        (alice, {"callId": call_id, "userID": alice.user_id, "flowing": False},
         "PEER_NOT_IN_CALL"),
        (alice, {"callId": other_call, "userID": dave.user_id, "flowing": False}, "NOT_IN_CALL"),
        (carol, {"callId": other_call, "userID": dave.user_id, "flowing": False},
         "NOT_IN_CALL"),  # ringing is not joined: there is no media yet
        (alice, {"callId": "no-such-call", "userID": bob.user_id, "flowing": False},
         "CALL_NOT_FOUND"),
        (stranger, {"callId": call_id, "userID": bob.user_id, "flowing": False},
         "CALL_NOT_FOUND"),  # another app's call is not found
        (alice, {"callId": call_id, "userID": bob.user_id, "flowing": "no"}, "BAD_REQUEST"),
        (alice, {"callId": call_id, "userID": bob.user_id}, "BAD_REQUEST"),
        (alice, {"callId": call_id, "flowing": False}, "BAD_REQUEST"),
        (alice, {"callId": call_id, "userID": bob.user_id, "flowing": False, "at": 1},
         "BAD_REQUEST"),
        (alice, [call_id, bob.user_id, False], "BAD_REQUEST"),
        (alice, {"callId": call_id, "userID": bob.user_id, "flowing": False, "silentFor": -1},
         "BAD_REQUEST"),
        (alice, {"callId": call_id, "userID": bob.user_id, "flowing": False, "silentFor": 61},
         "BAD_REQUEST"),
        (alice, {"callId": call_id, "userID": bob.user_id, "flowing": False, "silentFor": "3"},
         "BAD_REQUEST"),
        (alice, {"callId": call_id, "userID": bob.user_id, "flowing": True, "silentFor": 3},
         "BAD_REQUEST"),
    ]
    for client, payload, code in cases:
        assert error_code(await client.request("media_flow", payload)) == code, payload
    # nothing reached anybody, and the call has no silence: a real report is relayed as new
    for client in (alice, bob, carol, dave):
        await no_event(client, "media_flow", within=0.1)
    ack = await alice.request("media_flow", {"callId": call_id, "userID": bob.user_id,
                                             "flowing": False})
    assert ack == {"ok": True}
    relayed = await bob.next_event("media_flow", callId=call_id)
    assert relayed == {"callId": call_id, "userID": bob.user_id, "by": alice.user_id,
                       "flowing": False}
    # the same report again is answered and goes nowhere
    assert (await alice.request("media_flow", {"callId": call_id, "userID": bob.user_id,
                                               "flowing": False}))["ok"] is True
    await no_event(bob, "media_flow", within=0.2)
    # once bob has left, he is no longer in the call to be reported about
    await bob.hangup(call_id)
    assert error_code(await alice.request("media_flow", {
        "callId": call_id, "userID": bob.user_id, "flowing": True})) == "CALL_NOT_FOUND"


async def test_a_queue_calls_silent_seconds_are_the_union_of_the_reports_and_leave_talk(
        desk_server):
    async with Desk(desk_server) as desk:
        agents = await desk.agents("mfa", "mfb")
        customer, call_id, _ = await enqueue(desk, "mf", type=1)
        chosen, _ = await first_offer(agents, callId=call_id)
        await connect(chosen, customer, call_id)
        agent_id, customer_id = chosen.user_id, customer.user_id
        await asyncio.sleep(0.5)
        # The customer froze: the agent hears nothing, then the customer's side notices too.
        await chosen.media_flow(call_id, customer_id, False)
        stalled = await customer.next_event("media_flow", callId=call_id)
        assert stalled == {"callId": call_id, "userID": customer_id, "by": agent_id,
                           "flowing": False}
        await asyncio.sleep(1.0)
        await customer.media_flow(call_id, agent_id, False)
        await asyncio.sleep(0.5)
        await chosen.media_flow(call_id, customer_id, True)
        assert (await customer.next_event("media_flow", callId=call_id, by=agent_id))[
            "flowing"] is True
        await asyncio.sleep(0.5)
        await customer.media_flow(call_id, agent_id, True)
        await asyncio.sleep(0.5)
        # A second stall is still open when the customer hangs up: it counts to the end.
        await chosen.media_flow(call_id, customer_id, False)
        await asyncio.sleep(0.7)
        await customer.hangup(call_id)
        await chosen.next_event("call_end", callId=call_id)
    call = closed_record(desk_server, call_id)
    answered = call["endedAt"] - call["answeredAt"]
    # 1.0 + 0.5 + 0.5 (the union of the two overlapping reports) and 0.7 open at the end
    assert call["silentSeconds"] == pytest.approx(2.7, abs=0.25), call
    assert call["talk"] == pytest.approx(answered - call["silentSeconds"], abs=0.01), call
    assert call["talk"] == pytest.approx(answered - 2.7, abs=0.3), call


async def test_reports_before_the_agent_answers_are_refused_and_change_nothing(desk_server):
    async with Desk(desk_server) as desk:
        agents = await desk.agents("mfa", "mfb")
        customer, call_id, _ = await enqueue(desk, "mf", type=1)
        ringing, _ = await first_offer(agents, callId=call_id)
        # Out of turn: the offer still rings, so there is no media to speak of yet.
        assert error_code(await ringing.request("media_flow", {
            "callId": call_id, "userID": customer.user_id, "flowing": False})) == "NOT_IN_CALL"
        assert error_code(await customer.request("media_flow", {
            "callId": call_id, "userID": ringing.user_id, "flowing": False})) == \
            "PEER_NOT_IN_CALL"
        await connect(ringing, customer, call_id)
        for client in (ringing, customer):
            await no_event(client, "media_flow", within=0.1)
        await asyncio.sleep(0.3)
        await customer.hangup(call_id)
        await ringing.next_event("call_end", callId=call_id)
    assert closed_record(desk_server, call_id)["silentSeconds"] == 0.0


async def test_a_call_without_stalls_has_no_silent_seconds(desk_server):
    async with Desk(desk_server) as desk:
        agents = await desk.agents("mfa", "mfb")
        customer, call_id, _ = await enqueue(desk, "mf", type=1)
        chosen, _ = await first_offer(agents, callId=call_id)
        await connect(chosen, customer, call_id)
        # media known to flow already: a report of it changes nothing
        await chosen.media_flow(call_id, customer.user_id, True)
        await asyncio.sleep(0.3)
        await customer.hangup(call_id)
        await chosen.next_event("call_end", callId=call_id)
    call = closed_record(desk_server, call_id)
    assert call["silentSeconds"] == 0.0
    assert call["talk"] == pytest.approx(call["endedAt"] - call["answeredAt"], abs=0.01)
