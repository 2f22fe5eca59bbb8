"""Test plugin: implements a hook that does not exist (a typo)."""

from callcenter import hookimpl


@hookimpl
def callcenter_call_evnt(event):
    pass
