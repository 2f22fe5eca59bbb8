"""The signaling rate limiter: a moving window per key."""

from __future__ import annotations

import time

from callcenter.server.http.rate_limit import MovingWindow


def test_a_key_gets_its_allowance_then_is_refused_until_the_window_moves(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: now[0])
    limiter = MovingWindow("3/second")
    assert [limiter.hit("a") for _ in range(4)] == [True, True, True, False]
    assert limiter.hit("b")  # keys are counted apart
    now[0] += 0.5
    assert not limiter.hit("a")
    now[0] += 0.6  # the first hits are now more than a second old
    assert limiter.hit("a")


def test_idle_keys_are_forgotten_and_clear_resets_a_key(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: now[0])
    limiter = MovingWindow("1/second")
    limiter.hit("old")
    now[0] += 5
    limiter.hit("new")
    assert set(limiter.hits) == {"new"}
    assert not limiter.hit("new")
    limiter.clear("new")
    assert limiter.hit("new")
