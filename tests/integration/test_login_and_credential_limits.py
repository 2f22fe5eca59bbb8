"""Rate limits of the public HTTP endpoints against real servers: agent logins count failures
only, per account and address (an office behind one NAT logs in; a guessed account is locked, its
colleagues are not); customer credentials are limited per client, seen through trusted proxies."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from contact_center_helpers import ORIGIN, PASSWORD, agent, demo_extra, extra_toml, queue

pytestmark = pytest.mark.timeout(60)


def refused(response: requests.Response, status: int) -> str:
    assert response.status_code == status, (response.status_code, response.text)
    body = response.json()
    assert body["ok"] is False and body["error"]["message"], body
    return body["error"]["code"]


def login(server: Any, agent_id: str, password: str = PASSWORD,
          headers: dict[str, str] | None = None) -> requests.Response:
    return requests.post(server.url + "/api/agent-login", json={
        "appId": "demo", "agentId": agent_id, "password": password},
        headers=headers or {}, timeout=10)


def test_a_whole_office_behind_one_address_logs_in_past_the_login_rate(server_factory):
    agents = [agent(f"office{i}", ["q"]) for i in range(20)]
    server = server_factory(demo_extra=demo_extra([queue("q")], agents),
                            extra=extra_toml(contact_center={"agent_login_rate": "10/minute"}))
    statuses = [login(server, f"office{i}").status_code for i in range(20)]
    assert statuses == [200] * 20
    # and once more each, as after a reload of every console
    assert [login(server, f"office{i}").status_code for i in range(20)] == [200] * 20


def test_failed_logins_lock_that_account_from_that_address_and_no_other(server_factory):
    server = server_factory(
        demo_extra=demo_extra([queue("q")], [agent("target", ["q"]), agent("colleague", ["q"])]),
        extra=extra_toml(contact_center={"agent_login_rate": "10/minute"}))
    statuses = [login(server, "target", f"guess-{i}").status_code for i in range(11)]
    assert statuses == [401] * 10 + [429], statuses
    assert refused(login(server, "target", "guess-x"), 429) == "RATE_LIMITED"
    # locked: even the right password is refused now (a guesser learns nothing from the answer)
    assert refused(login(server, "target"), 429) == "RATE_LIMITED"
    # a colleague at the same address is not held up
    assert login(server, "colleague").status_code == 200
    # nor are unknown ids a way to lock anyone else: each is its own account
    assert login(server, "colleague", "wrong").status_code == 401
    assert login(server, "colleague").status_code == 200


def credential(server: Any, forwarded_for: str) -> int:
    return requests.post(server.url + "/api/customer-credential", json={"appId": "demo"},
                         headers={"Origin": ORIGIN, "X-Forwarded-For": forwarded_for},
                         timeout=10).status_code


def server_keys(rate_limit: str = "200/second", **keys: Any) -> str:
    """The `rate_limit` argument of the server fixtures, followed by more keys of `[server]`:
    the base config (tests/conftest.py) has no other slot inside that table."""
    more = "".join(f"\n{key} = {value}" for key, value in keys.items())
    return f'{rate_limit}"{more}\n# "'


@pytest.mark.parametrize("trusted", [1, 0])
def test_customer_credentials_are_limited_per_client_seen_through_trusted_proxies(
        server_factory, trusted):
    server = server_factory(
        demo_extra=demo_extra([queue("q")], [], allowed_origins=[ORIGIN]),
        extra=extra_toml(contact_center={"customer_credential_rate": "2/minute"}),
        rate_limit=server_keys(trusted_proxies=trusted))
    first = [credential(server, "203.0.113.1") for _ in range(3)]
    assert first == [200, 200, 429]
    second = [credential(server, "203.0.113.2") for _ in range(2)]
    if trusted:
        assert second == [200, 200]  # another client behind the same proxy
    else:
        assert second == [429, 429]  # the header is ignored: everyone is 127.0.0.1
