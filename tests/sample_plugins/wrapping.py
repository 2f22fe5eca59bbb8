"""Test plugin: a hook wrapper, which callcenter does not support."""

from callcenter import hookimpl


@hookimpl(wrapper=True)
def callcenter_call_event(event):
    return (yield)
