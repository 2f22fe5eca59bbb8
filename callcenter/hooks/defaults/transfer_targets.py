"""Default transfer policy: an agent may transfer a call to any agent or queue of their app.

Registered ``trylast`` so that a plugin answering ``callcenter_may_transfer`` (teams, hours) is
asked first.
"""

from __future__ import annotations

from callcenter.config import Config
from callcenter.hooks.specs import hookimpl


class TransferTargets:
    def __init__(self, config: Config) -> None:
        self.config = config

    def follow_settings(self, config: Config) -> None:
        """Agents and queues changed while the server runs: the new ones are targets."""
        self.config = config

    @hookimpl(trylast=True)
    def callcenter_may_transfer(self, app_id: str, to_agent: str | None,
                                to_queue: str | None) -> bool:
        app = self.config.app(app_id)
        if app is None:
            return False
        if to_agent is not None:
            return app.agent(to_agent) is not None
        return to_queue is not None and app.queue(to_queue) is not None
