"""History at volume: how fast calls are written, and how long a page of calls, a day's statistics
and a CSV export take once the database holds many calls.

    .venv/bin/python bench/history.py                       # SQLite, 10,000 and 100,000 calls
    .venv/bin/python bench/history.py --url postgresql://... --sizes 100000

Each read is compared in the same run with a reference: the same rows fetched by the database
driver alone (no SQLAlchemy, no Python statistics), the floor for any implementation in Python.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import text

from callcenter.domain.statistics import Thresholds, series, summarize
from callcenter.history.db.database import CallFilter, Database

DAY = 86400.0
START = 1_790_000_000.0  # the first simulated day begins here


def simulated_calls(count: int, days: int, seed: int = 7) -> list[tuple[str, dict[str, Any]]]:
    """Queue calls spread over `days`, with the outcomes a busy queue has."""
    rng = random.Random(seed)
    changes = []
    for i in range(count):
        joined = START + rng.random() * days * DAY
        wait = rng.expovariate(1 / 25)
        fate = rng.random()
        answered = fate < 0.85
        talk = rng.expovariate(1 / 180) if answered else 0.0
        ended = joined + wait + talk
        changes.append(("call", {
            "app_id": "demo", "call_id": f"c{i:08d}", "kind": "queue", "node": "main",
            "queue": rng.choice(("sales", "support", "billing")), "customer_id": f"cust{i}",
            "agent_id": f"a{rng.randrange(50)}" if answered else None, "type": 1,
            "priority": 0, "joined_at": joined, "answered_at": joined + wait if answered else None,
            "ended_at": ended, "wrap_up_ended_at": ended + 10 if answered else None,
            "wait": wait, "talk": talk, "hold": 0.0, "wrap_up": 10.0 if answered else None,
            "original_position": 1, "final_position": 1, "ring_attempts": 1,
            "attempts": [{"agent": "a1", "outcome": "answered" if answered else "cancelled"}],
            "outcome": "completed" if answered else ("abandoned" if fate < 0.97 else "timed_out"),
            "end_reason": "hangup", "ended_by": "customer", "recorded": False, "attributes": {},
        }))
    return changes


def timed(fn: Any, *args: Any, repeat: int = 3) -> tuple[float, Any]:
    """Best of `repeat` runs, in milliseconds, and the last result."""
    best, result = float("inf"), None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn(*args)
        best = min(best, (time.perf_counter() - started) * 1000)
    return best, result


def run(url: str, size: int, days: int, base: Path) -> dict[str, float]:
    database = Database(url, base)
    database.migrate()
    with database.engine.begin() as conn:  # a fresh table for each size
        conn.execute(text("DELETE FROM calls"))
    changes = simulated_calls(size, days)
    started = time.perf_counter()
    for chunk in range(0, size, 500):  # as the server writes: batches of merged rows
        database.apply(changes[chunk:chunk + 500])
    write_s = time.perf_counter() - started

    day = CallFilter("demo", START + (days - 1) * DAY, START + days * DAY, kind="queue")
    page_ms, _ = timed(database.list_calls, CallFilter("demo", queue="sales"), 50, None)
    fetch_ms, rows = timed(database.calls_for_statistics, day)
    stats_ms, _ = timed(lambda: (summarize(rows, [], day.start, day.end, Thresholds()),
                                 series(rows, day.start, day.end, 3600, Thresholds())))
    csv_ms, _ = timed(database.list_calls, CallFilter("demo"), 100_000, None, repeat=1)

    def driver_only() -> int:  # the reference: the same day's rows through the driver alone
        raw = database.engine.raw_connection()
        try:
            cursor = raw.cursor()
            cursor.execute("SELECT * FROM calls WHERE app_id = 'demo' AND joined_at >= "
                           f"{day.start!r} AND joined_at < {day.end!r}")
            return len(cursor.fetchall())
        finally:
            raw.close()

    reference_ms, count = timed(driver_only)
    database.dispose()
    return {"calls": size, "write_calls_per_s": size / write_s, "page_ms": page_ms,
            "day_calls": count, "day_fetch_ms": fetch_ms, "day_stats_ms": stats_ms,
            "driver_reference_ms": reference_ms, "csv_100k_ms": csv_ms}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=None, help="database URL (default: a new SQLite file)")
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--days", type=int, default=30, help="days the calls are spread over")
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="callcenter-history-bench-"))
    url = args.url or "sqlite:///history.db"
    print(f"database: {url.split('@')[-1]}, calls spread over {args.days} days")
    for size in (int(s) for s in args.sizes.split(",")):
        r = run(url, size, args.days, base)
        print(f"{r['calls']:>7} calls: write {r['write_calls_per_s']:,.0f} calls/s; "
              f"newest page of a queue {r['page_ms']:.1f} ms; one day ({r['day_calls']} calls): "
              f"read {r['day_fetch_ms']:.1f} ms (driver alone {r['driver_reference_ms']:.1f} ms)"
              f" + statistics {r['day_stats_ms']:.1f} ms; CSV of every call (≤100,000) "
              f"{r['csv_100k_ms']:.0f} ms", flush=True)


if __name__ == "__main__":
    main()
