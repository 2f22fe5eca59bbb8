"""The live state as plain data (a graceful restart's snapshot, callcenter.server.snapshot): every
domain object, the store and the resume streams go through JSON and come back the same, in a
new process's objects."""

from __future__ import annotations

import json
import time
from typing import Any

from test_contact_center_domain import APP, World

from callcenter.domain.contact_center import ContactCenter
from callcenter.domain.timers import Timer, TimerKind, TimerQueue
from callcenter.server.socketio.resume import Resumption
from callcenter.store import MemoryStore


def through_json(state: Any) -> Any:
    return json.loads(json.dumps(state, allow_nan=False))


def test_the_contact_center_and_the_store_come_back_the_same_through_json():
    world = World({"wrap_up": 30}, {"a1": {}, "a2": {}, "a3": {}})
    done = world.enqueue()
    world.answer("a1", done)
    world.clock.now += 10
    world.run(world.center.hangup(APP, "a1", done))  # a1 wraps up; the customer may rate
    world.run(world.center.rate(APP, "c1", done, 5))
    talking = world.enqueue(attributes={"name": "Ann", "topic": "refund"}, priority=2)
    world.answer(world.offered_to(talking)[0], talking)
    ringing = world.enqueue()
    waiting = world.enqueue()
    assert world.offered_to(ringing) and not world.offered_to(waiting)
    world.clock.now += 1
    center, store = world.center, world.store

    center_state, store_state = through_json(center.to_state()), through_json(store.to_state())
    new_store = MemoryStore.from_state(store_state)
    board = type(world.board)(new_store, world.board.limits, world.clock)
    new_center = ContactCenter(center.config, board, world.plugins)
    assert new_center.restore(center_state) == []

    assert new_store.to_state() == store.to_state()
    assert new_center.to_state() == center.to_state()
    for key, qc in center.calls.items():
        again = new_center.calls[key]
        assert again.record(world.clock()) == qc.record(world.clock())
        # the queue call reads the store's own call, as it did before
        assert again.call is new_store.get_call(*key)
    for key, agent in center.agents.items():
        assert new_center.agents[key] == agent
    assert {k: list(v) for k, v in new_center.handle_times.items()} == \
        {k: list(v) for k, v in center.handle_times.items()}
    assert {c for _, c in new_center.calls} == {talking, ringing, waiting}
    assert [c for _, c in new_center.finished] == [done]
    assert new_center.finished[(APP, done)].rating == 5
    assert new_center.agents[(APP, "a1")].state.value == "wrap_up"
    # the routing index points at the new agents
    assert all(a is new_center.agents[(APP, a.id)] for a in new_center._agents_of(APP, "q"))


def test_finished_calls_are_kept_only_while_they_can_still_be_rated_or_wrapped_up():
    world = World({"wrap_up": 0}, {"a1": {}})
    old = world.enqueue()
    world.complete("a1", old)
    world.clock.now += 601  # past the rating window
    recent = world.enqueue()
    world.complete("a1", recent)
    kept = {qc["call"]["id"] for qc in world.center.to_state()["finished"]}
    assert kept == {recent}


def test_a_queue_no_longer_configured_drops_its_calls_from_the_store():
    world = World({"wrap_up": 0}, {"a1": {}})
    call_id = world.enqueue()
    world.store.get_call(APP, call_id).queue = "gone"  # as if the config lost the queue
    state = through_json(world.center.to_state())
    assert world.center.restore(state) == [(APP, call_id)]
    assert world.store.get_call(APP, call_id) is None
    assert world.store.line_of(APP, "c1") is None and world.center.calls == {}


def test_timers_come_back_due_at_the_same_wall_clock_time():
    queue = TimerQueue()
    queue.schedule(Timer(5, APP, "call1", "a1"), now=100.0)
    queue.schedule(Timer(30, APP, None, "c1", TimerKind.RESUME, 3), now=100.0)
    wall_minus_mono = 5000.0
    saved = through_json([t.to_state(due + wall_minus_mono) for t, due in queue.pending()])
    assert [s["kind"] for s in saved] == ["ring", "resume"]
    back = [Timer.from_state(s, now=5100.0 + 10) for s in saved]  # 10 s later
    assert back[0].delay == 0.0  # overdue: fires at once
    assert back[1].delay == 20.0 and back[1].token == 3 and back[1].kind is TimerKind.RESUME
    assert back[1].key == (TimerKind.RESUME, APP, None, "c1")


