"""The public plugin API: everything a plugin may use, in one import.

    from callcenter.plugin import hookimpl, QueueSettings, Agent

A plugin imports from here and nowhere else in ``callcenter``: what is named below keeps its
meaning across releases (docs/plugins.md, "The plugin API"); the rest of the package may change.
The stock plugins in ``plugins/`` hold to this (a test fails if one imports anything else).
"""

from __future__ import annotations

from callcenter.config import (
    App,
    Config,
    QueueSettings,
    check_app_filter,
    settings_error,
)
from callcenter.domain.agents import Agent, AgentState, AgentStatus
from callcenter.domain.events import CallEvent, EventName
from callcenter.domain.free_agents import BY_ID, LONGEST_IDLE, Candidates, Order
from callcenter.domain.queue_call import QueuedCall, RingAttempt
from callcenter.history.outbox import (
    Notification,
    Outbox,
    RetryPolicy,
    deliver_forever,
    describe_failure,
    event_payload,
)
from callcenter.hooks.services import Services
from callcenter.hooks.specs import QueueKey, Strategy, hookimpl

__all__ = [
    # the marker of hook implementations, and what the routing hooks register
    "hookimpl", "Strategy", "QueueKey",
    # what a strategy is given (the agents who can take the call) and the orders it reads
    "Candidates", "Order", "LONGEST_IDLE", "BY_ID",
    # what hooks are passed: the configuration, a queue's settings, agents, queue calls, events
    "Config", "App", "QueueSettings", "Agent", "AgentState", "AgentStatus", "QueuedCall",
    "RingAttempt", "CallEvent", "EventName",
    # settings helpers: errors in one line naming the key, like the server's own
    "settings_error", "check_app_filter",
    # what the server lends at start (callcenter_startup's `services`) and durable delivery
    "Services", "Outbox", "Notification", "RetryPolicy", "deliver_forever", "describe_failure",
    "event_payload",
]
