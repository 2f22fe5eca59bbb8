"""Operations of the Redis store that must hold across processes: several OS processes, each with
its own connections, race for one line or one session at the same instant; exactly one wins."""

from __future__ import annotations

import multiprocessing
import uuid
from typing import Any

from callcenter.store.redis import RedisStore

RACERS = 8
# fork: each child makes its own RedisStore (its own connection pool) after the fork.
CONTEXT = multiprocessing.get_context("fork")


def _race(url: str, prefix: str, barrier: Any, results: Any, action: str, index: int) -> None:
    store = RedisStore(url, prefix=prefix)
    store.ping()  # connected before the start, so the race is on the command itself
    barrier.wait(10)
    if action == "claim":
        results.put((index, store.claim_line("a", "agent", f"call-{index}")))
    elif action == "bind":
        results.put((index, store.bind_session("a", "alice", f"sid-{index}")))
    elif action == "unbind":
        results.put((index, store.unbind_session("a", "alice", "sid-shared")))


def race(url: str, prefix: str, action: str) -> dict[int, Any]:
    barrier = CONTEXT.Barrier(RACERS)
    results = CONTEXT.Queue()
    processes = [CONTEXT.Process(target=_race, args=(url, prefix, barrier, results, action, i))
                 for i in range(RACERS)]
    for p in processes:
        p.start()
    answers = dict(results.get(timeout=20) for _ in processes)
    for p in processes:
        p.join(10)
        assert p.exitcode == 0
    return answers


def test_processes_racing_for_one_line_one_claims_it(redis_server):
    prefix = f"cc-test-{uuid.uuid4().hex[:10]}"
    answers = race(redis_server.url, prefix, "claim")
    winners = [i for i, won in answers.items() if won]
    assert len(winners) == 1
    assert RedisStore(redis_server.url, prefix=prefix).line_of("a", "agent") == \
        f"call-{winners[0]}"


def test_processes_binding_one_session_each_learn_whom_they_replaced(redis_server):
    """GETSET: the bindings form one chain. Exactly one process found nobody bound, every other
    replaced a different one, and the session left bound was replaced by nobody: no login goes
    unnoticed (each replaced connection is kicked out by its replacer)."""
    prefix = f"cc-test-{uuid.uuid4().hex[:10]}"
    answers = race(redis_server.url, prefix, "bind")
    replaced = [previous for previous in answers.values() if previous is not None]
    assert len(replaced) == RACERS - 1 and len(set(replaced)) == RACERS - 1
    bound = RedisStore(redis_server.url, prefix=prefix).session_of("a", "alice")
    assert bound not in replaced
    assert set(replaced) | {bound} == {f"sid-{i}" for i in range(RACERS)}


def test_processes_unbinding_one_session_one_unbinds_it(redis_server):
    prefix = f"cc-test-{uuid.uuid4().hex[:10]}"
    RedisStore(redis_server.url, prefix=prefix).bind_session("a", "alice", "sid-shared")
    answers = race(redis_server.url, prefix, "unbind")
    assert sorted(answers.values()) == [False] * (RACERS - 1) + [True]


def test_a_step_that_outlasts_the_lock_timeout_keeps_the_lock_and_its_changes(redis_server):
    """SharedState.keep extends the lock of the step running now: a step three times as long
    as the timeout still writes its changes, and another process waits for it meanwhile; a
    process that stops keeping it (it died) loses it after the timeout."""
    import threading
    import time

    from callcenter.store.shared_state import SharedState

    prefix = f"t-{uuid.uuid4().hex[:8]}"
    one = SharedState(RedisStore(redis_server.url, prefix=prefix), "one", lock_timeout=0.3)
    two = SharedState(RedisStore(redis_server.url, prefix=prefix), "two", lock_timeout=0.3)
    holding: list[str | None] = [None]
    threading.Thread(target=one.keep, args=(lambda: holding[0], time.sleep), daemon=True).start()
    one.begin("step-1", time.sleep)
    holding[0] = "step-1"
    time.sleep(0.9)  # three timeouts
    waited = time.monotonic()
    taken: list[int] = []
    other = threading.Thread(target=lambda: taken.append(two.begin("step-2", time.sleep)))
    other.start()
    time.sleep(0.2)
    assert not taken, "the lock is still the long step's"
    assert one.end("step-1", {"agent:a:x": '{"state": "in_call"}'}) == 1
    holding[0] = None
    other.join(5)
    assert taken == [1] and time.monotonic() - waited < 1.0
    assert two.load(None)[1] == {"agent:a:x": '{"state": "in_call"}'}
    # Nobody keeps step-2's lock: after the timeout it is gone, and its late end writes nothing.
    time.sleep(0.5)
    assert two.end("step-2", {"agent:a:x": None}) is None
    assert one.load(None)[1] == {"agent:a:x": '{"state": "in_call"}'}
