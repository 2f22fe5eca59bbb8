"""The call state machine (callcenter.domain.calls), without a server: every transition and
rejection."""

from __future__ import annotations

import pytest

from callcenter.domain.calls import EndReason, Leg, Limits, Outcome, Switchboard
from callcenter.domain.errors import Refused
from callcenter.domain.events import EventName
from callcenter.store import MemoryStore

APP = "demo"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store() -> MemoryStore:
    s = MemoryStore()
    for i, user in enumerate(["alice", "bob", "carol", "dave", "erin"]):
        s.bind_session(APP, user, f"sid-{i}")
    return s


@pytest.fixture
def board(store: MemoryStore, clock: Clock) -> Switchboard:
    return Switchboard(store, Limits(group_max=4, default_timeout=30, max_timeout=600), clock)


def notices(out: Outcome) -> list[tuple[str, str]]:
    return [(n.to, n.event) for n in out.notices]


def events(out: Outcome) -> list[tuple[str, str | None]]:
    return [(e.name.value, e.user_id) for e in out.events]


def call_1to1(board: Switchboard, timeout: int = 30) -> str:
    return board.invite(APP, "alice", ["bob"], 2, timeout, False, None).reply["callId"]


def test_invite_rings_the_callee_and_sets_a_ring_timer(board: Switchboard, store: MemoryStore):
    out = board.invite(APP, "alice", ["bob"], 2, 10, False, {"topic": "billing"})
    call_id = out.reply["callId"]
    assert notices(out) == [("bob", "invited")]
    assert out.notices[0].payload["inviteData"] == {"callType": 2, "data": {"topic": "billing"}}
    assert [(t.delay, t.user_id) for t in out.timers] == [(10, "bob")]
    assert events(out) == [("call.invited", "bob")]
    assert store.line_of(APP, "alice") == call_id and store.line_of(APP, "bob") == call_id


def test_invite_with_timeout_zero_sets_no_timer(board: Switchboard):
    assert board.invite(APP, "alice", ["bob"], 1, 0, False, None).timers == []


def test_invite_uses_the_default_timeout_when_none_given(board: Switchboard):
    assert board.invite(APP, "alice", ["bob"], 1, None, False, None).timers[0].delay == 30


def test_accept_joins_the_callee_and_tells_the_caller(board: Switchboard, store: MemoryStore):
    call_id = call_1to1(board)
    out = board.accept(APP, "bob", call_id)
    assert out.reply == {"callId": call_id, "type": 2, "participants": ["alice"]}
    assert notices(out) == [("alice", "user_accept"), ("alice", "user_enter")]
    assert events(out) == [("call.accepted", "bob")]
    assert store.get_call(APP, call_id).legs == {"alice": Leg.JOINED, "bob": Leg.JOINED}


def test_reject_ends_a_one_to_one_call_and_frees_both_lines(board: Switchboard, store: MemoryStore):
    call_id = call_1to1(board)
    out = board.reject(APP, "bob", call_id)
    assert notices(out) == [("alice", "reject"), ("alice", "call_end")]
    assert out.notices[-1].payload["reason"] == "rejected"
    assert events(out) == [("call.rejected", "bob"), ("call.ended", None)]
    assert store.line_of(APP, "alice") is None and store.line_of(APP, "bob") is None
    assert store.get_call(APP, call_id) is None


def test_caller_hangup_before_answer_cancels_the_invitation(board: Switchboard):
    call_id = call_1to1(board)
    out = board.hangup(APP, "alice", call_id)
    assert notices(out) == [("bob", "calling_cancel")]
    assert events(out) == [("call.cancelled", "bob"), ("call.ended", None)]
    assert out.ended_call.end_reason is EndReason.CANCELLED


def test_callee_hangup_while_ringing_is_a_reject(board: Switchboard):
    call_id = call_1to1(board)
    out = board.hangup(APP, "bob", call_id)
    assert ("alice", "reject") in notices(out)


