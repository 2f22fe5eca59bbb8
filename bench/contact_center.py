"""Contact-center benchmarks: call setup under load, idle capacity, agent selection; ours and a
Node socket.io reference measured in the same run, on the same cores.

    .venv/bin/python bench/contact_center.py all           # what `make bench` runs (minutes)
    .venv/bin/python bench/contact_center.py callsetup --server ours --rates 25,50,100
    .venv/bin/python bench/contact_center.py idle --server node --clients 10000
    .venv/bin/python bench/contact_center.py select --sizes 10,100,1000,10000
    .venv/bin/python bench/contact_center.py smoke          # seconds; tests/test_bench_smoke.py
    .venv/bin/python bench/contact_center.py stores --rates 25,50 --agents 200 --customers 400
                                                            # the memory store against Redis
    .venv/bin/python bench/contact_center.py processes --rates 25,50,100,150 --agents 200 \
        --customers 400 --workers 4                         # one process on Redis against two

Call setup (scenario a): M agents log in and auto-answer; customers (a pool of C connected ones)
arrive at R calls/s (Poisson), join the queue, are offered to an agent who accepts, talk T s and
hang up. Per offered load, after a warm-up: enqueue → offer at the agent ("setup"), accept → the
agent's ack and the customer's user_accept ("connect"), hangup → the customer's ack and the
agent's call_end ("end"), as p50/p95/p99; calls/s sustained; the server's CPU per call; the load
generator's CPU (it must stay below one core, or the generator is the limit).

Idle capacity (scenario b): N customers log in (credential + `hello`) and stay idle; the server's
RSS per client, first-tenth to last (marginal) and overall; then some of them send `hello` to
show the server still answers.

Agent selection (scenario c): bench/select_agents.py, in this process, no server.

The server runs pinned to core 0 (`taskset -c 0`), the load generator's processes and this one
on core 1. Results go to var/bench/ (JSON) and, for `all`, the plot to docs/.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import (  # noqa: E402
    BENCH,
    LOADGEN_CORE,
    ROOT,
    agent_ids,
    can_pin,
    cpu_seconds,
    install_node_reference,
    machine,
    pin_self,
    pinned,
    raise_nofile,
    rss_bytes,
    start_server,
    summary_ms,
    write_json,
)

RESULTS = ROOT / "var" / "bench"
# The Node reference's call setup with our heartbeat (make bench; report.py reads this key).
NODE_OUR_HEARTBEAT = "node-5s"
PLOT = ROOT / "docs" / "benchmarks-call-setup.png"


# -- the load generator's processes ----------------------------------------------------------------


class Workers:
    """Load-generator processes (bench/loadgen.py), one JSON command and answer per line."""

    def __init__(self, procs: list[asyncio.subprocess.Process]) -> None:
        self.procs = procs

    @classmethod
    async def start(cls, n: int, pin: bool) -> Workers:
        procs = []
        for _ in range(n):
            cmd = pinned([sys.executable, str(BENCH / "loadgen.py")], LOADGEN_CORE, pin)
            procs.append(await asyncio.create_subprocess_exec(
                *cmd, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                limit=2 ** 28, cwd=ROOT))
        return cls(procs)

    async def ask(self, commands: list[dict[str, Any]], timeout: float = 600) -> list[dict]:
        """Send worker i commands[i]; return their answers in order."""
        for proc, command in zip(self.procs, commands, strict=True):
            proc.stdin.write((json.dumps(command) + "\n").encode())
            await proc.stdin.drain()

        async def answer(proc: asyncio.subprocess.Process) -> dict[str, Any]:
            line = await proc.stdout.readline()
            if not line:
                raise RuntimeError(f"load generator {proc.pid} exited ({await proc.wait()})")
            return json.loads(line)

        return list(await asyncio.wait_for(
            asyncio.gather(*(answer(p) for p in self.procs)), timeout))

    async def ask_all(self, command: dict[str, Any], timeout: float = 600) -> list[dict]:
        return await self.ask([command] * len(self.procs), timeout)

    def cpu(self) -> float:
        total = 0.0
        for proc in self.procs:
            try:
                total += cpu_seconds(proc.pid)
            except OSError:
                pass
        return total

    def rss(self) -> int:
        total = 0
        for proc in self.procs:
            try:
                total += rss_bytes(proc.pid)
            except OSError:
                pass
        return total

    async def close(self) -> None:
        try:
            await self.ask_all({"cmd": "close"}, timeout=120)
        except (RuntimeError, TimeoutError, BrokenPipeError, ConnectionResetError):
            pass
        for proc in self.procs:
            if proc.returncode is None:
                try:
                    await asyncio.wait_for(proc.wait(), 10)
                except TimeoutError:
                    proc.kill()
                    await proc.wait()


def split(items: list[str], n: int) -> list[list[str]]:
    return [items[i::n] for i in range(n)]


def self_cpu() -> float:
    t = os.times()
    return t.user + t.system


def generator_cpu(workers: Workers) -> float:
    """The whole load generator: its worker processes and this process."""
    return workers.cpu() + self_cpu()


async def sleep_until(t: float) -> None:
    delay = t - time.monotonic()
    if delay > 0:
        await asyncio.sleep(delay)


async def login_all(workers: Workers, url: str | list[str], agents: list[str],
                    customers: list[str], concurrency: int = 25) -> dict[str, Any]:
    """Each worker logs its share in; given several servers' URLs, worker i uses the i-th
    (round the list), so the agents and customers of each server are about even."""
    n = len(workers.procs)
    urls = [url] if isinstance(url, str) else url
    answers = await workers.ask([
        {"cmd": "login", "url": urls[i % len(urls)], "agents": a, "customers": c,
         "concurrency": concurrency}
        for i, (a, c) in enumerate(zip(split(agents, n), split(customers, n), strict=True))])
    failures: dict[str, int] = {}
    for a in answers:
        for code, count in a["failures"].items():
            failures[code] = failures.get(code, 0) + count
    return {"seconds": max(a["seconds"] for a in answers),
            "agents": sum(a["agents"] for a in answers),
            "customers": sum(a["customers"] for a in answers), "failures": failures}


# -- scenario (a): call setup under load -----------------------------------------------------------


class ServerGroup:
    """Several processes of ours on one Redis, measured as one server: CPU and memory summed."""

    def __init__(self, servers: list[Any]) -> None:
        self.servers = servers
        self.url = [s.url for s in servers]

    @property
    def pid(self) -> int:
        return self.servers[0].pid

    def cpu(self) -> float:
        return sum(s.cpu() for s in self.servers)

    def rss(self) -> int:
        return sum(s.rss() for s in self.servers)

    def alive(self) -> bool:
        return all(s.alive() for s in self.servers)

    def log(self) -> str:
        return "".join(s.log() for s in self.servers)

    def stop(self) -> None:
        for s in self.servers:
            s.stop()


def merge_calls(records: list[dict[str, Any]]) -> tuple[list[dict], dict[str, dict], dict]:
    """Join what every worker saw: customer-side records, and per callId the agent-side (and
    customer event) timestamps, whichever process saw them."""
    customer: list[dict] = []
    calls: dict[str, dict] = {}
    errors: dict[str, int] = {}
    for r in records:
        customer += r["customer"]
        for cid, seen in r["calls"].items():
            into = calls.setdefault(cid, {})
            for key, value in seen.items():
                if value is not None:
                    into[key] = value
        for code, count in r["errors"].items():
            errors[code] = errors.get(code, 0) + count
    return customer, calls, errors


def step_stats(step: dict[str, Any], customer: list[dict], calls: dict[str, dict]) -> dict:
    lo, hi = step["window"]
    window = hi - lo
    chosen = [r for r in customer if r["step"] == step["index"] and lo <= r["enqueue_sent"] < hi]
    setup, connect, end, enqueue_ack = [], [], [], []
    complete = failed = 0
    for r in chosen:
        c = calls.get(r.get("callId", ""), {})
        if "enqueue_ack" in r:
            enqueue_ack.append(r["enqueue_ack"] - r["enqueue_sent"])
        if "offer_at" in c:
            setup.append(c["offer_at"] - r["enqueue_sent"])
        if "accept_sent" in c and "accept_ack" in c and "user_accept" in c:
            connect.append(max(c["accept_ack"], c["user_accept"]) - c["accept_sent"])
        if "hangup_sent" in r and "hangup_ack" in r and "agent_end" in c:
            end.append(max(r["hangup_ack"], c["agent_end"]) - r["hangup_sent"])
            if "error" not in r:
                complete += 1
        if "error" in r:
            failed += 1
    offers_in_window = sum(1 for c in calls.values() if lo <= c.get("offer_at", -1) < hi)
    return {
        "offered_rate": step["rate"], "arrivals": len(chosen),
        "arrival_rate": round(len(chosen) / window, 2),
        "offer_rate": round(offers_in_window / window, 2),
        "completed": complete, "failed": failed, "dropped": step["dropped"],
        "setup_ms": summary_ms(setup), "connect_ms": summary_ms(connect),
        "end_ms": summary_ms(end), "enqueue_ack_ms": summary_ms(enqueue_ack),
        "server_cpu": round(step["server_cpu"] / window, 3),
        "server_cpu_ms_per_call": round(1000 * step["server_cpu"] / max(1, offers_in_window), 3),
        "helper_cpu_ms_per_call": round(1000 * step.get("helper_cpu", 0.0)
                                        / max(1, offers_in_window), 3),
        "generator_cpu": round(step["generator_cpu"] / window, 3),
        "generator_bound": step["generator_cpu"] / window > 0.9,
        "server_rss_mib": round(step["server_rss"] / 2 ** 20, 1),
    }


async def call_setup(kind: str, *, agents: int, customers: int, rates: list[float],
                     step_seconds: float, warmup: float, talk: float, workers: int, pin: bool,
                     workdir: Path, stop_p99_ms: float = 2000,
                     profiler: Any = None, pythonpath: str | None = None,
                     settle: float = 1.0, label: str | None = None,
                     store_url: str | None = None,
                     helper_cpu: Any = None, processes: int = 1,
                     heartbeat_ms: int | None = None) -> dict[str, Any]:
    """Scenario (a) against one server; one step per offered load, in increasing order, on the
    same logged-in clients. Stops after a step whose setup p99 exceeds `stop_p99_ms` (the
    server is saturated; the next steps would only measure a growing queue). `profiler(pid,
    seconds, rate)` starts a sampling profiler on the server for each step's window;
    `helper_cpu()` reads the CPU seconds of a process the server leans on (redis-server), counted
    per call beside the server's own. `processes` > 1 starts that many of ours on `store_url`
    (Redis), in one folder (one SQLite history), the clients spread over them. `heartbeat_ms`:
    the Node reference's ping interval and timeout (ours has its config's)."""
    options: dict[str, Any] = {"pythonpath": pythonpath} if pythonpath else {}
    if store_url:
        options["store_url"] = store_url
    if heartbeat_ms:
        options["heartbeat_ms"] = heartbeat_ms
    server: Any = start_server(kind, workdir, agents, pin, **options) if processes == 1 else \
        ServerGroup([start_server(kind, workdir, agents, pin, **options)
                     for _ in range(processes)])
    gen = await Workers.start(workers, pin)
    result: dict[str, Any] = {"server": kind, "processes": processes, "agents": agents,
                              "customers": customers,
                              "talk": talk, "step_seconds": step_seconds, "warmup": warmup,
                              "workers": workers, "steps": []}
    try:
        result["login"] = await login_all(gen, server.url, agent_ids(agents),
                                          [f"c{i:05d}" for i in range(customers)])
        await asyncio.sleep(2 * settle)  # let the login traffic (agent_update...) settle
        steps = []
        for index, rate in enumerate(rates):
            start_at = time.monotonic() + 0.3
            n = len(gen.procs)
            run = asyncio.ensure_future(gen.ask([
                {"cmd": "run", "rate": rate / n, "duration": step_seconds, "talk": talk,
                 "step": index, "start_at": start_at, "seed": 1000 * index + i}
                for i in range(n)]))
            await sleep_until(start_at + warmup)
            h0 = helper_cpu() if helper_cpu else 0.0
            s0, g0, t0 = server.cpu(), generator_cpu(gen), time.monotonic()
            spy = profiler(server.pid, step_seconds - warmup, rate) if profiler else None
            await sleep_until(start_at + step_seconds)
            s1, g1, t1 = server.cpu(), generator_cpu(gen), time.monotonic()
            h1 = helper_cpu() if helper_cpu else 0.0
            answers = await run
            if spy is not None:
                await asyncio.to_thread(spy.wait, 60)
            step = {"index": index, "rate": rate, "window": (t0, t1), "server_cpu": s1 - s0,
                    "generator_cpu": g1 - g0, "server_rss": server.rss(),
                    "dropped": sum(a["dropped"] for a in answers), "helper_cpu": h1 - h0}
            steps.append(step)
            if not server.alive():
                raise RuntimeError(f"the server died:\n{server.log()[-3000:]}")
            # A quick look at the step so far, to stop at saturation.
            drained = await gen.ask_all({"cmd": "drain", "timeout": talk + 60})
            records = await gen.ask_all({"cmd": "records"})
            customer, calls, errors = merge_calls(records)
            stats = step_stats(step, customer, calls)
            stats["errors"] = errors
            stats["left_inflight"] = sum(d["inflight"] for d in drained)
            result["steps"].append(stats)
            print(f"  {label or kind} {rate:g} calls/s: setup p50 {stats['setup_ms']['p50']} "
                  f"p99 {stats['setup_ms']['p99']} ms, connect p99 {stats['connect_ms']['p99']} "
                  f"ms, end p99 {stats['end_ms']['p99']} ms, {stats['offer_rate']} offers/s, "
                  f"server {stats['server_cpu']:.0%} CPU ({stats['server_cpu_ms_per_call']} ms"
                  f"/call), generator {stats['generator_cpu']:.0%}"
                  + (f", errors {errors}" if errors else ""), flush=True)
            p99 = stats["setup_ms"]["p99"]
            if p99 is None or p99 > stop_p99_ms or stats["failed"] > stats["arrivals"] * 0.05:
                result["saturated_at"] = rate
                break
        result["server_rss_mib_end"] = round(server.rss() / 2 ** 20, 1)
    finally:
        await gen.close()
        server.stop()
    if kind == "ours" and "Traceback" in server.log():
        result["server_traceback"] = server.log()[-3000:]
    return result


# -- scenario (b): idle capacity -------------------------------------------------------------------


async def idle_capacity(kind: str, *, clients: int, workers: int, pin: bool, workdir: Path,
                        probe: int = 200, max_connections: int | None = None,
                        settle: float = 1.0, pythonpath: str | None = None) -> dict[str, Any]:
    kw: dict[str, Any] = {"max_connections": max_connections} \
        if max_connections and kind == "ours" else {}
    if pythonpath and kind == "ours":
        kw["pythonpath"] = pythonpath
    server = start_server(kind, workdir, 0, pin, **kw)
    gen = await Workers.start(workers, pin)
    users = [f"i{i:05d}" for i in range(clients)]
    first = max(1, clients // 10)
    result: dict[str, Any] = {"server": kind, "clients": clients, "workers": workers}
    try:
        await asyncio.sleep(1 * settle)
        rss0 = server.rss()
        one = await login_all(gen, server.url, [], users[:first], concurrency=50)
        await asyncio.sleep(2 * settle)
        rss1 = server.rss()
        g_rss1 = gen.rss()
        c0 = server.cpu()
        rest = await login_all(gen, server.url, [], users[first:], concurrency=50)
        c1 = server.cpu()
        await asyncio.sleep(5 * settle)  # settle: late frees, the first pings
        rss2 = server.rss()
        probes = await gen.ask_all({"cmd": "probe", "count": max(1, probe // workers)})
        rtts = [r for p in probes for r in p["rtts"]]
        connected = sum(p["connected"] for p in probes)
        marginal = clients - first
        result.update({
            "connected": connected,
            "login_failures": {**one["failures"], **rest["failures"]},
            "logins_per_s": round((rest["customers"]) / max(rest["seconds"], 1e-9), 1),
            "server_cpu_ms_per_login": round(1000 * (c1 - c0) / max(1, rest["customers"]), 3),
            "server_rss_mib_start": round(rss0 / 2 ** 20, 1),
            "server_rss_mib_end": round(rss2 / 2 ** 20, 1),
            "kib_per_client_marginal": round((rss2 - rss1) / max(1, marginal) / 1024, 1),
            "kib_per_client_overall": round((rss2 - rss0) / clients / 1024, 1),
            "generator_kib_per_client": round((gen.rss() - g_rss1) / max(1, marginal) / 1024, 1),
            "probe_ms": summary_ms(rtts),
            "probe_failures": sum(p["failures"] for p in probes),
        })
        print(f"  {kind}: {connected}/{clients} connected, "
              f"{result['kib_per_client_marginal']} KiB/client (marginal), "
              f"{result['kib_per_client_overall']} KiB overall, "
              f"{result['logins_per_s']} logins/s, probe p99 {result['probe_ms']['p99']} ms",
              flush=True)
    finally:
        await gen.close()
        server.stop()
    return result


# -- plotting --------------------------------------------------------------------------------------


def plot(results: dict[str, Any], path: Path) -> bool:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed (pip install -e '.[bench]'); no plot", flush=True)
        return False
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(11, 4.2))
    colors = {"ours": "tab:blue", "node": "tab:green", "ours-before": "tab:gray"}
    for name, run in results.items():
        steps = [s for s in run["steps"] if s["setup_ms"]["p99"] is not None]
        if not steps:
            continue
        x = [s["offered_rate"] for s in steps]
        color = colors.get(name, None)
        label = {"ours": "callcenter (Flask-SocketIO + eventlet)",
                 "node": "Node socket.io reference",
                 "ours-before": "callcenter before the fix"}.get(name, name)
        ax.plot(x, [s["setup_ms"]["p99"] for s in steps], "o-", color=color, label=f"{label} p99")
        ax.plot(x, [s["setup_ms"]["p50"] for s in steps], "x--", color=color, alpha=0.7,
                label=f"{label} p50")
        bx.plot(x, [100 * s["server_cpu"] for s in steps], "o-", color=color, label=label)
    ax.axhline(20, color="tab:red", lw=0.8, ls=":", label="goal: p99 ≤ 20 ms")
    ax.set_yscale("log")
    ax.set_xlabel("offered load (new calls/s)")
    ax.set_ylabel("enqueue → offer latency (ms)")
    ax.set_title("Call setup latency")
    ax.legend(fontsize=7)
    ax.grid(True, which="both", alpha=0.3)
    bx.set_xlabel("offered load (new calls/s)")
    bx.set_ylabel("server CPU (% of one core)")
    bx.set_title("Server CPU")
    bx.grid(True, alpha=0.3)
    bx.legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


# -- commands --------------------------------------------------------------------------------------


def floats(text: str) -> list[float]:
    return [float(x) for x in text.split(",") if x]


def ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x]


def servers(choice: str) -> list[str]:
    if choice == "both":
        return ["ours", "node"] if install_node_reference() else ["ours"]
    if choice == "node" and not install_node_reference():
        raise SystemExit("node/npm not found: the Node reference cannot run")
    return [choice]


def ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 2) if a and b else None


def compare(callsetup: dict[str, Any], idle: dict[str, Any]) -> dict[str, Any]:
    """Ours against Node at the offered loads both ran."""
    out: dict[str, Any] = {}
    ours, node = callsetup.get("ours"), callsetup.get("node")
    if ours and node:
        by_rate = {s["offered_rate"]: s for s in node["steps"]}
        rows = []
        for s in ours["steps"]:
            n = by_rate.get(s["offered_rate"])
            if n is None:
                continue
            rows.append({"rate": s["offered_rate"],
                         "setup_p99_ratio": ratio(s["setup_ms"]["p99"], n["setup_ms"]["p99"]),
                         "server_cpu_per_call_ratio": ratio(s["server_cpu_ms_per_call"],
                                                            n["server_cpu_ms_per_call"])})
        out["callsetup"] = rows
    if idle.get("ours") and idle.get("node"):
        out["idle_kib_per_client_ratio"] = ratio(idle["ours"]["kib_per_client_marginal"],
                                                 idle["node"]["kib_per_client_marginal"])
    return out


async def profile(args: argparse.Namespace, pin: bool, workdir: Path
                  ) -> tuple[dict[str, Any], dict[str, Any]]:
    """Call setup of ours under py-spy; a summary of each step's profile."""
    import profile_server
    spy = profile_server.profiler(RESULTS)
    print(f"call setup under py-spy: ours, {args.agents} agents", flush=True)
    callsetup = {"ours": await call_setup(
        "ours", agents=args.agents, customers=args.customers, rates=floats(args.rates),
        step_seconds=args.step, warmup=args.warmup, talk=args.talk,
        workers=args.workers, pin=pin, workdir=workdir / "profile", profiler=spy,
        pythonpath=args.ours_pythonpath, store_url=args.store_url)}
    profiles = {}
    for step in callsetup["ours"]["steps"]:
        raw = RESULTS / f"profile-{step['offered_rate']:g}.txt"
        if raw.exists():
            summary = profile_server.summarize(raw)
            profiles[f"{step['offered_rate']:g}"] = summary
            text = profile_server.format_summary(summary)
            raw.with_suffix(".summary.txt").write_text(text + "\n")
            print(f"profile at {step['offered_rate']:g} calls/s ({raw}):\n{text}", flush=True)
    return callsetup, profiles


