"""The live-state store's contract, held by every implementation: the memory store and the Redis
store (against a real redis-server) answer each behaviour the same way."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator

import pytest

from callcenter.domain.call import Call, CallType, EndReason, Leg
from callcenter.domain.calls import Limits, Switchboard
from callcenter.domain.store import MISSED_CALLS_KEPT, Store
from callcenter.store import MemoryStore
from callcenter.store.redis import RedisStore


def redis_store(url: str) -> RedisStore:
    """A store with keys of its own on the session's Redis."""
    return RedisStore(url, prefix=f"cc-test-{uuid.uuid4().hex[:10]}")


@pytest.fixture(params=["memory", "redis"])
def store(request: pytest.FixtureRequest) -> Iterator[Store]:
    if request.param == "memory":
        yield MemoryStore()
        return
    made = redis_store(request.getfixturevalue("redis_server").url)
    yield made
    made.close()


def a_call(call_id: str = "c1", app_id: str = "a") -> Call:
    return Call(id=call_id, app_id=app_id, sponsor="alice", type=CallType.VIDEO, group=False,
                timeout=30, created_at=1_700_000_000.25, data={"note": "é", "n": [1, 2]},
                legs={"alice": Leg.JOINED, "bob": Leg.RINGING}, answered_at=None,
                queue="sales")


def test_binding_a_session_returns_the_one_it_replaced(store: Store):
    assert store.session_of("a", "alice") is None
    assert store.bind_session("a", "alice", "s1") is None
    assert store.bind_session("a", "alice", "s2") == "s1"
    assert store.session_of("a", "alice") == "s2"


def test_a_session_is_unbound_only_by_the_connection_it_still_belongs_to(store: Store):
    store.bind_session("a", "alice", "s1")
    store.bind_session("a", "alice", "s2")  # logged in again elsewhere
    assert store.unbind_session("a", "alice", "s1") is False  # the old one's logout
    assert store.session_of("a", "alice") == "s2"
    assert store.unbind_session("a", "alice", "s2") is True
    assert store.session_of("a", "alice") is None
    assert store.unbind_session("a", "alice", "s2") is False


def test_a_line_is_claimed_once_and_released_only_by_its_call(store: Store):
    assert store.claim_line("a", "bob", "c1") is True
    assert store.claim_line("a", "bob", "c2") is False
    assert store.line_of("a", "bob") == "c1"
    store.release_line("a", "bob", "c2")  # not its call: nothing happens
    assert store.line_of("a", "bob") == "c1"
    store.release_line("a", "bob", "c1")
    assert store.line_of("a", "bob") is None
    assert store.claim_line("a", "bob", "c2") is True


def test_a_call_comes_back_as_it_was_stored(store: Store):
    call = a_call()
    store.put_call(call)
    assert store.get_call("a", "c1") == call
    call.legs["bob"] = Leg.JOINED
    call.answered_at, call.ended_at, call.end_reason = 1_700_000_001.5, 1_700_000_009.0, \
        EndReason.HANGUP
    store.put_call(call)
    again = store.get_call("a", "c1")
    assert again == call and again.legs["bob"] is Leg.JOINED \
        and again.end_reason is EndReason.HANGUP
    store.delete_call("a", "c1")
    assert store.get_call("a", "c1") is None
    store.delete_call("a", "c1")  # deleting what is gone is no error


def test_missed_calls_are_capped_and_handed_out_once(store: Store):
    for i in range(MISSED_CALLS_KEPT + 5):
        store.add_missed("a", "carol", {"callId": f"c{i}", "from": "alice", "at": float(i)})
    missed = store.take_missed("a", "carol")
    # The newest are kept, oldest first.
    assert [m["callId"] for m in missed] == [f"c{i}" for i in range(5, MISSED_CALLS_KEPT + 5)]
    assert missed[0] == {"callId": "c5", "from": "alice", "at": 5.0}
    assert store.take_missed("a", "carol") == []


