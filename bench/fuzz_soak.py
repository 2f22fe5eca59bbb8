"""Soak a real server with fuzzed Socket.IO events: every request of docs/protocol.md with random
fields and values (binary, NaN, huge numbers, deep nesting, lone surrogates), reserved and unknown
event names, other tenants' ids, sent by clients of every role.

Prints events/s, acks missing, INTERNAL answers and tracebacks in the server's log (the last three
must be 0), beside a reference measured in the same run on the same server: the same clients
sending valid `hello` requests.

    python bench/fuzz_soak.py                      # 100,000 fuzzed events
    python bench/fuzz_soak.py --events 2000 --out r.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import string
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402
    APP,
    LOADGEN_CORE,
    SECRET,
    can_pin,
    machine,
    pin_self,
    start_ours,
    write_json,
)

from callcenter.client.call_client import CallClient, CallClientError  # noqa: E402
from callcenter.domain import access  # noqa: E402
from callcenter.domain.credentials import mint  # noqa: E402
from callcenter.testing import protocol  # noqa: E402

RESERVED = ["connect", "disconnect", "*", "connect_error", "message", "error"]
ROLES = ("customer", "agent", "supervisor", "service")
# Requests in flight per client: enough to keep the server busy, few enough that the server's
# per-connection rate limit (raised for this run) is what the clients meet, not a backlog.
IN_FLIGHT = 8
ACK_TIMEOUT = 10.0


class Fuzzer:
    """Random requests; ``ids`` are other tenants' user and call ids to aim at."""

    def __init__(self, seed: int, ids: list[str]) -> None:
        self.rng = random.Random(seed)
        self.ids = ids

    def text(self, longest: int = 24) -> str:
        alphabet = string.printable + "éü中\u200b\U0001f600"
        return "".join(self.rng.choice(alphabet) for _ in range(self.rng.randint(0, longest)))

    def value(self, depth: int = 0) -> Any:
        pick = self.rng.random()
        if depth < 4 and pick < 0.15:
            return [self.value(depth + 1) for _ in range(self.rng.randint(0, 3))]
        if depth < 4 and pick < 0.3:
            return {self.text(8): self.value(depth + 1) for _ in range(self.rng.randint(0, 3))}
        return self.rng.choice([
            None, True, False, self.rng.randint(-2 ** 70, 2 ** 70), self.rng.random() * 1e6,
            float("nan"), float("inf"), self.text(), self.rng.choice(self.ids),
            bytes(self.rng.randrange(256) for _ in range(self.rng.randint(0, 8))), "\ud800",
            "x" * self.rng.choice([1, 100, 5000]), [[[[[[[[[[]]]]]]]]]],
        ])

    def request(self) -> tuple[str, Any]:
        pick = self.rng.random()
        if pick < 0.7:
            event = self.rng.choice(list(access.SOCKET))
            keys = protocol.fields_of(event) + ["extra"]
            payload: Any = {k: self.value() for k in self.rng.sample(
                keys, self.rng.randint(0, len(keys)))}
        elif pick < 0.8:
            event, payload = self.rng.choice(RESERVED), self.value()
        else:
            event, payload = self.text(40) or "?", self.value()
        if self.rng.random() < 0.1:
            payload = self.value()  # not an object at all
        return event, payload


class Results:
    def __init__(self) -> None:
        self.sent = 0
        self.missing = 0
        self.codes: Counter[str] = Counter()

    def add(self, ack: Any) -> None:
        if not isinstance(ack, dict) or not isinstance(ack.get("ok"), bool):
            self.codes["BAD_ACK_SHAPE"] += 1
        elif ack["ok"]:
            self.codes["ok"] += 1
        else:
            self.codes[str((ack.get("error") or {}).get("code"))] += 1


async def login(url: str, app: str, user: str, role: str) -> CallClient:
    client = CallClient(url, app, max_events=200)
    await client.login(user, mint(app, SECRET, user, role, 3600))
    return client


