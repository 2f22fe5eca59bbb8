"""Silent seconds (callcenter.domain.silence): the union of the stretches in which someone received
no media, clipped to the call's answer and end, and how the switchboard and a queue call's record
keep them out of talk time."""

from __future__ import annotations

import json

import pytest
from test_calls import APP, Clock, call_1to1, notices
from test_contact_center_domain import World

from callcenter.domain.call import Call
from callcenter.domain.calls import Leg, Limits, Switchboard
from callcenter.domain.errors import Refused
from callcenter.domain.silence import MAX_SILENCES, Silence, compact, silent_seconds
from callcenter.domain.statistics import Thresholds, summarize
from callcenter.store import MemoryStore


def s(start: float, end: float | None, receiver: str = "a", sender: str = "b") -> Silence:
    return Silence(receiver, sender, start, end)


@pytest.mark.parametrize(("silences", "expected"), [
    ([], 0.0),
    ([s(10, 13)], 3.0),
    # both sides of one frozen link report, overlapping: counted once
    ([s(10, 14, "a", "b"), s(12, 16, "b", "a")], 6.0),
    # one stretch inside another
    ([s(10, 20), s(12, 13, "c", "b")], 10.0),
    # apart: added up
    ([s(10, 12), s(15, 16)], 3.0),
    # touching end to start: one stretch, nothing counted twice
    ([s(10, 12), s(12, 15, "c", "b")], 5.0),
    # before the answer and after the end: clipped
    ([s(-5, 2), s(95, 130)], 7.0),
    # still open at the end: counts up to the end
    ([s(90, None)], 10.0),
    # open and closed overlapping
    ([s(80, 95), s(90, None, "b", "a")], 20.0),
    # wholly outside the call
    ([s(-10, -1), s(120, None)], 0.0),
])
def test_silent_seconds_are_the_union_of_the_silences_within_answer_and_end(silences, expected):
    assert silent_seconds(silences, 0.0, 100.0) == pytest.approx(expected)


def test_a_call_never_answered_or_not_ended_has_no_silent_seconds():
    assert silent_seconds([s(10, 20)], None, 100.0) == 0.0
    assert silent_seconds([s(10, 20)], 0.0, None) == 0.0


def test_too_many_silences_are_merged_without_losing_or_adding_silent_time():
    silences = [s(i * 10.0, i * 10.0 + 3) for i in range(MAX_SILENCES + 1)]
    silences.append(s(5000.0, None, "b", "a"))
    merged = compact(silences)
    assert len(merged) <= MAX_SILENCES // 2 + 1
    assert [m for m in merged if m.end is None] == [silences[-1]]  # the open one kept apart
    # a few gaps are now counted as silent, never a stretch lost
    before, after = silent_seconds(silences, 0, 6000), silent_seconds(merged, 0, 6000)
    assert before <= after <= before + 10 * (len(silences) - len(merged))


# -- the switchboard ---------------------------------------------------------------------------

@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def board(clock: Clock) -> Switchboard:
    store = MemoryStore()
    for i, user in enumerate(["alice", "bob", "carol", "dave"]):
        store.bind_session(APP, user, f"sid-{i}")
    return Switchboard(store, Limits(), clock)


def answered(board: Switchboard, clock: Clock) -> str:
    call_id = call_1to1(board)
    board.accept(APP, "bob", call_id)
    clock.now += 10
    return call_id


def test_a_stall_is_relayed_to_the_other_side_and_kept_out_of_the_ended_calls_talk(
        board: Switchboard, clock: Clock):
    call_id = answered(board, clock)
    out = board.media_flow(APP, "alice", call_id, "bob", False)
    assert notices(out) == [("bob", "media_flow")]
    assert out.notices[0].payload == {"callId": call_id, "userID": "bob", "by": "alice",
                                      "flowing": False}
    assert [(e.name.value, e.user_id, e.data) for e in out.events] == [
        ("call.media_stalled", "alice", {"sender": "bob"})]
    clock.now += 4
    board.media_flow(APP, "bob", call_id, "alice", False)  # his side noticed too, later
    clock.now += 1
    assert notices(board.media_flow(APP, "alice", call_id, "bob", True)) == [("bob", "media_flow")]
    clock.now += 2
    board.media_flow(APP, "bob", call_id, "alice", True)
    clock.now += 3
    ended = board.hangup(APP, "alice", call_id)
    data = next(e.data for e in ended.events if e.name.value == "call.ended")
    assert data["duration"] == 20.0 and data["silent"] == 7.0


