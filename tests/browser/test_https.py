"""HTTPS served by `callcenter serve` itself ([server] tls_cert/tls_key; docs/deploy.md).

Browsers open microphones and cameras only in a secure context, HTTPS or localhost; these tests
use neither localhost nor a certificate the browser was told to ignore. A test certificate
authority (trustme) issues the server's certificate for `callcenter.test` and the shop's for
`shop.test`; it is added to the NSS store of a Chromium with a HOME of its own, as an operator's
CA would be on an agent's machine, and Chromium resolves both names to 127.0.0.1. The call then
goes over https and wss, with media both ways.
"""

from __future__ import annotations

import os
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme
from conftest import CHROMIUM, CHROMIUM_ARGS, HostSite
from test_contact_center import (
    WIDGET,
    Console,
    Widget,
    audio_rises,
    cc_config,
    wait_for_audio,
)

pytestmark = pytest.mark.browser

SERVER_HOST, SHOP_HOST = "callcenter.test", "shop.test"


@pytest.fixture(scope="module")
def test_ca(tmp_path_factory: pytest.TempPathFactory) -> tuple[trustme.CA, Path]:
    """The test CA and a folder holding its certificate and the server's key pair."""
    folder = tmp_path_factory.mktemp("tls")
    ca = trustme.CA(organization_name="callcenter tests")
    ca.cert_pem.write_to_path(str(folder / "ca.pem"))
    # 127.0.0.1 too: the test harness checks the server's health by address.
    server = ca.issue_cert(SERVER_HOST, "127.0.0.1")
    server.private_key_pem.write_to_path(str(folder / "server.key"))
    server.cert_chain_pems[0].write_to_path(str(folder / "server.pem"))
    for pem in server.cert_chain_pems[1:]:
        pem.write_to_path(str(folder / "server.pem"), append=True)
    return ca, folder


@pytest.fixture(scope="module")
def https_shop(test_ca) -> Iterator[HostSite]:
    ca, _ = test_ca
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert(SHOP_HOST).configure_cert(context)
    site = HostSite(tls=context, host=SHOP_HOST)
    yield site
    site.close()


@pytest.fixture(scope="module")
def trusting_browser(browser, test_ca, tmp_path_factory):
    """A Chromium whose certificate store (NSS, under its own HOME) trusts the test CA."""
    _, folder = test_ca
    home = tmp_path_factory.mktemp("home")
    nssdb = home / ".pki" / "nssdb"
    nssdb.mkdir(parents=True)
    subprocess.run(["certutil", "-d", f"sql:{nssdb}", "-N", "--empty-password"], check=True)
    subprocess.run(["certutil", "-d", f"sql:{nssdb}", "-A", "-t", "C,,", "-n",
                    "callcenter-test-ca", "-i", str(folder / "ca.pem")], check=True)
    args = [*CHROMIUM_ARGS,
            f"--host-resolver-rules=MAP {SERVER_HOST} 127.0.0.1, MAP {SHOP_HOST} 127.0.0.1"]
    other = browser.browser_type.launch(executable_path=CHROMIUM, args=args,
                                        env={**os.environ, "HOME": str(home)})
    yield other
    other.close()


def test_a_call_over_https_and_wss_from_a_host_name_that_is_not_localhost(
        server_factory, test_ca, https_shop, trusting_browser, open_page):
    _, folder = test_ca
    server = server_factory(
        demo_extra=cc_config(https_shop.origin),
        server_extra=f'tls_cert = "{folder / "server.pem"}"\ntls_key = "{folder / "server.key"}"',
        ca_file=folder / "ca.pem")
    origin = f"https://{SERVER_HOST}:{server.port}"

    agent = Console(open_page("agent1", origin + "/console", in_browser=trusting_browser),
                    "agent1")
    agent.login()
    agent.set_status("available")
    shop_url = f"{https_shop.origin}/shop?server={origin}&app=demo&queue=sales"
    customer = Widget(open_page("customer", shop_url, in_browser=trusting_browser))
    for page in (agent.page, customer.page):
        assert page.evaluate("() => window.isSecureContext") is True
        assert page.evaluate("() => location.protocol") == "https:"
    customer.start(name="Dana Secure", video=False)

    agent.page.wait_for_selector("#offer", state="visible")
    customer_id = agent.events("OFFER")[-1]["customer"]["userID"]
    agent.page.click("#accept")
    customer.wait_state("connected")
    # The signaling runs over a websocket on this https origin: wss.
    for page, client in ((agent.page, "window.agentConsole.client"),
                         (customer.page, "window.callcenterWidget.client")):
        transport = page.evaluate(
            f"() => {{ const e = {client}._socket.io.engine;"
            " return [e.transport.name, e.secure, e.hostname]; }")
        assert transport == ["websocket", True, SERVER_HOST], transport
    wait_for_audio(agent, customer_id)
    audio_rises(agent, customer_id, customer, "agent1")
    customer.page.click("#cc-hangup")
    customer.wait_state("rating")
    assert customer.page.evaluate(f"() => {WIDGET}.getElementById('cc-rating').hidden") is False


def test_the_server_refuses_tls_1_2_without_forward_secret_aead_ciphers(
        server_factory, test_ca):
    _, folder = test_ca
    server = server_factory(
        server_extra=f'tls_cert = "{folder / "server.pem"}"\ntls_key = "{folder / "server.key"}"',
        ca_file=folder / "ca.pem")

    def handshake(ciphers: str | None) -> str:
        context = ssl.create_default_context(cafile=str(folder / "ca.pem"))
        context.maximum_version = ssl.TLSVersion.TLSv1_2
        if ciphers:
            context.set_ciphers(ciphers)
        import socket

        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as raw, \
                context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            return f"{tls.version()} {tls.cipher()[0]}"

    assert handshake(None).startswith("TLSv1.2 ECDHE-")
    # CBC with SHA-2 is what Python's own default list would still take.
    with pytest.raises(ssl.SSLError):
        handshake("ECDHE-RSA-AES128-SHA256:ECDHE-ECDSA-AES128-SHA256")
    time.sleep(0.1)
    assert server.process.poll() is None
