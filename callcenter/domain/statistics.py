"""Historical contact-center statistics: service level, ASA, AHT, abandonment and occupancy.

Plain Python over call detail records (``Database.calls_for_statistics``) and agent status and
state events (``Database.agent_events``): no SQL and no I/O, so every number can be checked by
hand. docs/statistics.md defines each metric, its denominator and which calls count.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from callcenter.domain.agents import AgentState, AgentStatus

MIN_INTERVAL = 60  # seconds: finer series would be mostly empty buckets
MAX_INTERVALS = 1000  # one response stays small enough to chart

# Handling a call is talking and wrapping it up; ringing is still waiting for work.
HANDLING_STATES = frozenset({AgentState.IN_CALL, AgentState.WRAP_UP})
IDLE_STATES = frozenset({AgentState.WAITING, AgentState.RINGING})
# Calls that left the queue by the queue's rules (max_wait, nobody to serve it), not by hanging up.
TIMED_OUT_OUTCOMES = frozenset({"timed_out", "no_agents"})

CallRecord = Mapping[str, Any]


@dataclass(frozen=True)
class Thresholds:
    service_level_seconds: int = 20  # Y of "X % answered within Y seconds"
    short_abandon_seconds: int = 5  # callers who hang up sooner are counted apart


@dataclass(frozen=True)
class _QueueCounts:
    """How the queue calls of one window (or one series bucket) fared."""

    offered: int
    answered: int
    answered_within: int
    abandoned: int
    short_abandoned: int
    timed_out: int
    interrupted: int
    waiting: int
    answered_waits: tuple[float, ...]

    @property
    def service_level_denominator(self) -> int:
        # Calls whose fate in the queue is known: a call still waiting may yet be answered in
        # time, a short abandon is most likely a misdial, and a crash is not the queue's doing.
        return self.offered - self.short_abandoned - self.waiting - self.interrupted

    @property
    def service_level(self) -> float | None:
        return _ratio(self.answered_within, self.service_level_denominator)

    @property
    def abandon_rate(self) -> float | None:
        return _ratio(self.abandoned, self.offered - self.short_abandoned - self.waiting)

    @property
    def asa(self) -> float | None:
        return _mean(self.answered_waits)


def summarize(calls: Iterable[CallRecord], agent_events: Iterable[Mapping[str, Any]],
              start: float, end: float, thresholds: Thresholds, now: float | None = None
              ) -> dict[str, Any]:
    """The statistics of the queue calls that joined in [start, end) and of the agents' time in
    [start, min(end, now)]. ``agent_events`` must include the events before ``start`` that set
    each agent's status and state at the window's start."""
    in_window = _queue_calls(calls, start, end)
    counts = _count(in_window, thresholds)
    handled = [c for c in in_window if c.get("answeredAt") is not None
               and c.get("endedAt") is not None]
    talks = [_talk(c) for c in handled]
    # A wrap-up still going on counts as 0 rather than keeping its call out of AHT. Handling
    # is talk + hold + wrap-up (the customer on hold is still the agent's work).
    wrap_ups = [float(c.get("wrapUp") or 0.0) for c in handled]
    holds = [float(c.get("hold") or 0.0) for c in handled]
    handle_times = [t + h + w for t, h, w in zip(talks, holds, wrap_ups, strict=True)]
    waits = [w for w in (_wait(c, now) for c in in_window) if w is not None]
    ratings = [c["rating"] for c in in_window if c.get("rating") is not None]
    stop = end if now is None else min(end, now)
    agent_time = _agent_time(agent_events, start, stop)
    return {
        "window": {"start": start, "end": end},
        "thresholds": {"serviceLevelSeconds": thresholds.service_level_seconds,
                       "shortAbandonSeconds": thresholds.short_abandon_seconds},
        "offered": counts.offered,
        "answered": counts.answered,
        "answeredWithinThreshold": counts.answered_within,
        "abandoned": counts.abandoned,
        "shortAbandoned": counts.short_abandoned,
        "timedOut": counts.timed_out,
        "interrupted": counts.interrupted,
        "waiting": counts.waiting,
        "serviceLevel": _fraction(counts.service_level),
        "serviceLevelDenominator": counts.service_level_denominator,
        "serviceLevelThreshold": thresholds.service_level_seconds,
        "abandonRate": _fraction(counts.abandon_rate),
        "asa": _seconds(counts.asa),
        "aht": _seconds(_mean(handle_times)),
        "averageTalk": _seconds(_mean(talks)),
        "averageWrapUp": _seconds(_mean(wrap_ups)),
        "averageHold": _seconds(_mean(holds)),
        "longestWait": _seconds(max(waits, default=None)),
        "averageRating": _fraction(_mean(ratings)),
        "ratings": len(ratings),
        "occupancy": _fraction(_ratio(agent_time["handling"],
                                      agent_time["handling"] + agent_time["available"])),
        "agentTime": {k: round(v, 3) for k, v in agent_time.items()},
    }


def series(calls: Iterable[CallRecord], start: float, end: float, interval: int,
           thresholds: Thresholds) -> list[dict[str, Any]]:
    """The queue statistics of each ``interval`` seconds of [start, end), the last interval
    possibly shorter; a call counts in the interval it joined in. Raises ValueError for an
    interval under a minute or more than MAX_INTERVALS intervals."""
    if interval < MIN_INTERVAL:
        raise ValueError(f"must be at least {MIN_INTERVAL} seconds")
    if end <= start:
        return []
    count = math.ceil((end - start) / interval)
    if count > MAX_INTERVALS:
        raise ValueError(f"{count} intervals; at most {MAX_INTERVALS} are allowed")
    starts = [start + i * interval for i in range(count)]
    buckets: list[list[CallRecord]] = [[] for _ in starts]
    for call in _queue_calls(calls, start, end):
        # Bisecting the starts (not dividing) puts a call joined exactly on a boundary in the
        # later interval, whatever the float rounding of the division would say.
        buckets[bisect_right(starts, call["joinedAt"]) - 1].append(call)
    points = []
    for i, bucket in enumerate(buckets):
        counts = _count(bucket, thresholds)
        points.append({
            "start": starts[i], "end": starts[i + 1] if i + 1 < count else end,
            "offered": counts.offered, "answered": counts.answered,
            "abandoned": counts.abandoned, "shortAbandoned": counts.short_abandoned,
            "serviceLevel": _fraction(counts.service_level), "asa": _seconds(counts.asa),
        })
    return points


def _queue_calls(calls: Iterable[CallRecord], start: float, end: float) -> list[CallRecord]:
    """The queue calls that joined in [start, end); the caller's query should already have
    chosen them, but a wider query must not change the numbers."""
    # Records from QueuedCall.record() carry no kind: only queue calls make them.
    return [c for c in calls if c.get("kind", "queue") == "queue"
            and c.get("joinedAt") is not None and start <= c["joinedAt"] < end]


def _count(calls: list[CallRecord], thresholds: Thresholds) -> _QueueCounts:
    answered_waits: list[float] = []
    answered_within = abandoned = short_abandoned = timed_out = interrupted = waiting = 0
    for call in calls:
        wait = _wait(call, None)
        outcome = call.get("outcome")
        if call.get("answeredAt") is not None:
            # A call without any wait on record was answered as it joined.
            answered_waits.append(wait or 0.0)
            if (wait or 0.0) <= thresholds.service_level_seconds:
                answered_within += 1
        # A callback not reached ("unreachable") was offered and is no abandon: the customer
        # asked to be called back rather than hanging up.
        elif outcome == "abandoned":
            # An abandon whose wait is unknown is not excused as a short one.
            if wait is not None and wait < thresholds.short_abandon_seconds:
                short_abandoned += 1
            else:
                abandoned += 1
        elif outcome in TIMED_OUT_OUTCOMES:
            timed_out += 1
        elif outcome == "interrupted":
            interrupted += 1
        elif call.get("endedAt") is None:
            waiting += 1
    return _QueueCounts(
        offered=len(calls), answered=len(answered_waits), answered_within=answered_within,
        abandoned=abandoned, short_abandoned=short_abandoned, timed_out=timed_out,
        interrupted=interrupted, waiting=waiting, answered_waits=tuple(answered_waits))


def _wait(call: CallRecord, now: float | None) -> float | None:
    """Seconds from joining the queue to being answered or leaving it. A call still in the queue
    has waited until ``now`` (its record holds the wait when it was last written)."""
    joined = call.get("joinedAt")
    left = call.get("answeredAt")
    if left is None:
        left = call.get("endedAt")
    if left is None and now is not None and joined is not None:
        return max(0.0, now - joined)
    if call.get("wait") is not None:
        return float(call["wait"])
    if left is None or joined is None:
        return None
    return left - joined


def _talk(call: CallRecord) -> float:
    """Talk seconds, the held and silent ones left out: a record's ``talk`` already leaves them
    out (QueuedCall.talk); worked out from the times, its ``hold`` and ``silentSeconds`` are."""
    if call.get("talk") is not None:
        return float(call["talk"])
    answered = call["endedAt"] - call["answeredAt"]
    return max(0.0, answered - float(call.get("silentSeconds") or 0.0)
               - float(call.get("hold") or 0.0))


@dataclass
class _AgentClock:
    """One agent's status and state while replaying the events, and since when they hold."""

    status: str
    state: str
    since: float


