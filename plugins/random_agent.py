"""random: any eligible agent, chosen uniformly (Asterisk's ``random``)."""

from __future__ import annotations

import random

from callcenter.plugin import Agent, QueueSettings, hookimpl

NAME = "random"


@hookimpl
def callcenter_strategy_names() -> list[str]:
    return [NAME]


@hookimpl
def callcenter_select_agents(queue: QueueSettings, agents: list[Agent]) -> list[Agent] | None:
    return [random.choice(agents)] if queue.strategy == NAME else None
