"""Call flows of docs/protocol.md, driven through a real server with the Python client."""

from __future__ import annotations

import asyncio

import pytest
from signaling_helpers import in_call, no_event, unique

from callcenter.client.call_client import AUDIO_CALL, VIDEO_CALL, CallClient, CallClientError


def code_of(ack: dict) -> str:
    assert ack.get("ok") is False, ack
    return ack["error"]["code"]


@pytest.fixture
def srv(shared_server):
    return shared_server


# -- 1:1 calls -------------------------------------------------------------------------------------


async def test_hello_ack_describes_session_and_limits(srv, clients):
    alice = await clients(srv, "alice", role="agent")
    ack = alice.hello_ack
    assert ack["ok"] is True
    assert ack["userID"] == alice.user_id
    assert ack["appId"] == "demo"
    assert ack["role"] == "agent"
    assert ack["iceServers"] == []
    assert ack["limits"] == {"groupMax": 4, "maxTimeout": 600, "defaultTimeout": 30}
    assert ack["missedCalls"] == []


async def test_accepted_call_notifies_caller_and_ack_lists_participants(srv, clients):
    alice, bob = await clients(srv, "alice"), await clients(srv, "bob")
    call_id = await alice.call(bob.user_id, VIDEO_CALL, timeout=30, data={"topic": "billing"})

    invited = await bob.next_event("invited", callId=call_id)
    assert invited["sponsor"] == alice.user_id
    assert invited["userIDList"] == [bob.user_id]
    assert invited["type"] == VIDEO_CALL
    assert invited["timeout"] == 30
    assert invited["group"] is False
    assert invited["inviteData"] == {"callType": VIDEO_CALL, "data": {"topic": "billing"}}
    assert invited["inviteID"]

    ack = await bob.accept(call_id)
    assert ack["callId"] == call_id
    assert ack["type"] == VIDEO_CALL
    assert ack["participants"] == [alice.user_id]
    await alice.next_event("user_accept", callId=call_id, userID=bob.user_id)
    await alice.next_event("user_enter", callId=call_id, userID=bob.user_id)
    # the one who accepts learns who is there from the ack, not from events about itself
    await no_event(bob, "user_accept", within=0.2)
    await no_event(bob, "user_enter", within=0)


async def test_hangup_of_joined_call_sends_user_leave_and_call_end_to_the_other(srv, clients):
    alice, bob = await clients(srv, "alice"), await clients(srv, "bob")
    call_id = await in_call(alice, bob)

    await bob.hangup(call_id)
    await alice.next_event("user_leave", callId=call_id, userID=bob.user_id)
    end = await alice.next_event("call_end", callId=call_id)
    assert end["reason"] == "hangup"
    await no_event(bob, "call_end", within=0.3)
    # the call is over for both; a second hangup is refused and both lines are free again
    assert (await alice.request("hangup", {"callId": call_id}))["ok"] is False
    call2 = await bob.call(alice.user_id)
    await alice.next_event("invited", callId=call2, sponsor=bob.user_id)


async def test_reject_sends_reject_and_call_end_rejected_to_caller(srv, clients):
    alice, bob = await clients(srv, "alice"), await clients(srv, "bob")
    call_id = await alice.call(bob.user_id)
    await bob.next_event("invited", callId=call_id)

    await bob.reject(call_id)
    assert await alice.next_event("reject", callId=call_id) == {"callId": call_id,
                                                                "userID": bob.user_id}
    end = await alice.next_event("call_end", callId=call_id)
    assert end["reason"] == "rejected"
    ack = await bob.request("accept", {"callId": call_id})
    assert ack["error"]["code"] in ("CALL_NOT_FOUND", "NOT_INVITED")
    # the line is free: a new call rings
    call2 = await alice.call(bob.user_id)
    await bob.next_event("invited", callId=call2)


async def test_caller_hangup_before_answer_cancels_the_invitation(srv, clients):
    alice, bob = await clients(srv, "alice"), await clients(srv, "bob")
    call_id = await alice.call(bob.user_id)
    await bob.next_event("invited", callId=call_id)

    await alice.hangup(call_id)
    cancel = await bob.next_event("calling_cancel", callId=call_id)
    assert cancel["userID"] == alice.user_id
    ack = await bob.request("accept", {"callId": call_id})
    assert ack["ok"] is False
    assert ack["error"]["code"] in ("CALL_NOT_FOUND", "NOT_INVITED")
    await no_event(alice, "user_accept", within=0.2)
    call2 = await alice.call(bob.user_id)
    await bob.next_event("invited", callId=call2)


