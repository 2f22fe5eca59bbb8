"""Test plugin: a queueing discipline serving callers whose attribute tier is "gold" first."""

from callcenter import hookimpl


@hookimpl
def callcenter_queueing_names():
    return ["vip-first"]


@hookimpl
def callcenter_queue_key(queue, call):
    if queue.queueing != "vip-first":
        return None
    return (call.attributes.get("tier") != "gold", call.joined_at)
