"""fewest-calls: the agent who answered the fewest calls (ties: longest idle)."""

from __future__ import annotations

from callcenter.plugin import Agent, QueueSettings, hookimpl

NAME = "fewest-calls"


@hookimpl
def callcenter_strategy_names() -> list[str]:
    return [NAME]


@hookimpl
def callcenter_select_agents(queue: QueueSettings, agents: list[Agent]) -> list[Agent] | None:
    if queue.strategy != NAME:
        return None
    return [min(agents, key=lambda a: (a.answered, a.idle_since, a.id))]
