"""least-talk-time: the agent with the least talk time so far (ties: longest idle)."""

from __future__ import annotations

from callcenter.plugin import Agent, QueueSettings, hookimpl

NAME = "least-talk-time"


@hookimpl
def callcenter_strategy_names() -> list[str]:
    return [NAME]


@hookimpl
def callcenter_select_agents(queue: QueueSettings, agents: list[Agent]) -> list[Agent] | None:
    if queue.strategy != NAME:
        return None
    return [min(agents, key=lambda a: (a.talk_time, a.idle_since, a.id))]
