"""Bad input of every kind gets its error code and changes nothing (docs/protocol.md).

"Changes nothing" is checked by what did not happen (no event reached anyone) and by a valid
operation that still works afterwards.
"""

from __future__ import annotations

import asyncio
import time

import jwt
import pytest
from signaling_helpers import in_call, no_event, unique

from callcenter.client.call_client import CallClient, CallClientError
from callcenter.domain.credentials import mint


@pytest.fixture
def srv(shared_server):
    return shared_server


def raw_token(server, sub: str, app: str = "demo", secret: str | None = None,
              ttl: int = 600, **claims) -> str:
    """A credential built by hand, for claims `mint` refuses to make (bad ids, odd apps)."""
    now = int(time.time())
    body = {"sub": sub, "app": app, "role": "customer", "iat": now, "exp": now + ttl, **claims}
    return jwt.encode(body, secret or server.secrets["demo"], algorithm="HS256")


async def refused(server, auth, app: str = "demo", user: str = "x") -> str:
    """Try to connect with `auth`; return the connect_error code."""
    client = CallClient(server.url, app)
    try:
        with pytest.raises(CallClientError) as err:
            await client.login(user, "", auth=auth)
        assert not client.connected
        return err.value.code
    finally:
        await client.close()


def code(ack) -> str:
    assert isinstance(ack, dict) and ack.get("ok") is False, ack
    return ack["error"]["code"]


# -- connecting ------------------------------------------------------------------------------------


async def test_missing_or_malformed_auth_is_auth_required(srv):
    user = unique("u")
    token = srv.token(user)
    assert await refused(srv, None) == "AUTH_REQUIRED"
    assert await refused(srv, {"appId": "demo", "userID": user}) == "AUTH_REQUIRED"
    assert await refused(srv, {"appId": "demo", "userSig": token}) == "AUTH_REQUIRED"
    assert await refused(srv, {"appId": "demo", "userID": user, "userSig": 42}) == "AUTH_REQUIRED"
    assert await refused(srv, {"appId": 7, "userID": user, "userSig": token}) == "AUTH_REQUIRED"


async def test_credential_signed_with_wrong_secret_is_auth_invalid(srv):
    user = unique("mallory")
    forged = mint(app_id="demo", secret="not-the-demo-secret-0123456789abcdefgh", user_id=user,
                  role="supervisor", ttl=600)
    assert await refused(srv, {"appId": "demo", "userID": user, "userSig": forged}) \
        == "AUTH_INVALID"
    garbage = {"appId": "demo", "userID": user, "userSig": "garbage.not.jwt"}
    assert await refused(srv, garbage) == "AUTH_INVALID"
    unsigned = jwt.encode({"sub": user, "app": "demo", "role": "customer",
                           "exp": int(time.time()) + 600}, None, algorithm="none")
    assert await refused(srv, {"appId": "demo", "userID": user, "userSig": unsigned}) \
        == "AUTH_INVALID"


async def test_expired_credential_is_auth_expired(srv):
    user = unique("late")
    expired = srv.token(user, ttl=-30)
    assert await refused(srv, {"appId": "demo", "userID": user, "userSig": expired}) \
        == "AUTH_EXPIRED"


async def test_credential_for_another_user_or_app_is_refused(srv):
    alice, bob = unique("alice"), unique("bob")
    # bob's valid credential presented as alice
    assert await refused(srv, {"appId": "demo", "userID": alice, "userSig": srv.token(bob)}) \
        == "AUTH_MISMATCH"
    # a credential of app "other" presented to app "demo": signed with the other app's secret
    other_token = srv.token(alice, app="other")
    assert await refused(srv, {"appId": "demo", "userID": alice, "userSig": other_token}) \
        in ("AUTH_MISMATCH", "AUTH_INVALID")
    # ... or claiming app "other" while signed with demo's secret
    crossed = raw_token(srv, alice, app="other")
    assert await refused(srv, {"appId": "demo", "userID": alice, "userSig": crossed}) \
        in ("AUTH_MISMATCH", "AUTH_INVALID")


