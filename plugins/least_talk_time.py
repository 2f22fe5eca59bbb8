"""least-talk-time: the agent with the least talk time so far (ties: longest idle)."""

from __future__ import annotations

from collections.abc import Callable

from callcenter.plugin import Agent, QueuedCall, QueueSettings, Strategy, hookimpl

NAME = "least-talk-time"


@hookimpl
def callcenter_strategies(register: Callable[[str, Strategy], None]) -> None:
    register(NAME, select)


def select(queue: QueueSettings, call: QueuedCall, agents: list[Agent], now: float) -> list[Agent]:
    return [min(agents, key=lambda a: (a.talk_time, a.idle_since, a.id))]
