"""What several server processes on one Redis share besides the store's calls, lines and sessions:
one lock for their steps, the live state those steps change, which processes are alive, and a
channel between them (docs/deploy.md, "Several processes").

The contact center's queues and agents, the resume streams and the timers are kept by each process
in memory, and in Redis as entries (one per agent, queue call, finished call, session stream, and
one for the rest) in one hash, with a version number. A step holds ``lock``, reads the version
(one ``GET``), loads only the entries changed since the version it holds (a sorted set notes the
version that last changed each entry), and saves only the entries it changed, the version bumped
in the same script. A process that dies holding the lock holds it for ``LOCK_TIMEOUT`` seconds
at most.

Each process beats (``beat``: a key with a time to live) and lists the connections it holds; a
process whose beat ran out is claimed by exactly one survivor (``SREM`` answers 1 to one caller),
which takes its connections' sessions over (``take_sessions``).

``publish``/``listen`` carry what one process must tell another's connections (an event, a
disconnection): one pub/sub channel per process, so that a process hears only what is for it.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any

from callcenter.domain.store import StoreUnavailable
from callcenter.store.redis import UNREACHABLE, RedisStore

log = logging.getLogger("callcenter.store.shared_state")

# The longest a step may hold the processes' lock: a process killed holding it stalls the others
# this long. Steps take milliseconds (a delivery to a thousand agents, ~0.1 s).
LOCK_TIMEOUT = 2.0
# How many versions of changes are noted; a process further behind loads every entry.
CHANGES_KEPT = 100_000

# Take the lock (KEYS[1]) for ARGV[1], for ARGV[2] ms, if it is free; the version (KEYS[2]) then,
# or -1. One round trip for what every step begins with.
BEGIN = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
    return tonumber(redis.call('GET', KEYS[2]) or '0')
end
return -1
"""

# If the lock (KEYS[1]) is still ARGV[1]'s: bump the version (KEYS[2]) when there are changes,
# write (or, given "", delete) each entry (KEYS[3]), note the version that changed it (KEYS[4]),
# give the lock up; the version. -1, changing nothing, if the lock expired and may be another's.
END = f"""
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
    return -1
end
local version = tonumber(redis.call('GET', KEYS[2]) or '0')
if #ARGV > 1 then
    version = redis.call('INCR', KEYS[2])
    for i = 2, #ARGV, 2 do
        if ARGV[i + 1] == '' then
            redis.call('HDEL', KEYS[3], ARGV[i])
        else
            redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 1])
        end
        redis.call('ZADD', KEYS[4], version, ARGV[i])
    end
    redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', version - {CHANGES_KEPT})
end
redis.call('DEL', KEYS[1])
return version
"""

# Keep the lock (KEYS[1]) ARGV[1]'s for ARGV[2] ms more, if it still is: 1, else 0.
EXTEND = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""

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
        self._entries_key = f"{prefix}:shared:entries"
        self._changes_key = f"{prefix}:shared:changes"
        self._version_key = f"{prefix}:shared:version"
        self._begin = self.redis.register_script(BEGIN)
        self._end = self.redis.register_script(END)
        self._extend = self.redis.register_script(EXTEND)
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

    def begin(self, token: str, sleep: Callable[[float], Any]) -> int:
        """Take the steps' lock as ``token``, waiting for another holder up to a second longer
        than it can hold it; the version of the shared state then."""
        deadline = time.monotonic() + self.lock_timeout + 1
        args = [token, int(self.lock_timeout * 1000)]
        wait = 0.0005
        while True:
            version = int(self.store._run(lambda: self._begin(
                keys=[self._lock_key, self._version_key], args=args)))
            if version >= 0:
                return version
            if time.monotonic() > deadline:
                raise StoreUnavailable("another server process holds the live state; try again")
            # Asking again at once would spend both processes' CPU on asking: a step takes
            # a few milliseconds, so the waits grow to that.
            sleep(wait)
            wait = min(wait * 2, 0.004)

    def keep(self, holding: Callable[[], str | None], sleep: Callable[[float], Any]) -> None:
        """Run for the process's life (a background task): every third of the timeout, extend
        the lock the step running now holds (``holding()``: its token, None between steps). A
        step that outlasts the timeout (a burst at saturation, a slow Redis) so keeps the lock
        and its changes; only a process that stops running loses it, after the timeout."""
        while True:
            sleep(self.lock_timeout / 3)
            token = holding()
            if token is None:
                continue
            try:
                self._extend(keys=[self._lock_key], args=[token, int(self.lock_timeout * 1000)])
            except Exception:  # Redis is away: the step's end says so, the next beat tries
                log.debug("could not extend the shared lock", exc_info=True)

    def end(self, token: str, changes: dict[str, str | None]) -> int | None:
        """Write the step's changed entries (None: delete), bump the version if there are any,
        give the lock up: the version now. None, with nothing written, if the lock expired
        before the step ended (it may be another process's now)."""
        args: list[str] = [token]
        for field, text in changes.items():
            args += [field, "" if text is None else text]
        version = int(self.store._run(lambda: self._end(
            keys=[self._lock_key, self._version_key, self._entries_key, self._changes_key],
            args=args)))
        if version < 0:
            log.warning("the shared lock expired before the step ended (over %g s): its "
                        "changes to the shared state are dropped", self.lock_timeout)
            return None
        return version

    def load(self, since: int | None) -> tuple[int, dict[str, str | None], bool]:
        """The entries changed after version ``since`` (text, or None: deleted), with the
        current version, and whether that is every entry (``since`` None, or too far behind)."""
        def read() -> tuple[int, dict[str, str | None], bool]:
            version = int(self.redis.get(self._version_key) or 0)
            if since is None or version - since >= CHANGES_KEPT:
                pipe = self.redis.pipeline(transaction=True)
                pipe.get(self._version_key)
                pipe.hgetall(self._entries_key)
                now, entries = pipe.execute()
                return int(now or 0), dict(entries), True
            fields = self.redis.zrangebyscore(self._changes_key, f"({since}", "+inf")
            values = self.redis.hmget(self._entries_key, fields) if fields else []
            return version, dict(zip(fields, values, strict=True)), False

        return self.store._run(read)

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