async def test_unknown_app_is_refused(srv):
    user = unique("u")
    assert await refused(srv, {"appId": "nope", "userID": user, "userSig": srv.token(user)}) \
        == "UNKNOWN_APP"


@pytest.mark.parametrize("bad_id", ["a" * 33, "bad id", "bad.id", "bob@example", "émile",
                                    "x/../y"])
async def test_bad_user_id_at_connect_is_refused(srv, bad_id):
    token = raw_token(srv, bad_id)
    assert await refused(srv, {"appId": "demo", "userID": bad_id, "userSig": token}) \
        == "BAD_USER_ID"


async def test_refused_connections_kick_nobody(srv, clients):
    alice = await clients(srv, "alice")
    forged = mint(app_id="demo", secret="not-the-demo-secret-0123456789abcdefgh",
                  user_id=alice.user_id, role="customer", ttl=600)
    await refused(srv, {"appId": "demo", "userID": alice.user_id, "userSig": forged})
    await refused(srv, {"appId": "demo", "userID": alice.user_id,
                        "userSig": srv.token(alice.user_id, ttl=-30)})
    await no_event(alice, "kicked_out", within=0.3)
    assert alice.connected
    assert (await alice.request("hello", {}))["ok"] is True


# -- malformed requests ----------------------------------------------------------------------------

MALFORMED = [
    ("invite", "not an object"),
    ("invite", [1, 2]),
    ("invite", 42),
    ("invite", None),  # missing payload counts as {}: fields missing
    ("invite", {"type": 2}),
    ("invite", {"userIDList": "BOB", "type": 2}),
    ("invite", {"userIDList": ["BOB"], "type": 2, "colour": "red"}),
    ("invite", {"userIDList": ["BOB"], "type": 2, "group": "yes"}),
    ("invite", {"userIDList": ["BOB"], "type": 2, "data": "text"}),
    ("invite", {"userIDList": [], "type": 2}),
    ("invite", {"userIDList": [7], "type": 2}),
    ("accept", {}),
    ("accept", {"callId": 5}),
    ("accept", {"callId": "x", "extra": True}),
    ("reject", {"callId": None}),
    ("hangup", ["callId"]),
    ("signal", {"callId": "x", "to": "BOB", "kind": "offer"}),
    ("signal", {"callId": "x", "to": "BOB", "kind": "shout", "payload": {}}),
    ("signal", {"callId": "x", "to": "BOB", "kind": "offer", "payload": "sdp"}),
    ("media_state", {"callId": "x", "audio": "on"}),
    ("media_state", {"callId": "x", "microphone": True}),
    ("switch_type", {"callId": "x"}),
    ("hello", {"again": 1}),
    ("logout", {"now": True}),
]


async def test_malformed_requests_are_bad_request_and_change_nothing(srv, clients):
    alice, bob = await clients(srv, "alice"), await clients(srv, "bob")
    for event, payload in MALFORMED:
        if isinstance(payload, dict):
            payload = {k: ([bob.user_id] if v == ["BOB"] else bob.user_id if v == "BOB" else v)
                       for k, v in payload.items()}
        ack = await alice.request(event, payload)
        assert code(ack) == "BAD_REQUEST", (event, payload, ack)
    assert alice.connected
    await no_event(bob, within=0.3)
    await no_event(alice, within=0)
    # nothing started, nobody logged out: a real call still works
    call_id = await in_call(alice, bob)
    # malformed requests about a live call do not disturb it either
    for payload in ({"callId": call_id, "extra": 1}, {"callId": [call_id]}):
        assert code(await bob.request("hangup", payload)) == "BAD_REQUEST"
    assert code(await bob.request("signal", {"callId": call_id, "to": alice.user_id,
                                             "kind": "offer", "payload": {"sdp": 1,
                                                                          "type": "offer"}})) \
        == "BAD_REQUEST"
    await no_event(alice, within=0.3)
    await bob.media_state(call_id, video=True)
    await alice.next_event("media_state", callId=call_id, video=True)