def _agent_time(events: Iterable[Mapping[str, Any]], start: float, stop: float
                ) -> dict[str, float]:
    """Seconds agents spent handling calls, available and idle, and on a break within
    [start, stop], replaying each agent's status and state events."""
    totals = {"handling": 0.0, "available": 0.0, "break": 0.0}
    agents: dict[str, _AgentClock] = {}

    def charge(agent: _AgentClock, until: float) -> None:
        seconds = min(until, stop) - max(agent.since, start)
        if seconds <= 0:
            return
        if agent.state in HANDLING_STATES:
            totals["handling"] += seconds  # whatever the status: a call in hand is work
        elif agent.state in IDLE_STATES and agent.status == AgentStatus.AVAILABLE:
            totals["available"] += seconds
        elif agent.state in IDLE_STATES and agent.status == AgentStatus.BREAK:
            totals["break"] += seconds

    # Sorting by time (stably, so ties keep the log's order) mends events logged by two
    # servers whose appends interleaved slightly out of order.
    timeline = sorted((e for e in events if e.get("at") is not None and e.get("user")),
                      key=lambda e: e["at"])
    for event in timeline:
        if event["at"] >= stop:
            break
        # Until an event says otherwise an agent is offline and waiting, as a server starts them.
        agent = agents.setdefault(event["user"], _AgentClock(
            AgentStatus.OFFLINE.value, AgentState.WAITING.value, start))
        if event.get("event") == "agent.status" and event.get("status"):
            charge(agent, event["at"])
            agent.status, agent.since = event["status"], event["at"]
        elif event.get("event") == "agent.state" and event.get("state"):
            charge(agent, event["at"])
            agent.state, agent.since = event["state"], event["at"]
    for agent in agents.values():
        charge(agent, stop)
    return totals


def _mean(values: list[float] | tuple[float, ...]) -> float | None:
    return sum(values) / len(values) if values else None


def _ratio(part: float, whole: float) -> float | None:
    return part / whole if whole else None


def _seconds(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _fraction(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
