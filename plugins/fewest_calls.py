"""fewest-calls: the agent who answered the fewest calls (ties: longest idle)."""

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

NAME = "fewest-calls"


@hookimpl
def callcenter_strategies(register: Callable[[str, Strategy], None]) -> None:
    register(NAME, select)


# Kept sorted per queue as agents change: the choice is read, not searched for.
FEWEST_CALLS = Order(NAME, lambda a: (a.answered, a.idle_since, a.id))


def select(queue: QueueSettings, call: QueuedCall, agents: Candidates, now: float
           ) -> list[Agent]:
    chosen = agents.first(FEWEST_CALLS)
    return [chosen] if chosen is not None else []
