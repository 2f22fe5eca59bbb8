"""Helpers for the contact-center integration tests: config builders, agent and customer logins,
and waiting for offers and agent states across many clients.

A module usually shares one server whose config gives every test its own queue(s) and agents, so
tests cannot disturb each other through agent state (an agent id is fixed by the config, unlike
the random ids of `clients`).
"""

from __future__ import annotations

import asyncio
import functools
import json
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from signaling_helpers import unique
from werkzeug.security import generate_password_hash

from callcenter.client.call_client import VIDEO_CALL, CallClient, CallClientError

PASSWORD = "agent-password-123"
ORIGIN = "https://shop.example"

# Plugins of the stock strategies and queueing disciplines (docs/config.md).
STRATEGY_PLUGINS = ["round-robin", "ring-all", "fewest-calls", "least-talk-time", "random",
                    "skills"]


@functools.cache
def password_hash() -> str:
    """One scrypt hash for every agent (hashing costs ~0.1 s each)."""
    return generate_password_hash(PASSWORD)


# -- config ---------------------------------------------------------------------------------------


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(str(k))} = {toml_value(v)}"
                                for k, v in value.items()) + " }"
    raise TypeError(f"no TOML for {value!r}")


def _table(header: str, keys: dict[str, Any]) -> str:
    lines = [header] + [f"{key} = {toml_value(value)}" for key, value in keys.items()
                        if value is not None]
    return "\n".join(lines)


def queue(name: str, **keys: Any) -> dict[str, Any]:
    """An `[[apps.queues]]` table. Tests default to short times and wrap_up 0."""
    return {"name": name, "wrap_up": 0, "ring_timeout": 10, "reject_delay": 0,
            "when_empty": "join", **keys}


def agent(agent_id: str, queues: Iterable[str], **keys: Any) -> dict[str, Any]:
    """An `[[apps.agents]]` table (password PASSWORD)."""
    return {"id": agent_id, "password_hash": password_hash(), "queues": list(queues), **keys}


def demo_extra(queues: Iterable[dict[str, Any]], agents: Iterable[dict[str, Any]],
               **app_keys: Any) -> str:
    """TOML for inside the demo app's table: plain keys first, then queues and agents."""
    parts = [f"{key} = {toml_value(value)}" for key, value in app_keys.items()]
    parts += [_table("[[apps.queues]]", q) for q in queues]
    parts += [_table("[[apps.agents]]", a) for a in agents]
    return "\n\n".join(parts)


def extra_toml(enable: Iterable[str] = (), settings: dict[str, dict[str, Any]] | None = None,
               contact_center: dict[str, Any] | None = None) -> str:
    """TOML appended at the end of the config: `[plugins]` and `[contact_center]`."""
    parts = []
    enable = list(enable)
    if enable or settings:
        parts.append(_table("[plugins]", {"enable": enable}))
        for name, table in (settings or {}).items():
            parts.append(_table(f"[plugins.settings.{name}]", table))
    if contact_center:
        parts.append(_table("[contact_center]", contact_center))
    return "\n\n".join(parts)


def _start_server(config: pytest.Config) -> Any:
    """`start_server` of tests/conftest.py (its module is shadowed as `conftest` on sys.path by
    tests/integration/conftest.py, so it is taken from the loaded conftest plugins)."""
    root = Path(__file__).resolve().parent.parent / "conftest.py"
    for plugin in config.pluginmanager.get_plugins():
        if Path(getattr(plugin, "__file__", "") or "").resolve() == root:
            return plugin.start_server
    raise RuntimeError("tests/conftest.py is not loaded")


def serve(request: pytest.FixtureRequest, tmp_path: Path, *, queues: Iterable[dict[str, Any]],
          agents: Iterable[dict[str, Any]], app_keys: dict[str, Any] | None = None,
          enable: Iterable[str] = (), settings: dict[str, dict[str, Any]] | None = None,
          contact_center: dict[str, Any] | None = None,
          rate_limit: str = "200/second") -> Iterator[Any]:
    """For a module-scoped fixture: `yield from serve(request, tmp, queues=..., agents=...)`.

    Stops the server afterwards and fails if its log holds a traceback.
    """
    start = _start_server(request.config)
    server = start(tmp_path, extra_toml(enable, settings, contact_center), rate_limit, True,
                   demo_extra(queues, agents, **(app_keys or {})))
    try:
        yield server
    finally:
        server.stop()
    assert "Traceback" not in server.log(), server.log()


