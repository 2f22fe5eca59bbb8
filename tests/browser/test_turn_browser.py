"""A call relayed through TURN, recording included: `[signaling] ice_transport_policy = "relay"`
makes every browser connection use relay candidates only (neither side learns the other's
address), with the per-user coturn credentials from the hello ack. Real coturn; the selected
candidate pairs are read from each RTCPeerConnection's getStats(), and the recording's channels
carry the right tones, so the media did go through the relay."""

from __future__ import annotations

import time

import numpy as np
import pytest
import requests
from test_recording_browser import (
    AGENT,
    AGENT_TONE,
    CUSTOMER_TONE,
    demo_config,
    peak_frequency,
    read_wav,
    recorder_up,
    recording_config,
    toned_pages,
)

pytestmark = pytest.mark.browser

# The local and remote candidate types of a connection's selected pair.
SELECTED_PAIR = """async (pc) => {
    const stats = await pc.getStats();
    let pair = null;
    stats.forEach((r) => {
        if (r.type === 'transport' && r.selectedCandidatePairId) {
            pair = stats.get(r.selectedCandidatePairId);
        }
    });
    if (!pair) return null;
    return [stats.get(pair.localCandidateId).candidateType,
            stats.get(pair.remoteCandidateId).candidateType, pair.bytesReceived];
}"""


def selected(page, pc_js: str) -> list | None:
    return page.evaluate(f"() => ({SELECTED_PAIR})({pc_js})")


def test_a_relay_only_call_and_its_recording_leg_flow_through_turn(
        server_factory, turn, host_site, launch_browser, open_page, tmp_path):
    rec_dir = tmp_path / "rec"
    server = server_factory(recording_config(rec_dir) + turn.config(),
                            demo_extra=demo_config(host_site.origin),
                            signaling='ice_transport_policy = "relay"')
    agent, customer = toned_pages(server, host_site, launch_browser, open_page, tmp_path)
    customer.click("#cc-start")
    agent.wait_for_selector("#offer", state="visible")
    call_id = customer.evaluate("() => window.callcenterWidget.callId")
    customer_id = agent.evaluate("() => window.agentConsole.client._incoming.customer.userID")
    agent.click("#accept")
    customer.wait_for_function("() => window.callcenterWidget.state === 'connected'")
    recorder_up(agent, "window.agentConsole.client.getStats()")
    recorder_up(customer, "window.callcenterWidget.client.getStats()")

    # Every connection runs over the relay: the call's between the browsers, and each one's
    # leg to the media worker.
    agent_sdk, customer_sdk = "window.agentConsole.client", "window.callcenterWidget.client"
    connections = {
        "agent to customer": (agent, f"{agent_sdk}._mesh.peers.get('{customer_id}').pc"),
        "customer to agent": (customer, f"{customer_sdk}._mesh.peers.get('agent1').pc"),
        "agent to recorder": (agent, f"{agent_sdk}._recorder.pc"),
        "customer to recorder": (customer, f"{customer_sdk}._recorder.pc"),
    }
    for name, (page, pc) in connections.items():
        deadline = time.monotonic() + 10
        while (pair := selected(page, pc)) is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert pair is not None and pair[0] == "relay", (name, pair)
    first = {n: selected(p, pc)[2] for n, (p, pc) in connections.items()
             if "recorder" not in n}
    talk_started = time.monotonic()
    agent.wait_for_timeout(2500)
    for name, before in first.items():
        page, pc = connections[name]
        assert selected(page, pc)[2] > before > 0, name  # bytes keep arriving through the relay
    # coturn saw the allocations made with the users' own credentials.
    assert f"demo/{AGENT}" in turn.log()

    agent.click("#hangup")
    customer.wait_for_function("() => window.callcenterWidget.state === 'rating'")
    talked = time.monotonic() - talk_started
    record = None
    deadline = time.monotonic() + 15
    while record is None and time.monotonic() < deadline:
        answer = requests.get(f"{server.url}/api/recordings/{call_id}", timeout=10, headers={
            "Authorization": f"Bearer {server.token(AGENT, role='agent')}"})
        record = answer.json() if answer.status_code == 200 else None
        time.sleep(0.3)
    assert record is not None and record["partial"] is False
    samples, rate = read_wav((rec_dir / record["file"]).read_bytes())
    left, right = samples[:, 0], samples[:, 1]
    assert abs(peak_frequency(right, rate) - AGENT_TONE) <= 10
    assert abs(peak_frequency(left, rate) - CUSTOMER_TONE) <= 10
    assert np.count_nonzero(np.abs(right) > 100) / rate >= talked - 1.5
