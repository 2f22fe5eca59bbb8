"""What a step changed, as the entries processes sharing live state save
(callcenter.server.cluster): only the agents and queue calls a step touched, and another
contact center that takes those entries ends where the first one is."""

from __future__ import annotations

from test_contact_center_domain import APP, World

from callcenter.domain.agents import AgentState
from callcenter.domain.calls import EndReason


def entries(world: World) -> dict:
    return world.center.take_touched()


def test_a_step_hands_out_only_the_agents_and_calls_it_changed():
    world = World({"strategy": "longest-idle"}, {"a1": {}, "a2": {}, "a3": {}})
    entries(world)  # the logins
    call_id = world.enqueue()
    changed = entries(world)
    # The call joined and was offered to a1 (longest idle): a1 rings, the others are untouched.
    assert set(changed) == {f"call:{APP}:{call_id}", f"agent:{APP}:a1"}
    assert changed[f"agent:{APP}:a1"]["state"] == AgentState.RINGING.value
    assert entries(world) == {}  # handed out once


def test_a_call_that_leaves_the_queue_side_is_handed_out_as_gone():
    world = World({"strategy": "longest-idle"}, {"a1": {}})
    entries(world)
    call_id = world.enqueue()
    entries(world)
    world.run(world.center.session_ended(APP, "c1", EndReason.LOGOUT))
    assert entries(world)[f"call:{APP}:{call_id}"] is None


def test_another_contact_center_that_takes_the_entries_ends_where_the_first_is():
    first = World({"strategy": "longest-idle"}, {"a1": {}, "a2": {}})
    second = World({"strategy": "longest-idle"}, {"a1": {}, "a2": {}})
    entries(first)
    call_id = first.enqueue()
    for field, state in entries(first).items():
        kind, app_id, key = field.split(":")
        second.center.put_entry(kind, app_id, key, state)
    assert second.center.agent(APP, "a1").state is AgentState.RINGING
    assert second.center.agent(APP, "a1").to_state() == first.center.agent(APP, "a1").to_state()
    assert second.center.calls[(APP, call_id)].to_state() == \
        first.center.calls[(APP, call_id)].to_state()
