"""Call history through a real server, on SQLite and on a real PostgreSQL the suite starts.

Calls are driven over Socket.IO; the history is read back through the REST API (and, for the
exactly-one-record check, from the database itself). A server killed with SIGKILL mid-call and
started again closes that call with a reason.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from contact_center_helpers import (
    Desk,
    _start_server,
    agent,
    connect,
    demo_extra,
    enqueue,
    first_offer,
    queue,
    until_agent,
)
from sqlalchemy import create_engine, func, select

from callcenter.history.db.schema import calls

pytestmark = pytest.mark.timeout(120)

QUEUES = [queue("h", wrap_up=30), queue("h2", wrap_up=0)]
AGENTS = [agent("ha", ["h"], name="Hal"), agent("hb", ["h2"])]


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/history.db"
    return request.getfixturevalue("postgres").new_database()


@pytest.fixture
def start(request: pytest.FixtureRequest, tmp_path: Path, database_url: str) -> Any:
    """Start servers on the test's database; all are stopped (and their logs checked) after."""
    started = []
    start_server = _start_server(request.config)

    def start_one(extra: str = "") -> Any:
        server = start_server(tmp_path, extra, "200/second", True, demo_extra(QUEUES, AGENTS),
                              database_url)
        started.append(server)
        return server

    yield start_one
    for server in started:
        server.stop()
    for server in started:
        assert "Traceback" not in server.log(), server.log()


def api(server: Any, path: str, role: str = "supervisor", user: str = "sup1",
        app: str = "demo", **params: Any) -> requests.Response:
    token = server.token(user, app=app, role=role)
    return requests.get(server.url + path, params=params,
                        headers={"Authorization": f"Bearer {token}"}, timeout=10)


def until_record(server: Any, call_id: str, timeout: float = 5, **fields: Any) -> dict[str, Any]:
    """The call's record once it has `fields` (history is written in the background)."""
    deadline = time.monotonic() + timeout
    while True:
        response = api(server, f"/api/calls/{call_id}")
        if response.status_code == 200:
            record = response.json()["call"]
            if all(record.get(k) == v for k, v in fields.items()):
                return record
        if time.monotonic() >= deadline:
            raise AssertionError(f"record of {call_id} never had {fields}: {response.text}")
        time.sleep(0.05)


async def test_a_queue_call_leaves_one_record_with_every_field_and_its_timeline(start):
    server = start()
    async with Desk(server) as desk:
        ha = await desk.agent("ha")
        await until_agent(ha, state="waiting", status="available")
        customer, call_id, _ = await enqueue(desk, "h", attributes={"name": "Ann"})
        _, offer = await first_offer([ha], callId=call_id)
        await asyncio.sleep(0.3)  # a wait worth measuring
        await connect(ha, customer, call_id)
        await asyncio.sleep(0.4)  # talk
        await customer.hangup(call_id)
        await until_agent(ha, state="wrap_up")
        await ha.wrap_up(call_id, "refund", "sent the form")
        await customer.rate(call_id, 4)

    record = until_record(server, call_id, rating=4)
    assert record["kind"] == "queue" and record["queue"] == "h"
    assert record["customerId"] == customer.user_id and record["customerName"] == "Ann"
    assert record["agent"] == "ha" and record["outcome"] == "completed"
    assert record["endReason"] == "hangup" and record["endedBy"] == "customer"
    assert record["disposition"] == "refund" and record["notes"] == "sent the form"
    assert record["joinedAt"] <= record["offeredAt"] <= record["answeredAt"] <= record["endedAt"]
    assert record["endedAt"] <= record["wrapUpEndedAt"]
    assert record["wait"] == pytest.approx(record["answeredAt"] - record["joinedAt"], abs=0.002)
    assert record["wait"] >= 0.3 and record["talk"] >= 0.4
    assert record["wrapUp"] == pytest.approx(record["wrapUpEndedAt"] - record["endedAt"],
                                             abs=0.002)
    assert record["ringAttempts"] == 1 and record["attempts"][0]["outcome"] == "answered"
    assert record["originalPosition"] == 1 and record["recorded"] is False
    names = [e["event"] for e in record["events"]]
    for expected in ("queue.joined", "queue.offered", "queue.answered", "call.ended",
                     "queue.completed", "agent.wrap_up", "call.rated"):
        assert expected in names, names
    order = [names.index(n) for n in ("queue.joined", "queue.offered", "queue.answered",
                                      "queue.completed", "agent.wrap_up", "call.rated")]
    assert order == sorted(order), names
    assert [e["at"] for e in record["events"]] == sorted(e["at"] for e in record["events"])


