"""The contact-center benchmark harness (bench/contact_center.py) at a tiny scale, so it cannot
rot: real servers (ours, and the Node reference when Node and npm are installed), the load
generator's processes, the in-process selection benchmark. Only that numbers come out is
checked; timings are the benchmark's business, not the test's."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
STRATEGIES = {"longest-idle", "round-robin", "ring-all", "fewest-calls", "least-talk-time",
              "random", "skills"}


@pytest.mark.timeout(300)
def test_bench_harness_runs_at_tiny_scale(tmp_path: Path) -> None:
    out = tmp_path / "smoke.json"
    node = shutil.which("node") is not None and shutil.which("npm") is not None
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "contact_center.py"), "smoke", "--out", str(out),
         "--server", "both" if node else "ours"],
        cwd=ROOT, capture_output=True, text=True, timeout=280)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    report = json.loads(out.read_text())

    rows = report["select"]["rows"]
    assert {r["strategy"] for r in rows} == STRATEGIES
    for row in rows:
        assert row["plugin_us"] > 0 and row["host_us"] > 0 and row["dispatch_us"] > 0, row

    kinds = ["ours", "node"] if node else ["ours"]
    # And Node again with our heartbeat, for the CPU per call on the same workload.
    assert sorted(report["callsetup"]) == sorted(kinds + (["node-5s"] if node else []))
    if node:
        step = report["callsetup"]["node-5s"]["steps"][0]
        assert step["failed"] == 0 and step["server_cpu_ms_per_call"] > 0, step
    for kind in kinds:
        run = report["callsetup"][kind]
        assert run["login"]["failures"] == {}, run["login"]
        step = run["steps"][0]
        assert step["failed"] == 0 and step["errors"] == {}, step
        for name in ("setup_ms", "connect_ms", "end_ms"):
            assert step[name]["n"] > 0 and step[name]["p50"] is not None, (kind, name, step)
        assert step["server_cpu_ms_per_call"] > 0 and step["generator_cpu"] >= 0, step
        assert "Traceback" not in run.get("server_traceback", "")

        idle = report["idle"][kind]
        assert idle["connected"] == idle["clients"], idle
        assert idle["probe_failures"] == 0 and idle["probe_ms"]["n"] > 0, idle
        assert idle["server_rss_mib_end"] > 0

    if node:
        assert report["compare"]["callsetup"], report["compare"]


@pytest.mark.timeout(200)
def test_fuzz_soak_runs_at_small_scale_with_every_request_answered(tmp_path: Path) -> None:
    out = tmp_path / "soak.json"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "fuzz_soak.py"), "--events", "2000", "--out",
         str(out)], cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    report = json.loads(out.read_text())
    fuzzed = report["fuzzed"]
    assert fuzzed["events"] == 2000 and fuzzed["events_per_s"] > 0
    assert report["reference"]["events_per_s"] > 0
    assert (fuzzed["missing_acks"], fuzzed["internal"], report["tracebacks"],
            report["other_tenant_events"]) == (0, 0, 0, 0)
    # answered by the domain too, not only refused by the shape checks
    assert fuzzed["codes"].get("ok", 0) > 0 and "UNKNOWN_EVENT" in fuzzed["codes"]