async def test_callee_already_ringing_gives_line_busy(srv, clients):
    alice, bob, carol = (await clients(srv, "alice"), await clients(srv, "bob"),
                         await clients(srv, "carol"))
    first = await alice.call(bob.user_id)
    await bob.next_event("invited", callId=first)

    second = await carol.call(bob.user_id)
    busy = await carol.next_event("line_busy", callId=second)
    assert busy["userID"] == bob.user_id
    await carol.next_event("call_end", callId=second)  # nobody left ringing
    await no_event(bob, "invited", within=0.3)
    # neither the ringing callee nor the waiting caller can start another call
    for busy_one in (alice, bob):
        ack = await busy_one.request("invite", {"userIDList": [carol.user_id], "type": 2})
        assert code_of(ack) == "ALREADY_IN_CALL"
    await no_event(carol, "invited", within=0.2)
    # bob's first invitation is untouched
    ack = await bob.accept(first)
    assert ack["participants"] == [alice.user_id]


async def test_call_whose_only_invitee_is_busy_ends_with_reason_busy(srv, clients):
    alice, bob, carol = (await clients(srv, "alice"), await clients(srv, "bob"),
                         await clients(srv, "carol"))
    first = await alice.call(bob.user_id)
    await bob.next_event("invited", callId=first)
    second = await carol.call(bob.user_id)
    await carol.next_event("line_busy", callId=second)
    end = await carol.next_event("call_end", callId=second)
    assert end["reason"] == "busy"


async def test_callee_in_a_call_gives_line_busy_and_caller_cannot_call_twice(srv, clients):
    alice, bob, carol = (await clients(srv, "alice"), await clients(srv, "bob"),
                         await clients(srv, "carol"))
    call_id = await in_call(alice, bob)

    for target in (alice, bob):
        other = await carol.call(target.user_id)
        busy = await carol.next_event("line_busy", callId=other)
        assert busy["userID"] == target.user_id
        await carol.next_event("call_end", callId=other, reason="busy")
    # someone in a call cannot start another one
    with pytest.raises(CallClientError) as err:
        await alice.call(carol.user_id)
    assert err.value.code == "ALREADY_IN_CALL"
    await no_event(carol, "invited", within=0.3)
    await no_event(alice, "invited", within=0)
    # the call is intact
    await alice.media_state(call_id, audio=False)
    await bob.next_event("media_state", callId=call_id, userID=alice.user_id)


async def test_unanswered_call_times_out_for_both_and_frees_the_line(srv, clients):
    alice, bob = await clients(srv, "alice"), await clients(srv, "bob")
    call_id = await alice.call(bob.user_id, timeout=1)
    invited = await bob.next_event("invited", callId=call_id)
    assert invited["timeout"] == 1

    no_resp = await alice.next_event("no_resp", callId=call_id, timeout=4)
    assert no_resp == {"callId": call_id, "userID": bob.user_id, "reason": "timeout"}
    assert await bob.next_event("calling_timeout", callId=call_id, timeout=4) == {
        "callId": call_id}
    end = await alice.next_event("call_end", callId=call_id)
    assert end["reason"] == "no_answer"
    ack = await bob.request("accept", {"callId": call_id})
    assert ack["error"]["code"] in ("CALL_NOT_FOUND", "NOT_INVITED")
    call2 = await alice.call(bob.user_id)
    await bob.next_event("invited", callId=call2)


async def test_invite_without_timeout_rings_for_the_default_timeout(srv, clients):
    alice, bob = await clients(srv, "alice"), await clients(srv, "bob")
    ack = await alice.invite([bob.user_id], AUDIO_CALL)
    invited = await bob.next_event("invited", callId=ack["callId"])
    assert invited["timeout"] == 30
    assert invited["inviteData"] == {"callType": AUDIO_CALL, "data": None}


async def test_zero_timeout_rings_until_answered(srv, clients):
    alice, bob = await clients(srv, "alice"), await clients(srv, "bob")
    call_id = await alice.call(bob.user_id, timeout=0)
    assert (await bob.next_event("invited", callId=call_id))["timeout"] == 0
    await no_event(alice, "no_resp", within=1.2)
    assert (await bob.accept(call_id))["participants"] == [alice.user_id]


