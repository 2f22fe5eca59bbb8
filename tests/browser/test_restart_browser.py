"""A graceful restart under real browsers (docs/deploy.md, "Restarts with the embedded store"):
the agent's console and the customer's widget reconnect by themselves to the server started again
on the same port, resume their sessions, and the call goes on with its media."""

from __future__ import annotations

import time

import pytest
import requests
from test_contact_center import answered_call, cc_config

pytestmark = pytest.mark.browser


def test_the_console_and_the_widget_resume_their_call_across_a_graceful_restart(
        server_factory, host_site, open_page):
    def start(port: int | None = None):
        return server_factory(demo_extra=cc_config(host_site.origin, wrap_up=30),
                              signaling="resume_window = 30",
                              extra='[contact_center]\nagent_grace = 60\n'
                                    '[store]\nurl = "memory://"\n', port=port)

    server = start()
    agent, customer, offer = answered_call(open_page, host_site, server)
    customer_id, call_id = offer["customer"]["userID"], offer["callId"]
    agent.wait_state("in_call")
    media = {"a": (agent, customer_id), "c": (customer, "agent1")}
    deadline = time.monotonic() + 10
    while not all(page.stats().get(peer, {}).get("audioBytesReceived")
                  for page, peer in media.values()) and time.monotonic() < deadline:
        time.sleep(0.1)  # the media is up before the restart

    server.process.terminate()
    assert server.process.wait(10) == 0
    stopped = time.monotonic()
    again = start(port=server.port)
    # socket.io reconnects by itself (a closed transport, not a server's "disconnect"), and the
    # SDK resumes the session: the call is not ended on either side.
    agent.page.wait_for_function(
        "() => window.agentConsole.events.some(e => e.name === 'RECONNECTED')", timeout=20_000)
    deadline = time.monotonic() + 20
    while again.log().count("resume demo/") < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    print(f"\nSIGTERM to both browsers resumed: {time.monotonic() - stopped:.1f} s")
    assert again.log().count("resume demo/") == 2, again.log()
    assert customer.state() == "connected" and agent.page.is_visible("#call")
    assert not agent.events("CALL_END") and not customer.events("CALL_END")
    first = {side: page.stats()[peer] for side, (page, peer) in media.items()}
    time.sleep(1.5)
    second = {side: page.stats()[peer] for side, (page, peer) in media.items()}
    for side in ("a", "c"):
        for key in ("audioBytesReceived", "audioBytesSent"):
            assert second[side][key] > first[side][key] > 0, (side, key)

    # The resumed sessions serve requests: the agent hangs up and wraps up as usual.
    agent.page.click("#hangup")
    customer.wait_state("rating")
    agent.wait_state("wrap_up")
    token = again.token("sup1", role="supervisor")
    record = requests.get(f"{again.url}/api/calls/{call_id}", timeout=10,
                          headers={"Authorization": f"Bearer {token}"}).json()["call"]
    assert record["endReason"] == "hangup" and record["agent"] == "agent1"