# -- people ---------------------------------------------------------------------------------------


class Desk:
    """Logs agents and customers in to one server; closes them all at the end of a test."""

    def __init__(self, server: Any) -> None:
        self.server = server
        self.made: list[CallClient] = []

    async def agent(self, agent_id: str, status: str | None = "available",
                    reason: str | None = None) -> CallClient:
        """An agent logged in by credential, then set to `status` (None: left as it is)."""
        client = CallClient(self.server.url, "demo")
        self.made.append(client)
        await client.login(agent_id, self.server.token(agent_id, role="agent"))
        if status is not None:
            await client.agent_status(status, reason)
        return client

    async def agents(self, *agent_ids: str, status: str | None = "available") -> list[CallClient]:
        return [await self.agent(agent_id, status) for agent_id in agent_ids]

    async def customer(self, name: str = "cust", *, claims: dict[str, Any] | None = None,
                       app: str = "demo", user_id: str | None = None) -> CallClient:
        user = user_id or unique(name)
        client = CallClient(self.server.url, app)
        self.made.append(client)
        await client.login(user, self.server.token(user, app=app, role="customer",
                                                   claims=claims))
        return client

    async def close(self) -> None:
        await asyncio.gather(*(client.close() for client in self.made), return_exceptions=True)

    async def __aenter__(self) -> Desk:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


# -- waiting --------------------------------------------------------------------------------------


def names(clients: Iterable[CallClient]) -> list[str]:
    return [str(c.user_id) for c in clients]


async def first_offer(agents: Iterable[CallClient], timeout: float = 5,
                      **match: Any) -> tuple[CallClient, dict[str, Any]]:
    """The earliest `offer` (matching `match`) not yet handed out among `agents`; consumes it."""
    agents = list(agents)
    deadline = time.monotonic() + timeout
    while True:
        found = [(event.at, i, event) for i, a in enumerate(agents)
                 for event in a.pending("offer", **match)]
        if found:
            _, i, event = min(found, key=lambda f: (f[0], f[1]))
            event.consumed = True
            return agents[i], event.data
        if time.monotonic() >= deadline:
            seen = {a.user_id: [(e.name, e.data) for e in a.pending()] for a in agents}
            raise TimeoutError(f"no offer {match} to {names(agents)} within {timeout} s: {seen}")
        await asyncio.sleep(0.01)


async def no_offer(agents: Iterable[CallClient], within: float = 0.5, **match: Any) -> None:
    """Fail if any of `agents` gets an `offer` (matching `match`) within `within` seconds."""
    await asyncio.sleep(within)
    got = {a.user_id: [e.data for e in a.pending("offer", **match)] for a in agents}
    got = {k: v for k, v in got.items() if v}
    assert not got, f"unexpected offers: {got}"


def latest_agent(client: CallClient) -> dict[str, Any] | None:
    """The agent snapshot of the newest `agent_update` received (handed out or not)."""
    for event in reversed(client.events):
        if event.name == "agent_update":
            return event.data["agent"]
    return None


async def until_agent(client: CallClient, timeout: float = 5, **fields: Any) -> dict[str, Any]:
    """Wait until the newest `agent_update` snapshot has `fields` (e.g. state="waiting");
    hands out every agent_update received so far, and returns that snapshot."""
    deadline = time.monotonic() + timeout
    while True:
        snapshot = latest_agent(client)
        if snapshot is not None and all(snapshot.get(k) == v for k, v in fields.items()):
            for event in client.pending("agent_update"):
                event.consumed = True
            return snapshot
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{client.user_id}: agent snapshot never had {fields}; "
                               f"last: {snapshot}")
        await asyncio.sleep(0.01)


async def agent_update_with(client: CallClient, timeout: float = 5,
                            **fields: Any) -> dict[str, Any]:
    """The next `agent_update` (in arrival order) whose snapshot has `fields`; earlier ones that
    do not match are handed out and skipped."""
    deadline = time.monotonic() + timeout
    while True:
        for event in client.pending("agent_update"):
            event.consumed = True
            snapshot = event.data["agent"]
            if all(snapshot.get(k) == v for k, v in fields.items()):
                return snapshot
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{client.user_id}: no agent_update with {fields} within "
                               f"{timeout} s; last: {latest_agent(client)}")
        await asyncio.sleep(0.01)