async def test_call_to_offline_user_is_no_resp_offline_and_a_missed_call_once(srv, clients):
    alice = await clients(srv, "alice")
    bob_id = unique("bob")
    call_id = await alice.call(bob_id, AUDIO_CALL)
    no_resp = await alice.next_event("no_resp", callId=call_id, timeout=1)
    assert no_resp == {"callId": call_id, "userID": bob_id, "reason": "offline"}
    await alice.next_event("call_end", callId=call_id, reason="no_answer", timeout=1)

    bob = await clients(srv, user_id=bob_id)
    missed = bob.hello_ack["missedCalls"]
    assert len(missed) == 1
    assert missed[0]["callId"] == call_id
    assert missed[0]["from"] == alice.user_id
    assert missed[0]["type"] == AUDIO_CALL
    assert missed[0]["group"] is False
    assert isinstance(missed[0]["at"], (int, float))
    # handed out once: neither a later hello nor the next login repeats it
    again = await bob.request("hello", {})
    assert again["ok"] is True and again["missedCalls"] == []
    await bob.close()
    bob2 = await clients(srv, user_id=bob_id)
    assert bob2.hello_ack["missedCalls"] == []


async def test_missed_calls_are_listed_oldest_first(srv, clients):
    alice, carol = await clients(srv, "alice"), await clients(srv, "carol")
    bob_id = unique("bob")
    first = await alice.call(bob_id)
    await alice.next_event("call_end", callId=first)
    second = await carol.call(bob_id, AUDIO_CALL)
    await carol.next_event("call_end", callId=second)

    bob = await clients(srv, user_id=bob_id)
    assert [(m["callId"], m["from"]) for m in bob.hello_ack["missedCalls"]] == [
        (first, alice.user_id), (second, carol.user_id)]


async def test_second_login_kicks_out_the_first_and_ends_its_call(srv, clients):
    alice, bob1 = await clients(srv, "alice"), await clients(srv, "bob")
    call_id = await in_call(alice, bob1)

    bob2 = await clients(srv, user_id=bob1.user_id)
    assert await bob1.next_event("kicked_out") == {"reason": "login_elsewhere"}
    await bob1.wait_disconnected(timeout=5)
    assert not bob1.connected
    leave = await alice.next_event("user_leave", callId=call_id, userID=bob1.user_id)
    assert leave["reason"] == "kicked_out"
    end = await alice.next_event("call_end", callId=call_id)
    assert end["reason"] == "kicked_out"
    await no_event(bob2, "kicked_out", within=0.3)
    # the new session works: it can call and be called
    call2 = await bob2.call(alice.user_id)
    await alice.next_event("invited", callId=call2, sponsor=bob1.user_id)
    assert (await alice.accept(call2))["participants"] == [bob1.user_id]


async def test_kicked_out_ringing_invitee_counts_as_reject(srv, clients):
    alice, bob1 = await clients(srv, "alice"), await clients(srv, "bob")
    call_id = await alice.call(bob1.user_id)
    await bob1.next_event("invited", callId=call_id)

    bob2 = await clients(srv, user_id=bob1.user_id)
    await bob1.next_event("kicked_out")
    await alice.next_event("reject", callId=call_id, userID=bob1.user_id)
    await alice.next_event("call_end", callId=call_id)
    # the new session is not ringing for the old invitation
    assert (await bob2.request("accept", {"callId": call_id}))["ok"] is False


async def test_dropped_connection_ends_the_call_with_reason_disconnected(srv, clients):
    alice, bob = await clients(srv, "alice"), await clients(srv, "bob")
    call_id = await in_call(alice, bob)

    await bob.close()
    await alice.next_event("user_leave", callId=call_id, userID=bob.user_id)
    end = await alice.next_event("call_end", callId=call_id)
    assert end["reason"] == "disconnected"


