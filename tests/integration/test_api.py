"""The REST API and the supervisor's live view through a real server: roles, tenants, filters,
paging, CSV, statistics, Prometheus metrics, and every kind of bad input answered clearly."""

from __future__ import annotations

import asyncio
import csv
import io
import time
from typing import Any

import pytest
import requests
from contact_center_helpers import (
    Desk,
    _start_server,
    agent,
    connect,
    demo_extra,
    enqueue,
    extra_toml,
    first_offer,
    queue,
    until_agent,
)
from werkzeug.security import generate_password_hash

from callcenter.client.call_client import CallClient, CallClientError

pytestmark = pytest.mark.timeout(60)

QUEUES = [queue("sales", wrap_up=0), queue("support", wrap_up=0)]
AGENTS = [agent("aa", ["sales"]), agent("ab", ["support"])]
SUPERVISOR_PASSWORD = "supervisor-password-1"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def srv(request, tmp_path_factory):
    """One server per database for the module, with a supervisor `boss` besides the agents."""
    supervisors = (f'[[apps.supervisors]]\nid = "boss"\nname = "Bo"\n'
                   f'password_hash = "{generate_password_hash(SUPERVISOR_PASSWORD)}"')
    url = request.getfixturevalue("postgres").new_database() \
        if request.param == "postgresql" else None
    start = _start_server(request.config)
    server = start(tmp_path_factory.mktemp("api"),
                   extra_toml(contact_center={"enqueue_rate": "1000/minute"}), "200/second",
                   True, demo_extra(QUEUES, AGENTS) + "\n\n" + supervisors, url)
    try:
        yield server
    finally:
        server.stop()
    assert "Traceback" not in server.log(), server.log()


def get(server: Any, path: str, token: str | None = None, **params: Any) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.get(server.url + path, params=params, headers=headers, timeout=10)


def supervisor(server: Any, app: str = "demo") -> str:
    return server.token("boss", app=app, role="supervisor")


def error(response: requests.Response, status: int) -> str:
    assert response.status_code == status, (response.status_code, response.text)
    body = response.json()
    assert body["ok"] is False and body["error"]["message"], body
    return body["error"]["code"]


async def answered_call(desk: Desk, queue_name: str, agent_client: CallClient,
                        talk: float = 0.1) -> str:
    customer, call_id, _ = await enqueue(desk, queue_name)
    await first_offer([agent_client], callId=call_id)
    await connect(agent_client, customer, call_id)
    await asyncio.sleep(talk)
    await customer.hangup(call_id)
    await until_agent(agent_client, state="waiting")
    return call_id


def until_calls(server: Any, count: int, timeout: float = 5, **params: Any) -> list[dict]:
    deadline = time.monotonic() + timeout
    while True:
        listed = get(server, "/api/calls", supervisor(server), limit=500, **params).json()
        ended = [c for c in listed["calls"] if c["endedAt"] is not None]
        if len(ended) >= count:
            return ended
        assert time.monotonic() < deadline, listed
        time.sleep(0.05)


@pytest.fixture(scope="module")
def history(srv):
    """Three answered sales calls (agent aa), one answered support call (ab), one abandoned."""
    async def drive() -> dict[str, Any]:
        async with Desk(srv) as desk:
            aa, ab = await desk.agents("aa", "ab")
            await until_agent(aa, state="waiting", status="available")
            await until_agent(ab, state="waiting", status="available")
            sales = [await answered_call(desk, "sales", aa) for _ in range(3)]
            support = await answered_call(desk, "support", ab)
            await desk.agent("ab", status="break")  # nobody takes the next support call
            customer, abandoned, _ = await enqueue(desk, "support")
            await asyncio.sleep(0.1)
            await customer.hangup(abandoned)
        return {"sales": sales, "support": support, "abandoned": abandoned}

    started = time.time()
    ids = asyncio.run(drive())
    until_calls(srv, 5)
    return {**ids, "from": started - 1}


def test_calls_are_listed_newest_first_and_filtered_by_queue_agent_outcome_and_time(srv, history):
    token = supervisor(srv)
    listed = get(srv, "/api/calls", token).json()["calls"]
    assert [c["joinedAt"] for c in listed] == sorted((c["joinedAt"] for c in listed),
                                                     reverse=True)
    sales = get(srv, "/api/calls", token, queue="sales").json()["calls"]
    assert sorted(c["callId"] for c in sales) == sorted(history["sales"])
    by_agent = get(srv, "/api/calls", token, agent="ab").json()["calls"]
    assert [c["callId"] for c in by_agent] == [history["support"]]
    abandoned = get(srv, "/api/calls", token, outcome="abandoned").json()["calls"]
    assert [c["callId"] for c in abandoned] == [history["abandoned"]]
    future = get(srv, "/api/calls", token, **{"from": time.time() + 60}).json()["calls"]
    assert future == []
    iso = get(srv, "/api/calls", token, **{"from": "2020-01-01T00:00:00Z"}).json()["calls"]
    assert len(iso) == len(listed)