async def connect(agent: CallClient, customer: CallClient, call_id: str) -> dict[str, Any]:
    """The agent accepts the offer of `call_id`; the customer is told. Returns the accept ack."""
    ack = await agent.accept(call_id)
    await customer.next_event("user_accept", callId=call_id, userID=agent.user_id)
    await customer.next_event("user_enter", callId=call_id, userID=agent.user_id)
    return ack


async def finish(agent: CallClient, customer: CallClient, call_id: str, *,
                 by_customer: bool = True, wait_idle: bool = True) -> None:
    """End a joined call (the customer hangs up unless `by_customer` is False); with
    `wait_idle`, wait until the agent is `waiting` again (queues of these tests: wrap_up 0)."""
    if by_customer:
        await customer.hangup(call_id)
        await agent.next_event("call_end", callId=call_id)
    else:
        await agent.hangup(call_id)
        await customer.next_event("call_end", callId=call_id)
    if wait_idle:
        await until_agent(agent, state="waiting")


async def enqueue(desk: Desk, queue_name: str, name: str = "cust", *,
                  claims: dict[str, Any] | None = None,
                  attributes: dict[str, str] | None = None,
                  type: int = VIDEO_CALL) -> tuple[CallClient, str, dict[str, Any]]:
    """A fresh customer joins `queue_name`: (customer, callId, ack)."""
    customer = await desk.customer(name, claims=claims)
    ack = await customer.enqueue(queue_name, type, attributes)
    return customer, str(ack["callId"]), ack


async def serve_call(desk: Desk, queue_name: str, agents: list[CallClient], *,
                     talk: float = 0.0, **enqueue_kw: Any) -> CallClient:
    """One customer joins, the offered agent accepts, talks `talk` s, the customer hangs up and the
    agent is waiting again. Returns the agent who got the offer."""
    customer, call_id, _ = await enqueue(desk, queue_name, **enqueue_kw)
    chosen, _ = await first_offer(agents, callId=call_id)
    await connect(chosen, customer, call_id)
    if talk:
        await asyncio.sleep(talk)
    await finish(chosen, customer, call_id)
    return chosen


async def answered(desk: Desk, queue_name: str, agent_id: str,
                   agents: list[CallClient] | None = None) -> tuple[CallClient, CallClient, str]:
    """A fresh customer's call to `queue_name`, answered by `agent_id` (one of `agents`, or
    logged in here): (agent, customer, call id), the customer told who answered."""
    agents = agents or [await desk.agent(agent_id)]
    first = next(a for a in agents if a.user_id == agent_id)
    await until_agent(first, state="waiting", status="available")
    customer, call_id, _ = await enqueue(desk, queue_name)
    await first_offer([first], callId=call_id)
    await connect(first, customer, call_id)
    await customer.next_event("queue_answered", callId=call_id)
    return first, customer, call_id


# TOML for the end of the base config, inside app "other" (its last [[apps]]): a queue and an
# agent of its own, so that a request naming another app's people can be tried.
OTHER_APP_PEOPLE = """
[[apps.queues]]
name = "oq"
wrap_up = 0
when_empty = "join"

[[apps.agents]]
id = "oa1"
password_hash = "!"
queues = ["oq"]
"""


def closed_record(server: Any, call_id: str, timeout: float = 5) -> dict[str, Any]:
    """The call's record through the REST API (as supervisor sup1), once it is closed: the
    history writes it in the background."""
    token = server.token("sup1", role="supervisor")
    deadline = time.monotonic() + timeout
    while True:
        response = requests.get(f"{server.url}/api/calls/{call_id}", timeout=5,
                                headers={"Authorization": f"Bearer {token}"})
        if response.status_code == 200 and response.json()["call"]["endedAt"] is not None:
            return response.json()["call"]
        if time.monotonic() >= deadline:
            raise TimeoutError(f"no closed record of {call_id}: {response.text}")
        time.sleep(0.05)


def error_code(ack: Any) -> str:
    assert isinstance(ack, dict) and ack.get("ok") is False, ack
    return ack["error"]["code"]


async def refused(coro: Any) -> str:
    """The error code a convenience method raised (fails if it succeeded)."""
    try:
        result = await coro
    except CallClientError as exc:
        return exc.code
    raise AssertionError(f"expected a refusal, got {result!r}")
