"""Hold, blind transfer and consult in the domain, on a fake clock: the exact seconds the record
counts, what a reloaded page is told, and that all of it survives the live state's round trip
through plain data (a restart, another process)."""

from __future__ import annotations

from test_contact_center_domain import APP, World

from callcenter.domain.call import Call
from callcenter.domain.queue_call import QueuedCall


def answered(world: World, agent: str = "a1") -> tuple[str, str]:
    call_id = world.enqueue()
    world.answer(agent, call_id)
    return call_id, world.center.calls[(APP, call_id)].customer


def test_held_seconds_are_the_records_hold_and_not_its_talk():
    world = World({"wrap_up": 5}, {"a1": {}})
    call_id, customer = answered(world)
    world.clock.now += 10
    world.run(world.center.hold(APP, "a1", call_id))
    world.clock.now += 30
    assert world.run(world.center.unhold(APP, "a1", call_id)).reply["held"] == 30.0
    world.clock.now += 20
    world.run(world.center.hangup(APP, customer, call_id))
    qc = world.center.finished[(APP, call_id)]
    record = qc.record(world.clock.now)
    assert (record["talk"], record["hold"], record["silentSeconds"]) == (30.0, 30.0, 0.0)
    assert [(s["kind"], s["start"], s["end"]) for s in record["segments"]] == [
        ("talk", qc.answered_at, qc.answered_at + 60), ("hold", qc.answered_at + 10,
                                                         qc.answered_at + 40)]
    # The agent's talk time leaves the hold out; the queue's handle time counts it.
    assert world.agent("a1").talk_time == 30.0
    world.clock.now += 5
    world.run(world.center.wrap_up(APP, "a1", call_id, None, None))
    assert list(world.center.handle_times[(APP, "q")]) == [30.0 + 30.0 + 5.0]


def test_a_reloaded_page_learns_the_call_is_on_hold_and_the_held_side_its_music():
    world = World({}, {"a1": {}})
    call_id, customer = answered(world)
    world.run(world.center.hold(APP, "a1", call_id))
    assert world.center.call_of(APP, customer)["hold"] == {"by": "a1",
                                                           "music": "/music/hold.wav"}
    assert world.center.call_of(APP, "a1")["hold"] == {"by": "a1", "music": None}


def test_a_transferred_call_and_its_consult_survive_the_round_trip_through_plain_data():
    world = World({}, {"a1": {}, "a2": {}, "a3": {}})
    call_id, _ = answered(world)
    world.clock.now += 5
    world.run(world.center.consult(APP, "a1", call_id, "a2", "ask"))
    world.clock.now += 3
    world.run(world.center.reject(APP, "a2", call_id))  # the customer stays on hold
    world.clock.now += 2
    world.run(world.center.unhold(APP, "a1", call_id))
    world.clock.now += 4
    world.run(world.center.transfer(APP, "a1", call_id, "a3", None, "over to you"))
    qc = world.center.calls[(APP, call_id)]
    again = QueuedCall.from_state(qc.to_state(), Call.from_state(qc.call.to_state()))
    assert again.to_state() == qc.to_state()
    assert again.call.parked and again.transfer["to"] == "a3"
    assert [c["outcome"] for c in again.consults] == ["rejected"]
    assert [s["kind"] for s in again.segments()] == ["talk", "consult", "hold", "transfer"]
    # While the target rings, the customer waits as in a queue: not offered to anyone else.
    assert again.waiting and world.center.live(APP)["calls"][0]["state"] == "transferring"


def test_a_consult_of_a_customer_already_on_hold_does_not_tell_them_again():
    world = World({}, {"a1": {}, "a2": {}})
    call_id, customer = answered(world)
    world.run(world.center.hold(APP, "a1", call_id))
    world.clock.now += 5
    out = world.run(world.center.consult(APP, "a1", call_id, "a2", ""))
    assert [n for n in out.notices if n.event == "call_held"] == []
    qc = world.center.calls[(APP, call_id)]
    # The plain hold ended where the consult's began: one stretch of hold, counted once.
    assert [(h.kind.value, h.end is None) for h in qc.call.holds] == [("hold", False),
                                                                     ("consult", True)]
    assert qc.call.holds[0].end == qc.call.holds[1].start
