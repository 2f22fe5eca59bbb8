"""The free agents of each queue, kept as agents change, so that routing never scans a queue.

An agent is *free* for a queue when connected, available, waiting (not ringing, talking or
wrapping up), serving the queue and skilled enough for its ``required_skills``. ``QueueAgents``
holds one queue's: who staffs it (connected and available), who is free, and, for each ``Order``
a strategy has asked for, the free agents sorted by it (a ``SortedList``: O(log n) to move an
agent, O(1) to read the first). Every change of an agent reaches the indexes of its queues
(``Agent.__setattr__`` calls the contact center, which calls ``QueueAgents.refresh``), whatever
made it: a step here, or another process's step taken from the shared store.

``Candidates`` is what a strategy gets: the free agents who may be offered one call now (not held
back by a reject, and not already offered this call while others remain). It reads as a
sequence, so a strategy written for a list still works (paying for the whole list), and it
answers the questions routing asks in O(log n): the first agent in an order, the next after one,
one at random. Plain Python; the contact center drives it.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, overload

from sortedcontainers import SortedList

from callcenter.domain.agents import Agent, AgentState, AgentStatus

__all__ = ["Order", "QueueAgents", "Candidates", "LONGEST_IDLE", "BY_ID"]


class Order:
    """A ranking of agents by ``key`` (smallest first), indexed per queue from the first time a
    strategy asks for it. The key must read only the agent's own fields (each change of one
    re-ranks the agent; not ``since``, ``status_since``, ``reason``, ``call_id``,
    ``wrap_up_until`` or ``connection_epoch``, which routing has no use for) and end with
    something unique, such as the id, so that ties are deterministic. Make an ``Order`` once
    (at import or start-up), not per call: its ``name`` identifies its index."""

    __slots__ = ("name", "key")

    def __init__(self, name: str, key: Callable[[Agent], tuple[Any, ...]]) -> None:
        self.name, self.key = name, key

    def __repr__(self) -> str:
        return f"Order({self.name!r})"


#: the agent free the longest first (ties by id): the default strategy's order
LONGEST_IDLE = Order("longest-idle", lambda a: (a.idle_since, a.id))
#: by id: what round-robin walks and random picks from
BY_ID = Order("id", lambda a: (a.id,))


class QueueAgents:
    """One queue's agents: all who serve it (config order), who staffs it, who is free, and
    the free agents sorted by each order asked for."""

    __slots__ = ("queue", "required", "members", "signed_in", "staffed", "free", "blocked",
                 "_ranked", "_keys")

    def __init__(self, queue: str, required: dict[str, int]) -> None:
        self.queue = queue
        self.required = dict(required)
        self.members: list[Agent] = []
        self.signed_in: set[str] = set()  # ids: connected and not offline (a break counts)
        self.staffed: set[str] = set()  # ids: connected and available
        self.free: dict[str, Agent] = {}
        # ids of free agents held back by a reject until a time (pruned when read)
        self.blocked: dict[str, float] = {}
        self._ranked: dict[str, tuple[Order, SortedList]] = {}
        self._keys: dict[str, dict[str, tuple[Any, ...]]] = {}  # order -> agent id -> its key

    def add(self, agent: Agent) -> None:
        self.members.append(agent)
        self.refresh(agent)

    def refresh(self, agent: Agent) -> None:
        """Bring the agent's place in line with its fields (called on every change of one)."""
        aid = agent.id
        serving = self.queue in agent.queues  # no longer, once its queues are changed
        if serving and agent.connected and agent.status is not AgentStatus.OFFLINE:
            self.signed_in.add(aid)
        else:
            self.signed_in.discard(aid)
        staffing = serving and agent.connected and agent.status is AgentStatus.AVAILABLE
        if staffing:
            self.staffed.add(aid)
        else:
            self.staffed.discard(aid)
        if (staffing and agent.state is AgentState.WAITING
                and agent.has_skills(self.required)):
            self.free[aid] = agent
            if agent.blocked_until:
                self.blocked[aid] = agent.blocked_until
            for name, (order, ranked) in self._ranked.items():
                keys = self._keys[name]
                key, old = order.key(agent), keys.get(aid)
                if key != old:
                    if old is not None:
                        ranked.remove((old, aid))
                    ranked.add((key, aid))
                    keys[aid] = key
        elif self.free.pop(aid, None) is not None:
            self.blocked.pop(aid, None)
            for name, (_, ranked) in self._ranked.items():
                ranked.remove((self._keys[name].pop(aid), aid))

    def ranked(self, order: Order) -> SortedList:
        """The free agents as (key, id), sorted by ``order``; built the first time (O(n log n)),
        then kept by ``refresh``."""
        entry = self._ranked.get(order.name)
        if entry is None:
            keys = {aid: order.key(agent) for aid, agent in self.free.items()}
            entry = (order, SortedList((key, aid) for aid, key in keys.items()))
            self._ranked[order.name], self._keys[order.name] = entry, keys
        return entry[1]

    def blocked_now(self, now: float) -> int:
        """How many free agents a reject holds back at ``now``."""
        expired = [aid for aid, until in self.blocked.items() if until <= now]
        for aid in expired:
            del self.blocked[aid]
        return len(self.blocked)

    def available(self, now: float) -> int:
        """Free agents who may be offered a call now."""
        return len(self.free) - self.blocked_now(now)

    @classmethod
    def of(cls, agents: Iterable[Agent], queue: str = "", required: dict[str, int] | None = None
           ) -> QueueAgents:
        """An index of just ``agents``, all taken as free (a strategy called with a list)."""
        index = cls(queue, required or {})
        for agent in agents:
            index.members.append(agent)
            index.free[agent.id] = agent
        return index