async def drive(url: str, role: str, user: str, count: int, next_request: Any,
                results: Results) -> None:
    """One client sends `count` requests, IN_FLIGHT at a time, logging in again whenever a
    request (logout, a kick) ended its session."""
    client = await login(url, APP, user, role)
    left = count
    try:
        while left > 0:
            if not client.connected:
                await client.close()
                client = await login(url, APP, user, role)
            batch = min(IN_FLIGHT, left)
            left -= batch
            results.sent += batch
            sent = [next_request() for _ in range(batch)]
            acks = await asyncio.gather(*(client.request(*r, timeout=ACK_TIMEOUT) for r in sent),
                                        return_exceptions=True)
            if any(event == "logout" and isinstance(ack, dict) and ack.get("ok")
                   for (event, _), ack in zip(sent, acks, strict=True)):
                # The server closes a logged-out connection a moment later: wait for it rather
                # than fill that moment with requests answered NOT_LOGGED_IN.
                await client.wait_disconnected(timeout=2)
            for ack in acks:
                if isinstance(ack, CallClientError) and ack.code == "NOT_CONNECTED":
                    continue  # sent after this batch's logout: the connection was closing
                if isinstance(ack, BaseException):
                    results.missing += 1
                else:
                    results.add(ack)
    finally:
        await client.close()


async def run(url: str, events: int, clients: int, seed: int) -> dict[str, Any]:
    # Another tenant's ids to aim at: users logged in in app `other`.
    others = [await login(url, "other", f"o{i}", role) for i, role in enumerate(ROLES)]
    ids = [c.user_id for c in others] + ["c_0123456789abcdef"]
    per_client = events // clients

    async def phase(make: Any) -> tuple[Results, float]:
        results = Results()
        started = time.perf_counter()
        await asyncio.gather(*(drive(url, ROLES[i % len(ROLES)], f"{ROLES[i % 4][:4]}{i}",
                                     per_client, make(i), results) for i in range(clients)))
        return results, time.perf_counter() - started

    reference, ref_seconds = await phase(lambda i: lambda: ("hello", {}))
    fuzzers = [Fuzzer(seed + i, ids) for i in range(clients)]
    fuzzed, fuzz_seconds = await phase(lambda i: fuzzers[i].request)
    leaked = sum(len(c.events) for c in others)
    for client in others:
        await client.close()
    return {
        "reference": {"events": reference.sent, "seconds": round(ref_seconds, 2),
                      "events_per_s": round(reference.sent / ref_seconds),
                      "missing_acks": reference.missing, "codes": dict(reference.codes)},
        "fuzzed": {"events": fuzzed.sent, "seconds": round(fuzz_seconds, 2),
                   "events_per_s": round(fuzzed.sent / fuzz_seconds),
                   "missing_acks": fuzzed.missing, "internal": fuzzed.codes["INTERNAL"],
                   "bad_ack_shape": fuzzed.codes["BAD_ACK_SHAPE"],
                   "codes": dict(fuzzed.codes.most_common())},
        "other_tenant_events": leaked,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    pin = can_pin()
    with tempfile.TemporaryDirectory(prefix="cc-soak-") as folder:
        server = start_ours(Path(folder), agents=4, pin=pin, rate_limit="100000/second",
                            other_app=True)
        pin_self(LOADGEN_CORE, pin)
        try:
            report = asyncio.run(run(server.url, args.events, args.clients, args.seed))
            report["server_cpu_s"] = round(server.cpu(), 2)
        finally:
            server.stop()
        log = server.log()
    report["tracebacks"] = log.count("Traceback")
    report["warnings"] = log.count(" WARNING ")
    report["machine"] = machine()
    ref, fuzz = report["reference"], report["fuzzed"]
    print(f"reference (valid hello): {ref['events']} events in {ref['seconds']} s = "
          f"{ref['events_per_s']} events/s, missing acks {ref['missing_acks']}")
    print(f"fuzzed:                  {fuzz['events']} events in {fuzz['seconds']} s = "
          f"{fuzz['events_per_s']} events/s ({fuzz['events_per_s'] / ref['events_per_s']:.2f}× "
          f"the reference)")
    print(f"missing acks {fuzz['missing_acks']}, INTERNAL {fuzz['internal']}, "
          f"tracebacks {report['tracebacks']}, acks of the wrong shape {fuzz['bad_ack_shape']}, "
          f"events reaching the other app {report['other_tenant_events']}")
    print("answers:", json.dumps(fuzz["codes"]))
    if args.out:
        write_json(args.out, report)
    clean = (fuzz["missing_acks"] == 0 and fuzz["internal"] == 0 and report["tracebacks"] == 0
             and fuzz["bad_ack_shape"] == 0 and report["other_tenant_events"] == 0)
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main())
