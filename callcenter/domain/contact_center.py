"""The contact center: customers wait in queues, agents are offered their calls.

The life of a queue call reads top to bottom in ``ContactCenter``'s numbered sections:

    1 enqueue ──> waiting ──2 dispatch/offer──> ringing (one agent, or several with ring-all)
                    ^                              │ 3 accept ──> answered ──hangup──┐
                    └──── timeout / reject / withdrawn                               │
    4 max_wait ──> overflowed to another queue, or ended      5 ended ──> wrap-up ──> rated
    waiting/ringing ──customer hangs up──> abandoned

The call itself (its queue, type, legs, times, end) is the switchboard's (calls.py); each step
on it runs there, then ``_sync`` brings the queue side (queue_call.py: offers, outcome, wrap-up)
and the agents (agents.py) in line with the call's legs, whatever caused it: a request, a timer or
a dropped connection. Which agent gets a call and in which order calls are served are decided by
plugins through ``Policies``. Plain Python, no I/O: every method returns an ``Outcome`` for the
adapter to deliver, and each public method is one step with one reading of the clock.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import Any, Protocol

from callcenter.config import AgentSettings, App, Config, QueueSettings
from callcenter.domain.agents import Agent, AgentState, AgentStatus
from callcenter.domain.call import Call
from callcenter.domain.callbacks import NOT_REACHED, Callback, checked_contact
from callcenter.domain.calls import EndReason, Leg, Outcome, Switchboard
from callcenter.domain.clock import step
from callcenter.domain.credentials import Identity
from callcenter.domain.errors import Refused
from callcenter.domain.events import CallEvent, EventName
from callcenter.domain.free_agents import Candidates, QueueAgents
from callcenter.domain.hold import open_hold
from callcenter.domain.queue_call import QueuedCall, RingAttempt
from callcenter.domain.timers import Timer, TimerKind, timer_key

DEFAULT_HANDLE_TIME = 120.0  # seconds, for the estimated wait before a queue has history
HANDLE_TIMES_KEPT = 20
HISTORY_KEPT = 10_000  # finished calls per app kept in memory (the database keeps them all)
RATING_WINDOW = 600.0


class Recordings(Protocol):
    """The recorder as the domain sees it (``callcenter.history.recordings.Recorder``): it hands
    a call's legs to a media worker, through messages added to the step's outcome."""

    def start(self, app_id: str, call_id: str, legs: dict[str, str], video: bool,
              out: Outcome) -> object | None:
        """Start recording the call; None if no media worker has room."""

    def stop(self, app_id: str, call_id: str, out: Outcome) -> None: ...

    def add_leg(self, app_id: str, call_id: str, user: str, channel: str,
                out: Outcome) -> bool:
        """``user`` records on ``channel`` from now on (a transfer's target takes the agent's
        channel); False if the call has no recording going on."""


class Policies(Protocol):
    """What plugins decide: the order calls are served in and which agents get a call."""

    def queue_key(self, queue: QueueSettings, call: QueuedCall, now: float) -> Any: ...

    def select_agents(self, queue: QueueSettings, call: QueuedCall, agents: list[Agent],
                      now: float) -> list[Agent]: ...

    def should_record(self, app_id: str, queue: QueueSettings, call: QueuedCall) -> bool: ...

    def may_transfer(self, app_id: str, agent: Agent, call: QueuedCall, to_agent: str | None,
                     to_queue: str | None) -> bool: ...


def _merge(out: Outcome, more: Outcome | None) -> Outcome:
    if more is not None:
        out.notices += more.notices
        out.events += more.events
        out.timers += more.timers
        out.cancelled += more.cancelled
        out.to_workers += more.to_workers
        out.records += more.records
        if more.ended_call is not None:
            out.ended_call = more.ended_call
    return out


class ContactCenter:
    """Queues and agents of every app, on top of the switchboard."""

    def __init__(self, config: Config, switchboard: Switchboard, policies: Policies,
                 recorder: Recordings | None = None) -> None:
        self.config = config
        self.switchboard = switchboard
        self.policies = policies
        # The switchboard's clock: a step here and the switchboard steps inside it share one
        # reading of the time.
        self.clock = switchboard.clock
        self.recorder = recorder
        self.agents: dict[tuple[str, str], Agent] = {}
        # The agents of each queue (config order) and the free ones among them, kept as agents
        # change: routing reads these on every step, never scanning the agents.
        self._queue_agents: dict[tuple[str, str], QueueAgents] = {}
        self._queues: dict[tuple[str, str], QueueSettings] = {}  # of self.config, by name
        # Agents and queue calls changed since take_touched last asked (each notes itself:
        # Agent.__setattr__), for processes sharing live state.
        self._touched_agents: set[tuple[str, str]] = set()
        self._touched_calls: set[tuple[str, str]] = set()
        # Agents another process sharing ours knows and this one's settings do not yet (added
        # there a moment ago): each is in ``agents`` with its live state but serves no queue
        # here until the settings arrive.
        self._foreign: set[tuple[str, str]] = set()
        self._set_agents({})
        self.calls: dict[tuple[str, str], QueuedCall] = {}
        # The calls that may be waiting in each queue: added when a call joins, is moved or is
        # parked, dropped when read once they no longer wait there (so routing reads the
        # queue's waiting calls, not every live call).
        self._queued: dict[tuple[str, str], dict[str, QueuedCall]] = {}
        self.finished: OrderedDict[tuple[str, str], QueuedCall] = OrderedDict()
        self.handle_times: dict[tuple[str, str], deque[float]] = {}
        self._last_stats: dict[tuple[str, str], dict[str, Any]] = {}
        # Supervisors watching each app's live view, and what they were last sent.
        self.watchers: dict[str, set[str]] = {}
        self._last_live: dict[str, dict[str, Any]] = {}
        # Finished calls changed since take_finished last asked.
        self._touched_finished: set[tuple[str, str]] = set()

    def _set_agents(self, saved: dict[tuple[str, str], dict[str, Any]]) -> None:
        """The configured agents, each with its ``saved`` live state if there is one."""
        self.agents, self._queue_agents, self._queues = {}, {}, {}
        for app in self.config.apps:
            for queue in app.queues:
                self._queues[(app.id, queue.name)] = queue
                self._queue_agents[(app.id, queue.name)] = QueueAgents(queue.name,
                                                                       queue.required_skills)
            for settings in app.agents:
                state = saved.get((app.id, settings.id))
                agent = Agent.from_settings(app.id, settings) if state is None else \
                    Agent.from_state(app.id, settings, state)
                self._track(agent, self._touched_agents, (app.id, settings.id))
                object.__setattr__(agent, "on_change", self._reindex)
                self.agents[(app.id, settings.id)] = agent
                for queue in agent.queues:
                    index = self._queue_agents.get((app.id, queue))
                    if index is None:  # a queue the agent names and the app does not have
                        index = self._queue_agents[(app.id, queue)] = QueueAgents(queue, {})
                    index.add(agent)
        self._foreign -= self.agents.keys()
        for key in list(self._foreign):
            if key in saved:
                self._add_foreign(key, saved[key])
            else:
                self._foreign.discard(key)

    def _reindex(self, agent: Agent) -> None:
        """An agent's field changed: its place among the free agents of its queues follows."""
        for queue in agent.queues:
            index = self._queue_agents.get((agent.app_id, queue))
            if index is not None:
                index.refresh(agent)

    def _add_foreign(self, key: tuple[str, str], state: dict[str, Any]) -> None:
        """An agent of another process's settings, with its live state: a step here may touch
        it (a call it is offered ends), but routing here does not offer it calls."""
        agent = Agent.from_state(key[0], AgentSettings(id=key[1], password_hash="!"), state)
        self._track(agent, self._touched_agents, key)
        self.agents[key] = agent
        self._foreign.add(key)

    def apply_settings(self, config: Config) -> list[tuple[str, str, str]]:
        """Take the apps' new settings (agents, queues, ...: changed while the server runs) at
        once, without ending a call: every agent keeps its live state, and the next step
        routes by the new queues. An agent no longer in them who is ringing, in a call or
        wrapping up is kept, serving no queue, until that is over; so is a queue no longer in
        them that still has calls here. Returns what was kept so, as ("agent" or "queue", app
        id, id): apply the settings again once it may be gone (the server does on its tick)."""
        kept: list[tuple[str, str, str]] = []
        apps = []
        for app in config.apps:
            old = self.config.app(app.id)
            busy = {qc.queue for (app_id, _), qc in self.calls.items() if app_id == app.id}
            gone = [q for q in (old.queues if old else []) if q.name in busy
                    and app.queue(q.name) is None]
            kept += [("queue", app.id, q.name) for q in gone]
            apps.append(app.model_copy(update={"queues": [*app.queues, *gone]}) if gone else app)
        config = config.model_copy(update={"apps": apps})

        def removed(app_id: str, agent_id: str) -> bool:
            app = config.app(app_id)
            return app is None or app.agent(agent_id) is None

        leaving = {key: agent for key, agent in self.agents.items()
                   if agent.state is not AgentState.WAITING and removed(*key)}
        self.config = config
        self._set_agents({key: agent.to_state() for key, agent in self.agents.items()})
        for key, agent in leaving.items():
            agent.queues = ()
            self.agents[key] = agent
            kept.append(("agent", *key))
        return kept

    # -- a shutdown snapshot: the live state as plain data --------------------------------------

    def to_state(self) -> dict[str, Any]:
        """Agents, queued calls, finished calls still to be rated or wrapped up, and handle
        times, as JSON-ready data for ``restore`` in the next process. The calls themselves are
        the store's; supervisors' live views are not kept (a dropped supervisor stops
        watching, and watches again after a resume)."""
        now = self.clock()
        wrapping = {(a.app_id, a.call_id) for a in self.agents.values()
                    if a.state is AgentState.WRAP_UP}
        return {
            "agents": [agent.to_state() for agent in self.agents.values()],
            "calls": [qc.to_state() for qc in self.calls.values()],
            "finished": [qc.to_state() for key, qc in self.finished.items()
                         if key in wrapping or now - (qc.ended_at or now) <= RATING_WINDOW],
            "handle_times": [{"app_id": app_id, "queue": queue, "times": list(times)}
                             for (app_id, queue), times in self.handle_times.items()],
        }

    @step
    def restore(self, state: dict[str, Any]) -> list[tuple[str, str]]:
        """Take back what ``to_state`` wrote, after the store has taken back its calls. Agents
        no longer configured are left out; so are calls of a queue no longer configured, which
        leave the store too. Returns those calls' (app id, call id)."""
        self._set_agents({(a["app_id"], a["id"]): a for a in state.get("agents", [])})
        store = self.switchboard.store
        dropped = []
        self.calls, self._queued = {}, {}
        for saved in state.get("calls", []):
            app_id, call_id = saved["call"]["app_id"], saved["call"]["id"]
            live = store.get_call(app_id, call_id)
            qc = QueuedCall.from_state(saved, live)
            app = self.config.app(app_id)
            if app is None or app.queue(qc.queue) is None:
                store.delete_call(app_id, call_id)
                for user in qc.call.legs:
                    store.release_line(app_id, user, call_id)
                dropped.append((app_id, call_id))
                continue
            if live is None:
                store.put_call(qc.call)
            self._hold(qc)
        self.finished = OrderedDict()
        for saved in state.get("finished", []):
            qc = QueuedCall.from_state(saved)
            self.finished[(qc.app_id, qc.call_id)] = qc
        self.handle_times = {
            (h["app_id"], h["queue"]): deque(h["times"], maxlen=HANDLE_TIMES_KEPT)
            for h in state.get("handle_times", [])}
        return dropped

    # -- live state shared by several processes (callcenter.server.cluster) ---------------------

    @staticmethod
    def _track(item: Agent | QueuedCall, sink: set[tuple[str, str]], key: tuple[str, str]
               ) -> None:
        """Give ``item`` the set it notes its changes in, and note it (it is new)."""
        object.__setattr__(item, "sink", sink)
        sink.add(key)

    def _hold(self, qc: QueuedCall) -> None:
        """A queue call joins the live ones (a new call, or one another process stepped)."""
        key = (qc.app_id, qc.call_id)
        self.calls[key] = qc
        self._track(qc, self._touched_calls, key)
        object.__setattr__(qc, "on_call", self._queue_up)
        self._queue_up(qc)

    def _queue_up(self, qc: QueuedCall) -> None:
        """Put the call in its queue's index of waiting calls, if it waits; ``_in_queue``
        drops the ones that no longer do as it reads them."""
        if qc.waiting:
            self._queued.setdefault((qc.app_id, qc.queue), {})[qc.call_id] = qc

    def take_touched(self) -> dict[str, dict[str, Any] | None]:
        """The agents and live queue calls changed since the last ask, one entry each
        (``agent:<app>:<id>``, ``call:<app>:<call id>``; None: the call left the queue side),
        for another process to take the next step."""
        # Copied and emptied in place: every agent and call holds these very sets.
        agents, calls = set(self._touched_agents), set(self._touched_calls)
        self._touched_agents.clear()
        self._touched_calls.clear()
        entries: dict[str, dict[str, Any] | None] = {}
        for app_id, aid in agents:
            agent = self.agents.get((app_id, aid))
            if agent is not None:
                entries[f"agent:{app_id}:{aid}"] = agent.to_state()
        for app_id, call_id in calls:
            qc = self.calls.get((app_id, call_id))
            entries[f"call:{app_id}:{call_id}"] = None if qc is None else qc.to_state()
        return entries

    def take_finished(self) -> dict[str, dict[str, Any] | None]:
        """The finished calls changed since the last ask (``finished:<app>:<call id>``; None:
        no longer to be rated or wrapped up), each made once."""
        touched, self._touched_finished = self._touched_finished, set()
        if not touched:
            return {}
        now = self.clock()
        changed: dict[str, dict[str, Any] | None] = {}
        for key in touched:
            qc = self.finished.get(key)
            keep = qc is not None and (now - (qc.ended_at or now) <= RATING_WINDOW
                                       or self._wrapping_up(qc))
            changed[f"finished:{key[0]}:{key[1]}"] = qc.to_state() if keep and qc else None
        return changed

    def _wrapping_up(self, qc: QueuedCall) -> bool:
        """Whether an agent still wraps the finished call up: one of those it was offered to
        (every agent who talked in it was), not a scan of every agent."""
        for agent_id in {attempt.agent for attempt in qc.attempts}:
            agent = self.agents.get((qc.app_id, agent_id))
            if agent is not None and agent.state is AgentState.WRAP_UP \
                    and agent.call_id == qc.call_id:
                return True
        return False

    def shared_extras(self) -> dict[str, Any]:
        """The rest, as one entry: handle times, who watches the live view (a supervisor on one
        process is told of steps taken on another) and what was last pushed (so that a change
        is pushed once, by whichever process makes it)."""
        return {
            "handle_times": [{"app_id": app_id, "queue": queue, "times": list(times)}
                             for (app_id, queue), times in self.handle_times.items()],
            "watchers": {app_id: sorted(users) for app_id, users in self.watchers.items()
                         if users},
            "last_live": self._last_live,
            "last_stats": [{"app_id": app_id, "queue": queue, "stats": stats}
                           for (app_id, queue), stats in self._last_stats.items()]}

    def put_entry(self, kind: str, app_id: str, key: str, state: dict[str, Any] | None) -> None:
        """One entry of ``shared_entries`` or ``take_finished`` as another process saved it
        (None: gone). The calls come as it saved them (the store holds the same, changed only
        in steps): nothing is read from the store."""
        if kind == "agent":
            agent = self.agents.get((app_id, key))
            if agent is not None and (app_id, key) not in self._foreign and state is not None:
                agent.take_state(state)
            elif state is not None and (state.get("connected")
                                        or state["state"] != AgentState.WAITING.value):
                # Kept while signed in or busy: one removed everywhere is dropped once out.
                self._add_foreign((app_id, key), state)
            elif (app_id, key) in self._foreign:
                self._foreign.discard((app_id, key))
                self.agents.pop((app_id, key), None)
        elif kind == "call":
            if state is None:
                self.calls.pop((app_id, key), None)
            else:
                self._hold(QueuedCall.from_state(state))
        elif kind == "finished" and state is not None:
            self.finished.pop((app_id, key), None)
            self.finished[(app_id, key)] = QueuedCall.from_state(state)

    def put_extras(self, state: dict[str, Any]) -> None:
        self.handle_times = {
            (h["app_id"], h["queue"]): deque(h["times"], maxlen=HANDLE_TIMES_KEPT)
            for h in state.get("handle_times", [])}
        self.watchers = {app_id: set(users)
                         for app_id, users in state.get("watchers", {}).items()}
        self._last_live = dict(state.get("last_live", {}))
        self._last_stats = {(s["app_id"], s["queue"]): s["stats"]
                            for s in state.get("last_stats", [])}

    # -- the life of a queue call, 1: the customer joins a queue --------------------------------

    @step
    def enqueue(self, identity: Identity, queue_name: str, call_type: int,
                attributes: dict[str, str]) -> Outcome:
        app_id, customer = identity.app_id, identity.user_id
        queue = self._queue(app_id, queue_name)
        if not self._free(app_id, queue_name).signed_in and queue.when_empty == "refuse":
            raise Refused("NO_AGENTS", "no agent of this queue is logged in")
        if len(self._in_queue(app_id, queue_name)) >= queue.max_length:
            raise Refused("QUEUE_FULL", "the queue is full; try again later")
        call = self.switchboard.open_queue_call(app_id, customer, call_type, queue_name,
                                                {"attributes": attributes})
        qc = QueuedCall(call=call, attributes=attributes, verified=identity.claims,
                        priority=identity.priority, original_queue=queue_name)
        qc.recorded = self.recorder is not None and self.policies.should_record(app_id, queue, qc)
        self._hold(qc)
        out = Outcome()
        order = self._in_queue(app_id, queue_name)
        qc.original_position = qc.position = order.index(qc) + 1
        self._event(out, EventName.QUEUE_JOINED, app_id, call.id, customer, queue=queue_name,
                    position=qc.position, priority=qc.priority)
        out.records.append(qc.record(self.clock()))
        self._set_max_wait(qc, queue, out)
        self._route(app_id, queue_name, out, force={call.id})
        # The ack tells the position; the first queue_update repeats it (harmless, and it keeps
        # "every change is an event" true for a widget that only listens).
        out.reply = {"callId": call.id, "queue": queue_name, "position": qc.position,
                     "estimatedWait": qc.estimated_wait, "recorded": qc.recorded,
                     "callbackAfter": queue.callback_after}
        return out

    # -- 2: the call is offered to agents, in the queue's order, to the agents routing picks ----

    @step
    def dispatch(self, app_id: str, queue_name: str, out: Outcome) -> None:
        """Offer the queue's waiting calls, in order, to the agents who can take them; the
        customers whose call now rings are told at once."""
        if self._offer_waiting(app_id, queue_name, out):
            self._refresh(app_id, queue_name, out)

    def _route(self, app_id: str, queue_name: str, out: Outcome,
               force: set[str] = frozenset()) -> None:
        """``dispatch``, then tell the queue's customers where they stand, once (``force``: even
        those whose place did not change)."""
        self._offer_waiting(app_id, queue_name, out)
        self._refresh(app_id, queue_name, out, force)

    def _offer_waiting(self, app_id: str, queue_name: str, out: Outcome) -> bool:
        """Whether any offer was made."""
        queue = self._queue(app_id, queue_name)
        now = self.clock()
        index = self._free(app_id, queue_name)
        offered = False
        for qc in self._in_queue(app_id, queue_name):
            transfer = qc.transfer
            if qc.ringing or qc.customer_away or (transfer is not None and transfer["to"]):
                continue  # a transfer to an agent rings that agent only
            if qc.callback is not None and not qc.callback.may_offer(now):
                continue  # its customer is being rung, or was tried a moment ago: keeps its place
            # Read from the queue's index of free agents, which each offer updates.
            candidates = Candidates(index, now)
            if not candidates:
                return offered
            tried = qc.tried()
            untried = candidates.without(tried) if tried else candidates
            chosen = self.policies.select_agents(queue, qc, untried or candidates, now)
            found = [agent for agent in map(candidates.member, chosen) if agent is not None]
            if found:
                self._offer(qc, queue, found, out)
                offered = True
        return offered

    def _offer(self, qc: QueuedCall, queue: QueueSettings, agents: Agent | list[Agent],
               out: Outcome) -> None:
        """Ring the agent, or the agents (ring-all), for the call: one switchboard step, one
        payload for them all."""
        agents = [agents] if isinstance(agents, Agent) else agents
        now = self.clock()
        payload = {"callId": qc.call_id, "queue": qc.queue, "type": qc.type,
                   "customer": qc.customer_view(), "waited": round(qc.wait(now), 3),
                   "position": qc.position, "ringTimeout": queue.ring_timeout}
        consult = qc.consult
        if consult is not None:  # a colleague asks them first, the customer on hold
            sender = self.agents.get((qc.app_id, consult["from"]))
            payload["consult"] = {
                "from": sender.public_view() if sender else {"userID": consult["from"]},
                "note": consult["note"]}
        transfer = qc.transfer
        if transfer is not None:  # the target sees who transferred the customer, and why
            sender = self.agents.get((qc.app_id, transfer["from"]))
            payload["transfer"] = {
                "from": sender.public_view() if sender else {"userID": transfer["from"]},
                "note": transfer["note"], "returned": transfer["returned"]}
        if qc.callback is not None:  # the agent is to call the customer back: who, and how
            payload["callback"] = qc.callback.as_dict()
        offered, rung = self.switchboard.offer(qc.app_id, qc.call_id, [a.id for a in agents],
                                               queue.ring_timeout, payload)
        if not rung:
            return  # each agent's line is busy with a call of their own
        _merge(out, offered)
        qc.call = self.switchboard.store.get_call(qc.app_id, qc.call_id) or qc.call
        self._touched_calls.add((qc.app_id, qc.call_id))  # a list changed in place
        for agent in agents:
            if agent.id not in rung:
                continue
            qc.attempts.append(RingAttempt(agent.id, now))
            if agent.state is AgentState.WRAP_UP:  # a transfer comes back to its agent
                out.cancelled.append(timer_key(TimerKind.WRAP_UP, qc.app_id, agent.call_id,
                                               agent.id))
            self._set_state(agent, AgentState.RINGING, out, qc.call_id)
            self._event(out, EventName.QUEUE_OFFERED, qc.app_id, qc.call_id, agent.id,
                        queue=qc.queue, attempt=len(qc.attempts))
            if qc.callback is not None:
                self._event(out, EventName.CALLBACK_OFFERED, qc.app_id, qc.call_id, agent.id,
                            queue=qc.queue, attempt=len(qc.callback.rings) + 1)

    # -- 3: an agent answers, refuses or lets it ring; either side hangs up. Every step on the
    #   call runs in the switchboard, then the queue side and the agents are brought in line
    #   with it ---------------------------------------------------------------------------------

    @step
    def accept(self, app_id: str, user: str, call_id: str) -> Outcome:
        return self._request(self.switchboard.accept, app_id, user, call_id)

    @step
    def reject(self, app_id: str, user: str, call_id: str) -> Outcome:
        return self._request(self.switchboard.reject, app_id, user, call_id)

    @step
    def hangup(self, app_id: str, user: str, call_id: str) -> Outcome:
        return self._request(self.switchboard.hangup, app_id, user, call_id)

    def _request(self, action: Callable[[str, str, str], Outcome], app_id: str, user: str,
                 call_id: str) -> Outcome:
        """A user's request on a call (accept, reject, hang up) that may be a queue call."""
        return self._step(app_id, call_id, Outcome(), lambda: action(app_id, user, call_id),
                          by=user, reply=True)

    @step
    def switch_type(self, app_id: str, user: str, call_id: str, new_type: int) -> Outcome:
        """Audio to video or back; a queue call's record follows (it used to stay audio)."""
        out = self._step(app_id, call_id, Outcome(), lambda: self.switchboard.switch_type(
            app_id, user, call_id, new_type), by=user, reply=True)
        qc = self.calls.get((app_id, call_id))
        if qc is not None:
            out.records.append(qc.record(self.clock()))
        return out

    @step
    def media_flow(self, app_id: str, user: str, call_id: str, sender: str,
                   flowing: bool, silent_for: float = 0.0) -> Outcome:
        """Media from ``sender`` stopped reaching ``user``, or reaches them again: the
        switchboard keeps it on the call; a queue call's record reads it when the call ends."""
        return self._step(app_id, call_id, Outcome(), lambda: self.switchboard.media_flow(
            app_id, user, call_id, sender, flowing, silent_for), by=user, reply=True)

    def _step(self, app_id: str, call_id: str | None, out: Outcome,
              action: Callable[[], Outcome], by: str | None = None,
              reply: bool = False) -> Outcome:
        """Run one switchboard step, then bring the queue side up to date with it."""
        result = action()
        _merge(out, result)
        if reply:
            out.reply = result.reply
        qc = self.calls.get((app_id, call_id)) if call_id else None
        if qc is not None:
            ended = result.ended_call
            call = ended if ended is not None and ended.id == call_id else \
                self.switchboard.store.get_call(app_id, call_id)
            if call is None and qc.call.ended_at is None:
                # The store lost a call that did not end through the switchboard: what the
                # queue knew of it ends here.
                qc.call.ended_at, qc.call.end_reason = self.clock(), EndReason.HANGUP
            qc.call = call or qc.call
            self._sync(qc, out, by)
        return out

    def _sync(self, qc: QueuedCall, out: Outcome, by: str | None) -> None:
        now = self.clock()
        app_id = qc.app_id
        self._touched_calls.add((app_id, qc.call_id))  # its attempts change in place
        queue = self._queue(app_id, qc.queue)
        legs = qc.call.legs
        ended = qc.ended_at is not None
        for attempt in qc.open_attempts():
            leg = legs.get(attempt.agent)
            if leg is Leg.RINGING and not ended:
                continue
            agent = self.agents[(app_id, attempt.agent)]
            attempt.ended_at = now
            consult = qc.consult
            if consult is not None and consult["to"] == agent.id and not ended:
                self._consult_rang(qc, attempt, agent, leg, queue, out)
            elif leg is Leg.JOINED and qc.callback is not None and qc.answered_at is None:
                self._call_back(qc, attempt, agent, queue, out)
            elif leg is Leg.JOINED:
                self._answered(qc, attempt, agent, out)
            else:
                self._not_answered(qc, attempt, agent, leg, queue, out)
        if qc.callback is not None and not ended:
            self._follow_ring_back(qc, queue, out)
        if not ended:
            self._departed(qc, out)
        transfer = qc.transfer
        if ended:
            self._finish(qc, out, by)
        elif transfer is not None and transfer["to"] and not qc.ringing:
            self._transfer_failed(qc, queue, out)
        elif qc.waiting and not qc.ringing:
            self._offer_waiting(app_id, qc.queue, out)
        self._refresh(app_id, qc.queue, out)

    def _not_answered(self, qc: QueuedCall, attempt: RingAttempt, agent: Agent, leg: Leg | None,
                      queue: QueueSettings, out: Outcome) -> None:
        """The offer to ``agent`` is over without an answer (``leg``: how)."""
        now, app_id = self.clock(), qc.app_id
        if leg is Leg.TIMED_OUT:
            attempt.outcome = "no_answer"
            agent.missed_in_row += 1
            self._event(out, EventName.QUEUE_RING_NO_ANSWER, app_id, qc.call_id, agent.id,
                        queue=qc.queue, ring=round(now - attempt.offered_at, 3))
        elif leg is Leg.REJECTED:
            attempt.outcome = "rejected"
            agent.blocked_until = now + queue.reject_delay
            self._event(out, EventName.QUEUE_OFFER_REJECTED, app_id, qc.call_id, agent.id,
                        queue=qc.queue)
        else:
            attempt.outcome = "cancelled" if qc.ended_at is not None else "withdrawn"
        if agent.call_id == qc.call_id and agent.state is AgentState.RINGING:
            self._set_state(agent, AgentState.WAITING, out)
        if agent.missed_in_row >= queue.max_no_answer and \
                agent.status is AgentStatus.AVAILABLE:
            self._set_status(agent, AgentStatus.BREAK, "no_answer", out)
        for other in agent.queues:
            if other != qc.queue:
                self.dispatch(app_id, other, out)

    def _answered(self, qc: QueuedCall, attempt: RingAttempt, agent: Agent, out: Outcome
                  ) -> None:
        """``agent`` took the call: first, or as a transfer's target."""
        attempt.outcome = "answered"
        self._connected(qc, agent, attempt.offered_at, out)

    def _connected(self, qc: QueuedCall, agent: Agent, offered_at: float, out: Outcome) -> None:
        """The customer and ``agent`` talk from now on (the agent answered, or the customer
        answered the agent's callback)."""
        now, app_id = self.clock(), qc.app_id
        again = bool(qc.talks)  # a transfer's target: the call was answered before
        qc.talks.append({"agent": agent.id, "start": now, "end": None})
        transfer = qc.transfer
        if transfer is not None:
            transfer.update(outcome="answered", answeredBy=agent.id, end=now)
        out.cancelled.append(timer_key(TimerKind.MAX_WAIT, app_id, qc.call_id, None))
        agent.answered += 1
        agent.missed_in_row = 0
        self._set_state(agent, AgentState.IN_CALL, out, qc.call_id)
        self._event(out, EventName.QUEUE_ANSWERED, app_id, qc.call_id, agent.id,
                    queue=qc.queue, hold=round(qc.wait(now), 3),
                    ring=round(now - offered_at, 3))
        # The customer is told who answered: a name to address, as on a phone line.
        out.notify([qc.customer], "queue_answered",
                   {"callId": qc.call_id, "agent": agent.public_view()})
        if again:
            self._follow_recording(qc, agent, out)
        else:
            self._start_recording(qc, agent, out)
        out.records.append(qc.record(now))

    def _start_recording(self, qc: QueuedCall, agent: Agent, out: Outcome) -> None:
        if not qc.recorded or self.recorder is None:
            return
        # Customer on the left channel, agent on the right.
        job = self.recorder.start(qc.app_id, qc.call_id, {qc.customer: "left", agent.id: "right"},
                                  False, out)
        if job is None:
            self._event(out, EventName.RECORDING_UNAVAILABLE, qc.app_id, qc.call_id, None,
                        queue=qc.queue, reason="no media worker has room")

    def _follow_recording(self, qc: QueuedCall, agent: Agent, out: Outcome) -> None:
        """A transfer's target answered: the agent's channel records them from now on."""
        if qc.recorded and self.recorder is not None:
            self.recorder.add_leg(qc.app_id, qc.call_id, agent.id, "right", out)

    # -- 4: waiting too long: overflow to another queue, or the end -----------------------------

    def _set_max_wait(self, qc: QueuedCall, queue: QueueSettings, out: Outcome) -> None:
        qc.max_wait_token += 1
        out.timers.append(Timer(queue.max_wait - qc.wait(self.clock()), qc.app_id, qc.call_id,
                                None, TimerKind.MAX_WAIT, qc.max_wait_token))

    def _max_wait(self, timer: Timer, out: Outcome) -> None:
        qc = self.calls.get((timer.app_id, timer.call_id or ""))
        if qc is None or not qc.waiting or timer.token != qc.max_wait_token:
            return
        queue = self._queue(qc.app_id, qc.queue)
        for attempt in qc.open_attempts():
            self._step(qc.app_id, qc.call_id, out, lambda a=attempt: self.switchboard.withdraw(
                qc.app_id, qc.call_id, a.agent, "timeout"))
        if queue.overflow is None:
            self._step(qc.app_id, qc.call_id, out, lambda: self.switchboard.end_waiting(
                qc.app_id, qc.call_id, EndReason.QUEUE_TIMEOUT))
            return
        target = self._queue(qc.app_id, queue.overflow)
        old = qc.queue
        self._event(out, EventName.QUEUE_OVERFLOWED, qc.app_id, qc.call_id, qc.customer,
                    queue=old, to=target.name, wait=round(qc.wait(self.clock()), 3))
        qc.call = self.switchboard.move_to_queue(qc.app_id, qc.call_id, target.name)
        out.records.append(qc.record(self.clock()))
        # The overflow queue gets its own max_wait, counted from now.
        qc.max_wait_token += 1
        out.timers.append(Timer(target.max_wait, qc.app_id, qc.call_id, None, TimerKind.MAX_WAIT,
                                qc.max_wait_token))
        self._refresh(qc.app_id, old, out)
        self._route(qc.app_id, target.name, out, force={qc.call_id})

    # -- 5: the call ends; the agent wraps up; the customer rates it ----------------------------

    def _finish(self, qc: QueuedCall, out: Outcome, by: str | None) -> None:
        now = self.clock()
        app_id = qc.app_id
        if qc.recorded and self.recorder is not None:
            self.recorder.stop(app_id, qc.call_id, out)
        out.cancelled.append(timer_key(TimerKind.MAX_WAIT, app_id, qc.call_id, None))
        reason = qc.call.end_reason or EndReason.HANGUP
        talkers = qc.talkers
        for talk in qc.talks:
            if talk["end"] is None:
                talk["end"] = now
        transfer = qc.transfer
        if transfer is not None:  # the customer hung up while the transfer's target rang
            transfer.update(outcome="abandoned", end=now)
        consult = qc.consult
        if consult is not None:  # the call ended during a consult: the colleague is free
            consult.update(outcome="ended", end=now)
            colleague = self.agents.get((app_id, consult["to"]))
            if colleague is not None and colleague.call_id == qc.call_id and \
                    colleague.state is AgentState.IN_CALL:
                self._set_state(colleague, AgentState.WAITING, out)
        qc.ended_by = ("customer" if by == qc.customer else
                       "agent" if by is not None and by in talkers else "system")
        self._set_outcome(qc, reason, talkers, out)
        del self.calls[(app_id, qc.call_id)]
        self._touched_calls.add((app_id, qc.call_id))
        self.finished[(app_id, qc.call_id)] = qc
        self._touched_finished.add((app_id, qc.call_id))
        out.records.append(qc.record(self.clock()))
        while len(self.finished) > HISTORY_KEPT * max(1, len(self.config.apps)):
            self.finished.popitem(last=False)

    def _set_outcome(self, qc: QueuedCall, reason: EndReason, talkers: list[str],
                     out: Outcome) -> None:
        """How the ended call went, with its queue.* (or callback.*) event; its agents wrap
        up."""
        now, app_id = self.clock(), qc.app_id
        if qc.answered_at is not None:
            qc.outcome = "completed"
            self._event(out, EventName.QUEUE_COMPLETED, app_id, qc.call_id, qc.agent,
                        # hold: the wait in line, as Asterisk's COMPLETECALLER holdtime;
                        # held: the seconds on hold once answered.
                        queue=qc.queue, hold=round(qc.wait(now), 3), held=round(qc.hold, 3),
                        talk=round(qc.talk, 3), silent=round(qc.silent, 3),
                        ended_by=qc.ended_by)
            for talker in talkers:  # one, or the two of a conference
                agent = self.agents.get((app_id, talker))
                if agent is not None:
                    self._begin_wrap_up(agent, qc, out)
        elif reason is EndReason.UNREACHABLE and qc.callback is not None:
            qc.outcome = "unreachable"  # not an abandon: the customer asked to be called back
            self._event(out, EventName.CALLBACK_UNREACHABLE, app_id, qc.call_id, qc.customer,
                        queue=qc.queue, attempts=qc.callback.failed,
                        contact=dict(qc.callback.contact), wait=round(qc.wait(now), 3))
        elif reason in (EndReason.QUEUE_TIMEOUT, EndReason.NO_AGENTS):
            qc.outcome = "timed_out" if reason is EndReason.QUEUE_TIMEOUT else "no_agents"
            self._event(out, EventName.QUEUE_TIMED_OUT, app_id, qc.call_id, qc.customer,
                        queue=qc.queue, wait=round(qc.wait(now), 3), reason=reason.value)
        else:
            qc.outcome = "abandoned"
            self._event(out, EventName.QUEUE_ABANDONED, app_id, qc.call_id, qc.customer,
                        queue=qc.queue, position=qc.position,
                        original_position=qc.original_position, wait=round(qc.wait(now), 3))

    def _begin_wrap_up(self, agent: Agent, qc: QueuedCall, out: Outcome) -> None:
        """The agent's part of the call is over (it ended, or they transferred it)."""
        now = self.clock()
        agent.talk_time += qc.talk_of(agent.id, now)
        agent.last_call_end = now
        wrap = self._queue(qc.app_id, qc.queue).wrap_up
        agent.wrap_up_until = now + wrap
        self._set_state(agent, AgentState.WRAP_UP, out, qc.call_id)
        out.timers.append(Timer(wrap, qc.app_id, qc.call_id, agent.id, TimerKind.WRAP_UP))

    @step
    def wrap_up(self, app_id: str, user_id: str, call_id: str, disposition: str | None,
                notes: str | None) -> Outcome:
        agent = self.agent(app_id, user_id)
        if agent.state is not AgentState.WRAP_UP or agent.call_id != call_id:
            raise Refused("NOT_IN_WRAP_UP", "you are not wrapping up that call")
        out = Outcome(reply={"callId": call_id})
        qc = self.finished.get((app_id, call_id))
        if qc is not None and qc.agent == user_id:
            self._touched_finished.add((app_id, call_id))
            qc.disposition, qc.notes = disposition, notes
            qc.wrap_up_ended_at = self.clock()
        else:  # they transferred it: the code and notes go with their part of the call
            qc = qc or self.calls.get((app_id, call_id))
            part = next((t for t in reversed(qc.talks) if t["agent"] == user_id), None) \
                if qc is not None else None
            if part is not None:
                part.update(disposition=disposition, notes=notes)
                (self._touched_calls if (app_id, call_id) in self.calls
                 else self._touched_finished).add((app_id, call_id))
        self._event(out, EventName.AGENT_WRAP_UP, app_id, call_id, user_id,
                    disposition=disposition, notes=notes)
        self._end_wrap_up(agent, out)
        return out

    def _end_wrap_up(self, agent: Agent, out: Outcome) -> None:
        out.cancelled.append(timer_key(TimerKind.WRAP_UP, agent.app_id, agent.call_id, agent.id))
        qc = self.finished.get((agent.app_id, agent.call_id or ""))
        if qc is not None and qc.agent == agent.id:  # the agent who ended it: its handle time
            self._touched_finished.add((agent.app_id, qc.call_id))
            if qc.wrap_up_ended_at is None:
                qc.wrap_up_ended_at = self.clock()
            handled = qc.talk + qc.hold + (qc.wrap_up_ended_at
                                           - (qc.ended_at or qc.wrap_up_ended_at))
            self.handle_times.setdefault((agent.app_id, qc.queue),
                                         deque(maxlen=HANDLE_TIMES_KEPT)).append(handled)
            out.records.append(qc.record(self.clock()))
        self._set_state(agent, AgentState.WAITING, out)
        for queue in agent.queues:
            self.dispatch(agent.app_id, queue, out)

    @step
    def rate(self, app_id: str, customer: str, call_id: str, rating: int) -> Outcome:
        qc = self.finished.get((app_id, call_id))
        if qc is None or qc.customer != customer or qc.answered_at is None:
            raise Refused("CALL_NOT_FOUND", "no answered call of yours with that id")
        if not 1 <= rating <= 5:
            raise Refused("BAD_RATING", "rating must be 1 to 5")
        if qc.rating is not None:
            raise Refused("ALREADY_RATED", "this call is rated already")
        if self.clock() - (qc.ended_at or 0) > RATING_WINDOW:
            raise Refused("CALL_NOT_FOUND", "the call ended too long ago to be rated")
        qc.rating = rating
        self._touched_finished.add((app_id, call_id))
        out = Outcome(reply={"callId": call_id, "rating": rating})
        out.records.append(qc.record(self.clock()))
        self._event(out, EventName.CALL_RATED, app_id, call_id, customer, rating=rating,
                    agent=qc.agent, queue=qc.queue)
        return out

    # -- 6: call control: hold, and blind transfer to an agent or a queue -----------------------

    def _music(self, app_id: str, queue: str | None) -> str:
        return self._app(app_id).hold_music_of(queue)

    @step
    def hold(self, app_id: str, user: str, call_id: str) -> Outcome:
        """The agent puts the customer on hold: the customer hears the queue's music, and
        neither side's media reaches the other (the SDKs stop sending) until ``unhold``."""
        qc = self.calls.get((app_id, call_id))
        music = self._music(app_id, qc.queue if qc else None)
        return self._step(app_id, call_id, Outcome(), lambda: self.switchboard.hold(
            app_id, user, call_id, music), by=user, reply=True)

    @step
    def unhold(self, app_id: str, user: str, call_id: str) -> Outcome:
        return self._step(app_id, call_id, Outcome(), lambda: self.switchboard.unhold(
            app_id, user, call_id), by=user, reply=True)

    @step
    def transfer(self, app_id: str, user: str, call_id: str, to_agent: str | None,
                 to_queue: str | None, note: str) -> Outcome:
        """A blind transfer: the agent leaves the call at once (and wraps up); the customer
        waits on hold, keeping their priority and join time, until the target answers: the
        agent ``to_agent`` (rung alone; if they refuse or let it ring, the call goes back per
        the queue's ``transfer_fallback``), or whoever the queue ``to_queue`` routes it to."""
        agent, qc = self._talking(app_id, user, call_id)
        target = self._transfer_target(app_id, user, to_agent)
        queue_name = qc.queue if target is not None else self._queue(app_id, to_queue or "").name
        if not self.policies.may_transfer(app_id, agent, qc, to_agent, to_queue):
            raise Refused("TRANSFER_NOT_ALLOWED", "you may not transfer this call there")
        shown = {"agent": target.public_view()} if target is not None else {"queue": queue_name}
        out = Outcome()
        _merge(out, self.switchboard.transfer_out(app_id, user, call_id,
                                                  self._music(app_id, queue_name), shown))
        now = self.clock()
        if queue_name != qc.queue:
            qc.call = self.switchboard.move_to_queue(app_id, call_id, queue_name)
        else:
            qc.call = self.switchboard.store.get_call(app_id, call_id) or qc.call
        for talk in qc.talks:
            if talk["end"] is None:
                talk["end"] = now
        qc.transfers.append({"from": user, "to": to_agent, "queue": queue_name, "note": note,
                             "at": now, "end": None, "outcome": None, "answeredBy": None,
                             "returned": False})
        self._touched_calls.add((app_id, call_id))
        self._event(out, EventName.TRANSFERRED, app_id, call_id, user, to=to_agent,
                    queue=queue_name, note=note)
        self._begin_wrap_up(agent, qc, out)
        if target is not None:
            queue = self._queue(app_id, queue_name)
            self._offer(qc, queue, target, out)
            if not qc.ringing:  # their line was taken a moment ago
                self._transfer_failed(qc, queue, out)
        else:
            self._offer_waiting(app_id, queue_name, out)
        self._refresh(app_id, queue_name, out, force={call_id})
        out.records.append(qc.record(now))
        out.reply = {"callId": call_id, "to": to_agent, "queue": queue_name}
        return out

    def _talking(self, app_id: str, user: str, call_id: str) -> tuple[Agent, QueuedCall]:
        """The agent ``user`` and the queue call they talk in, free to be handed on."""
        agent = self.agent(app_id, user)
        qc = self.calls.get((app_id, call_id))
        if qc is None or user not in qc.talkers:
            raise Refused("NOT_IN_CALL", "you are not talking with that call's customer")
        if qc.consult is not None:
            raise Refused("ALREADY_CONSULTING", "a consult is going on in this call: end it first")
        return agent, qc

    def _transfer_target(self, app_id: str, user: str, to_agent: str | None) -> Agent | None:
        """The agent a call is transferred to, who must be free to take it now."""
        if to_agent is None:
            return None
        if to_agent == user:
            raise Refused("CANNOT_TRANSFER_TO_SELF", "you cannot transfer a call to yourself")
        target = self.agents.get((app_id, to_agent))
        if target is None or (app_id, to_agent) in self._foreign:
            raise Refused("NO_SUCH_AGENT", "no agent of this app has that id")
        if not target.connected or target.status is AgentStatus.OFFLINE:
            raise Refused("AGENT_OFFLINE", f"{to_agent} is not logged in")
        if target.status is not AgentStatus.AVAILABLE or target.state is not AgentState.WAITING:
            raise Refused("AGENT_UNAVAILABLE",
                          f"{to_agent} cannot take a call now ({self.shown_state(target)})")
        return target

    def _transfer_failed(self, qc: QueuedCall, queue: QueueSettings, out: Outcome) -> None:
        """The agent a call was transferred to did not take it: back to the agent who
        transferred it (once, if they can take it and the queue says so), else into the
        queue's line, at its old place (its join time and priority are unchanged)."""
        now = self.clock()
        failed = qc.transfer
        assert failed is not None
        last = qc.attempts[-1].outcome if qc.attempts else None
        self._event(out, EventName.TRANSFER_FAILED, qc.app_id, qc.call_id, failed["to"],
                    queue=qc.queue, reason=last, **{"from": failed["from"]})
        back = self.agents.get((qc.app_id, failed["from"]))
        can_return = (queue.transfer_fallback == "agent" and not failed["returned"]
                      and not qc.customer_away and back is not None and back.connected
                      and back.status is not AgentStatus.OFFLINE
                      and back.state in (AgentState.WAITING, AgentState.WRAP_UP))
        failed.update(outcome="returned" if can_return else "requeued", end=now)
        qc.transfers.append({**failed, "to": failed["from"] if can_return else None, "at": now,
                             "end": None, "outcome": None, "answeredBy": None,
                             "returned": True})
        if can_return and back is not None:
            self._offer(qc, queue, back, out)
        if not qc.ringing:
            qc.transfers[-1]["to"] = None  # nobody to give it back to: the queue serves it
            self.dispatch(qc.app_id, qc.queue, out)

    @step
    def transfer_targets(self, app_id: str, user: str) -> dict[str, Any]:
        """Whom the agent could transfer a call to now: the app's other agents with their
        state (only ``available`` ones can take it) and its queues with their lines."""
        agent = self.agent(app_id, user)
        app = self._app(app_id)
        agents = [{**a.public_view(), "state": self.shown_state(a),
                   "queues": list(a.queues)}
                  for (aid, _), a in self.agents.items()
                  if aid == app_id and a.id != agent.id and (aid, a.id) not in self._foreign]
        return {"agents": agents,
                "queues": [self.queue_stats(app_id, q.name) for q in app.queues]}

    # -- 7: consult (warm transfer) and conference ---------------------------------------------

    @step
    def consult(self, app_id: str, user: str, call_id: str, to_agent: str,
                note: str) -> Outcome:
        """The agent puts the customer on hold and rings a colleague (``to_agent``) to talk
        with them alone; then ``consult_end``: cancel (back to the customer), complete (the
        colleague takes the customer: a warm transfer) or conference (all three)."""
        agent, qc = self._talking(app_id, user, call_id)
        target = self._transfer_target(app_id, user, to_agent)
        assert target is not None
        if not self.policies.may_transfer(app_id, agent, qc, to_agent, None):
            raise Refused("TRANSFER_NOT_ALLOWED", "you may not consult that agent")
        out = Outcome()
        _merge(out, self.switchboard.consult_start(app_id, user, call_id,
                                                   self._music(app_id, qc.queue), to_agent))
        qc.call = self.switchboard.store.get_call(app_id, call_id) or qc.call
        qc.consults.append({"from": user, "to": to_agent, "note": note, "at": self.clock(),
                            "answeredAt": None, "end": None, "outcome": None})
        self._touched_calls.add((app_id, call_id))
        self._offer(qc, self._queue(app_id, qc.queue), target, out)
        if not qc.ringing:  # their line was taken a moment ago
            self._consult_failed(qc, "busy", out)
        out.reply = {"callId": call_id, "to": to_agent}
        return out

    @step
    def consult_end(self, app_id: str, user: str, call_id: str, how: str) -> Outcome:
        """``how``: cancelled, completed or conference (calls.py ``consult_end``)."""
        self.agent(app_id, user)
        qc = self.calls.get((app_id, call_id))
        consult = qc.consult if qc is not None else None
        if qc is None or consult is None or consult["from"] != user:
            raise Refused("NOT_CONSULTING", "you are not consulting anyone in this call")
        out = self._step(app_id, call_id, Outcome(), lambda: self.switchboard.consult_end(
            app_id, user, call_id, how), by=user, reply=True)
        return out

    def _consult_rang(self, qc: QueuedCall, attempt: RingAttempt, agent: Agent,
                      leg: Leg | None, queue: QueueSettings, out: Outcome) -> None:
        """The consulted colleague answered (and talks with the agent alone), or did not."""
        if leg is Leg.JOINED:
            consult = qc.consult
            assert consult is not None
            attempt.outcome = "consulted"
            consult["answeredAt"] = self.clock()
            agent.missed_in_row = 0
            self._set_state(agent, AgentState.IN_CALL, out, qc.call_id)
            return
        self._not_answered(qc, attempt, agent, leg, queue, out)
        # Withdrawn because the agent called the consult off: that is its outcome.
        self._consult_failed(qc, "cancelled" if qc.call.consult is None
                             else attempt.outcome or "no_answer", out)

    def _consult_failed(self, qc: QueuedCall, outcome: str, out: Outcome) -> None:
        consult = qc.consult
        if consult is None:
            return
        consult.update(outcome=outcome, end=self.clock())
        _merge(out, self.switchboard.consult_gone(qc.app_id, qc.call_id))
        qc.call = self.switchboard.store.get_call(qc.app_id, qc.call_id) or qc.call

    def _departed(self, qc: QueuedCall, out: Outcome) -> None:
        """Agents who were in the call and no longer are: a consulted colleague who left ends
        the consult; an agent who talked with the customer and left (a completed consult, a
        conference they left) wraps up their part; one who joined the customer opens theirs."""
        now, legs = self.clock(), qc.call.legs
        consult = qc.consult
        if consult is not None and consult["answeredAt"] is not None:
            if qc.call.consult is None:  # the agent ended it: how is read from the legs
                self._consult_closed(qc, consult, None, out)
            elif legs.get(consult["to"]) is not Leg.JOINED:  # the colleague left
                self._consult_closed(qc, consult, "left", out)
        for talk in qc.talks:
            if talk["end"] is None and legs.get(talk["agent"]) is not Leg.JOINED:
                talk["end"] = now
                agent = self.agents.get((qc.app_id, talk["agent"]))
                if agent is not None and agent.call_id == qc.call_id and \
                        agent.state is AgentState.IN_CALL:
                    self._begin_wrap_up(agent, qc, out)

    def _consult_closed(self, qc: QueuedCall, consult: dict[str, Any], left: str | None,
                        out: Outcome) -> None:
        """The consult ended: how is read from the call (the colleague joined the customer or
        not, the agent stayed or not)."""
        now, legs = self.clock(), qc.call.legs
        colleague = self.agents.get((qc.app_id, consult["to"]))
        with_customer = legs.get(consult["to"]) is Leg.JOINED
        if left is not None:
            outcome = left
            _merge(out, self.switchboard.consult_gone(qc.app_id, qc.call_id))
            qc.call = self.switchboard.store.get_call(qc.app_id, qc.call_id) or qc.call
        elif not with_customer:
            outcome = "cancelled"
        else:
            outcome = "conference" if legs.get(consult["from"]) is Leg.JOINED else "completed"
        consult.update(outcome=outcome, end=now)
        if colleague is None:
            return
        if with_customer and left is None:  # the colleague talks with the customer from now
            qc.talks.append({"agent": colleague.id, "start": now, "end": None})
            out.notify([qc.customer], "queue_answered",
                       {"callId": qc.call_id, "agent": colleague.public_view()})
            if outcome == "completed":
                self._follow_recording(qc, colleague, out)
        elif colleague.call_id == qc.call_id and colleague.state is AgentState.IN_CALL:
            self._set_state(colleague, AgentState.WAITING, out)  # they never met the customer
            for queue in colleague.queues:
                self.dispatch(qc.app_id, queue, out)

    # -- 8: callbacks (callbacks.py): the customer leaves the line, keeps their place in it, and
    #   is rung back once an agent takes it --------------------------------------------------------

    @step
    def request_callback(self, app_id: str, customer: str, call_id: str,
                         contact: dict[str, Any]) -> Outcome:
        """The waiting customer asks to be called back: the call keeps its join time and
        priority, so its place; the customer's leg leaves; the queue's max_wait no longer
        applies (nobody holds on the line)."""
        qc = self.calls.get((app_id, call_id))
        if qc is None or qc.customer != customer:
            raise Refused("CALL_NOT_FOUND", "no call of yours with that id")
        if qc.callback is not None:
            raise Refused("CALLBACK_ALREADY_REQUESTED", "a callback is requested already")
        if qc.answered_at is not None or not qc.waiting:
            raise Refused("NOT_WAITING", "the call is not waiting in line")
        queue = self._queue(app_id, qc.queue)
        if queue.callback_after is None:
            raise Refused("CALLBACK_NOT_OFFERED", "this queue does not call customers back")
        kept = checked_contact(contact)
        now = self.clock()
        out = Outcome()
        qc.callback = Callback(kept, now, qc.position)
        qc.max_wait_token += 1
        out.cancelled.append(timer_key(TimerKind.MAX_WAIT, app_id, call_id, None))
        self._event(out, EventName.CALLBACK_REQUESTED, app_id, call_id, customer,
                    queue=qc.queue, position=qc.position, wait=round(qc.wait(now), 3))
        self._step(app_id, call_id, out, lambda: self.switchboard.leave_for_callback(
            app_id, call_id), by=customer)
        out.records.append(qc.record(now))
        out.reply = {"callId": call_id, "queue": qc.queue, "position": qc.position,
                     "callback": qc.callback.as_dict()}
        return out

    def _call_back(self, qc: QueuedCall, attempt: RingAttempt, agent: Agent,
                   queue: QueueSettings, out: Outcome) -> None:
        """``agent`` took a callback's offer: they are busy with it while its customer rings."""
        assert qc.callback is not None
        attempt.outcome = "answered"  # the agent answered the offer; the customer is next
        agent.missed_in_row = 0
        self._set_state(agent, AgentState.IN_CALL, out, qc.call_id)
        ring: dict[str, Any] = {"agent": agent.id, "start": self.clock(), "end": None,
                                "outcome": None}
        qc.callback.rings.append(ring)
        rang = self.switchboard.ring_back(qc.app_id, qc.call_id, agent.id,
                                          queue.callback_ring_timeout,
                                          {"agent": agent.public_view(), "queue": qc.queue})
        _merge(out, rang)
        qc.call = self.switchboard.store.get_call(qc.app_id, qc.call_id) or qc.call
        if rang.reply["reached"] != "ringing":
            self._ring_back_over(qc, ring, rang.reply["reached"], queue, out)

    def _follow_ring_back(self, qc: QueuedCall, queue: QueueSettings, out: Outcome) -> None:
        """Bring a ring of the customer in line with the legs: answered, or over unanswered."""
        assert qc.callback is not None
        ring = qc.callback.ringing
        if ring is None:
            return
        legs = qc.call.legs
        leg = legs.get(qc.customer)
        if leg is Leg.JOINED:
            agent = self.agents.get((qc.app_id, ring["agent"]))
            ring.update(end=self.clock(), outcome="answered")
            if agent is not None:
                self._connected(qc, agent, ring["start"], out)
            self._event(out, EventName.CALLBACK_COMPLETED, qc.app_id, qc.call_id, qc.customer,
                        queue=qc.queue, agent=ring["agent"], attempt=len(qc.callback.rings),
                        wait=round(qc.wait(self.clock()), 3))
        elif legs.get(ring["agent"]) is not Leg.JOINED:
            self._ring_back_over(qc, ring, "cancelled", queue, out)  # the agent left first
        elif leg is not Leg.RINGING:
            self._ring_back_over(qc, ring, "rejected" if leg is Leg.REJECTED else "no_answer",
                                 queue, out)

    def _ring_back_over(self, qc: QueuedCall, ring: dict[str, Any], outcome: str,
                        queue: QueueSettings, out: Outcome) -> None:
        """The customer was not reached (``outcome``): the agent is free again, and the call
        waits at its place for the next try, or ends ``unreachable`` after the last."""
        assert qc.callback is not None
        now, app_id, call_id = self.clock(), qc.app_id, qc.call_id
        ring.update(end=now, outcome=outcome)
        self._touched_calls.add((app_id, call_id))
        if outcome in NOT_REACHED:
            qc.callback.retry_at = now + queue.callback_retry_delay
        # Not through _step: the call is not to be offered again before the lines below.
        _merge(out, self.switchboard.end_ring_back(app_id, call_id, ring["agent"], outcome))
        qc.call = self.switchboard.store.get_call(app_id, call_id) or qc.call
        agent = self.agents.get((app_id, ring["agent"]))
        if agent is not None and agent.call_id == call_id and agent.state is AgentState.IN_CALL:
            self._set_state(agent, AgentState.WAITING, out)
        if qc.callback.failed >= queue.callback_attempts:
            self._step(app_id, call_id, out, lambda: self.switchboard.end_waiting(
                app_id, call_id, EndReason.UNREACHABLE))
            return
        out.records.append(qc.record(now))
        for name in agent.queues if agent is not None else ():
            if name != qc.queue:
                self.dispatch(app_id, name, out)

    # -- agents: sessions, status, state --------------------------------------------------------

    def _event(self, out: Outcome, name: EventName, app_id: str, call_id: str | None,
               user: str | None, **data: Any) -> None:
        out.events.append(CallEvent(name, app_id, call_id, user, self.clock(), data))

    def _agent_changed(self, agent: Agent, out: Outcome) -> None:
        out.notify(agent.id, "agent_update", {"agent": agent.snapshot()})

    def _set_state(self, agent: Agent, state: AgentState, out: Outcome,
                   call_id: str | None = None) -> None:
        previous = agent.state
        agent.state, agent.since, agent.call_id = state, self.clock(), call_id
        self._event(out, EventName.AGENT_STATE, agent.app_id, call_id, agent.id,
                    state=state.value, previous=previous.value)
        self._agent_changed(agent, out)

    def _set_status(self, agent: Agent, status: AgentStatus, reason: str, out: Outcome) -> None:
        previous = agent.status
        agent.status, agent.reason, agent.status_since = status, reason, self.clock()
        if status is AgentStatus.AVAILABLE:
            agent.missed_in_row = 0
        self._event(out, EventName.AGENT_STATUS, agent.app_id, None, agent.id,
                    status=status.value, reason=reason, previous=previous.value)
        self._agent_changed(agent, out)

    @step
    def session_started(self, app_id: str, user_id: str) -> Outcome:
        """A user logged in; for an agent this is logging in, or coming back within grace."""
        out = Outcome()
        agent = self.agents.get((app_id, user_id))
        if agent is None:
            return out
        agent.connected = True
        agent.connection_epoch += 1
        out.cancelled.append(timer_key(TimerKind.AGENT_GRACE, app_id, None, user_id))
        if agent.status is AgentStatus.OFFLINE:
            agent.logged_in_at = self.clock()
            if agent.state is AgentState.WAITING:
                agent.since = agent.logged_in_at
            self._set_status(agent, AgentStatus.BREAK, "login", out)
        else:
            self._agent_changed(agent, out)
        for queue in agent.queues:
            self.dispatch(app_id, queue, out)
        return out

    @step
    def session_ended(self, app_id: str, user_id: str, reason: EndReason,
                      replaced: bool = False) -> Outcome:
        """A user's session ended: leave their call; an agent keeps their status for the grace
        period unless ``replaced`` (they logged in again elsewhere)."""
        out = Outcome()
        agent = self.agents.get((app_id, user_id))
        if agent is not None and not replaced and reason is not EndReason.LOGOUT \
                and agent.connected:
            self._agent_gone(agent, out)
        call_id = self.switchboard.store.line_of(app_id, user_id)
        self._step(app_id, call_id, out,
                   lambda: self.switchboard.leave_all(app_id, user_id, reason), by=user_id)
        if agent is not None and reason is EndReason.LOGOUT:
            agent.connected = False
            self._set_status(agent, AgentStatus.OFFLINE, "logout", out)
            self._empty_queues_check(agent, out)
        return out

    @step
    def session_suspended(self, app_id: str, user_id: str) -> Outcome:
        """A user's connection dropped and may be resumed (signaling's resume window): an agent
        is offered nothing meanwhile and a ringing offer goes to the next agent, an invitation
        ringing for them is refused, and the call they are in waits, the others told
        ``reconnecting``. ``session_ended`` follows if the window runs out."""
        out = Outcome()
        agent = self.agents.get((app_id, user_id))
        if agent is not None:
            self._agent_gone(agent, out)
        call_id = self.switchboard.store.line_of(app_id, user_id)
        call = self.switchboard.store.get_call(app_id, call_id) if call_id else None
        if call is None:
            return out
        leg = call.legs.get(user_id)
        if leg is Leg.RINGING:
            self._step(app_id, call_id, out, lambda: self.switchboard.leave_all(
                app_id, user_id, EndReason.DISCONNECTED), by=user_id)
        elif leg is Leg.JOINED:
            self._tell_call(call, user_id, "reconnecting", out)
            qc = self.calls.get((app_id, call_id))
            # The customer's, not an agent's calling a callback's customer (it waits too).
            if qc is not None and qc.waiting and qc.customer == user_id:
                self._customer_away(qc, out)
        return out

    @step
    def sessions_suspended(self, users: list[tuple[str, str]]) -> Outcome:
        """Many connections dropped at once (the server restarted): ``session_suspended`` for
        each (app id, user id), but everyone is away before anyone's ringing offer is withdrawn,
        so that no call moves on to an agent who is gone too, or is offered while its customer
        is."""
        out = Outcome()
        store = self.switchboard.store
        for app_id, user_id in users:
            agent = self.agents.get((app_id, user_id))
            if agent is not None:
                agent.connected = False
            qc = self.calls.get((app_id, store.line_of(app_id, user_id) or ""))
            if qc is not None and qc.customer == user_id and qc.waiting:
                qc.customer_away = True
        for app_id, user_id in users:
            _merge(out, self.session_suspended(app_id, user_id))
        return out

    def _customer_away(self, qc: QueuedCall, out: Outcome) -> None:
        """A waiting customer's connection dropped: offers stop until they are back."""
        qc.customer_away = True
        for attempt in qc.open_attempts():
            self._step(qc.app_id, qc.call_id, out, lambda a=attempt: self.switchboard.withdraw(
                qc.app_id, qc.call_id, a.agent, "disconnected"))

    @step
    def session_resumed(self, app_id: str, user_id: str) -> Outcome:
        """The user took their session back on a new connection: the others are told."""
        out = self.session_started(app_id, user_id)
        call_id = self.switchboard.store.line_of(app_id, user_id)
        call = self.switchboard.store.get_call(app_id, call_id) if call_id else None
        if call is not None and call.legs.get(user_id) is Leg.JOINED:
            self._tell_call(call, user_id, "reconnected", out)
            qc = self.calls.get((app_id, call.id))
            if qc is not None and qc.customer_away:
                qc.customer_away = False
                self.dispatch(app_id, qc.queue, out)
        return out

    def call_of(self, app_id: str, user_id: str) -> dict[str, Any] | None:
        """The call the user is in, as a client that lost its own copy (a reloaded page) carries
        on from: who else is in it, and for a queue call its queue, place in line and customer.
        None when the user is in no call, or is only being rung for one."""
        call_id = self.switchboard.store.line_of(app_id, user_id)
        call = self.switchboard.store.get_call(app_id, call_id) if call_id else None
        if call is None or call.ended_at is not None or call.legs.get(user_id) is not Leg.JOINED:
            return None
        view: dict[str, Any] = {
            "callId": call.id, "type": int(call.type), "group": call.group,
            "role": "caller" if call.sponsor == user_id else "callee",
            "participants": [u for u in call.users(Leg.JOINED) if u != user_id],
            "invitees": [u for u in call.users(Leg.RINGING) if u != user_id],
        }
        qc = self.calls.get((app_id, call.id))
        held = open_hold(call.holds)
        if held is not None:  # a page reloaded on hold goes on holding (the held side: music)
            view["hold"] = {"by": held.by, "music": None if held.by == user_id else
                            self._music(app_id, qc.queue if qc else None)}
        if qc is not None:
            # Which agent is being rung is not the customer's business.
            view.update(queue=qc.queue, recorded=qc.recorded, customer=qc.customer_view(),
                        invitees=[])
            agent = self.agents.get((app_id, qc.agent)) if qc.agent else None
            if agent is not None:
                view["agent"] = agent.public_view()
            if qc.waiting:
                view.update(position=qc.position, estimatedWait=qc.estimated_wait,
                            callbackAfter=self._queue(app_id, qc.queue).callback_after)
        return view

    @staticmethod
    def _tell_call(call: Call, user_id: str, event: str, out: Outcome) -> None:
        others = [u for u in call.users(Leg.JOINED) if u != user_id]
        out.notify(others, event, {"callId": call.id, "userID": user_id})

    def _agent_gone(self, agent: Agent, out: Outcome) -> None:
        """The agent's connection dropped: no offers until they are back; after the grace
        period their status goes offline."""
        agent.connected = False
        agent.connection_epoch += 1
        if agent.state is AgentState.RINGING and agent.call_id:
            call_id = agent.call_id
            self._step(agent.app_id, call_id, out, lambda: self.switchboard.withdraw(
                agent.app_id, call_id, agent.id, "disconnected"))
        grace = self.config.contact_center.agent_grace
        out.timers.append(Timer(grace, agent.app_id, None, agent.id, TimerKind.AGENT_GRACE,
                                agent.connection_epoch))

    @step
    def set_status(self, app_id: str, user_id: str, status: str, reason: str | None) -> Outcome:
        agent = self.agent(app_id, user_id)
        try:
            new = AgentStatus(status)
        except ValueError:
            raise Refused("BAD_REQUEST", "status: available, break or offline") from None
        out = Outcome()
        reason = (reason or "break") if new is AgentStatus.BREAK else ""
        if (new, reason) != (agent.status, agent.reason):
            self._set_status(agent, new, reason, out)
        if new is AgentStatus.AVAILABLE:
            for queue in agent.queues:
                self.dispatch(app_id, queue, out)
        out.reply = {"agent": agent.snapshot()}
        return out

    @step
    def agent_state(self, app_id: str, user_id: str) -> dict[str, Any]:
        agent = self.agent(app_id, user_id)
        midnight = time.mktime(time.localtime(self.clock())[:3] + (0, 0, 0, 0, 0, -1))
        today = [c for (app, _), c in reversed(self.finished.items())
                 if app == app_id and c.agent == user_id and (c.ended_at or 0) >= midnight]
        return {
            "agent": agent.snapshot(),
            "queues": [self.queue_stats(app_id, q) for q in agent.queues],
            "callsToday": [{"callId": c.call_id, "queue": c.queue,
                            "customer": c.customer_view(), "answeredAt": c.answered_at,
                            "endedAt": c.ended_at, "talk": round(c.talk, 3),
                            "disposition": c.disposition, "notes": c.notes,
                            "rating": c.rating, "recorded": c.recorded} for c in today],
        }

    # -- timers and the clock -------------------------------------------------------------------

    @step
    def on_timer(self, timer: Timer) -> Outcome:
        out = Outcome()
        if timer.kind is TimerKind.RING:
            self._step(timer.app_id, timer.call_id, out, lambda: self.switchboard.expire_invite(
                timer.app_id, timer.call_id or "", timer.user_id or ""))
        elif timer.kind is TimerKind.MAX_WAIT:
            self._max_wait(timer, out)
        elif timer.kind is TimerKind.WRAP_UP:
            agent = self.agents.get((timer.app_id, timer.user_id or ""))
            if agent and agent.state is AgentState.WRAP_UP and agent.call_id == timer.call_id:
                self._end_wrap_up(agent, out)
        elif timer.kind is TimerKind.AGENT_GRACE:
            agent = self.agents.get((timer.app_id, timer.user_id or ""))
            if agent and not agent.connected and agent.connection_epoch == timer.token:
                self._set_status(agent, AgentStatus.OFFLINE, "disconnected", out)
                self._empty_queues_check(agent, out)
        return out

    def _empty_queues_check(self, agent: Agent, out: Outcome) -> None:
        """The last agent of a `when_empty = "refuse"` queue left: its callers are told."""
        for name in agent.queues:
            queue = self._queue(agent.app_id, name)
            if self._free(agent.app_id, name).signed_in or queue.when_empty != "refuse":
                continue
            for qc in self._in_queue(agent.app_id, name):
                if qc.callback is not None:
                    continue  # a promise to call back waits for the agents to come back
                self._step(qc.app_id, qc.call_id, out, lambda c=qc: self.switchboard.end_waiting(
                    c.app_id, c.call_id, EndReason.NO_AGENTS))

    @step
    def tick(self, app_id: str) -> Outcome:
        """Once a second per app: offers that became possible with time (reject delays over,
        skills widening with the wait), queue positions, and queue statistics for agents."""
        out = Outcome()
        app = self._app(app_id)
        for queue in app.queues:
            self._route(app.id, queue.name, out)
            if queue.wait_alert is not None:
                self._wait_alerts(app.id, queue, out)
        self._push_stats(app, out)
        self._push_live(app.id, out)
        return out

    def _wait_alerts(self, app_id: str, queue: QueueSettings, out: Outcome) -> None:
        now = self.clock()
        for qc in self._in_queue(app_id, queue.name):
            if not qc.wait_alerted and qc.wait(now) >= (queue.wait_alert or 0):
                qc.wait_alerted = True
                self._event(out, EventName.QUEUE_LONG_WAIT, app_id, qc.call_id, qc.customer,
                            queue=queue.name, wait=round(qc.wait(now), 3),
                            position=qc.position, threshold=queue.wait_alert)

    # -- what customers and agents are told -----------------------------------------------------

    @step
    def estimated_wait(self, app_id: str, queue: str, position: int) -> int | None:
        """Seconds: calls ahead of this one beyond the free agents, times the average handle
        time (talk + hold + wrap-up, last 20 calls), shared among the agents staffing the queue;
        None while no agent staffs it (nobody available: any number would be made up)."""
        return self._estimate(self._wait_model(app_id, queue), position)

    def _wait_model(self, app_id: str, queue: str) -> tuple[int, int, float]:
        """(free agents, staffing agents, average handle time) of a queue, for estimates."""
        self._queue(app_id, queue)  # an unknown queue is refused
        index = self._free(app_id, queue)
        times = self.handle_times.get((app_id, queue))
        handle = sum(times) / len(times) if times else DEFAULT_HANDLE_TIME
        return index.available(self.clock()), len(index.staffed), handle

    @staticmethod
    def _estimate(model: tuple[int, int, float], position: int,
                  ringing: bool = False) -> int | None:
        free, staffed, handle = model
        if ringing:
            return 0  # an agent's phone rings for this call now
        if staffed == 0:
            return None
        ahead = max(0, position - free)
        return math.ceil(ahead * handle / staffed)

    def _refresh(self, app_id: str, queue: str, out: Outcome, force: set[str] = frozenset()
                 ) -> None:
        calls = self._in_queue(app_id, queue)
        if not calls:
            return
        model = self._wait_model(app_id, queue)  # once: it is the same for every position
        for position, qc in enumerate(calls, start=1):
            ringing = qc.ringing
            wait = self._estimate(model, position, ringing)
            if (position, wait, ringing) != (qc.position, qc.estimated_wait, qc.told_ringing) \
                    or qc.call_id in force:
                qc.position, qc.estimated_wait, qc.told_ringing = position, wait, ringing
                out.notify(qc.customer, "queue_update", {"callId": qc.call_id,
                                                         "position": position,
                                                         "estimatedWait": wait,
                                                         "ringing": ringing})

    @step
    def queue_stats(self, app_id: str, queue: str) -> dict[str, Any]:
        now = self.clock()
        waiting = self._in_queue(app_id, queue)
        return {
            "name": queue, "waiting": len(waiting),
            "longestWait": round(max((c.wait(now) for c in waiting), default=0)),
            "agentsAvailable": self._free(app_id, queue).available(now),
        }

    # -- the supervisors' live view -------------------------------------------------------------

    @step
    def watch(self, app_id: str, user_id: str) -> dict[str, Any]:
        """A supervisor opens the live view: they get ``supervisor_stats`` on every change
        (at most once a second, with the tick) until ``unwatch``."""
        self.watchers.setdefault(app_id, set()).add(user_id)
        return self.live(app_id)

    def unwatch(self, app_id: str, user_id: str) -> None:
        self.watchers.get(app_id, set()).discard(user_id)

    @staticmethod
    def shown_state(agent: Agent) -> str:
        """One word for a supervisor: offline, break, available, ringing, in_call, wrap_up.
        What the agent is doing wins over the status they chose (a call goes on during a
        break they asked for)."""
        if agent.status is AgentStatus.OFFLINE:
            return "offline"
        if agent.state is not AgentState.WAITING:
            return agent.state.value
        return "break" if agent.status is AgentStatus.BREAK else "available"

    @step
    def live(self, app_id: str) -> dict[str, Any]:
        """Right now: per queue the calls waiting, the longest wait and the calls in progress,
        agents by state, and every call not yet ended."""
        now = self.clock()
        app = self._app(app_id)
        states = ("available", "ringing", "in_call", "wrap_up", "break", "offline")
        agents = [a for (aid, _), a in self.agents.items() if aid == app_id]
        calls = [c for (aid, _), c in self.calls.items() if aid == app_id]
        queues = []
        for queue in app.queues:
            mine = [c for c in calls if c.queue == queue.name]
            waiting = [c for c in mine if c.waiting]
            by_state = dict.fromkeys(states, 0)
            for agent in self._agents_of(app_id, queue.name):
                by_state[self.shown_state(agent)] += 1
            queues.append({
                "name": queue.name, "waiting": len(waiting),
                "longestWait": round(max((c.wait(now) for c in waiting), default=0)),
                "inProgress": sum(1 for c in mine if c.answered_at is not None),
                "agents": by_state,
            })
        totals = dict.fromkeys(states, 0)
        for agent in agents:
            totals[self.shown_state(agent)] += 1
        return {
            "queues": queues,
            # `since`: when the shown state began, a change of status or of state.
            "agents": [{"agentId": a.id, "name": a.name, "state": self.shown_state(a),
                        "status": a.status.value, "reason": a.reason,
                        "since": max(a.since, a.status_since),
                        "callId": a.call_id, "queues": list(a.queues),
                        "answered": a.answered} for a in agents],
            "agentsByState": totals,
            "calls": [{"callId": c.call_id, "queue": c.queue,
                       "customer": c.customer_view()["name"] or c.customer,
                       "state": self._call_state(c),
                       "joinedAt": c.joined_at, "answeredAt": c.answered_at,
                       "agent": c.talking or c.agent,
                       "position": c.position if c.waiting else None,
                       # Who monitors it now (monitor.py): {userID, name, mode}.
                       "monitoredBy": [{"userID": m.supervisor, "name": m.name,
                                        "mode": str(m.mode)} for m in c.call.monitors
                                       if m.end is None]}
                      for c in sorted(calls, key=lambda c: c.joined_at)],
        }

    @staticmethod
    def _call_state(qc: QueuedCall) -> str:
        """A call as the live view shows it: waiting, ringing, in_call, on_hold, transferring."""
        if qc.transfer is not None:
            return "transferring"
        if qc.answered_at is None:
            return "ringing" if qc.ringing else "waiting"
        return "on_hold" if open_hold(qc.call.holds) is not None else "in_call"

    def _push_live(self, app_id: str, out: Outcome) -> None:
        watchers = self.watchers.get(app_id)
        if not watchers:
            return
        live = self.live(app_id)
        if live == self._last_live.get(app_id):
            return
        self._last_live[app_id] = live
        out.notify(sorted(watchers), "supervisor_stats", {**live, "at": self.clock()})

    def _push_stats(self, app: App, out: Outcome) -> None:
        stats = {q.name: self.queue_stats(app.id, q.name) for q in app.queues}
        changed = {name for name, s in stats.items() if self._last_stats.get((app.id, name)) != s}
        if not changed:
            return
        for name in changed:
            self._last_stats[(app.id, name)] = stats[name]
        # Agents serving the same queues get the same payload object: one notify, which the
        # adapter sends as one emit to all of them.
        groups: dict[tuple[str, ...], list[str]] = {}
        for (app_id, _), agent in self.agents.items():
            if app_id == app.id and agent.connected and changed.intersection(agent.queues):
                groups.setdefault(agent.queues, []).append(agent.id)
        for queues, agent_ids in groups.items():
            out.notify(agent_ids, "queue_stats", {"queues": [stats[q] for q in queues]})

    # -- lookups --------------------------------------------------------------------------------

    def _app(self, app_id: str) -> App:
        app = self.config.app(app_id)
        assert app is not None, app_id  # sessions exist only for configured apps
        return app

    def agent(self, app_id: str, user_id: str) -> Agent:
        agent = self.agents.get((app_id, user_id))
        if agent is None:
            raise Refused("FORBIDDEN", "you are not an agent of this app")
        return agent

    def _queue(self, app_id: str, name: str) -> QueueSettings:
        queue = self._queues.get((app_id, name))
        if queue is None:
            raise Refused("UNKNOWN_QUEUE", "no such queue")
        return queue

    def _agents_of(self, app_id: str, queue: str) -> list[Agent]:
        """The agents serving a queue, in config order (the index itself: do not change it)."""
        return self._free(app_id, queue).members

    _NO_AGENTS = QueueAgents("", {})

    def _free(self, app_id: str, queue: str) -> QueueAgents:
        """The queue's index of agents: who signs in to it, staffs it, is free for it."""
        return self._queue_agents.get((app_id, queue), self._NO_AGENTS)

    def _in_queue(self, app_id: str, queue: str) -> list[QueuedCall]:
        """The calls not yet answered in a queue, in the order they will be served."""
        now = self.clock()
        settings = self._queue(app_id, queue)
        bucket = self._queued.get((app_id, queue))
        if not bucket:
            return []
        calls, live = [], self.calls
        for call_id, c in list(bucket.items()):
            if c.waiting and c.call.queue == queue and live.get((app_id, call_id)) is c:
                calls.append(c)
            else:  # answered, ended, moved to another queue or replaced: not waiting here
                del bucket[call_id]
        if len(calls) < 2:
            return calls  # nothing to order: the queueing plugin is not asked
        # Calls already ringing an agent are served first: they are being served now.
        return sorted(calls, key=lambda c: (not c.ringing,
                                            self.policies.queue_key(settings, c, now)))
