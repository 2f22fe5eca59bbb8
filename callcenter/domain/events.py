"""Call events: what happened to a call or a user, as handed to plugins.

One flat record per event, like Asterisk's queue_log: the plugin hook receives every one of them,
so an event log, a webhook or a metrics plugin needs no other source.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class EventName(StrEnum):
    INVITED = "call.invited"        # an invitee's phone rings
    BUSY = "call.busy"              # an invitee was ringing or in a call
    MISSED = "call.missed"          # an invitee was offline; kept as a missed call for them
    ACCEPTED = "call.accepted"
    REJECTED = "call.rejected"
    CANCELLED = "call.cancelled"    # the caller gave up before this invitee answered
    TIMED_OUT = "call.timed_out"    # this invitee did not answer in time
    LEFT = "call.left"              # a joined participant left (hangup, disconnect, kick)
    ENDED = "call.ended"            # once per call; a queue call's queue.* ending follows it
    INTERRUPTED = "call.interrupted"  # closed at start: the server died while it went on
    # A participant's SDK reports media from another stopped arriving, or arrives again.
    MEDIA_STALLED = "call.media_stalled"
    MEDIA_FLOWING = "call.media_flowing"
    # Call control (after Asterisk's queue_log HOLD / UNHOLD, BLINDTRANSFER):
    HELD = "call.held"              # an agent put the customer on hold
    RESUMED = "call.resumed"        # ... and took them off it
    TRANSFERRED = "call.transferred"  # an agent handed the customer to an agent or a queue
    TRANSFER_FAILED = "call.transfer_failed"  # the target did not take it; it went back
    CONSULT_STARTED = "call.consult_started"  # the agent rings a colleague, the customer held
    CONSULT_ENDED = "call.consult_ended"  # ... cancelled, completed (ATTENDEDTRANSFER), ...
    CONFERENCE = "call.conference"  # the consult became a three-way call with the customer
    # Supervisor monitoring (after Asterisk's ChanSpy): listen, whisper or barge.
    MONITOR_STARTED = "monitor.started"  # a supervisor began monitoring the call
    MONITOR_CHANGED = "monitor.changed"  # ... switched between listen, whisper and barge
    MONITOR_ENDED = "monitor.ended"      # ... stopped, or the call ended or was transferred
    KICKED_OUT = "user.kicked_out"  # the same user logged in elsewhere
    # The contact center, after Asterisk's queue_log:
    QUEUE_JOINED = "queue.joined"              # ENTERQUEUE
    QUEUE_OFFERED = "queue.offered"            # an agent's phone rings
    QUEUE_RING_NO_ANSWER = "queue.ring_no_answer"  # RINGNOANSWER
    QUEUE_OFFER_REJECTED = "queue.offer_rejected"
    QUEUE_ANSWERED = "queue.answered"          # CONNECT
    QUEUE_ABANDONED = "queue.abandoned"        # ABANDON
    QUEUE_TIMED_OUT = "queue.timed_out"        # EXITWITHTIMEOUT
    QUEUE_OVERFLOWED = "queue.overflowed"
    QUEUE_COMPLETED = "queue.completed"        # COMPLETECALLER / COMPLETEAGENT
    QUEUE_LONG_WAIT = "queue.long_wait"        # a call has waited the queue's wait_alert
    # Callbacks (callbacks.py): the customer asked to be called back, keeping their place; an
    # agent is offered it; the customer answered the agent's ring; or could not be reached.
    CALLBACK_REQUESTED = "callback.requested"
    CALLBACK_OFFERED = "callback.offered"
    CALLBACK_COMPLETED = "callback.completed"
    CALLBACK_UNREACHABLE = "callback.unreachable"
    AGENT_STATUS = "agent.status"              # PAUSE / UNPAUSE, login, logout
    AGENT_STATE = "agent.state"
    AGENT_WRAP_UP = "agent.wrap_up"            # disposition and notes recorded
    CALL_RATED = "call.rated"
    RECORDING_UNAVAILABLE = "recording.unavailable"  # to be recorded, but no worker had room


@dataclass(frozen=True)
class CallEvent:
    name: EventName
    app_id: str
    call_id: str | None
    user_id: str | None
    at: float
    data: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "event": self.name.value, "app": self.app_id, "call": self.call_id,
            "user": self.user_id, "at": self.at, **self.data,
        }
