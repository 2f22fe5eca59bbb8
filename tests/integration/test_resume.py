"""Resume (docs/protocol.md, "Resume"): a client whose connection drops gets back into its call,
or its place in line, within the resume window, with the events it missed; the others are told.
Real server, real Socket.IO connections; a drop is the client closing its connection without
logging out, which the server cannot tell from a network failure."""

from __future__ import annotations

import jwt
import pytest
from contact_center_helpers import Desk, agent, demo_extra, queue
from signaling_helpers import in_call, no_event

from callcenter.client.call_client import AUDIO_CALL, VIDEO_CALL, CallClient, CallClientError

WINDOW = "resume_window = 3"


@pytest.fixture
def srv(server_factory):
    return server_factory(signaling=WINDOW, demo_extra=demo_extra(
        [queue("line")], [agent("res_a1", ["line"]), agent("res_a2", ["line"])]))


async def test_a_dropped_caller_resumes_into_its_call_with_the_events_it_missed(srv, clients):
    alice, bob = await clients(srv, "alice"), await clients(srv, "bob")
    assert bob.hello_ack["resumeWindow"] == 3 and bob.resume_token
    call_id = await in_call(alice, bob)
    await alice.media_state(call_id, audio=False)
    await bob.next_event("media_state", callId=call_id)

    await bob.close()  # the connection drops
    await alice.next_event("reconnecting", callId=call_id, userID=bob.user_id)
    # Meanwhile alice signals bob: it waits for him.
    await alice.signal(call_id, bob.user_id, "candidate", {"candidate": "c1"})
    await alice.media_state(call_id, audio=True)

    ack = await bob.resume()
    assert ack["resumed"] is True
    await alice.next_event("reconnected", callId=call_id, userID=bob.user_id)
    signal = await bob.next_event("signal", callId=call_id, kind="candidate")
    assert signal["payload"] == {"candidate": "c1"}
    state = await bob.next_event("media_state", callId=call_id)
    assert state["audio"] is True
    await no_event(bob, "media_state", within=0.3)  # what he had seen is not sent twice

    # The call goes on as before the drop.
    await bob.hangup(call_id)
    leave = await alice.next_event("user_leave", callId=call_id, userID=bob.user_id)
    assert leave["reason"] == "hangup"


async def test_a_drop_not_resumed_within_the_window_ends_the_call_as_disconnected(srv, clients):
    alice, bob = await clients(srv, "alice"), await clients(srv, "bob")
    call_id = await in_call(alice, bob)
    await bob.close()
    await alice.next_event("reconnecting", callId=call_id, userID=bob.user_id)
    leave = await alice.next_event("user_leave", callId=call_id, userID=bob.user_id, timeout=8)
    assert leave["reason"] == "disconnected"
    assert (await alice.next_event("call_end", callId=call_id))["reason"] == "disconnected"

    ack = await bob.resume()  # too late: a new session, and the client learns its call ended
    assert ack["resumed"] is False
    assert (await alice.request("signal", {"callId": call_id, "to": bob.user_id,
                                           "kind": "candidate", "payload": {}}))["ok"] is False


async def test_a_queued_customer_keeps_their_place_in_line_across_a_drop(srv):
    async with Desk(srv) as desk:
        first = await desk.customer("first")
        joined = await first.enqueue("line", AUDIO_CALL)
        await first.close()
        second = await desk.customer("second")
        assert (await second.enqueue("line", AUDIO_CALL))["position"] == 2
        assert (await first.resume())["resumed"] is True

        ann = await desk.agent("res_a1")
        offer = await ann.next_event("offer")
        assert offer["callId"] == joined["callId"]  # the first in line is served first
        await ann.accept(offer["callId"])
        await first.next_event("user_enter", callId=offer["callId"])


async def test_a_queued_customer_who_dropped_is_offered_to_nobody_until_they_are_back(srv):
    async with Desk(srv) as desk:
        ann = await desk.agent("res_a1")
        customer = await desk.customer()
        call_id = (await customer.enqueue("line", AUDIO_CALL))["callId"]
        await ann.next_event("offer", callId=call_id)
        await customer.close()
        cancel = await ann.next_event("calling_cancel", callId=call_id)
        assert cancel["reason"] == "disconnected"
        await no_event(ann, "offer", within=1.5)  # not offered again while the line is empty
        assert (await customer.resume())["resumed"] is True
        offer = await ann.next_event("offer", callId=call_id)
        await ann.accept(offer["callId"])
        await customer.next_event("user_enter", callId=call_id, userID="res_a1")


async def test_an_agent_who_drops_while_ringing_loses_the_offer_to_the_next_agent(srv):
    async with Desk(srv) as desk:
        ann = await desk.agent("res_a1")
        customer = await desk.customer()
        call_id = (await customer.enqueue("line", AUDIO_CALL))["callId"]
        await ann.next_event("offer", callId=call_id)
        await ann.close()
        ben = await desk.agent("res_a2")
        offer = await ben.next_event("offer", callId=call_id)
        await ben.accept(offer["callId"])
        await customer.next_event("user_enter", callId=call_id, userID="res_a2")
        # Ann comes back within the window: her session, but not the offer that moved on.
        assert (await ann.resume())["resumed"] is True
        cancel = await ann.next_event("calling_cancel", callId=call_id)
        assert cancel["reason"] == "disconnected"


