"""Who may do what: the role × request table for the sockets and the HTTP API.

One table, enforced here and written out in docs/protocol.md ("Who may do what"); a test holds the
two together and walks every cell against a real server. Plain Python, no framework.

A cell says whether a role may make a request at all; what it then reaches is narrowed by
``Scope``: everything of its app, or only what the user is part of (an agent's own calls). Nothing
ever reaches another app: ids of another app are simply not found.
"""

from __future__ import annotations

from enum import StrEnum

from callcenter.domain.credentials import Role


class Scope(StrEnum):
    APP = "app"      # everything of the caller's app
    OWN = "own"      # only what the caller is part of (their calls, their recordings)
    NONE = "-"       # refused: FORBIDDEN (403 over HTTP)


C, A, S, W = Role.CUSTOMER, Role.AGENT, Role.SUPERVISOR, Role.SERVICE
APP, OWN, NONE = Scope.APP, Scope.OWN, Scope.NONE


def _row(customer: Scope, agent: Scope, supervisor: Scope, service: Scope) -> dict[Role, Scope]:
    return {C: customer, A: agent, S: supervisor, W: service}


# Socket.IO requests (docs/protocol.md). Call requests are OWN: a user acts on calls they are in
# or invited to. `invite` for customers depends on the app's `customer_direct_calls`: without it,
# customers reach agents only through queues (enqueue).
SOCKET: dict[str, dict[Role, Scope]] = {
    "hello":            _row(OWN, OWN, OWN, OWN),
    "logout":           _row(OWN, OWN, OWN, OWN),
    "invite":           _row(OWN, OWN, OWN, NONE),
    "accept":           _row(OWN, OWN, OWN, NONE),
    "reject":           _row(OWN, OWN, OWN, NONE),
    "hangup":           _row(OWN, OWN, OWN, NONE),
    "signal":           _row(OWN, OWN, OWN, NONE),
    "media_state":      _row(OWN, OWN, OWN, NONE),
    "media_flow":       _row(OWN, OWN, OWN, NONE),
    "switch_type":      _row(OWN, OWN, OWN, NONE),
    "enqueue":          _row(OWN, NONE, NONE, NONE),
    "rate":             _row(OWN, NONE, NONE, NONE),
    "callback":         _row(OWN, NONE, NONE, NONE),
    "agent_status":     _row(NONE, OWN, NONE, NONE),
    "agent_state":      _row(NONE, OWN, NONE, NONE),
    "wrap_up":          _row(NONE, OWN, NONE, NONE),
    # Hold: either side of a direct call, the agent of a queue call (the domain refuses its
    # customer). Transfer: an agent, of a queue call they talk in.
    "hold":             _row(OWN, OWN, OWN, NONE),
    "unhold":           _row(OWN, OWN, OWN, NONE),
    "transfer":         _row(NONE, OWN, NONE, NONE),
    "transfer_targets": _row(NONE, OWN, NONE, NONE),
    # A warm transfer: consult a colleague, then cancel, complete or make it a conference.
    "consult":          _row(NONE, OWN, NONE, NONE),
    "consult_cancel":   _row(NONE, OWN, NONE, NONE),
    "consult_complete": _row(NONE, OWN, NONE, NONE),
    "conference":       _row(NONE, OWN, NONE, NONE),
    "supervisor_watch": _row(NONE, NONE, APP, NONE),
    # Monitoring (listen, whisper, barge): a supervisor, on any answered queue call of the app.
    "monitor":          _row(NONE, NONE, APP, NONE),
    "monitor_stop":     _row(NONE, NONE, APP, NONE),
    "worker_hello":     _row(NONE, NONE, NONE, APP),
    "job_update":       _row(NONE, NONE, NONE, OWN),
    # A participant's leg to the recorder of their call, or a worker's answer to a leg of its job.
    "record_signal":    _row(OWN, OWN, OWN, OWN),
}

# The requests a customer may make only where the app allows direct calls.
DIRECT_CALL_REQUESTS = frozenset({"invite"})

# HTTP endpoints that take a credential (the rest are public: /healthz, /sdk, /widget, the
# credential and login endpoints, /api/openapi.json; /metrics has its own token).
HTTP: dict[str, dict[Role, Scope]] = {
    "GET /api/calls":                    _row(NONE, OWN, APP, APP),
    "GET /api/calls.csv":                _row(NONE, OWN, APP, APP),
    "GET /api/calls/{callId}":           _row(NONE, OWN, APP, APP),
    "GET /api/agents":                   _row(NONE, NONE, APP, APP),
    "GET /api/queues":                   _row(NONE, APP, APP, APP),
    "GET /api/live":                     _row(NONE, NONE, APP, APP),
    "GET /api/stats":                    _row(NONE, NONE, APP, APP),
    "GET /api/recordings/{callId}":      _row(NONE, OWN, APP, APP),
    "GET /api/recordings/{callId}/audio": _row(NONE, OWN, APP, APP),
    "POST /api/links":                   _row(NONE, OWN, APP, APP),
}


def socket_scope(request: str, role: Role) -> Scope:
    """The scope ``role`` has for socket request ``request`` (NONE for unknown requests)."""
    row = SOCKET.get(request)
    return row[role] if row is not None else NONE


def http_scope(endpoint: str, role: Role) -> Scope:
    """The scope ``role`` has for ``endpoint`` (``"GET /api/calls"``)."""
    return HTTP[endpoint][role]


def http_roles(endpoint: str) -> tuple[Role, ...]:
    """The roles that may call ``endpoint`` at all."""
    return tuple(role for role, scope in HTTP[endpoint].items() if scope is not NONE)
