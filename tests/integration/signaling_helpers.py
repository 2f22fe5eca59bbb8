"""Helpers shared by the integration tests (named apart from other folders' helper modules)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from callcenter.client.call_client import CallClient


def unique(name: str) -> str:
    """A user id unique to this run: `name_1a2b3c4d` (at most 32 characters)."""
    return f"{name[:23]}_{uuid.uuid4().hex[:8]}"


async def in_call(caller: CallClient, callee: CallClient, type: int = 2) -> str:
    """Bring two logged-in clients into a joined 1:1 call; consume the setup events."""
    call_id = await caller.call(callee.user_id, type)
    await callee.next_event("invited", callId=call_id)
    await callee.accept(call_id)
    await caller.next_event("user_accept", callId=call_id, userID=callee.user_id)
    await caller.next_event("user_enter", callId=call_id, userID=callee.user_id)
    return call_id


async def no_event(client: CallClient, name: str | None = None, within: float = 0.5,
                   **match: Any) -> None:
    """Wait `within` seconds, then fail if `client` has an event `name` (any event if None)
    pending that matches `match`."""
    await asyncio.sleep(within)
    unexpected = client.pending(name, **match)
    assert not unexpected, (f"{client.user_id}: unexpected events "
                            f"{[(e.name, e.data) for e in unexpected]}")
