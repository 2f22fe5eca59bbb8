"""Hold and blind transfer (docs/protocol.md, "Call control") through a real server: what each
side is told, where the call goes when a transfer is not taken, the one record a transferred call
leaves (hold seconds, segments) through the REST API, and the refusals that change nothing.

One server for the module; every test has its own queue(s) and agents. Its app "other" has an
agent and a queue of its own, so that a transfer to another app's people can be tried.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import requests
from contact_center_helpers import (
    OTHER_APP_PEOPLE,
    Desk,
    _start_server,
    agent,
    agent_update_with,
    answered,
    closed_record,
    demo_extra,
    enqueue,
    first_offer,
    no_offer,
    queue,
    refused,
    until_agent,
)

from callcenter.client.call_client import CallClientError

pytestmark = pytest.mark.timeout(60)

SAMPLE_PLUGINS = Path(__file__).parents[1] / "sample_plugins"
CUSTOM_MUSIC = "https://cdn.shop.example/music/jazz.ogg"

QUEUES = [
    queue("hq", hold_music=CUSTOM_MUSIC),
    queue("tq"),
    queue("rq", ring_timeout=1),
    queue("fq", ring_timeout=1, transfer_fallback="queue"),
    queue("from"), queue("to"),
    queue("bad"),
    queue("wq"), queue("wr"), queue("wc"), queue("wf"),
]
AGENTS = [
    agent("ha1", ["hq"], name="Hana"),
    agent("ta1", ["tq"], name="Tom"), agent("ta2", ["tq"], name="Tia"),
    agent("ra1", ["rq"]), agent("ra2", ["rq"]),
    agent("fa1", ["fq"]), agent("fa2", ["fq"]), agent("fa3", ["fq"]),
    agent("qa1", ["from"]), agent("qa2", ["to"]),
    agent("ba1", ["bad"]), agent("ba2", ["bad"]), agent("ba3", ["bad"]),
    agent("trainee1", ["bad"]),
    agent("wa1", ["wq"], name="Wanda"), agent("wa2", ["wq"], name="Walt"),
    agent("wr1", ["wr"]), agent("wr2", ["wr"]),
    agent("wc1", ["wc"]), agent("wc2", ["wc"]),
    agent("wf1", ["wf"]), agent("wf2", ["wf"]),
]


@pytest.fixture(scope="module")
def srv(request, tmp_path_factory):
    start = _start_server(request.config)
    plugins = f'[plugins]\nenable = ["no_transfer_to_trainee"]\npaths = ["{SAMPLE_PLUGINS}"]'
    server = start(tmp_path_factory.mktemp("call-control"), f"{OTHER_APP_PEOPLE}\n{plugins}",
                   "200/second", True, demo_extra(QUEUES, AGENTS))
    try:
        yield server
    finally:
        server.stop()
    assert "Traceback" not in server.log(), server.log()


@pytest.fixture
async def desk(srv):
    async with Desk(srv) as desk:
        yield desk


def records_of(server: Any, call_id: str) -> list[dict[str, Any]]:
    token = server.token("sup1", role="supervisor")
    response = requests.get(f"{server.url}/api/calls", timeout=5, params={"limit": 500},
                            headers={"Authorization": f"Bearer {token}"})
    return [c for c in response.json()["calls"] if c["callId"] == call_id]


async def code_of(attempt: Any) -> str | None:
    """The error code of a request (a convenience method's, or a raw ack's); None if done."""
    try:
        result = await attempt
    except CallClientError as exc:
        return exc.code
    return result["error"]["code"] if isinstance(result, dict) and not result.get("ok", True) \
        else None




async def test_hold_plays_the_queues_music_to_the_customer_and_counts_in_the_record(srv, desk):
    agent1, customer, call_id = await answered(desk, "hq", "ha1")
    await asyncio.sleep(0.3)
    ack = await agent1.hold(call_id)
    assert ack["callId"] == call_id
    held = await customer.next_event("call_held", callId=call_id)
    assert held == {"callId": call_id, "userID": "ha1", "music": CUSTOM_MUSIC}
    await asyncio.sleep(0.8)
    ack = await agent1.unhold(call_id)
    assert 0.7 <= ack["held"] <= 1.5, ack
    await customer.next_event("call_resumed", callId=call_id, userID="ha1")
    await asyncio.sleep(0.3)
    await customer.hangup(call_id)
    call = closed_record(srv, call_id)
    assert 0.7 <= call["hold"] <= 1.5, call
    duration = call["endedAt"] - call["answeredAt"]
    assert abs(call["talk"] - (duration - call["hold"])) < 0.05, call
    kinds = [(s["kind"], s.get("agent") or s.get("by")) for s in call["segments"]]
    assert kinds == [("talk", "ha1"), ("hold", "ha1")], call["segments"]
    assert call["segments"][1]["end"] - call["segments"][1]["start"] == \
        pytest.approx(ack["held"], abs=0.01)


async def test_a_blind_transfer_hands_the_customer_to_the_agent_named_with_one_record(srv, desk):
    tom, tia = await desk.agents("ta1", "ta2")
    await until_agent(tia, state="waiting", status="available")
    _, customer, call_id = await answered(desk, "tq", "ta1", [tom, tia])
    ack = await tom.transfer(call_id, to_agent="ta2", note="wants a refund")
    assert (ack["callId"], ack["to"], ack["queue"]) == (call_id, "ta2", "tq")
    await agent_update_with(tom, state="wrap_up")
    leave = await customer.next_event("user_leave", callId=call_id, userID="ta1")
    assert leave["reason"] == "transferred"
    held = await customer.next_event("call_held", callId=call_id)
    assert held["transfer"] == {"agent": {"userID": "ta2", "name": "Tia"}}
    assert held["music"] == "/music/hold.wav"  # the app's default: the queue names none
    _, offer = await first_offer([tia], callId=call_id)
    assert offer["transfer"] == {"from": {"userID": "ta1", "name": "Tom"},
                                 "note": "wants a refund", "returned": False}
    await asyncio.sleep(0.4)  # the customer waits, hearing music
    await tia.accept(call_id)
    await customer.next_event("call_resumed", callId=call_id, userID="ta2")
    await customer.next_event("user_enter", callId=call_id, userID="ta2")
    answered_by = await customer.next_event("queue_answered", callId=call_id)
    assert answered_by["agent"] == {"userID": "ta2", "name": "Tia"}
    await until_agent(tia, state="in_call")
    await asyncio.sleep(0.2)
    await customer.hangup(call_id)
    call = closed_record(srv, call_id)
    assert (call["agent"], call["outcome"], call["queue"]) == ("ta2", "completed", "tq")
    assert 0.35 <= call["hold"] <= 1.5, call
    steps = [(s["kind"], s.get("agent") or s.get("by")) for s in call["segments"]]
    assert steps == [("talk", "ta1"), ("transfer", "ta1"), ("talk", "ta2")], call["segments"]
    transfer = call["segments"][1]
    assert (transfer["to"], transfer["note"], transfer["outcome"], transfer["answeredBy"]) == \
        ("ta2", "wants a refund", "answered", "ta2")
    assert [a["agent"] for a in call["attempts"]] == ["ta1", "ta2"]
    assert len(records_of(srv, call_id)) == 1


async def test_a_transfer_the_target_refuses_comes_back_to_the_agent_who_made_it(srv, desk):
    ra1, ra2 = await desk.agents("ra1", "ra2")
    await until_agent(ra2, state="waiting", status="available")
    _, customer, call_id = await answered(desk, "rq", "ra1", [ra1, ra2])
    await ra1.transfer(call_id, to_agent="ra2", note="billing")
    await first_offer([ra2], callId=call_id)
    await ra2.reject(call_id)
    _, back = await first_offer([ra1], callId=call_id)
    assert back["transfer"]["returned"] is True
    await ra1.accept(call_id)
    await customer.next_event("user_enter", callId=call_id, userID="ra1")
    await customer.hangup(call_id)
    call = closed_record(srv, call_id)
    transfers = [s for s in call["segments"] if s["kind"] == "transfer"]
    assert [(t["to"], t["outcome"]) for t in transfers] == [("ra2", "returned"),
                                                           ("ra1", "answered")]
    assert call["agent"] == "ra1"


async def test_transfer_fallback_queue_puts_a_call_the_target_lets_ring_in_line(srv, desk):
    fa1, fa2, fa3 = await desk.agents("fa1", "fa2", "fa3")
    await until_agent(fa3, state="waiting", status="available")
    await fa3.agent_status("break", "lunch")  # kept out until the transfer rings out
    _, customer, call_id = await answered(desk, "fq", "fa1", [fa1, fa2, fa3])
    await fa1.transfer(call_id, to_agent="fa2")
    await first_offer([fa2], callId=call_id)  # rings 1 s, unanswered
    await fa2.next_event("calling_cancel", callId=call_id, timeout=5)
    await fa3.agent_status("available")
    # In line, not back to fa1 (transfer_fallback = "queue"): fa3 is offered it.
    _, offer = await first_offer([fa1, fa3], callId=call_id)
    assert fa3.pending("offer") == [] and fa1.pending("offer", callId=call_id) == []
    assert offer["transfer"]["returned"] is True
    await fa3.accept(call_id)
    await customer.next_event("user_enter", callId=call_id, userID="fa3")
    await customer.hangup(call_id)
    call = closed_record(srv, call_id)
    transfers = [s for s in call["segments"] if s["kind"] == "transfer"]
    assert [(t["to"], t["outcome"], t["answeredBy"]) for t in transfers] == \
        [("fa2", "requeued", None), (None, "answered", "fa3")]


async def test_a_transfer_to_a_queue_keeps_the_join_time_and_is_served_there(srv, desk):
    qa1, qa2 = await desk.agents("qa1", "qa2")
    await qa2.agent_status("break")
    _, customer, call_id = await answered(desk, "from", "qa1", [qa1, qa2])
    await qa1.transfer(call_id, to_queue="to", note="second line")
    held = await customer.next_event("call_held", callId=call_id)
    assert held["transfer"] == {"queue": "to"}
    update = await customer.next_event("queue_update", callId=call_id)
    assert update["position"] == 1
    await qa2.agent_status("available")
    _, offer = await first_offer([qa2], callId=call_id)
    assert (offer["queue"], offer["transfer"]["from"]["userID"]) == ("to", "qa1")
    await qa2.accept(call_id)
    await customer.next_event("user_enter", callId=call_id, userID="qa2")
    await customer.hangup(call_id)
    call = closed_record(srv, call_id)
    assert (call["queue"], call["originalQueue"], call["agent"]) == ("to", "from", "qa2")
    assert call["joinedAt"] < call["answeredAt"] < call["segments"][1]["start"]


async def test_hook_callcenter_may_transfer(srv, desk):
    """The sample plugin refuses transfers to trainee1; others go ahead."""
    ba1, trainee = await desk.agents("ba1", "trainee1")
    await until_agent(trainee, state="waiting", status="available")
    _, customer, call_id = await answered(desk, "bad", "ba1", [ba1, trainee])
    assert await refused(ba1.transfer(call_id, to_agent="trainee1")) == "TRANSFER_NOT_ALLOWED"
    await no_offer([trainee], within=0.3, callId=call_id)
    await ba1.transfer(call_id, to_queue="bad")
    await first_offer([trainee], callId=call_id)
    await customer.hangup(call_id)


async def test_bad_hold_and_transfer_requests_are_refused_and_change_nothing(srv, desk):
    ba1, ba2, ba3 = await desk.agents("ba1", "ba2", "ba3")
    await until_agent(ba3, state="waiting", status="available")
    await ba3.logout()  # offline from now on
    # A call waiting in line: nobody to hold or transfer yet.
    await ba2.agent_status("break")
    waiting, waiting_id, _ = await enqueue(desk, "bad")
    _, offer = await first_offer([ba1], callId=waiting_id)
    assert await refused(ba1.hold(waiting_id)) == "NOT_IN_CALL"
    assert await refused(ba1.transfer(waiting_id, to_agent="ba2")) == "NOT_IN_CALL"
    await ba1.accept(waiting_id)
    await waiting.next_event("user_enter", callId=waiting_id, userID="ba1")
    call_id = waiting_id
    await ba2.agent_status("available")
    cases = {
        "the customer holds": (waiting.hold(call_id), "NOT_AGENT"),
        "the customer transfers": (waiting.transfer(call_id, to_agent="ba2"), "FORBIDDEN"),
        "a call one is not in": (ba2.transfer(call_id, to_agent="ba1"), "NOT_IN_CALL"),
        "hold a call one is not in": (ba2.hold(call_id), "NOT_IN_CALL"),
        "to oneself": (ba1.transfer(call_id, to_agent="ba1"), "CANNOT_TRANSFER_TO_SELF"),
        "to an offline agent": (ba1.transfer(call_id, to_agent="ba3"), "AGENT_OFFLINE"),
        "to another app's agent": (ba1.transfer(call_id, to_agent="oa1"), "NO_SUCH_AGENT"),
        "to another app's queue": (ba1.transfer(call_id, to_queue="oq"), "UNKNOWN_QUEUE"),
        "to nobody": (ba1.request("transfer", {"callId": call_id}), "BAD_REQUEST"),
        "to both": (ba1.request("transfer", {"callId": call_id, "toAgent": "ba2",
                                             "toQueue": "bad"}), "BAD_REQUEST"),
        "a note too long": (ba1.transfer(call_id, to_agent="ba2", note="x" * 501),
                            "BAD_REQUEST"),
        "a number for an id": (ba1.request("transfer", {"callId": call_id, "toAgent": 7}),
                               "BAD_REQUEST"),
        "unhold a call not on hold": (ba1.unhold(call_id), "NOT_ON_HOLD"),
        "another app's call id": (ba1.hold("x" * 12), "CALL_NOT_FOUND"),
    }
    for what, (attempt, code) in cases.items():
        assert await code_of(attempt) == code, what
    await ba1.hold(call_id)
    await waiting.next_event("call_held", callId=call_id)
    assert await refused(ba1.hold(call_id)) == "ALREADY_ON_HOLD"
    await ba1.unhold(call_id)
    # Nothing changed: the call goes on between the two, ba2 was offered nothing.
    assert waiting.pending("call_held") == [] and waiting.pending("user_leave") == []
    await no_offer([ba2], within=0.2)
    snapshot = await until_agent(ba1, state="in_call")
    assert snapshot["callId"] == call_id
    await waiting.hangup(call_id)
    call = closed_record(srv, call_id)
    assert [s["kind"] for s in call["segments"]] == ["talk", "hold"]


async def consulting(desk: Desk, queue_name: str, first: str, second: str
                     ) -> tuple[Any, Any, Any, str]:
    """`first` answers a fresh customer's call, then consults `second` (on a break until
    then, so that the call was not offered to them), who answers: (first, second, customer,
    call id)."""
    a, b = await desk.agents(first, second)
    await b.agent_status("break")
    _, customer, call_id = await answered(desk, queue_name, first, [a, b])
    await b.agent_status("available")
    await until_agent(b, state="waiting", status="available")
    ack = await a.consult(call_id, second, note="knows billing")
    assert ack["to"] == second
    held = await customer.next_event("call_held", callId=call_id, userID=first)
    assert held["music"] == "/music/hold.wav"
    _, offer = await first_offer([b], callId=call_id)
    assert offer["consult"]["from"]["userID"] == first
    assert offer["consult"]["note"] == "knows billing"
    accepted = await b.accept(call_id)
    assert accepted["participants"] == [first]  # not the customer: they are on hold
    await a.next_event("user_enter", callId=call_id, userID=second)
    return a, b, customer, call_id


async def test_a_consult_holds_the_customer_while_the_agents_talk_then_hands_them_over(
        srv, desk):
    wa1, wa2, customer, call_id = await consulting(desk, "wq", "wa1", "wa2")
    await asyncio.sleep(0.3)
    assert customer.pending("user_enter", userID="wa2") == []
    ack = await wa1.consult_complete(call_id)
    assert ack["held"] >= 0.3
    await customer.next_event("call_resumed", callId=call_id, userID="wa1")
    await customer.next_event("user_enter", callId=call_id, userID="wa2")
    leave = await customer.next_event("user_leave", callId=call_id, userID="wa1")
    assert leave["reason"] == "transferred"
    assert (await customer.next_event("queue_answered", callId=call_id))["agent"]["userID"] \
        == "wa2"
    joined = await wa2.next_event("connect_to", callId=call_id)
    assert joined["userID"] == customer.user_id
    await agent_update_with(wa1, state="wrap_up")
    await until_agent(wa2, state="in_call")
    await customer.hangup(call_id)
    await until_agent(wa2, state="waiting")
    call = closed_record(srv, call_id)
    steps = [(s["kind"], s.get("agent") or s.get("by")) for s in call["segments"]]
    assert steps == [("talk", "wa1"), ("consult", "wa1"), ("talk", "wa2")], call["segments"]
    assert call["segments"][1]["outcome"] == "completed"
    assert call["agent"] == "wa2" and call["hold"] >= 0.3


async def test_a_cancelled_consult_brings_the_customer_back_and_frees_the_colleague(srv, desk):
    wr1, wr2, customer, call_id = await consulting(desk, "wr", "wr1", "wr2")
    await wr1.consult_cancel(call_id)
    ended = await wr2.next_event("call_end", callId=call_id)
    assert ended["reason"] == "consult_ended"
    await customer.next_event("call_resumed", callId=call_id, userID="wr1")
    await until_agent(wr2, state="waiting")
    snapshot = await until_agent(wr1, state="in_call")
    assert snapshot["callId"] == call_id
    await customer.hangup(call_id)
    call = closed_record(srv, call_id)
    consult = next(s for s in call["segments"] if s["kind"] == "consult")
    assert (consult["to"], consult["outcome"]) == ("wr2", "cancelled")
    assert call["agent"] == "wr1"
    assert customer.pending("user_enter", userID="wr2") == []


async def test_a_conference_lets_all_three_talk_and_an_agent_may_leave_it(srv, desk):
    wc1, wc2, customer, call_id = await consulting(desk, "wc", "wc1", "wc2")
    await wc1.conference(call_id)
    await customer.next_event("call_resumed", callId=call_id, userID="wc1")
    await customer.next_event("user_enter", callId=call_id, userID="wc2")
    await wc2.next_event("connect_to", callId=call_id, userID=customer.user_id)
    await asyncio.sleep(0.2)
    await wc1.hangup(call_id)  # the first agent leaves the conference; the call goes on
    await customer.next_event("user_leave", callId=call_id, userID="wc1")
    await agent_update_with(wc1, state="wrap_up")
    await until_agent(wc2, state="in_call")
    await customer.hangup(call_id)
    await wc2.next_event("call_end", callId=call_id)
    await until_agent(wc2, state="waiting")
    call = closed_record(srv, call_id)
    talks = [s for s in call["segments"] if s["kind"] == "talk"]
    assert [t["agent"] for t in talks] == ["wc1", "wc2"]
    assert talks[1]["start"] < talks[0]["end"]  # they overlap: the conference
    consult = next(s for s in call["segments"] if s["kind"] == "consult")
    assert consult["outcome"] == "conference"


async def test_a_consult_the_colleague_refuses_leaves_the_customer_on_hold_with_the_agent(
        srv, desk):
    wf1, wf2 = await desk.agents("wf1", "wf2")
    await wf2.agent_status("break")
    _, customer, call_id = await answered(desk, "wf", "wf1", [wf1, wf2])
    await wf2.agent_status("available")
    await until_agent(wf2, state="waiting", status="available")
    # Bad input first: each refused, nothing changed.
    cases = {
        "to oneself": (wf1.consult(call_id, "wf1"), "CANNOT_TRANSFER_TO_SELF"),
        "the customer": (customer.consult(call_id, "wf2"), "FORBIDDEN"),
        "no consult to end": (wf1.consult_complete(call_id), "NOT_CONSULTING"),
        "no consult to cancel": (wf1.consult_cancel(call_id), "NOT_CONSULTING"),
        "a colleague not in this app": (wf1.consult(call_id, "oa1"), "NO_SUCH_AGENT"),
        "not one's call": (wf2.consult(call_id, "wf1"), "NOT_IN_CALL"),
    }
    for what, (attempt, code) in cases.items():
        assert await code_of(attempt) == code, what
    assert customer.pending("call_held") == []
    await wf1.consult(call_id, "wf2")
    await customer.next_event("call_held", callId=call_id)
    assert await code_of(wf1.consult(call_id, "wf2")) == "ALREADY_CONSULTING"
    assert await code_of(wf1.consult_complete(call_id)) == "NOT_ANSWERED"  # still ringing
    assert await code_of(wf1.hold(call_id)) == "ALREADY_CONSULTING"
    await first_offer([wf2], callId=call_id)
    await wf2.reject(call_id)
    ended = await wf1.next_event("consult_ended", callId=call_id)
    assert ended["userID"] == "wf2"
    await asyncio.sleep(0.2)
    assert customer.pending("call_resumed") == []  # still on hold, with wf1
    await wf1.unhold(call_id)
    await customer.next_event("call_resumed", callId=call_id, userID="wf1")
    await customer.hangup(call_id)
    call = closed_record(srv, call_id)
    consult = next(s for s in call["segments"] if s["kind"] == "consult")
    assert consult["outcome"] == "rejected"
    assert [s["kind"] for s in call["segments"]] == ["talk", "consult", "hold"]
