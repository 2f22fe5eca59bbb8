"""The timer scheduler (callcenter.domain.timers) and the cancellations the domain asks for."""

from __future__ import annotations

from callcenter.domain.calls import Limits, Switchboard
from callcenter.domain.timers import Timer, TimerKind, TimerQueue, timer_key
from callcenter.store import MemoryStore


def ring(delay: float, user: str, call: str = "c1") -> Timer:
    return Timer(delay, "demo", call, user, TimerKind.RING)


def test_timers_come_due_in_order_of_their_time():
    queue = TimerQueue()
    queue.schedule(ring(3, "c"), now=100)
    queue.schedule(ring(1, "a"), now=100)
    queue.schedule(ring(2, "b"), now=100)
    assert queue.next_due() == 101
    assert queue.pop_due(100.5) == []
    assert [t.user_id for t in queue.pop_due(102)] == ["a", "b"]
    assert [t.user_id for t in queue.pop_due(200)] == ["c"]
    assert queue.next_due() is None and len(queue) == 0


def test_a_cancelled_timer_never_fires():
    queue = TimerQueue()
    queue.schedule(ring(1, "a"), now=0)
    queue.schedule(ring(2, "b"), now=0)
    assert queue.cancel(timer_key(TimerKind.RING, "demo", "c1", "a")) is True
    assert queue.cancel(timer_key(TimerKind.RING, "demo", "c1", "a")) is False
    assert queue.next_due() == 2  # the cancelled one is skipped
    assert [t.user_id for t in queue.pop_due(10)] == ["b"]


def test_setting_a_timer_again_replaces_it():
    queue = TimerQueue()
    queue.schedule(Timer(5, "demo", "c1", None, TimerKind.MAX_WAIT, token=1), now=0)
    queue.schedule(Timer(9, "demo", "c1", None, TimerKind.MAX_WAIT, token=2), now=1)
    assert len(queue) == 1
    assert queue.pop_due(6) == []
    assert [t.token for t in queue.pop_due(10)] == [2]


def test_an_answered_or_refused_invitation_cancels_its_ring_timer():
    store = MemoryStore()
    board = Switchboard(store, Limits(), clock=lambda: 1000.0)
    for user, sid in (("alice", "s1"), ("bob", "s2"), ("carol", "s3")):
        store.bind_session("demo", user, sid)
    call = board.invite("demo", "alice", ["bob", "carol"], 2, 30, True, None)
    call_id = call.reply["callId"]
    assert {t.user_id for t in call.timers} == {"bob", "carol"}
    accepted = board.accept("demo", "bob", call_id)
    assert accepted.cancelled == [timer_key(TimerKind.RING, "demo", call_id, "bob")]
    rejected = board.reject("demo", "carol", call_id)
    assert rejected.cancelled == [timer_key(TimerKind.RING, "demo", call_id, "carol")]
