"""Default routing: FIFO queueing and longest-idle agent selection.

Registered by name like any plugin's; a queue names them by default (``queueing = "fifo"``,
``strategy = "longest-idle"``), and longest-idle also chooses when another strategy fails.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from callcenter.domain.agents import Agent
from callcenter.domain.free_agents import LONGEST_IDLE as BY_IDLE_TIME
from callcenter.domain.free_agents import Candidates
from callcenter.hooks.specs import QueueKey, Strategy, hookimpl

FIFO = "fifo"
LONGEST_IDLE = "longest-idle"


def fifo(queue: Any, call: Any, now: float) -> Any:
    return (call.joined_at,)


def longest_idle(queue: Any, call: Any, agents: Candidates, now: float) -> list[Agent]:
    # Read from the queue's index sorted by idle time: O(log n), not a scan. Ties (e.g. agents
    # who never took a call and logged in together) go by id, so the choice is deterministic.
    chosen = agents.first(BY_IDLE_TIME)
    return [chosen] if chosen is not None else []


class Fifo:
    @hookimpl
    def callcenter_queueings(self, register: Callable[[str, QueueKey], None]) -> None:
        register(FIFO, fifo)


class LongestIdle:
    @hookimpl
    def callcenter_strategies(self, register: Callable[[str, Strategy], None]) -> None:
        register(LONGEST_IDLE, longest_idle)
