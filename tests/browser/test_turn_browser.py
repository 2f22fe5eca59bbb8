"""A call relayed through TURN, recording included: `[signaling] ice_transport_policy = "relay"`
makes every browser connection use relay candidates only (neither side learns the other's
address), with the per-user coturn credentials from the hello ack. Real coturn; the selected
candidate pairs are read from each RTCPeerConnection's getStats(), and the recording's channels
carry the right tones, so the media did go through the relay. When the relay restarts mid-call,
each page's leg to the recorder is opened again once the relay is back, and the recording goes
on after a stretch of silence."""

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
    read_recording,
    recorder_up,
    recording_config,
    sounding_seconds,
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
    samples, rate = read_recording((rec_dir / record["file"]).read_bytes())
    left, right = samples[:, 0], samples[:, 1]
    assert abs(peak_frequency(right, rate) - AGENT_TONE) <= 10
    assert abs(peak_frequency(left, rate) - CUSTOMER_TONE) <= 10
    assert np.count_nonzero(np.abs(right) > 100) / rate >= talked - 1.5


# Seconds the relay stays down once both pages have begun opening new legs to the recorder: the
# attempts of the first 15 s (1, 2, 4, 8 s apart) find no relay, and the one 23 s after the first
# must get through, since the SDK gives up after 30 s.
DOWN_AFTER_REOPENING = 20


def longest_silence(channel, rate: int, block: float = 0.02) -> tuple[float, float]:
    """(start, end) in seconds of the channel's longest run of silent blocks."""
    size = int(rate * block)
    blocks = channel[:len(channel) // size * size].reshape(-1, size)
    silent = [*(np.abs(blocks).max(axis=1) <= 100), False]
    best, start = (0, 0), None
    for i, quiet in enumerate(silent):
        if quiet and start is None:
            start = i
        elif not quiet and start is not None:
            if i - start > best[1] - best[0]:
                best = (start, i)
            start = None
    return best[0] * block, best[1] * block


def test_a_recording_leg_broken_by_a_relay_restart_is_opened_again_and_records_on(
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
    sides = ((agent, "window.agentConsole.client", customer_id),
             (customer, "window.callcenterWidget.client", AGENT))
    for page, sdk, _ in sides:
        recorder_up(page, f"{sdk}.getStats()")
    agent.wait_for_timeout(2000)  # the tones before the break

    # Stopping the relay breaks every connection: each page gives up on its leg to the
    # recorder and opens new ones (the call's own connections restart ICE).
    for page, sdk, _ in sides:
        page.evaluate(f"() => {{ window.legBeforeBreak = {sdk}._recorder; }}")
    turn.stop()
    stopped = time.monotonic()
    try:
        for page, sdk, _ in sides:
            page.wait_for_function(f"() => {sdk}._recorder !== window.legBeforeBreak",
                                   timeout=20_000, polling=200)
        time.sleep(DOWN_AFTER_REOPENING)
    finally:
        turn.start()
    for page, sdk, _ in sides:
        recorder_up(page, f"{sdk}.getStats()", timeout=15)
        assert page.evaluate(f"() => {sdk}._recorder !== window.legBeforeBreak")
    back = time.monotonic()
    # The call's own media came back too.
    for page, sdk, other in sides:
        received = f"async () => (await {sdk}.getStats())['{other}'].audioBytesReceived"
        before = page.evaluate(received)
        deadline = time.monotonic() + 15
        while page.evaluate(received) <= before:
            assert time.monotonic() < deadline, f"no media from {other} after the break"
            time.sleep(0.3)
    agent.wait_for_timeout(3000)  # the tones after the break

    agent.click("#hangup")
    customer.wait_for_function("() => window.callcenterWidget.state === 'rating'")
    since_back = time.monotonic() - back
    # The SDK never gave up on the recording.
    for page, events in ((agent, "window.agentConsole.events"),
                         (customer, "window.callcenterWidget.events")):
        # The stop may come a moment after the page shows the call ended (a loaded machine).
        page.wait_for_function(f"() => {events}.some(e => e.name === 'RECORDING'"
                               " && e.data.state === 'stopped')", timeout=10_000)
        states = page.evaluate(f"() => {events}.filter(e => e.name === 'RECORDING')"
                               ".map(e => [e.data.state, e.data.reason || null])")
        assert states == [["started", None], ["stopped", "call_end"]], states

    # The call's record says it was recorded, completely.
    token = server.token(AGENT, role="agent")
    stored = None
    deadline = time.monotonic() + 15
    while (stored is None or not stored.get("recording")) and time.monotonic() < deadline:
        time.sleep(0.3)
        answer = requests.get(f"{server.url}/api/calls/{call_id}", timeout=10,
                              headers={"Authorization": f"Bearer {token}"})
        stored = answer.json()["call"] if answer.status_code == 200 else None
    assert stored is not None and stored["recorded"] is True, stored
    assert stored["recording"]["partial"] is False, stored
    samples, rate = read_recording((rec_dir / stored["recording"]["file"]).read_bytes())
    for name, channel, tone in (("left (customer)", samples[:, 0], CUSTOMER_TONE),
                                ("right (agent)", samples[:, 1], AGENT_TONE)):
        # The tone, then the seconds without a leg as silence, then the tone to the end.
        start, end = longest_silence(channel, rate)
        assert DOWN_AFTER_REOPENING <= end - start <= back - stopped + 1, (name, start, end)
        before, after = channel[:int(start * rate)], channel[int(end * rate):]
        assert sounding_seconds(before, rate) >= 1.5, (name, start, end)
        assert abs(peak_frequency(before, rate) - tone) <= 10, name
        assert abs(peak_frequency(after, rate) - tone) <= 10, name
        tail = channel[-int((since_back - 0.5) * rate):]
        assert sounding_seconds(tail, rate) >= since_back - 1.5, (
            name, sounding_seconds(tail, rate), since_back)
