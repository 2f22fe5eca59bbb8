"""Test plugin: a strategy offering each call to the agent whose id sorts last."""

from callcenter import hookimpl


@hookimpl
def callcenter_strategy_names():
    return ["by-name"]


@hookimpl
def callcenter_select_agents(queue, agents):
    if queue.strategy != "by-name":
        return None
    return [max(agents, key=lambda a: a.id)]
