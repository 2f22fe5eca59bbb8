"""The HTTP half of the role × request table (callcenter.domain.access.HTTP): docs/protocol.md, the
OpenAPI document and the module agree, and every cell holds against a real server, for the
caller's own app and for another app's ids (the socket half is test_access.py).

The server records queue `rq` of both apps. The media worker is played by this test over the
worker protocol (worker_hello, record_start, record_stop, job_update): it writes a short silent
recording (Ogg Opus, with the worker's own writer) where the core says and reports it done, so
real index records exist without real media.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from access_table import CELLS, ROLES, documented_table
from contact_center_helpers import _start_server, agent, demo_extra, first_offer, queue, until_agent
from signaling_helpers import unique

from callcenter.client.call_client import AUDIO_CALL, CallClient
from callcenter.domain import access
from callcenter.domain.access import Scope
from callcenter.domain.credentials import Role
from callcenter.media.ogg import OggOpusWriter
from callcenter.media.opus import SILENCE, SILENCE_DELIMITED

pytestmark = pytest.mark.timeout(120)

ROOT = Path(__file__).parents[2]

# The other app's data has names found nowhere else, so an answer that leaks any is caught.
OTHER_AGENT, OTHER_QUEUE, OTHER_CUSTOMER_NAME = "zz_other_agent", "zz_other_queue", "ZzOtherName"
OTHER_APP = "\n\n".join([  # appended after the base config: these tables go to app "other"
    "[[apps.queues]]", f'name = "{OTHER_QUEUE}"\nwhen_empty = "join"\nwrap_up = 0',
    "[[apps.agents]]", f'id = "{OTHER_AGENT}"\npassword_hash = "x"\nqueues = ["{OTHER_QUEUE}"]'])


def recording_toml(folder: Path) -> str:
    return (f'[recording]\ndir = "{folder}"\nworkers = 0\n\n'
            f'[plugins]\nenable = ["recording"]\n\n'
            f'[plugins.settings.recording]\nqueues = ["rq", "{OTHER_QUEUE}"]\n')


def test_the_documented_http_table_is_the_one_the_server_enforces():
    assert documented_table("### HTTP endpoints", r"(?:GET|POST) /api/\S+") == access.HTTP


def test_every_operation_of_the_openapi_document_carries_its_row_of_the_table():
    spec = json.loads((ROOT / "callcenter" / "server" / "http" / "openapi.json").read_text())
    documented = {}
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if "x-roles" in operation:
                documented[f"{method.upper()} {path}"] = {
                    Role(role): CELLS[cell] for role, cell in operation["x-roles"].items()}
                assert operation["description"].startswith("Who:"), (method, path)
    assert documented == access.HTTP


# -- the world: one recorded call in each app -----------------------------------------------------


@dataclass
class World:
    server: Any
    call: str            # the demo app's recorded call, answered by agent "ag1"
    customer: str        # its customer
    other_call: str      # the other app's recorded call
    other_customer: str

    def markers(self) -> tuple[str, ...]:
        """What of the other app must never appear in an answer to the demo app's users."""
        return (self.other_call, self.other_customer, OTHER_AGENT, OTHER_QUEUE,
                OTHER_CUSTOMER_NAME)


class FakeWorker:
    """A media worker speaking the protocol, writing a silent WAV for each job it is given."""

    def __init__(self, server: Any, app: str) -> None:
        self.client = CallClient(server.url, app)
        self.server, self.app = server, app
        self.folder = Path()

    async def start(self) -> None:
        user = unique("media")
        await self.client.login(user, self.server.token(user, app=self.app, role="service"))
        ack = await self.client.request("worker_hello", {"capacity": 10, "name": user})
        assert ack["ok"], ack
        self.folder = Path(ack["recordingsDir"])

    async def record(self, call_id: str) -> None:
        """Take the job of ``call_id`` once the core starts it and finish it when told to stop."""
        start = await self.client.next_event("record_start", timeout=10, callId=call_id)
        await self.client.request("job_update", {"jobId": start["jobId"], "state": "started"})
        await self.client.next_event("record_stop", timeout=10, jobId=start["jobId"])
        path = self.folder / start["file"]
        writer = OggOpusWriter(path)  # the recording format, 0.1 s of silence
        writer.write([SILENCE_DELIMITED + SILENCE] * 5)
        writer.close()
        ack = await self.client.request("job_update", {"jobId": start["jobId"], "state": "done"})
        assert ack["ok"], ack


