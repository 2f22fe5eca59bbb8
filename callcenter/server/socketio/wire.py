"""The shapes of client requests, checked before anything else looks at them.

Strict: no type coercion ("2" is not 2) and no unknown keys, so a client bug is named at once
instead of being half-understood. What the values mean (a valid user id, a known call) is the
domain's business; this module only checks form.
"""

from __future__ import annotations

import json
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, StrictBool, StrictInt, StrictStr, ValidationError

from callcenter.domain.errors import Refused

MAX_INVITE_DATA_BYTES = 2048
MAX_SDP_BYTES = 32 * 1024


def bad_request(message: str) -> Refused:
    """The refusal of a payload of the wrong form."""
    return Refused("BAD_REQUEST", message)


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    def check(self) -> None:
        """What the field types cannot say (sizes, the shape of SDP): refuse it here."""


def _at_most(name: str, value: str | None, limit: int) -> None:
    if value is not None and len(value) > limit:
        raise bad_request(f"{name}: at most {limit} characters")


def _check_signal_payload(kind: str, payload: dict[str, Any] | None) -> None:
    """An offer or answer is {type, sdp} with type = kind; a candidate carries a string."""
    if payload is None:
        return
    if kind in ("offer", "answer"):
        sdp = payload.get("sdp")
        if not isinstance(sdp, str) or payload.get("type") != kind:
            raise bad_request("payload: an offer or answer is {type, sdp} with type = kind")
        if len(sdp.encode()) > MAX_SDP_BYTES:
            raise bad_request(f"payload.sdp: at most {MAX_SDP_BYTES} bytes")
    elif not isinstance(payload.get("candidate"), str):
        raise bad_request("payload.candidate: must be a string")


class Empty(Request):
    pass


class Invite(Request):
    userIDList: list[StrictStr]
    type: StrictInt
    timeout: StrictInt | None = None
    group: StrictBool = False
    data: dict[str, Any] | None = None

    def check(self) -> None:
        if self.data is not None and encoded_size(self.data) > MAX_INVITE_DATA_BYTES:
            raise bad_request(f"data: at most {MAX_INVITE_DATA_BYTES} bytes")


class CallRef(Request):
    callId: StrictStr


MAX_SIGNAL_ID = 64


class Signal(Request):
    callId: StrictStr
    to: StrictStr
    kind: Literal["offer", "answer", "candidate"]
    payload: dict[str, Any] | None
    # The sender's own name for this signal, relayed as is: a client that sends a signal again
    # (its ack was lost with the connection) lets the receiver drop the copy.
    id: StrictStr | None = None

    def check(self) -> None:
        _at_most("id", self.id, MAX_SIGNAL_ID)
        _check_signal_payload(self.kind, self.payload)


class MediaState(Request):
    callId: StrictStr
    audio: StrictBool | None = None
    video: StrictBool | None = None


MAX_SILENT_FOR = 60.0


class MediaFlow(Request):
    """Media from ``userID`` stopped reaching the sender (``flowing`` false; ``silentFor``: for
    how many seconds nothing has arrived), or reaches it again."""

    callId: StrictStr
    userID: StrictStr
    flowing: StrictBool
    silentFor: float | None = None

    def check(self) -> None:
        if self.silentFor is None:
            return
        if self.flowing:
            raise bad_request("silentFor: only with flowing false")
        if not 0 <= self.silentFor <= MAX_SILENT_FOR:
            raise bad_request(f"silentFor: 0 to {MAX_SILENT_FOR:g} seconds")


class SwitchType(Request):
    callId: StrictStr
    type: StrictInt


T = TypeVar("T", bound=Request)


class Enqueue(Request):
    queue: StrictStr
    type: StrictInt
    attributes: dict[StrictStr, StrictStr] | None = None

    def check(self) -> None:
        if self.attributes is None:
            return
        if len(self.attributes) > MAX_ATTRIBUTES:
            raise bad_request(f"attributes: at most {MAX_ATTRIBUTES} keys")
        for key, value in self.attributes.items():
            if not 1 <= len(key) <= MAX_ATTRIBUTE_KEY:
                raise bad_request(f"attributes: keys are 1 to {MAX_ATTRIBUTE_KEY} characters")
            _at_most(f"attributes.{key}", value, MAX_ATTRIBUTE_VALUE)


class Rate(Request):
    callId: StrictStr
    rating: StrictInt


