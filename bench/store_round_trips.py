"""What the Redis store costs a call: N call setups and hang-ups (invite, accept, hangup between
two Python clients, one after another; `--pairs K`: K pairs of clients at once) against a server
on the memory store and one on Redis, in the same run. Prints calls per second for each, the Redis
commands per call (from `INFO commandstats` before and after: these count the commands our
scripts run inside Redis too), and the round trips per call by command (Redis's MONITOR over a
few more calls made by one pair, without the commands scripts run).

    python bench/store_round_trips.py [--calls 300] [--pairs 1]

Starts its own `redis-server` (no persistence) and both servers on free ports of 127.0.0.1.
Numbers only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from callcenter.client.call_client import CallClient  # noqa: E402
from callcenter.domain.credentials import Role, mint  # noqa: E402

SECRET = "bench-secret-0123456789abcdef0123456789abcdef"
APP = "bench"
STOP_MONITOR = "bench-store-round-trips-done"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def config(port: int, store_url: str) -> str:
    return "\n".join([
        "[server]", 'host = "127.0.0.1"', f"port = {port}", 'rate_limit = "10000/second"',
        "", "[recording]", "workers = 0", "", "[store]", f'url = "{store_url}"',
        "", "[[apps]]", f'id = "{APP}"', f'secret = "{SECRET}"', "customer_direct_calls = true",
    ]) + "\n"


@contextmanager
def redis_server(folder: Path) -> Iterator[int]:
    binary = shutil.which("redis-server")
    if binary is None:
        sys.exit("redis-server is not installed: scripts/bootstrap.sh test (or apt-get install "
                 "redis-server)")
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--daemonize", "no", "--dir", str(folder)],
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        yield port
    finally:
        process.terminate()
        process.wait(10)


@contextmanager
def server(folder: Path, store_url: str) -> Iterator[str]:
    port = free_port()
    path = folder / f"callcenter-{port}.toml"
    path.write_text(config(port, store_url))
    log = open(folder / f"server-{port}.log", "wb")  # noqa: SIM115 - the child owns it
    process = subprocess.Popen(
        [sys.executable, "-m", "callcenter", "serve", "--config", str(path), "--host",
         "127.0.0.1", "--port", str(port)], stdout=log, stderr=subprocess.STDOUT, cwd=folder,
        env=dict(os.environ, PYTHONPATH=str(ROOT)))
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                sys.exit(f"server exited: {(folder / f'server-{port}.log').read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(url + "/healthz", timeout=1):
                    break
            except (urllib.error.URLError, OSError):
                if time.monotonic() > deadline:
                    sys.exit("server did not come up")
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(15)


def command_counts(port: int) -> Counter[str]:
    """`INFO commandstats` as {command: calls}."""
    import redis

    info = redis.Redis(host="127.0.0.1", port=port).info("commandstats")
    return Counter({name.removeprefix("cmdstat_"): int(stats["calls"])
                    for name, stats in info.items()})


@contextmanager
def commands_sent(port: int, counts: Counter[str]) -> Iterator[None]:
    """Count into ``counts`` the commands clients send Redis inside the block (MONITOR; the
    commands scripts run are left out)."""
    import redis

    ready = threading.Event()

    def listen() -> None:
        with redis.Redis(host="127.0.0.1", port=port).monitor() as monitor:
            ready.set()
            while True:
                command = monitor.next_command()
                if command["command"] == f"ECHO {STOP_MONITOR}":
                    return
                if command["client_type"] != "lua":
                    counts[command["command"].split(" ", 1)[0].lower()] += 1

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    ready.wait(5)
    try:
        yield
    finally:
        redis.Redis(host="127.0.0.1", port=port).echo(STOP_MONITOR)
        thread.join(10)


@contextmanager
def nothing() -> Iterator[None]:
    yield


async def run_calls(url: str, calls: int, pairs: int = 1,
                    around: Callable[[], AbstractContextManager[object]] = nothing) -> float:
    """Seconds for `calls` call setups and hang-ups in all, made by `pairs` pairs of clients at
    once, each pair one call after another (logged in before, out after); ``around()`` is
    entered for exactly those calls."""
    clients = []
    for i in range(pairs):
        caller, callee = CallClient(url, APP), CallClient(url, APP)
        clients.append((caller, callee))
        await caller.login(f"caller{i}", mint(APP, SECRET, f"caller{i}", Role.CUSTOMER, 3600))
        await callee.login(f"callee{i}", mint(APP, SECRET, f"callee{i}", Role.CUSTOMER, 3600))

    async def pair_calls(caller: CallClient, callee: CallClient, n: int) -> None:
        for _ in range(n):
            call_id = await caller.call(str(callee.user_id), 1)
            await callee.next_event("invited", callId=call_id)
            await callee.accept(call_id)
            await caller.next_event("user_accept", callId=call_id)
            await caller.hangup(call_id)
            await callee.next_event("call_end", callId=call_id)

    try:
        with around():
            started = time.perf_counter()
            await asyncio.gather(*(pair_calls(caller, callee, calls // pairs + (i < calls % pairs))
                                   for i, (caller, callee) in enumerate(clients)))
            return time.perf_counter() - started
    finally:
        for caller, callee in clients:
            await caller.close()
            await callee.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--pairs", type=int, default=1,
                        help="pairs of clients making calls at the same time")
    parser.add_argument("--monitored-calls", type=int, default=20,
                        help="calls run under MONITOR to count round trips")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cc-bench-store-") as tmp:
        folder = Path(tmp)
        with redis_server(folder) as redis_port:
            store = f"redis://127.0.0.1:{redis_port}/0"
            seconds: dict[str, float] = {}
            for name, url in (("memory", "memory://"), ("redis", store)):
                with server(folder, url) as server_url:
                    asyncio.run(run_calls(server_url, 10))  # warm-up, not counted
                    before: Counter[str] = Counter()

                    def stats_before(port: int = redis_port, into: Counter = before) -> Any:
                        into.update(command_counts(port))
                        return nothing()

                    seconds[name] = asyncio.run(run_calls(server_url, args.calls, args.pairs,
                                                          stats_before))
                    ran = command_counts(redis_port) - before
                    ran.pop("info", None)  # ours, reading the stats
                    sent: Counter[str] = Counter()
                    asyncio.run(run_calls(server_url, args.monitored_calls, 1,
                                          lambda into=sent: commands_sent(redis_port, into)))
                print(f"{name:>6}: {args.calls / seconds[name]:7.1f} calls/s "
                      f"({args.pairs} pair{'s' if args.pairs > 1 else ''} of clients at once)")
                if name == "redis":
                    print(f"        {sum(ran.values()) / args.calls:.1f} Redis commands per call, "
                          "counting those scripts run: " + per_call(ran, args.calls))
                    print(f"        {sum(sent.values()) / args.monitored_calls:.1f} round trips "
                          "per call (MONITOR, not counting what scripts run): "
                          + per_call(sent, args.monitored_calls))
            print(f"Redis store: {seconds['redis'] / seconds['memory']:.2f}x the memory store's "
                  f"time for {args.calls} calls ({args.pairs} at a time, login/logout excluded)")


def per_call(counts: Counter[str], calls: int) -> str:
    return ", ".join(f"{cmd} {n / calls:.1f}" for cmd, n in counts.most_common()
                     if n / calls >= 0.05)


if __name__ == "__main__":
    main()
