"""Test plugin: a queueing discipline serving callers whose attribute tier is "gold" first."""

from callcenter.plugin import hookimpl


@hookimpl
def callcenter_queueings(register):
    register("vip-first",
             lambda queue, call, now: (call.attributes.get("tier") != "gold", call.joined_at))
