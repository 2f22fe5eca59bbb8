"""Every extension point of callcenter, as pluggy hook specifications.

A hook's docstring is its contract. Implementations may accept fewer arguments than the spec
(pluggy passes only the ones named), so specs can grow without breaking plugins. A plugin that
raises is logged with its name and counted, and the call goes on: for a ``firstresult`` hook the
next implementation is asked, as if the failing one had returned None.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from callcenter.config import Config
    from callcenter.events import CallEvent

PROJECT = "callcenter"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def callcenter_startup(config: Config, settings: dict[str, Any]) -> None:
    """The server is starting, before it accepts connections.

    :param config: the whole validated configuration.
    :param settings: this plugin's own table, ``[plugins.settings.<name>]`` (empty if none).
        Secrets in it written as ``{ env = "NAME" }`` are already resolved.

    Open files and connections here. Raising does not stop the server, but the plugin's other
    hooks should then cope with what was not set up.
    """


@hookspec
def callcenter_shutdown() -> None:
    """The server is stopping (SIGTERM, SIGINT or a clean exit): flush and close what is open.

    Called once, after connections stop being accepted. Keep it short.
    """


@hookspec
def callcenter_call_event(event: CallEvent) -> None:
    """Something happened to a call or a user (see ``callcenter.events.EventName``).

    Called for every event, in order, on the server's event loop, after the state change is done
    and the clients are told: a plugin observes, it cannot veto. Return quickly; hand slow work
    (HTTP, disk flushes) to a queue of your own. ``event.data`` carries event-specific fields
    (``type``, ``reason``, ``duration``, ``from``...) documented in docs/plugins.md.
    """


@hookspec(firstresult=True)
def callcenter_ice_servers(app_id: str, user_id: str) -> list[dict[str, Any]] | None:
    """The STUN/TURN servers handed to this user when they log in (stops at first non-None result).

    Return a list of RTCIceServer dictionaries (``{"urls": [...], "username": ..., "credential":
    ...}``) or None to let the next plugin answer. The built-in default returns
    ``[signaling] ice_servers`` from the config; a plugin can mint short-lived TURN credentials
    per user instead.
    """
