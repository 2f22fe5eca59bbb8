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

_file: IO[str] | None = None


@hookimpl
def callcenter_startup(config: Config, settings: dict[str, Any]) -> None:
    global _file
    path = config.base_dir / Path(settings.get("path", "events.jsonl"))
    path.parent.mkdir(parents=True, exist_ok=True)
    _file = path.open("a", encoding="utf-8")


@hookimpl
def callcenter_call_event(event: CallEvent) -> None:
    if _file is not None:
        _file.write(json.dumps(event.as_dict(), separators=(",", ":")) + "\n")
        _file.flush()


@hookimpl
def callcenter_shutdown() -> None:
    global _file
    if _file is not None:
        _file.close()
        _file = None