async def test_logout_ends_calls_disconnects_and_makes_user_offline(srv, clients):
    alice, bob = await clients(srv, "alice"), await clients(srv, "bob")
    call_id = await in_call(alice, bob)

    ack = await bob.logout()
    assert ack == {"ok": True}
    assert not bob.connected
    await alice.next_event("user_leave", callId=call_id, userID=bob.user_id)
    end = await alice.next_event("call_end", callId=call_id)
    assert end["reason"] == "logout"
    call2 = await alice.call(bob.user_id)
    no_resp = await alice.next_event("no_resp", callId=call2)
    assert no_resp["reason"] == "offline"


# -- relays ------------------------------------------------------------------------------------


async def test_signal_is_relayed_between_joined_participants(srv, clients):
    alice, bob = await clients(srv, "alice"), await clients(srv, "bob")
    call_id = await in_call(alice, bob)

    offer = {"type": "offer", "sdp": "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\n"}
    await bob.signal(call_id, alice.user_id, "offer", offer)
    assert await alice.next_event("signal", callId=call_id) == {
        "callId": call_id, "from": bob.user_id, "kind": "offer", "payload": offer}
    answer = {"type": "answer", "sdp": "v=0\r\n"}
    await alice.signal(call_id, bob.user_id, "answer", answer)
    assert (await bob.next_event("signal", callId=call_id, kind="answer"))["payload"] == answer
    candidate = {"candidate": "candidate:1 1 udp 2122260223 192.0.2.1 50000 typ host",
                 "sdpMid": "0", "sdpMLineIndex": 0}
    await bob.signal(call_id, alice.user_id, "candidate", candidate)
    assert (await alice.next_event("signal", kind="candidate"))["payload"] == candidate
    await bob.signal(call_id, alice.user_id, "candidate", None)
    assert (await alice.next_event("signal", kind="candidate"))["payload"] is None
    # the sender does not get its own signal back
    await no_event(bob, "signal", within=0.2)


async def test_a_signal_id_is_relayed_as_sent_and_limited_in_length(srv, clients):
    # The id is the sender's, for the receiver to drop a copy the sender sent again after its
    # connection dropped: the server relays it, copies included, and keeps nothing of it.
    alice, bob = await clients(srv, "alice"), await clients(srv, "bob")
    call_id = await in_call(alice, bob)
    candidate = {"candidate": "candidate:1 1 udp 2122260223 192.0.2.1 50000 typ host",
                 "sdpMid": "0", "sdpMLineIndex": 0}
    sent = {"callId": call_id, "to": alice.user_id, "kind": "candidate", "payload": candidate,
            "id": "p1-7"}
    for _ in range(2):
        assert (await bob.request("signal", sent))["ok"] is True
        assert await alice.next_event("signal", callId=call_id) == {
            "callId": call_id, "from": bob.user_id, "kind": "candidate", "payload": candidate,
            "id": "p1-7"}
    ack = await bob.request("signal", {**sent, "id": "x" * 65})
    assert ack["error"]["code"] == "BAD_REQUEST"
    await no_event(alice, "signal", within=0.2)


async def test_signal_needs_both_sender_and_target_joined(srv, clients):
    alice, bob, carol = (await clients(srv, "alice"), await clients(srv, "bob"),
                         await clients(srv, "carol"))
    offer = {"type": "offer", "sdp": "v=0\r\n"}
    call_id = await alice.call(bob.user_id)
    await bob.next_event("invited", callId=call_id)

    # before bob accepts: bob is only ringing, alice's target has not joined
    ack = await bob.request("signal", {"callId": call_id, "to": alice.user_id, "kind": "offer",
                                       "payload": offer})
    assert ack["error"]["code"] == "NOT_IN_CALL"
    ack = await alice.request("signal", {"callId": call_id, "to": bob.user_id, "kind": "offer",
                                         "payload": offer})
    assert ack["error"]["code"] == "PEER_NOT_IN_CALL"

    await bob.accept(call_id)
    # a third user of the same app cannot inject into the call, nor be signalled to
    ack = await carol.request("signal", {"callId": call_id, "to": alice.user_id, "kind": "offer",
                                         "payload": offer})
    assert ack["error"]["code"] == "NOT_IN_CALL"
    ack = await alice.request("signal", {"callId": call_id, "to": carol.user_id, "kind": "offer",
                                         "payload": offer})
    assert ack["error"]["code"] == "PEER_NOT_IN_CALL"
    await no_event(alice, "signal", within=0.3)
    await no_event(bob, "signal", within=0)
    await no_event(carol, "signal", within=0)


