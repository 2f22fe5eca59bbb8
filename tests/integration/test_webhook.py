"""The stock `webhook` plugin through a real server and a real HTTP receiver.

Queue calls are driven over Socket.IO; a receiver on a local port (http.server in a thread)
records every request. The outbox is read back from the server's SQLite file. What is proven:
subscribed events arrive signed, once each; failed attempts are retried with the same id; events
queued while the receiver is down survive a server restart; bad settings name their key without
stopping the server.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests
from contact_center_helpers import Desk, agent, connect, demo_extra, enqueue, extra_toml, queue

from callcenter.history.db.database import Database

pytestmark = pytest.mark.timeout(30)

SECRET = "whsec-test-0123456789abcdef"
QUEUES = [queue("wh")]
AGENTS = [agent("wa1", ["wh"])]


# -- the receiver -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    status: int  # what the receiver answered

    @property
    def event(self) -> dict[str, Any]:
        return json.loads(self.body)


class Receiver:
    """A webhook receiver on 127.0.0.1 that records every request. It answers 500 to the first
    `fail_first` requests of each Webhook-Id, then 204."""

    def __init__(self, port: int = 0, fail_first: int = 0) -> None:
        self.fail_first = fail_first
        self.requests: list[Received] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    key = self.headers.get("Webhook-Id")
                    tried = sum(1 for r in receiver.requests if r.headers.get("Webhook-Id") == key)
                    status = 500 if tried < receiver.fail_first else 204
                    receiver.requests.append(Received(self.path, dict(self.headers), body, status))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self.http.server_address[1]
        self.thread = threading.Thread(target=self.http.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str = "/hooks") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def delivered(self, path: str = "/hooks") -> list[Received]:
        with self.lock:
            return [r for r in self.requests if r.path == path and r.status < 300]

    def attempts(self, key: str) -> list[Received]:
        with self.lock:
            return [r for r in self.requests if r.headers["Webhook-Id"] == key]

    async def until(self, check: Callable[[], bool], timeout: float = 8) -> None:
        deadline = time.monotonic() + timeout
        while not check():
            if time.monotonic() > deadline:
                raise TimeoutError(f"receiver: condition not met; got {self.summary()}")
            await asyncio.sleep(0.05)

    def summary(self) -> list[tuple[str, str, int]]:
        with self.lock:
            return [(r.path, r.event.get("event"), r.status) for r in self.requests]

    def close(self) -> None:
        self.http.shutdown()
        self.http.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    made = Receiver()
    yield made
    made.close()


def signature_ok(received: Received, secret: str = SECRET) -> bool:
    """The check docs/plugins.md gives receivers."""
    timestamp = received.headers["Webhook-Timestamp"]
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + received.body,
                        hashlib.sha256).hexdigest()
    return (abs(time.time() - int(timestamp)) < 60
            and hmac.compare_digest(received.headers["Webhook-Signature"], f"v1={expected}"))


def webhook_toml(endpoints: list[dict[str, Any]], **keys: Any) -> str:
    return extra_toml(["webhook"], {"webhook": {"endpoints": endpoints, **keys}})


def outbox(database_url: str) -> list[dict[str, Any]]:
    """The server's outbox rows, read from its database file."""
    database = Database(database_url)
    try:
        return database.outbox_items("webhook:")
    finally:
        database.dispose()


# -- tests ------------------------------------------------------------------------------------


async def test_subscribed_events_reach_each_endpoint_signed_and_once(server_factory, receiver,
                                                                     tmp_path, monkeypatch):
    monkeypatch.setenv("CC_TEST_WEBHOOK_SECRET", SECRET)  # the server reads it at start
    database_url = f"sqlite:///{tmp_path}/webhook.db"
    server = server_factory(webhook_toml([
        {"name": "crm", "url": receiver.url(), "secret": {"env": "CC_TEST_WEBHOOK_SECRET"},
         "events": ["queue.*", "call.ended"]},
        {"name": "audit", "url": receiver.url("/audit"), "secret": SECRET,
         "events": ["queue.answered"], "apps": ["demo"]},
        {"name": "elsewhere", "url": receiver.url("/other"), "secret": SECRET,
         "events": ["*"], "apps": ["other"]},
    ]), demo_extra=demo_extra(QUEUES, AGENTS), database_url=database_url)

    async with Desk(server) as desk:
        wa1 = await desk.agent("wa1")
        customer, call_id, _ = await enqueue(desk, "wh")
        await wa1.next_event("offer", callId=call_id)
        await connect(wa1, customer, call_id)
        await customer.hangup(call_id)
        await wa1.next_event("call_end", callId=call_id)

    def names(path: str = "/hooks") -> list[str]:
        return [r.event["event"] for r in receiver.delivered(path)]

    await receiver.until(lambda: "call.ended" in names() and "queue.completed" in names())
    await asyncio.sleep(0.6)  # three delivery rounds: time for a duplicate to show up

    crm = receiver.delivered()
    assert sorted(names()) == ["call.ended", "queue.answered", "queue.completed",
                               "queue.joined", "queue.offered"]  # agent.*, call.* not wanted
    rows = outbox(database_url)
    # Delivered in the order the events happened (the outbox's order).
    assert [r.headers["Webhook-Id"] for r in crm] == [
        r["key"] for r in rows if r["channel"] == "webhook:crm"]
    for received in crm:
        body = received.event
        assert received.headers["Content-Type"] == "application/json"
        assert received.headers["Webhook-Id"] == received.headers["Idempotency-Key"] == body["id"]
        assert signature_ok(received), received.headers
        assert not signature_ok(received, secret="another-secret-0123456")
        assert (body["app"], body["call"]) == ("demo", call_id)
        assert set(body) == {"id", "event", "app", "call", "user", "at", "data"}
    by_name = {r.event["event"]: r.event for r in crm}
    joined = by_name["queue.joined"]
    assert (joined["user"], joined["data"]["queue"], joined["data"]["position"]) == (
        customer.user_id, "wh", 1)
    assert by_name["queue.answered"]["user"] == "wa1"
    assert by_name["call.ended"]["data"]["answered"] is True

    [audit] = receiver.delivered("/audit")
    assert audit.event == by_name["queue.answered"]  # the same event, under the same id
    assert signature_ok(audit)
    assert receiver.delivered("/other") == []  # that endpoint only wants app "other"
    assert all(n == 1 for n in Counter((r.path, r.headers["Webhook-Id"])
                                       for r in receiver.requests).values())

    assert len(rows) == 6
    assert all(r["attempts"] == 1 and r["delivered_at"] is not None for r in rows), rows
    assert sorted((r["channel"], r["key"]) for r in rows) == sorted(
        ({"/hooks": "webhook:crm", "/audit": "webhook:audit"}[r.path], r.headers["Webhook-Id"])
        for r in receiver.requests)


