"""Supervisor monitoring requests: ``monitor`` (start, or switch between listen, whisper and barge)
and ``monitor_stop``, on an answered queue call of the supervisor's app; and the end of a
supervisor's sessions when they go away.

The sessions are kept on the call (monitor.py) and changed here, each step in the call's store
transaction as the switchboard's are; the queue call reads the changed call at once, so the live
view and the record see it. The agent is always told (its SDK carries the media: the supervisor
connects to the agent's browser only, never to the customer's); ``shown`` says whether its
console shows it (the app's ``monitoring_shown``).

One supervisor per call, and one call per supervisor, at a time: a second is refused with
MONITOR_BUSY (the agent's browser sends the call to one supervisor; a second would double what it
sends and mixes). Plain Python.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from callcenter.domain.call import Call, Leg
from callcenter.domain.calls import Outcome
from callcenter.domain.clock import step
from callcenter.domain.errors import Refused
from callcenter.domain.events import CallEvent, EventName
from callcenter.domain.monitor import Monitor, MonitorEnd, MonitorMode, end_monitor, open_monitors

if TYPE_CHECKING:
    from callcenter.domain.contact_center import ContactCenter


class Monitoring:
    """Monitoring sessions of the contact center's calls."""

    def __init__(self, center: ContactCenter) -> None:
        self.center = center
        self.switchboard = center.switchboard
        self.store = center.switchboard.store
        self.clock = center.switchboard.clock

    # -- requests --------------------------------------------------------------------------------

    @step
    def monitor(self, app_id: str, supervisor: str, call_id: str, mode: str) -> Outcome:
        """Start monitoring ``call_id`` in ``mode``, or switch an open session to it."""
        try:
            new = MonitorMode(mode)
        except ValueError:
            raise Refused("BAD_REQUEST", "mode: listen, whisper or barge") from None
        with self.store.transaction(f"{app_id}:{call_id}"):
            call, agent = self._answered(app_id, call_id)
            now = self.clock()
            current = next(iter(open_monitors(call.monitors)), None)
            out = Outcome()
            if current is not None and current.supervisor != supervisor:
                raise Refused("MONITOR_BUSY", f"{current.name or current.supervisor} is "
                              "monitoring this call already")
            if current is None:
                elsewhere = self._monitored_by(app_id, supervisor)
                if elsewhere is not None:
                    raise Refused("MONITOR_BUSY", "you are monitoring another call "
                                  f"({elsewhere}); stop that first")
                current = Monitor(supervisor, self._name(app_id, supervisor), agent, new, now,
                                  shown=self._shown(app_id))
                call.monitors.append(current)
                event, name = "monitor_started", EventName.MONITOR_STARTED
                data: dict[str, Any] = {"shown": current.shown}
            elif current.mode is not new:
                current.changes.append({"at": now, "from": str(current.mode), "mode": str(new)})
                previous, current.mode = current.mode, new
                event, name = "monitor_changed", EventName.MONITOR_CHANGED
                data = {"previous": str(previous)}
            else:  # asked again (a lost ack): nothing changes
                out.reply = {**current.notice(call), "since": current.start}
                return out
            self._save(call)
            out.notify(agent, event, current.notice(call))
            out.events.append(CallEvent(name, app_id, call_id, supervisor, now,
                                        {"agent": agent, "mode": str(new), **data}))
            out.reply = {**current.notice(call), "since": current.start}
            return out

    @step
    def stop(self, app_id: str, supervisor: str, call_id: str) -> Outcome:
        with self.store.transaction(f"{app_id}:{call_id}"):
            call = self._call(app_id, call_id)
            mine = [m for m in open_monitors(call.monitors) if m.supervisor == supervisor]
            if not mine:
                raise Refused("NOT_MONITORING", "you are not monitoring this call")
            out = Outcome()
            for monitor in mine:
                end_monitor(call, monitor, self.clock(), MonitorEnd.STOPPED, out)
            self._save(call)
            out.reply = {"callId": call_id,
                         "monitored": round(self.clock() - mine[0].start, 3)}
            return out

    @step
    def supervisor_gone(self, app_id: str, supervisor: str) -> Outcome:
        """The supervisor's connection dropped or their session ended: what they monitor ends
        (their side of the media is gone with the page)."""
        out = Outcome()
        call_id = self._monitored_by(app_id, supervisor)
        if call_id is None:
            return out
        with self.store.transaction(f"{app_id}:{call_id}"):
            call = self.store.get_call(app_id, call_id)
            if call is None:
                return out
            for monitor in open_monitors(call.monitors):
                if monitor.supervisor == supervisor:
                    end_monitor(call, monitor, self.clock(), MonitorEnd.SUPERVISOR_GONE, out)
            self._save(call)
        return out

    def of_agent(self, app_id: str, call_id: str, agent: str) -> dict[str, Any] | None:
        """The session monitoring ``agent`` in ``call_id``, as the agent is told of it: for a
        reloaded agent page, which offers the supervisor its media again."""
        call = self.store.get_call(app_id, call_id)
        monitor = next((m for m in open_monitors(call.monitors) if m.agent == agent), None) \
            if call is not None else None
        return None if monitor is None else monitor.notice(call)

    # -- media between the supervisor and the agent ------------------------------------------------

    def check_relay(self, app_id: str, user: str, call_id: str, to: str | None) -> Call:
        """As the switchboard's check (both in the call), but a monitoring supervisor and the
        agent they monitor may also signal each other; nobody else, never the customer."""
        call = self.store.get_call(app_id, call_id)
        if call is not None and call.ended_at is None and to is not None:
            for monitor in open_monitors(call.monitors):
                if {user, to} == {monitor.supervisor, monitor.agent} and \
                        call.legs.get(monitor.agent) is Leg.JOINED:
                    return call
        return self.switchboard.check_relay(app_id, user, call_id, to)

    # -- helpers -----------------------------------------------------------------------------------

    def _call(self, app_id: str, call_id: str) -> Call:
        call = self.store.get_call(app_id, call_id)
        if call is None or call.ended_at is not None or not call.queue:
            raise Refused("CALL_NOT_FOUND", "no queue call of this app with that id")
        return call

    def _answered(self, app_id: str, call_id: str) -> tuple[Call, str]:
        """The call, answered and talking with an agent now, and that agent."""
        call = self._call(app_id, call_id)
        qc = self.center.calls.get((app_id, call_id))
        agent = qc.talking if qc is not None else None
        if call.answered_at is None or call.parked or agent is None or \
                call.legs.get(agent) is not Leg.JOINED:
            raise Refused("NOT_ANSWERED", "no agent talks with the customer now")
        return call, agent

    def _monitored_by(self, app_id: str, supervisor: str) -> str | None:
        """The call ``supervisor`` monitors now, if any. The queue calls' copies are read (no
        store round trip per call); a step checks the stored call again in its transaction."""
        for (app, call_id), qc in list(self.center.calls.items()):
            if app == app_id and any(m.supervisor == supervisor
                                     for m in open_monitors(qc.call.monitors)):
                return call_id
        return None

    def _name(self, app_id: str, supervisor: str) -> str:
        app = self.center.config.app(app_id)
        settings = app.supervisor(supervisor) if app is not None else None
        return settings.name if settings is not None and settings.name else supervisor

    def _shown(self, app_id: str) -> bool:
        app = self.center.config.app(app_id)
        return app.monitoring_shown if app is not None else True

    def _save(self, call: Call) -> None:
        """Store the call; its queue call reads it at once (the live view, the record)."""
        self.store.put_call(call)
        qc = self.center.calls.get((call.app_id, call.id))
        if qc is not None:
            qc.call = call
