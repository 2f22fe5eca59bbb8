"""Test plugin: fails in every hook it implements."""

from callcenter import hookimpl


@hookimpl
def callcenter_call_event(event):
    raise RuntimeError(f"failing plugin refuses {event.name}")


@hookimpl(tryfirst=True)
def callcenter_ice_servers(app_id, user_id):
    raise RuntimeError("failing plugin has no ICE servers")


@hookimpl
def callcenter_strategies(register):
    def select(queue, call, agents, now):
        raise RuntimeError("failing strategy")
    register("failing", select)
