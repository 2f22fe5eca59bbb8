"""recording: record the calls of chosen queues.

Settings (``[plugins.settings.recording]``):
    queues -- names of the queues whose calls are recorded, e.g. ``["sales"]``; ``["*"]`` for all.

Each recorded call leaves one stereo Ogg Opus file (customer left, agent right) written by a media
worker; see docs/recording.md. Other plugins can decide per call with ``callcenter_should_record``.
"""

from __future__ import annotations

from typing import Any

from callcenter.plugin import QueueSettings, hookimpl


class RecordQueues:
    def __init__(self) -> None:
        self.queues: set[str] = set()

    @hookimpl
    def callcenter_startup(self, settings: dict[str, Any]) -> None:
        self.queues = set(settings.get("queues", []))

    @hookimpl(trylast=True)
    def callcenter_should_record(self, queue: QueueSettings) -> bool:
        return "*" in self.queues or queue.name in self.queues