async def test_abandoned_and_direct_calls_each_leave_their_record(start):
    server = start()
    async with Desk(server) as desk:
        # Abandoned: no agent is available, the customer gives up.
        customer, abandoned_id, _ = await enqueue(desk, "h")
        await asyncio.sleep(0.2)
        await customer.hangup(abandoned_id)
        # Direct: a 1:1 call between two users, answered then hung up.
        alice = await desk.customer("alice")
        bob = await desk.customer("bob")
        direct_id = await alice.call(bob.user_id)
        await bob.next_event("invited", callId=direct_id)
        await bob.accept(direct_id)
        await asyncio.sleep(0.2)
        await alice.hangup(direct_id)
        await bob.next_event("call_end", callId=direct_id)

    abandoned = until_record(server, abandoned_id, outcome="abandoned")
    assert abandoned["endedBy"] == "customer" and abandoned["answeredAt"] is None
    assert abandoned["wait"] >= 0.2 and abandoned["agent"] is None
    direct = until_record(server, direct_id, outcome="answered")
    assert direct["kind"] == "direct" and direct["customerId"] == alice.user_id
    assert direct["agent"] == bob.user_id and direct["talk"] >= 0.2
    assert direct["endReason"] == "hangup"

    listed = api(server, "/api/calls", kind="queue").json()["calls"]
    assert [c["callId"] for c in listed] == [abandoned_id]


async def test_a_call_cut_by_a_killed_server_is_closed_with_a_reason_when_it_restarts(start,
                                                                                     tmp_path):
    server = start()
    async with Desk(server) as desk:
        ha = await desk.agent("ha")
        await until_agent(ha, state="waiting", status="available")
        customer, answered_id, _ = await enqueue(desk, "h")
        await first_offer([ha], callId=answered_id)
        await connect(ha, customer, answered_id)
        waiting_customer, waiting_id, _ = await enqueue(desk, "h")
        await asyncio.sleep(1.2)  # written in the background, every write_interval (0.5 s)
        server.process.kill()  # SIGKILL: no shutdown hook, no last write
        server.process.wait(5)

    # the event-log plugin stands for any plugin (webhooks) told of the calls closed
    restarted = start('[plugins]\nenable = ["event-log"]\n'
                      f'[plugins.settings.event-log]\npath = "{tmp_path}/events.jsonl"')
    answered = until_record(restarted, answered_id, endReason="server_restart")
    assert answered["outcome"] == "completed" and answered["endedBy"] == "system"
    assert answered["endedAt"] >= answered["answeredAt"]
    waiting = until_record(restarted, waiting_id, endReason="server_restart")
    assert waiting["outcome"] == "interrupted" and waiting["answeredAt"] is None
    assert waiting["events"][-1]["event"] == "call.interrupted"
    assert "closed 2 calls left open" in restarted.log()
    told = [json.loads(line) for line in (tmp_path / "events.jsonl").read_text().splitlines()]
    interrupted = {e["call"]: e for e in told if e["event"] == "call.interrupted"}
    assert set(interrupted) == {answered_id, waiting_id}
    assert interrupted[answered_id]["outcome"] == "completed"
    assert interrupted[waiting_id]["reason"] == "server_restart"


async def test_every_call_has_exactly_one_record(start, database_url):
    server = start()
    call_ids = []
    async with Desk(server) as desk:
        hb = await desk.agent("hb")
        await until_agent(hb, state="waiting", status="available")
        for i in range(6):
            customer, call_id, _ = await enqueue(desk, "h2")
            call_ids.append(call_id)
            if i % 2:
                await customer.hangup(call_id)  # abandoned before the offer is taken
                await until_agent(hb, state="waiting")
                continue
            await first_offer([hb], callId=call_id)
            await connect(hb, customer, call_id)
            await customer.hangup(call_id)
            await until_agent(hb, state="waiting")
    deadline = time.monotonic() + 5
    while True:
        listed = api(server, "/api/calls", limit=500).json()["calls"]
        if all(c["endedAt"] is not None for c in listed) and len(listed) == 6:
            break
        assert time.monotonic() < deadline, listed
        time.sleep(0.05)
    server.stop()  # SIGTERM: the last writes are flushed
    engine = create_engine(database_url)
    with engine.connect() as conn:
        rows = conn.execute(select(calls.c.call_id, func.count()).group_by(calls.c.call_id)
                            ).all()
    engine.dispose()
    assert sorted(r[0] for r in rows) == sorted(call_ids)
    assert all(r[1] == 1 for r in rows)
    outcomes = sorted(c["outcome"] for c in listed)
    assert outcomes == ["abandoned"] * 3 + ["completed"] * 3


