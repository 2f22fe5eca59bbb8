"""priority: higher-priority calls are served first; among equals, the one waiting longest.

A call's priority comes only from a verified credential claim (``priority``), never from what a
widget says. Enable it, then set ``queueing = "priority"`` on a queue.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from callcenter.plugin import QueuedCall, QueueKey, QueueSettings, hookimpl

NAME = "priority"


@hookimpl
def callcenter_queueings(register: Callable[[str, QueueKey], None]) -> None:
    register(NAME, key)


def key(queue: QueueSettings, call: QueuedCall, now: float) -> Any:
    return (-call.priority, call.joined_at)
