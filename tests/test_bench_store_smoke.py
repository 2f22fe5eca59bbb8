"""bench/store_round_trips.py at a tiny scale, so it cannot rot: its own redis-server and two
real servers; only that numbers come out is checked."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_store_round_trips_benchmark_prints_numbers_for_both_stores():
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "store_round_trips.py"), "--calls", "5",
         "--monitored-calls", "2"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert re.search(r"memory: +[\d.]+ calls/s", proc.stdout), proc.stdout
    assert re.search(r"redis: +[\d.]+ calls/s", proc.stdout), proc.stdout
    assert re.search(r"[\d.]+ round trips per call .*: .*set \d", proc.stdout), proc.stdout
    assert "Traceback" not in proc.stderr