def test_hangup_of_a_connected_call_ends_it_for_the_other(board: Switchboard, clock: Clock):
    call_id = call_1to1(board)
    board.accept(APP, "bob", call_id)
    clock.now += 42
    out = board.hangup(APP, "bob", call_id)
    assert notices(out) == [("alice", "user_leave"), ("alice", "call_end")]
    ended = out.events[-1]
    assert ended.name is EventName.ENDED
    assert ended.data["duration"] == 42 and ended.data["reason"] == "hangup"


def test_ring_timeout_tells_both_sides_and_ends_the_call(board: Switchboard, store: MemoryStore):
    call_id = call_1to1(board, timeout=5)
    out = board.expire_invite(APP, call_id, "bob")
    assert notices(out) == [("bob", "calling_timeout"), ("alice", "no_resp"), ("alice", "call_end")]
    assert out.notices[1].payload["reason"] == "timeout"
    assert out.ended_call.end_reason is EndReason.NO_ANSWER
    assert store.line_of(APP, "bob") is None


def test_a_late_ring_timer_changes_nothing(board: Switchboard):
    call_id = call_1to1(board)
    board.accept(APP, "bob", call_id)
    out = board.expire_invite(APP, call_id, "bob")
    assert out.notices == [] and out.events == []


def test_busy_callee_gives_line_busy_and_the_call_ends_busy(board: Switchboard):
    call_1to1(board)  # bob is ringing
    out = board.invite(APP, "carol", ["bob"], 2, 30, False, None)
    assert notices(out) == [("carol", "line_busy"), ("carol", "call_end")]
    assert out.ended_call.end_reason is EndReason.BUSY
    assert events(out)[0] == ("call.busy", "bob")


def test_callee_in_a_connected_call_is_busy(board: Switchboard):
    call_id = call_1to1(board)
    board.accept(APP, "bob", call_id)
    out = board.invite(APP, "carol", ["alice"], 2, 30, False, None)
    assert ("carol", "line_busy") in notices(out)


def test_offline_callee_is_a_missed_call_kept_for_their_next_login(board: Switchboard,
                                                                     store: MemoryStore):
    store.unbind_session(APP, "bob", "sid-1")
    out = board.invite(APP, "alice", ["bob"], 1, 30, False, None)
    assert notices(out) == [("alice", "no_resp"), ("alice", "call_end")]
    assert out.notices[0].payload["reason"] == "offline"
    assert events(out)[0] == ("call.missed", "bob")
    missed = board.take_missed(APP, "bob")
    assert [(m["from"], m["type"]) for m in missed] == [("alice", 1)]
    assert board.take_missed(APP, "bob") == []


def test_a_caller_already_in_a_call_cannot_invite(board: Switchboard, store: MemoryStore):
    call_1to1(board)
    with pytest.raises(Refused) as err:
        board.invite(APP, "alice", ["carol"], 2, 30, False, None)
    assert err.value.code == "ALREADY_IN_CALL"
    assert store.line_of(APP, "carol") is None


@pytest.mark.parametrize(("invitees", "kind", "timeout", "group", "code"), [
    (["bob"], 3, 30, False, "BAD_CALL_TYPE"),
    (["bob"], 0, 30, False, "BAD_CALL_TYPE"),
    (["bo b"], 2, 30, False, "BAD_USER_ID"),
    (["x" * 33], 2, 30, False, "BAD_USER_ID"),
    ([], 2, 30, False, "BAD_REQUEST"),
    (["bob", "bob"], 2, 30, True, "BAD_REQUEST"),
    (["bob", "carol"], 2, 30, False, "BAD_REQUEST"),
    (["bob", "carol", "dave", "erin"], 2, 30, True, "GROUP_TOO_LARGE"),
    (["alice"], 2, 30, False, "CANNOT_CALL_SELF"),
    (["bob"], 2, -1, False, "BAD_TIMEOUT"),
    (["bob"], 2, 601, False, "BAD_TIMEOUT"),
])
def test_invalid_invites_are_refused_and_change_nothing(board, store, invitees, kind, timeout,
                                                        group, code):
    with pytest.raises(Refused) as err:
        board.invite(APP, "alice", invitees, kind, timeout, group, None)
    assert err.value.code == code
    assert store.line_of(APP, "alice") is None and store.line_of(APP, "bob") is None


