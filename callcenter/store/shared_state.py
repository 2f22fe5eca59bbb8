"""What several server processes on one Redis share besides the store's calls, lines and sessions:
one lock for their steps, the live state those steps change, which processes are alive, and a
channel between them (docs/deploy.md, "Several processes").

The contact center's queues and agents, the resume streams and the timers are kept by each process
in memory, as one JSON document (``load``/``save``) with a version number. A step holds ``lock``,
reads the version (one ``GET``), loads the document only when another process has saved since,
and saves it, with the version bumped in the same ``MULTI``, when it changed anything. A process
that dies holding the lock holds it for ``LOCK_TIMEOUT`` seconds at most.

Each process beats (``beat``: a key with a time to live) and lists the connections it holds; a
process whose beat ran out is claimed by exactly one survivor (``SREM`` answers 1 to one caller),
which takes its connections' sessions over (``take_sessions``).

``publish``/``listen`` carry what one process must tell another's connections (an event, a
disconnection): one pub/sub channel per process, so that a process hears only what is for it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from redis.exceptions import LockError, LockNotOwnedError

from callcenter.domain.store import StoreUnavailable
from callcenter.store.redis import UNREACHABLE, RedisStore

log = logging.getLogger("callcenter.store.shared_state")

# The longest a step may hold the processes' lock: a process killed holding it stalls the others
# this long. Steps take milliseconds (a delivery to a thousand agents, ~0.1 s).
LOCK_TIMEOUT = 2.0
# A process that stops beating for this long is taken to be dead: well above a tick (1 s) and a
# long garbage-collection pause, well below the resume window (30 s) its clients wait in.
BEAT_TTL = 4.0


class SharedState:
    """The parts of live state that every process on ``store``'s Redis shares (module doc)."""

    beat_ttl = BEAT_TTL

    def __init__(self, store: RedisStore, node: str, lock_timeout: float = LOCK_TIMEOUT) -> None:
        self.store = store
        self.redis = store.redis
        self.node = node
        self.lock_timeout = lock_timeout
        prefix = store.prefix
        self._lock_key = f"{prefix}:shared:lock"
        self._state_key = f"{prefix}:shared:state"
        self._version_key = f"{prefix}:shared:version"
        self._nodes_key = f"{prefix}:nodes"
        self._sids_key = f"{prefix}:sids"  # sid -> the process holding that connection
        self._prefix = prefix

    def _beat_key(self, node: str) -> str:
        return f"{self._prefix}:node:{node}:beat"

    def _sessions_key(self, node: str) -> str:
        return f"{self._prefix}:node:{node}:sessions"

    def channel(self, node: str) -> str:
        return f"{self._prefix}:node:{node}:relay"

    # -- the steps' lock and the state they change ---------------------------------------------

    @contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the lock every process's steps take, for the block."""
        lock = self.redis.lock(self._lock_key, timeout=self.lock_timeout, sleep=0.001,
                               blocking_timeout=self.lock_timeout + 1, thread_local=False)
        try:
            acquired = self.store._run(lock.acquire)
        except LockError:
            acquired = False
        if not acquired:
            raise StoreUnavailable("another server process holds the live state; try again")
        try:
            yield
        finally:
            try:
                self.store._run(lock.release)
            except LockNotOwnedError:
                log.warning("the shared lock expired before the step ended (over %g s)",
                            self.lock_timeout)
            except StoreUnavailable:
                pass  # it expires on its own

    def version(self) -> int:
        """The version of the shared state: bumped by every ``save``."""
        return int(self.store._run(lambda: self.redis.get(self._version_key)) or 0)

    def load(self) -> tuple[int, str | None]:
        """The shared state as saved last, with its version (``None``: nothing saved yet)."""
        def read() -> list[Any]:
            pipe = self.redis.pipeline(transaction=True)
            pipe.get(self._version_key)
            pipe.get(self._state_key)
            return pipe.execute()

        version, text = self.store._run(read)
        return int(version or 0), text

    def save(self, text: str) -> int:
        """Replace the shared state; its new version. Callers hold ``lock``."""
        def write() -> list[Any]:
            pipe = self.redis.pipeline(transaction=True)
            pipe.set(self._state_key, text)
            pipe.incr(self._version_key)
            return pipe.execute()

        return int(self.store._run(write)[1])

    def live_calls(self) -> frozenset[tuple[str, str]]:
        """(app id, call id) of every call in the store now."""
        return self.store.live_calls()

    # -- which processes are alive, and the connections each holds -----------------------------

    def beat(self) -> None:
        """This process is alive, for ``BEAT_TTL`` seconds more."""
        def write() -> None:
            pipe = self.redis.pipeline(transaction=True)
            pipe.set(self._beat_key(self.node), "1", px=int(BEAT_TTL * 1000))
            pipe.sadd(self._nodes_key, self.node)
            pipe.execute()

        self.store._run(write)

    def retire(self) -> None:
        """This process stops now: the next tick of another takes its connections over."""
        self.store._run(lambda: self.redis.delete(self._beat_key(self.node)))

    def dead_nodes(self) -> list[str]:
        """The other processes that stopped beating and that this one has claimed: each dead
        process is claimed by one survivor only."""
        nodes = self.store._run(lambda: self.redis.smembers(self._nodes_key))
        dead = []
        for node in sorted(nodes):
            if node == self.node:
                continue
            if self.store._run(lambda n=node: self.redis.exists(self._beat_key(n))):
                continue
            if self.store._run(lambda n=node: self.redis.srem(self._nodes_key, n)):
                dead.append(node)
        return dead

    def add_session(self, sid: str, session: dict[str, Any]) -> None:
        """This process holds the connection ``sid`` of ``session`` (app id, user id, role)."""
        text = json.dumps(session, separators=(",", ":"))

        def write() -> None:
            pipe = self.redis.pipeline(transaction=True)
            pipe.hset(self._sessions_key(self.node), sid, text)
            pipe.hset(self._sids_key, sid, self.node)
            pipe.execute()

        self.store._run(write)

    def remove_session(self, sid: str) -> None:
        def write() -> None:
            pipe = self.redis.pipeline(transaction=True)
            pipe.hdel(self._sessions_key(self.node), sid)
            pipe.hdel(self._sids_key, sid)
            pipe.execute()

        self.store._run(write)

    def node_of(self, sid: str) -> str | None:
        """The process holding the connection ``sid``, if one does."""
        return self.store._run(lambda: self.redis.hget(self._sids_key, sid))

    def take_sessions(self, node: str) -> dict[str, dict[str, Any]]:
        """The connections a dead process held, by sid; forgotten as they are handed out."""
        def take() -> list[Any]:
            pipe = self.redis.pipeline(transaction=True)
            pipe.hgetall(self._sessions_key(node))
            pipe.delete(self._sessions_key(node))
            return pipe.execute()

        sessions = {sid: json.loads(text) for sid, text in self.store._run(take)[0].items()}
        if sessions:
            self.store._run(lambda: self.redis.hdel(self._sids_key, *sessions))
        return sessions

    # -- a channel to every other process --------------------------------------------------------

    def publish(self, node: str, message: dict[str, Any]) -> int:
        """Send ``message`` to the process ``node``; how many processes heard it (0 or 1)."""
        text = json.dumps(message, separators=(",", ":"))
        return int(self.store._run(lambda: self.redis.publish(self.channel(node), text)))

    def listen(self, handle: Callable[[dict[str, Any]], None],
               sleep: Callable[[float], Any]) -> None:
        """Hand every message sent to this process to ``handle``, forever (a background task).
        A lost connection is opened again; what was sent meanwhile is lost (pub/sub keeps
        nothing), which the resume replay covers for events."""
        while True:
            pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
            try:
                pubsub.subscribe(self.channel(self.node))
                for item in pubsub.listen():
                    if item.get("type") != "message":
                        continue
                    try:
                        handle(json.loads(item["data"]))
                    except Exception:
                        log.exception("a message from another process failed")
            except UNREACHABLE:
                sleep(0.5)
            finally:
                try:
                    pubsub.close()
                except UNREACHABLE:
                    pass
