"""least-talk-time: the agent with the least talk time so far (ties: longest idle)."""

from __future__ import annotations

from collections.abc import Callable

from callcenter.plugin import (
    Agent,
    Candidates,
    Order,
    QueuedCall,
    QueueSettings,
    Strategy,
    hookimpl,
)

NAME = "least-talk-time"


@hookimpl
def callcenter_strategies(register: Callable[[str, Strategy], None]) -> None:
    register(NAME, select)


# Kept sorted per queue as agents change: the choice is read, not searched for.
LEAST_TALK_TIME = Order(NAME, lambda a: (a.talk_time, a.idle_since, a.id))


def select(queue: QueueSettings, call: QueuedCall, agents: Candidates, now: float
           ) -> list[Agent]:
    chosen = agents.first(LEAST_TALK_TIME)
    return [chosen] if chosen is not None else []