async def test_media_state_is_relayed_to_the_other_participants(srv, clients):
    alice, bob = await clients(srv, "alice"), await clients(srv, "bob")
    call_id = await in_call(alice, bob)

    await bob.media_state(call_id, audio=False)
    state = await alice.next_event("media_state", callId=call_id)
    assert state["userID"] == bob.user_id
    assert state["audio"] is False
    assert state.get("video") is None
    await alice.media_state(call_id, audio=True, video=False)
    state = await bob.next_event("media_state", callId=call_id)
    assert state == {"callId": call_id, "userID": alice.user_id, "audio": True, "video": False}
    await no_event(alice, "media_state", within=0.2)


async def test_switch_type_is_announced_to_every_participant(srv, clients):
    alice, bob = await clients(srv, "alice"), await clients(srv, "bob")
    call_id = await in_call(alice, bob, VIDEO_CALL)

    ack = await alice.switch_type(call_id, AUDIO_CALL)
    assert ack["oldType"] == VIDEO_CALL and ack["newType"] == AUDIO_CALL
    expected = {"callId": call_id, "userID": alice.user_id, "oldType": VIDEO_CALL,
                "newType": AUDIO_CALL}
    assert await alice.next_event("call_type_changed", callId=call_id) == expected
    assert await bob.next_event("call_type_changed", callId=call_id) == expected
    ack = await bob.switch_type(call_id, VIDEO_CALL)
    assert ack["oldType"] == AUDIO_CALL and ack["newType"] == VIDEO_CALL
    await alice.next_event("call_type_changed", callId=call_id, userID=bob.user_id,
                           newType=VIDEO_CALL)


# -- group calls -----------------------------------------------------------------------------------


async def test_group_call_grows_with_each_accept_and_ends_with_the_last_two(srv, clients):
    alice, bob, carol, dave = [await clients(srv, n) for n in ("alice", "bob", "carol", "dave")]
    invitees = [bob.user_id, carol.user_id, dave.user_id]
    call_id = await alice.group_call(invitees, AUDIO_CALL)
    for member in (bob, carol, dave):
        invited = await member.next_event("invited", callId=call_id)
        assert invited["group"] is True
        assert invited["sponsor"] == alice.user_id
        assert sorted(invited["userIDList"]) == sorted(invitees)
        assert invited["type"] == AUDIO_CALL

    joined = [alice]
    for member in (bob, carol, dave):
        ack = await member.accept(call_id)
        assert sorted(ack["participants"]) == sorted(c.user_id for c in joined)
        for other in joined:
            await other.next_event("user_accept", callId=call_id, userID=member.user_id)
            await other.next_event("user_enter", callId=call_id, userID=member.user_id)
        joined.append(member)

    await dave.hangup(call_id)
    for other in (alice, bob, carol):
        leave = await other.next_event("user_leave", callId=call_id, userID=dave.user_id)
        assert leave["callId"] == call_id
    await bob.hangup(call_id)
    for other in (alice, carol):
        await other.next_event("user_leave", callId=call_id, userID=bob.user_id)
    await no_event(alice, "call_end", within=0.3)
    await carol.hangup(call_id)
    await alice.next_event("user_leave", callId=call_id, userID=carol.user_id)
    end = await alice.next_event("call_end", callId=call_id)
    assert end["reason"] == "hangup"
    for gone in (bob, carol, dave):
        await no_event(gone, "call_end", within=0)


async def test_group_call_goes_on_after_invitees_reject(srv, clients):
    alice, bob, carol, dave = [await clients(srv, n) for n in ("alice", "bob", "carol", "dave")]
    call_id = await alice.group_call([bob.user_id, carol.user_id, dave.user_id])
    for member in (bob, carol, dave):
        await member.next_event("invited", callId=call_id)

    await bob.reject(call_id)
    await alice.next_event("reject", callId=call_id, userID=bob.user_id)
    await no_event(alice, "call_end", within=0.3)
    ack = await carol.accept(call_id)
    assert ack["participants"] == [alice.user_id]
    await alice.next_event("user_enter", callId=call_id, userID=carol.user_id)
    # once someone has joined, every joined participant hears of a reject
    await dave.reject(call_id)
    await alice.next_event("reject", callId=call_id, userID=dave.user_id)
    await carol.next_event("reject", callId=call_id, userID=dave.user_id)
    await no_event(alice, "call_end", within=0.2)
    # who stopped ringing hears nothing more about the call
    for gone in (bob, dave):
        await no_event(gone, "user_enter", within=0)
        await no_event(gone, "reject", within=0)
    await carol.hangup(call_id)
    await alice.next_event("call_end", callId=call_id, reason="hangup")
    await no_event(bob, "call_end", within=0.2)


