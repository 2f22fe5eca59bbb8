"""Fixtures for integration tests: logged-in `CallClient`s against a real server.

Tests on the module-scoped `shared_server` must not share user ids, so `clients` appends a random
suffix to every name; the client's `user_id` holds the real id.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from signaling_helpers import unique

from callcenter.client.call_client import CallClient

Login = Callable[..., Awaitable[CallClient]]


@pytest.fixture
async def clients() -> AsyncIterator[Login]:
    """`await clients(server, "alice")` → a CallClient logged in as a fresh user id.

    `user_id=` logs in as that exact id instead (to log the same user in twice); `app=` and
    `role=` choose the credential. Every client made is closed at the end of the test.
    """
    made: list[CallClient] = []

    async def login(server: Any, name: str = "user", *, user_id: str | None = None,
                    app: str = "demo", role: str = "customer") -> CallClient:
        user = user_id or unique(name)
        client = CallClient(server.url, app)
        made.append(client)
        await client.login(user, server.token(user, app=app, role=role))
        return client

    yield login
    for client in made:
        await client.close()
