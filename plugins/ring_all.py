"""ring-all: ring every eligible agent at once; the first to accept wins and the others get
``calling_cancel`` (reason ``taken``). Asterisk's default strategy."""

from __future__ import annotations

from collections.abc import Callable

from callcenter.plugin import Agent, Candidates, QueuedCall, QueueSettings, Strategy, hookimpl

NAME = "ring-all"


@hookimpl
def callcenter_strategies(register: Callable[[str, Strategy], None]) -> None:
    register(NAME, select)


def select(queue: QueueSettings, call: QueuedCall, agents: Candidates, now: float
           ) -> list[Agent]:
    return list(agents)  # linear in the agents it rings, and only in them
