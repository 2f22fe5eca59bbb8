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

from callcenter.plugin import Agent, QueuedCall, QueueSettings, Strategy, hookimpl

NAME = "skills"


class SkillsRouting:
    def __init__(self) -> None:
        self.attributes = ["language"]
        self.levels: list[tuple[float, int]] = [(0, 50), (20, 20), (40, 1)]
        self.any_after = 90.0

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

    def select(self, queue: QueueSettings, call: QueuedCall, agents: list[Agent],
               now: float) -> list[Agent]:
        waited = call.wait(now)
        wanted = [call.attributes[a] for a in self.attributes if call.attributes.get(a)]
        if not wanted or (self.any_after and waited >= self.any_after):
            return [min(agents, key=lambda a: (a.idle_since, a.id))]
        level = self.required_level(waited)
        matching = [a for a in agents if all(a.skills.get(s, 0) >= level for s in wanted)]
        if not matching:
            return []  # wait: the requirement widens with time
        return [min(matching, key=lambda a: (-sum(a.skills.get(s, 0) for s in wanted),
                                             a.idle_since, a.id))]

