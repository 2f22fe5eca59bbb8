"""round-robin: the next agent after the one offered last, remembered per queue (Asterisk's
``rrmemory``). Enable it, then set ``strategy = "round-robin"`` on a queue."""

from __future__ import annotations

from collections.abc import Callable

from callcenter.plugin import Agent, QueuedCall, QueueSettings, Strategy, hookimpl

NAME = "round-robin"


class RoundRobin:
    def __init__(self) -> None:
        self._last: dict[str, str] = {}  # queue (app/name) -> the agent offered last

    @hookimpl
    def callcenter_strategies(self, register: Callable[[str, Strategy], None]) -> None:
        register(NAME, self.select)

    def select(self, queue: QueueSettings, call: QueuedCall, agents: list[Agent],
               now: float) -> list[Agent]:
        key = f"{agents[0].app_id}/{queue.name}"
        last = self._last.get(key, "")
        ordered = sorted(agents, key=lambda a: a.id)
        # The first agent after the last one in id order, wrapping around.
        chosen = next((a for a in ordered if a.id > last), ordered[0])
        self._last[key] = chosen.id
        return [chosen]