async def test_forged_expired_and_other_users_resume_tokens_are_refused_and_change_nothing(
        srv, clients):
    alice, bob = await clients(srv, "alice"), await clients(srv, "bob")
    call_id = await in_call(alice, bob)
    real = bob.resume_token
    await bob.close()
    await alice.next_event("reconnecting", callId=call_id, userID=bob.user_id)

    secret = srv.secrets["demo"]
    claims = jwt.decode(real, options={"verify_signature": False})
    attempts = {
        "RESUME_INVALID": [jwt.encode(claims, "a-forger-does-not-know-the-secret-0123456", "HS256"),
                           jwt.encode({**claims, "sub": alice.user_id}, secret, "HS256"),
                           jwt.encode({**claims, "app": "other"}, secret, "HS256"),
                           "not-a-token", 12],
        "RESUME_EXPIRED": [jwt.encode({**claims, "exp": 1}, secret, "HS256")],
    }
    for code, tokens in attempts.items():
        for token in tokens:
            bob.resume_token = token
            with pytest.raises(CallClientError) as refused:
                await bob.resume()
            assert refused.value.code == code, token
    await no_event(alice, "reconnected", within=0.3)

    bob.resume_token = real
    assert (await bob.resume())["resumed"] is True
    await alice.next_event("reconnected", callId=call_id, userID=bob.user_id)


async def test_a_logout_is_not_a_drop_and_a_second_login_replaces_a_suspended_session(
        srv, clients):
    alice, bob = await clients(srv, "alice"), await clients(srv, "bob")
    call_id = await in_call(alice, bob)
    await bob.logout()
    leave = await alice.next_event("user_leave", callId=call_id, userID=bob.user_id)
    assert leave["reason"] == "logout"

    carol = await clients(srv, "carol")
    call2 = await in_call(alice, carol)
    await carol.close()
    await alice.next_event("reconnecting", callId=call2, userID=carol.user_id)
    # Carol logs in afresh elsewhere (no resume token): the suspended session and its call end.
    again = CallClient(srv.url, "demo")
    try:
        await again.login(carol.user_id, srv.token(carol.user_id))
        leave = await alice.next_event("user_leave", callId=call2, userID=carol.user_id)
        assert leave["reason"] == "kicked_out"
    finally:
        await again.close()


async def test_a_resume_token_from_a_media_worker_is_refused(srv):
    worker = CallClient(srv.url, "demo")
    token = srv.token("res_worker", role="service")
    with pytest.raises(CallClientError) as refused:
        await worker.login("res_worker", token, auth={
            "appId": "demo", "userID": "res_worker", "userSig": token, "resumeToken": "x"})
    assert refused.value.code == "RESUME_INVALID"


async def reloaded(server, old: CallClient) -> CallClient:
    """A new page of the same tab: a new client, with only what the old page kept (its
    credential, resume token and last seq), connecting before or after the old one is gone."""
    page = CallClient(server.url, "demo")
    await page.login(old.user_id, old._auth["userSig"], auth={
        **old._auth, "resumeToken": old.resume_token, "lastSeq": old.last_seq})
    return page


async def test_a_reloaded_page_takes_the_session_over_and_learns_its_call_from_hello(
        srv, clients):
    alice, bob = await clients(srv, "alice"), await clients(srv, "bob")
    call_id = await in_call(alice, bob)

    # The old page's connection is still open when the new one arrives.
    page = await reloaded(srv, bob)
    try:
        ack = page.hello_ack
        assert ack["resumed"] is True
        assert ack["call"]["callId"] == call_id
        assert ack["call"]["participants"] == [alice.user_id]
        assert ack["call"]["role"] == "callee" and ack["call"]["type"] == VIDEO_CALL
        await bob.wait_disconnected()
        assert not [e for e in bob.events if e.name == "kicked_out"]  # not a second login
        await alice.next_event("reconnecting", callId=call_id, userID=bob.user_id)
        await alice.next_event("reconnected", callId=call_id, userID=bob.user_id)

        # The call goes on with the new page: signals reach it, and it can hang up.
        await alice.signal(call_id, bob.user_id, "candidate", {"candidate": "c2"})
        await page.next_event("signal", callId=call_id, kind="candidate")
        await page.hangup(call_id)
        leave = await alice.next_event("user_leave", callId=call_id, userID=bob.user_id)
        assert leave["reason"] == "hangup"
    finally:
        await page.close()


async def test_a_customer_whose_page_changed_mid_queue_learns_their_place_from_hello(srv):
    async with Desk(srv) as desk:
        first = await desk.customer("first")
        joined = await first.enqueue("line", AUDIO_CALL)
        second = await desk.customer("second")
        await second.enqueue("line", AUDIO_CALL)
        await first.close()  # the page goes

        page = await reloaded(srv, first)
        try:
            view = page.hello_ack["call"]
            assert view["callId"] == joined["callId"] and view["queue"] == "line"
            assert view["position"] == 1 and view["participants"] == []
            assert view["role"] == "caller" and view["invitees"] == []

            ann = await desk.agent("res_a1")
            offer = await ann.next_event("offer")
            assert offer["callId"] == joined["callId"]  # still first in line
            await ann.accept(offer["callId"])
            await page.next_event("user_enter", callId=offer["callId"])
        finally:
            await page.close()


async def test_a_page_that_comes_back_after_its_call_ended_has_no_call_and_gets_call_end(
        srv, clients):
    alice, bob = await clients(srv, "alice"), await clients(srv, "bob")
    call_id = await in_call(alice, bob)
    await bob.close()
    await alice.next_event("reconnecting", callId=call_id, userID=bob.user_id)
    await alice.hangup(call_id)  # ends the call while bob's page is away

    page = await reloaded(srv, bob)
    try:
        assert page.hello_ack["resumed"] is True
        assert page.hello_ack["call"] is None
        end = await page.next_event("call_end", callId=call_id)
        assert end["reason"] == "hangup"
    finally:
        await page.close()
