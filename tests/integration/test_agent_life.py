"""Agent life (docs/protocol.md "Contact center", docs/config.md `[[apps.queues]]`): ring timeout,
automatic break after missed offers, reject delay, wrap-up, the grace period of a dropped agent,
one call per agent, a customer who leaves while an offer rings, and ring-all races.

One server for the module (agent_grace 2 s); every test has its own queue and agents.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from contact_center_helpers import (
    Desk,
    agent,
    connect,
    enqueue,
    error_code,
    finish,
    first_offer,
    no_offer,
    queue,
    serve,
    until_agent,
)
from signaling_helpers import no_event

GRACE = 2

QUEUES = [
    queue("rt", ring_timeout=1, max_no_answer=5),
    queue("nb", ring_timeout=1, max_no_answer=2),
    queue("rj", reject_delay=2),
    queue("wu", wrap_up=2),
    queue("gr"),
    queue("gb"),
    queue("gs", when_empty="refuse"),
    queue("one"),
    queue("two", strategy="ring-all"),
    queue("ab"),
    queue("ab2"),
    queue("r6", strategy="ring-all"),
    queue("dr"),
    queue("dc"),
]
AGENTS = [
    agent("rt1", ["rt"]), agent("rt2", ["rt"]),
    agent("nb1", ["nb"]),
    agent("rj1", ["rj"]), agent("rj2", ["rj"]),
    agent("wu1", ["wu"]),
    agent("gr1", ["gr"]), agent("gr2", ["gr"]),
    agent("gb1", ["gb"]),
    agent("gs1", ["gs"]),
    agent("on1", ["one"]),
    agent("tw1", ["two"]), agent("tw2", ["two"]),
    agent("ab1", ["ab"]), agent("ab2", ["ab2"]),
    *(agent(f"r6_{i}", ["r6"]) for i in range(1, 7)),
    agent("dr1", ["dr"]),
    agent("dc1", ["dc"]), agent("dc2", []),
]


@pytest.fixture(scope="module")
def srv(request, tmp_path_factory):
    yield from serve(request, tmp_path_factory.mktemp("agent-life"), queues=QUEUES,
                     agents=AGENTS, enable=["ring-all"],
                     contact_center={"agent_grace": GRACE, "enqueue_rate": "1000/minute"})


@pytest.fixture
async def desk(srv):
    async with Desk(srv) as desk:
        yield desk


async def test_unanswered_offer_goes_to_the_next_agent_after_the_ring_timeout(desk):
    rt1, rt2 = await desk.agents("rt1", "rt2")
    customer, call_id, _ = await enqueue(desk, "rt")
    first, offer = await first_offer([rt1, rt2], callId=call_id)
    offered_at = time.monotonic()
    assert offer["ringTimeout"] == 1
    second = rt2 if first is rt1 else rt1

    cancel = await first.next_event("calling_cancel", callId=call_id, timeout=3)
    assert cancel["reason"] == "timeout"
    await second.next_event("offer", callId=call_id, timeout=2)
    assert time.monotonic() - offered_at >= 0.8
    assert error_code(await first.request("accept", {"callId": call_id})) == "NOT_INVITED"
    assert (await first.agent_state())["agent"]["missedInRow"] == 1
    await connect(second, customer, call_id)
    assert not customer.pending("call_end")


async def test_agent_who_misses_max_no_answer_offers_in_a_row_is_put_on_break(desk):
    nb1 = await desk.agent("nb1")
    await enqueue(desk, "nb", "c1")
    await enqueue(desk, "nb", "c2")
    started = time.monotonic()
    snapshot = await until_agent(nb1, timeout=6, status="break")
    assert snapshot["reason"] == "no_answer"
    assert time.monotonic() - started >= 1.5  # two ring timeouts of 1 s
    offers = nb1.pending("offer")
    cancels = nb1.pending("calling_cancel")
    assert len(offers) == 2, [e.data for e in offers]
    assert [e.data["reason"] for e in cancels] == ["timeout", "timeout"]
    for event in offers + cancels:
        event.consumed = True
    await no_offer([nb1], within=1.2)
    # back from break: counting starts again, offers resume
    ack = await nb1.agent_status("available")
    assert ack["agent"]["missedInRow"] == 0
    offer = await nb1.next_event("offer", timeout=2)
    await nb1.accept(offer["callId"])


async def test_rejecting_agent_is_not_offered_calls_for_the_reject_delay(desk):
    rj1, rj2 = await desk.agents("rj1", "rj2")
    c1, id1, _ = await enqueue(desk, "rj", "c1")
    rejecter, _ = await first_offer([rj1, rj2], callId=id1)
    other = rj2 if rejecter is rj1 else rj1
    await rejecter.reject(id1)
    rejected_at = time.monotonic()
    # the call goes to the other agent at once, and the customer keeps waiting
    await other.next_event("offer", callId=id1, timeout=1)
    await connect(other, c1, id1)
    assert not c1.pending("call_end")

    c2, id2, _ = await enqueue(desk, "rj", "c2")
    await rejecter.next_event("offer", callId=id2, timeout=4)
    waited = time.monotonic() - rejected_at
    assert waited >= 1.8, f"offered again {waited:.2f} s after rejecting (reject_delay 2)"


async def test_wrap_up_holds_the_next_offer_and_wrap_up_request_ends_it_early(desk):
    wu1 = await desk.agent("wu1")
    c1, id1, _ = await enqueue(desk, "wu", "c1")
    await wu1.next_event("offer", callId=id1)
    await connect(wu1, c1, id1)
    await c1.hangup(id1)
    ended_at = time.monotonic()
    snapshot = await until_agent(wu1, state="wrap_up")
    assert snapshot["callId"] == id1

    # a call waiting meanwhile is offered only once the queue's wrap_up (2 s) is over
    c2, id2, _ = await enqueue(desk, "wu", "c2")
    await wu1.next_event("offer", callId=id2, timeout=4)
    waited = time.monotonic() - ended_at
    assert waited >= 1.8, f"offered {waited:.2f} s after the call ended (wrap_up 2)"
    await connect(wu1, c2, id2)

    # the agent hangs up this time and ends wrap-up at once with a disposition
    await wu1.hangup(id2)
    await until_agent(wu1, state="wrap_up")
    ack = await wu1.wrap_up(id2, disposition="resolved", notes="refund sent")
    assert ack["ok"] is True
    await until_agent(wu1, state="waiting", timeout=1)
    c3, id3, _ = await enqueue(desk, "wu", "c3")
    await wu1.next_event("offer", callId=id3, timeout=1)

    calls = (await wu1.agent_state())["callsToday"]
    assert [c["callId"] for c in calls[:2]] == [id2, id1]  # newest first
    assert calls[0]["disposition"] == "resolved"
    assert calls[1]["disposition"] is None


async def test_dropped_agents_ringing_call_is_offered_to_another_agent_at_once(desk):
    gr1, gr2 = await desk.agents("gr1", "gr2")
    customer, call_id, _ = await enqueue(desk, "gr")
    dropped, _ = await first_offer([gr1, gr2], callId=call_id)
    other = gr2 if dropped is gr1 else gr1
    await dropped.close()
    dropped_at = time.monotonic()
    # ring_timeout is 10 s: the new offer comes from the drop, not from a timeout
    await other.next_event("offer", callId=call_id, timeout=1.5)
    assert time.monotonic() - dropped_at < 1.5
    await connect(other, customer, call_id)


async def test_dropped_agent_keeps_its_status_within_the_grace_period(desk, srv):
    gb1 = await desk.agent("gb1", "break", "lunch")
    await gb1.close()
    await asyncio.sleep(GRACE / 4)
    again = await desk.agent("gb1", status=None)
    snapshot = (await again.agent_state())["agent"]
    assert (snapshot["status"], snapshot["reason"]) == ("break", "lunch")


async def test_dropped_agent_is_offline_after_the_grace_period(desk):
    gs1 = await desk.agent("gs1", "break", "lunch")
    customer, call_id, _ = await enqueue(desk, "gs")  # a refuse queue: gs1 is logged in
    await gs1.close()
    dropped_at = time.monotonic()
    # gs1 was the queue's last agent: once the grace is over the waiting call ends
    end = await customer.next_event("call_end", callId=call_id, timeout=GRACE + 3)
    assert end["reason"] == "no_agents"
    assert time.monotonic() - dropped_at >= GRACE - 0.3
    later = await desk.customer()
    assert error_code(await later.request("enqueue", {"queue": "gs", "type": 2})) == "NO_AGENTS"
    # logging in again is a fresh login: the status from before the drop is gone
    gs1 = await desk.agent("gs1", status=None)
    snapshot = (await gs1.agent_state())["agent"]
    assert (snapshot["status"], snapshot["reason"]) != ("break", "lunch"), snapshot


async def test_agent_is_never_offered_a_second_call_while_ringing_or_in_a_call(desk):
    on1 = await desk.agent("on1")
    c1, id1, _ = await enqueue(desk, "one", "c1")
    c2, id2, _ = await enqueue(desk, "one", "c2")
    await on1.next_event("offer", callId=id1)
    await no_offer([on1], within=0.5)  # ringing for c1
    await connect(on1, c1, id1)
    await no_offer([on1], within=0.5)  # in a call with c1
    await finish(on1, c1, id1, wait_idle=False)
    await on1.next_event("offer", callId=id2, timeout=2)


async def test_ring_all_does_not_ring_an_agent_for_two_calls_at_once(desk):
    tw1, tw2 = await desk.agents("tw1", "tw2")
    c1, id1, _ = await enqueue(desk, "two", "c1")
    c2, id2, _ = await enqueue(desk, "two", "c2")
    for a in (tw1, tw2):
        await a.next_event("offer", callId=id1)
    await no_offer([tw1, tw2], within=0.5)  # both ring for c1 only
    await connect(tw1, c1, id1)
    assert (await tw2.next_event("calling_cancel", callId=id1))["reason"] == "taken"
    await tw2.next_event("offer", callId=id2, timeout=2)
    await no_offer([tw1], within=0.5)  # tw1 is in a call
    snapshot = (await tw1.agent_state())["agent"]
    assert (snapshot["state"], snapshot["callId"]) == ("in_call", id1)


async def test_customer_hanging_up_while_the_offer_rings_withdraws_it_as_abandoned(desk):
    ab1 = await desk.agent("ab1")
    customer, call_id, _ = await enqueue(desk, "ab")
    await ab1.next_event("offer", callId=call_id)
    await customer.hangup(call_id)
    cancel = await ab1.next_event("calling_cancel", callId=call_id, timeout=1)
    assert cancel["reason"] == "abandoned"
    assert (await ab1.request("accept", {"callId": call_id}))["ok"] is False
    await no_event(customer, "user_accept", within=0.2)
    await until_agent(ab1, state="waiting")
    # the agent is free for the next customer at once
    _, next_id, _ = await enqueue(desk, "ab", "next")
    await ab1.next_event("offer", callId=next_id, timeout=1)


async def test_accepting_an_offer_the_customer_abandoned_finds_no_call(desk):
    ab2 = await desk.agent("ab2")
    customer, call_id, _ = await enqueue(desk, "ab2")
    await ab2.next_event("offer", callId=call_id)
    await customer.hangup(call_id)
    await ab2.next_event("calling_cancel", callId=call_id, timeout=1)
    # The abandoned call has ended, so it is not found (an offer withdrawn from a call that
    # goes on is NOT_INVITED instead).
    assert error_code(await ab2.request("accept", {"callId": call_id})) == "CALL_NOT_FOUND"

async def test_ring_all_with_six_agents_accepting_at_once_has_exactly_one_winner(desk):
    agents = await desk.agents(*(f"r6_{i}" for i in range(1, 7)))
    for _ in range(3):
        customer, call_id, _ = await enqueue(desk, "r6")
        for a in agents:
            await a.next_event("offer", callId=call_id)
        acks = await asyncio.gather(*(a.request("accept", {"callId": call_id}) for a in agents))
        winners = [a for a, ack in zip(agents, acks, strict=True) if ack.get("ok")]
        assert len(winners) == 1, acks
        losers = [a for a in agents if a is not winners[0]]
        assert sorted(ack["error"]["code"] for ack in acks if not ack.get("ok")) == [
            "NOT_INVITED"] * 5
        await customer.next_event("user_accept", callId=call_id, userID=winners[0].user_id)
        for loser in losers:
            cancel = await loser.next_event("calling_cancel", callId=call_id)
            assert cancel["reason"] == "taken"
        await no_event(customer, "user_accept", within=0.2)
        await finish(winners[0], customer, call_id)
        for loser in losers:
            await until_agent(loser, state="waiting")


async def test_customer_dropping_while_the_offer_rings_withdraws_it(desk):
    dr1 = await desk.agent("dr1")
    customer, call_id, _ = await enqueue(desk, "dr")
    await dr1.next_event("offer", callId=call_id)
    await customer.close()
    cancel = await dr1.next_event("calling_cancel", callId=call_id, timeout=2)
    assert cancel["reason"] in {"abandoned", "disconnected"}
    assert (await dr1.request("accept", {"callId": call_id}))["ok"] is False
    await until_agent(dr1, state="waiting")


async def test_agent_in_a_direct_call_is_not_offered_queue_calls(desk):
    dc1 = await desk.agent("dc1")
    colleague = await desk.agent("dc2")
    direct = await colleague.call(dc1.user_id)
    await dc1.next_event("invited", callId=direct)
    await dc1.accept(direct)
    customer, call_id, _ = await enqueue(desk, "dc")
    await no_offer([dc1], within=0.8)
    await colleague.hangup(direct)
    await dc1.next_event("offer", callId=call_id, timeout=2)
    # while ringing for the offer the agent's line is busy for direct calls
    other = await colleague.call(dc1.user_id)
    await colleague.next_event("line_busy", callId=other, userID=dc1.user_id)
    await connect(dc1, customer, call_id)
