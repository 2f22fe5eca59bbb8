"""Supervisor monitoring sessions: a supervisor listens to an answered queue call, whispers to its
agent, or barges in (after Asterisk's ChanSpy options q, w and B).

A ``Monitor`` is one supervisor's session on one call, from ``monitor`` to ``monitor_stop`` (or the
call's end, a transfer, the supervisor's disconnect), with every change of mode. It is kept on the
``Call`` (``Call.monitors``), as holds are, so that it survives a restart and is seen by every
process sharing the store. monitoring.py opens, changes and stops them; calls.py ends them with the
call or a transfer (``end_monitors``); the record's timeline shows them (``as_segment``).

Media never involves the customer: the supervisor connects only to the agent's browser, which
sends them both sides and, in whisper or barge, plays (and in barge mixes into what it sends the
customer) the supervisor's voice. Plain Python.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from callcenter.domain.events import CallEvent, EventName

if TYPE_CHECKING:
    from callcenter.domain.call import Call
    from callcenter.domain.calls import Outcome


class MonitorMode(StrEnum):
    LISTEN = "listen"    # hears both sides, heard by nobody
    WHISPER = "whisper"  # heard by the agent only (coaching)
    BARGE = "barge"      # heard by both


class MonitorEnd(StrEnum):
    """Why a monitoring session ended."""

    STOPPED = "stopped"                # the supervisor stopped it
    CALL_ENDED = "call_ended"
    TRANSFERRED = "transferred"        # the agent handed the call on (blind or warm transfer)
    AGENT_LEFT = "agent_left"          # the agent left a call that goes on (a conference)
    SUPERVISOR_GONE = "supervisor_gone"  # the supervisor's connection or session ended


@dataclass
class Monitor:
    """``supervisor`` (shown as ``name``) monitors the call of ``agent`` since ``start``; ``end``
    None while it goes on. ``changes``: every later change of mode, ``{at, mode}``. ``shown``:
    whether the agent's console shows it (the app's ``monitoring_shown`` when it began)."""

    supervisor: str
    name: str
    agent: str
    mode: MonitorMode
    start: float
    shown: bool = True
    end: float | None = None
    reason: MonitorEnd | None = None
    changes: list[dict[str, Any]] = field(default_factory=list)

    @property
    def first_mode(self) -> MonitorMode:
        return MonitorMode(self.changes[0]["from"]) if self.changes else self.mode

    def to_state(self) -> dict[str, Any]:
        return {"supervisor": self.supervisor, "name": self.name, "agent": self.agent,
                "mode": str(self.mode), "start": self.start, "shown": self.shown,
                "end": self.end, "reason": None if self.reason is None else str(self.reason),
                "changes": [dict(c) for c in self.changes]}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Monitor:
        end, reason = state.get("end"), state.get("reason")
        return cls(supervisor=str(state["supervisor"]), name=str(state.get("name", "")),
                   agent=str(state["agent"]), mode=MonitorMode(state["mode"]),
                   start=float(state["start"]), shown=bool(state.get("shown", True)),
                   end=None if end is None else float(end),
                   reason=None if reason is None else MonitorEnd(reason),
                   changes=[dict(c) for c in state.get("changes") or ()])

    def notice(self, call: Call) -> dict[str, Any]:
        """What the agent (and the supervisor) is told of it: monitor_started/changed/ended.
        ``customer``: whose voice the agent's SDK sends the supervisor (in a conference its
        connections are with a colleague too)."""
        return {"callId": call.id, "supervisor": {"userID": self.supervisor, "name": self.name},
                "agent": self.agent, "customer": call.sponsor, "mode": str(self.mode),
                "shown": self.shown}

    def as_segment(self) -> dict[str, Any]:
        """As the record's timeline shows it: the mode it began in, then each change."""
        return {"kind": "monitor", "by": self.supervisor, "agent": self.agent,
                "mode": str(self.first_mode), "start": self.start, "end": self.end,
                "reason": None if self.reason is None else str(self.reason),
                "changes": [{"at": c["at"], "mode": c["mode"]} for c in self.changes]}


def open_monitors(monitors: Iterable[Monitor]) -> list[Monitor]:
    """The sessions going on now (at most one per call: a second supervisor is refused)."""
    return [m for m in monitors if m.end is None]


def end_monitor(call: Call, monitor: Monitor, now: float, reason: MonitorEnd,
                out: Outcome) -> None:
    """End one session: the agent is told (and the supervisor, unless they asked for it or are
    gone), and the log gets ``monitor.ended``."""
    monitor.end, monitor.reason = now, reason
    notice = {**monitor.notice(call), "reason": str(reason)}
    told = [monitor.agent]
    if reason not in (MonitorEnd.STOPPED, MonitorEnd.SUPERVISOR_GONE):
        told.append(monitor.supervisor)
    out.notify(told, "monitor_ended", notice)
    out.events.append(CallEvent(EventName.MONITOR_ENDED, call.app_id, call.id,
                                monitor.supervisor, now, {
                                    "agent": monitor.agent, "mode": str(monitor.mode),
                                    "reason": str(reason),
                                    "duration": round(now - monitor.start, 3)}))


def end_monitors(call: Call, now: float, reason: MonitorEnd, out: Outcome,
                 agent: str | None = None) -> None:
    """The call ended, or ``agent`` left it (a transfer, a conference they leave): the
    sessions on it (on that agent) end too."""
    for monitor in open_monitors(call.monitors):
        if agent is None or monitor.agent == agent:
            end_monitor(call, monitor, now, reason, out)
