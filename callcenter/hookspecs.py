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
    from callcenter.agents import Agent
    from callcenter.config import Config, QueueSettings
    from callcenter.contact_center import QueuedCall
    from callcenter.events import CallEvent
    from callcenter.services import Services

PROJECT = "callcenter"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def callcenter_startup(config: Config, settings: dict[str, Any], services: Services) -> None:
    """The server is starting, before it accepts connections.

    :param config: the whole validated configuration.
    :param settings: this plugin's own table, ``[plugins.settings.<name>]`` (empty if none).
        Secrets in it written as ``{ env = "NAME" }`` are already resolved.
    :param services: what the server lends plugins: ``outbox`` (durable at-least-once delivery,
        see ``callcenter.outbox``), ``spawn(fn, *args)`` to run a background task on the server's
        event loop and ``sleep(seconds)`` for such tasks. Raise ``ValueError`` naming the key for
        bad settings: it is logged in one line and the plugin's other hooks go on being called.

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


@hookspec(firstresult=True)
def callcenter_queue_key(queue: QueueSettings, call: QueuedCall, now: float) -> Any | None:
    """The sort key of a waiting call in its queue: smaller keys are served first (stops at first
    non-None result).

    :param queue: the queue's settings; answer only for ``queue.queueing`` names you provide.
    :param call: the waiting call (``joined_at``, ``priority``, ``attributes``...); read only.
    :param now: the current time (epoch seconds).

    Called whenever the queue's order is needed, so keep it cheap and deterministic. Keys of one
    queue must compare with each other. The built-in default (``fifo``, last resort) returns
    ``(call.joined_at,)``.
    """


@hookspec(firstresult=True)
def callcenter_select_agents(queue: QueueSettings, call: QueuedCall, agents: list[Agent],
                             now: float) -> list[Agent] | None:
    """Which of ``agents`` to offer ``call`` to (stops at first non-None result).

    :param queue: the queue's settings; answer only when ``queue.strategy`` is a name you provide.
    :param call: the waiting call, with its ``attempts`` so far.
    :param agents: the agents who can take the call now (available, waiting, connected, serving
        the queue, skilled enough for ``queue.required_skills``, not held back by a reject);
        agents who already had an offer for this call are left out while others remain.
    :param now: the current time (epoch seconds).
    :return: one agent for most strategies, several to ring at once (ring-all), ``[]`` to leave
        the call waiting for now, or None to let the next plugin decide. The built-in default
        (``longest-idle``, last resort) returns the agent whose last call ended longest ago.

    Called often (every time a call or an agent becomes free, and once a second while calls
    wait): it must be fast. Agents returned that were not in ``agents`` are ignored.
    """


@hookspec
def callcenter_strategy_names() -> list[str]:
    """The agent-selection strategies this plugin provides (names for ``strategy`` in a queue).

    Checked at start: a queue naming a strategy no loaded plugin provides is a config error.
    """


@hookspec
def callcenter_queueing_names() -> list[str]:
    """The queueing disciplines this plugin provides (names for ``queueing`` in a queue).

    Checked at start like ``callcenter_strategy_names``.
    """


@hookspec(firstresult=True)
def callcenter_should_record(app_id: str, queue: QueueSettings, call: QueuedCall) -> bool | None:
    """Whether this queue call is recorded (stops at first non-None result).

    Asked once, when the customer joins the queue, so the customer is told before the call
    connects (the ``enqueue`` ack's ``recorded``). Return True or False, or None to let the next
    plugin decide; when no plugin decides, the call is not recorded. The stock ``recording``
    plugin answers from its ``queues`` setting.
    """


@hookspec
def callcenter_recording_ready(recording: dict[str, Any]) -> None:
    """A recording was closed and indexed.

    :param recording: the index record: ``callId``, ``app``, ``file`` (relative to the
        recordings directory), ``duration`` (s), ``size`` (bytes), ``channels``, ``sha256``,
        ``partial`` (True when the worker went away or was stopped before the call ended),
        ``createdAt``, ``legs`` (user id -> channel).

    Called on the server's event loop; hand uploads or transcription to a queue of your own.
    """