def test_accept_by_someone_not_invited_is_refused(board: Switchboard):
    call_id = call_1to1(board)
    for user in ("carol", "alice"):
        with pytest.raises(Refused) as err:
            board.accept(APP, user, call_id)
        assert err.value.code == "NOT_INVITED"


def test_accept_twice_is_refused(board: Switchboard):
    call_id = call_1to1(board)
    board.accept(APP, "bob", call_id)
    with pytest.raises(Refused) as err:
        board.accept(APP, "bob", call_id)
    assert err.value.code == "NOT_INVITED"


def test_requests_on_unknown_or_ended_calls_are_refused(board: Switchboard):
    call_id = call_1to1(board)
    board.hangup(APP, "alice", call_id)
    for op in (board.accept, board.reject, board.hangup):
        with pytest.raises(Refused) as err:
            op(APP, "bob", call_id)
        assert err.value.code == "CALL_NOT_FOUND"
    with pytest.raises(Refused):
        board.accept(APP, "bob", "no-such-call")


def test_calls_of_another_app_are_invisible(board: Switchboard):
    call_id = call_1to1(board)
    with pytest.raises(Refused) as err:
        board.accept("other", "bob", call_id)
    assert err.value.code == "CALL_NOT_FOUND"


def test_hangup_by_a_stranger_is_refused(board: Switchboard):
    call_id = call_1to1(board)
    with pytest.raises(Refused) as err:
        board.hangup(APP, "carol", call_id)
    assert err.value.code == "NOT_IN_CALL"


def test_relay_needs_both_sides_joined(board: Switchboard):
    call_id = call_1to1(board)
    with pytest.raises(Refused) as err:
        board.check_relay(APP, "alice", call_id, "bob")
    assert err.value.code == "PEER_NOT_IN_CALL"
    with pytest.raises(Refused) as err:
        board.check_relay(APP, "carol", call_id, "alice")
    assert err.value.code == "NOT_IN_CALL"
    board.accept(APP, "bob", call_id)
    assert board.check_relay(APP, "alice", call_id, "bob").id == call_id
    with pytest.raises(Refused) as err:
        board.check_relay(APP, "alice", call_id, "alice")
    assert err.value.code == "PEER_NOT_IN_CALL"


def test_media_state_goes_to_the_other_participants(board: Switchboard):
    call_id = call_1to1(board)
    board.accept(APP, "bob", call_id)
    out = board.media_state(APP, "bob", call_id, {"video": False})
    assert notices(out) == [("alice", "media_state")]
    assert out.notices[0].payload == {"callId": call_id, "userID": "bob", "video": False}


def test_switch_type_changes_a_one_to_one_call_and_tells_everyone(board: Switchboard):
    call_id = call_1to1(board)
    board.accept(APP, "bob", call_id)
    out = board.switch_type(APP, "alice", call_id, 1)
    assert out.reply == {"oldType": 2, "newType": 1}
    assert sorted(notices(out)) == [("alice", "call_type_changed"), ("bob", "call_type_changed")]
    with pytest.raises(Refused) as err:
        board.switch_type(APP, "alice", call_id, 7)
    assert err.value.code == "BAD_CALL_TYPE"


