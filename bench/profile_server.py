"""Sample our server with py-spy during the call-setup benchmark and say where its CPU goes.

    .venv/bin/python bench/contact_center.py profile --rates 25   # installs py-spy if missing

py-spy attaches to the running `callcenter serve` (root, or ptrace allowed) for each step's
measurement window and writes collapsed stacks (`--format raw`); `summarize` turns them into
self time by function and by package, and inclusive time of our own functions.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")
# py-spy names files relative to their sys.path entry: "callcenter/domain/agents.py",
# "eventlet/hubs/hub.py", "threading.py".
OURS = ("callcenter/", "plugins/", "callcenter_plugins/")
PACKAGES = [
    ("callcenter (ours)", OURS),
    ("eventlet", ("eventlet/",)),
    ("engineio", ("engineio/",)),
    ("socketio", ("socketio/",)),
    ("flask_socketio", ("flask_socketio/",)),
    ("flask/werkzeug", ("flask/", "werkzeug/")),
    ("simple_websocket/wsproto", ("simple_websocket/", "wsproto/", "h11/")),
    ("json", ("json/",)),
    ("pydantic", ("pydantic",)),
    ("limits", ("limits/",)),
    ("jwt", ("jwt/",)),
    ("logging", ("logging/",)),
    ("pluggy", ("pluggy/",)),
    ("dataclasses (generated __eq__)", ("<string>",)),
    ("stdlib threading/socket/selectors", ("threading.py", "socket.py", "selectors.py",
                                           "contextlib.py", "queue.py")),
]


def ours(file: str) -> bool:
    return file.startswith(OURS)


def py_spy() -> str:
    """The py-spy executable, installed into this Python's environment when missing."""
    local = Path(sys.executable).parent / "py-spy"
    if local.exists():
        return str(local)
    found = shutil.which("py-spy")
    if found:
        return found
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "py-spy"], check=True)
    return str(local)


def profiler(outdir: Path) -> Any:
    """A `profiler(pid, seconds, rate)` for call_setup: py-spy record of one step's window."""
    exe = py_spy()
    outdir.mkdir(parents=True, exist_ok=True)

    def start(pid: int, seconds: float, rate: float) -> subprocess.Popen:
        out = outdir / f"profile-{rate:g}.txt"
        return subprocess.Popen(
            [exe, "record", "--pid", str(pid), "--duration", str(max(1, int(seconds))),
             "--rate", os.environ.get("BENCH_SPY_RATE", "100"), "--format", "raw",
             "--nonblocking", "-o", str(out)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    return start


def parse(path: Path) -> list[tuple[list[tuple[str, str]], int]]:
    stacks = []
    for line in path.read_text(errors="replace").splitlines():
        line = line.strip()
        if not line:
            continue
        body, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        frames = []
        for raw in body.split(";"):
            m = FRAME.match(raw.strip())
            if m:
                frames.append((m["func"], m["file"]))
        stacks.append((frames, int(count)))
    return stacks


def package(file: str) -> str:
    for name, marks in PACKAGES:
        if file.startswith(marks):
            return name
    return "other"


def short(func: str, file: str) -> str:
    return f"{func} ({file})"


def summarize(path: Path, top: int = 25) -> dict[str, Any]:
    stacks = parse(path)
    total = sum(c for _, c in stacks) or 1
    self_fn: Counter[str] = Counter()
    self_pkg: Counter[str] = Counter()
    ours_incl: Counter[str] = Counter()
    in_ours = 0
    for frames, count in stacks:
        if not frames:
            continue
        func, file = frames[-1]
        self_fn[short(func, file)] += count
        self_pkg[package(file)] += count
        seen = set()
        for f, fl in frames:
            if ours(fl):
                key = short(f, fl)
                if key not in seen:
                    seen.add(key)
                    ours_incl[key] += count
        if any(ours(fl) for _, fl in frames):
            in_ours += count

    def pct(counter: Counter[str], n: int) -> list[list[Any]]:
        return [[name, round(100 * c / total, 1)] for name, c in counter.most_common(n)]

    return {"samples": total, "self_by_package": pct(self_pkg, 20),
            "self_by_function": pct(self_fn, top),
            "inclusive_ours": pct(ours_incl, top),
            "under_our_code_pct": round(100 * in_ours / total, 1)}


def format_summary(summary: dict[str, Any]) -> str:
    lines = [f"{summary['samples']} samples; {summary['under_our_code_pct']} % with a frame of "
             "our code on the stack", "", "self time by package:"]
    lines += [f"  {p:6.1f} %  {n}" for n, p in summary["self_by_package"]]
    lines += ["", "self time by function:"]
    lines += [f"  {p:6.1f} %  {n}" for n, p in summary["self_by_function"]]
    lines += ["", "inclusive time of our functions:"]
    lines += [f"  {p:6.1f} %  {n}" for n, p in summary["inclusive_ours"]]
    return "\n".join(lines)


if __name__ == "__main__":
    print(format_summary(summarize(Path(sys.argv[1]))))
