"""`[store] url`: the memory store by default, Redis by URL, and a clear line for a bad URL."""

from __future__ import annotations

import pytest

from callcenter.config import ConfigError, parse

SECRET = "s" * 40


def store_error(url: str) -> str:
    with pytest.raises(ConfigError) as err:
        parse({"apps": [{"id": "demo", "secret": SECRET}], "store": {"url": url}})
    return str(err.value)


def test_the_store_is_this_process_memory_unless_a_url_names_redis():
    assert parse({"apps": [{"id": "demo", "secret": SECRET}]}).store.url == "memory://"
    for url in ("redis://127.0.0.1:6379/0", "redis://:pw@cache.internal/3", "rediss://h:1"):
        assert parse({"apps": [{"id": "demo", "secret": SECRET}],
                      "store": {"url": url}}).store.url == url


@pytest.mark.parametrize(("url", "why"), [
    ("postgresql://h/db", "the scheme must be memory, redis or rediss"),
    ("memory", "the scheme must be memory, redis or rediss"),
    ("redis://", "no host"),
    ("redis://h:99999/0", "Port out of range"),
    ("redis://h:6379/zero", "the database is a number, not 'zero'"),
    ("redis://h:6379/0?socket_timeout=1", "no query or fragment"),
])
def test_a_bad_store_url_is_one_line_naming_the_key(url: str, why: str):
    message = store_error(url)
    assert message.startswith("store.url: not a store URL like memory:// or redis://"), message
    assert why in message


def test_an_unknown_store_key_is_named():
    with pytest.raises(ConfigError, match=r"^store\.ulr: unknown key$"):
        parse({"apps": [{"id": "demo", "secret": SECRET}], "store": {"ulr": "memory://"}})
