"""round-robin: the next agent after the one offered last, remembered per queue (Asterisk's
``rrmemory``). Enable it, then set ``strategy = "round-robin"`` on a queue."""

from __future__ import annotations

from collections.abc import Callable

from callcenter.plugin import (
    BY_ID,
    Agent,
    Candidates,
    QueuedCall,
    QueueSettings,
    Strategy,
    hookimpl,
)

NAME = "round-robin"


class RoundRobin:
    def __init__(self) -> None:
        self._last: dict[str, str] = {}  # queue (app/name) -> the agent offered last

    @hookimpl
    def callcenter_strategies(self, register: Callable[[str, Strategy], None]) -> None:
        register(NAME, self.select)

    def select(self, queue: QueueSettings, call: QueuedCall, agents: Candidates,
               now: float) -> list[Agent]:
        key = f"{getattr(call, 'app_id', '')}/{queue.name}"
        # The first agent after the last one in id order, wrapping around: read from the
        # queue's index sorted by id.
        chosen = agents.after(BY_ID, (self._last.get(key, ""),))
        if chosen is None:
            return []
        self._last[key] = chosen.id
        return [chosen]
