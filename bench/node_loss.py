"""From `kill -9` of one of two server processes to every one of its clients resumed on the other.

    python bench/node_loss.py [--pairs 50] [--rounds 3]

Starts a `redis-server`, two `callcenter serve` processes on it (one SQLite history in one
folder) and Debian's nginx in front of both (scripts/bootstrap.sh test installs it). `--pairs`
pairs of Python clients connect through nginx, which spreads them over the two processes, and
each pair is put in a call. Then, each round, one process is killed with SIGKILL; every client
whose connection dropped resumes through nginx as soon as it notices (again every 50 ms while
nginx finds no process), and the time from the kill to its resumed hello ack is noted. Each
resumed call is checked: a signal from one side reaches the other. The killed process is then
started again on its port for the next round. Prints p50, p99 and the longest, per round and
over all; nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from store_round_trips import APP, SECRET, free_port, redis_server  # noqa: E402

from callcenter.client.call_client import AUDIO_CALL, CallClient, CallClientError  # noqa: E402
from callcenter.domain.credentials import Role, mint  # noqa: E402
from callcenter.testing.nginx import nginx_config  # noqa: E402


def config(port: int, store_url: str) -> str:
    return "\n".join([
        "[server]", 'host = "127.0.0.1"', f"port = {port}", 'rate_limit = "10000/second"',
        "", "[signaling]", "resume_window = 30", "", "[recording]", "workers = 0",
        "", "[store]", f'url = "{store_url}"',
        "", "[[apps]]", f'id = "{APP}"', f'secret = "{SECRET}"', "customer_direct_calls = true",
    ]) + "\n"


def wait_port(port: int, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"process on port {port} exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


def serve(folder: Path, port: int, store_url: str) -> subprocess.Popen:
    path = folder / f"callcenter-{port}.toml"
    path.write_text(config(port, store_url))
    log = open(folder / f"server-{port}.log", "ab")  # noqa: SIM115 - the child owns it
    process = subprocess.Popen(
        [sys.executable, "-m", "callcenter", "serve", "--config", str(path), "--host",
         "127.0.0.1", "--port", str(port)], stdout=log, stderr=subprocess.STDOUT, cwd=folder,
        env=dict(os.environ, PYTHONUNBUFFERED="1"))
    wait_port(port, process)
    return process


def nginx(folder: Path, one: int, two: int) -> tuple[subprocess.Popen, int]:
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    if not os.path.exists(binary):
        sys.exit("nginx is not installed: scripts/bootstrap.sh test")
    port = free_port()
    (folder / "nginx").mkdir()
    conf = folder / "nginx" / "nginx.conf"
    conf.write_text(nginx_config(folder / "nginx", port, [one, two], connections=4096))
    process = subprocess.Popen([binary, "-p", str(folder / "nginx"), "-c", str(conf)])
    wait_port(port, process)
    return process, port


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def resume_when_dropped(client: CallClient, killed_at: float, within: float = 30
                              ) -> float | None:
    """Seconds from the kill to this client's resumed ack; None if it never dropped."""
    try:
        await client.wait_disconnected(timeout=2)
    except TimeoutError:
        return None  # on the process that lives
    deadline = killed_at + within
    while time.monotonic() < deadline:
        try:
            ack = await client.resume(timeout=5)
        except CallClientError:
            await asyncio.sleep(0.05)
            continue
        if ack.get("resumed") is not True:
            raise RuntimeError(f"{client.user_id} was not resumed: {ack}")
        return time.monotonic() - killed_at
    raise RuntimeError(f"{client.user_id} did not resume within {within} s")


async def run(pairs: int, rounds: int) -> None:
    folder = Path(tempfile.mkdtemp(prefix="callcenter-node-loss-"))
    (folder / "redis").mkdir()
    with redis_server(folder / "redis") as redis_port:
        store = f"redis://127.0.0.1:{redis_port}/0"
        ports = [free_port(), free_port()]
        procs = [serve(folder, port, store) for port in ports]
        proxy, proxy_port = nginx(folder, *ports)
        url = f"http://127.0.0.1:{proxy_port}"
        clients: list[CallClient] = []
        try:
            calls = []
            for i in range(pairs):
                alice, bob = CallClient(url, APP), CallClient(url, APP)
                clients += [alice, bob]
                await alice.login(f"a{i}", mint(APP, SECRET, f"a{i}", Role.CUSTOMER, 3600))
                await bob.login(f"b{i}", mint(APP, SECRET, f"b{i}", Role.CUSTOMER, 3600))
                call_id = await alice.call(bob.user_id, AUDIO_CALL)
                await bob.next_event("invited", callId=call_id)
                await bob.accept(call_id)
                await alice.next_event("user_accept", callId=call_id)
                calls.append((call_id, alice, bob))
            every: list[float] = []
            for n in range(rounds):
                victim = n % 2
                await asyncio.sleep(1.5)  # both processes have beaten since the last round
                procs[victim].send_signal(signal.SIGKILL)
                procs[victim].wait(5)
                killed_at = time.monotonic()
                times = [t for t in await asyncio.gather(
                    *(resume_when_dropped(c, killed_at) for c in clients)) if t is not None]
                for call_id, alice, bob in calls:
                    await alice.signal(call_id, bob.user_id, "candidate",
                                       {"candidate": f"r{n}"})
                    await bob.next_event("signal", callId=call_id, kind="candidate", timeout=10)
                every += times
                print(f"round {n + 1}: killed process {victim + 1}; {len(times)} of "
                      f"{len(clients)} clients resumed on the other: p50 "
                      f"{percentile(times, 0.5):.3f} s, p99 {percentile(times, 0.99):.3f} s, "
                      f"longest {max(times):.3f} s; every call went on", flush=True)
                procs[victim] = serve(folder, ports[victim], store)
            print(f"all rounds: {len(every)} resumes, p50 {percentile(every, 0.5):.3f} s, "
                  f"p99 {percentile(every, 0.99):.3f} s, longest {max(every):.3f} s")
        finally:
            await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)
            proxy.terminate()
            for process in procs:
                process.terminate()
            for process in (proxy, *procs):
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    process.kill()
            shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(run(args.pairs, args.rounds))


if __name__ == "__main__":
    main()