def test_apps_never_see_each_others_sessions_lines_calls_or_missed_calls(store: Store):
    store.bind_session("a", "alice", "s1")
    store.claim_line("a", "alice", "c1")
    store.put_call(a_call("c1", "a"))
    store.add_missed("a", "alice", {"callId": "c0"})
    assert store.session_of("b", "alice") is None
    assert store.line_of("b", "alice") is None
    assert store.get_call("b", "c1") is None
    assert store.take_missed("b", "alice") == []
    assert store.claim_line("b", "alice", "c9") is True  # the same user id in another app
    assert store.bind_session("b", "alice", "s9") is None
    assert store.unbind_session("b", "alice", "s1") is False
    assert store.session_of("a", "alice") == "s1" and store.line_of("a", "alice") == "c1"


def test_a_transaction_holds_its_key_against_another_thread(store: Store):
    inside: list[str] = []
    overlap = threading.Event()

    def step(name: str) -> None:
        with store.transaction("a:c1"):
            inside.append(name)
            if len(inside) > 1:
                overlap.set()
            time.sleep(0.05)
            inside.remove(name)

    threads = [threading.Thread(target=step, args=(f"t{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert not overlap.is_set()


def test_the_store_answers_a_ping(store: Store):
    store.ping()


def test_redis_keys_are_namespaced_by_prefix_and_app(redis_server):
    store = redis_store(redis_server.url)
    store.bind_session("a", "alice", "s1")
    store.claim_line("b", "alice", "c1")
    store.put_call(a_call("c1", "b"))
    store.add_missed("b", "bob", {"callId": "c0"})
    with store.transaction("b:c1"):
        keys = set(redis_server.client().keys(store.prefix + ":*"))
    assert keys == {f"{store.prefix}:{{a}}:session:alice", f"{store.prefix}:{{b}}:line:alice",
                    f"{store.prefix}:{{b}}:call:c1", f"{store.prefix}:{{b}}:missed:bob",
                    f"{store.prefix}:{{b}}:lock:c1"}
    # The lock is gone with the transaction.
    assert not redis_server.client().exists(f"{store.prefix}:{{b}}:lock:c1")
    # Two stores with different prefixes share nothing, even on one database.
    assert redis_store(redis_server.url).session_of("a", "alice") is None


def test_a_transaction_lock_left_by_a_dead_process_expires(redis_server):
    store = redis_store(redis_server.url)
    store.lock_timeout = 0.5
    # What a process that died inside a step leaves behind: its lock, with the lock's expiry.
    redis_server.client().set(f"{store.prefix}:{{a}}:lock:c1", "dead-token", px=500)
    started = time.monotonic()
    with store.transaction("a:c1"):
        waited = time.monotonic() - started
    assert 0.2 < waited < 2


def test_a_call_that_ends_at_its_invitation_is_not_left_in_the_store(store: Store):
    """Every invitee offline or busy: the call ends in the invite step, and the store forgets it
    like any ended call (it used to be stored before it ended, and stay, not ended, for good)."""
    board = Switchboard(store, Limits(), time.time)
    store.bind_session("a", "alice", "s1")
    store.bind_session("a", "bob", "s2")
    store.claim_line("a", "bob", "other-call")
    busy = board.invite("a", "alice", ["bob"], 1, 30, False, None)
    offline = board.invite("a", "alice", ["carol"], 1, 30, False, None)
    for out in (busy, offline):
        assert out.ended_call is not None
        assert store.get_call("a", out.reply["callId"]) is None
    assert store.line_of("a", "alice") is None


def test_more_callers_at_once_than_redis_connections_wait_for_one(redis_server):
    """Under eventlet every waiting request holds a connection: a burst larger than the pool
    waits its turn rather than failing (which would read as Redis being gone)."""
    store = RedisStore(redis_server.url, prefix=f"cc-test-{uuid.uuid4().hex[:10]}",
                       max_connections=2)
    failures: list[Exception] = []

    def call() -> None:
        try:
            # A command that holds its connection a while (as a slow Redis would), then ours.
            store.redis.blpop([f"{store.prefix}:nothing"], timeout=0.1)
            store.ping()
        except Exception as exc:  # noqa: BLE001 - any failure is the finding
            failures.append(exc)

    threads = [threading.Thread(target=call) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert failures == []