class Callback(Request):
    """A waiting customer asks to be called back; the contact is checked by the domain
    (callbacks.checked_contact), which answers BAD_CONTACT."""

    callId: StrictStr
    contact: dict[StrictStr, Any]


class AgentStatus(Request):
    status: StrictStr
    reason: StrictStr | None = None

    def check(self) -> None:
        _at_most("reason", self.reason, 32)


class WrapUp(Request):
    callId: StrictStr
    disposition: StrictStr | None = None
    notes: StrictStr | None = None

    def check(self) -> None:
        _at_most("disposition", self.disposition, 64)
        _at_most("notes", self.notes, 2000)


class Monitor(Request):
    """A supervisor monitors a call: listen (heard by nobody), whisper (by the agent), barge
    (by both); asked again with another mode, it switches."""

    callId: StrictStr
    mode: Literal["listen", "whisper", "barge"]


class Transfer(Request):
    """A blind transfer: to one agent (``toAgent``) or to a queue (``toQueue``), with a note
    for whoever takes the call."""

    callId: StrictStr
    toAgent: StrictStr | None = None
    toQueue: StrictStr | None = None
    note: StrictStr = ""

    def check(self) -> None:
        if (self.toAgent is None) == (self.toQueue is None):
            raise bad_request("name one target: toAgent or toQueue")
        _at_most("toAgent", self.toAgent, 32)
        _at_most("toQueue", self.toQueue, 32)
        _at_most("note", self.note, 500)


class Consult(Request):
    """A consult: the agent rings a colleague (``toAgent``), the customer on hold."""

    callId: StrictStr
    toAgent: StrictStr
    note: StrictStr = ""

    def check(self) -> None:
        _at_most("toAgent", self.toAgent, 32)
        _at_most("note", self.note, 500)


class WorkerHello(Request):
    capacity: StrictInt
    name: StrictStr | None = None

    def check(self) -> None:
        if not 1 <= self.capacity <= 10000:
            raise bad_request("capacity: 1 to 10000")


class JobUpdate(Request):
    jobId: StrictStr
    state: Literal["started", "done", "failed"]
    file: StrictStr | None = None
    duration: float | None = None
    size: StrictInt | None = None
    channels: StrictInt | None = None
    sha256: StrictStr | None = None
    partial: StrictBool | None = None
    error: StrictStr | None = None


class RecordSignal(Request):
    """From a participant to the recorder of their call."""

    callId: StrictStr
    kind: Literal["offer", "candidate"]
    payload: dict[str, Any] | None

    def check(self) -> None:
        _check_signal_payload(self.kind, self.payload)


class WorkerSignal(Request):
    """From a media worker to one leg of its job."""

    jobId: StrictStr
    to: StrictStr
    kind: Literal["answer", "candidate"]
    payload: dict[str, Any] | None

    def check(self) -> None:
        _check_signal_payload(self.kind, self.payload)


MAX_ATTRIBUTES = 16
MAX_ATTRIBUTE_KEY = 32
MAX_ATTRIBUTE_VALUE = 256


def encoded_size(value: Any) -> int:
    """The payload's size as JSON text in bytes; BAD_REQUEST if it is not JSON.

    Socket.IO lets a client send binary attachments (bytes anywhere in the payload), and JSON
    lets it send strings with lone surrogates that no UTF-8 encoder accepts: neither is a request
    of ours, so both are refused here, before anything else reads the payload.
    """
    try:
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False,
                          allow_nan=False)
        return len(text.encode())
    except TypeError:
        raise bad_request("the payload must be JSON: binary data is not accepted") from None
    except ValueError:  # NaN or infinity (allow_nan=False)
        raise bad_request("the payload must be JSON: numbers must be finite") from None
    except UnicodeEncodeError:
        raise bad_request("the payload must be JSON: strings must be valid Unicode") from None
    except RecursionError:
        raise bad_request("the payload is nested too deeply") from None


def parse(model: type[T], payload: Any) -> T:
    """Validate one request payload; refuse it (BAD_REQUEST) naming the first problem's key path."""
    if payload is None:
        payload = {}
    if not isinstance(payload, dict):
        raise bad_request("the payload must be a JSON object")
    try:
        request = model.model_validate(payload)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "payload"
        message = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
        raise bad_request(f"{where}: {message}") from None
    request.check()
    return request
