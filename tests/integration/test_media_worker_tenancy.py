"""Media workers belong to the app of their credential: a worker of app A never gets app B's
recording jobs, never reaches B's participants, and B's participants are never sent to it. A
worker the server declares shared (credential signed with `shared_worker_secret`) serves every
app. The workers here are protocol clients (CallClient with a service credential), enough to see
which jobs reach whom; recording real media is tests/integration/test_recording.py's."""

from __future__ import annotations

import asyncio

import pytest
from contact_center_helpers import (
    Desk,
    _start_server,
    _table,
    agent,
    connect,
    demo_extra,
    first_offer,
    queue,
)
from signaling_helpers import no_event, unique

from callcenter.client.call_client import CallClient
from callcenter.domain.credentials import SHARED, mint

SHARED_SECRET = "shared-worker-secret-0123456789abcdef0123"


def config(tmp_path) -> tuple[str, str]:
    """(extra, demo_extra): queue `q` with agent `da` in demo and `oa` in other, all recorded."""
    other = "\n\n".join([_table("[[apps.queues]]", queue("q")),
                         _table("[[apps.agents]]", agent("oa", ["q"]))])
    extra = other + f"""

[recording]
dir = "{tmp_path / "recordings"}"
workers = 0
shared_worker_secret = "{SHARED_SECRET}"

[plugins]
enable = ["recording"]

[plugins.settings.recording]
queues = ["q"]
"""
    return extra, demo_extra([queue("q")], [agent("da", ["q"])])


@pytest.fixture
def server(request, tmp_path):
    extra, demo = config(tmp_path)
    server = _start_server(request.config)(tmp_path, extra, "200/second", True, demo, None)
    yield server
    server.stop()
    assert "Traceback" not in server.log(), server.log()


async def worker(made: list[CallClient], server, app: str, name: str) -> CallClient:
    """A connection registered as a media worker of `app` (or of every app for SHARED)."""
    client = CallClient(server.url, app)
    made.append(client)
    if app == SHARED:
        token = mint(SHARED, SHARED_SECRET, name, "service", 600)
    else:
        token = server.token(name, app=app, role="service")
    await client.login(name, token)
    ack = await client.request("worker_hello", {"capacity": 10, "name": name})
    assert ack["ok"] is True, ack
    return client


async def answered_call(desk: Desk, app: str, agent_id: str) -> tuple[CallClient, CallClient,
                                                                       str]:
    """A recorded queue call of `app`, answered: (customer, agent, call id)."""
    agent_client = CallClient(desk.server.url, app)
    desk.made.append(agent_client)
    await agent_client.login(agent_id, desk.server.token(agent_id, app=app, role="agent"))
    await agent_client.agent_status("available")
    customer = await desk.customer("rec", app=app)
    ack = await customer.enqueue("q", 1)
    assert ack["recorded"] is True
    call_id = ack["callId"]
    await first_offer([agent_client], callId=call_id)
    await connect(agent_client, customer, call_id)
    return customer, agent_client, call_id


async def test_a_worker_gets_only_its_own_apps_jobs(server):
    made: list[CallClient] = []
    try:
        async with Desk(server) as desk:
            other_worker = await worker(made, server, "other", unique("wo"))
            customer, _, call_id = await answered_call(desk, "demo", "da")
            # no worker of demo: the call goes on unrecorded; other's worker saw nothing of it
            await no_event(other_worker, "record_start", within=0.5)
            await no_event(customer, "record_start", within=0.1)
            # ... and cannot reach demo's participants with a job id it makes up or overhears
            for job in ("no-such-job", call_id):
                ack = await other_worker.request("record_signal", {
                    "jobId": job, "to": customer.user_id, "kind": "candidate",
                    "payload": None})
                assert ack["error"]["code"] == "JOB_NOT_FOUND"
            await no_event(customer, "record_signal", within=0.3)

            # other's own call goes to other's worker, with other's legs only
            o_customer, o_agent, o_call = await answered_call(desk, "other", "oa")
            start = await other_worker.next_event("record_start", callId=o_call)
            assert start["appId"] == "other"
            assert {leg["userID"] for leg in start["legs"]} == {o_customer.user_id,
                                                                 o_agent.user_id}
            # demo's participants (still in their call) may not signal that job
            ack = await customer.request("record_signal", {"callId": o_call,
                                                           "kind": "candidate",
                                                           "payload": None})
            assert ack["error"]["code"] == "NOT_RECORDED"
            await no_event(other_worker, "record_signal", within=0.3)
    finally:
        await asyncio.gather(*(c.close() for c in made))


async def test_a_shared_worker_records_every_app(server):
    made: list[CallClient] = []
    try:
        async with Desk(server) as desk:
            shared = await worker(made, server, SHARED, unique("ws"))
            for app, agent_id in (("demo", "da"), ("other", "oa")):
                customer, _, call_id = await answered_call(desk, app, agent_id)
                start = await shared.next_event("record_start", callId=call_id)
                assert start["appId"] == app
                await customer.next_event("record_start", callId=call_id)
    finally:
        await asyncio.gather(*(c.close() for c in made))


async def test_a_shared_credential_is_only_for_media_workers(server):
    bad = [mint(SHARED, "not-the-shared-secret-0123456789abcdefgh", "w1", "service", 600),
           mint(SHARED, SHARED_SECRET, "w1", "agent", 600),
           mint(SHARED, SHARED_SECRET, "w1", "service", -30)]
    codes = []
    for token in bad:
        client = CallClient(server.url, SHARED)
        try:
            await client.login("w1", token)
        except Exception as exc:  # CallClientError with the connect_error code
            codes.append(getattr(exc, "code", repr(exc)))
        finally:
            await client.close()
    assert codes == ["AUTH_INVALID", "AUTH_MISMATCH", "AUTH_EXPIRED"]