async def stores(args: argparse.Namespace, pin: bool, workdir: Path) -> dict[str, Any]:
    """Scenario (a) on the memory store and on a Redis store ([store] url), one after the
    other in the same run, with the same clients, rates and cores. redis-server (no
    persistence) is not pinned: it takes its share of the two cores; its own CPU per call is
    reported beside the server's, from its INFO counters."""
    import redis
    from store_round_trips import redis_server

    results: dict[str, Any] = {}
    (workdir / "redis").mkdir(parents=True, exist_ok=True)
    with redis_server(workdir / "redis") as redis_port:
        info = redis.Redis(port=redis_port)

        def redis_cpu() -> float:
            cpu = info.info("cpu")
            return float(cpu["used_cpu_user"]) + float(cpu["used_cpu_sys"])

        for label, url in (("memory", None), ("redis", f"redis://127.0.0.1:{redis_port}/0")):
            print(f"call setup on the {label} store: {args.agents} agents, {args.customers} "
                  f"customers, talk {args.talk:g} s", flush=True)
            results[label] = await call_setup(
                "ours", agents=args.agents, customers=args.customers, rates=floats(args.rates),
                step_seconds=args.step, warmup=args.warmup, talk=args.talk,
                workers=args.workers, pin=pin, workdir=workdir / f"stores-{label}",
                settle=args.settle, label=label, store_url=url, helper_cpu=redis_cpu)
    for rate in floats(args.rates):
        row = []
        for label in ("memory", "redis"):
            step = next((s for s in results[label]["steps"] if s["offered_rate"] == rate), None)
            if step is not None:
                row.append(f"{label}: setup p50 {step['setup_ms']['p50']} p99 "
                           f"{step['setup_ms']['p99']} ms, server {step['server_cpu_ms_per_call']}"
                           f" + redis {step['helper_cpu_ms_per_call']} ms CPU/call")
        print(f"  {rate:g} calls/s: " + "; ".join(row), flush=True)
    return results


