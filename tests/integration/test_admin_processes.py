"""Two server processes sharing one PostgreSQL database: a change made through either is in
effect on the other within about a second (each reads the settings' revision on its tick)."""

from __future__ import annotations

import asyncio
import time

import pytest
from admin_helpers import NEW_PASSWORD, admin, login, ok, stored, supervisors_toml
from contact_center_helpers import (
    Desk,
    _start_server,
    agent,
    connect,
    demo_extra,
    enqueue,
    first_offer,
    queue,
)

pytestmark = pytest.mark.timeout(90)


@pytest.fixture(scope="module")
def pair(request, tmp_path_factory, postgres):
    url = postgres.new_database()
    start = _start_server(request.config)
    folder = tmp_path_factory.mktemp("admin-pair")
    toml = demo_extra([queue("sales")], [agent("aa", ["sales"])]) + "\n\n" + supervisors_toml()
    servers = [start(folder, "", "500/second", True, toml, url)]
    servers.append(start(folder, "", "500/second", True, toml, url))
    try:
        yield servers, url
    finally:
        for server in servers:
            server.stop()
    for server in servers:
        assert "Traceback" not in server.log(), server.log()


def within(seconds: float, check) -> float:
    """How long ``check`` took to hold; fails after ``seconds``."""
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < seconds
        time.sleep(0.05)
    return time.monotonic() - started


def test_the_second_server_kept_the_settings_the_first_seeded(pair):
    (one, two), url = pair
    assert stored(one, url)[0] >= 1
    revisions = [ok(admin(server, "GET", "agents"))["revision"] for server in (one, two)]
    assert revisions[0] == revisions[1]


def test_an_agent_created_on_one_server_signs_in_on_the_other_within_a_second_or_so(pair):
    (one, two), _ = pair
    refused = login(two, "pat", NEW_PASSWORD)
    assert refused.status_code == 401
    ok(admin(one, "POST", "agents", {"id": "pat", "password": NEW_PASSWORD,
                                     "queues": ["sales"]}), 201)
    took = within(3, lambda: login(two, "pat", NEW_PASSWORD).status_code == 200)
    assert took < 2.5, took


def test_a_queue_changed_on_the_second_server_routes_by_it_on_the_first(pair):
    (one, two), _ = pair
    ok(admin(two, "POST", "queues", {"name": "late", "when_empty": "join", "wrap_up": 0,
                                     "members": ["aa"]}), 201)
    within(3, lambda: "late" in [q["name"] for q in ok(admin(one, "GET", "queues"))["items"]])

    async def drive() -> None:
        async with Desk(one) as desk:
            aa = await desk.agent("aa")
            customer, call_id, _ = await enqueue(desk, "late")
            await first_offer([aa], callId=call_id)
            await connect(aa, customer, call_id)
            await customer.hangup(call_id)
    asyncio.run(drive())