async def recorded_call(server: Any, app: str, queue_name: str, agent_id: str,
                        name: str) -> tuple[str, str]:
    """A customer of ``app`` calls ``queue_name``; ``agent_id`` answers; the customer hangs up
    once the worker recorded it. Returns (callId, customer id)."""
    worker = FakeWorker(server, app)
    await worker.start()
    agent_client = CallClient(server.url, app)
    customer = CallClient(server.url, app)
    try:
        await agent_client.login(agent_id, server.token(agent_id, app=app, role="agent"))
        await agent_client.agent_status("available")
        customer_id = unique("cust")
        await customer.login(customer_id, server.token(customer_id, app=app))
        ack = await customer.enqueue(queue_name, AUDIO_CALL, {"name": name})
        assert ack["recorded"] is True, ack
        call_id = str(ack["callId"])
        recording = asyncio.ensure_future(worker.record(call_id))
        await first_offer([agent_client], callId=call_id)
        await agent_client.accept(call_id)
        await customer.next_event("user_accept", callId=call_id)
        await customer.hangup(call_id)
        await recording
        await until_agent(agent_client, state="waiting")
        return call_id, customer_id
    finally:
        for client in (agent_client, customer, worker.client):
            await client.close()


def bearer(world: World, role: Role, user: str | None = None, app: str = "demo") -> dict:
    token = world.server.token(user or USERS[role], app=app, role=role.value)
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def world(request, tmp_path_factory) -> Any:
    folder = tmp_path_factory.mktemp("http-access")
    start = _start_server(request.config)
    server = start(folder, OTHER_APP + "\n\n" + recording_toml(folder / "recordings"),
                   "200/second", True,
                   demo_extra([queue("rq")], [agent("ag1", ["rq"]), agent("ag2", ["rq"])]))
    try:
        call, customer = asyncio.run(recorded_call(server, "demo", "rq", "ag1", "Dee"))
        other_call, other_customer = asyncio.run(recorded_call(
            server, "other", OTHER_QUEUE, OTHER_AGENT, OTHER_CUSTOMER_NAME))
        world = World(server, call, customer, other_call, other_customer)
        # both calls' history rows and recordings are written
        deadline = time.monotonic() + 10
        for app, call_id in (("demo", call), ("other", other_call)):
            headers = bearer(world, Role.SUPERVISOR, app=app)
            while not (requests.get(f"{server.url}/api/recordings/{call_id}", headers=headers,
                                    timeout=5).ok and
                       requests.get(f"{server.url}/api/calls/{call_id}", headers=headers,
                                    timeout=5).json().get("call", {}).get("endedAt")):
                assert time.monotonic() < deadline, server.log()[-3000:]
                time.sleep(0.1)
        yield world
    finally:
        server.stop()
    assert "Traceback" not in server.log(), server.log()


# Who asks, per role: the agent answered the demo call; the customer is the one who called.
USERS = {Role.AGENT: "ag1", Role.SUPERVISOR: "boss", Role.SERVICE: "media-reports"}
# Another user of the same role who is not part of the call: what `own` keeps out.
OUTSIDERS = {Role.AGENT: "ag2", Role.CUSTOMER: "someone_else"}


def user_of(world: World, role: Role) -> str:
    return world.customer if role is Role.CUSTOMER else USERS[role]


def ask(world: World, spec: str, call_id: str, headers: dict) -> requests.Response:
    """The request of ``spec`` about ``call_id``; POST /api/links asks for that call's audio."""
    method, path = spec.split(" ", 1)
    url = world.server.url + path.replace("{callId}", call_id)
    if spec == "POST /api/links":
        return requests.post(url, json={"path": f"/api/recordings/{call_id}/audio"},
                             headers=headers, timeout=10)
    return requests.request(method, url, headers=headers, timeout=10)


def follow(world: World, response: requests.Response) -> requests.Response:
    """The GET of a link POST /api/links answered, with no header."""
    assert response.status_code == 200, response.text
    return requests.get(world.server.url + response.json()["url"], timeout=10)


def reveals(world: World, spec: str, response: requests.Response, call_id: str) -> bool:
    """Whether the answer shows ``call_id`` (an id endpoint: 200 rather than 404; a list:
    the id among its rows)."""
    if spec == "POST /api/links":
        response = follow(world, response)
    if "{callId}" in spec or spec == "POST /api/links":
        assert response.status_code in (200, 404), response.text
        return response.status_code == 200
    assert response.status_code == 200, response.text
    return call_id in response.text


def refused(response: requests.Response, status: int, code: str) -> None:
    assert response.status_code == status, (response.status_code, response.text)
    body = response.json()
    assert body["ok"] is False and body["error"]["code"] == code and body["error"]["message"]


