"""The HTTP API's edges against a real server: JSON errors for unknown `/api` paths and methods,
the Bearer scheme in any case, and signed links (POST /api/links) instead of credentials in URLs:
a link opens exactly its URL, expires, and is never a credential anywhere else."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
import requests
from contact_center_helpers import _start_server, agent, demo_extra, queue

from callcenter.client.call_client import CallClient, CallClientError

pytestmark = pytest.mark.timeout(60)


def bearer(token: str, scheme: str = "Bearer") -> dict[str, str]:
    return {"Authorization": f"{scheme} {token}"}


def refused(response: requests.Response, status: int) -> str:
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["Content-Type"].startswith("application/json"), response.headers
    body = response.json()
    assert body["ok"] is False and body["error"]["message"], body
    return body["error"]["code"]


@pytest.fixture(scope="module")
def srv(request, tmp_path_factory):
    start = _start_server(request.config)
    server = start(tmp_path_factory.mktemp("hardening"), '[metrics]\ntoken = "scrape-token-123"\n',
                   "200/second", True, demo_extra([queue("hq")], [agent("ha", ["hq"])]))
    try:
        yield server
    finally:
        server.stop()
    assert "Traceback" not in server.log(), server.log()


def supervisor(server: Any) -> str:
    return server.token("boss", role="supervisor")


# -- errors ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("method, path, status, code", [
    ("GET", "/api/no-such-thing", 404, "NOT_FOUND"),
    ("GET", "/api/calls/x/y/z", 404, "NOT_FOUND"),
    ("POST", "/api/calls", 405, "METHOD_NOT_ALLOWED"),
    ("DELETE", "/api/links", 405, "METHOD_NOT_ALLOWED"),
    ("GET", "/api/agent-login", 405, "METHOD_NOT_ALLOWED"),
    ("PUT", "/api/customer-credential", 405, "METHOD_NOT_ALLOWED"),
    ("GET", "/api/docs/vendor/no-such-file.js", 404, "NOT_FOUND"),
])
def test_unknown_api_paths_and_methods_answer_json_errors(srv, method, path, status, code):
    response = requests.request(method, srv.url + path, headers=bearer(supervisor(srv)),
                                timeout=10)
    assert refused(response, status) == code
    if status == 405:
        assert response.headers["Allow"]


def test_paths_outside_the_api_keep_their_html_errors(srv):
    response = requests.get(srv.url + "/no-such-page", timeout=10)
    assert response.status_code == 404 and response.headers["Content-Type"].startswith(
        "text/html")


def test_an_oversized_api_body_is_a_json_error(srv):
    response = requests.post(srv.url + "/api/links", data=b"{" + b" " * 100_000 + b"}",
                             headers={**bearer(supervisor(srv)),
                                      "Content-Type": "application/json"}, timeout=10)
    assert refused(response, 413) == "PAYLOAD_TOO_LARGE"


# -- the Authorization header ---------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER", "bEaReR"])
def test_the_bearer_scheme_is_accepted_in_any_case(srv, scheme):
    token = supervisor(srv)
    assert requests.get(srv.url + "/api/calls", headers=bearer(token, scheme),
                        timeout=10).status_code == 200
    assert requests.get(srv.url + "/api/recordings/none", headers=bearer(token, scheme),
                        timeout=10).status_code == 404  # past authentication: not found
    assert requests.get(srv.url + "/metrics", headers=bearer("scrape-token-123", scheme),
                        timeout=10).status_code == 200


@pytest.mark.parametrize("header", ["Basic Ym9zczpwdw==", "Bearer", "Bearer ", "Token abc",
                                    "Bearerabc"])
def test_other_schemes_and_empty_tokens_are_refused(srv, header):
    response = requests.get(srv.url + "/api/calls", headers={"Authorization": header},
                            timeout=10)
    assert refused(response, 401) == "AUTH_REQUIRED"
    assert requests.get(srv.url + "/metrics", headers={"Authorization": header},
                        timeout=10).status_code == 401


# -- signed links ---------------------------------------------------------------------------------


def make_link(server: Any, path: str, token: str | None = None) -> requests.Response:
    return requests.post(server.url + "/api/links", json={"path": path},
                         headers=bearer(token or supervisor(server)), timeout=10)


def test_a_link_opens_exactly_the_url_it_was_made_for(srv):
    made = make_link(srv, "/api/calls.csv?queue=hq&outcome=completed")
    body = made.json()
    assert made.status_code == 200 and body["ok"] is True
    assert body["url"].startswith("/api/calls.csv?queue=hq&outcome=completed&link=")
    assert time.time() < body["expiresAt"] <= time.time() + 301
    direct = requests.get(srv.url + "/api/calls.csv", params={"queue": "hq",
                                                              "outcome": "completed"},
                          headers=bearer(supervisor(srv)), timeout=10)
    opened = requests.get(srv.url + body["url"], timeout=10)
    assert opened.status_code == 200 and opened.text == direct.text
    # the same URL written with other escapes is the same URL
    escaped = body["url"].replace("queue=hq", "queue=%68q")
    assert requests.get(srv.url + escaped, timeout=10).status_code == 200

    link = body["url"].split("link=")[1]
    for other in ("/api/calls.csv?queue=other&outcome=completed",   # another filter
                  "/api/calls.csv?outcome=completed&queue=hq",      # another order
                  "/api/calls.csv?queue=hq",                        # one filter less
                  "/api/calls.csv?queue=hq&outcome=completed&agent=ha"):  # one more
        assert refused(requests.get(f"{srv.url}{other}&link={link}", timeout=10),
                       401) == "LINK_MISMATCH", other
    audio = make_link(srv, "/api/recordings/call-a/audio").json()["url"]
    assert audio.startswith("/api/recordings/call-a/audio?link=")
    audio_link = audio.split("link=")[1]
    other_call = f"{srv.url}/api/recordings/call-b/audio?link={audio_link}"
    assert refused(requests.get(other_call, timeout=10), 401) == "LINK_MISMATCH"
    # the path is decoded once, as routing decodes it: %2D is "-" (the same call, past the link
    # to "not found"), %252D is the call id "call%2Da" (another one)
    same = f"{srv.url}/api/recordings/call%2Da/audio?link={audio_link}"
    assert refused(requests.get(same, timeout=10), 404) == "NOT_FOUND"
    twice = f"{srv.url}/api/recordings/call%252Da/audio?link={audio_link}"
    assert refused(requests.get(twice, timeout=10), 401) == "LINK_MISMATCH"


def test_a_link_is_not_a_credential_anywhere_else(srv):
    url = make_link(srv, "/api/calls.csv").json()["url"]
    link = url.split("link=")[1]
    # not at endpoints that take no links
    for path in ("/api/calls", "/api/stats", "/api/recordings/x"):
        assert refused(requests.get(f"{srv.url}{path}?link={link}", timeout=10),
                       401) == "AUTH_REQUIRED", path
    # not in the Authorization header
    assert refused(requests.get(srv.url + "/api/calls.csv", headers=bearer(link),
                                timeout=10), 401) == "AUTH_INVALID"
    # not to make more links
    assert refused(make_link(srv, "/api/calls.csv", token=link), 401) == "AUTH_INVALID"
    # the link's JWT says what it is for: never a login
    assert jwt.decode(link, options={"verify_signature": False})["purpose"] == "link"


async def test_a_link_is_refused_as_a_socket_login(srv):
    url = make_link(srv, "/api/calls.csv", token=srv.token("ha", role="agent")).json()["url"]
    client = CallClient(srv.url, "demo")
    try:
        with pytest.raises(CallClientError) as refused_login:
            await client.login("ha", url.split("link=")[1])
        assert refused_login.value.code == "AUTH_INVALID"
    finally:
        await client.close()


def test_an_expired_or_forged_link_is_refused(srv):
    # a link never outlives the credential it was asked with
    short = srv.token("boss", role="supervisor", ttl=2)
    body = make_link(srv, "/api/calls.csv", token=short).json()
    assert body["expiresAt"] <= time.time() + 2
    time.sleep(3)
    assert refused(requests.get(srv.url + body["url"], timeout=10), 401) == "LINK_EXPIRED"

    claims = {"sub": "boss", "app": "demo", "role": "supervisor", "res": "/api/calls.csv",
              "purpose": "link", "exp": int(time.time()) + 60}
    forged = jwt.encode(claims, "not-the-apps-secret-0123456789abcdef", algorithm="HS256")
    assert refused(requests.get(f"{srv.url}/api/calls.csv?link={forged}", timeout=10),
                   401) == "BAD_LINK"
    # a real credential is no link either
    token = supervisor(srv)
    assert refused(requests.get(f"{srv.url}/api/calls.csv?link={token}", timeout=10),
                   401) == "BAD_LINK"
    two = make_link(srv, "/api/calls.csv").json()["url"]
    assert refused(requests.get(f"{srv.url}{two}&link=x", timeout=10), 401) == "BAD_LINK"


@pytest.mark.parametrize("path", ["/api/calls.csv", "/api/recordings/c1/audio",
                                  "/api/calls", "/api/stats"])
def test_credentials_in_the_query_string_are_refused_with_directions(srv, path):
    response = requests.get(srv.url + path, params={"token": supervisor(srv)},
                            headers=bearer(supervisor(srv)), timeout=10)
    assert refused(response, 401) == "CREDENTIAL_IN_URL"
    assert "/api/links" in response.json()["error"]["message"]
    alone = requests.get(srv.url + path, params={"token": supervisor(srv)}, timeout=10)
    assert refused(alone, 401) == "CREDENTIAL_IN_URL"


@pytest.mark.parametrize("body", [
    {"path": "/api/calls"}, {"path": "/api/stats?from=0"}, {"path": "/api/links"},
    {"path": "/healthz"}, {"path": "api/calls.csv"}, {"path": "/api/recordings/x"},
    {"path": "/api/calls.csv?link=abc"}, {"path": "/api/calls.csv?token=abc"},
    {"path": "/api/calls.csv#x"}, {"path": "/api/" + "x" * 3000}, {"path": 5}, {"path": None},
    {"path": "/api/calls.csv", "user": "other"}, {}, [], "text",
])
def test_links_are_made_only_for_recording_audio_and_the_csv_export(srv, body):
    response = requests.post(srv.url + "/api/links", json=body,
                             headers=bearer(supervisor(srv)), timeout=10)
    assert refused(response, 400) == "BAD_REQUEST"


def test_customers_get_no_links(srv):
    response = make_link(srv, "/api/calls.csv", token=srv.token("cx"))
    assert refused(response, 403) == "FORBIDDEN"
