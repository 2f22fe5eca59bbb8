"""Write the figures of the last `make bench` into docs/benchmarks.md, in the section between
its two markers (the rest of the page, the history of how the numbers got there, is left as it
is).

    .venv/bin/python bench/report.py [--results var/bench] [--doc docs/benchmarks.md]

Reads what the benchmarks wrote: `all.json` (bench/contact_center.py all: agent selection, call
setup, idle capacity, ours beside the Node socket.io reference of the same run), `stores.json`
(bench/contact_center.py stores: the memory store beside Redis) and `recording.json`
(bench/recording.py --out), whichever exist, and prints the section it wrote. Each figure is
set against the issue's target and, where there is one, the reference's figure and the ratio.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BEGIN = "<!-- make bench writes this section: begin -->"
END = "<!-- make bench writes this section: end -->"


def load(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def step_at(result: dict[str, Any] | None, rate: float) -> dict[str, Any] | None:
    if not result:
        return None
    return next((s for s in result.get("steps", []) if s["offered_rate"] == rate), None)


def fmt(value: Any, unit: str = "") -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        value = f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"
    return f"{value}{unit}"


def ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.1f}×" if a and b else "—"


def met(ok: bool | None) -> str:
    return "—" if ok is None else ("yes" if ok else "**no**")


def section(results: Path) -> str:
    everything = load(results / "all.json") or {}
    stores = (load(results / "stores.json") or {}).get("callsetup", {})
    recording = load(results / "recording.json")
    lines = [BEGIN, ""]
    machine = everything.get("machine", {})
    if machine:
        pinned = "our server pinned to one core, the load generator to the other" \
            if everything.get("pinned") else "not pinned to cores"
        lines.append(f"Last `make bench`: {everything.get('started', '?')}, on "
                     f"{machine.get('cores', '?')} cores of {machine.get('cpu') or 'a CPU'}, "
                     f"{machine.get('memory_mib', '?')} MiB; Python {machine.get('python')}, "
                     f"Node {machine.get('node')}; {pinned}.")
        if everything.get("callsetup_rerun"):  # a call-setup run merged in after a change
            lines[-1] += (f" The call-setup rows of ours and Node are from a run of their own at "
                          f"{everything['callsetup_rerun']}; the Redis rows from the first.")
        lines.append("")
    lines += ["| figure | target | ours | reference (Node, same run) | ratio | met? |",
              "|---|---|---|---|---|---|"]
    setup = everything.get("callsetup", {})
    ours, node = setup.get("ours"), setup.get("node")
    for rate, goal in ((50.0, 20.0), (100.0, 30.0)):
        mine, theirs = step_at(ours, rate), step_at(node, rate)
        p99 = mine["setup_ms"]["p99"] if mine else None
        lines.append(f"| call setup p99, {rate:g} calls/s, memory store | ≤ {goal:g} ms | "
                     f"{fmt(p99, ' ms')} | "
                     f"{fmt(theirs['setup_ms']['p99'] if theirs else None, ' ms')} | "
                     f"{ratio(p99, theirs['setup_ms']['p99'] if theirs else None)} | "
                     f"{met(None if p99 is None else p99 <= goal)} |")
        on_redis = step_at(stores.get("redis"), rate)
        if on_redis:
            lines.append(f"| call setup p99, {rate:g} calls/s, Redis store | (beside it) | "
                         f"{fmt(on_redis['setup_ms']['p99'], ' ms')} | | | |")
    mine, theirs = step_at(ours, 50.0), step_at(node, 50.0)
    cpu = mine["server_cpu_ms_per_call"] if mine else None
    ref = theirs["server_cpu_ms_per_call"] if theirs else None
    lines.append(f"| server CPU per call, 50 calls/s | ≤ 2× Node's | {fmt(cpu, ' ms')} | "
                 f"{fmt(ref, ' ms')} | {ratio(cpu, ref)} | "
                 f"{met(None if not (cpu and ref) else cpu <= 2 * ref)} |")
    # The same workload to the heartbeat: Node pinging every 5 s, as ours does (contact_center.py).
    same_beat = step_at(setup.get("node-5s"), 50.0)
    if same_beat:
        ref = same_beat["server_cpu_ms_per_call"]
        lines.append(f"| server CPU per call, 50 calls/s, Node with our heartbeat (5 s) | "
                     f"≤ 2× Node's | {fmt(cpu, ' ms')} | {fmt(ref, ' ms')} | {ratio(cpu, ref)} | "
                     f"{met(None if not (cpu and ref) else cpu <= 2 * ref)} |")
    idle = everything.get("idle", {})
    mine_idle, node_idle = idle.get("ours"), idle.get("node")
    kib = mine_idle["kib_per_client_marginal"] if mine_idle else None
    ref_kib = node_idle["kib_per_client_marginal"] if node_idle else None
    lines.append(f"| memory per idle client, {mine_idle['clients'] if mine_idle else '?'} clients "
                 f"| ≤ 30 KiB | {fmt(kib, ' KiB')} | {fmt(ref_kib, ' KiB')} | "
                 f"{ratio(kib, ref_kib)} | {met(None if kib is None else kib <= 30)} |")
    if mine_idle:
        probe = mine_idle["probe_ms"]["p99"]
        lines.append(f"| answer p99 with {mine_idle['connected']} idle clients connected | "
                     f"≤ 50 ms | {fmt(probe, ' ms')} | "
                     f"{fmt(node_idle['probe_ms']['p99'] if node_idle else None, ' ms')} | | "
                     f"{met(probe <= 50)} |")
    rows = everything.get("select", {}).get("rows", [])
    biggest = max((r["agents"] for r in rows), default=None)
    for row in (r for r in rows if r["agents"] == biggest):
        if row["strategy"] == "ring-all":
            per_agent = row["dispatch_us"] / row["agents"]
            lines.append(f"| enqueue → offer, ring-all, {biggest:,} agents | ≤ 20 µs per agent "
                         f"rung | {per_agent:.1f} µs per agent ({row['dispatch_us'] / 1000:.0f}"
                         f" ms) | | | {met(per_agent <= 20)} |")
        else:
            lines.append(f"| enqueue → offer, {row['strategy']}, {biggest:,} agents | ≤ 100 µs "
                         f"| {fmt(row['dispatch_us'], ' µs')} | scan of all agents: "
                         f"{fmt(row.get('scan_us'), ' µs')} | | "
                         f"{met(row['dispatch_us'] <= 100)} |")
    for row in recording or []:
        lines.append(f"| recording: {row['label']} | {row['target']} | {row['ours']} | "
                     f"{row.get('reference', '')} | {row.get('ratio', '')} | "
                     f"{met(row.get('met'))} |")
    lines += ["", "The figures' history and what was changed to reach them are in the sections "
              "below.", "", END]
    return "\n".join(lines)


def rewrite(doc: Path, text: str) -> None:
    page = doc.read_text()
    if BEGIN in page and END in page:
        head, rest = page.split(BEGIN, 1)
        page = head + text + rest.split(END, 1)[1]
    else:  # the first time: after the page's opening paragraph
        title, _, body = page.partition("\n\n")
        intro, _, rest = body.partition("\n\n")
        page = f"{title}\n\n{intro}\n\n{text}\n\n{rest}"
    doc.write_text(page)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--results", default=str(ROOT / "var" / "bench"))
    p.add_argument("--doc", default=str(ROOT / "docs" / "benchmarks.md"))
    args = p.parse_args(argv)
    text = section(Path(args.results))
    rewrite(Path(args.doc), text)
    sys.stdout.write(text + "\n")


if __name__ == "__main__":
    main()
