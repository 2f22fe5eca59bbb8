"""Live state in Redis (``callcenter.domain.store.Store``), shared by every process that uses it.

Each operation that must hold across processes is one Redis command or one Lua script, never a
read-then-write in Python: a session is bound with ``SET ... GET``, a line claimed with
``SET NX``, unbinding and releasing are compare-and-delete scripts, missed calls are a capped list
(``RPUSH`` + ``LTRIM``) handed out by ``MULTI`` (``LRANGE``, ``DEL``). Calls are kept whole as
JSON (``Call.to_state``). ``transaction(key)`` is a Redis lock with a timeout, so a process that
dies holding it blocks that call for at most ``lock_timeout`` seconds.

Keys are ``<prefix>:{<app id>}:<kind>:<id>``: one app's keys never meet another's, and the hash
tag (the braces) keeps an app's keys in one slot should the data ever move to Redis Cluster.

A Redis that cannot be reached (refused, reset, timed out) raises ``StoreUnavailable``, and is
logged once per outage as one warning line; the first command that works again logs that it is
back. Under eventlet (``callcenter serve`` monkey-patches before this module is imported)
redis-py's sockets are green: a greenlet waiting on Redis lets the others run, and the connection
pool hands each its own connection.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import redis
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import LockError, LockNotOwnedError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

from callcenter.domain.call import Call
from callcenter.domain.store import MISSED_CALLS_KEPT, StoreUnavailable
from callcenter.store import redacted

log = logging.getLogger("callcenter.store.redis")

T = TypeVar("T")

# Delete KEYS[1] only if it still holds ARGV[1]: a session or line is given up only by its owner,
# even when another process has taken it over meanwhile.
COMPARE_AND_DELETE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('DEL', KEYS[1])
end
return 0
"""

# What redis-py raises when Redis is not there (refused, reset, closed, timed out). Anything else
# (a wrong command, a full Redis) is a fault and travels as it is.
UNREACHABLE = (RedisConnectionError, RedisTimeoutError)


