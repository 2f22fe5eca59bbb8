"""Where live state is kept: implementations of ``callcenter.domain.store.Store``."""

from callcenter.store.memory import MemoryStore

__all__ = ["MemoryStore"]
