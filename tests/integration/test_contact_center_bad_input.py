"""Bad and hostile input to the contact center (docs/protocol.md "Contact center"): floods, unknown
queues, malformed attributes, requests from the wrong role or app, offers taken by someone else,
forged priority, and the HTTP routes' refusals. Each refused request changes nothing.
"""

from __future__ import annotations

import asyncio

import pytest
import requests
from contact_center_helpers import (
    ORIGIN,
    PASSWORD,
    Desk,
    agent,
    connect,
    demo_extra,
    enqueue,
    error_code,
    extra_toml,
    finish,
    first_offer,
    queue,
    serve,
)
from signaling_helpers import no_event

from callcenter.client.call_client import CallClient

QUEUES = [
    queue("bq"),
    queue("na"),
    queue("bp", queueing="priority"),
    queue("wr", wrap_up=30),
]
AGENTS = [
    agent("bq1", ["bq"]),
    agent("na1", ["na"]), agent("na2", ["na"]),
    agent("bp1", ["bp"]),
    agent("wr1", ["wr"]),
]


@pytest.fixture(scope="module")
def srv(request, tmp_path_factory):
    # enqueue_rate stays at its default of 5/minute per customer
    yield from serve(request, tmp_path_factory.mktemp("cc-bad"), queues=QUEUES, agents=AGENTS,
                     app_keys={"allowed_origins": [ORIGIN]}, enable=["priority"])


@pytest.fixture
async def desk(srv):
    async with Desk(srv) as desk:
        yield desk


async def post(url: str, body, headers=None) -> requests.Response:
    return await asyncio.to_thread(requests.post, url, json=body, headers=headers or {},
                                   timeout=5)


# -- enqueue ---------------------------------------------------------------------------------------


async def test_enqueue_flood_is_rate_limited_per_customer(desk):
    customer = await desk.customer("flood")
    for _ in range(5):  # enqueue_rate default: 5/minute
        ack = await customer.enqueue("bq")
        await customer.hangup(ack["callId"])
    ack = await customer.request("enqueue", {"queue": "bq", "type": 2})
    assert error_code(ack) == "RATE_LIMITED"
    # the refused request changed nothing: the customer is in no call, others may still enqueue
    assert error_code(await customer.request("hangup", {"callId": "x"})) in {
        "CALL_NOT_FOUND", "NOT_IN_CALL"}
    other = await desk.customer("calm")
    await other.enqueue("bq")


async def test_enqueue_into_an_unknown_queue_is_refused(desk):
    customer = await desk.customer()
    for name in ("nope", "BQ", "", "bq "):
        ack = await customer.request("enqueue", {"queue": name, "type": 2})
        assert error_code(ack) == "UNKNOWN_QUEUE", name


@pytest.mark.parametrize("payload", [
    {"type": 2},
    {"queue": "bq"},
    {"queue": 5, "type": 2},
    {"queue": "bq", "type": "2"},
    {"queue": "bq", "type": 2, "prio": 5},
    {"queue": "bq", "type": 2, "attributes": ["name", "x"]},
    {"queue": "bq", "type": 2, "attributes": "name=x"},
    {"queue": "bq", "type": 2, "attributes": {f"k{i}": "v" for i in range(17)}},
    {"queue": "bq", "type": 2, "attributes": {"k" * 33: "v"}},
    {"queue": "bq", "type": 2, "attributes": {"name": "v" * 257}},
    {"queue": "bq", "type": 2, "attributes": {"age": 42}},
    {"queue": "bq", "type": 2, "attributes": {"vip": True}},
    {"queue": "bq", "type": 2, "attributes": {"name": None}},
    {"queue": "bq", "type": 2, "attributes": {"name": {"first": "Ann"}}},
    {"queue": "bq", "type": 2, "attributes": {"tags": ["a", "b"]}},
], ids=["no-queue", "no-type", "queue-int", "type-str", "unknown-key", "attrs-list", "attrs-str",
        "17-attrs", "key-33", "value-257", "value-int", "value-bool", "value-null", "value-dict",
        "value-list"])
async def test_malformed_enqueue_is_bad_request_and_changes_nothing(desk, payload):
    customer = await desk.customer()
    ack = await customer.request("enqueue", payload)
    assert error_code(ack) == "BAD_REQUEST", ack
    ok = await customer.enqueue("bq")  # not in a call: the refused request left no trace
    assert ok["position"] >= 1


async def test_enqueue_with_a_wrong_call_type_is_refused(desk):
    customer = await desk.customer()
    for call_type in (0, 3, -1):
        ack = await customer.request("enqueue", {"queue": "bq", "type": call_type})
        assert error_code(ack) in {"BAD_REQUEST", "BAD_CALL_TYPE"}, ack


async def test_attributes_at_their_limits_are_accepted(desk, srv):
    bq1 = await desk.agent("bq1")
    attributes = {f"k{i:02d}" + "x" * 29: "v" * 256 for i in range(16)}
    assert all(len(k) == 32 for k in attributes)
    customer, call_id, _ = await enqueue(desk, "bq", attributes=attributes)
    offer = await bq1.next_event("offer", callId=call_id)
    assert offer["customer"]["attributes"] == attributes


