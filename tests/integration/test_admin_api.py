"""The admin API through a real server: every kind changed while it runs, each change in the
database and the audit log, bad input refused naming the field with nothing changed, and the
changes reaching calls at once without ending the calls going on."""

from __future__ import annotations

import asyncio
import time

import pytest
import requests
from admin_helpers import (
    ADMIN,
    NEW_PASSWORD,
    PLAIN_SUPERVISOR,
    admin,
    login,
    ok,
    refused,
    stored,
    supervisors_toml,
)
from contact_center_helpers import (
    PASSWORD,
    Desk,
    _start_server,
    agent,
    connect,
    demo_extra,
    enqueue,
    extra_toml,
    first_offer,
    queue,
)

from callcenter.client.call_client import CallClient, CallClientError

pytestmark = pytest.mark.timeout(90)

QUEUES = [queue("sales"), queue("support", overflow="sales")]
AGENTS = [agent("aa", ["sales"]), agent("ab", ["support"])]
OTHER_APP = "\n\n".join([
    "[[apps.queues]]", 'name = "zq"',
    "[[apps.agents]]", 'id = "zz"\npassword_hash = "x"\nqueues = ["zq"]',
    "[[apps.supervisors]]", 'id = "zroot"\npassword_hash = "x"\nadmin = true'])


@pytest.fixture(scope="module")
def srv(request, tmp_path_factory):
    """Agents aa (sales) and ab (support), the admin root and the supervisor boss; the other
    app has an agent zz, a queue zq and an admin zroot of its own."""
    server = _start_server(request.config)(
        tmp_path_factory.mktemp("admin"),
        extra_toml(contact_center={"enqueue_rate": "1000/minute"}) + "\n" + OTHER_APP,
        "500/second", True, demo_extra(QUEUES, AGENTS) + "\n\n" + supervisors_toml())
    try:
        yield server
    finally:
        server.stop()
    assert "Traceback" not in server.log(), server.log()


def items(server, kind: str) -> dict[str, dict]:
    key = {"queues": "name", "dispositions": "code", "break-reasons": "code"}.get(kind, "id")
    return {i[key]: i for i in ok(admin(server, "GET", kind))["items"]}


def audit(server, **params) -> list[dict]:
    return ok(admin(server, "GET", "audit", **params))["entries"]


# -- each kind, created, read, changed and deleted --------------------------------------------


def test_an_agent_created_over_the_api_signs_in_with_its_password_and_is_gone_once_deleted(srv):
    made = ok(admin(srv, "POST", "agents", {"id": "cleo", "name": "Cleo", "password": NEW_PASSWORD,
                                             "queues": ["sales"], "skills": {"en": 80}}), 201)
    assert made["item"] == {"id": "cleo", "name": "Cleo", "queues": ["sales"],
                            "skills": {"en": 80}}
    assert "password_hash" not in str(items(srv, "agents"))
    assert ok(admin(srv, "GET", "agents/cleo"))["item"]["name"] == "Cleo"
    signed_in = ok(login(srv, "cleo", NEW_PASSWORD))
    assert (signed_in["role"], signed_in["queues"]) == ("agent", ["sales"])

    changed = ok(admin(srv, "PATCH", "agents/cleo", {"queues": ["sales", "support"],
                                                     "password": "another-pass-77"}))
    assert changed["item"]["queues"] == ["sales", "support"]
    assert changed["item"]["skills"] == {"en": 80}  # PATCH keeps what it is not sent
    refused(login(srv, "cleo", NEW_PASSWORD), 401, "BAD_LOGIN")
    ok(login(srv, "cleo", "another-pass-77"))

    ok(admin(srv, "DELETE", "agents/cleo"))
    assert "cleo" not in items(srv, "agents")
    refused(admin(srv, "GET", "agents/cleo"), 404, "NOT_FOUND")
    refused(login(srv, "cleo", "another-pass-77"), 401, "BAD_LOGIN")


def test_a_supervisor_is_created_made_an_admin_and_deleted(srv):
    ok(admin(srv, "POST", "supervisors", {"id": "sam", "password": NEW_PASSWORD}), 201)
    assert ok(login(srv, "sam", NEW_PASSWORD))["admin"] is False
    refused(admin(srv, "GET", "agents", user="sam"), 403, "ADMIN_REQUIRED")
    ok(admin(srv, "PATCH", "supervisors/sam", {"admin": True, "name": "Sam"}))
    assert ok(login(srv, "sam", NEW_PASSWORD))["admin"] is True
    ok(admin(srv, "GET", "agents", user="sam"))
    ok(admin(srv, "DELETE", "supervisors/sam", user="sam"))
    refused(admin(srv, "GET", "agents", user="sam"), 403, "ADMIN_REQUIRED")
    assert set(items(srv, "supervisors")) == {ADMIN, PLAIN_SUPERVISOR}


