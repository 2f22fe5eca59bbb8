"""The payload keys of every Socket.IO request, for fuzzing a deployment (or a plugin) with
requests that reach past the name check: each request's known keys with random values.

    keys = fields_of("invite")            # ["data", "group", "timeout", "type", "userIDList"]

The table names the server's own request models (callcenter.server.socketio.wire), so it is
never out of date with what the server checks; tests/integration/test_protocol_fuzz.py holds it
to the full list of requests (callcenter.domain.access.SOCKET).
"""

from __future__ import annotations

from callcenter.server.socketio.wire import (
    AgentStatus,
    Callback,
    CallRef,
    Consult,
    Empty,
    Enqueue,
    Invite,
    JobUpdate,
    MediaFlow,
    MediaState,
    Monitor,
    Rate,
    RecordSignal,
    Request,
    Signal,
    SwitchType,
    Transfer,
    WorkerHello,
    WorkerSignal,
    WrapUp,
)

__all__ = ["REQUEST_MODELS", "fields_of"]

# Two models for record_signal: a participant's and a media worker's.
REQUEST_MODELS: dict[str, tuple[type[Request], ...]] = {
    "hello": (Empty,), "logout": (Empty,), "invite": (Invite,), "accept": (CallRef,),
    "reject": (CallRef,), "hangup": (CallRef,), "signal": (Signal,),
    "media_state": (MediaState,), "media_flow": (MediaFlow,), "switch_type": (SwitchType,),
    "enqueue": (Enqueue,), "rate": (Rate,), "agent_status": (AgentStatus,), "agent_state": (Empty,),
    "wrap_up": (WrapUp,), "supervisor_watch": (Empty,), "worker_hello": (WorkerHello,),
    "job_update": (JobUpdate,), "record_signal": (RecordSignal, WorkerSignal),
    "hold": (CallRef,), "unhold": (CallRef,), "transfer": (Transfer,),
    "transfer_targets": (Empty,), "consult": (Consult,), "consult_cancel": (CallRef,),
    "consult_complete": (CallRef,), "conference": (CallRef,),
    "callback": (Callback,),
    "monitor": (Monitor,), "monitor_stop": (CallRef,),
}


def fields_of(request: str) -> list[str]:
    """Every payload key ``request`` knows, sorted; [] for a name that is no request."""
    return sorted({key for model in REQUEST_MODELS.get(request, ()) for key in model.model_fields})
