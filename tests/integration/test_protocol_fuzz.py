"""Property-based fuzzing of the socket protocol against a real server (hypothesis).

Random and malformed payloads for every request of docs/protocol.md, sent by every role: fields
of the right names with values of any JSON type, binary attachments, NaN, lone surrogates,
reserved and unknown event names, and the ids of another app's users and calls. Whatever is
sent, the answer is an ack of the documented shape with a documented code, never INTERNAL; the
server logs no traceback; and the other app's users receive nothing.

Bounded (see FUZZ_EXAMPLES) so it adds well under a minute to the suite.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from contact_center_helpers import _start_server, agent, demo_extra, queue
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from signaling_helpers import unique

from callcenter.client.call_client import CallClient
from callcenter.domain import access
from callcenter.testing import protocol

PROTOCOL = Path(__file__).parents[2] / "docs" / "protocol.md"
FUZZ_EXAMPLES = 400
# A request the server does not answer fails at once rather than after shrinking through many
# more such waits (the falsifying example is printed either way).
ACK_TIMEOUT = 2.0
RESERVED = ["connect", "disconnect", "*", "connect_error", "message", "error", "ping"]

def documented_codes() -> set[str]:
    return set(re.findall(r"`([A-Z][A-Z_]{2,})`", PROTOCOL.read_text()))


class Tenants:
    """Clients of every role in app demo, and two users of app other who must hear nothing."""

    def __init__(self, server: Any) -> None:
        self.server = server
        self.loop = asyncio.new_event_loop()
        self.demo: dict[str, CallClient] = {}
        self.others: list[CallClient] = []
        self.other_ids: list[str] = []

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    async def login(self, app: str, user: str, role: str) -> CallClient:
        client = CallClient(self.server.url, app)
        await client.login(user, self.server.token(user, app=app, role=role))
        return client

    async def start(self) -> None:
        for role, user in (("customer", unique("fz")), ("agent", "fa"),
                           ("supervisor", unique("fs")), ("service", unique("fw"))):
            self.demo[role] = await self.login("demo", user, role)
        # app other: an agent calling a customer, so there is a live call id of theirs to aim at
        caller = await self.login("other", unique("oa"), "agent")
        callee = await self.login("other", unique("oc"), "customer")
        call_id = await caller.call(callee.user_id, timeout=0)
        await callee.next_event("invited", callId=call_id)
        await callee.accept(call_id)
        await caller.next_event("user_enter", callId=call_id)
        self.others = [caller, callee]
        self.other_ids = [caller.user_id, callee.user_id, call_id]
        for client in self.others:
            client.events.clear()

    async def client_for(self, role: str) -> CallClient:
        """The role's client, logged in again if a request logged it out."""
        client = self.demo[role]
        if not client.connected:
            user = client.user_id
            await client.close()
            client = self.demo[role] = await self.login("demo", user, role)
        return client

    async def close(self) -> None:
        for client in [*self.demo.values(), *self.others]:
            await client.close()


@pytest.fixture(scope="module")
def tenants(request, tmp_path_factory) -> Iterator[Tenants]:
    demo = demo_extra([queue("q")], [agent("fa", ["q"])])
    server = _start_server(request.config)(tmp_path_factory.mktemp("fuzz"), "", "10000/second",
                                           True, demo, None)
    world = Tenants(server)
    try:
        world.run(world.start())
        yield world
        world.run(world.close())
    finally:
        world.loop.close()
        server.stop()
    assert "Traceback" not in server.log(), server.log()[-5000:]


def json_values() -> st.SearchStrategy[Any]:
    scalars = (st.none() | st.booleans() | st.integers(min_value=-(2 ** 70), max_value=2 ** 70)
               | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=24)
               | st.binary(max_size=8) | st.just("\ud800"))
    return st.recursive(scalars, lambda inner: st.lists(inner, max_size=3)
                        | st.dictionaries(st.text(max_size=8), inner, max_size=3),
                        max_leaves=8)