class RedisStore:
    """Sessions, lines, calls and missed calls in one Redis database, for every process using it.

    ``prefix`` starts every key (tests give each store its own). ``socket_timeout`` bounds each
    command, ``connect_timeout`` each connection attempt: a Redis that is gone is noticed in that
    time and the request answered ``UNAVAILABLE`` rather than left hanging. ``lock_timeout`` is
    the longest a ``transaction`` may hold its key (steps take milliseconds).
    """

    def __init__(self, url: str, prefix: str = "cc", socket_timeout: float = 2.0,
                 connect_timeout: float = 1.0, lock_timeout: float = 5.0,
                 max_connections: int = 64) -> None:
        self.url = url
        self.prefix = prefix
        self.lock_timeout = lock_timeout
        # One retry, at once, on a connection error only: a connection Redis closed (it
        # restarted) fails before the command reached it, and the retry opens a new one. Never
        # on a timeout: the command may have run, and running SET NX or RPUSH twice would
        # answer wrong (a line we hold reported busy) or add twice.
        # A blocking pool: more greenlets waiting on Redis at once than it has connections wait
        # for one (up to socket_timeout) instead of failing with "Too many connections", which
        # would read as Redis being gone.
        pool = redis.BlockingConnectionPool.from_url(
            url, max_connections=max_connections, timeout=socket_timeout,
            decode_responses=True, socket_timeout=socket_timeout,
            socket_connect_timeout=connect_timeout,
            retry=Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
            health_check_interval=0)
        self.redis = redis.Redis(connection_pool=pool)
        self._compare_and_delete = self.redis.register_script(COMPARE_AND_DELETE)
        # "new" until Redis first answers (serve's start-up check says itself why it cannot
        # start), then "up"; "lost" once an outage was logged, until a command works again.
        self._state = "new"
        self._when_back: list[Callable[[], None]] = []

    # -- keys ------------------------------------------------------------------------------

    def _key(self, app_id: str, kind: str, name: str) -> str:
        return f"{self.prefix}:{{{app_id}}}:{kind}:{name}"

    def _lock_key(self, key: str) -> str:
        # The domain's transaction keys are "<app>:<call or user>": the app goes in the hash tag.
        app_id, _, rest = key.partition(":")
        return self._key(app_id, "lock", rest)

    # -- reaching Redis --------------------------------------------------------------------

    def _run(self, command: Callable[[], T]) -> T:
        """Run ``command``; Redis out of reach becomes ``StoreUnavailable``, logged once."""
        try:
            result = command()
        except UNREACHABLE as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            if self._state == "up":
                self._state = "lost"
                log.warning("the store %s is unreachable (%s): requests are answered "
                            "UNAVAILABLE until it is back", redacted(self.url), reason)
            raise StoreUnavailable(reason=reason) from None
        if self._state == "lost":
            self._state = "up"
            log.info("the store %s is reachable again", redacted(self.url))
            for callback in self._when_back:
                callback()
        self._state = "up"
        return result

    def ping(self) -> None:
        """Raise ``StoreUnavailable`` unless Redis answers a PING now."""
        self._run(self.redis.ping)

    def when_back(self, callback: Callable[[], None]) -> None:
        """``callback()`` each time a command works again after an outage was logged."""
        self._when_back.append(callback)

    def close(self) -> None:
        """Close the pool's connections (tests, benchmarks)."""
        self.redis.close()

    # -- transactions ----------------------------------------------------------------------

    @contextmanager
    def transaction(self, key: str) -> Iterator[None]:
        """Hold the lock of ``key`` (a call or a user) for the block, against every process.

        Waits for another holder up to a second longer than ``lock_timeout``, the lock's
        expiry: long enough to outlast a holder that died. If the block outlives the expiry, the
        lock may have passed to someone else: that is logged, and the block's changes stand
        (each of them was one atomic command)."""
        lock = self.redis.lock(self._lock_key(key), timeout=self.lock_timeout, sleep=0.005,
                               blocking_timeout=self.lock_timeout + 1, thread_local=False)
        try:
            acquired = self._run(lock.acquire)
        except LockError:
            acquired = False
        if not acquired:
            raise StoreUnavailable("the call is held by another server process; try again")
        try:
            yield
        finally:
            try:
                self._run(lock.release)
            except LockNotOwnedError:
                log.warning("the lock of %s expired before its step ended (over %g s)", key,
                            self.lock_timeout)
            except StoreUnavailable:
                pass  # it expires on its own; the outage is logged already

    # -- sessions --------------------------------------------------------------------------

    def bind_session(self, app_id: str, user_id: str, sid: str) -> str | None:
        """Make ``sid`` the user's session and return the one it replaced: one ``SET ... GET``,
        so of two logins racing, each learns of the other and exactly one ends up bound."""
        return self._run(lambda: self.redis.set(self._key(app_id, "session", user_id), sid,
                                                get=True))

    def restore_session(self, app_id: str, user_id: str, sid: str) -> bool:
        """Bind ``sid`` if the user has no session: ``SET NX``, never undoing a newer login."""
        return bool(self._run(lambda: self.redis.set(self._key(app_id, "session", user_id), sid,
                                                     nx=True)))

    def unbind_session(self, app_id: str, user_id: str, sid: str) -> bool:
        """Forget the user's session if it is still ``sid`` (a script: a newer login elsewhere
        is never undone by the old connection's logout)."""
        key = self._key(app_id, "session", user_id)
        return bool(self._run(lambda: self._compare_and_delete(keys=[key], args=[sid])))

    def session_of(self, app_id: str, user_id: str) -> str | None:
        return self._run(lambda: self.redis.get(self._key(app_id, "session", user_id)))

    # -- lines -----------------------------------------------------------------------------

    def claim_line(self, app_id: str, user_id: str, call_id: str) -> bool:
        """Take the user's line for ``call_id`` if it is free: ``SET NX``, so of any number of
        processes claiming it at once exactly one gets it."""
        return bool(self._run(lambda: self.redis.set(self._key(app_id, "line", user_id),
                                                     call_id, nx=True)))

    def release_line(self, app_id: str, user_id: str, call_id: str) -> None:
        """Free the user's line if ``call_id`` holds it (a script: a call never frees the line
        another call has taken since)."""
        key = self._key(app_id, "line", user_id)
        self._run(lambda: self._compare_and_delete(keys=[key], args=[call_id]))

    def line_of(self, app_id: str, user_id: str) -> str | None:
        return self._run(lambda: self.redis.get(self._key(app_id, "line", user_id)))

    # -- calls -----------------------------------------------------------------------------

    def put_call(self, call: Call) -> None:
        """Store the whole call as JSON (one ``SET``; callers hold its ``transaction``)."""
        state = json.dumps(call.to_state(), separators=(",", ":"))
        self._run(lambda: self.redis.set(self._key(call.app_id, "call", call.id), state))

    def get_call(self, app_id: str, call_id: str) -> Call | None:
        """The call as last stored, a fresh object each time; None if there is none."""
        state = self._run(lambda: self.redis.get(self._key(app_id, "call", call_id)))
        return None if state is None else Call.from_state(json.loads(state))

    def delete_call(self, app_id: str, call_id: str) -> None:
        self._run(lambda: self.redis.delete(self._key(app_id, "call", call_id)))

    def live_calls(self) -> frozenset[tuple[str, str]]:
        """(app id, call id) of every call stored now (a ``SCAN``, for start-up: a process
        starting beside others must not close their calls' history rows as interrupted)."""
        pattern = f"{self.prefix}:{{*}}:call:*"
        found = set()
        for key in self._run(lambda: list(self.redis.scan_iter(match=pattern, count=1000))):
            app_part, _, call_id = key[len(self.prefix) + 1:].partition("}:call:")
            found.add((app_part.lstrip("{"), call_id))
        return frozenset(found)

    # -- missed calls ----------------------------------------------------------------------

    def add_missed(self, app_id: str, user_id: str, record: dict[str, Any]) -> None:
        """Append a missed call, keeping the newest ``MISSED_CALLS_KEPT`` (``RPUSH`` and
        ``LTRIM`` in one ``MULTI``: the list never grows past the cap, even for a moment)."""
        key = self._key(app_id, "missed", user_id)
        item = json.dumps(record, separators=(",", ":"))

        def push() -> None:
            pipe = self.redis.pipeline(transaction=True)
            pipe.rpush(key, item)
            pipe.ltrim(key, -MISSED_CALLS_KEPT, -1)
            pipe.execute()

        self._run(push)

    def take_missed(self, app_id: str, user_id: str) -> list[dict[str, Any]]:
        """The user's missed calls, oldest first, and forget them (``LRANGE`` and ``DEL`` in one
        ``MULTI``): two logins at once never both get the same missed call."""
        key = self._key(app_id, "missed", user_id)

        def take() -> list[str]:
            pipe = self.redis.pipeline(transaction=True)
            pipe.lrange(key, 0, -1)
            pipe.delete(key)
            return pipe.execute()[0]

        return [json.loads(item) for item in self._run(take)]