async def test_group_invitee_timing_out_leaves_the_call_going(srv, clients):
    alice, bob, carol = (await clients(srv, "alice"), await clients(srv, "bob"),
                         await clients(srv, "carol"))
    call_id = await alice.group_call([bob.user_id, carol.user_id], timeout=1)
    await bob.next_event("invited", callId=call_id)
    await carol.next_event("invited", callId=call_id)
    await bob.accept(call_id)

    no_resp = await alice.next_event("no_resp", callId=call_id, userID=carol.user_id, timeout=4)
    assert no_resp["reason"] == "timeout"
    # every joined participant hears of it, not only the caller
    await bob.next_event("no_resp", callId=call_id, userID=carol.user_id, reason="timeout")
    await carol.next_event("calling_timeout", callId=call_id, timeout=4)
    await no_event(alice, "call_end", within=0.2)
    assert code_of(await carol.request("accept", {"callId": call_id})) == "NOT_INVITED"
    await alice.media_state(call_id, audio=True)
    await bob.next_event("media_state", callId=call_id, userID=alice.user_id)


async def test_group_call_with_busy_and_offline_invitees_rings_the_rest(srv, clients):
    alice, bob, carol, dave = [await clients(srv, n) for n in ("alice", "bob", "carol", "dave")]
    busy_call = await carol.call(dave.user_id)
    await dave.next_event("invited", callId=busy_call)
    offline = unique("erin")

    call_id = await alice.group_call([bob.user_id, dave.user_id, offline])
    await alice.next_event("line_busy", callId=call_id, userID=dave.user_id)
    await alice.next_event("no_resp", callId=call_id, userID=offline, reason="offline")
    await bob.next_event("invited", callId=call_id)
    await no_event(alice, "call_end", within=0.2)
    assert (await bob.accept(call_id))["participants"] == [alice.user_id]


async def test_group_call_over_group_max_is_refused(srv, clients):
    alice = await clients(srv, "alice")
    others = [await clients(srv, n) for n in ("bob", "carol", "dave", "erin")]

    ack = await alice.request("invite", {"userIDList": [o.user_id for o in others], "type": 2,
                                         "group": True})
    assert ack["ok"] is False
    assert ack["error"]["code"] == "GROUP_TOO_LARGE"
    for other in others:
        await no_event(other, "invited", within=0.1)
    # alice is not in a call
    call_id = await alice.group_call([o.user_id for o in others[:3]])
    await others[0].next_event("invited", callId=call_id)


async def test_switch_type_is_refused_in_group_calls(srv, clients):
    alice, bob, carol = (await clients(srv, "alice"), await clients(srv, "bob"),
                         await clients(srv, "carol"))
    call_id = await alice.group_call([bob.user_id, carol.user_id])
    await bob.next_event("invited", callId=call_id)
    await bob.accept(call_id)

    ack = await alice.request("switch_type", {"callId": call_id, "type": AUDIO_CALL})
    assert ack["error"]["code"] == "GROUP_CALL"
    await no_event(bob, "call_type_changed", within=0.3)


async def test_concurrent_calls_between_separate_pairs_do_not_interfere(srv, clients):
    pairs = [(await clients(srv, "a"), await clients(srv, "b")) for _ in range(5)]
    call_ids = await asyncio.gather(*(in_call(a, b) for a, b in pairs))
    assert len(set(call_ids)) == 5
    await asyncio.gather(*(b.hangup(c) for (_, b), c in zip(pairs, call_ids, strict=True)))
    for (a, _), c in zip(pairs, call_ids, strict=True):
        await a.next_event("call_end", callId=c, reason="hangup")
        assert not a.pending("call_end")


async def test_client_login_raises_protocol_code(srv):
    client = CallClient(srv.url, "demo")
    with pytest.raises(CallClientError) as err:
        await client.login("mallory", "not-a-jwt")
    assert err.value.code == "AUTH_INVALID"
    assert not client.connected
