"""The step clock: one reading of the time per step, and steps of one clock one at a time (a step
waiting on a shared store must not let another see its changes half made)."""

from __future__ import annotations

import threading
import time

from callcenter.domain.clock import StepClock


def test_a_step_reads_the_clock_once_and_a_step_inside_shares_the_reading():
    readings = iter([100.0, 200.0, 300.0])
    clock = StepClock(lambda: next(readings))
    with clock.step() as outer:
        assert clock() == outer == 100.0
        with clock.step() as inner:  # reentrant: no deadlock, the same reading
            assert inner == 100.0
    assert clock() == 200.0


def test_steps_of_one_clock_never_overlap_even_when_one_waits_inside():
    clock = StepClock()
    inside: list[int] = []
    overlapped = threading.Event()

    def step(n: int) -> None:
        with clock.step():
            inside.append(n)
            if len(inside) > 1:
                overlapped.set()
            time.sleep(0.02)  # as a step waiting on Redis would
            inside.remove(n)

    threads = [threading.Thread(target=step, args=(n,)) for n in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    assert not overlapped.is_set()


def test_steps_of_different_clocks_do_not_wait_for_each_other():
    first, second = StepClock(), StepClock()
    entered = threading.Event()

    def hold() -> None:
        with first.step():
            entered.set()
            time.sleep(0.3)

    holder = threading.Thread(target=hold)
    holder.start()
    entered.wait(5)
    started = time.monotonic()
    with second.step():
        pass
    assert time.monotonic() - started < 0.1
    holder.join(5)
