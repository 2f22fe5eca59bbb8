"""The life of a call, in one place: invite, ring, accept or refuse, talk, leave, end.

Plain Python: no Flask, no Socket.IO, no I/O. ``Switchboard`` turns a user's request into an
``Outcome``: the reply for the requester, the notices for other users, the events for plugins and
the timers to set. Adapters deliver those; nothing here knows how.

A call has a sponsor (the caller) and legs, one per participant, each in one of the ``Leg`` states:

    RINGING --accept--> JOINED --hangup/disconnect/kick--> LEFT
    RINGING --reject--> REJECTED     RINGING --timer--> TIMED_OUT
    RINGING --caller gives up or call ends--> CANCELLED
    (at invite) BUSY: the invitee's line was taken; OFFLINE: not logged in (a missed call)

A call goes on while it has two joined legs, or one joined leg and someone ringing; otherwise it
ends, once, with a reason. A user holds at most one line (one call ringing or joined) at a time.

Call control: an agent puts the other side on hold and takes them off it (``hold``, ``unhold``:
a ``Hold`` stretch the record counts); a blind transfer (``transfer_out``) makes the agent leave
and *parks* the call — the customer waits alone, on hold, as in a queue, until an offer to the
target is accepted (``accept`` unparks it and ends the hold).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from callcenter.domain.call import Call, CallType, EndReason, Leg, new_call_id
from callcenter.domain.clock import StepClock, as_step_clock, step
from callcenter.domain.credentials import USER_ID
from callcenter.domain.errors import Refused
from callcenter.domain.events import CallEvent, EventName
from callcenter.domain.hold import Hold, HoldKind, open_hold
from callcenter.domain.monitor import MonitorEnd, end_monitors
from callcenter.domain.silence import Silence, compact, open_silence, silent_seconds
from callcenter.domain.timers import Timer, TimerKey, TimerKind, timer_key

if TYPE_CHECKING:
    from callcenter.domain.store import Store

@dataclass(frozen=True)
class Notice:
    """A server event for one user of the call's app."""

    to: str
    event: str
    payload: dict[str, Any]


@dataclass
class Outcome:
    reply: dict[str, Any] = field(default_factory=dict)
    notices: list[Notice] = field(default_factory=list)
    events: list[CallEvent] = field(default_factory=list)
    timers: list[Timer] = field(default_factory=list)
    # Timers set earlier that must no longer fire (TimerQueue.cancel).
    cancelled: list[TimerKey] = field(default_factory=list)
    ended_call: Call | None = None  # set when this step ended the call
    # Messages for media workers: (worker id, event, payload).
    to_workers: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    # Call detail records that changed in this step, for the history (contact_center.py).
    records: list[dict[str, Any]] = field(default_factory=list)

    def notify(self, to: str | list[str], event: str, payload: dict[str, Any]) -> None:
        for user in [to] if isinstance(to, str) else to:
            self.notices.append(Notice(user, event, payload))


@dataclass(frozen=True)
class Limits:
    group_max: int = 4
    default_timeout: int = 30
    max_timeout: int = 600


