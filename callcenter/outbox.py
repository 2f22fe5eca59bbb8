"""The notification outbox: what plugins must deliver at least once (webhooks, email).

A notification is written to the database with the history's other changes, then a delivery loop
of the plugin's own takes what is due, tries it and records the attempt. Nothing is deleted: a
server killed between an attempt and its record tries again after the restart (at least once;
receivers deduplicate by the idempotency key).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from callcenter.history import History


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

    def due(self, channel_prefix: str, limit: int = 50) -> list[Notification]:
        """Undelivered notifications whose channel starts with ``channel_prefix`` and whose next
        attempt is due, oldest first. Blocks only the calling task, not the server."""
        database = self.history.database
        rows = self.history.read(database.outbox_due, channel_prefix, time.time(), limit)
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
