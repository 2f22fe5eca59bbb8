"""event-log: append every call event to a JSON Lines file, one object per line.

Settings (``[plugins.settings.event-log]``):
    path  -- the file to append to (default ``events.jsonl``, relative to the config file)

Useful as an audit trail and as the smallest example of a plugin. Each line is flushed as it is
written, so the file is complete up to the last event even if the server is killed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO, Any

from callcenter.plugin import CallEvent, Config, hookimpl


class EventLog:
    def __init__(self) -> None:
        self._file: IO[str] | None = None

    @hookimpl
    def callcenter_startup(self, config: Config, settings: dict[str, Any]) -> None:
        path = config.base_dir / Path(settings.get("path", "events.jsonl"))
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = path.open("a", encoding="utf-8")

    @hookimpl
    def callcenter_call_event(self, event: CallEvent) -> None:
        if self._file is not None:
            self._file.write(json.dumps(event.as_dict(), separators=(",", ":")) + "\n")
            self._file.flush()

    @hookimpl
    def callcenter_shutdown(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