EVERY_QUEUE_SETTING = {
    "strategy": "longest-idle", "queueing": "fifo", "ring_timeout": 7, "wrap_up": 3,
    "max_wait": 120, "max_length": 5, "when_empty": "join", "overflow": "sales",
    "required_skills": {"fr": 10}, "max_no_answer": 2, "reject_delay": 4, "wait_alert": 30,
    "hold_music": "/music/vip.wav", "transfer_fallback": "queue", "callback_after": 90,
    "callback_ring_timeout": 20, "callback_retry_delay": 300, "callback_attempts": 2}


def test_a_queue_takes_every_setting_and_its_members(srv):
    made = ok(admin(srv, "POST", "queues", {"name": "vip", **EVERY_QUEUE_SETTING,
                                            "members": ["aa"]}), 201)
    assert made["item"] == {"name": "vip", **EVERY_QUEUE_SETTING, "members": ["aa"]}
    assert items(srv, "agents")["aa"]["queues"] == ["sales", "vip"]
    ok(admin(srv, "PATCH", "queues/vip", {"members": ["ab"], "ring_timeout": 9}))
    listed = items(srv, "queues")["vip"]
    assert (listed["members"], listed["ring_timeout"], listed["wrap_up"]) == (["ab"], 9, 3)
    assert items(srv, "agents")["aa"]["queues"] == ["sales"]
    ok(admin(srv, "DELETE", "queues/vip"))  # its members stop serving it
    assert "vip" not in items(srv, "queues")
    assert items(srv, "agents")["ab"]["queues"] == ["support"]


@pytest.mark.parametrize("kind", ["dispositions", "break-reasons"])
def test_dispositions_and_break_reasons_are_added_relabelled_and_removed(srv, kind):
    ok(admin(srv, "POST", kind, {"code": "callback", "label": "Call back"}), 201)
    ok(admin(srv, "PATCH", f"{kind}/callback", {"label": "Call them back"}))
    key = "dispositions" if kind == "dispositions" else "breakReasons"
    assert {"code": "callback", "label": "Call them back"} in ok(login(srv, "aa", PASSWORD))[key]
    ok(admin(srv, "DELETE", f"{kind}/callback"))
    assert "callback" not in items(srv, kind)


def test_every_change_is_in_the_audit_log_with_who_when_before_and_after(srv):
    started = time.time()
    ok(admin(srv, "POST", "agents", {"id": "dora", "password": NEW_PASSWORD}), 201)
    ok(admin(srv, "PATCH", "agents/dora", {"name": "Dora", "password": "changed-pass-99"}))
    ok(admin(srv, "DELETE", "agents/dora"))
    entries = audit(srv, target="dora")
    assert [(e["action"], e["kind"], e["actor"]) for e in entries] == [
        ("delete", "agents", ADMIN), ("update", "agents", ADMIN), ("create", "agents", ADMIN)]
    deleted, updated, created = entries
    assert created["before"] is None and created["after"]["id"] == "dora"
    assert updated["before"]["name"] == "" and updated["after"]["name"] == "Dora"
    # passwords: whether one is set or was changed, never a hash
    assert (created["after"]["password"], updated["after"]["password"]) == \
        ("(hidden)", "(changed)")
    assert "scrypt" not in str(entries)
    assert deleted["before"]["name"] == "Dora" and deleted["after"] is None
    assert all(started - 1 <= e["at"] <= time.time() + 1 for e in entries)
    assert deleted["revision"] == updated["revision"] + 1 == created["revision"] + 2
    assert stored(srv)[0] == deleted["revision"]
    page = audit(srv, limit=1)
    older = ok(admin(srv, "GET", "audit", limit=1, before=page[0]["id"]))["entries"]
    assert older[0]["id"] < page[0]["id"]


# -- bad input: a clear error naming the field, and nothing changed ---------------------------

