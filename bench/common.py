"""What the contact-center benchmarks share: starting our server or the Node reference on one
core, reading a process's CPU time and memory, percentiles, raising the open-files limit.

Servers listen on 127.0.0.1 only. Server processes are pinned to core 0 and the load generator to
core 1 (`taskset`), when the machine has two cores or more.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
NODE_REF = BENCH / "node-reference"
SECRET = "bench-secret-0123456789abcdef0123456789abcdef"
APP = "bench"
QUEUE = "q"
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")
SERVER_CORE, LOADGEN_CORE = 0, 1


def can_pin() -> bool:
    return shutil.which("taskset") is not None and len(os.sched_getaffinity(0)) >= 2


def pinned(cmd: list[str], core: int, pin: bool) -> list[str]:
    return ["taskset", "-c", str(core), *cmd] if pin else cmd


def pin_self(core: int, pin: bool) -> None:
    if pin:
        os.sched_setaffinity(0, {core})


def raise_nofile(want: int) -> tuple[int, int]:
    """Raise this process's open-files limit (inherited by the servers and workers it starts)
    towards `want`, as far as the hard limit allows; return (soft, hard) afterwards."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = want if hard == resource.RLIM_INFINITY else min(want, hard)
    if soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError):
            pass
    return resource.getrlimit(resource.RLIMIT_NOFILE)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads), from /proc."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/statm") as f:
        return int(f.read().split()[1]) * PAGE


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile (p in 0..100) of `values`; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def summary_ms(values: list[float]) -> dict[str, Any]:
    """p50/p95/p99/max of latencies given in seconds, in milliseconds."""
    def ms(v: float | None) -> float | None:
        return None if v is None else round(v * 1000, 2)
    return {"n": len(values), "p50": ms(percentile(values, 50)), "p95": ms(percentile(values, 95)),
            "p99": ms(percentile(values, 99)), "max": ms(max(values) if values else None)}


def machine() -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = int(line.split()[1]) // 1024
    except OSError:
        pass
    node = shutil.which("node")
    node_version = subprocess.run([node, "--version"], capture_output=True, text=True).stdout \
        .strip() if node else None
    return {"cpu": model, "cores": os.cpu_count(), "memory_mib": mem,
            "python": sys.version.split()[0], "node": node_version,
            "nofile": list(resource.getrlimit(resource.RLIMIT_NOFILE))}


# -- servers ---------------------------------------------------------------------------------------


@dataclass
class ServerProcess:
    kind: str  # "ours" or "node"
    url: str
    process: subprocess.Popen
    log_path: Path
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def pid(self) -> int:
        return self.process.pid

    def cpu(self) -> float:
        return cpu_seconds(self.pid)

    def rss(self) -> int:
        return rss_bytes(self.pid)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def agent_ids(n: int) -> list[str]:
    return [f"a{i:05d}" for i in range(n)]


def ours_config(port: int, agents: int, max_connections: int | None = None,
                rate_limit: str | None = None, other_app: bool = False,
                store_url: str | None = None) -> str:
    """A config with one app, one queue `q` (longest-idle, FIFO, wrap-up 0) served by `agents`
    agents; customers may call again at once (enqueue_rate), and nothing is recorded.
    `rate_limit` replaces the per-connection request limit; `other_app` adds a second app
    `other` with the same secret (a tenant whose users must hear nothing of the first);
    `store_url` the live-state store (`[store] url`, e.g. redis://...)."""
    lines = [
        "[server]", 'host = "127.0.0.1"', f"port = {port}",
        *([f"max_connections = {max_connections}"] if max_connections else []),
        *([f'rate_limit = "{rate_limit}"'] if rate_limit else []),
        "", "[recording]", "workers = 0",
        *(["", "[store]", f'url = "{store_url}"'] if store_url else []),
        "", "[contact_center]", 'enqueue_rate = "10000/minute"',
        "", "[[apps]]", f'id = "{APP}"', f'secret = "{SECRET}"', "",
        "[[apps.queues]]", f'name = "{QUEUE}"', "wrap_up = 0", "ring_timeout = 60",
        "max_wait = 3600", "max_length = 100000", 'when_empty = "join"', "reject_delay = 0",
    ]
    for agent in agent_ids(agents):
        lines += ["", "[[apps.agents]]", f'id = "{agent}"', 'password_hash = "x"',
                  f'queues = ["{QUEUE}"]']
    if other_app:
        lines += ["", "[[apps]]", 'id = "other"', f'secret = "{SECRET}"']
    return "\n".join(lines) + "\n"


