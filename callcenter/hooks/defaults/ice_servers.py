"""Default ICE servers: the static list from ``[signaling] ice_servers``.

Registered ``trylast`` so that any plugin answering ``callcenter_ice_servers`` (for example one
minting short-lived TURN credentials) is asked first.
"""

from __future__ import annotations

from typing import Any

from callcenter.config import Config
from callcenter.hooks.specs import hookimpl


class StaticIceServers:
    def __init__(self, config: Config) -> None:
        self._servers = [s.model_dump(exclude_none=True) for s in config.signaling.ice_servers]

    @hookimpl(trylast=True)
    def callcenter_ice_servers(self) -> list[dict[str, Any]]:
        return [dict(s) for s in self._servers]
