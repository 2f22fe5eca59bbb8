"""random: any eligible agent, chosen uniformly (Asterisk's ``random``)."""

from __future__ import annotations

import random
from collections.abc import Callable

from callcenter.plugin import Agent, QueuedCall, QueueSettings, Strategy, hookimpl

NAME = "random"


@hookimpl
def callcenter_strategies(register: Callable[[str, Strategy], None]) -> None:
    register(NAME, select)


def select(queue: QueueSettings, call: QueuedCall, agents: list[Agent], now: float) -> list[Agent]:
    return [random.choice(agents)]
