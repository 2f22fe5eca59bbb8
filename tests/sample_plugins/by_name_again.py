"""Test plugin: registers a strategy name that by_name registers too (a clash)."""

from callcenter.plugin import hookimpl


@hookimpl
def callcenter_strategies(register):
    register("by-name", lambda queue, call, agents, now: agents[:1])
