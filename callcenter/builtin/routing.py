"""Default routing: FIFO queueing and longest-idle agent selection.

Both are registered ``trylast`` and always answer, so they are the last resort behind any plugin
that provides another queueing discipline or strategy.
"""

from __future__ import annotations

from typing import Any

from callcenter.agents import Agent
from callcenter.contact_center import QueuedCall
from callcenter.hookspecs import hookimpl


class Fifo:
    @hookimpl
    def callcenter_queueing_names(self) -> list[str]:
        return ["fifo"]

    @hookimpl(trylast=True)
    def callcenter_queue_key(self, call: QueuedCall) -> Any:
        return (call.joined_at,)


class LongestIdle:
    @hookimpl
    def callcenter_strategy_names(self) -> list[str]:
        return ["longest-idle"]

    @hookimpl(trylast=True)
    def callcenter_select_agents(self, agents: list[Agent]) -> list[Agent]:
        # Ties (e.g. agents who never took a call and logged in together) go by id, so the
        # choice is deterministic.
        return [min(agents, key=lambda a: (a.idle_since, a.id))]
