"""HTTP routes of a real server: health, the SDK, the demo page and its credentials."""

from __future__ import annotations

import requests

from callcenter.domain.credentials import verify


def test_health_reports_ok(shared_server):
    body = requests.get(shared_server.url + "/healthz", timeout=5).json()
    assert body == {"ok": True, "plugins": {"failures": {}}, "mediaWorkers": [],
                    "history": {"pending": body["history"]["pending"], "failures": 0,
                                "writingFor": body["history"]["writingFor"]}}


def test_sdk_and_its_socket_io_client_are_served(shared_server):
    sdk = requests.get(shared_server.url + "/sdk/callcenter.js", timeout=5)
    assert sdk.status_code == 200 and "javascript" in sdk.headers["Content-Type"]
    assert "export" in sdk.text and "CallClient" in sdk.text
    vendor = requests.get(shared_server.url + "/sdk/vendor/socket.io.esm.min.js", timeout=5)
    assert vendor.status_code == 200 and len(vendor.content) > 10_000


def test_demo_page_is_served(shared_server):
    page = requests.get(shared_server.url + "/demo", timeout=5)
    assert page.status_code == 200 and "<html" in page.text.lower()


def test_demo_credential_is_a_customer_credential_of_the_demo_app(shared_server):
    body = requests.post(shared_server.url + "/demo/credential", json={"userID": "web_1"},
                         timeout=5).json()
    identity = verify(body["userSig"], "demo", shared_server.secrets["demo"])
    assert (body["appId"], identity.user_id, identity.role.value) == ("demo", "web_1", "customer")


def test_demo_credential_refuses_bad_input(shared_server):
    url = shared_server.url + "/demo/credential"
    for body in ({"userID": "no spaces"}, {"userID": 5}, {"user": "x"}, ["x"]):
        response = requests.post(url, json=body, timeout=5)
        assert response.status_code == 400, body
        assert response.json()["ok"] is False
    response = requests.post(url, data=b"x" * 100_000, timeout=5,
                             headers={"Content-Type": "application/json"})
    assert response.status_code == 413


def test_path_traversal_outside_web_is_refused(shared_server):
    response = requests.get(shared_server.url + "/sdk/..%2f..%2fsetup.cfg", timeout=5)
    assert response.status_code == 404


def test_demo_credential_is_not_served_without_a_demo_app(server_factory):
    server = server_factory(demo_app=False)
    response = requests.post(server.url + "/demo/credential", json={"userID": "web_2"}, timeout=5)
    assert response.status_code == 404