NOT_JSON = [
    ("accept", {"callId": b"\x01"}),          # a binary attachment inside an object
    ("hello", b"\x00\x01"),                    # ... or as the whole payload
    ("invite", {"userIDList": [b"BOB"], "type": 2}),
    ("invite", {"userIDList": ["BOB"], "type": 2, "data": {"deep": [[b"x"]]}}),
    ("media_state", {"callId": "x", "audio": float("nan")}),
    ("invite", {"userIDList": ["BOB"], "type": 2, "data": {"n": float("inf")}}),
    ("accept", {"callId": "\ud800"}),          # a lone surrogate: no UTF-8 for it
]


async def test_binary_and_other_non_json_payloads_are_bad_request(srv, clients):
    alice, bob = await clients(srv, "alice"), await clients(srv, "bob")
    for event, payload in NOT_JSON:
        if isinstance(payload, dict) and payload.get("userIDList") == ["BOB"]:
            payload = {**payload, "userIDList": [bob.user_id]}
        ack = await alice.request(event, payload)
        assert code(ack) == "BAD_REQUEST", (event, payload, ack)
        assert "JSON" in ack["error"]["message"]
    await no_event(bob, within=0.3)
    assert (await alice.request("hello", {}))["ok"] is True


async def test_unknown_event_is_unknown_event(srv, clients):
    alice = await clients(srv, "alice")
    assert code(await alice.request("fly_to_moon", {})) == "UNKNOWN_EVENT"
    assert code(await alice.request("kicked_out", {})) == "UNKNOWN_EVENT"
    assert (await alice.request("hello", {}))["ok"] is True


async def test_oversized_request_is_payload_too_large(srv, clients):
    alice, bob = await clients(srv, "alice"), await clients(srv, "bob")
    big = {"userIDList": [bob.user_id], "type": 2, "data": {"blob": "x" * (70 * 1024)}}
    assert code(await alice.request("invite", big)) == "PAYLOAD_TOO_LARGE"
    await no_event(bob, "invited", within=0.3)
    assert alice.connected
    call_id = await alice.call(bob.user_id)
    await bob.next_event("invited", callId=call_id)


async def test_oversized_invite_data_and_sdp_are_refused(srv, clients):
    alice, bob = await clients(srv, "alice"), await clients(srv, "bob")
    ack = await alice.request("invite", {"userIDList": [bob.user_id], "type": 2,
                                         "data": {"blob": "x" * 3000}})
    assert code(ack) == "BAD_REQUEST"
    await no_event(bob, "invited", within=0.3)
    call_id = await in_call(alice, bob)
    ack = await bob.request("signal", {"callId": call_id, "to": alice.user_id, "kind": "offer",
                                       "payload": {"type": "offer", "sdp": "a" * (33 * 1024)}})
    assert code(ack) in ("BAD_REQUEST", "PAYLOAD_TOO_LARGE")
    await no_event(alice, "signal", within=0.3)


async def test_message_over_engineio_limit_closes_only_that_connection(srv, clients):
    alice, bob = await clients(srv, "alice"), await clients(srv, "bob")
    with pytest.raises(CallClientError):
        await alice.request("invite", {"userIDList": [bob.user_id], "type": 2,
                                       "data": {"blob": "x" * (300 * 1024)}}, timeout=3)
    await alice.wait_disconnected(timeout=5)
    await no_event(bob, "invited", within=0.2)
    carol = await clients(srv, "carol")
    call_id = await carol.call(bob.user_id)
    await bob.next_event("invited", callId=call_id)