class Candidates(Sequence[Agent]):
    """The agents a strategy may offer one call to now: a queue's free agents less those a
    reject holds back and those in ``exclude`` (already offered this call). Iterating, ``len``
    and indexing read every one (O(n)); ``first``, ``ranked``, ``after`` and ``choice`` read the
    queue's sorted indexes and skip the few left out."""

    __slots__ = ("_index", "_now", "_exclude", "_list")

    def __init__(self, index: QueueAgents, now: float,
                 exclude: frozenset[str] | set[str] = frozenset()) -> None:
        self._index, self._now, self._exclude = index, now, exclude
        self._list: list[Agent] | None = None

    @classmethod
    def of(cls, agents: Iterable[Agent], now: float = 0.0) -> Candidates:
        """Candidates made of a plain list (tests, a strategy calling another)."""
        return cls(QueueAgents.of(agents), now)

    def member(self, agent: object) -> Agent | None:
        """The candidate that ``agent`` (a strategy's answer) stands for, if it is one."""
        found = self._index.free.get(getattr(agent, "id", None))  # type: ignore[arg-type]
        if found is not None and (found is agent or found == agent) and self._ok(found):
            return found
        return None

    def _ok(self, agent: Agent) -> bool:
        # getattr: a strategy's own tests may hand in stand-ins with only the fields it reads.
        return (agent.id not in self._exclude
                and self._now >= getattr(agent, "blocked_until", 0.0))

    def __iter__(self) -> Iterator[Agent]:
        ok = self._ok
        return (agent for agent in self._index.free.values() if ok(agent))

    def __bool__(self) -> bool:
        return next(iter(self), None) is not None

    def _all(self) -> list[Agent]:
        if self._list is None:
            self._list = list(iter(self))  # list(self) would ask __len__, which asks this
        return self._list

    def __len__(self) -> int:
        return len(self._all())

    @overload
    def __getitem__(self, i: int) -> Agent: ...

    @overload
    def __getitem__(self, i: slice) -> list[Agent]: ...

    def __getitem__(self, i: int | slice) -> Agent | list[Agent]:
        return self._all()[i]

    def without(self, ids: Iterable[str]) -> Candidates:
        """These candidates less the agents ``ids``."""
        return Candidates(self._index, self._now, frozenset(self._exclude) | frozenset(ids))

    def ranked(self, order: Order) -> Iterator[Agent]:
        """The candidates in ``order``, lazily: taking the first k costs O(log n + k)."""
        free, ok = self._index.free, self._ok
        for _, aid in self._index.ranked(order):
            agent = free[aid]
            if ok(agent):
                yield agent

    def first(self, order: Order) -> Agent | None:
        """The first candidate in ``order`` (None if there is none)."""
        return next(self.ranked(order), None)

    def after(self, order: Order, key: tuple[Any, ...]) -> Agent | None:
        """The first candidate whose key in ``order`` is above ``key``, wrapping around to the
        first of all (round-robin)."""
        free, ok = self._index.free, self._ok
        ranked = self._index.ranked(order)
        # (key,) sorts before every (key, id): the pairs of agents with a greater key follow.
        start = ranked.bisect_right((key, "\U0010ffff"))
        for i in range(start, len(ranked)):
            agent = free[ranked[i][1]]
            if ok(agent):
                return agent
        return self.first(order)

    def choice(self, rng: random.Random | Any = random) -> Agent | None:
        """One candidate, uniformly at random; a few draws from the index, then the list."""
        ranked, free = self._index.ranked(BY_ID), self._index.free
        for _ in range(8):
            if not ranked:
                return None
            agent = free[ranked[rng.randrange(len(ranked))][1]]
            if self._ok(agent):
                return agent
        everyone = self._all()
        return rng.choice(everyone) if everyone else None