async def processes(args: argparse.Namespace, pin: bool, workdir: Path) -> dict[str, Any]:
    """Scenario (a) on Redis with one server process, then with two, in the same run. The
    servers are not pinned (two processes on core 0 alone could not gain anything), so they,
    redis-server and the load generator share the two cores: the generator's share is reported
    with each step, and whatever it takes the servers do not have."""
    import redis
    from store_round_trips import redis_server

    results: dict[str, Any] = {}
    (workdir / "redis").mkdir(parents=True, exist_ok=True)
    with redis_server(workdir / "redis") as redis_port:
        info = redis.Redis(port=redis_port)
        url = f"redis://127.0.0.1:{redis_port}/0"

        def redis_cpu() -> float:
            cpu = info.info("cpu")
            return float(cpu["used_cpu_user"]) + float(cpu["used_cpu_sys"])

        for count in (1, 2):
            info.flushdb()
            label = f"{count} process" + ("es" if count > 1 else "")
            print(f"call setup on Redis, {label}: {args.agents} agents, {args.customers} "
                  f"customers, talk {args.talk:g} s", flush=True)
            results[label] = await call_setup(
                "ours", agents=args.agents, customers=args.customers, rates=floats(args.rates),
                step_seconds=args.step, warmup=args.warmup, talk=args.talk,
                workers=args.workers, pin=False, workdir=workdir / f"processes-{count}",
                settle=args.settle, label=label, store_url=url, helper_cpu=redis_cpu,
                processes=count)
    for label, result in results.items():
        top = max((s for s in result["steps"] if s["failed"] <= s["arrivals"] * 0.05),
                  key=lambda s: s["offer_rate"], default=None)
        if top is not None:
            print(f"  {label}: at most {top['offer_rate']} calls/s offered to agents "
                  f"(offered {top['offered_rate']:g}), setup p99 {top['setup_ms']['p99']} ms, "
                  f"generator {top['generator_cpu']:.0%} of a core", flush=True)
    return results


