"""The notification outbox: what plugins must deliver at least once (webhooks, email).

A notification is written to the database with the history's other changes, then a delivery loop
of the plugin's own takes what is due, tries it and records the attempt. Nothing is deleted: a
server killed between an attempt and its record tries again after the restart (at least once;
receivers deduplicate by the idempotency key).
"""

from __future__ import annotations

import json
import logging
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from callcenter.domain.events import CallEvent
from callcenter.history.records import History

log = logging.getLogger("callcenter.history.outbox")

# How often a delivery task looks for due notifications: short, since an event should reach its
# receiver within a fraction of a second; each look is one indexed query.
POLL_INTERVAL = 0.2
DATABASE_RETRY = 5  # seconds before a delivery task reads the outbox again after a failure


@dataclass(frozen=True)
class Notification:
    id: int
    channel: str
    key: str
    app_id: str
    payload: dict[str, Any]
    attempts: int  # made so far
    created_at: float


class Outbox:
    def __init__(self, history: History) -> None:
        self.history = history

    def add(self, channel: str, key: str, app_id: str, payload: dict[str, Any]) -> None:
        """Queue a notification for ``channel`` (``"<plugin>:<target>"``); a second one with the
        same channel and idempotency ``key`` is ignored. Returns at once."""
        now = time.time()
        self.history.queue("outbox", {"channel": channel, "key": key, "app_id": app_id,
                                      "payload": payload, "created_at": now,
                                      "next_attempt_at": now})

    def due(self, channel: str, limit: int = 50) -> list[Notification]:
        """Undelivered notifications of ``channel`` whose next attempt is due, oldest first.
        Blocks only the calling task, not the server."""
        database = self.history.database
        rows = self.history.read(database.outbox_due, channel, time.time(), limit)
        return [Notification(r["id"], r["channel"], r["key"], r["app_id"], r["payload"],
                             r["attempts"], r["created_at"]) for r in rows]

    def delivered(self, item: Notification) -> None:
        self._result(item, None, None)

    def failed(self, item: Notification, error: str, retry_in: float | None) -> None:
        """An attempt failed: try again in ``retry_in`` seconds, or never (None: given up)."""
        self._result(item, error, None if retry_in is None else time.time() + retry_in)

    def _result(self, item: Notification, error: str | None, next_at: float | None) -> None:
        self.history.queue("outbox_result", {"item_id": item.id, "now": time.time(),
                                             "error": error, "next_attempt_at": next_at})

    def items(self, channel_prefix: str) -> list[dict[str, Any]]:
        """Every notification of these channels, delivered or not (for operators and tests)."""
        return self.history.read(self.history.database.outbox_items, channel_prefix)


class RetryPolicy(BaseModel):
    """How a plugin retries a notification: its settings keys, shared by webhook and email."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_attempts: Annotated[int, Field(ge=1, le=100)] = 12
    backoff_base: Annotated[float, Field(gt=0, le=3600)] = 1.0
    backoff_max: Annotated[float, Field(gt=0, le=86400)] = 300.0
    timeout: Annotated[float, Field(gt=0, le=120)] = 5.0

    def retry_in(self, attempts: int) -> float:
        """Seconds before the next attempt, after ``attempts`` failed ones: doubling from
        ``backoff_base`` up to ``backoff_max``, ±20 % so that receivers coming back up are not
        hit by every server at the same instant."""
        delay = min(self.backoff_max, self.backoff_base * 2 ** max(attempts - 1, 0))
        return delay * random.uniform(0.8, 1.2)

    def gives_up(self, attempts: int) -> bool:
        return attempts >= self.max_attempts


def event_payload(key: str, event: CallEvent) -> dict[str, Any]:
    """What a receiver gets: the event, under the idempotency key it deduplicates by."""
    # Through JSON and back now: the outbox stores JSON, and one odd value in event data (a tuple,
    # an enum) must not make the history's batch fail to write.
    data = json.loads(json.dumps(event.data, default=str))
    return {"id": key, "event": event.name.value, "app": event.app_id, "call": event.call_id,
            "user": event.user_id, "at": event.at, "data": data}


def describe_failure(exc: Exception) -> str:
    """A failed attempt in one line for the outbox's ``last_error`` and the log."""
    reason = getattr(exc, "reason", None) or exc  # urllib wraps the socket's error
    if isinstance(reason, OSError) and reason.errno:
        # The errno's text: eventlet's sockets put only its name ("ECONNREFUSED") in the message.
        return f"{type(reason).__name__}: {os.strerror(reason.errno)}"
    return f"{type(reason).__name__}: {reason}"


def deliver_forever(name: str, deliver_due: Callable[[], None], running: Callable[[], bool],
                    sleep: Callable[[float], None]) -> None:
    """A plugin's delivery task (run it with ``services.spawn``): ``deliver_due()`` every
    POLL_INTERVAL while ``running()``. When reading the outbox fails (the database is away) the
    notifications wait in it, and the task tries again after DATABASE_RETRY seconds."""
    while running():
        try:
            deliver_due()
        except Exception:
            log.exception("%s: reading the outbox failed; trying again in %d s", name,
                          DATABASE_RETRY)
            sleep(DATABASE_RETRY)
        sleep(POLL_INTERVAL)