def no_other_app_data(world: World, response: requests.Response) -> None:
    for marker in world.markers():
        assert marker not in response.text, (marker, response.request.url, response.text[:500])


CELLS_OF_THE_TABLE = [(spec, role) for spec in access.HTTP for role in ROLES]
# Endpoints whose answer lists calls (an agent's `own` narrows the list); the rest are about one
# call (`{callId}`, a link to its audio) or about the app as a whole.
LISTS_CALLS = {"GET /api/calls", "GET /api/calls.csv"}


@pytest.mark.parametrize("spec, role", CELLS_OF_THE_TABLE,
                         ids=[f"{s} as {r.value}" for s, r in CELLS_OF_THE_TABLE])
def test_each_role_reaches_each_endpoint_as_the_table_says(world, spec, role):
    scope = access.http_scope(spec, role)
    response = ask(world, spec, world.call, bearer(world, role, user_of(world, role)))
    no_other_app_data(world, response)
    if scope is Scope.NONE:
        refused(response, 403, "FORBIDDEN")
        return
    assert response.status_code == 200, response.text
    if "{callId}" in spec or spec in LISTS_CALLS or spec == "POST /api/links":
        # the call's agent (own) and everyone of the app (app) see the demo call
        assert reveals(world, spec, response, world.call), response.text


OWN_CELLS = [(spec, role) for spec, role in CELLS_OF_THE_TABLE
             if access.http_scope(spec, role) is Scope.OWN]


@pytest.mark.parametrize("spec, role", OWN_CELLS,
                         ids=[f"{s} as {r.value}" for s, r in OWN_CELLS])
def test_own_keeps_out_users_of_the_same_role_who_were_not_in_the_call(world, spec, role):
    response = ask(world, spec, world.call, bearer(world, role, OUTSIDERS[role]))
    no_other_app_data(world, response)
    if spec in LISTS_CALLS or "{callId}" in spec or spec == "POST /api/links":
        assert not reveals(world, spec, response, world.call), response.text
    if "{callId}" in spec:
        refused(response, 404, "NOT_FOUND")


def test_an_agent_naming_another_agent_in_a_filter_is_refused(world):
    for path in ("/api/calls", "/api/calls.csv"):
        response = requests.get(world.server.url + path, params={"agent": "ag1"},
                                headers=bearer(world, Role.AGENT, "ag2"), timeout=10)
        refused(response, 403, "FORBIDDEN")


ALLOWED_CELLS = [(spec, role) for spec, role in CELLS_OF_THE_TABLE
                 if access.http_scope(spec, role) is not Scope.NONE]


@pytest.mark.parametrize("spec, role", ALLOWED_CELLS,
                         ids=[f"{s} as {r.value}" for s, r in ALLOWED_CELLS])
def test_another_apps_ids_are_not_found_and_nothing_of_it_is_shown(world, spec, role):
    """The demo app's users, asking about the other app's call (or for lists, asking at all),
    get nothing of it: 404 for its ids, and none of its names in any answer."""
    response = ask(world, spec, world.other_call, bearer(world, role, user_of(world, role)))
    if spec == "POST /api/links":
        # the link is made (it only echoes the path asked for); opening it finds nothing
        response = follow(world, response)
    if "{callId}" in spec or spec == "POST /api/links":
        refused(response, 404, "NOT_FOUND")
    else:
        assert response.status_code == 200, response.text
    no_other_app_data(world, response)


def test_the_other_apps_supervisor_finds_none_of_this_apps_calls(world):
    """And the other way round: the other app's credential at the demo app's ids."""
    headers = bearer(world, Role.SUPERVISOR, app="other")
    for spec in ("GET /api/calls/{callId}", "GET /api/recordings/{callId}",
                 "GET /api/recordings/{callId}/audio"):
        refused(ask(world, spec, world.call, headers), 404, "NOT_FOUND")
    listed = requests.get(world.server.url + "/api/calls", headers=headers, timeout=10).json()
    assert [c["callId"] for c in listed["calls"]] == [world.other_call]


def test_service_credentials_hear_the_apps_recordings_and_agents_only_their_own(world):
    audio = f"/api/recordings/{world.call}/audio"
    for role, user, status in ((Role.SERVICE, "media-any", 200), (Role.AGENT, "ag1", 200),
                               (Role.AGENT, "ag2", 404), (Role.SUPERVISOR, "boss", 200)):
        response = requests.get(world.server.url + audio, headers=bearer(world, role, user),
                                timeout=10)
        assert response.status_code == status, (role, user, response.text)
        if status == 200:
            assert response.content[:4] == b"OggS"
