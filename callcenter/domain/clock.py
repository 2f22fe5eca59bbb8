"""One reading of the clock per step.

A step of the domain (a request, a timer, a dropped connection) changes several facts at once: a
call is answered, an agent goes in call, an attempt closes, events go out. They all happened at the
same instant, so they carry the same time: ``step()`` reads the clock once and every read inside it
gets that reading. Two reads a few microseconds apart once made ``answered_at`` and the event's
time disagree, and the call record's wait differ from the event's.

The frozen reading is kept in a context variable: each greenlet (and thread) has its own, so a
step that waits on a shared store cannot lend its time to another one.

Steps of one clock also run one at a time. With the memory store a step never waits, so this costs
nothing; with a shared store (Redis) each store operation waits on the network, and under eventlet
another greenlet would run meanwhile: a second step would then see the queues and agents (kept in
this process's memory) half changed by the first.

Several processes sharing that state give the clock a ``guard``: a context manager entered around
every outermost step, which holds their common lock and brings the state up to date
(``callcenter.server.cluster``); the domain only knows that a step runs inside it.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from contextvars import ContextVar
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


class StepClock:
    """A clock (seconds since the epoch) that holds still during a step."""

    def __init__(self, read: Callable[[], float] = time.time) -> None:
        self._read = read
        # Reentrant per thread (per greenlet once eventlet has patched threading): a step inside
        # a step runs in the outer one.
        self._one_at_a_time = threading.RLock()
        self._frozen: ContextVar[float | None] = ContextVar(f"step_clock_{id(self)}",
                                                            default=None)
        # Entered around every outermost step (module doc); None: nothing to guard.
        self.guard: Callable[[], AbstractContextManager[Any]] | None = None

    def __call__(self) -> float:
        frozen = self._frozen.get()
        return self._read() if frozen is None else frozen

    def in_step(self) -> bool:
        """Whether a step is running here (in this greenlet) now."""
        return self._frozen.get() is not None

    @contextmanager
    def step(self) -> Iterator[float]:
        """Read the clock once for everything inside; a step inside a step shares the outer
        one's reading. Steps run one at a time (see the module doc)."""
        frozen = self._frozen.get()
        if frozen is not None:
            yield frozen
            return
        with self._one_at_a_time, (self.guard or nullcontext)():
            now = self._read()
            token = self._frozen.set(now)
            try:
                yield now
            finally:
                self._frozen.reset(token)


def as_step_clock(clock: Callable[[], float] | StepClock) -> StepClock:
    return clock if isinstance(clock, StepClock) else StepClock(clock)


def step(method: F) -> F:
    """Run a method of an object with a ``clock: StepClock`` as one step."""

    @functools.wraps(method)
    def run(self: Any, *args: Any, **kwargs: Any) -> Any:
        clock = self.clock
        if clock.in_step():  # a step inside a step runs in the outer one: no context to enter
            return method(self, *args, **kwargs)
        with clock.step():
            return method(self, *args, **kwargs)

    return run  # type: ignore[return-value]