async def test_failed_deliveries_are_retried_with_the_same_id_until_the_receiver_takes_them(
        server_factory, tmp_path):
    receiver = Receiver(fail_first=2)
    database_url = f"sqlite:///{tmp_path}/webhook.db"
    try:
        server = server_factory(webhook_toml(
            [{"name": "crm", "url": receiver.url(), "secret": SECRET,
              "events": ["queue.*", "call.ended"]}], backoff_base=0.05, backoff_max=0.2),
            demo_extra=demo_extra(QUEUES, []), database_url=database_url)
        async with Desk(server) as desk:
            customer, call_id, _ = await enqueue(desk, "wh")  # nobody serves it: it waits
            await customer.hangup(call_id)

        await receiver.until(lambda: len(receiver.delivered()) == 3)
        await asyncio.sleep(0.5)
        rows = outbox(database_url)
        assert sorted(r.event["event"] for r in receiver.delivered()) == [
            "call.ended", "queue.abandoned", "queue.joined"]
        for delivered in receiver.delivered():
            tries = receiver.attempts(delivered.headers["Webhook-Id"])
            assert [t.status for t in tries] == [500, 500, 204]
            assert {t.body for t in tries} == {delivered.body}  # the very same notification
            assert all(signature_ok(t) for t in tries)
        # A failed notification holds back its endpoint's later ones: delivery stays in order.
        keys = [r.headers["Webhook-Id"] for r in receiver.requests]
        assert keys == [r["key"] for r in rows for _ in range(3)]

        assert [r["attempts"] for r in rows] == [3, 3, 3]
        assert all(r["delivered_at"] and r["last_error"] == "HTTP 500 Internal Server Error"
                   for r in rows), rows
    finally:
        receiver.close()


async def test_events_queued_while_the_receiver_is_down_are_delivered_after_a_restart(
        server_factory, tmp_path):
    probe = Receiver()  # a free port, closed again: nothing listens there until later
    port = probe.port
    probe.close()
    database_url = f"sqlite:///{tmp_path}/webhook.db"
    settings = webhook_toml([{"name": "crm", "url": f"http://127.0.0.1:{port}/hooks",
                              "secret": SECRET, "events": ["queue.*", "call.ended"]}],
                            backoff_base=0.1, backoff_max=0.3, max_attempts=100)
    first = server_factory(settings, demo_extra=demo_extra(QUEUES, []),
                           database_url=database_url)
    async with Desk(first) as desk:
        customer, call_id, _ = await enqueue(desk, "wh")
        await customer.hangup(call_id)

    deadline = time.monotonic() + 8
    while not (len(rows := outbox(database_url)) == 3 and rows[0]["attempts"] >= 2):
        assert time.monotonic() < deadline, rows
        await asyncio.sleep(0.1)
    first.stop()
    rows = outbox(database_url)
    assert "Connection refused" in rows[0]["last_error"]
    # The later events wait behind the first: a receiver that is down is probed, not flooded.
    assert [r["attempts"] for r in rows[1:]] == [0, 0]
    assert not any(r["delivered_at"] for r in rows)

    server_factory(settings, demo_extra=demo_extra(QUEUES, []), database_url=database_url)
    receiver = Receiver(port)
    try:
        await receiver.until(lambda: len(receiver.delivered()) == 3)
        await asyncio.sleep(0.5)
        assert sorted(r.event["event"] for r in receiver.delivered()) == [
            "call.ended", "queue.abandoned", "queue.joined"]
        assert all(r.event["call"] == call_id and signature_ok(r) for r in receiver.delivered())
        assert [r.headers["Webhook-Id"] for r in receiver.requests] == [r["key"] for r in rows]
        assert all(r["delivered_at"] for r in outbox(database_url))
    finally:
        receiver.close()


async def test_bad_settings_are_logged_with_their_key_and_calls_go_on(server_factory):
    server = server_factory(webhook_toml([{"name": "crm", "url": "ftp://crm.example/",
                                           "secret": SECRET, "events": ["queue.*"]}]),
                            demo_extra=demo_extra(QUEUES, []))
    log = server.log()
    assert "plugin 'webhook' not started: plugins.settings.webhook.endpoints[0].url: not an " \
        "http:// or https:// URL" in log
    health = requests.get(server.url + "/healthz", timeout=5).json()
    assert health["plugins"]["failures"] == {"webhook.callcenter_startup": 1}

    async with Desk(server) as desk:  # queue calls work with the plugin off
        customer, call_id, ack = await enqueue(desk, "wh")
        assert ack["ok"] is True
        await customer.hangup(call_id)
