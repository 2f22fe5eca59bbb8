"""Callbacks in the contact center's domain, without a server (callcenter/domain/callbacks.py):
the call keeps its place while nobody is on it, the agent's accept rings the customer, a customer
not reached is tried again later and the call ends `unreachable`, never as an abandon."""

from __future__ import annotations

import pytest
from test_contact_center_domain import APP, World

from callcenter.domain.call import Leg
from callcenter.domain.errors import Refused
from callcenter.domain.statistics import Thresholds, summarize
from callcenter.domain.timers import TimerKind

CONTACT = {"name": "Ann", "email": "ann@shop.example", "note": "about my order"}
QUEUE = {"callback_after": 60, "callback_ring_timeout": 20, "callback_retry_delay": 30,
         "callback_attempts": 2}


def customer_of(world: World, call_id: str) -> str:
    return world.center.calls[(APP, call_id)].customer


def rang(world: World, user: str, since: int = 0) -> list[dict]:
    return [n.payload for o in world.outs[since:] for n in o.notices
            if n.to == user and n.event == "invited"]


def fire_ring(world: World, user: str, since: int) -> None:
    for o in world.outs[since:]:
        for timer in o.timers:
            if timer.kind is TimerKind.RING and timer.user_id == user:
                world.run(world.center.on_timer(timer))
                return
    raise AssertionError(f"no ring timer for {user}")


def test_a_callback_keeps_its_place_in_line_and_is_offered_first_with_the_contact():
    world = World(QUEUE, {"a1": {}})
    world.run(world.center.set_status(APP, "a1", "break", None))
    first, second = world.enqueue(), world.enqueue()
    out = world.run(world.center.request_callback(APP, customer_of(world, first), first, CONTACT))
    assert out.reply["position"] == 1 and out.reply["callback"]["contact"] == CONTACT
    qc = world.center.calls[(APP, first)]
    assert qc.call.legs[qc.customer] is Leg.LEFT  # the customer's page may go
    assert world.store.line_of(APP, qc.customer) is None
    since = len(world.outs)
    world.run(world.center.set_status(APP, "a1", "available", None))
    offers = [n.payload for o in world.outs[since:] for n in o.notices if n.event == "offer"]
    assert [o["callId"] for o in offers] == [first]
    assert offers[0]["callback"]["contact"] == CONTACT
    assert second in [c.call_id for c in world.center._in_queue(APP, "q")]


def test_accepting_a_callback_rings_the_customer_and_their_answer_connects_the_call():
    world = World(QUEUE, {"a1": {}})
    call_id = world.enqueue()
    customer = customer_of(world, call_id)
    world.run(world.center.request_callback(APP, customer, call_id, CONTACT))
    since = len(world.outs)
    world.answer("a1", call_id)
    ring = rang(world, customer, since)
    assert ring and ring[0]["callback"]["agent"]["userID"] == "a1"
    qc = world.center.calls[(APP, call_id)]
    assert qc.answered_at is None and world.agent("a1").state.value == "in_call"
    world.clock.now += 3
    world.run(world.center.accept(APP, customer, call_id))
    assert qc.answered_at == world.clock.now and qc.talking == "a1"
    world.clock.now += 10
    world.run(world.center.hangup(APP, customer, call_id))
    record = world.center.finished[(APP, call_id)].record(world.clock.now)
    assert record["outcome"] == "completed" and record["agent"] == "a1"
    assert [r["outcome"] for r in record["callback"]["attempts"]] == ["answered"]


def test_a_customer_not_reached_is_tried_again_after_the_delay_then_ends_unreachable():
    world = World(QUEUE, {"a1": {}})
    call_id = world.enqueue()
    customer = customer_of(world, call_id)
    world.run(world.center.request_callback(APP, customer, call_id, CONTACT))
    world.store.unbind_session(APP, customer, f"sid-{customer}")  # the customer left the site
    world.answer("a1", call_id)
    qc = world.center.calls[(APP, call_id)]
    assert [r["outcome"] for r in qc.callback.rings] == ["offline"]
    assert world.agent("a1").state.value == "waiting"
    since = len(world.outs)
    world.run(world.center.tick(APP))
    assert world.offers(since) == []  # not again before the retry delay
    world.clock.now += 31
    world.store.bind_session(APP, customer, f"sid-{customer}")  # back on the site
    world.run(world.center.tick(APP))
    assert world.offers(since) == [("a1", call_id)]
    since = len(world.outs)
    world.answer("a1", call_id)
    fire_ring(world, customer, since)  # rings out
    ended = world.center.finished[(APP, call_id)]
    record = ended.record(world.clock.now)
    assert record["outcome"] == "unreachable" and record["answeredAt"] is None
    assert [r["outcome"] for r in record["callback"]["attempts"]] == ["offline", "no_answer"]
    assert record["callback"]["contact"] == CONTACT
    stats = summarize([record], [], world.clock.now - 3600, world.clock.now + 1, Thresholds())
    assert (stats["offered"], stats["abandoned"], stats["abandonRate"]) == (1, 0, 0.0)


@pytest.mark.parametrize("case, code", [
    ("twice", "CALLBACK_ALREADY_REQUESTED"), ("another customer's", "CALL_NOT_FOUND"),
    ("answered", "NOT_WAITING"), ("no way to reach", "BAD_CONTACT"),
    ("bad email", "BAD_CONTACT"), ("queue without callbacks", "CALLBACK_NOT_OFFERED"),
])
def test_a_bad_callback_request_is_refused_and_changes_nothing(case, code):
    world = World(QUEUE, {"a1": {}}, queues=[{"name": "plain", "when_empty": "join"}])
    world.run(world.center.set_status(APP, "a1", "break", None))
    call_id = world.enqueue("plain" if case == "queue without callbacks" else "q")
    customer, contact = customer_of(world, call_id), dict(CONTACT)
    if case == "twice":
        world.run(world.center.request_callback(APP, customer, call_id, CONTACT))
    elif case == "another customer's":
        customer = customer_of(world, world.enqueue())
    elif case == "answered":
        world.run(world.center.set_status(APP, "a1", "available", None))
        world.answer("a1", call_id)
    elif case == "no way to reach":
        contact = {"name": "Ann"}
    elif case == "bad email":
        contact["email"] = "ann at shop"
    qc = world.center.calls[(APP, call_id)]
    before = qc.to_state()
    with pytest.raises(Refused) as refused:
        world.center.request_callback(APP, customer, call_id, contact)
    assert refused.value.code == code
    assert qc.to_state() == before


def test_a_webhook_endpoint_may_subscribe_to_the_callback_events():
    from callcenter_plugins import webhook
    from test_notification_plugins import config, endpoint

    settings = webhook.parse_settings({"endpoints": [endpoint(events=["callback.*"])]}, config())
    assert settings.endpoints[0].events == ["callback.*"]
    named = webhook.parse_settings({"endpoints": [endpoint(events=["callback.unreachable"])]},
                                   config())
    assert named.endpoints[0].events == ["callback.unreachable"]


def test_a_callback_waiting_in_line_outlives_a_restart_snapshot():
    from callcenter.domain.queue_call import QueuedCall

    world = World(QUEUE, {"a1": {}})
    world.run(world.center.set_status(APP, "a1", "break", None))
    call_id = world.enqueue()
    world.run(world.center.request_callback(APP, customer_of(world, call_id), call_id, CONTACT))
    qc = world.center.calls[(APP, call_id)]
    again = QueuedCall.from_state(qc.to_state())
    assert again.callback == qc.callback and again.call.callback is True
    assert again.record(world.clock.now)["callback"]["contact"] == CONTACT
