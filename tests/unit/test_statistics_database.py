"""The statistics of docs/statistics.md's worked example, stored in and read back from a real
SQLite file and a real PostgreSQL (started by the suite): the same numbers on both."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from test_statistics import CALLS, END, EVENTS, THRESHOLDS, T

from callcenter.domain.statistics import summarize
from callcenter.history.db.database import CallFilter, Database


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    url = "sqlite:///stats.db" if request.param == "sqlite" else \
        request.getfixturevalue("postgres").new_database()
    database = Database(url, tmp_path)
    database.migrate()
    yield database
    database.dispose()


def call_row(app_id: str, record: dict[str, Any]) -> dict[str, Any]:
    return {"app_id": app_id, "call_id": record["callId"], "kind": record["kind"],
            "node": "main", "queue": record["queue"], "agent_id": record["agent"],
            "priority": 0, "joined_at": record["joinedAt"],
            "answered_at": record["answeredAt"], "ended_at": record["endedAt"],
            "wrap_up_ended_at": record["wrapUpEndedAt"], "wait": record["wait"],
            "talk": record["talk"], "hold": record["hold"], "wrap_up": record["wrapUp"],
            "outcome": record["outcome"], "rating": record["rating"], "ring_attempts": 1,
            "recorded": False}


def event_row(app_id: str, event: dict[str, Any]) -> dict[str, Any]:
    data = {k: v for k, v in event.items() if k not in ("event", "at", "user")}
    return {"app_id": app_id, "call_id": None, "user_id": event["user"], "name": event["event"],
            "at": event["at"], "data": data}


def test_the_worked_example_gives_the_same_numbers_from_either_database(database):
    changes = [("call", call_row("demo", c)) for c in CALLS]
    changes += [("event", event_row("demo", e)) for e in EVENTS]
    # Neither another app's call nor one outside the window may count.
    changes.append(("call", {**call_row("other", CALLS[0])}))
    changes.append(("call", {**call_row("demo", CALLS[0]), "call_id": "late",
                             "joined_at": END + 1}))
    changes.append(("event", event_row("other", EVENTS[2])))
    database.apply(changes)

    rows = database.calls_for_statistics(CallFilter("demo", T, END, kind="queue"))
    events = database.agent_events("demo", T, END)
    # of what came before the window, only each agent's last status and state are read
    assert [(e["user"], e["at"] - T) for e in events if e["at"] < T] == [
        ("carol", -3600), ("alice", -600)]
    assert sorted(r["callId"] for r in rows) == sorted(c["callId"] for c in CALLS)
    stored = summarize(rows, events, T, END, THRESHOLDS, now=END)
    assert stored == summarize(CALLS, EVENTS, T, END, THRESHOLDS, now=END)
    # the hand-computed numbers of docs/statistics.md
    assert (stored["offered"], stored["answered"], stored["serviceLevel"]) == (10, 4, 0.2857)
    assert (stored["abandonRate"], stored["asa"], stored["aht"]) == (0.125, 25.0, 130.0)
    assert stored["occupancy"] == 0.174
