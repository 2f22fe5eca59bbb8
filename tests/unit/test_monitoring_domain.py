"""Monitoring sessions in the domain (monitor.py, monitoring.py), without a server: they survive a
graceful restart's snapshot (kept on the call, as holds are) and go on in the new process's
objects; every field of a session is kept; webhooks may subscribe to their events."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from callcenter_plugins.webhook import Endpoint
from test_contact_center_domain import APP, World
from test_snapshot_state import through_json

from callcenter.domain.contact_center import ContactCenter
from callcenter.domain.events import EventName
from callcenter.domain.monitor import Monitor
from callcenter.domain.monitoring import Monitoring
from callcenter.store import MemoryStore


def test_a_monitoring_session_survives_a_restart_and_goes_on_there():
    world = World({}, {"a1": {}})
    call_id = world.enqueue()
    world.answer("a1", call_id)
    world.clock.now += 5
    started = Monitoring(world.center).monitor(APP, "sue", call_id, "listen")
    assert [(n.to, n.event) for n in started.notices] == [("a1", "monitor_started")]
    world.clock.now += 2
    Monitoring(world.center).monitor(APP, "sue", call_id, "whisper")

    center_state = through_json(world.center.to_state())
    store = MemoryStore.from_state(through_json(world.store.to_state()))
    board = type(world.board)(store, world.board.limits, world.clock)
    center = ContactCenter(world.center.config, board, world.plugins)
    assert center.restore(center_state) == []
    assert center.live(APP)["calls"][0]["monitoredBy"] == \
        [{"userID": "sue", "name": "sue", "mode": "whisper"}]

    world.clock.now += 3
    again = Monitoring(center)
    changed = again.monitor(APP, "sue", call_id, "barge")
    assert [(n.to, n.event, n.payload["mode"]) for n in changed.notices] == \
        [("a1", "monitor_changed", "barge")]
    world.clock.now += 1
    ended = center.hangup(APP, "a1", call_id)
    told = [(n.to, n.event, n.payload.get("reason")) for n in ended.notices
            if n.event.startswith("monitor")]
    assert told == [("a1", "monitor_ended", "call_ended"), ("sue", "monitor_ended", "call_ended")]
    segment = next(s for s in ended.records[-1]["segments"] if s["kind"] == "monitor")
    start = 1_000_000.0 + 1 + 1 + 5  # a1's login, the enqueue, then 5 s of talk
    assert segment == {"kind": "monitor", "by": "sue", "agent": "a1", "mode": "listen",
                       "start": start, "end": start + 6, "reason": "call_ended",
                       "changes": [{"at": start + 2, "mode": "whisper"},
                                   {"at": start + 5, "mode": "barge"}]}


def test_every_field_of_a_monitoring_session_is_kept():
    """A field added to Monitor without its state would be lost in every restart."""
    monitor = Monitor("sue", "Sue", "a1", "barge", 1.0, shown=False, end=2.0,
                      reason="stopped", changes=[{"at": 1.5, "from": "listen", "mode": "barge"}])
    state = through_json(monitor.to_state())
    assert set(state) == {f.name for f in dataclasses.fields(Monitor)}
    assert Monitor.from_state(state) == monitor


def test_a_webhook_may_subscribe_to_the_monitoring_events_and_they_are_documented():
    endpoint = Endpoint(name="qa", url="https://qa.example/hook", secret="s" * 16,
                        events=["monitor.*"])
    assert endpoint.events == ["monitor.*"]
    plugins_md = (Path(__file__).parents[2] / "docs" / "plugins.md").read_text()
    for name in (EventName.MONITOR_STARTED, EventName.MONITOR_CHANGED, EventName.MONITOR_ENDED):
        assert f"| `{name.value}` |" in plugins_md, name
