"""fewest-calls: the agent who answered the fewest calls (ties: longest idle)."""

from __future__ import annotations

from collections.abc import Callable

from callcenter.plugin import Agent, QueuedCall, QueueSettings, Strategy, hookimpl

NAME = "fewest-calls"


@hookimpl
def callcenter_strategies(register: Callable[[str, Strategy], None]) -> None:
    register(NAME, select)


def select(queue: QueueSettings, call: QueuedCall, agents: list[Agent], now: float) -> list[Agent]:
    return [min(agents, key=lambda a: (a.answered, a.idle_since, a.id))]
