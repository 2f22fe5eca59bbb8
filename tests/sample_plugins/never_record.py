"""Test plugin: decides that no call is recorded, ahead of the stock recording plugin."""

from callcenter import hookimpl


@hookimpl
def callcenter_should_record():
    return False
