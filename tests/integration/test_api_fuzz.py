"""The REST API fuzzed from its own OpenAPI document (schemathesis) against a real server, with a
supervisor's credential and with an agent's: no answer is a server error, every answer's status,
content type and body match the document, and the server logs no traceback. Bounded (a few
examples per operation) so it adds seconds, not minutes, to the suite."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest
import requests
import schemathesis
from admin_helpers import ADMIN, supervisors_toml
from contact_center_helpers import (
    Desk,
    _start_server,
    agent,
    connect,
    demo_extra,
    enqueue,
    finish,
    first_offer,
    queue,
)
from hypothesis import HealthCheck, settings

# Under pytest-xdist, schemathesis' per-operation subtests (pytest 9's) pass without sending a
# request: scripts/test.sh runs this module in a pass of its own, without workers.
if os.environ.get("PYTEST_XDIST_WORKER"):
    pytest.skip("the API fuzz runs without pytest-xdist workers (-n 0): scripts/test.sh runs it "
                "after the rest", allow_module_level=True)

OPENAPI = Path(__file__).parents[2] / "callcenter" / "server" / "http" / "openapi.json"

schema = schemathesis.openapi.from_path(OPENAPI, config=schemathesis.Config.from_dict({
    # A schema-valid request may still be refused 400 for rules the document cannot state:
    # `from` after `to`, a window over 400 days or 1000 points, a cursor we did not issue, a link
    # path no endpoint takes links for; and the admin API's 409s (a duplicate id, a queue in
    # use, the last admin). Everything else of the check stands.
    "checks": {"positive_data_acceptance": {
        "expected-statuses": ["2xx", "400", "401", "403", "404", "409"]}},
}))

# derandomize: the same examples every run, so a failure in CI is one a developer can repeat.
FUZZ = settings(max_examples=15, deadline=None, derandomize=True,
                suppress_health_check=list(HealthCheck))


async def some_history(server) -> None:
    """An answered and an abandoned call, so the answers hold rows to check against the
    document, not only empty lists."""
    async with Desk(server) as desk:
        fa = await desk.agent("fa")
        customer, call_id, _ = await enqueue(desk, "fq", attributes={"name": "=1+2"})
        await first_offer([fa], callId=call_id)
        await connect(fa, customer, call_id)
        await finish(fa, customer, call_id)
        await desk.agent("fa", status="break")
        customer, call_id, _ = await enqueue(desk, "fq")
        await customer.hangup(call_id)


@pytest.fixture(scope="module")
def srv(request, tmp_path_factory):
    server = _start_server(request.config)(
        tmp_path_factory.mktemp("fuzz"), "", "1000/second", True,
        demo_extra([queue("fq")], [agent("fa", ["fq"])]) + "\n\n" + supervisors_toml())
    try:
        asyncio.run(some_history(server))
        deadline = time.monotonic() + 10
        headers = {"Authorization": f"Bearer {server.token('boss', role='supervisor')}"}
        while len(requests.get(server.url + "/api/calls", headers=headers,
                               timeout=5).json()["calls"]) < 2:
            assert time.monotonic() < deadline, server.log()[-3000:]
            time.sleep(0.1)
        yield server
    finally:
        server.stop()
    assert "Traceback" not in server.log(), server.log()


@schema.parametrize()
@FUZZ
def test_every_operation_answers_a_supervisor_as_its_schema_says(case, srv):
    token = srv.token("boss", role="supervisor")
    case.call_and_validate(base_url=srv.url, headers={"Authorization": f"Bearer {token}"})


@schema.parametrize()
@FUZZ
def test_every_operation_answers_an_agent_as_its_schema_says(case, srv):
    token = srv.token("fa", role="agent")
    case.call_and_validate(base_url=srv.url, headers={"Authorization": f"Bearer {token}"})


# The admin API as an admin: creating, changing and deleting whatever the fuzzer makes up. Last
# in the module, so that what it changes (it may delete agent fa) is seen by no other test.
@schema.include(path_regex="^/api/admin/").parametrize()
@FUZZ
def test_every_admin_operation_answers_an_admin_as_its_schema_says(case, srv):
    token = srv.token(ADMIN, role="supervisor")
    case.call_and_validate(base_url=srv.url, headers={"Authorization": f"Bearer {token}"})
