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