class Switchboard:
    """Carries out call requests against the store. Each method is one atomic step."""

    def __init__(self, store: Store, limits: Limits,
                 clock: Callable[[], float] | StepClock) -> None:
        self.store = store
        self.limits = limits
        # Seconds since the epoch, read once per step: every timestamp and event of a step agree.
        self.clock = as_step_clock(clock)

    # -- helpers ---------------------------------------------------------------------------

    def _event(self, out: Outcome, name: EventName, call: Call, user: str | None,
               **data: Any) -> None:
        out.events.append(CallEvent(name, call.app_id, call.id, user, self.clock(), data))

    def _call_for(self, app_id: str, call_id: str) -> Call:
        call = self.store.get_call(app_id, call_id)
        if call is None or call.ended_at is not None:
            raise Refused("CALL_NOT_FOUND", "no such call")
        return call

    @staticmethod
    def _check_user_id(user_id: str) -> None:
        if not USER_ID.match(user_id):
            raise Refused("BAD_USER_ID", f"invalid user id {user_id[:40]!r}: use [A-Za-z0-9_-], "
                          "1 to 32 characters")

    def _save(self, call: Call) -> None:
        """Store the call, or forget it once it has ended (its record went out as call.ended)."""
        if call.ended_at is None:
            self.store.put_call(call)
        else:
            self.store.delete_call(call.app_id, call.id)

    def _set_leg(self, call: Call, user: str, leg: Leg) -> None:
        call.legs[user] = leg
        if leg not in (Leg.RINGING, Leg.JOINED):
            self.store.release_line(call.app_id, user, call.id)

    # -- requests --------------------------------------------------------------------------

    @step
    def invite(self, app_id: str, caller: str, invitees: list[str], call_type: int,
               timeout: int | None, group: bool, data: dict[str, Any] | None) -> Outcome:
        """Start a call from ``caller`` to ``invitees`` (one, or several for a group call)."""
        timeout = self._check_invite(caller, invitees, call_type, timeout, group)
        call_id = new_call_id()
        with self.store.transaction(f"{app_id}:{call_id}"):
            if not self.store.claim_line(app_id, caller, call_id):
                raise Refused("ALREADY_IN_CALL", "you are already ringing or in a call")
            now = self.clock()
            call = Call(id=call_id, app_id=app_id, sponsor=caller, type=CallType(call_type),
                        group=group, timeout=timeout, created_at=now, data=data,
                        legs={caller: Leg.JOINED})
            out = Outcome(reply={"callId": call_id})
            invited_payload = {
                "callId": call_id, "inviteID": call_id, "sponsor": caller,
                "userIDList": list(invitees), "type": call.type.value, "timeout": timeout,
                "group": group, "inviteData": {"callType": call.type.value, "data": data},
            }
            for user in invitees:
                if self.store.session_of(app_id, user) is None:
                    call.legs[user] = Leg.OFFLINE
                    self.store.add_missed(app_id, user, {
                        "callId": call_id, "from": caller, "type": call.type.value,
                        "group": group, "at": now})
                    out.notify(caller, "no_resp", {"callId": call_id, "userID": user,
                                                   "reason": "offline"})
                    self._event(out, EventName.MISSED, call, user, **{"from": caller})
                elif not self.store.claim_line(app_id, user, call_id):
                    call.legs[user] = Leg.BUSY
                    out.notify(caller, "line_busy", {"callId": call_id, "userID": user})
                    self._event(out, EventName.BUSY, call, user, **{"from": caller})
                else:
                    call.legs[user] = Leg.RINGING
                    out.notify(user, "invited", invited_payload)
                    self._event(out, EventName.INVITED, call, user, **{
                        "from": caller, "type": call.type.value, "group": group})
                    if timeout:
                        out.timers.append(Timer(timeout, app_id, call_id, user))
            busy_only = all(call.legs[u] is Leg.BUSY for u in invitees)
            self._settle(call, out, EndReason.BUSY if busy_only else EndReason.NO_ANSWER)
            # Saved once settled: a call every invitee missed ends here and is not kept.
            self._save(call)
            return out

    def _check_invite(self, caller: str, invitees: list[str], call_type: int,
                      timeout: int | None, group: bool) -> int:
        """Refuse an invitation that cannot be made; return its ring timeout."""
        if call_type not in (CallType.AUDIO, CallType.VIDEO):
            raise Refused("BAD_CALL_TYPE", "type must be 1 (audio) or 2 (video)")
        for user in invitees:
            self._check_user_id(user)
        if not invitees:
            raise Refused("BAD_REQUEST", "userIDList is empty")
        if len(set(invitees)) != len(invitees):
            raise Refused("BAD_REQUEST", "userIDList has duplicates")
        if not group and len(invitees) != 1:
            raise Refused("BAD_REQUEST", "a 1:1 call invites exactly one user; use group")
        if len(invitees) + 1 > self.limits.group_max:
            raise Refused("GROUP_TOO_LARGE",
                          f"a call has at most {self.limits.group_max} participants")
        if caller in invitees:
            raise Refused("CANNOT_CALL_SELF", "a user cannot call themselves")
        if timeout is None:
            timeout = self.limits.default_timeout
        if not 0 <= timeout <= self.limits.max_timeout:
            raise Refused("BAD_TIMEOUT", f"timeout must be 0 to {self.limits.max_timeout} s")
        return timeout

    @step
    def accept(self, app_id: str, user: str, call_id: str) -> Outcome:
        with self.store.transaction(f"{app_id}:{call_id}"):
            call = self._call_for(app_id, call_id)
            if call.legs.get(user) is not Leg.RINGING:
                raise Refused("NOT_INVITED", "you are not being invited to this call")
            others = call.users(Leg.JOINED)
            if call.consult == user:  # a consult: the customer, on hold, meets them later
                others = [u for u in others if u != call.sponsor]
            self._set_leg(call, user, Leg.JOINED)
            # A callback is answered when the customer answers the agent's ring, not when the
            # agent takes the offer (callbacks.py).
            if call.answered_at is None and (not call.callback or user == call.sponsor):
                call.answered_at = self.clock()
            unparked = call.parked
            if unparked:
                self._unpark(call, user)
            out = Outcome(reply={"callId": call_id, "type": call.type.value,
                                 "participants": others})
            if unparked:  # the customer stops the music: the transfer's target is here
                out.notify(others, "call_resumed", {"callId": call_id, "userID": user})
            out.notify(others, "user_accept", {"callId": call_id, "userID": user})
            out.notify(others, "user_enter", {"callId": call_id, "userID": user})
            self._stop_ringing(call, user, out)
            self._event(out, EventName.ACCEPTED, call, user,
                        wait=round(self.clock() - call.created_at, 3))
            if call.queue:
                # Ring-all: the first agent to accept wins; the others stop ringing.
                for other in call.users(Leg.RINGING):
                    self._cancel_leg(call, other, "taken", out)
            self._save(call)
            return out

    @step
    def reject(self, app_id: str, user: str, call_id: str) -> Outcome:
        with self.store.transaction(f"{app_id}:{call_id}"):
            call = self._call_for(app_id, call_id)
            if call.legs.get(user) is not Leg.RINGING:
                raise Refused("NOT_INVITED", "you are not being invited to this call")
            return self._refuse(call, user)

    def _refuse(self, call: Call, user: str) -> Outcome:
        self._set_leg(call, user, Leg.REJECTED)
        out = Outcome()
        self._stop_ringing(call, user, out)
        if not call.queue:  # a waiting customer is not told about agents refusing
            # Whoever is in the call hears it (in a 1:1 call, the caller).
            out.notify(call.users(Leg.JOINED), "reject", {"callId": call.id, "userID": user})
        self._event(out, EventName.REJECTED, call, user)
        self._settle(call, out, EndReason.REJECTED)
        self._save(call)
        return out

    @step
    def hangup(self, app_id: str, user: str, call_id: str,
               reason: EndReason = EndReason.HANGUP) -> Outcome:
        """Leave a call: cancel it (caller, unanswered), refuse it (ringing) or leave it."""
        with self.store.transaction(f"{app_id}:{call_id}"):
            call = self._call_for(app_id, call_id)
            leg = call.legs.get(user)
            if leg is Leg.RINGING:
                return self._refuse(call, user)
            if leg is not Leg.JOINED:
                raise Refused("NOT_IN_CALL", "you are not in this call")
            out = Outcome()
            held = open_hold(call.holds)
            if call.consult is not None and held is not None and held.by == user \
                    and held.kind is HoldKind.CONSULT:
                if call.legs.get(call.consult) is Leg.JOINED:
                    # Hanging up on a consult hands the customer over (Asterisk's attended
                    # transfer does the same).
                    out = self._consult_over(call, user, "completed")
                    self._save(call)
                    return out
                out = self._consult_over(call, user, "cancelled")  # the colleague still rang
                out.reply = {}
            self._set_leg(call, user, Leg.LEFT)
            self._end_silences(call, user, self.clock())
            if user == call.sponsor and call.answered_at is None:
                self._settle(call, out, EndReason.CANCELLED)
            else:
                others = call.users(Leg.JOINED)
                if call.consult == user:  # the customer never met the consulted colleague
                    others = [u for u in others if u != call.sponsor]
                out.notify(others, "user_leave",
                           {"callId": call_id, "userID": user, "reason": reason.value})
                self._event(out, EventName.LEFT, call, user, reason=reason.value)
                self._settle(call, out, reason)
                # A conference goes on without them: whoever monitored them stops.
                end_monitors(call, self.clock(), MonitorEnd.AGENT_LEFT, out, agent=user)
            self._save(call)
            return out

    @step
    def expire_invite(self, app_id: str, call_id: str, user: str) -> Outcome:
        """The ring timer of ``user`` ran out; nothing happens if they stopped ringing."""
        with self.store.transaction(f"{app_id}:{call_id}"):
            call = self.store.get_call(app_id, call_id)
            if call is None or call.ended_at is not None or call.legs.get(user) is not Leg.RINGING:
                return Outcome()
            self._set_leg(call, user, Leg.TIMED_OUT)
            out = Outcome()
            if call.queue:
                out.notify(user, "calling_cancel", {"callId": call_id, "userID": call.sponsor,
                                                    "reason": "timeout"})
            else:
                out.notify(user, "calling_timeout", {"callId": call_id})
                out.notify(call.users(Leg.JOINED), "no_resp",
                           {"callId": call_id, "userID": user, "reason": "timeout"})
            self._event(out, EventName.TIMED_OUT, call, user, timeout=call.timeout)
            self._settle(call, out, EndReason.NO_ANSWER)
            self._save(call)
            return out

    # -- contact-center calls: a customer waits, agents are offered the call ----------------

    @step
    def open_queue_call(self, app_id: str, customer: str, call_type: int, queue: str,
                        data: dict[str, Any] | None) -> Call:
        """The customer joins a queue: a call with only them in it, waiting for an agent."""
        if call_type not in (CallType.AUDIO, CallType.VIDEO):
            raise Refused("BAD_CALL_TYPE", "type must be 1 (audio) or 2 (video)")
        call_id = new_call_id()
        with self.store.transaction(f"{app_id}:{call_id}"):
            if not self.store.claim_line(app_id, customer, call_id):
                raise Refused("ALREADY_IN_CALL", "you are already ringing or in a call")
            call = Call(id=call_id, app_id=app_id, sponsor=customer, type=CallType(call_type),
                        group=False, timeout=0, created_at=self.clock(), data=data,
                        legs={customer: Leg.JOINED}, queue=queue)
            self._save(call)
            return call

    @step
    def offer(self, app_id: str, call_id: str, agents: list[str], timeout: int,
              payload: dict[str, Any]) -> tuple[Outcome, set[str]]:
        """Ring ``agents`` (one, or all at once for ring-all) for a waiting call, in one step:
        the outcome and those rung (not those whose line is taken)."""
        out, rung = Outcome(), set()
        with self.store.transaction(f"{app_id}:{call_id}"):
            call = self._call_for(app_id, call_id)
            for agent in agents:
                if not self.store.claim_line(app_id, agent, call_id):
                    continue
                call.legs[agent] = Leg.RINGING
                # A copy each: notices sharing one payload object go out as one emit, and each
                # agent's offer is numbered in its own stream (resume).
                out.notify(agent, "offer", dict(payload))
                out.timers.append(Timer(timeout, app_id, call_id, agent))
                rung.add(agent)
            if rung:
                self._save(call)
            return out, rung

    @step
    def withdraw(self, app_id: str, call_id: str, agent: str, reason: str) -> Outcome:
        """Stop ringing ``agent`` (their connection dropped, the call moved...)."""
        with self.store.transaction(f"{app_id}:{call_id}"):
            call = self.store.get_call(app_id, call_id)
            out = Outcome()
            if call is not None and call.legs.get(agent) is Leg.RINGING:
                self._cancel_leg(call, agent, reason, out)
                self._save(call)
            return out

    @step
    def move_to_queue(self, app_id: str, call_id: str, queue: str) -> Call:
        """A waiting call overflows to another queue: from now on it waits there."""
        with self.store.transaction(f"{app_id}:{call_id}"):
            call = self._call_for(app_id, call_id)
            call.queue = queue
            self._save(call)
            return call

    @step
    def end_waiting(self, app_id: str, call_id: str, reason: EndReason) -> Outcome:
        """End a call that is still waiting in its queue (max wait, no agents left)."""
        with self.store.transaction(f"{app_id}:{call_id}"):
            call = self._call_for(app_id, call_id)
            out = Outcome()
            for user in call.users(Leg.RINGING):
                self._cancel_leg(call, user, reason.value, out)
            self._settle(call, out, reason, stop_waiting=True)
            self._save(call)
            return out

    def check_relay(self, app_id: str, user: str, call_id: str, to: str | None = None) -> Call:
        """Refuse a relay (signal, media state) unless sender and target have joined the call."""
        call = self._call_for(app_id, call_id)
        if call.legs.get(user) is not Leg.JOINED:
            raise Refused("NOT_IN_CALL", "you have not joined this call")
        if to is not None and (to == user or call.legs.get(to) is not Leg.JOINED):
            raise Refused("PEER_NOT_IN_CALL", "the target has not joined this call")
        return call

    @step
    def media_state(self, app_id: str, user: str, call_id: str,
                    state: dict[str, bool]) -> Outcome:
        call = self.check_relay(app_id, user, call_id)
        out = Outcome()
        others = [u for u in call.users(Leg.JOINED) if u != user]
        out.notify(others, "media_state", {"callId": call_id, "userID": user, **state})
        return out

    @step
    def media_flow(self, app_id: str, user: str, call_id: str, sender: str,
                   flowing: bool, silent_for: float = 0.0) -> Outcome:
        """``user`` reports that media from ``sender`` stopped arriving (``flowing`` False) or
        arrives again. The call keeps the silence (kept out of its talk time) and the other
        participants are told, so the one not heard can say so. A report that changes nothing
        (media already known to flow, or already known to have stopped) is answered and goes
        no further: a client may repeat one whose ack it lost.

        A stall is noticed only after a few seconds without media; ``silent_for`` says how
        many, and the silence is taken to have begun then (the call's answer bounds it)."""
        with self.store.transaction(f"{app_id}:{call_id}"):
            call = self.check_relay(app_id, user, call_id, sender)
            silence = open_silence(call.silences, user, sender)
            out = Outcome()
            if flowing == (silence is None):
                return out
            if silence is not None:
                silence.end = self.clock()
            else:
                start = self.clock() - max(0.0, silent_for)
                call.silences = compact([*call.silences, Silence(user, sender, start)])
            self._save(call)
            others = [u for u in call.users(Leg.JOINED) if u != user]
            out.notify(others, "media_flow", {"callId": call_id, "userID": sender, "by": user,
                                              "flowing": flowing})
            self._event(out, EventName.MEDIA_FLOWING if flowing else EventName.MEDIA_STALLED,
                        call, user, sender=sender)
            return out

    @staticmethod
    def _end_silences(call: Call, user: str, now: float) -> None:
        """``user`` left: what they did not receive, and what others did not receive from
        them, is over (the call goes on without them)."""
        for silence in call.silences:
            if silence.end is None and user in (silence.receiver, silence.sender):
                silence.end = now

    @step
    def switch_type(self, app_id: str, user: str, call_id: str, new_type: int) -> Outcome:
        if new_type not in (CallType.AUDIO, CallType.VIDEO):
            raise Refused("BAD_CALL_TYPE", "type must be 1 (audio) or 2 (video)")
        with self.store.transaction(f"{app_id}:{call_id}"):
            call = self.check_relay(app_id, user, call_id)
            if call.group:
                raise Refused("GROUP_CALL", "a group call cannot change its type")
            old = call.type
            call.type = CallType(new_type)
            self._save(call)
            payload = {"callId": call_id, "userID": user, "oldType": old.value,
                       "newType": call.type.value}
            out = Outcome(reply={"oldType": old.value, "newType": call.type.value})
            out.notify([u for u, leg in call.legs.items() if leg in (Leg.JOINED, Leg.RINGING)],
                       "call_type_changed", payload)
            return out

    @step
    def leave_all(self, app_id: str, user: str, reason: EndReason) -> Outcome:
        """The user's session ends (disconnect, kick, logout): leave the call on their line."""
        call_id = self.store.line_of(app_id, user)
        if call_id is None:
            return Outcome()
        try:
            return self.hangup(app_id, user, call_id, reason)
        except Refused:
            # The line pointed at a call that is gone; free it so the user is not stuck busy.
            self.store.release_line(app_id, user, call_id)
            return Outcome()

    # -- call control ------------------------------------------------------------------------

    def _check_control(self, call: Call, user: str) -> None:
        """Refuse hold or transfer unless ``user`` talks with one other party, as its agent."""
        if call.group:
            raise Refused("GROUP_CALL", "a group call cannot be put on hold or transferred")
        if call.queue and user == call.sponsor:
            raise Refused("NOT_AGENT", "only the agent can hold or transfer a queue call")
        if call.consult is not None:
            raise Refused("ALREADY_CONSULTING", "end the consult first: cancel or complete "
                          "it, or make it a conference")
        joined = len(call.users(Leg.JOINED))
        if joined < 2:
            raise Refused("NOT_ANSWERED", "the call is not answered yet")
        if joined > 2:
            raise Refused("GROUP_CALL", "a call of three cannot be put on hold or transferred")

    @step
    def hold(self, app_id: str, user: str, call_id: str, music: str | None) -> Outcome:
        """``user`` puts the other side on hold: they are told (and play ``music``); each side's
        SDK stops sending to the other until ``unhold``."""
        with self.store.transaction(f"{app_id}:{call_id}"):
            call = self.check_relay(app_id, user, call_id)
            self._check_control(call, user)
            if open_hold(call.holds) is not None:
                raise Refused("ALREADY_ON_HOLD", "the call is already on hold")
            call.holds.append(Hold(user, self.clock()))
            self._save(call)
            out = Outcome(reply={"callId": call_id, "heldAt": self.clock()})
            others = [u for u in call.users(Leg.JOINED) if u != user]
            out.notify(others, "call_held", {"callId": call_id, "userID": user, "music": music})
            self._event(out, EventName.HELD, call, user)
            return out

    @step
    def unhold(self, app_id: str, user: str, call_id: str) -> Outcome:
        with self.store.transaction(f"{app_id}:{call_id}"):
            call = self.check_relay(app_id, user, call_id)
            self._check_control(call, user)
            hold = open_hold(call.holds)
            if hold is None:
                raise Refused("NOT_ON_HOLD", "the call is not on hold")
            hold.end = self.clock()
            self._save(call)
            held = round(hold.end - hold.start, 3)
            out = Outcome(reply={"callId": call_id, "held": held})
            others = [u for u in call.users(Leg.JOINED) if u != user]
            out.notify(others, "call_resumed", {"callId": call_id, "userID": user})
            self._event(out, EventName.RESUMED, call, user, held=held)
            return out

    def _handed_on(self, app_id: str, agent: str, call_id: str) -> tuple[Call, bool]:
        """The queue call ``agent`` hands on (a transfer, a consult), and whether its customer
        was on hold: that hold ends here, the wait for the target is a hold of its own."""
        call = self.check_relay(app_id, agent, call_id)
        if not call.queue:
            raise Refused("NOT_QUEUE_CALL", "only a contact-center call can be transferred")
        self._check_control(call, agent)
        held = open_hold(call.holds)
        if held is not None:
            held.end = self.clock()
        return call, held is not None

    @step
    def transfer_out(self, app_id: str, agent: str, call_id: str, music: str | None,
                     target: dict[str, Any]) -> Outcome:
        """A blind transfer's first half: ``agent`` leaves and the customer waits, on hold,
        for the target (the contact center offers the call to it next). ``target`` is what the
        customer is told of it."""
        with self.store.transaction(f"{app_id}:{call_id}"):
            call, _ = self._handed_on(app_id, agent, call_id)
            now = self.clock()
            out = Outcome()
            self._set_leg(call, agent, Leg.LEFT)
            self._end_silences(call, agent, now)
            end_monitors(call, now, MonitorEnd.TRANSFERRED, out)  # its agent is gone
            call.parked = True
            call.holds.append(Hold(agent, now, kind=HoldKind.TRANSFER))
            self._save(call)
            out.notify(call.sponsor, "user_leave",
                       {"callId": call_id, "userID": agent, "reason": "transferred"})
            out.notify(call.sponsor, "call_held", {"callId": call_id, "userID": agent,
                                                   "music": music, "transfer": target})
            self._event(out, EventName.LEFT, call, agent, reason="transferred")
            return out

    @step
    def consult_start(self, app_id: str, agent: str, call_id: str, music: str | None,
                      target: str) -> Outcome:
        """A warm transfer's first half: the customer goes on hold (and is told) while
        ``agent`` rings ``target`` (the contact center offers the call to them next) and talks
        with them alone once they answer."""
        with self.store.transaction(f"{app_id}:{call_id}"):
            call, was_held = self._handed_on(app_id, agent, call_id)
            now = self.clock()
            call.holds.append(Hold(agent, now, kind=HoldKind.CONSULT))
            call.consult = target
            self._save(call)
            out = Outcome()
            if not was_held:  # a customer on hold already hears the music
                out.notify(call.sponsor, "call_held", {"callId": call_id, "userID": agent,
                                                       "music": music})
            self._event(out, EventName.CONSULT_STARTED, call, agent, to=target)
            return out

    def _consult_hold(self, call: Call, agent: str) -> Hold:
        held = open_hold(call.holds)
        if call.consult is None or held is None or held.kind is not HoldKind.CONSULT \
                or held.by != agent:
            raise Refused("NOT_CONSULTING", "you are not consulting anyone in this call")
        return held

    @step
    def consult_end(self, app_id: str, agent: str, call_id: str, how: str) -> Outcome:
        """The consult is over, as ``agent`` says: ``cancelled`` (the colleague leaves, the
        customer is back with the agent), ``completed`` (the agent leaves, the customer talks
        with the colleague: a warm transfer) or ``conference`` (all three talk)."""
        with self.store.transaction(f"{app_id}:{call_id}"):
            call = self.check_relay(app_id, agent, call_id)
            self._consult_hold(call, agent)
            target = call.consult or ""
            if how != "cancelled" and call.legs.get(target) is not Leg.JOINED:
                raise Refused("NOT_ANSWERED", f"{target} has not answered yet")
            out = self._consult_over(call, agent, how)
            self._save(call)
            return out

    def _consult_over(self, call: Call, agent: str, how: str) -> Outcome:
        held = self._consult_hold(call, agent)
        target, customer, now = call.consult or "", call.sponsor, self.clock()
        held.end, call.consult = now, None
        out = Outcome(reply={"callId": call.id, "held": round(now - held.start, 3)})
        out.notify(customer, "call_resumed", {"callId": call.id, "userID": agent})
        if how == "cancelled":
            self._drop_consulted(call, target, agent, out)
        else:  # the customer and the colleague meet: the colleague offers them media
            out.notify(customer, "user_accept", {"callId": call.id, "userID": target})
            out.notify(customer, "user_enter", {"callId": call.id, "userID": target})
            out.notify(target, "connect_to", {"callId": call.id, "userID": customer})
        if how == "completed":
            self._set_leg(call, agent, Leg.LEFT)
            self._end_silences(call, agent, now)
            end_monitors(call, now, MonitorEnd.TRANSFERRED, out, agent=agent)  # a warm transfer
            out.notify([customer, target], "user_leave",
                       {"callId": call.id, "userID": agent, "reason": "transferred"})
            self._event(out, EventName.LEFT, call, agent, reason="transferred")
        self._event(out, EventName.CONSULT_ENDED, call, agent, to=target, outcome=how)
        if how == "conference":
            self._event(out, EventName.CONFERENCE, call, agent, parties=call.users(Leg.JOINED))
        return out

    def _drop_consulted(self, call: Call, target: str, agent: str, out: Outcome) -> None:
        leg = call.legs.get(target)
        if leg is Leg.RINGING:
            self._cancel_leg(call, target, "consult_ended", out)
        elif leg is Leg.JOINED:
            self._set_leg(call, target, Leg.LEFT)
            self._end_silences(call, target, self.clock())
            out.notify(target, "call_end", {"callId": call.id, "reason": "consult_ended"})
            out.notify(agent, "user_leave", {"callId": call.id, "userID": target,
                                             "reason": "consult_ended"})
            self._event(out, EventName.LEFT, call, target, reason="consult_ended")

    @step
    def consult_gone(self, app_id: str, call_id: str) -> Outcome:
        """The consulted colleague did not answer, refused or left: the consult is over, and
        the customer stays on hold with the agent, who takes them off it (``unhold``) or
        consults someone else."""
        with self.store.transaction(f"{app_id}:{call_id}"):
            call = self._call_for(app_id, call_id)
            held = open_hold(call.holds)
            out = Outcome()
            if call.consult is None or held is None or held.kind is not HoldKind.CONSULT:
                return out
            target, call.consult = call.consult, None
            held.end = self.clock()  # the consult's hold ends; a plain one goes on
            call.holds.append(Hold(held.by, held.end))
            out.notify(held.by, "consult_ended", {"callId": call_id, "userID": target})
            self._event(out, EventName.CONSULT_ENDED, call, held.by, to=target,
                        outcome="failed")
            self._save(call)
            return out

    def _unpark(self, call: Call, user: str) -> None:
        """The transfer's target answered: the customer's wait for it ends."""
        call.parked = False
        hold = open_hold(call.holds)
        if hold is not None:
            hold.end = self.clock()

    # -- callbacks (callbacks.py): the customer leaves the line, and is rung back -------------

    @step
    def leave_for_callback(self, app_id: str, call_id: str) -> Outcome:
        """The waiting customer asked to be called back: their leg leaves (their page may go)
        while the call keeps its place in line; an agent ringing for it stops."""
        with self.store.transaction(f"{app_id}:{call_id}"):
            call = self._call_for(app_id, call_id)
            out = Outcome()
            for user in call.users(Leg.RINGING):
                self._cancel_leg(call, user, "callback", out)
            call.callback = True
            self._set_leg(call, call.sponsor, Leg.LEFT)
            self._end_silences(call, call.sponsor, self.clock())
            self._save(call)
            return out

    @step
    def ring_back(self, app_id: str, call_id: str, agent: str, timeout: int,
                  shown: dict[str, Any]) -> Outcome:
        """The agent took a callback: ring its customer, as an invitation from the agent
        (``shown``: what the customer is told, under ``callback``). The reply's ``reached`` says
        how it went: ringing, offline (no session) or busy (in another call)."""
        with self.store.transaction(f"{app_id}:{call_id}"):
            call = self._call_for(app_id, call_id)
            customer = call.sponsor
            out = Outcome()
            if self.store.session_of(app_id, customer) is None:
                call.legs[customer] = Leg.OFFLINE
                out.reply = {"reached": "offline"}
            elif not self.store.claim_line(app_id, customer, call_id):
                call.legs[customer] = Leg.BUSY
                out.reply = {"reached": "busy"}
            else:
                call.legs[customer] = Leg.RINGING
                out.reply = {"reached": "ringing"}
                out.notify(customer, "invited", {
                    "callId": call_id, "inviteID": call_id, "sponsor": agent,
                    "userIDList": [customer], "type": call.type.value, "timeout": timeout,
                    "group": False, "inviteData": {"callType": call.type.value, "data": None},
                    "callback": shown})
                self._event(out, EventName.INVITED, call, customer, **{
                    "from": agent, "type": call.type.value, "group": False})
                out.timers.append(Timer(timeout, app_id, call_id, customer))
            self._save(call)
            return out

    @step
    def end_ring_back(self, app_id: str, call_id: str, agent: str, reason: str) -> Outcome:
        """A ring of a callback's customer is over unanswered (``reason``: no_answer,
        rejected, offline, busy; cancelled: the agent left): the agent leaves the call, which
        waits in line again."""
        with self.store.transaction(f"{app_id}:{call_id}"):
            call = self._call_for(app_id, call_id)
            out = Outcome()
            if call.legs.get(call.sponsor) is Leg.RINGING:
                self._set_leg(call, call.sponsor, Leg.CANCELLED)
                self._stop_ringing(call, call.sponsor, out)
                out.notify(call.sponsor, "calling_cancel", {"callId": call_id, "userID": agent,
                                                            "reason": reason})
            if call.legs.get(agent) is Leg.JOINED:
                self._set_leg(call, agent, Leg.LEFT)
                self._end_silences(call, agent, self.clock())
                out.notify(agent, "call_end", {"callId": call_id, "reason": reason})
                self._event(out, EventName.LEFT, call, agent, reason="callback")
            self._save(call)
            return out

    def take_missed(self, app_id: str, user: str) -> list[dict[str, Any]]:
        return self.store.take_missed(app_id, user)

    # -- the end of a call -----------------------------------------------------------------

    @staticmethod
    def _stop_ringing(call: Call, user: str, out: Outcome) -> None:
        """The user stopped ringing before the ring timeout: its timer is not needed."""
        out.cancelled.append(timer_key(TimerKind.RING, call.app_id, call.id, user))

    def _cancel_leg(self, call: Call, user: str, reason: str, out: Outcome) -> None:
        self._set_leg(call, user, Leg.CANCELLED)
        self._stop_ringing(call, user, out)
        out.notify(user, "calling_cancel", {"callId": call.id, "userID": call.sponsor,
                                            "reason": reason})
        self._event(out, EventName.CANCELLED, call, user, reason=reason)

    def _settle(self, call: Call, out: Outcome, reason: EndReason,
                stop_waiting: bool = False) -> None:
        """End the call if nobody is left to talk to; cancel whoever still rings. A customer
        alone in a queue call waits for the next offer, unless ``stop_waiting``."""
        joined, ringing = call.users(Leg.JOINED), call.users(Leg.RINGING)
        if call.callback and call.answered_at is None and not stop_waiting:
            return  # a callback waits in line, nobody on it, until the customer answers
        # An answered queue call is the customer's: it ends when they leave, even with two
        # agents still in it (a consult, a conference).
        customer_gone = bool(call.queue) and call.answered_at is not None and \
            call.sponsor not in joined
        if stop_waiting:
            joined = [u for u in joined if u == call.sponsor]
        elif customer_gone:
            pass
        elif len(joined) >= 2 or (len(joined) == 1 and ringing):
            return
        elif call.queue and (call.answered_at is None or call.parked) and \
                call.sponsor in joined:
            return  # the customer waits in the queue (or for a transfer) for the next offer
        if not joined and ringing:
            reason = EndReason.CANCELLED
        cancel = {EndReason.CANCELLED: "abandoned" if call.queue else "cancelled"}.get(
            reason, reason.value)
        for user in ringing:
            self._cancel_leg(call, user, cancel, out)
        for user in joined:
            self._set_leg(call, user, Leg.LEFT)
            out.notify(user, "call_end", {"callId": call.id, "reason": reason.value})
        call.ended_at = self.clock()
        call.end_reason = reason
        hold = open_hold(call.holds)
        if hold is not None:
            hold.end = call.ended_at
        end_monitors(call, call.ended_at, MonitorEnd.CALL_ENDED, out)
        talk = call.ended_at - call.answered_at if call.answered_at is not None else 0.0
        # A silence still going on when the call ends counts up to the end.
        silent = silent_seconds(call.silences, call.answered_at, call.ended_at)
        self._event(out, EventName.ENDED, call, None, reason=reason.value,
                    answered=call.answered_at is not None, duration=round(talk, 3),
                    silent=round(silent, 3),
                    legs={u: leg.value for u, leg in call.legs.items()}, queue=call.queue)
        out.ended_call = call
