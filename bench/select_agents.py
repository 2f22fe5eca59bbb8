"""Agent selection microbenchmark (scenario c): every stock strategy at 10 to 10,000 agents,
in-process, through the real PluginHost and stock plugins; no server.

    .venv/bin/python bench/select_agents.py [--sizes 10,100,1000,10000] [--seconds 0.3]

Three measurements per strategy and size, all agents available, waiting and eligible:
- `plugin`: the strategy plugin's registered `select` function alone, given the list;
- `host`: `PluginHost.select_agents` (the guarded hook call the contact center makes: every
  implementation in pluggy's order until one answers, with the failure guard);
- `dispatch`: `ContactCenter.enqueue` of one customer, timed whole: the queue order, finding the
  eligible agents, the hook, the offer (ring-all: to every agent) and the customers' positions;
  the call is then abandoned (not timed) so every round starts alike.
Times are medians of many rounds, in microseconds.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from callcenter.config import parse  # noqa: E402
from callcenter.domain.agents import AgentStatus  # noqa: E402
from callcenter.domain.calls import Call, CallType, Leg, Limits, Switchboard  # noqa: E402
from callcenter.domain.contact_center import ContactCenter
from callcenter.domain.credentials import Identity, Role  # noqa: E402
from callcenter.domain.free_agents import Candidates  # noqa: E402
from callcenter.domain.queue_call import QueuedCall  # noqa: E402
from callcenter.hooks.host import PluginHost  # noqa: E402
from callcenter.store import MemoryStore  # noqa: E402

APP = "bench"
STOCK_PLUGINS = ["round-robin", "ring-all", "fewest-calls", "least-talk-time", "random",
                 "skills", "priority"]
# Strategy -> the plugin (name in the plugin host) that answers for it.
STRATEGIES = {"longest-idle": "longest-idle", "round-robin": "round-robin",
              "ring-all": "ring-all", "fewest-calls": "fewest-calls",
              "least-talk-time": "least-talk-time", "random": "random", "skills": "skills"}
GOAL_US = 100.0


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def world(strategy: str, n: int) -> tuple[ContactCenter, PluginHost, Clock]:
    rng = random.Random(n)
    data = {
        "apps": [{
            "id": APP, "secret": "s" * 40,
            "queues": [{"name": "q", "strategy": strategy, "when_empty": "join",
                        "max_length": 100000, "wrap_up": 0, "reject_delay": 0}],
            "agents": [{"id": f"a{i:05d}", "password_hash": "x", "queues": ["q"],
                        "skills": {"en": rng.randint(1, 100), "de": rng.randint(1, 100)}}
                       for i in range(n)],
        }],
        "plugins": {"enable": STOCK_PLUGINS},
    }
    config = parse(data)
    plugins = PluginHost(config)
    plugins.load()
    plugins.startup()
    clock = Clock()
    center = ContactCenter(config, Switchboard(MemoryStore(), Limits(), clock), plugins)
    for agent in center.agents.values():
        # Logged in, available, with some history so that every strategy has work to do.
        agent.connected = True
        agent.status = AgentStatus.AVAILABLE
        agent.logged_in_at = clock.now - rng.uniform(3600, 7200)
        agent.answered = rng.randint(0, 50)
        agent.talk_time = rng.uniform(0, 3000)
        agent.last_call_end = clock.now - rng.uniform(0, 3600) if agent.answered else None
    # As the server does after start-up (serve.py): the objects made so far are frozen out of
    # the collector and young collections are rarer, so a round is not charged for a full
    # collection of the 10,000 agents.
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    return center, plugins, clock


# serve.py's (not imported: importing the server patches the standard library for eventlet)
GC_THRESHOLDS = (10_000, 50, 1000)


def timed(fn: Any, seconds: float, min_rounds: int = 5, max_rounds: int = 200_000,
          reset: Any = None) -> float:
    """Median seconds of `fn()` over as many rounds as fit in `seconds` (bounded)."""
    times: list[float] = []
    deadline = time.perf_counter() + seconds
    while len(times) < max_rounds and (len(times) < min_rounds
                                       or time.perf_counter() < deadline):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
        if reset is not None:
            reset()
    return statistics.median(times)


def measure(strategy: str, n: int, seconds: float) -> dict[str, Any]:
    center, plugins, clock = world(strategy, n)
    queue = center._queue(APP, "q")
    agents = Candidates(center._free(APP, "q"), clock.now)  # what the contact center passes
    call = QueuedCall(Call(id="bench", app_id=APP, sponsor="c0", type=CallType.AUDIO,
                           group=False, timeout=0, created_at=clock.now - 5, data=None,
                           legs={"c0": Leg.JOINED}, queue="q"),
                      attributes={"language": "en"}, verified={}, priority=0)
    owner, select = plugins.strategies[strategy]
    assert owner == STRATEGIES[strategy], owner
    assert select(queue, call, agents, clock.now), f"{strategy} chose nobody"
    plugin_s = timed(lambda: select(queue, call, agents, clock.now), seconds)
    host_s = timed(lambda: plugins.select_agents(queue, call, agents, clock.now), seconds)

    # The reference, in the same run: what finding the candidates cost by scanning every agent
    # of the queue (the routing before the free-agent indexes), with the old longest-idle pick.
    everyone = list(center._agents_of(APP, "q"))

    def scan() -> Any:
        free = [a for a in everyone if a.can_take(queue, clock.now)]
        return min(free, key=lambda a: (a.idle_since, a.id))

    scan_s = timed(scan, seconds)

    seq = iter(range(10 ** 9))
    last: dict[str, str] = {}

    def enqueue() -> None:
        customer = f"c{next(seq)}"
        out = center.enqueue(Identity(APP, customer, Role.CUSTOMER, 0, {}), "q", 1,
                             {"language": "en"})
        assert any(n.event == "offer" for n in out.notices), "no offer made"
        last["customer"], last["call"] = customer, out.reply["callId"]

    def abandon() -> None:
        center.hangup(APP, last["customer"], last["call"])
        clock.now += 0.001

    dispatch_s = timed(enqueue, seconds, min_rounds=3, max_rounds=20_000, reset=abandon)
    return {"strategy": strategy, "agents": n, "plugin_us": round(plugin_s * 1e6, 1),
            "host_us": round(host_s * 1e6, 1), "dispatch_us": round(dispatch_s * 1e6, 1),
            "scan_us": round(scan_s * 1e6, 1)}


def run(sizes: list[int], seconds: float) -> dict[str, Any]:
    rows = []
    for strategy in STRATEGIES:
        for n in sizes:
            row = measure(strategy, n, seconds)
            rows.append(row)
            print(f"  {strategy:16} {n:6} agents: plugin {row['plugin_us']:9.1f} µs, "
                  f"host {row['host_us']:9.1f} µs, enqueue→offer {row['dispatch_us']:10.1f} µs "
                  f"(reference, a scan of the agents: {row['scan_us']:9.1f} µs)",
                  flush=True)
    return {"goal_us": GOAL_US, "rows": rows}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default="10,100,1000,10000")
    p.add_argument("--seconds", type=float, default=0.3)
    p.add_argument("--out", default=None)
    args = p.parse_args()
    result = run([int(s) for s in args.sizes.split(",")], args.seconds)
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
