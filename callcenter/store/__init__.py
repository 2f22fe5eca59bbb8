"""Where live state is kept: implementations of ``callcenter.domain.store.Store``.

``open_store(url)`` picks one by the URL of ``[store] url``: ``memory://`` (this process's
memory, the default) or ``redis://host:port/db`` (``rediss://`` for TLS).
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

from callcenter.domain.store import Store
from callcenter.store.memory import MemoryStore

if TYPE_CHECKING:
    from callcenter.store.shared_state import SharedState

MEMORY_URL = "memory://"


def open_store(url: str) -> Store:
    """The store ``url`` names; connects lazily (``Store.ping`` tells whether it is reachable)."""
    if url == MEMORY_URL:
        return MemoryStore()
    # Imported here: a server on the memory store never loads redis-py.
    from callcenter.store.redis import RedisStore

    return RedisStore(url)


def open_shared_state(store: Store, node: str) -> SharedState | None:
    """What processes on a shared store share besides it (``shared_state.SharedState``), for
    the process named ``node``; None on the memory store, which no other process can reach."""
    if isinstance(store, MemoryStore):
        return None
    from callcenter.store.shared_state import SharedState

    return SharedState(store, node)  # type: ignore[arg-type]


def redacted(url: str) -> str:
    """``url`` with its password replaced by ``***``, for logs and error lines."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host += f":{parts.port}"
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))


__all__ = ["MEMORY_URL", "MemoryStore", "open_shared_state", "open_store", "redacted"]
