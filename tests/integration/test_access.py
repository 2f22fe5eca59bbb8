"""The role × request table: docs/protocol.md and callcenter.domain.access agree, and every cell
holds against a real server (the HTTP cells are tried in test_http_access.py)."""

from __future__ import annotations

import pytest
from access_table import ROLES, documented_table
from contact_center_helpers import _start_server
from signaling_helpers import no_event, unique
from werkzeug.security import generate_password_hash

from callcenter.domain import access
from callcenter.domain.access import Scope
from callcenter.domain.credentials import Role

# A request of each kind, with ids nobody has: an allowed request gets past the table and is
# answered by the domain (ok, or CALL_NOT_FOUND and the like), a refused one gets FORBIDDEN.
PAYLOADS = {
    "hello": {},
    "invite": {"userIDList": ["nobody_here"], "type": 1},
    "accept": {"callId": "no-such-call"},
    "reject": {"callId": "no-such-call"},
    "hangup": {"callId": "no-such-call"},
    "signal": {"callId": "no-such-call", "to": "nobody_here", "kind": "candidate",
               "payload": None},
    "media_state": {"callId": "no-such-call", "audio": True},
    "media_flow": {"callId": "no-such-call", "userID": "nobody_here", "flowing": False},
    "switch_type": {"callId": "no-such-call", "type": 1},
    "enqueue": {"queue": "q", "type": 1},
    "rate": {"callId": "no-such-call", "rating": 5},
    "agent_status": {"status": "break", "reason": "lunch"},
    "agent_state": {},
    "wrap_up": {"callId": "no-such-call"},
    "supervisor_watch": {},
    "worker_hello": {"capacity": 1},
    "job_update": {"jobId": "no-such-job", "state": "done"},
    "record_signal": {"callId": "no-such-call", "kind": "candidate", "payload": None},
    "hold": {"callId": "no-such-call"},
    "unhold": {"callId": "no-such-call"},
    "transfer": {"callId": "no-such-call", "toQueue": "q"},
    "callback": {"callId": "no-such-call", "contact": {"email": "a@shop.example"}},
    "transfer_targets": {},
    "consult": {"callId": "no-such-call", "toAgent": "ag"},
    "consult_cancel": {"callId": "no-such-call"},
    "consult_complete": {"callId": "no-such-call"},
    "conference": {"callId": "no-such-call"},
    "monitor": {"callId": "no-such-call", "mode": "listen"},
    "monitor_stop": {"callId": "no-such-call"},
    "logout": {},  # last: it closes the connection
}

DEMO = f"""
[[apps.queues]]
name = "q"
when_empty = "join"
[[apps.agents]]
id = "ag"
password_hash = "{generate_password_hash("x")}"
queues = ["q"]
[[apps.supervisors]]
id = "sv"
password_hash = "{generate_password_hash("x")}"
"""


def test_the_documented_table_is_the_one_the_server_enforces():
    assert documented_table("### Socket requests", r"\w+") == access.SOCKET
    assert set(PAYLOADS) == set(access.SOCKET), "every request of the table is tried below"


@pytest.fixture(scope="module")
def desk(request, tmp_path_factory):
    start_server = _start_server(request.config)
    server = start_server(tmp_path_factory.mktemp("access"), demo_extra=DEMO)
    yield server
    server.stop()
    assert "Traceback" not in server.log(), server.log()


USERS = {Role.CUSTOMER: None, Role.AGENT: "ag", Role.SUPERVISOR: "sv", Role.SERVICE: None}


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.value)
async def test_every_socket_request_is_allowed_or_forbidden_as_the_table_says(desk, clients,
                                                                            role):
    client = await clients(desk, role.value, user_id=USERS[role] or unique(role.value),
                           role=role.value)
    for request, payload in PAYLOADS.items():
        ack = await client.request(request, payload)
        assert isinstance(ack, dict) and "ok" in ack, (request, ack)
        code = None if ack["ok"] else ack["error"]["code"]
        assert code != "INTERNAL", (request, ack)
        if access.SOCKET[request][role] is Scope.NONE:
            assert code == "FORBIDDEN", (request, role, ack)
        else:
            assert code != "FORBIDDEN", (request, role, ack)


async def test_a_forbidden_request_changes_nothing(desk, clients):
    agent = await clients(desk, role="agent", user_id="ag")
    before = (await agent.agent_state())["agent"]
    customer = await clients(desk, "cust")
    for request in ("agent_status", "wrap_up", "supervisor_watch", "worker_hello"):
        ack = await customer.request(request, PAYLOADS[request])
        assert ack["error"]["code"] == "FORBIDDEN"
    # what the customer asked for as an agent did not happen to the real agent either
    after = (await agent.agent_state())["agent"]
    assert (after["status"], after["reason"], after["state"]) == \
        (before["status"], before["reason"], before["state"])
    assert (await customer.request("hello", {}))["ok"] is True
    assert not agent.pending("offer")


async def test_customers_invite_only_where_the_app_allows_direct_calls(desk, clients):
    demo_customer = await clients(desk, "dc")  # demo: customer_direct_calls = true
    callee = await clients(desk, "callee")
    ack = await demo_customer.request("invite", {"userIDList": [callee.user_id], "type": 1})
    assert ack["ok"] is True
    await callee.next_event("invited", callId=ack["callId"])

    other_customer = await clients(desk, "oc", app="other")  # other: not allowed
    other_callee = await clients(desk, "ocallee", app="other", role="agent")
    ack = await other_customer.request("invite", {"userIDList": [other_callee.user_id],
                                                  "type": 1})
    assert ack["ok"] is False and ack["error"]["code"] == "FORBIDDEN"
    assert "queue" in ack["error"]["message"]
    await no_event(other_callee, "invited", within=0.3)
    # an agent of that app may still call the customer
    ack = await other_callee.request("invite", {"userIDList": [other_customer.user_id],
                                                "type": 1})
    assert ack["ok"] is True
    await other_customer.next_event("invited", callId=ack["callId"])
