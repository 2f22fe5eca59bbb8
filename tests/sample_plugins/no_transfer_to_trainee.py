"""Test plugin: agents may not transfer calls to the agent `trainee1`; other targets are left to
the default (any agent or queue of the app)."""

from callcenter import hookimpl


@hookimpl
def callcenter_may_transfer(to_agent):
    return False if to_agent == "trainee1" else None
