"""How the server and the media worker write their logs: text for a terminal, or JSON (one object
a line, for a log shipper), and without the ICE library's chatter.

In JSON, a record about a user or a call carries them as fields (``app_id``, ``user_id``,
``call_id``, ``event``), passed with ``extra=`` where the line is logged, so that a log search can
follow one call across lines without parsing messages.
"""

from __future__ import annotations

import logging
from typing import Literal

from pythonjsonlogger.json import JsonFormatter

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# aioice logs every candidate pair's every state change at INFO: hundreds of lines a call, none
# of which an operator acts on. Kept at WARNING unless the log level is debug.
CHATTY = ("aioice",)


def configure(level: str, fmt: Literal["text", "json"] = "text") -> None:
    """Send this process's log records to stderr at ``level``, as text or JSON."""
    handler = logging.StreamHandler()
    if fmt == "json":
        handler.setFormatter(JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            json_ensure_ascii=False))
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in CHATTY:
        logging.getLogger(name).setLevel(
            logging.DEBUG if level.lower() == "debug" else logging.WARNING)