BAD = [
    ("unknown queue", "POST", "agents", {"id": "ed", "password": NEW_PASSWORD,
                                         "queues": ["nope"]},
     400, "INVALID_SETTING", "agents[ed].queues: no queue named 'nope'", "queues"),
    ("duplicate agent id", "POST", "agents", {"id": "aa", "password": NEW_PASSWORD},
     409, "DUPLICATE_ID", "id: agent 'aa' exists already", "id"),
    ("an agent with a supervisor's id", "POST", "agents", {"id": "boss", "password": NEW_PASSWORD},
     409, "DUPLICATE_ID", "id: 'boss' is a supervisor's id", "id"),
    ("weak password", "POST", "agents", {"id": "ed", "password": "short"},
     400, "WEAK_PASSWORD", "password: at least 10 characters", "password"),
    ("password containing the id", "PATCH", "agents/aa", {"password": "my-aa-secret-words"},
     400, "WEAK_PASSWORD", "password: must not contain the id or the name", "password"),
    ("no password", "POST", "supervisors", {"id": "ed"},
     400, "INVALID_SETTING", "password: required", "password"),
    ("a hash sent in place of a password", "PATCH", "agents/aa", {"password_hash": "x"},
     400, "INVALID_SETTING", "password_hash: unknown key; send password", "password_hash"),
    ("unknown key", "PATCH", "queues/sales", {"ring_timeoutt": 3},
     400, "INVALID_SETTING", "ring_timeoutt: unknown key", "ring_timeoutt"),
    ("a setting out of range", "PATCH", "queues/sales", {"ring_timeout": 0},
     400, "INVALID_SETTING", "ring_timeout: Input should be greater than or equal to 1",
     "ring_timeout"),
    ("a strategy no plugin provides", "PATCH", "queues/sales", {"strategy": "psychic"},
     400, "INVALID_SETTING", "strategy: no loaded plugin provides 'psychic'", "strategy"),
    ("overflow to an unknown queue", "PATCH", "queues/sales", {"overflow": "nowhere"},
     400, "INVALID_SETTING", "queues[sales].overflow: no other queue named 'nowhere'",
     "overflow"),
    ("a member who is no agent", "PATCH", "queues/sales", {"members": ["aa", "ghost"]},
     400, "INVALID_SETTING", "members[1]: no agent 'ghost'", "members[1]"),
    ("renaming", "PATCH", "queues/sales", {"name": "sold"},
     400, "INVALID_SETTING", "name: a queue's name cannot be changed", "name"),
    ("deleting a queue another overflows to", "DELETE", "queues/sales", None,
     409, "QUEUE_IN_USE", "name: queue 'support' overflows to 'sales'", "name"),
    ("the last admin", "PATCH", f"supervisors/{ADMIN}", {"admin": False},
     409, "LAST_ADMIN", "admin: this is the app's last admin", "admin"),
    ("duplicate disposition", "POST", "dispositions", {"code": "resolved", "label": "Again"},
     409, "DUPLICATE_ID", "code: disposition 'resolved' exists already", "code"),
    ("not an object", "POST", "break-reasons", ["nap"],
     400, "BAD_REQUEST", "send a JSON object", ""),
    ("another app's agent", "PATCH", "agents/zz", {"name": "Mine now"},
     404, "NOT_FOUND", "no agent 'zz'", None),
    ("another app's queue", "DELETE", "queues/zq", None,
     404, "NOT_FOUND", "no queue 'zq'", None),
]


@pytest.mark.parametrize("what, method, path, body, status, code, message, field", BAD,
                         ids=[b[0] for b in BAD])
def test_bad_input_is_refused_naming_the_field_and_changes_nothing(
        srv, what, method, path, body, status, code, message, field):
    before = stored(srv)
    listed = {kind: items(srv, kind) for kind in ("agents", "queues", "supervisors")}
    error = refused(admin(srv, method, path, body), status, code)
    assert error["message"].startswith(message), error
    if field is not None:
        assert error["field"] == field, error
    assert stored(srv) == before  # the settings, their revision and the audit log
    assert {kind: items(srv, kind) for kind in listed} == listed
    assert ok(admin(srv, "GET", "agents", user="zroot", app="other"))["items"][0]["name"] == ""


@pytest.mark.parametrize("user, role, app", [
    ("aa", "agent", "demo"), (PLAIN_SUPERVISOR, "supervisor", "demo"),
    ("media", "service", "demo"), ("c1", "customer", "demo"),
    ("unlisted", "supervisor", "demo"),  # a supervisor credential for nobody configured
], ids=["agent", "plain supervisor", "service", "customer", "unknown supervisor"])
def test_anyone_but_an_admin_is_refused_with_admin_required(srv, user, role, app):
    before = stored(srv)
    for method, path, body in (("GET", "agents", None), ("GET", "audit", None),
                               ("POST", "agents", {"id": "eve", "password": NEW_PASSWORD}),
                               ("DELETE", "queues/sales", None)):
        refused(admin(srv, method, path, body, user=user, role=role, app=app), 403,
                "ADMIN_REQUIRED")
    assert stored(srv) == before