# Benchmarks of two set-ups side by side, in one run.
PAIRED = {"stores": stores, "processes": processes}


async def call_setups(args: argparse.Namespace, kinds: list[str], pin: bool, workdir: Path
                      ) -> dict[str, Any]:
    """Scenario (a) for each server of the run, by label."""
    results: dict[str, Any] = {}
    for kind in kinds:
        label = args.ours_label if kind == "ours" else kind
        print(f"call setup: {label}, {args.agents} agents, {args.customers} customers, "
              f"talk {args.talk:g} s", flush=True)
        results[label] = await call_setup(
            kind, agents=args.agents, customers=args.customers, rates=floats(args.rates),
            step_seconds=args.step, warmup=args.warmup, talk=args.talk,
            workers=args.workers, pin=pin, workdir=workdir / f"callsetup-{label}",
            pythonpath=args.ours_pythonpath if kind == "ours" else None,
            settle=args.settle, label=label,
            store_url=args.store_url if kind == "ours" else None)
    if args.command == "all" and "node" in kinds:
        # The same workload to the heartbeat: socket.io's defaults ping every 25 s, ours
        # every 5 s ([signaling]), five times the PINGs and PONGs per call.
        print("call setup: node with our heartbeat (5 s), 50 calls/s", flush=True)
        results[NODE_OUR_HEARTBEAT] = await call_setup(
            "node", agents=args.agents, customers=args.customers,
            rates=[r for r in floats(args.rates) if r <= 50] or floats(args.rates)[:1],
            step_seconds=args.step, warmup=args.warmup, talk=args.talk,
            workers=args.workers, pin=pin, workdir=workdir / "callsetup-node-5s",
            settle=args.settle, label=NODE_OUR_HEARTBEAT, heartbeat_ms=5000)
    return results