def test_group_call_continues_until_one_participant_is_left(board: Switchboard):
    out = board.invite(APP, "alice", ["bob", "carol", "dave"], 2, 30, True, None)
    call_id = out.reply["callId"]
    assert sorted(notices(out)) == [("bob", "invited"), ("carol", "invited"), ("dave", "invited")]
    assert board.accept(APP, "bob", call_id).reply["participants"] == ["alice"]
    out = board.accept(APP, "carol", call_id)
    assert sorted(out.reply["participants"]) == ["alice", "bob"]
    assert sorted(notices(out)) == [("alice", "user_accept"), ("alice", "user_enter"),
                                    ("bob", "user_accept"), ("bob", "user_enter")]
    with pytest.raises(Refused) as err:
        board.switch_type(APP, "alice", call_id, 1)
    assert err.value.code == "GROUP_CALL"
    out = board.reject(APP, "dave", call_id)
    assert sorted(notices(out)) == [("alice", "reject"), ("bob", "reject"), ("carol", "reject")]
    out = board.hangup(APP, "alice", call_id)
    assert sorted(notices(out)) == [("bob", "user_leave"), ("carol", "user_leave")]
    assert out.ended_call is None
    out = board.hangup(APP, "bob", call_id)
    assert notices(out) == [("carol", "user_leave"), ("carol", "call_end")]


def test_group_call_keeps_ringing_while_one_is_joined(board: Switchboard):
    call_id = board.invite(APP, "alice", ["bob", "carol"], 2, 30, True, None).reply["callId"]
    board.accept(APP, "bob", call_id)
    out = board.hangup(APP, "alice", call_id)  # bob is joined, carol still rings
    assert out.ended_call is None
    out = board.expire_invite(APP, call_id, "carol")
    assert ("bob", "call_end") in notices(out)


def test_group_sponsor_hanging_up_before_any_answer_cancels_everyone(board: Switchboard):
    call_id = board.invite(APP, "alice", ["bob", "carol"], 2, 30, True, None).reply["callId"]
    out = board.hangup(APP, "alice", call_id)
    assert sorted(notices(out)) == [("bob", "calling_cancel"), ("carol", "calling_cancel")]


def test_leave_all_frees_a_dropped_user_and_tells_the_other(board: Switchboard,
                                                            store: MemoryStore):
    call_id = call_1to1(board)
    board.accept(APP, "bob", call_id)
    out = board.leave_all(APP, "alice", EndReason.DISCONNECTED)
    assert ("bob", "call_end") in notices(out)
    assert out.notices[-1].payload["reason"] == "disconnected"
    assert store.line_of(APP, "alice") is None
    assert board.leave_all(APP, "alice", EndReason.LOGOUT).notices == []


def test_leave_all_frees_a_line_whose_call_is_gone(board: Switchboard, store: MemoryStore):
    store.claim_line(APP, "erin", "lost-call")
    board.leave_all(APP, "erin", EndReason.DISCONNECTED)
    assert store.line_of(APP, "erin") is None


def test_every_ended_call_emits_exactly_one_ended_event(board: Switchboard):
    call_id = call_1to1(board)
    board.accept(APP, "bob", call_id)
    outs = [board.hangup(APP, "alice", call_id)]
    with pytest.raises(Refused):
        board.hangup(APP, "bob", call_id)
    ended = [e for o in outs for e in o.events if e.name is EventName.ENDED]
    assert len(ended) == 1


def test_call_ids_never_begin_with_a_character_a_spreadsheet_reads_as_a_formula():
    from callcenter.domain.calls import new_call_id

    ids = [new_call_id() for _ in range(5000)]
    assert all(i[0].isalnum() and len(i) == 16 for i in ids)
    assert len(set(ids)) == len(ids)


def test_a_call_survives_the_trip_through_plain_json_data():
    import json

    from callcenter.domain.call import Call, CallType, EndReason, Leg

    call = Call(id="c1", app_id="demo", sponsor="alice", type=CallType.VIDEO, group=True,
                timeout=30, created_at=100.5, data={"topic": "billing"},
                legs={"alice": Leg.JOINED, "bob": Leg.RINGING, "carol": Leg.LEFT},
                answered_at=101.0, ended_at=None, end_reason=EndReason.HANGUP, queue="sales")
    again = Call.from_state(json.loads(json.dumps(call.to_state())))
    assert again == call
    assert isinstance(again.type, CallType) and isinstance(again.legs["bob"], Leg)
