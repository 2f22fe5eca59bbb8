"""priority: higher-priority calls are served first; among equals, the one waiting longest.

A call's priority comes only from a verified credential claim (``priority``), never from what a
widget says. Enable it, then set ``queueing = "priority"`` on a queue.
"""

from __future__ import annotations

from typing import Any

from callcenter.plugin import QueuedCall, QueueSettings, hookimpl

NAME = "priority"


@hookimpl
def callcenter_queueing_names() -> list[str]:
    return [NAME]


@hookimpl
def callcenter_queue_key(queue: QueueSettings, call: QueuedCall) -> Any:
    return (-call.priority, call.joined_at) if queue.queueing == NAME else None