async def one_call(desk: Desk, agent_client: Any) -> str:
    """A customer joins `h2`, the agent answers, the customer hangs up; returns the call id."""
    customer, call_id, _ = await enqueue(desk, "h2")
    await first_offer([agent_client], callId=call_id)
    await connect(agent_client, customer, call_id)
    await customer.hangup(call_id)
    await until_agent(agent_client, state="waiting")
    return call_id


class Blocker:
    """Another session holding the database's write lock, as a long migration or an operator's
    open transaction would."""

    def __init__(self, url: str, server: Any) -> None:
        self.url = url
        self.server = server
        if url.startswith("sqlite"):
            import sqlite3

            self.conn = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
            self.conn.execute("BEGIN EXCLUSIVE")
        else:
            import psycopg2

            self.conn = psycopg2.connect(url)
            with self.conn.cursor() as cursor:
                cursor.execute("LOCK TABLE calls IN ACCESS EXCLUSIVE MODE")

    async def until_writer_waits(self) -> None:
        """Until the server's history writer is stuck behind the lock."""
        deadline = time.monotonic() + 5
        while not self.writer_waits():
            assert time.monotonic() < deadline, "the history writer never tried to write"
            await asyncio.sleep(0.1)

    def writer_waits(self) -> bool:
        """PostgreSQL shows the writer's lock request in pg_locks; SQLite cannot be asked, so
        the server is: /healthz says how long the write under way has taken."""
        if self.url.startswith("postgresql"):
            with self.conn.cursor() as cursor:
                cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted")
                if cursor.fetchone()[0] == 0:
                    return False
        status = requests.get(self.server.url + "/healthz", timeout=5).json()["history"]
        return status["writingFor"] is not None and status["writingFor"] > 0.5

    def release(self) -> None:
        self.conn.rollback()
        self.conn.close()


async def test_a_stalled_database_does_not_hold_up_calls_and_catches_up_after(start,
                                                                            database_url):
    """Writes run off the event loop: with the database locked by another session, calls go on
    at full speed; the rows arrive once the lock is gone. (psycopg2 is made cooperative by
    eventlet; SQLite's wait for a lock is not, and only the database thread keeps it away.)"""
    server = start()
    blocker = Blocker(database_url, server)
    try:
        async with Desk(server) as desk:
            hb = await desk.agent("hb")
            await until_agent(hb, state="waiting", status="available")
            first = await one_call(desk, hb)
            await blocker.until_writer_waits()
            # The writer is stuck waiting for the lock, and the server goes on: a whole call,
            # and a request answered at once.
            started = time.monotonic()
            second = await one_call(desk, hb)
            took = time.monotonic() - started
            assert took < 2, f"a whole call took {took:.2f} s with the database stalled"
            hello = time.monotonic()
            await hb.request("hello", {})
            assert time.monotonic() - hello < 0.5
            assert blocker.writer_waits()  # still stuck: nothing above went through it
    finally:
        blocker.release()
    for call_id in (first, second):
        record = until_record(server, call_id, outcome="completed", timeout=10)
        assert record["agent"] == "hb"


def test_a_database_that_cannot_be_reached_stops_the_server_with_one_clear_line(request,
                                                                                tmp_path):
    start_server = _start_server(request.config)
    with pytest.raises(RuntimeError) as failed:
        start_server(tmp_path, "", "200/second", True, "",
                     "postgresql://callcenter:hunter2@127.0.0.1:1/history")
    log = str(failed.value)
    assert "server exited with 2" in log
    assert "cannot open the database postgresql://callcenter:***@127.0.0.1:1/history: " \
        "Connection refused" in log
    assert "hunter2" not in log and "Traceback" not in log
