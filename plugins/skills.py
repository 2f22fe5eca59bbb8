"""skills: match call attributes against agent skills, widening to lower levels as the wait grows.

For each attribute named in ``attributes`` that the call carries (``language = "de"``), an agent
needs the skill named by its value (``de``) at a level that depends on how long the call has
waited: ``levels`` lists ``[seconds waited, minimum level]`` steps. After ``any_after`` seconds
(0: never) any eligible agent may take the call. Among matching agents the most skilled wins, then
the longest idle. Settings (``[plugins.settings.skills]``), with their defaults:

    attributes = ["language"]
    levels = [[0, 50], [20, 20], [40, 1]]
    any_after = 90

Like Twilio's workflow timeouts and Genesys' bullseye routing: the best match first, then wider.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from callcenter.plugin import (
    LONGEST_IDLE,
    Agent,
    Candidates,
    Order,
    QueuedCall,
    QueueSettings,
    Strategy,
    hookimpl,
)

NAME = "skills"


class SkillsRouting:
    def __init__(self) -> None:
        self.attributes = ["language"]
        self.levels: list[tuple[float, int]] = [(0, 50), (20, 20), (40, 1)]
        self.any_after = 90.0
        # One order per skill asked for: the most skilled first, then the longest idle; the
        # queues' indexes keep each sorted as agents change.
        self._orders: dict[str, Order] = {}

    @hookimpl
    def callcenter_startup(self, settings: dict[str, Any]) -> None:
        self.attributes = list(settings.get("attributes", self.attributes))
        self.levels = sorted((float(s), int(level))
                             for s, level in settings.get("levels", self.levels))
        self.any_after = float(settings.get("any_after", self.any_after))

    @hookimpl
    def callcenter_strategies(self, register: Callable[[str, Strategy], None]) -> None:
        register(NAME, self.select)

    def required_level(self, waited: float) -> int:
        level = self.levels[0][1] if self.levels else 1
        for after, step_level in self.levels:
            if waited >= after:
                level = step_level
        return level

    def by_skill(self, skill: str) -> Order:
        order = self._orders.get(skill)
        if order is None:
            order = self._orders[skill] = Order(
                f"{NAME}:{skill}", lambda a: (-a.skills.get(skill, 0), a.idle_since, a.id))
        return order

    def select(self, queue: QueueSettings, call: QueuedCall, agents: Candidates,
               now: float) -> list[Agent]:
        waited = call.wait(now)
        wanted = [call.attributes[a] for a in self.attributes if call.attributes.get(a)]
        if not wanted or (self.any_after and waited >= self.any_after):
            chosen = agents.first(LONGEST_IDLE)
            return [chosen] if chosen is not None else []
        level = self.required_level(waited)
        # The agents skilled enough in the first skill, the most skilled first: with one skill
        # asked for (the usual case) the first of them is the answer; with more, the best sum
        # is sought among them only.
        best, best_key = None, None
        for agent in agents.ranked(self.by_skill(wanted[0])):
            if agent.skills.get(wanted[0], 0) < level:
                break  # the rest are less skilled still
            if all(agent.skills.get(s, 0) >= level for s in wanted[1:]):
                key = (-sum(agent.skills.get(s, 0) for s in wanted), agent.idle_since, agent.id)
                if best_key is None or key < best_key:
                    best, best_key = agent, key
                if len(wanted) == 1:
                    break
        return [best] if best is not None else []  # none: wait, the requirement widens

