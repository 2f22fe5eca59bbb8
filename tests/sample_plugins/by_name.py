"""Test plugin: a strategy offering each call to the agent whose id sorts last."""

from callcenter.plugin import hookimpl


@hookimpl
def callcenter_strategies(register):
    register("by-name", lambda queue, call, agents, now: [max(agents, key=lambda a: a.id)])