def _wait_http(url: str, process: subprocess.Popen, log_path: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n"
                               f"{log_path.read_text(errors='replace')[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"server did not come up:\n{log_path.read_text(errors='replace')[-3000:]}")


def start_ours(workdir: Path, agents: int, pin: bool, max_connections: int | None = None,
               pythonpath: str | None = None, rate_limit: str | None = None,
               other_app: bool = False, store_url: str | None = None) -> ServerProcess:
    """`callcenter serve` on a free port, pinned to core 0. `pythonpath` puts another copy of
    the callcenter package first (to measure a version before a change)."""
    port = free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / f"callcenter-{port}.toml"
    config.write_text(ours_config(port, agents, max_connections, rate_limit, other_app,
                                  store_url))
    log_path = workdir / f"server-ours-{port}.log"
    log = open(log_path, "wb")  # noqa: SIM115 - the child owns it for its lifetime
    cmd = [sys.executable, "-m", "callcenter", "serve", "--config", str(config),
           "--host", "127.0.0.1", "--port", str(port)]
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    process = subprocess.Popen(pinned(cmd, SERVER_CORE, pin), stdout=log,
                               stderr=subprocess.STDOUT, cwd=workdir, env=env)
    url = f"http://127.0.0.1:{port}"
    _wait_http(url + "/healthz", process, log_path)
    return ServerProcess("ours", url, process, log_path)


def node_ready() -> bool:
    return shutil.which("node") is not None and (NODE_REF / "node_modules" / "socket.io").is_dir()


def install_node_reference() -> bool:
    """`npm ci` the reference server's dependencies when they are missing or stale; False when
    Node or npm is not installed."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        return False
    lock = NODE_REF / "package-lock.json"
    stamp = NODE_REF / "node_modules" / f".installed-{int(lock.stat().st_mtime)}-" \
                                         f"{lock.stat().st_size}"
    if not stamp.exists():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                       cwd=NODE_REF, check=True)
        stamp.touch()
    return True


def start_node(workdir: Path, pin: bool, heartbeat_ms: int | None = None) -> ServerProcess:
    """The Node reference; `heartbeat_ms`: its ping interval and timeout (socket.io's defaults,
    25 s and 20 s, unless given)."""
    port = free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    log_path = workdir / f"server-node-{port}.log"
    log = open(log_path, "wb")  # noqa: SIM115
    env = dict(os.environ, BENCH_SECRET=SECRET, BENCH_APP=APP, PORT=str(port))
    if heartbeat_ms:
        env.update(BENCH_PING_INTERVAL_MS=str(heartbeat_ms),
                   BENCH_PING_TIMEOUT_MS=str(heartbeat_ms))
    process = subprocess.Popen(pinned(["node", str(NODE_REF / "server.js")], SERVER_CORE, pin),
                               stdout=log, stderr=subprocess.STDOUT, cwd=NODE_REF, env=env)
    url = f"http://127.0.0.1:{port}"
    _wait_http(url + "/healthz", process, log_path)
    return ServerProcess("node", url, process, log_path)


def start_server(kind: str, workdir: Path, agents: int, pin: bool, **kw: Any) -> ServerProcess:
    if kind == "ours":
        return start_ours(workdir, agents, pin, **kw)
    if kind == "node":
        return start_node(workdir, pin, kw.get("heartbeat_ms"))
    raise ValueError(kind)


def write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n")