@pytest.mark.parametrize("bad_id", ["a" * 33, "bad id", "bad.id", ""])
async def test_bad_user_id_in_invite_is_bad_user_id(srv, clients, bad_id):
    alice = await clients(srv, "alice")
    ack = await alice.request("invite", {"userIDList": [bad_id], "type": 2})
    assert code(ack) == "BAD_USER_ID"
    assert (await alice.request("hello", {}))["ok"] is True  # not in a call
    bob = await clients(srv, "bob")
    await alice.call(bob.user_id)


@pytest.mark.parametrize("bad_type", [0, 3, -1, 99])
async def test_bad_call_type_is_refused(srv, clients, bad_type):
    alice, bob = await clients(srv, "alice"), await clients(srv, "bob")
    ack = await alice.request("invite", {"userIDList": [bob.user_id], "type": bad_type})
    assert code(ack) == "BAD_CALL_TYPE"
    await no_event(bob, "invited", within=0.2)
    call_id = await in_call(alice, bob)
    assert code(await alice.request("switch_type", {"callId": call_id, "type": bad_type})) \
        == "BAD_CALL_TYPE"
    await no_event(bob, "call_type_changed", within=0.2)


@pytest.mark.parametrize("bad_timeout", [-1, 601, 10**9])
async def test_bad_timeout_is_refused(srv, clients, bad_timeout):
    alice, bob = await clients(srv, "alice"), await clients(srv, "bob")
    ack = await alice.request("invite", {"userIDList": [bob.user_id], "type": 2,
                                         "timeout": bad_timeout})
    assert code(ack) == "BAD_TIMEOUT"
    await no_event(bob, "invited", within=0.2)
    await alice.call(bob.user_id, timeout=600)
    await bob.next_event("invited")


async def test_calling_self_is_refused(srv, clients):
    alice, bob = await clients(srv, "alice"), await clients(srv, "bob")
    assert code(await alice.request("invite", {"userIDList": [alice.user_id], "type": 2})) \
        == "CANNOT_CALL_SELF"
    ack = await alice.request("invite", {"userIDList": [bob.user_id, alice.user_id], "type": 2,
                                         "group": True})
    assert code(ack) == "CANNOT_CALL_SELF"
    await no_event(alice, within=0.2)
    await no_event(bob, within=0)
    await in_call(alice, bob)


async def test_several_invitees_without_group_flag_are_refused(srv, clients):
    alice, bob, carol = (await clients(srv, "alice"), await clients(srv, "bob"),
                         await clients(srv, "carol"))
    ack = await alice.request("invite", {"userIDList": [bob.user_id, carol.user_id], "type": 2})
    assert code(ack) in ("BAD_REQUEST", "GROUP_TOO_LARGE")
    ack = await alice.request("invite", {"userIDList": [bob.user_id, bob.user_id], "type": 2,
                                         "group": True})
    assert code(ack) == "BAD_REQUEST"
    await no_event(bob, "invited", within=0.3)
    await no_event(carol, "invited", within=0)


# -- calls one is not part of ----------------------------------------------------------------------


async def test_requests_about_unknown_calls_are_call_not_found(srv, clients):
    alice = await clients(srv, "alice")
    bob = await clients(srv, "bob")
    for event, payload in [
        ("accept", {"callId": "no-such-call"}),
        ("reject", {"callId": "no-such-call"}),
        ("hangup", {"callId": "no-such-call"}),
        ("signal", {"callId": "no-such-call", "to": bob.user_id, "kind": "candidate",
                    "payload": None}),
        ("media_state", {"callId": "no-such-call", "audio": True}),
        ("switch_type", {"callId": "no-such-call", "type": 1}),
    ]:
        assert code(await alice.request(event, payload)) == "CALL_NOT_FOUND", event
    await no_event(bob, within=0.2)


