"""One load-generator process: many `CallClient`s (callcenter/client/call_client.py) in one asyncio
loop.

The bench parent (bench/contact_center.py) starts several of these, pinned to the load
generator's core, and drives them with one JSON object per line on stdin; each answers one JSON
line on stdout per command:

    {"cmd": "login", "url", "agents": [ids], "customers": [ids], "concurrency"}
        log the clients in (agents also choose `available`); answer how long it took
    {"cmd": "run", "rate", "duration", "talk", "step", "start_at", "seed"}
        customers arrive at `rate` calls/s (Poisson) for `duration` s from `start_at`
        (time.monotonic, which is the same clock in every process): an idle customer joins the
        queue, waits for the agent (who auto-answers), talks `talk` s and hangs up; answers when
        the last arrival has started (calls may still be going on)
    {"cmd": "drain", "timeout"}   wait until every call started has finished
    {"cmd": "records"}            hand over (and forget) the per-call timestamps
    {"cmd": "probe", "count"}     `count` clients send `hello`; answer the round trips
    {"cmd": "close"}              disconnect everyone and exit

Timestamps are time.monotonic() taken when the client hands the event or ack over; the parent
joins the customer's and the agent's records of a call by callId.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import random
import sys
import time
import warnings
from collections import Counter, deque
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

warnings.filterwarnings("ignore")

from common import APP, QUEUE, SECRET  # noqa: E402

from callcenter.client.call_client import VIDEO_CALL, CallClient, CallClientError  # noqa: E402
from callcenter.domain.credentials import mint  # noqa: E402

now = time.monotonic
# A client keeps its recent events for next_event(); the generator reads them through listeners,
# so a short history is enough and keeps 10,000 clients small.
MAX_EVENTS = 64


class CallState:
    """What one process saw of one call (a customer's or an agent's side, or both)."""

    __slots__ = ("accepted", "user_accept", "user_enter", "offer_at", "agent", "accept_sent",
                 "accept_ack", "agent_end", "accept_error")

    def __init__(self) -> None:
        self.accepted: asyncio.Future[None] | None = None
        self.user_accept = self.user_enter = self.offer_at = self.accept_sent = None
        self.accept_ack = self.agent_end = None
        self.agent: str | None = None
        self.accept_error: str | None = None


class Generator:
    def __init__(self) -> None:
        self.agents: list[CallClient] = []
        self.customers: list[CallClient] = []
        self.idle: deque[CallClient] = deque()
        self.calls: dict[str, CallState] = {}
        self.records: list[dict[str, Any]] = []  # customer side, one per arrival
        self.inflight: set[asyncio.Task] = set()
        self.errors: Counter[str] = Counter()
        self.dropped = 0

    def state(self, call_id: str) -> CallState:
        st = self.calls.get(call_id)
        if st is None:
            st = self.calls[call_id] = CallState()
        return st

    # -- logging in ------------------------------------------------------------------------

    async def login(self, url: str, agents: list[str], customers: list[str],
                    concurrency: int) -> dict[str, Any]:
        started = now()
        limit = asyncio.Semaphore(concurrency)
        failures: Counter[str] = Counter()

        async def one(user: str, role: str) -> None:
            client = CallClient(url, APP, max_events=MAX_EVENTS)
            token = mint(APP, SECRET, user, role, 24 * 3600)
            async with limit:
                try:
                    await client.login(user, token, timeout=60)
                    if role == "agent":
                        await client.agent_status("available")
                except (CallClientError, OSError, TimeoutError) as exc:
                    failures[getattr(exc, "code", type(exc).__name__)] += 1
                    await client.close()
                    return
            if role == "agent":
                client.add_listener(self._agent_listener(client))
                self.agents.append(client)
            else:
                client.add_listener(self._customer_listener)
                self.customers.append(client)
                self.idle.append(client)

        await asyncio.gather(*(one(a, "agent") for a in agents),
                             *(one(c, "customer") for c in customers))
        return {"seconds": round(now() - started, 3), "agents": len(self.agents),
                "customers": len(self.customers), "failures": dict(failures)}

    # -- the two sides of a call -----------------------------------------------------------

    def _agent_listener(self, client: CallClient):
        def on_event(name: str, data: Any) -> None:
            if name == "offer":
                st = self.state(data["callId"])
                st.offer_at, st.agent = now(), client.user_id
                self._spawn(self._accept(client, data["callId"], st))
            elif name == "call_end":
                st = self.calls.get(data.get("callId"))
                if st is not None:
                    st.agent_end = now()
        return on_event

    async def _accept(self, client: CallClient, call_id: str, st: CallState) -> None:
        st.accept_sent = now()
        try:
            ack = await client.request("accept", {"callId": call_id}, timeout=60)
        except CallClientError as exc:
            st.accept_error = exc.code
            self.errors[f"accept:{exc.code}"] += 1
            return
        st.accept_ack = now()
        if not (isinstance(ack, dict) and ack.get("ok")):
            st.accept_error = str((ack or {}).get("error", {}).get("code"))
            self.errors[f"accept:{st.accept_error}"] += 1

    def _customer_listener(self, name: str, data: Any) -> None:
        if name not in ("user_accept", "user_enter") or not isinstance(data, dict):
            return
        st = self.state(data.get("callId", ""))
        if name == "user_accept":
            st.user_accept = now()
            if st.accepted is not None and not st.accepted.done():
                st.accepted.set_result(None)
        else:
            st.user_enter = now()

    async def _customer_call(self, client: CallClient, talk: float, step: int) -> None:
        rec: dict[str, Any] = {"step": step}
        self.records.append(rec)
        try:
            rec["enqueue_sent"] = now()
            ack = await client.request("enqueue", {"queue": QUEUE, "type": VIDEO_CALL},
                                       timeout=60)
            rec["enqueue_ack"] = now()
            if not (isinstance(ack, dict) and ack.get("ok")):
                rec["error"] = f"enqueue:{(ack or {}).get('error', {}).get('code')}"
                return
            call_id = rec["callId"] = ack["callId"]
            st = self.state(call_id)
            if st.user_accept is None:
                st.accepted = asyncio.get_running_loop().create_future()
                try:
                    await asyncio.wait_for(st.accepted, 60)
                except TimeoutError:
                    rec["error"] = "no_answer"
            await asyncio.sleep(talk)
            rec["hangup_sent"] = now()
            ack = await client.request("hangup", {"callId": call_id}, timeout=60)
            rec["hangup_ack"] = now()
            if not (isinstance(ack, dict) and ack.get("ok")):
                rec.setdefault("error", f"hangup:{(ack or {}).get('error', {}).get('code')}")
        except CallClientError as exc:
            rec["error"] = exc.code
        finally:
            if "error" in rec:
                self.errors[rec["error"]] += 1
            if client.connected:
                self.idle.append(client)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self.inflight.add(task)
        task.add_done_callback(self.inflight.discard)

    # -- commands --------------------------------------------------------------------------

    async def run(self, rate: float, duration: float, talk: float, step: int, start_at: float,
                  seed: int) -> dict[str, Any]:
        rng = random.Random(seed)
        loop = asyncio.get_running_loop()
        offset = loop.time() - now()  # loop.time() is monotonic too, maybe with an offset
        t = start_at + offset
        end = t + duration
        arrivals = dropped = 0
        while True:
            t += rng.expovariate(rate) if rate > 0 else duration
            if t >= end:
                break
            delay = t - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            if not self.idle:
                dropped += 1
                continue
            arrivals += 1
            self._spawn(self._customer_call(self.idle.popleft(), talk, step))
        self.dropped += dropped
        return {"arrivals": arrivals, "dropped": dropped}

    async def drain(self, timeout: float) -> dict[str, Any]:
        deadline = now() + timeout
        while self.inflight and now() < deadline:
            await asyncio.sleep(0.05)
        return {"inflight": len(self.inflight)}

    def take_records(self) -> dict[str, Any]:
        customer, self.records = self.records, []
        agent = {cid: {"offer_at": st.offer_at, "agent": st.agent, "accept_sent": st.accept_sent,
                       "accept_ack": st.accept_ack, "agent_end": st.agent_end,
                       "accept_error": st.accept_error, "user_accept": st.user_accept,
                       "user_enter": st.user_enter}
                 for cid, st in self.calls.items()}
        # Keep only calls still going on.
        active = {r.get("callId") for r in customer if "hangup_ack" not in r}
        self.calls = {cid: st for cid, st in self.calls.items() if cid in active}
        return {"customer": customer, "calls": agent, "errors": dict(self.errors),
                "dropped": self.dropped}

    async def probe(self, count: int) -> dict[str, Any]:
        clients = (self.customers + self.agents)[:count]
        rtts: list[float] = []
        failures = 0

        async def one(client: CallClient) -> None:
            nonlocal failures
            started = now()
            try:
                ack = await client.request("hello", {}, timeout=30)
                if isinstance(ack, dict) and ack.get("ok"):
                    rtts.append(now() - started)
                    return
            except CallClientError:
                pass
            failures += 1

        await asyncio.gather(*(one(c) for c in clients))
        connected = sum(1 for c in self.customers + self.agents if c.connected)
        return {"rtts": rtts, "failures": failures, "connected": connected}

    async def close(self) -> None:
        clients = self.agents + self.customers
        for i in range(0, len(clients), 500):
            await asyncio.gather(*(c.close() for c in clients[i:i + 500]),
                                 return_exceptions=True)


async def main() -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=2 ** 26)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    out = sys.stdout
    gen = Generator()

    def answer(cmd: str, **data: Any) -> None:
        out.write(json.dumps({"cmd": cmd, "pid": os.getpid(), **data}) + "\n")
        out.flush()

    while True:
        line = await reader.readline()
        if not line:
            break
        msg = json.loads(line)
        cmd = msg.pop("cmd")
        if cmd == "login":
            answer(cmd, **await gen.login(msg["url"], msg["agents"], msg["customers"],
                                          msg.get("concurrency", 50)))
            # A full collection over thousands of clients stalls this process for 0.1 s or
            # more, which would show as server latency: a run is short, so the generator
            # keeps its garbage instead.
            gc.collect()
            gc.freeze()
            gc.disable()
        elif cmd == "run":
            answer(cmd, **await gen.run(**msg))
        elif cmd == "drain":
            answer(cmd, **await gen.drain(msg.get("timeout", 60)))
        elif cmd == "records":
            answer(cmd, **gen.take_records())
        elif cmd == "probe":
            answer(cmd, **await gen.probe(msg.get("count", 10)))
        elif cmd == "close":
            await gen.close()
            answer(cmd)
            break


if __name__ == "__main__":
    asyncio.run(main())
