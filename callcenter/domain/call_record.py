"""The call detail record's fields, defined once.

A queue call's record is made live by ``QueuedCall.record()`` (nested: the customer is one
object) and stored flat, one row of the ``calls`` table per call; the REST API, the CSV export and
webhooks show the stored form. Each field below says where it comes from in the live record, the
column it is stored in, its name and JSON type in the API, and whether and how the CSV has it.
The history mapping, the database's names, the CSV columns and the OpenAPI document are built
from this list or held to it by tests/unit/test_call_record_fields.py.
"""

from __future__ import annotations

from collections.abc import Callable
from copy import copy
from dataclasses import dataclass
from enum import Enum
from typing import Any

MISSING = object()


class Csv(Enum):
    """How a field is written in the CSV export."""

    VALUE = "value"  # as stored
    TIME = "time"  # an epoch time, written as ISO 8601 UTC so spreadsheets read it as a date


@dataclass(frozen=True)
class RecordField:
    column: str  # in the calls table
    key: str  # in the API, the CSV and webhooks
    type: str  # JSON Schema type of a value that is there
    nullable: bool
    about: str
    # Where QueuedCall.record() has it: a key, or "outer.inner"; None when the history fills it in
    # (the kind of call) rather than the record.
    source: str | None
    # How the live value is stored (applied to the value at ``source``, MISSING when absent).
    convert: Callable[[Any], Any] | None = None
    csv: Csv | None = Csv.VALUE  # None: not a CSV column

    def read(self, record: dict[str, Any]) -> Any:
        """This field's stored value, taken from a live record."""
        value: Any = record
        for part in (self.source or "").split("."):
            value = value.get(part, MISSING) if isinstance(value, dict) else MISSING
        if self.convert is not None:
            return self.convert(value)
        return None if value is MISSING else value


def _or(default: Any) -> Callable[[Any], Any]:
    # A copy each time: rows that all got the one default list or dict would share it, and a
    # change to one row's would show in the others.
    return lambda value: copy(default) if value in (MISSING, None, "") else value


def _count(value: Any) -> int:
    return len(value) if isinstance(value, list) else 0


FIELDS: tuple[RecordField, ...] = (
    RecordField("call_id", "callId", "string", False, "the call's id", "callId"),
    RecordField("kind", "kind", "string", False, "queue, or direct (a 1:1 or group call)", None),
    RecordField("queue", "queue", "string", True, "the queue it was in last", "queue"),
    RecordField("original_queue", "originalQueue", "string", True,
                "the queue it joined, before any overflow", "originalQueue"),
    RecordField("customer_id", "customerId", "string", True,
                "the customer, or the caller of a direct call", "customer.userID"),
    RecordField("customer_name", "customerName", "string", True,
                "the customer's name (verified, else as given)", "customer.name", _or(None)),
    RecordField("agent_id", "agent", "string", True,
                "the agent who answered, or a direct call's callee", "agent"),
    RecordField("type", "type", "integer", True, "1 audio, 2 video (the last one)", "type"),
    RecordField("priority", "priority", "integer", False, "verified priority, 0 by default",
                "priority", _or(0)),
    RecordField("joined_at", "joinedAt", "number", False, "when it joined the queue",
                "joinedAt", csv=Csv.TIME),
    RecordField("offered_at", "offeredAt", "number", True, "first offer to an agent",
                "offeredAt", csv=Csv.TIME),
    RecordField("answered_at", "answeredAt", "number", True, "when an agent answered",
                "answeredAt", csv=Csv.TIME),
    RecordField("ended_at", "endedAt", "number", True, "when it ended", "endedAt", csv=Csv.TIME),
    RecordField("wrap_up_ended_at", "wrapUpEndedAt", "number", True,
                "when the agent finished wrap-up", "wrapUpEndedAt", csv=None),
    RecordField("wait", "wait", "number", True,
                "seconds in queue (to the answer, or to the end if never answered)", "wait"),
    RecordField("talk", "talk", "number", True, "seconds answered", "talk"),
    RecordField("hold", "hold", "number", True,
                "seconds on hold, or waiting for a transfer's target, kept out of talk", "hold"),
    RecordField("wrap_up", "wrapUp", "number", True, "seconds from the end to the end of wrap-up",
                "wrapUp"),
    RecordField("original_position", "originalPosition", "integer", True,
                "its place in line when it joined", "originalPosition"),
    RecordField("final_position", "finalPosition", "integer", True,
                "its place in line when it left the line", "finalPosition"),
    RecordField("ring_attempts", "ringAttempts", "integer", False, "offers made to agents",
                "attempts", _count),
    RecordField("attempts", "attempts", "array", True,
                "each offer: agent, offeredAt, endedAt, outcome", "attempts", _or([]),
                csv=None),
    RecordField("outcome", "outcome", "string", True,
                "completed, abandoned, timed_out, no_agents, unreachable, interrupted (direct: "
                "answered, unanswered)", "outcome"),
    RecordField("end_reason", "endReason", "string", True, "why the call ended", "endReason"),
    RecordField("ended_by", "endedBy", "string", True, "customer, agent or system", "endedBy"),
    RecordField("disposition", "disposition", "string", True, "the agent's wrap-up code",
                "disposition"),
    RecordField("notes", "notes", "string", True, "the agent's wrap-up notes", "notes"),
    RecordField("rating", "rating", "integer", True, "the customer's rating, 1 to 5", "rating"),
    RecordField("recorded", "recorded", "boolean", False, "whether it was recorded", "recorded",
                lambda value: value is True),
    # Last in the CSV, so the columns exports have always had keep their places.
    RecordField("silent_seconds", "silentSeconds", "number", True,
                "seconds of the answered call in which a participant received no media from "
                "another (a frozen browser), kept out of talk", "silentSeconds"),
    RecordField("attributes", "attributes", "object", True, "what the widget said of the customer",
                "customer.attributes", _or({}), csv=None),
    RecordField("segments", "segments", "array", True,
                "the timeline of the answered call: talk {agent}, hold {by} and transfer {by, "
                "to, queue, note, outcome, answeredBy}, each with start and end",
                "segments", _or([]), csv=None),
    RecordField("callback", "callback", "object", True,
                "the customer asked to be called back: contact {name, email, phone, note}, "
                "requestedAt, position, attempts (each ring of the customer: agent, start, end, "
                "outcome); null otherwise", "callback", csv=None),
)

# The parts of the live record no field stores, and why. With FIELDS' sources this accounts for
# all of ``QueuedCall.record()``: a part added there must be stored, or said here not to be.
NOT_STORED: dict[str, str] = {
    "customer.topic": "a copy of attributes.topic, stored inside attributes",
    "customer.language": "a copy of attributes.language, stored inside attributes",
    "customer.pageUrl": "a copy of attributes.pageUrl, stored inside attributes",
    "customer.verified": "the credential's claims: its name and priority are stored "
                         "(customerName, priority), its attrs are not",
}


def stored(record: dict[str, Any]) -> dict[str, Any]:
    """The columns a live record fills (all but ``kind``, which the history knows)."""
    return {f.column: f.read(record) for f in FIELDS if f.source is not None}


def api_names() -> dict[str, str]:
    """Column → the field's name in the API."""
    return {f.column: f.key for f in FIELDS}


def csv_columns(form: Csv | None = None) -> tuple[str, ...]:
    """The CSV header in order (only the columns written in ``form``, when given)."""
    return tuple(f.key for f in FIELDS if f.csv is not None and form in (None, f.csv))
