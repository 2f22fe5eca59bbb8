"""What the server lends plugins when it starts (``callcenter_startup``'s ``services``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from callcenter.history.outbox import Outbox


@dataclass(frozen=True)
class Services:
    # Durable at-least-once delivery (webhooks, email): see callcenter.history.outbox.
    outbox: Outbox
    # Run ``fn(*args)`` in the background on the server's event loop. Under eventlet, sockets
    # (urllib, smtplib) yield to other tasks, so a delivery loop may use them directly.
    spawn: Callable[..., Any]
    # Sleep in a background task without holding up the server.
    sleep: Callable[[float], None]
