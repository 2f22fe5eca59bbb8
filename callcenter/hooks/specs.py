"""Every extension point of callcenter, as pluggy hook specifications.

A hook's docstring is its contract. Implementations may accept fewer arguments than the spec
(pluggy passes only the ones named), so specs can grow without breaking plugins. A plugin that
raises is logged with its name and counted, and the call goes on: for a ``firstresult`` hook the
next implementation is asked, as if the failing one had returned None.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from callcenter.config import Config, QueueSettings
    from callcenter.domain.agents import Agent
    from callcenter.domain.events import CallEvent
    from callcenter.domain.free_agents import Candidates
    from callcenter.domain.queue_call import QueuedCall
    from callcenter.hooks.services import Services

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
        see ``callcenter.history.outbox``), ``spawn(fn, *args)`` to run a background task on the
        server's event loop and ``sleep(seconds)`` for such tasks. Raise ``ValueError`` naming the
        key for bad settings: it is logged in one line and the plugin's other hooks go on being
        called.

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
    """Something happened to a call or a user (see ``callcenter.domain.events.EventName``).

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
def callcenter_authenticate(app_id: str, user_id: str, password: str) -> bool | None:
    """Check a console sign-in: is ``password`` that of ``user_id``, an agent or supervisor of
    the app (stops at the first non-None result).

    Return True to let them in, False to refuse, None to let the next plugin answer. Only people
    the app knows (its agents and supervisors) ever get this far: a hook decides whether the
    password is theirs, not who may use the console or in which role. The built-in default
    (``password-sign-in``, trylast) checks the person's ``password_hash``; a plugin asks a
    directory (LDAP) or an identity provider instead. A plugin that raises is skipped (logged and
    counted) and the next one answers: if the directory alone may let people in, disable the
    default (``[plugins] disable = ["password-sign-in"]``), and no answer is a refusal. Called
    once per sign-in attempt, before the server answers; answer within a second or two.
    """


# What a strategy and a queueing discipline are (registered by name, see the two hooks below).
Strategy = Callable[["QueueSettings", "QueuedCall", "Candidates", float], "list[Agent]"]
QueueKey = Callable[["QueueSettings", "QueuedCall", float], Any]


@hookspec
def callcenter_strategies(register: Callable[[str, Strategy], None]) -> None:
    """Provide agent-selection strategies: call ``register(name, select)`` for each.

    ``name`` is what a queue's ``strategy`` names; only the queues that name it are routed by
    it, so ``select`` never has to ask which queue it is for. ``select(queue, call, agents, now)``
    gets the queue's settings, the waiting call (with its ``attempts`` so far), the agents who can
    take it now (available, waiting, connected, serving the queue, skilled enough for
    ``queue.required_skills``, not held back by a reject; those who already had an offer for
    this call are left out while others remain; never empty) and the time (epoch seconds). It
    returns the agents to offer the call to: one for most strategies, several to ring at once
    (ring-all), ``[]`` to leave the call waiting for now. Agents returned that were not in
    ``agents`` are ignored.

    ``agents`` is a ``Candidates``: a sequence (iterating it, ``len`` or ``list`` read every
    candidate, O(agents)) that also answers from the queue's sorted indexes without a scan:
    ``agents.first(order)``, ``agents.ranked(order)`` (lazily), ``agents.after(order, key)``
    and ``agents.choice(rng)``, where ``order`` is an ``Order(name, key)`` made once (the
    index for it is built on first use and then kept as agents change). A strategy that reads
    only those costs O(log agents) per call, whatever the size of the center.

    Called once, at start. A name that two plugins register, or that no plugin registers while
    a queue names it, is a config error. ``select`` is called often (whenever a call or an
    agent becomes free, and once a second while calls wait): it must be fast. If it raises, the
    failure is logged and counted and the built-in ``longest-idle`` chooses instead. The
    built-in default registers ``longest-idle`` (the agent whose last call ended longest ago).
    """


@hookspec
def callcenter_queueings(register: Callable[[str, QueueKey], None]) -> None:
    """Provide queueing disciplines: call ``register(name, key)`` for each.

    ``name`` is what a queue's ``queueing`` names; only those queues are ordered by it.
    ``key(queue, call, now)`` returns the sort key of a waiting call: smaller keys are served
    first, and the keys of one queue must compare with each other. It is called whenever the
    queue's order is needed, so keep it cheap and deterministic; ``call`` is read only.

    Called once, at start, with the same rules as ``callcenter_strategies``; a key that raises
    is logged and counted and the call is ordered by its join time. The built-in default
    registers ``fifo`` (``(call.joined_at,)``).
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


@hookspec(firstresult=True)
def callcenter_may_transfer(app_id: str, agent: Agent, call: QueuedCall,
                            to_agent: str | None, to_queue: str | None) -> bool | None:
    """Whether ``agent`` may transfer ``call`` to the agent ``to_agent`` or to the queue
    ``to_queue`` (one of the two is None); stops at the first non-None result.

    Asked on each transfer request, after the server checked that the target exists in the
    agent's app (another app's agents and queues are never found, so never asked about) and
    that the agent talks with the call's customer now. Return True to let it go ahead, False
    to refuse it (``TRANSFER_NOT_ALLOWED``), None to let the next plugin answer; no answer is a
    refusal. The built-in default (``transfer-targets``, trylast) allows any agent and any queue
    of the app; a plugin narrows that (only agents of the same team, only to a supervisor's
    queue, no transfers out of hours). A plugin that raises is skipped (logged and counted).
    Called while the agent waits for the answer: keep it fast.
    """