async def test_second_enqueue_while_waiting_is_already_in_call(desk):
    customer = await desk.customer()
    first = await customer.enqueue("bq")
    ack = await customer.request("enqueue", {"queue": "bq", "type": 2})
    assert error_code(ack) == "ALREADY_IN_CALL"
    await customer.hangup(first["callId"])


async def test_customer_of_another_app_cannot_enqueue_into_demos_queue(desk):
    outsider = await desk.customer("outsider", app="other")
    ack = await outsider.request("enqueue", {"queue": "bq", "type": 2})
    assert error_code(ack) == "UNKNOWN_QUEUE"


async def test_customer_cannot_forge_priority_with_an_attribute(desk):
    bp1 = await desk.agent("bp1", "break")
    honest, honest_id, _ = await enqueue(desk, "bp", "honest")
    forger, forger_id, ack = await enqueue(desk, "bp", "forger",
                                           attributes={"priority": "99", "verified": "yes"})
    assert ack["position"] == 2
    await bp1.agent_status("available")
    first = await bp1.next_event("offer")
    assert first["callId"] == honest_id
    await connect(bp1, honest, honest_id)
    await finish(bp1, honest, honest_id, wait_idle=False)
    second = await bp1.next_event("offer", callId=forger_id)
    assert "priority" not in (second["customer"]["verified"] or {})


# -- roles -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("event,payload", [
    ("agent_status", {"status": "available"}),
    ("agent_state", {}),
    ("wrap_up", {"callId": "x"}),
])
async def test_agent_requests_from_a_customer_are_forbidden(desk, event, payload):
    customer = await desk.customer()
    assert error_code(await customer.request(event, payload)) == "FORBIDDEN"
    # not even a customer credential for a user id that is an agent's
    impostor = await desk.customer(user_id="na2")
    assert error_code(await impostor.request(event, payload)) == "FORBIDDEN"


async def test_agent_requests_from_an_agent_role_user_who_is_no_agent_are_forbidden(desk, srv):
    ghost = await desk.agent("ghost", status=None)
    assert error_code(await ghost.request("agent_status", {"status": "available"})) == "FORBIDDEN"
    assert error_code(await ghost.request("agent_state", {})) == "FORBIDDEN"


async def test_customer_requests_from_an_agent_are_forbidden(desk):
    na1 = await desk.agent("na1", "break")
    assert error_code(await na1.request("enqueue", {"queue": "na", "type": 2})) == "FORBIDDEN"
    assert error_code(await na1.request("rate", {"callId": "x", "rating": 5})) == "FORBIDDEN"


async def test_agent_of_another_app_is_no_agent_of_demo(desk, srv):
    other = CallClient(srv.url, "other")
    desk.made.append(other)
    await other.login("na1", srv.token("na1", app="other", role="agent"))
    assert error_code(await other.request("agent_status", {"status": "available"})) == "FORBIDDEN"


# -- agent requests --------------------------------------------------------------------------------


async def test_agent_accepting_a_call_offered_to_someone_else_is_not_invited(desk):
    na1, na2 = await desk.agents("na1", "na2")
    customer, call_id, _ = await enqueue(desk, "na")
    offered, _ = await first_offer([na1, na2], callId=call_id)
    intruder = na2 if offered is na1 else na1
    assert error_code(await intruder.request("accept", {"callId": call_id})) == "NOT_INVITED"
    assert error_code(await intruder.request("reject", {"callId": call_id})) == "NOT_INVITED"
    # nothing changed: the offered agent still takes the call
    await connect(offered, customer, call_id)
    await no_event(customer, "user_accept", within=0.2, userID=intruder.user_id)


@pytest.mark.parametrize("payload", [
    {},
    {"status": "lunch"},
    {"status": "AVAILABLE"},
    {"status": 1},
    {"status": "break", "reason": "r" * 33},
    {"status": "break", "reason": 5},
    {"status": "available", "mood": "good"},
], ids=["empty", "unknown-status", "upper-case", "status-int", "reason-33", "reason-int",
        "unknown-key"])
async def test_malformed_agent_status_is_bad_request(desk, payload):
    bq1 = await desk.agent("bq1", "break", "training")
    assert error_code(await bq1.request("agent_status", payload)) == "BAD_REQUEST"
    snapshot = (await bq1.agent_state())["agent"]
    assert (snapshot["status"], snapshot["reason"]) == ("break", "training")


async def test_malformed_agent_state_is_bad_request(desk):
    bq1 = await desk.agent("bq1", "break")
    assert error_code(await bq1.request("agent_state", {"all": True})) == "BAD_REQUEST"


