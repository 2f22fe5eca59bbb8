"""round-robin: the next agent after the one offered last, remembered per queue (Asterisk's
``rrmemory``). Enable it, then set ``strategy = "round-robin"`` on a queue."""

from __future__ import annotations

from callcenter.plugin import Agent, QueueSettings, hookimpl

NAME = "round-robin"
_last: dict[str, str] = {}  # queue (app/name) -> the agent offered last


@hookimpl
def callcenter_strategy_names() -> list[str]:
    return [NAME]


@hookimpl
def callcenter_select_agents(queue: QueueSettings, agents: list[Agent]) -> list[Agent] | None:
    if queue.strategy != NAME:
        return None
    key = f"{agents[0].app_id}/{queue.name}"
    last = _last.get(key, "")
    ordered = sorted(agents, key=lambda a: a.id)
    # The first agent after the last one in id order, wrapping around.
    chosen = next((a for a in ordered if a.id > last), ordered[0])
    _last[key] = chosen.id
    return [chosen]