async def test_outsider_cannot_touch_a_call(srv, clients):
    alice, bob, carol = (await clients(srv, "alice"), await clients(srv, "bob"),
                         await clients(srv, "carol"))
    call_id = await alice.call(bob.user_id)
    await bob.next_event("invited", callId=call_id)

    assert code(await carol.request("accept", {"callId": call_id})) == "NOT_INVITED"
    assert code(await carol.request("reject", {"callId": call_id})) == "NOT_INVITED"
    assert code(await carol.request("hangup", {"callId": call_id})) == "NOT_IN_CALL"
    assert code(await carol.request("media_state", {"callId": call_id, "audio": False})) \
        == "NOT_IN_CALL"
    assert code(await carol.request("switch_type", {"callId": call_id, "type": 1})) \
        == "NOT_IN_CALL"
    assert code(await carol.request("signal", {"callId": call_id, "to": alice.user_id,
                                               "kind": "candidate", "payload": None})) \
        == "NOT_IN_CALL"
    # the caller is a participant, not an invitee
    assert code(await alice.request("accept", {"callId": call_id})) == "NOT_INVITED"
    await no_event(alice, within=0.3)
    await no_event(bob, within=0)
    # the invitation still rings and can be accepted once, then not again
    assert (await bob.accept(call_id))["participants"] == [alice.user_id]
    assert code(await bob.request("accept", {"callId": call_id})) == "NOT_INVITED"
    assert code(await bob.request("reject", {"callId": call_id})) == "NOT_INVITED"
    await alice.next_event("user_enter", callId=call_id, userID=bob.user_id)


async def test_apps_are_isolated_even_with_the_same_user_ids(srv, clients):
    bob = await clients(srv, "bob")
    alice = await clients(srv, "alice")
    # the same ids exist in app "other": logging them in kicks nobody in demo (an agent there,
    # as app "other" lets no customer call directly)
    other_alice = await clients(srv, user_id=alice.user_id, app="other", role="agent")
    assert other_alice.hello_ack["appId"] == "other"
    await no_event(alice, "kicked_out", within=0.3)
    assert alice.connected

    call_id = await other_alice.call(bob.user_id)
    no_resp = await other_alice.next_event("no_resp", callId=call_id)
    assert no_resp["reason"] == "offline"
    await no_event(bob, within=0.3)
    # a demo call cannot be reached from app "other" by its id
    demo_call = await alice.call(bob.user_id)
    await bob.next_event("invited", callId=demo_call)
    for event, payload in [("accept", {"callId": demo_call}), ("hangup", {"callId": demo_call}),
                           ("signal", {"callId": demo_call, "to": alice.user_id,
                                       "kind": "candidate", "payload": None})]:
        assert code(await other_alice.request(event, payload)) == "CALL_NOT_FOUND", event
    await no_event(alice, within=0.3)
    # bob of demo never saw the other app's call as missed either
    await bob.close()
    bob_again = await clients(srv, user_id=bob.user_id)
    assert [m["callId"] for m in bob_again.hello_ack["missedCalls"]] == []


# -- rate limiting ---------------------------------------------------------------------------------


async def test_flood_is_rate_limited_and_connection_survives(server_factory, clients):
    server = server_factory(rate_limit="5/second")
    alice, bob = await clients(server, "alice"), await clients(server, "bob")
    await asyncio.sleep(1.1)  # let the logins' requests leave the window

    acks = await asyncio.gather(*(alice.request("media_state", {"callId": "nope", "audio": True})
                                  for _ in range(30)))
    codes = [code(a) for a in acks]
    assert codes.count("RATE_LIMITED") >= 20, codes
    assert set(codes) <= {"RATE_LIMITED", "CALL_NOT_FOUND"}, codes
    # a rate-limited invite starts nothing
    flood = await asyncio.gather(*(alice.request("invite", {"userIDList": [bob.user_id],
                                                            "type": 2}) for _ in range(10)))
    started = [a for a in flood if a.get("ok")]
    assert len(started) <= 1
    invitations = len(started)
    await asyncio.sleep(0.3)
    assert len(bob.pending("invited")) == invitations
    assert alice.connected and bob.connected
    await asyncio.sleep(1.1)
    assert (await alice.request("hello", {}))["ok"] is True