async def test_wrap_up_is_refused_outside_wrap_up_and_when_malformed(desk):
    wr1 = await desk.agent("wr1")
    assert error_code(await wr1.request("wrap_up", {"callId": "nope"})) == "NOT_IN_WRAP_UP"
    customer, call_id, _ = await enqueue(desk, "wr")
    await wr1.next_event("offer", callId=call_id)
    assert error_code(await wr1.request("wrap_up", {"callId": call_id})) == "NOT_IN_WRAP_UP"
    await connect(wr1, customer, call_id)
    assert error_code(await wr1.request("wrap_up", {"callId": call_id})) == "NOT_IN_WRAP_UP"
    await finish(wr1, customer, call_id, wait_idle=False)
    for payload in ({"callId": call_id, "disposition": "d" * 65},
                    {"callId": call_id, "notes": "n" * 2001},
                    {"callId": call_id, "disposition": 5},
                    {"callId": call_id, "notes": ["a"]},
                    {"callId": call_id, "extra": 1},
                    {}):
        assert error_code(await wr1.request("wrap_up", payload)) == "BAD_REQUEST", payload
    # still wrapping up that call: the limits themselves are fine
    ack = await wr1.wrap_up(call_id, disposition="d" * 64, notes="n" * 2000)
    assert ack["ok"] is True
    assert error_code(await wr1.request("wrap_up", {"callId": call_id})) == "NOT_IN_WRAP_UP"


# -- rating ----------------------------------------------------------------------------------------


async def test_bad_ratings_are_refused_and_a_good_one_still_counts(desk):
    bq1 = await desk.agent("bq1")
    customer, call_id, _ = await enqueue(desk, "bq")
    await bq1.next_event("offer", callId=call_id)
    await connect(bq1, customer, call_id)
    # not ended yet: no rating
    assert error_code(await customer.request("rate", {"callId": call_id, "rating": 5})) in {
        "CALL_NOT_FOUND", "BAD_RATING"}
    await finish(bq1, customer, call_id)
    for rating in (0, 6, -1):
        ack = await customer.request("rate", {"callId": call_id, "rating": rating})
        assert error_code(ack) == "BAD_RATING", rating
    for rating in ("5", 4.5, None, True):
        ack = await customer.request("rate", {"callId": call_id, "rating": rating})
        assert error_code(ack) == "BAD_REQUEST", rating
    assert error_code(await customer.request("rate", {"callId": call_id})) == "BAD_REQUEST"
    # someone else cannot rate the call
    stranger = await desk.customer("stranger")
    ack = await stranger.request("rate", {"callId": call_id, "rating": 1})
    assert error_code(ack) == "CALL_NOT_FOUND"
    assert error_code(await customer.request("rate", {"callId": "nope", "rating": 3})) == (
        "CALL_NOT_FOUND")
    # none of this used up the customer's one rating
    await customer.rate(call_id, 5)
    assert (await bq1.agent_state())["callsToday"][0]["rating"] == 5


# -- HTTP ------------------------------------------------------------------------------------------


async def test_customer_credential_refuses_an_origin_not_allowed(srv):
    url = srv.url + "/api/customer-credential"
    for headers in ({"Origin": "https://evil.example"}, {"Origin": ORIGIN + ".evil.example"},
                    {"Origin": "http://shop.example"}, {}):
        response = await post(url, {"appId": "demo"}, headers)
        assert response.status_code == 403, (headers, response.text)
        assert response.json()["error"]["code"] == "FORBIDDEN_ORIGIN"
    # the other app allows no origin at all
    response = await post(url, {"appId": "other"}, {"Origin": ORIGIN})
    assert response.status_code == 403 and response.json()["error"]["code"] == "FORBIDDEN_ORIGIN"


async def test_agent_login_with_a_wrong_password_or_unknown_agent_is_bad_login(srv):
    url = srv.url + "/api/agent-login"
    wrong = await post(url, {"appId": "demo", "agentId": "bq1", "password": "guess"})
    unknown = await post(url, {"appId": "demo", "agentId": "nobody", "password": PASSWORD})
    other_app = await post(url, {"appId": "other", "agentId": "bq1", "password": PASSWORD})
    for response in (wrong, unknown, other_app):
        assert response.status_code == 401, response.text
        assert response.json()["error"]["code"] == "BAD_LOGIN"
    # the same answer whichever was wrong (no probing for agent ids)
    assert wrong.json() == unknown.json() == other_app.json()


async def test_http_routes_are_rate_limited_per_client_address(server_factory):
    server = server_factory(
        demo_extra=demo_extra([queue("q")], [agent("a1", ["q"])],
                              allowed_origins=[ORIGIN]),
        extra=extra_toml(contact_center={"customer_credential_rate": "3/minute",
                                         "agent_login_rate": "3/minute"}))
    credential = server.url + "/api/customer-credential"
    statuses = [(await post(credential, {"appId": "demo"}, {"Origin": ORIGIN})).status_code
                for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    limited = await post(credential, {"appId": "demo"}, {"Origin": ORIGIN})
    assert limited.json()["error"]["code"] == "RATE_LIMITED"

    # logins: only failures count (test_http_hardening.py has the rest)
    login = server.url + "/api/agent-login"
    body = {"appId": "demo", "agentId": "a1", "password": "wrong"}
    statuses = [(await post(login, body)).status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429]