def requests_strategy(other_ids: list[str]) -> st.SearchStrategy[tuple[str, str, Any]]:
    """(role, event, payload)."""
    ids = st.sampled_from(other_ids) | st.text(min_size=0, max_size=40)
    values = ids | json_values()

    def fields_of(event: str) -> st.SearchStrategy[dict[str, Any]]:
        keys = protocol.fields_of(event) + ["extra"]
        return st.dictionaries(st.sampled_from(keys), values, max_size=len(keys))

    # Mostly real requests, so that most examples get past the name and reach the domain.
    # (one_of would not do: it draws each branch alike, and merges equal ones)
    known = st.sampled_from(sorted(access.SOCKET))
    event = st.integers(min_value=0, max_value=9).flatmap(
        lambda n: st.text(max_size=30) if n == 0 else st.sampled_from(RESERVED) if n == 1
        else known)

    # Payloads of the right form, aimed at unknown and other-app ids: these reach the domain.
    types, call = st.integers(min_value=0, max_value=3), {"callId": ids}
    well_formed = {
        "invite": {"userIDList": st.lists(ids, min_size=1, max_size=3), "type": types},
        "accept": call, "reject": call, "hangup": call, "wrap_up": call,
        "signal": {**call, "to": ids, "kind": st.sampled_from(["offer", "answer", "candidate"]),
                   "payload": st.none()},
        "media_state": {**call, "audio": st.booleans()},
        "media_flow": {**call, "userID": ids, "flowing": st.booleans()},
        "switch_type": {**call, "type": types},
        "enqueue": {"queue": st.sampled_from(["q", "nope"]), "type": types},
        "rate": {**call, "rating": st.integers(min_value=0, max_value=6)},
        "agent_status": {"status": st.sampled_from(["available", "break", "offline", "away"])},
        "worker_hello": {"capacity": st.integers(min_value=0, max_value=20_000)},
        "job_update": {"jobId": ids, "state": st.sampled_from(["started", "done", "failed"])},
        "record_signal": {**call, "kind": st.sampled_from(["offer", "candidate"]),
                          "payload": st.none()},
        "hold": call, "unhold": call,
        "transfer": {**call, "toAgent": ids, "note": st.text(max_size=20)},
        "consult": {**call, "toAgent": ids}, "consult_cancel": call, "consult_complete": call,
        "conference": call,
        "callback": {**call, "contact": st.fixed_dictionaries(
            {"email": st.sampled_from(["a@b.example", "nope"])})},
        "monitor": {**call, "mode": st.sampled_from(["listen", "whisper", "barge", "spy"])},
        "monitor_stop": call,
    }

    def payload_for(name: str) -> st.SearchStrategy[Any]:
        if name not in protocol.REQUEST_MODELS:
            return json_values()
        formed = st.fixed_dictionaries(well_formed.get(name, {}))
        return st.integers(min_value=0, max_value=3).flatmap(
            lambda n: json_values() if n == 0 else fields_of(name) if n == 1 else formed)

    return st.tuples(st.sampled_from(["customer", "agent", "supervisor", "service"]),
                     event).flatmap(lambda pair: st.tuples(st.just(pair[0]), st.just(pair[1]),
                                                           payload_for(pair[1])))


def test_every_request_has_its_payload_model_for_the_fuzzer():
    assert set(protocol.REQUEST_MODELS) == set(access.SOCKET)


def test_every_request_gets_a_documented_answer_and_other_apps_hear_nothing(tenants):
    codes = documented_codes()
    seen: dict[str, int] = {}

    @settings(max_examples=FUZZ_EXAMPLES, deadline=None, database=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(requests_strategy(tenants.other_ids))
    def one(request: tuple[str, str, Any]) -> None:
        role, event, payload = request

        async def send() -> Any:
            client = await tenants.client_for(role)
            ack = await client.request(event, payload, timeout=ACK_TIMEOUT)
            if event == "logout" and isinstance(ack, dict) and ack.get("ok"):
                # The server closes a logged-out connection a moment after the ack.
                await client.wait_disconnected()
            return ack

        ack = tenants.run(send())
        assert isinstance(ack, dict) and isinstance(ack.get("ok"), bool), (request, ack)
        if not ack["ok"]:
            error = ack.get("error")
            assert isinstance(error, dict), (request, ack)
            assert isinstance(error.get("code"), str) and isinstance(error.get("message"), str)
            assert error["code"] != "INTERNAL", (request, ack)
            assert error["code"] in codes, f"{error['code']} is not in docs/protocol.md"
            seen[error["code"]] = seen.get(error["code"], 0) + 1
        else:
            seen["ok"] = seen.get("ok", 0) + 1

    one()
    tenants.run(asyncio.sleep(0.3))
    for client in tenants.others:
        assert client.events == [], [e.name for e in client.events]
    # the fuzz reached the domain, not only the shape checks
    assert seen.get("ok", 0) > 0 and len(seen) >= 6, seen