async def run_all(args: argparse.Namespace) -> dict[str, Any]:
    pin = can_pin() and not args.no_pin
    pin_self(LOADGEN_CORE, pin)
    nofile = raise_nofile(args.clients * 2 + 4096)
    workdir = Path(tempfile.mkdtemp(prefix="callcenter-bench-"))
    report: dict[str, Any] = {"machine": machine(), "pinned": pin, "nofile": list(nofile),
                              "started": time.strftime("%Y-%m-%d %H:%M:%S")}
    try:
        kinds = servers(args.server) if args.command != "profile" else ["ours"]
        if args.command in ("all", "select"):
            import select_agents
            print("agent selection (in-process)", flush=True)
            report["select"] = select_agents.run(ints(args.sizes), args.select_seconds)
        if args.command in ("all", "callsetup"):
            report["callsetup"] = await call_setups(args, kinds, pin, workdir)
        if args.command in ("all", "idle"):
            report["idle"] = {}
            for kind in kinds:
                label = args.ours_label if kind == "ours" else kind
                print(f"idle capacity: {label}, {args.clients} clients", flush=True)
                report["idle"][label] = await idle_capacity(
                    kind, clients=args.clients, workers=args.idle_workers, pin=pin,
                    workdir=workdir / f"idle-{label}", settle=args.settle,
                    pythonpath=args.ours_pythonpath)
        if args.command == "profile":
            report["callsetup"], report["profiles"] = await profile(args, pin, workdir)
        if args.command in PAIRED:
            report["callsetup"] = await PAIRED[args.command](args, pin, workdir)
        report["compare"] = compare(report.get("callsetup", {}), report.get("idle", {}))
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    out = Path(args.out) if args.out else RESULTS / f"{args.command}.json"
    write_json(out, report)
    print(f"results: {out}", flush=True)
    if args.command in ("all", "callsetup") and report.get("callsetup") and not args.no_plot:
        series = dict(report["callsetup"])
        for extra in args.plot_extra:
            series.update(json.loads(Path(extra).read_text()).get("callsetup", {}))
        if plot(series, Path(args.plot)):
            print(f"plot: {args.plot}", flush=True)
    return report


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("command", choices=["all", "callsetup", "idle", "select", "profile", "smoke",
                                       "stores", "processes"])
    p.add_argument("--server", choices=["ours", "node", "both"], default="both")
    p.add_argument("--agents", type=int, default=1000)
    p.add_argument("--customers", type=int, default=2000)
    p.add_argument("--rates", default="25,50,100,150,200,300",
                   help="offered loads, new calls/s, comma-separated (increasing)")
    p.add_argument("--step", type=float, default=10, help="seconds per offered load")
    p.add_argument("--warmup", type=float, default=3, help="seconds of each step not measured")
    p.add_argument("--talk", type=float, default=3, help="seconds each call lasts")
    p.add_argument("--workers", type=int, default=3, help="load-generator processes")
    p.add_argument("--clients", type=int, default=10000, help="idle clients")
    p.add_argument("--idle-workers", type=int, default=4)
    p.add_argument("--sizes", default="10,100,1000,10000", help="agents, for selection")
    p.add_argument("--select-seconds", type=float, default=0.3,
                   help="time per selection measurement")
    p.add_argument("--no-pin", action="store_true", help="do not pin to cores")
    p.add_argument("--no-plot", action="store_true")
    p.add_argument("--plot", default=str(PLOT))
    p.add_argument("--out", default=None, help="results JSON (default var/bench/COMMAND.json)")
    p.add_argument("--keep", action="store_true", help="keep the servers' logs and configs")
    p.add_argument("--ours-pythonpath", default=None,
                   help="run our server from another copy of the package (PYTHONPATH), e.g. "
                        "`git archive HEAD callcenter | tar -x -C DIR` to measure a change")
    p.add_argument("--ours-label", default="ours", help="name of our server's results")
    p.add_argument("--plot-extra", action="append", default=[],
                   help="also plot the call-setup series of this results JSON (repeatable)")
    p.add_argument("--store-url", default=None,
                   help="callsetup, profile: our server's [store] url (a redis:// of your own)")
    p.add_argument("--settle", type=float, default=1.0,
                   help="scale the pauses that let logins settle (the smoke run uses 0.2)")
    return p


SMOKE = ["--agents", "4", "--customers", "8", "--rates", "4", "--step", "2.5", "--warmup", "0.5",
         "--talk", "0.2", "--workers", "2", "--clients", "30", "--idle-workers", "2",
         "--sizes", "10,100", "--select-seconds", "0.02", "--no-plot", "--settle", "0.2"]


def main(argv: list[str] | None = None) -> dict[str, Any]:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["smoke"]:
        argv = ["all", *SMOKE, *argv[1:]]
    args = parser().parse_args(argv)
    if shutil.which("node") is None and args.server == "node":
        raise SystemExit("node is not installed")
    return asyncio.run(run_all(args))


if __name__ == "__main__":
    main()
