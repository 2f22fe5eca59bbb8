"""The one error type of the server, and every code it can answer with.

A refused request, whether the domain, the wire checks, a credential or the HTTP API refuses it,
raises ``Refused(code, message)``: the client is told the code (something it can act on) and the
message (for people), and nothing was changed. The codes are this enum, so a misspelt code fails
where it is raised; docs/protocol.md documents every one (a test holds the two together). Plain
Python, no framework.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    # any request
    BAD_REQUEST = "BAD_REQUEST"
    PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
    UNKNOWN_EVENT = "UNKNOWN_EVENT"
    RATE_LIMITED = "RATE_LIMITED"
    NOT_LOGGED_IN = "NOT_LOGGED_IN"
    FORBIDDEN = "FORBIDDEN"
    INTERNAL = "INTERNAL"
    UNAVAILABLE = "UNAVAILABLE"
    RESTARTING = "RESTARTING"
    # credentials (connect_error, HTTP 401)
    AUTH_REQUIRED = "AUTH_REQUIRED"
    AUTH_INVALID = "AUTH_INVALID"
    AUTH_EXPIRED = "AUTH_EXPIRED"
    RESUME_INVALID = "RESUME_INVALID"
    RESUME_EXPIRED = "RESUME_EXPIRED"
    AUTH_MISMATCH = "AUTH_MISMATCH"
    UNKNOWN_APP = "UNKNOWN_APP"
    BAD_USER_ID = "BAD_USER_ID"
    BAD_CLAIMS = "BAD_CLAIMS"
    BAD_CREDENTIAL = "BAD_CREDENTIAL"
    # calls
    BAD_CALL_TYPE = "BAD_CALL_TYPE"
    BAD_TIMEOUT = "BAD_TIMEOUT"
    GROUP_TOO_LARGE = "GROUP_TOO_LARGE"
    GROUP_CALL = "GROUP_CALL"
    CANNOT_CALL_SELF = "CANNOT_CALL_SELF"
    ALREADY_IN_CALL = "ALREADY_IN_CALL"
    CALL_NOT_FOUND = "CALL_NOT_FOUND"
    NOT_INVITED = "NOT_INVITED"
    NOT_IN_CALL = "NOT_IN_CALL"
    PEER_NOT_IN_CALL = "PEER_NOT_IN_CALL"
    # the contact center
    UNKNOWN_QUEUE = "UNKNOWN_QUEUE"
    QUEUE_FULL = "QUEUE_FULL"
    NO_AGENTS = "NO_AGENTS"
    BAD_RATING = "BAD_RATING"
    ALREADY_RATED = "ALREADY_RATED"
    NOT_IN_WRAP_UP = "NOT_IN_WRAP_UP"
    # call control: hold and transfer
    NOT_AGENT = "NOT_AGENT"
    NOT_ANSWERED = "NOT_ANSWERED"
    ALREADY_ON_HOLD = "ALREADY_ON_HOLD"
    NOT_ON_HOLD = "NOT_ON_HOLD"
    NOT_QUEUE_CALL = "NOT_QUEUE_CALL"
    CANNOT_TRANSFER_TO_SELF = "CANNOT_TRANSFER_TO_SELF"
    NO_SUCH_AGENT = "NO_SUCH_AGENT"
    AGENT_OFFLINE = "AGENT_OFFLINE"
    AGENT_UNAVAILABLE = "AGENT_UNAVAILABLE"
    TRANSFER_NOT_ALLOWED = "TRANSFER_NOT_ALLOWED"
    NOT_CONSULTING = "NOT_CONSULTING"
    ALREADY_CONSULTING = "ALREADY_CONSULTING"
    # callbacks
    CALLBACK_NOT_OFFERED = "CALLBACK_NOT_OFFERED"
    CALLBACK_ALREADY_REQUESTED = "CALLBACK_ALREADY_REQUESTED"
    NOT_WAITING = "NOT_WAITING"
    BAD_CONTACT = "BAD_CONTACT"
    # supervisor monitoring
    MONITOR_BUSY = "MONITOR_BUSY"
    NOT_MONITORING = "NOT_MONITORING"
    # recording
    NOT_RECORDED = "NOT_RECORDED"
    JOB_NOT_FOUND = "JOB_NOT_FOUND"
    # HTTP
    NOT_FOUND = "NOT_FOUND"
    METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
    BAD_LOGIN = "BAD_LOGIN"
    FORBIDDEN_ORIGIN = "FORBIDDEN_ORIGIN"
    CREDENTIAL_IN_URL = "CREDENTIAL_IN_URL"
    BAD_LINK = "BAD_LINK"
    LINK_EXPIRED = "LINK_EXPIRED"
    LINK_MISMATCH = "LINK_MISMATCH"
    # the admin API
    ADMIN_REQUIRED = "ADMIN_REQUIRED"
    INVALID_SETTING = "INVALID_SETTING"
    WEAK_PASSWORD = "WEAK_PASSWORD"
    DUPLICATE_ID = "DUPLICATE_ID"
    QUEUE_IN_USE = "QUEUE_IN_USE"
    LAST_ADMIN = "LAST_ADMIN"
    SETTINGS_CONFLICT = "SETTINGS_CONFLICT"


class Refused(Exception):
    """A request refused with ``code``; nothing was changed."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = ErrorCode(code)  # a code that is not in the enum is a bug: ValueError
        self.message = message

    def as_dict(self) -> dict[str, object]:
        """The answer's ``error`` object."""
        return {"code": self.code.value, "message": self.message}