def test_resume_streams_keep_their_session_seq_and_kept_events():
    resumption = Resumption(30)
    stream = resumption.open(APP, "alice")
    resumption.stamp(APP, "alice", "invited", {"callId": "x"})
    resumption.stamp(APP, "alice", "queue_stats", {"queues": []})  # a snapshot: not kept
    resumption.stamp(APP, "alice", "signal", {"callId": "x", "kind": "offer"})
    again = Resumption(30)
    again.load_state(through_json(resumption.to_state()))
    back = again.streams[(APP, "alice")]
    assert back.session_id == stream.session_id and back.seq == 2
    assert list(back.sent) == list(stream.sent)
    assert again.suspend(APP, "alice", "old-sid") == 1
    assert again.take_back(back, 1) == [("signal", {"callId": "x", "kind": "offer", "seq": 2})]


def test_a_snapshot_is_read_once_and_only_if_this_version_wrote_it_within_the_window(
        tmp_path, caplog):
    from callcenter.server import snapshot

    path = tmp_path / "var" / "snap.json"
    assert snapshot.load(path, 30) is None and caplog.records == []  # none: nothing said

    good = {"kind": snapshot.KIND, "format": snapshot.FORMAT, "written_at": time.time() - 5,
            "store": {}, "contact_center": {}}
    snapshot.write(path, snapshot.encode(good))
    assert path.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["snap.json"]  # no temporary left
    assert snapshot.load(path, 30) == good
    assert path.exists()  # until the start has got past the database
    snapshot.discard(path)
    assert not path.exists()

    for bad, reason in (({**good, "format": snapshot.FORMAT + 1}, "format"),
                        ({**good, "written_at": time.time() - 31}, "resume window"),
                        ({**good, "written_at": time.time() + 60}, "resume window"),
                        ({**good, "kind": "other"}, "unreadable")):
        caplog.clear()
        snapshot.write(path, snapshot.encode(bad))
        assert snapshot.load(path, 30) is None
        assert [r.getMessage() for r in caplog.records if reason in r.getMessage()] != []
        assert len(caplog.records) == 1 and not path.exists()


def test_a_snapshot_keeps_the_events_a_client_may_have_missed_not_every_one_sent():
    from callcenter.server.socketio.resume import IN_FLIGHT_KEPT

    resumption = Resumption(30)
    resumption.open(APP, "agent")  # connected: it has all but the last few
    resumption.open(APP, "gone")  # dropped after 80 events, 10 more since
    for n in range(100):
        resumption.stamp(APP, "agent", "agent_update", {"n": n})
        if n == 80:
            resumption.suspend(APP, "gone", "old-sid")
        if n <= 90:
            resumption.stamp(APP, "gone", "queue_update", {"n": n})
    kept = {s["user_id"]: [e["seq"] for e in s["sent"]] for s in resumption.to_state()}
    assert kept["agent"] == list(range(101 - IN_FLIGHT_KEPT, 101))
    # 80 sent before the drop (the last IN_FLIGHT_KEPT of them kept), 11 since (all kept)
    assert kept["gone"] == list(range(81 - IN_FLIGHT_KEPT, 92))


def test_every_field_of_an_agent_and_a_queue_call_is_kept_or_read_from_the_config():
    """A field added to either without its snapshot would be lost in every graceful restart."""
    import dataclasses

    from callcenter.domain.agents import Agent
    from callcenter.domain.queue_call import QueuedCall

    from_config = {"app_id", "id", "name", "queues", "skills"}
    agent_fields = {f.name for f in dataclasses.fields(Agent)} - from_config
    assert agent_fields - {"status", "state"} == set(Agent._STATE_FIELDS)
    call_fields = {f.name for f in dataclasses.fields(QueuedCall)} - {"call", "attempts",
                                                                      "callback"}
    assert call_fields == set(QueuedCall._STATE_FIELDS)


def test_the_snapshot_is_written_beside_the_sqlite_database_by_default():
    from pathlib import Path

    from callcenter.config import parse

    def path(url: str, **store: str) -> Path | None:
        return parse({"apps": [{"id": "a", "secret": "s" * 40}], "database": {"url": url},
                      **({"store": store} if store else {})}, Path("/etc/cc")).snapshot_path

    assert path("sqlite:///var/callcenter.history.db") == \
        Path("/etc/cc/var/callcenter.history.snapshot.json")
    assert path("sqlite:////srv/cc/h.db") == Path("/srv/cc/h.snapshot.json")
    assert path("postgresql://cc@db/cc") == Path("/etc/cc/var/callcenter.snapshot.json")
    assert path("sqlite:///:memory:") == Path("/etc/cc/var/callcenter.snapshot.json")
    assert path("sqlite:///h.db", snapshot="live/state.json") == Path("/etc/cc/live/state.json")
    assert path("sqlite:///h.db", snapshot="") is None
