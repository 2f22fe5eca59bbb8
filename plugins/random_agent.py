"""random: any eligible agent, chosen uniformly (Asterisk's ``random``)."""

from __future__ import annotations

import random
from collections.abc import Callable

from callcenter.plugin import Agent, Candidates, QueuedCall, QueueSettings, Strategy, hookimpl

NAME = "random"


@hookimpl
def callcenter_strategies(register: Callable[[str, Strategy], None]) -> None:
    register(NAME, select)


def select(queue: QueueSettings, call: QueuedCall, agents: Candidates, now: float
           ) -> list[Agent]:
    chosen = agents.choice(random)  # drawn from the queue's index, not from a list of all
    return [chosen] if chosen is not None else []