def test_another_apps_admin_sees_and_changes_only_its_own_app(srv):
    theirs = ok(admin(srv, "GET", "agents", user="zroot", app="other"))["items"]
    assert [a["id"] for a in theirs] == ["zz"]
    refused(admin(srv, "PATCH", "agents/aa", {"name": "x"}, user="zroot", app="other"), 404,
            "NOT_FOUND")
    assert all(e["target"] != "aa" for e in audit(srv))


def test_no_credential_is_401(srv):
    response = requests.get(srv.url + "/api/admin/agents", timeout=10)
    refused(response, 401, "AUTH_REQUIRED")


# -- the changes reach calls at once ----------------------------------------------------------


def test_an_agent_added_while_the_server_runs_logs_in_and_is_offered_a_queue_call(srv):
    ok(admin(srv, "POST", "queues", {"name": "fresh", "when_empty": "join", "wrap_up": 0}), 201)
    ok(admin(srv, "POST", "agents", {"id": "newbie", "password": NEW_PASSWORD,
                                     "queues": ["fresh"]}), 201)
    credential = ok(login(srv, "newbie", NEW_PASSWORD))

    async def drive() -> None:
        async with Desk(srv) as desk:
            newbie = CallClient(srv.url, "demo")
            desk.made.append(newbie)
            await newbie.login("newbie", credential["userSig"])
            await newbie.agent_status("available")
            customer, call_id, _ = await enqueue(desk, "fresh")
            await first_offer([newbie], callId=call_id)
            await connect(newbie, customer, call_id)
            await customer.hangup(call_id)
    asyncio.run(drive())


def test_a_queue_setting_changed_applies_to_the_next_call(srv):
    ok(admin(srv, "POST", "queues", {"name": "capped", "when_empty": "join"}), 201)

    async def drive() -> None:
        async with Desk(srv) as desk:
            await enqueue(desk, "capped", "first")
            await enqueue(desk, "capped", "second")  # max_length 100: room
            ok(admin(srv, "PATCH", "queues/capped", {"max_length": 2}))
            customer = await desk.customer("third")
            with pytest.raises(CallClientError) as refusal:
                await customer.enqueue("capped", 1)
            assert refusal.value.code == "QUEUE_FULL"
            # and a queue with calls waiting is not deleted
            error = refused(admin(srv, "DELETE", "queues/capped"), 409, "QUEUE_IN_USE")
            assert error["message"].startswith("name: queue 'capped' has 2 call(s)"), error
    asyncio.run(drive())


def test_a_call_goes_on_through_changes_to_its_agent_and_queue_and_the_removed_agent_is_out_after(
        srv):
    ok(admin(srv, "POST", "queues", {"name": "steady", "when_empty": "join", "wrap_up": 0}), 201)
    ok(admin(srv, "POST", "agents", {"id": "stay", "password": NEW_PASSWORD,
                                     "queues": ["steady"]}), 201)

    async def drive() -> None:
        async with Desk(srv) as desk:
            stay = await desk.agent("stay")
            customer, call_id, _ = await enqueue(desk, "steady")
            await first_offer([stay], callId=call_id)
            await connect(stay, customer, call_id)
            ok(admin(srv, "PATCH", "agents/stay", {"name": "Stays", "skills": {"de": 50}}))
            ok(admin(srv, "PATCH", "queues/steady", {"ring_timeout": 5, "wrap_up": 2}))
            ok(admin(srv, "DELETE", "agents/stay"))
            # still in the call: signaling between the two goes on, and it ends as usual
            await stay.signal(call_id, customer.user_id, "offer", {"type": "offer", "sdp": "v=0"})
            await customer.next_event("signal", callId=call_id, kind="offer")
            live = ok(admin(srv, "GET", "queues/steady"))
            assert live["item"]["ring_timeout"] == 5
            await customer.hangup(call_id)
            await stay.next_event("call_end", callId=call_id)
            # then out: no agent any more, and the next sign-in is refused
            deadline = time.monotonic() + 5
            while any(a["agentId"] == "stay" for a in live_agents(srv)):
                assert time.monotonic() < deadline, live_agents(srv)
                await asyncio.sleep(0.2)
            refused(login(srv, "stay", NEW_PASSWORD), 401, "BAD_LOGIN")
    asyncio.run(drive())


def live_agents(server) -> list[dict]:
    token = server.token(ADMIN, role="supervisor")
    return requests.get(server.url + "/api/live", timeout=10,
                        headers={"Authorization": f"Bearer {token}"}).json()["agents"]
