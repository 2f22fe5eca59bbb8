"""History: what the server tells it becomes rows, in order, and nothing is lost when the
database is briefly away. A real SQLite database; the server's event loop is not needed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from callcenter.domain.events import CallEvent, EventName
from callcenter.history.db.database import CallFilter, Database
from callcenter.history.outbox import Outbox
from callcenter.history.records import History


@pytest.fixture
def database(tmp_path: Path) -> Database:
    database = Database("sqlite:///history.db", tmp_path)
    database.migrate()
    return database


def event(name: EventName, call: str | None, user: str | None, at: float, **data: Any
          ) -> CallEvent:
    return CallEvent(name, "demo", call, user, at, data)


def test_a_direct_call_opens_its_row_at_the_first_invitation_and_closes_it_at_the_end(database):
    history = History(database, "main")
    history.event(event(EventName.INVITED, "d1", "bob", 100.0, **{"from": "alice", "type": 1}))
    history.event(event(EventName.INVITED, "d1", "carl", 100.1, **{"from": "alice", "type": 1}))
    history.event(event(EventName.ACCEPTED, "d1", "bob", 103.0))
    history.event(event(EventName.ACCEPTED, "d1", "carl", 104.0))  # joins the group call later
    opened = database.get_call("demo", "d1")
    assert opened["kind"] == "direct" and opened["endedAt"] is None
    assert (opened["customerId"], opened["agent"], opened["answeredAt"]) == ("alice", "bob", 103.0)
    history.event(event(EventName.ENDED, "d1", None, 110.0, reason="hangup", answered=True,
                        duration=7.0, legs={"alice": "left", "bob": "left"}, queue=None))
    closed = database.get_call("demo", "d1")
    assert (closed["outcome"], closed["endReason"], closed["talk"], closed["endedAt"]) == (
        "answered", "hangup", 7.0, 110.0)
    assert [e["event"] for e in closed["events"]] == [
        "call.invited", "call.invited", "call.accepted", "call.accepted", "call.ended"]
    rows, _ = database.list_calls(CallFilter("demo"), 10)
    assert len(rows) == 1


def test_a_direct_calls_silent_seconds_are_stored_and_left_out_of_its_talk(database):
    history = History(database, "main")
    history.event(event(EventName.INVITED, "d2", "bob", 100.0, **{"from": "alice", "type": 1}))
    history.event(event(EventName.ACCEPTED, "d2", "bob", 101.0))
    history.event(event(EventName.ENDED, "d2", None, 111.0, reason="hangup", answered=True,
                        duration=10.0, silent=4.25, legs={}, queue=None))
    closed = database.get_call("demo", "d2")
    assert (closed["talk"], closed["silentSeconds"]) == (5.75, 4.25)


def test_events_of_a_queue_call_do_not_open_a_direct_call_row(database):
    history = History(database, "main")
    history.call_record("demo", {"callId": "q1", "queue": "sales", "joinedAt": 50.0,
                                 "customer": {"userID": "c1", "name": "Ann"}, "attempts": []})
    history.event(event(EventName.QUEUE_JOINED, "q1", "c1", 50.0, queue="sales"))
    history.event(event(EventName.ENDED, "q1", None, 60.0, reason="hangup", answered=False,
                        duration=0, legs={}, queue="sales"))
    record = database.get_call("demo", "q1")
    assert record["kind"] == "queue" and record["customerName"] == "Ann"
    assert record["outcome"] is None  # the queue side closes it, with its own record


class Flaky:
    """A database that refuses the first `failures` writes, as one that restarts would."""

    def __init__(self, database: Database, failures: int) -> None:
        self.database = database
        self.failures = failures
        self.batches = 0

    def apply(self, changes: Any) -> None:
        self.batches += 1
        if self.failures:
            self.failures -= 1
            raise ConnectionError("database restarting")
        self.database.apply(changes)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.database, name)


def test_writes_that_fail_are_kept_and_retried_in_order(database, caplog):
    flaky = Flaky(database, failures=2)
    slept: list[float] = []
    history = History(flaky, "main", sleep=slept.append)  # type: ignore[arg-type]
    history.event(event(EventName.QUEUE_JOINED, "q2", "c2", 1.0, queue="sales"))
    history.call_record("demo", {"callId": "q2", "queue": "sales", "joinedAt": 1.0,
                                 "customer": {"userID": "c2"}, "attempts": []})
    assert history.pending == []
    assert flaky.batches >= 3 and slept == [0.5, 1]  # backed off, then written
    assert database.get_call("demo", "q2")["events"][0]["event"] == "queue.joined"
    assert "retrying" in caplog.text


def test_a_read_sees_the_changes_queued_before_it(database):
    written: list[Any] = []
    history = History(database, "main", spawn=lambda fn: written.append(fn))  # never runs
    history.call_record("demo", {"callId": "q3", "queue": "sales", "joinedAt": 2.0,
                                 "customer": {"userID": "c3"}, "attempts": []})
    assert history.pending  # the background flush has not run
    assert history.read(database.get_call, "demo", "q3")["callId"] == "q3"
    assert history.pending == []


def test_the_outbox_ignores_a_second_notification_with_the_same_key(database):
    outbox = Outbox(History(database, "main"))
    outbox.add("webhook:crm", "k1", "demo", {"n": 1})
    outbox.add("webhook:crm", "k1", "demo", {"n": 2})
    outbox.add("email:ops", "k1", "demo", {"n": 3})  # another channel: its own key space
    due = outbox.due("webhook:crm")
    assert [(n.key, n.payload) for n in due] == [("k1", {"n": 1})]
    outbox.failed(due[0], "HTTP 500", retry_in=3600)
    assert outbox.due("webhook:crm") == []  # not due again for an hour
    item = outbox.items("webhook:")[0]
    assert item["attempts"] == 1 and item["last_error"] == "HTTP 500"


def test_calls_a_crash_left_open_are_closed_at_their_last_event_for_this_node_only(database):
    history = History(database, "main")
    history.call_record("demo", {"callId": "q4", "queue": "sales", "joinedAt": 10.0,
                                 "answeredAt": 12.0, "customer": {"userID": "c4"},
                                 "attempts": []})
    history.event(event(EventName.QUEUE_ANSWERED, "q4", "a1", 12.0, queue="sales"))
    history.event(event(EventName.AGENT_STATE, "q4", "a1", 30.0, state="in_call"))
    other = History(database, "node-b")
    other.call_record("demo", {"callId": "q5", "queue": "sales", "joinedAt": 10.0,
                               "customer": {"userID": "c5"}, "attempts": []})
    [interrupted] = history.close_interrupted()
    assert (interrupted.name, interrupted.call_id) == (EventName.INTERRUPTED, "q4")
    assert interrupted.data["outcome"] == "completed" and interrupted.data["endedAt"] == 30.0
    closed = database.get_call("demo", "q4")
    assert (closed["endedAt"], closed["talk"], closed["outcome"], closed["endReason"]) == (
        30.0, 18.0, "completed", "server_restart")
    assert database.get_call("demo", "q5")["endedAt"] is None  # another server's call