def test_a_repeated_report_changes_nothing_and_tells_nobody(board: Switchboard, clock: Clock):
    call_id = answered(board, clock)
    assert board.media_flow(APP, "alice", call_id, "bob", True).notices == []  # flowing already
    board.media_flow(APP, "alice", call_id, "bob", False)
    clock.now += 2
    again = board.media_flow(APP, "alice", call_id, "bob", False)
    assert again.notices == [] and again.events == []
    assert board.store.get_call(APP, call_id).silences == [Silence("alice", "bob", 1010.0)]


def test_only_a_joined_participant_reports_and_only_about_another(board: Switchboard,
                                                                    clock: Clock):
    call_id = answered(board, clock)
    for user, sender, code in [("carol", "bob", "NOT_IN_CALL"),
                               ("alice", "carol", "PEER_NOT_IN_CALL"),
                               ("alice", "alice", "PEER_NOT_IN_CALL")]:
        with pytest.raises(Refused) as refused:
            board.media_flow(APP, user, call_id, sender, False)
        assert refused.value.code == code
    with pytest.raises(Refused) as refused:
        board.media_flow(APP, "alice", "no-such-call", "bob", False)
    assert refused.value.code == "CALL_NOT_FOUND"
    assert board.store.get_call(APP, call_id).silences == []


def test_a_stall_open_at_the_end_counts_to_the_end(board: Switchboard, clock: Clock):
    call_id = answered(board, clock)
    clock.now += 5
    board.media_flow(APP, "alice", call_id, "bob", False)
    clock.now += 6
    ended = board.hangup(APP, "bob", call_id)
    data = next(e.data for e in ended.events if e.name.value == "call.ended")
    assert data["duration"] == 21.0 and data["silent"] == 6.0


def test_leaving_a_group_call_ends_the_leavers_stalls(board: Switchboard, clock: Clock):
    call_id = board.invite(APP, "alice", ["bob", "carol"], 1, 30, True, None).reply["callId"]
    board.accept(APP, "bob", call_id)
    board.accept(APP, "carol", call_id)
    board.media_flow(APP, "alice", call_id, "carol", False)
    clock.now += 3
    board.hangup(APP, "carol", call_id)  # the call goes on: alice and bob
    call = board.store.get_call(APP, call_id)
    assert call.legs["carol"] is Leg.LEFT
    assert call.silences == [Silence("alice", "carol", 1000.0, 1003.0)]


def test_a_calls_silences_survive_the_trip_through_plain_json_data(board: Switchboard,
                                                                    clock: Clock):
    call_id = answered(board, clock)
    board.media_flow(APP, "alice", call_id, "bob", False)
    call = board.store.get_call(APP, call_id)
    assert Call.from_state(json.loads(json.dumps(call.to_state()))) == call


# -- a queue call's record and the statistics ------------------------------------------------

def test_a_queue_calls_record_keeps_the_silent_seconds_out_of_talk_and_aht():
    w = World({"wrap_up": 5}, {"a1": {}})
    call_id = w.enqueue(customer="cust")
    w.answer("a1", call_id)
    w.clock.now += 10
    w.run(w.center.media_flow(APP, "a1", call_id, "cust", False))  # the customer froze
    w.clock.now += 8
    w.run(w.center.media_flow(APP, "a1", call_id, "cust", True))
    w.clock.now += 2
    w.run(w.center.hangup(APP, "a1", call_id))
    qc = w.center.finished[(APP, call_id)]
    record = qc.record(w.clock())
    assert record["endedAt"] - record["answeredAt"] == 20.0
    assert record["silentSeconds"] == 8.0 and record["talk"] == 12.0
    completed = next(e for o in w.outs for e in o.events if e.name.value == "queue.completed")
    assert completed.data["talk"] == 12.0 and completed.data["silent"] == 8.0
    assert w.agent("a1").talk_time == 12.0
    stats = summarize([record], [], record["joinedAt"] - 1, record["joinedAt"] + 1, Thresholds())
    assert stats["averageTalk"] == 12.0
    # a record without talk (worked out from the times) takes the silent seconds off too
    bare = {**record, "talk": None}
    assert summarize([bare], [], bare["joinedAt"] - 1, bare["joinedAt"] + 1,
                     Thresholds())["averageTalk"] == 12.0


def test_a_stall_begins_when_the_reporter_last_received_media(board: Switchboard, clock: Clock):
    call_id = answered(board, clock)  # answered at 1000, now 1010
    board.media_flow(APP, "alice", call_id, "bob", False, silent_for=3.0)
    assert board.store.get_call(APP, call_id).silences == [Silence("alice", "bob", 1007.0)]
    clock.now += 2
    data = next(e.data for e in board.hangup(APP, "alice", call_id).events
                if e.name.value == "call.ended")
    assert data["silent"] == 5.0
