"""Recording decisions and access through a real server (the media path is in test_recording)."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import requests
from signaling_helpers import no_event
from werkzeug.security import generate_password_hash

TEST_PLUGINS = Path(__file__).parents[1] / "sample_plugins"
HASH = generate_password_hash("pw")
DEMO = f"""
[[apps.queues]]
name = "rec"
when_empty = "join"
[[apps.queues]]
name = "plain"
when_empty = "join"
[[apps.agents]]
id = "ag"
password_hash = "{HASH}"
queues = ["rec", "plain"]
"""
# No child workers: these tests look at decisions, not media.
RECORDING = """
[recording]
workers = 0
[plugins]
enable = ["recording"{more}]
paths = ["{paths}"]
[plugins.settings.recording]
queues = ["rec"]
"""


def config(*more: str) -> str:
    names = "".join(f', "{m}"' for m in more)
    return RECORDING.format(more=names, paths=TEST_PLUGINS)


async def test_hook_callcenter_should_record(server_factory, clients):
    server = server_factory(config(), demo_extra=DEMO)
    recorded = await clients(server, "c1")
    assert (await recorded.enqueue("rec", 1))["recorded"] is True
    plain = await clients(server, "c2")
    assert (await plain.enqueue("plain", 1))["recorded"] is False


async def test_a_plugin_deciding_first_overrides_the_recording_plugin(server_factory, clients):
    server = server_factory(config("never_record"), demo_extra=DEMO)
    customer = await clients(server, "c3")
    assert (await customer.enqueue("rec", 1))["recorded"] is False


async def test_a_recorded_call_without_a_worker_goes_on_unrecorded(server_factory, clients):
    server = server_factory(config(), demo_extra=DEMO)
    agent = await clients(server, role="agent", user_id="ag")
    await agent.agent_status("available")
    customer = await clients(server, "c4")
    call_id = (await customer.enqueue("rec", 1))["callId"]
    await agent.next_event("offer", callId=call_id)
    await agent.accept(call_id)
    await customer.next_event("user_accept", callId=call_id)
    await no_event(customer, "record_start", within=0.3)
    await agent.hangup(call_id)
    await customer.next_event("call_end", callId=call_id)


def test_recordings_refuse_missing_and_foreign_credentials(server_factory):
    server = server_factory(config(), demo_extra=DEMO)
    url = server.url + "/api/recordings/nope"
    assert requests.get(url, timeout=5).status_code == 401
    customer = server.token("c5")
    assert requests.get(url, headers={"Authorization": f"Bearer {customer}"},
                        timeout=5).status_code == 403
    agent = server.token("ag", role="agent")
    response = requests.get(url + "/audio", headers={"Authorization": f"Bearer {agent}"},
                            timeout=5)
    assert response.status_code == 404 and response.json()["error"]["code"] == "NOT_FOUND"


async def test_worker_requests_need_a_service_credential(server_factory, clients):
    server = server_factory(config(), demo_extra=DEMO)
    agent = await clients(server, role="agent", user_id="ag")
    ack = await agent.request("worker_hello", {"capacity": 5})
    assert ack["error"]["code"] == "FORBIDDEN"
    service = await clients(server, role="service", user_id="media-x")
    for bad in ({"capacity": 0}, {"capacity": "5"}, {}):
        assert (await service.request("worker_hello", bad))["error"]["code"] == "BAD_REQUEST"
    ack = await service.request("job_update", {"jobId": "nope", "state": "done"})
    assert ack["error"]["code"] == "JOB_NOT_FOUND"
    ack = await agent.request("record_signal", {"callId": "x", "kind": "offer", "payload": None})
    assert ack["error"]["code"] == "NOT_RECORDED"


async def test_hook_callcenter_recording_ready(server_factory, clients, tmp_path):
    """With a child worker started by `callcenter serve` itself, a recorded call's closed file
    is announced to plugins with its index record."""
    out = tmp_path / "recorded.jsonl"
    extra = (f'[recording]\ndir = "{tmp_path / "rec"}"\nworkers = 1\n'
             f'[plugins]\nenable = ["recording", "recorder"]\npaths = ["{TEST_PLUGINS}"]\n'
             f'[plugins.settings.recording]\nqueues = ["rec"]\n'
             f'[plugins.settings.recorder]\npath = "{out}"\n')
    server = server_factory(extra, demo_extra=DEMO)
    deadline = time.monotonic() + 30
    while "ready for" not in server.log():
        assert time.monotonic() < deadline, server.log()
        await asyncio.sleep(0.2)
    agent = await clients(server, role="agent", user_id="ag")
    await agent.agent_status("available")
    customer = await clients(server, "c6")
    call_id = (await customer.enqueue("rec", 1))["callId"]
    await agent.next_event("offer", callId=call_id)
    await agent.accept(call_id)
    await customer.next_event("record_start", callId=call_id)
    await asyncio.sleep(1)
    await agent.hangup(call_id)
    ready = []
    while not ready:
        assert time.monotonic() < deadline + 30, server.log()
        await asyncio.sleep(0.2)
        ready = [json.loads(line) for line in out.read_text().splitlines()
                 if '"recording_ready"' in line]
    [record] = ready
    assert record["callId"] == call_id and record["channels"] == 2
    assert record["partial"] is False and 0.5 < record["duration"] < 5
    assert (tmp_path / "rec" / record["file"]).stat().st_size == record["size"]
