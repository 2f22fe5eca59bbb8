"""ring-all: ring every eligible agent at once; the first to accept wins and the others get
``calling_cancel`` (reason ``taken``). Asterisk's default strategy."""

from __future__ import annotations

from callcenter.plugin import Agent, QueueSettings, hookimpl

NAME = "ring-all"


@hookimpl
def callcenter_strategy_names() -> list[str]:
    return [NAME]


@hookimpl
def callcenter_select_agents(queue: QueueSettings, agents: list[Agent]) -> list[Agent] | None:
    return list(agents) if queue.strategy == NAME else None
