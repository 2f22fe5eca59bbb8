"""callcenter behind nginx under a sub-path (docs/deploy.md): the console, the widget on a shop
page, the REST API's page and Socket.IO all work at http://proxy/cc/..., with the server itself
at its own root behind it. Real nginx, with docs/deploy.md's recipe."""

from __future__ import annotations

import pytest
import requests
from test_contact_center import (
    Console,
    Widget,
    audio_rises,
    cc_config,
    wait_for_audio,
)

pytestmark = pytest.mark.browser

PREFIX = "/cc/"


def test_the_console_the_widget_and_the_api_work_under_a_proxys_sub_path(
        server_factory, nginx, host_site, open_page):
    server = server_factory(demo_extra=cc_config(host_site.origin),
                            server_extra="trusted_proxies = 1")
    proxy = nginx(server.port, PREFIX)
    base = proxy.url(PREFIX)
    assert requests.get(base + "/healthz", timeout=10).ok
    # The pages name their files relative to themselves: with a trailing slash, a relative
    # redirect brings the browser back to the page's own name, still under the prefix.
    answer = requests.get(base + "/console/", timeout=10, allow_redirects=False)
    assert answer.status_code == 308 and answer.headers["Location"] == "../console"

    agent = Console(open_page("agent1", base + "/console"), "agent1")
    agent.login()  # POST /cc/api/agent-login, the SDK's socket at /cc/socket.io
    agent.set_status("available")
    customer = Widget(open_page("customer", host_site.page_url(base)))
    customer.start(name="Sub Path", video=False)
    agent.page.wait_for_selector("#offer", state="visible")
    customer_id = agent.events("OFFER")[-1]["customer"]["userID"]
    agent.page.click("#accept")
    customer.wait_state("connected")
    for page, client in ((agent.page, "window.agentConsole.client"),
                         (customer.page, "window.callcenterWidget.client")):
        opts = page.evaluate(f"() => {client}._socket.io.opts.path")
        assert opts == "/cc/socket.io", opts
    wait_for_audio(agent, customer_id)
    audio_rises(agent, customer_id, customer, "agent1")
    customer.page.click("#cc-hangup")
    customer.wait_state("rating")

    # The REST API's page loads its files and the API description through the prefix.
    docs = open_page("docs", base + "/api/docs").page
    docs.wait_for_selector(".swagger-ui .info .title", timeout=15_000)
    assert "callcenter" in docs.text_content(".swagger-ui .info .title").lower()
    assert "[error]" not in proxy.log() and "[crit]" not in proxy.log(), proxy.log()