def test_pages_follow_the_cursor_without_gaps_or_repeats(srv, history):
    token = supervisor(srv)
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = get(srv, "/api/calls", token, **params).json()
        assert len(page["calls"]) <= 2
        seen += [c["callId"] for c in page["calls"]]
        cursor = page["nextCursor"]
        if cursor is None:
            break
    everything = [c["callId"] for c in get(srv, "/api/calls", token).json()["calls"]]
    assert seen == everything and len(set(seen)) == len(seen) >= 5


def test_csv_export_has_a_header_and_one_row_per_call(srv, history):
    response = get(srv, "/api/calls.csv", supervisor(srv), queue="sales")
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert sorted(r["callId"] for r in rows) == sorted(history["sales"])
    assert all(r["outcome"] == "completed" and r["agent"] == "aa" for r in rows)
    assert all(r["joinedAt"].endswith("+00:00") for r in rows)  # ISO 8601 UTC
    # a download link carries a link signed for that URL, never the credential itself
    made = requests.post(srv.url + "/api/links", json={"path": "/api/calls.csv?queue=sales"},
                         headers={"Authorization": f"Bearer {supervisor(srv)}"}, timeout=5)
    link = requests.get(srv.url + made.json()["url"], timeout=5)
    assert link.status_code == 200
    assert sorted(r["callId"] for r in csv.DictReader(io.StringIO(link.text))) == \
        sorted(history["sales"])
    refused = requests.get(srv.url + "/api/calls.csv", params={"token": supervisor(srv)},
                           timeout=5)
    assert error(refused, 401) == "CREDENTIAL_IN_URL"


def test_one_call_comes_with_its_event_timeline(srv, history):
    call = get(srv, f"/api/calls/{history['support']}", supervisor(srv)).json()["call"]
    assert call["agent"] == "ab" and call["outcome"] == "completed"
    names = [e["event"] for e in call["events"]]
    assert names[0] == "queue.joined" and "queue.answered" in names and \
        "queue.completed" in names


def test_agents_see_only_their_own_calls(srv, history):
    token = srv.token("aa", role="agent")
    mine = get(srv, "/api/calls", token).json()["calls"]
    assert sorted(c["callId"] for c in mine) == sorted(history["sales"])
    assert error(get(srv, "/api/calls", token, agent="ab"), 403) == "FORBIDDEN"
    assert error(get(srv, f"/api/calls/{history['support']}", token), 404) == "NOT_FOUND"
    assert error(get(srv, "/api/stats", token), 403) == "FORBIDDEN"


def test_statistics_count_the_calls_driven_through_the_server(srv, history):
    body = get(srv, "/api/stats", supervisor(srv), **{"from": history["from"]}).json()
    summary = body["summary"]
    assert summary["offered"] == 5 and summary["answered"] == 4
    # the abandon lasted ~0.1 s: below the 5 s threshold, it is a short abandon
    assert summary["shortAbandoned"] == 1 and summary["abandoned"] == 0
    assert summary["serviceLevel"] == 1.0 and summary["serviceLevelDenominator"] == 4
    assert 0 < summary["asa"] < 5
    assert body["interval"] == 3600 and sum(p["offered"] for p in body["series"]) == 5
    sales = get(srv, "/api/stats", supervisor(srv), queue="sales",
                **{"from": history["from"]}).json()["summary"]
    assert sales["offered"] == 3 and sales["answered"] == 3


def test_another_tenants_ids_are_not_found_and_its_credentials_see_nothing_here(srv, history):
    other = srv.token("boss", app="other", role="supervisor")
    assert error(get(srv, f"/api/calls/{history['support']}", other), 404) == "NOT_FOUND"
    assert get(srv, "/api/calls", other).json()["calls"] == []
    assert get(srv, "/api/stats", other).json()["summary"]["offered"] == 0


@pytest.mark.parametrize("params, where", [
    ({"limit": "abc"}, "limit"),
    ({"limit": "100000"}, "limit"),
    ({"limit": "0"}, "limit"),
    ({"from": "yesterday"}, "from"),
    ({"queue": "x" * 40}, "queue"),
    ({"queue": "bad name"}, "queue"),
    ({"outcome": "DROP TABLE"}, "outcome"),
    ({"outcome": "null"}, "outcome"),
    ({"outcome": ["completed", "abandoned"]}, "outcome"),  # given twice: not half read
    ({"kind": "other"}, "kind"),
    ({"cursor": "not-a-cursor"}, "cursor"),
    ({"sort": "joinedAt"}, "sort"),
    ({"from": "2026-01-02T00:00:00Z", "to": "2026-01-01T00:00:00Z"}, "from"),
])
def test_bad_filters_get_a_clear_error_naming_the_parameter(srv, params, where):
    response = get(srv, "/api/calls", supervisor(srv), **params)
    assert error(response, 400) == "BAD_REQUEST"
    assert response.json()["error"]["message"].startswith(where), response.json()


