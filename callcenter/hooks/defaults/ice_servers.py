"""Default ICE servers: the static list from ``[signaling] ice_servers``, and the ``[turn]`` relay
with credentials minted for the user in coturn's REST form.

Registered ``trylast`` so that any plugin answering ``callcenter_ice_servers`` (for example one
asking a TURN provider's API) is asked first.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable
from typing import Any

from callcenter.config import Config
from callcenter.hooks.specs import hookimpl


def turn_credential(secret: str, user_id: str, expires_at: int) -> tuple[str, str]:
    """coturn's REST credential (``use-auth-secret``): the username is ``expiry:user``, the
    password base64(HMAC-SHA1(secret, username)); coturn refuses it after ``expires_at``."""
    username = f"{expires_at}:{user_id}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()


class StaticIceServers:
    def __init__(self, config: Config, clock: Callable[[], float] = time.time) -> None:
        self._servers = [s.model_dump(exclude_none=True) for s in config.signaling.ice_servers]
        self._turn = config.turn
        self._clock = clock

    @hookimpl(trylast=True)
    def callcenter_ice_servers(self, app_id: str, user_id: str) -> list[dict[str, Any]]:
        servers = [dict(s) for s in self._servers]
        if self._turn.urls:
            # The app is in the name: one user id in two apps are two people to the relay's logs.
            expires_at = int(self._clock()) + self._turn.ttl
            username, password = turn_credential(self._turn.secrets[0], f"{app_id}/{user_id}",
                                                 expires_at)
            servers.append({"urls": list(self._turn.urls), "username": username,
                            "credential": password})
        return servers
