"""Which of our modules one queue call passes through, measured on a real server.

    python bench/queue_call_path.py            # this checkout
    python bench/queue_call_path.py --json     # the same, machine-readable

A `callcenter serve` child runs under a profile hook (installed by this script, not by the
product) that notes every call from one of our modules into another. Once an agent is logged in
and available, the notes are cleared; then one customer joins a queue, the agent is offered the
call, answers, hangs up and wraps up, and the notes are read: the modules passed and the calls
that crossed from one module into another (the "back and forth"). Start-up and logins are left
out. It runs the same on an older checkout of the project (the imports below try both layouts),
which is how the before/after in the architecture notes was measured.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SECRET = "bench-secret-0123456789abcdef0123456789abcd"
OURS = ("callcenter", "callcenter_plugins")
CONFIG = """
[server]
host = "127.0.0.1"
port = {port}

[database]
url = "sqlite:///{db}"

[[apps]]
id = "demo"
secret = "{secret}"

[[apps.queues]]
name = "q"
wrap_up = 30
ring_timeout = 10
when_empty = "join"

[[apps.agents]]
id = "a1"
password_hash = "x"
queues = ["q"]
"""


# -- the server child: `callcenter serve` under a profile hook ----------------------------------


def _ours(module: str | None) -> bool:
    return bool(module) and module.split(".")[0] in OURS


def serve_profiled(argv: list[str], out: Path) -> None:
    modules: Counter[str] = Counter()
    crossings: Counter[tuple[str, str]] = Counter()

    def profile(frame: Any, event: str, arg: Any) -> None:
        if event != "call":
            return
        callee = frame.f_globals.get("__name__")
        if not _ours(callee):
            return
        modules[callee] += 1
        caller = frame.f_back.f_globals.get("__name__") if frame.f_back else None
        if _ours(caller) and caller != callee:
            crossings[(caller, callee)] += 1

    def reset(*_: Any) -> None:
        modules.clear()
        crossings.clear()

    def dump(*_: Any) -> None:
        out.write_text(json.dumps({"modules": dict(modules), "crossings": [
            [a, b, n] for (a, b), n in crossings.items()]}))

    signal.signal(signal.SIGUSR1, reset)
    signal.signal(signal.SIGUSR2, dump)
    sys.setprofile(profile)
    threading.setprofile(profile)
    sys.argv = ["callcenter", *argv]
    import runpy
    runpy.run_module("callcenter", run_name="__main__")


# -- the driver: one queue call ------------------------------------------------------------------


def _client_api() -> tuple[Any, Any]:
    try:
        from callcenter.client.call_client import CallClient
        from callcenter.domain.credentials import mint
    except ImportError:  # the layout before the layer folders
        from callcenter.credentials import mint  # type: ignore[no-redef]

        from callcenter.client import CallClient  # type: ignore[no-redef]
    return CallClient, mint


async def one_queue_call(url: str, server: subprocess.Popen) -> None:
    CallClient, mint = _client_api()
    agent, customer = CallClient(url, "demo"), CallClient(url, "demo")
    try:
        await agent.login("a1", mint("demo", SECRET, "a1", "agent", 600))
        await agent.agent_status("available")
        await customer.login("cust", mint("demo", SECRET, "cust", "customer", 600))
        await asyncio.sleep(1.5)  # the once-a-second tick settles; it is not the call's path
        server.send_signal(signal.SIGUSR1)
        await asyncio.sleep(0.2)
        joined = await customer.enqueue("q", 1)
        offer = await agent.next_event("offer", callId=joined["callId"])
        await agent.accept(offer["callId"])
        await customer.next_event("user_enter", callId=offer["callId"])
        await agent.hangup(offer["callId"])
        await agent.wrap_up(offer["callId"], "resolved", "measured")
        await asyncio.sleep(0.5)  # the history writes the record
        server.send_signal(signal.SIGUSR2)
        await asyncio.sleep(0.5)
    finally:
        await agent.close()
        await customer.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def measure() -> dict[str, Any]:
    import requests

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        port = _free_port()
        config = work / "callcenter.toml"
        config.write_text(CONFIG.format(port=port, db=work / "calls.db", secret=SECRET))
        out = work / "path.json"
        log = open(work / "server.log", "wb")  # noqa: SIM115 - the child writes it
        server = subprocess.Popen(
            [sys.executable, __file__, "--serve", str(out), "serve", "--config", str(config),
             "--host", "127.0.0.1", "--port", str(port)],
            stdout=log, stderr=subprocess.STDOUT, cwd=work,
            env=dict(os.environ, PYTHONPATH=str(ROOT)))
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if requests.get(url + "/healthz", timeout=1).ok:
                        break
                except requests.RequestException:
                    pass
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError((work / "server.log").read_text()[-3000:])
                time.sleep(0.2)
            asyncio.run(one_queue_call(url, server))
            return json.loads(out.read_text())
        finally:
            server.terminate()
            server.wait(15)


def report(found: dict[str, Any]) -> dict[str, Any]:
    modules = sorted(found["modules"])
    crossings = found["crossings"]
    pairs = {frozenset((a, b)) for a, b, _ in crossings}
    both_ways = sorted(" <-> ".join(sorted(p)) for p in pairs
                       if len(p) == 2 and all(any((x, y) == (a, b) for a, b, _ in crossings)
                                              for x, y in [tuple(p), tuple(p)[::-1]]))
    return {"modules": len(modules), "module_names": modules,
            "calls_across_modules": sum(n for *_, n in crossings),
            "module_pairs_called_both_ways": both_ways}


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--serve":
        serve_profiled(sys.argv[3:], Path(sys.argv[2]))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = report(measure())
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"modules a queue call passes: {result['modules']}")
    for name in result["module_names"]:
        print(f"  {name}")
    print(f"calls from one of our modules into another: {result['calls_across_modules']}")
    print("module pairs that call each other both ways:")
    for pair in result["module_pairs_called_both_ways"]:
        print(f"  {pair}")


if __name__ == "__main__":
    main()