@pytest.mark.parametrize("params", [{"interval": "1"}, {"interval": "x"},
                                    {"from": "0", "interval": "60"},
                                    {"from": "0", "interval": str(31 * 86400)}])
def test_bad_statistics_windows_get_a_clear_error(srv, params):
    assert error(get(srv, "/api/stats", supervisor(srv), **params), 400) == "BAD_REQUEST"


def test_credentials_are_required_checked_and_roles_enforced(srv):
    assert error(get(srv, "/api/calls"), 401) == "AUTH_REQUIRED"
    assert error(get(srv, "/api/calls", "forged.token.here"), 401) in (
        "BAD_CREDENTIAL", "BAD_TOKEN", "INVALID_CREDENTIAL")
    expired = srv.token("boss", role="supervisor", ttl=-10)
    assert error(get(srv, "/api/calls", expired), 401)
    customer = srv.token("c1", role="customer")
    assert error(get(srv, "/api/calls", customer), 403) == "FORBIDDEN"
    assert error(get(srv, "/api/agents", srv.token("aa", role="agent")), 403) == "FORBIDDEN"


def test_openapi_document_lists_every_api_route_and_the_docs_page_renders_it(srv):
    spec = requests.get(srv.url + "/api/openapi.json", timeout=5).json()
    assert spec["openapi"].startswith("3.")
    for path in ("/api/calls", "/api/calls.csv", "/api/calls/{callId}", "/api/agents",
                 "/api/queues", "/api/live", "/api/stats"):
        assert path in spec["paths"], path
    page = requests.get(srv.url + "/api/docs", timeout=5)
    # The page names the description relative to itself (/api/docs -> /api/openapi.json), so
    # that it works under a proxy's sub-path too (tests/browser/test_subpath.py).
    assert page.status_code == 200 and "url: 'openapi.json'" in page.text
    vendor = requests.get(srv.url + "/api/docs/vendor/swagger-ui-bundle.js", timeout=5)
    assert vendor.status_code == 200 and len(vendor.content) > 100_000


def test_agents_and_queues_show_live_state(srv, history):
    agents = get(srv, "/api/agents", supervisor(srv)).json()["agents"]
    by_id = {a["id"]: a for a in agents}
    assert set(by_id) == {"aa", "ab"} and by_id["aa"]["queues"] == ["sales"]
    queues = get(srv, "/api/queues", srv.token("aa", role="agent")).json()["queues"]
    assert [q["name"] for q in queues] == ["sales", "support"]
    assert queues[0]["live"]["waiting"] == 0


def test_prometheus_metrics_count_calls_and_show_agents_by_state(srv, history):
    text = requests.get(srv.url + "/metrics", timeout=5).text
    assert 'callcenter_queue_calls_total{app="demo",outcome="completed",queue="sales"} 3.0' \
        in text, text
    assert 'callcenter_queue_wait_seconds_count{app="demo",outcome="answered",queue="sales"} 3.0' \
        in text
    assert 'callcenter_call_talk_seconds_count{app="demo",queue="support"} 1.0' in text
    assert 'callcenter_call_setup_seconds_count{request="enqueue"}' in text
    assert 'callcenter_agents{app="demo",state=' in text
    assert "callcenter_queue_waiting" in text


async def test_a_supervisor_logs_in_and_watches_queues_live(srv):
    login = requests.post(srv.url + "/api/agent-login", json={
        "appId": "demo", "agentId": "boss", "password": SUPERVISOR_PASSWORD}, timeout=5).json()
    assert login["ok"] and login["role"] == "supervisor" and login["name"] == "Bo"
    boss = CallClient(srv.url, "demo")
    async with Desk(srv) as desk:
        await boss.login("boss", login["userSig"])
        desk.made.append(boss)
        snapshot = await boss.supervisor_watch()
        assert {q["name"] for q in snapshot["queues"]} == {"sales", "support"}
        customer, call_id, _ = await enqueue(desk, "support")
        stats = await boss.next_event("supervisor_stats", timeout=3)
        while not any(c["callId"] == call_id for c in stats["calls"]):
            stats = await boss.next_event("supervisor_stats", timeout=3)
        support = next(q for q in stats["queues"] if q["name"] == "support")
        assert support["waiting"] >= 1
        await customer.hangup(call_id)
        # agents may not watch; supervisors may not enqueue
        aa = await desk.agent("aa", status=None)
        with pytest.raises(CallClientError) as refused:
            await aa.supervisor_watch()
        assert refused.value.code == "FORBIDDEN"
        with pytest.raises(CallClientError) as refused:
            await boss.enqueue("sales")
        assert refused.value.code == "FORBIDDEN"
