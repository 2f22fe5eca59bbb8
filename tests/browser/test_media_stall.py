"""Media that stops while the call goes on: a customer whose process freezes (SIGSTOP, as a hung
browser) is noticed by the agent's console from its byte counters within 5 s, long before the
signaling heartbeat would give up; the notice clears when media flows again (SIGCONT); and the
call's record (REST API) keeps the frozen seconds out of its talk time. A muted microphone and a
closed camera are no stall; a customer page whose senders stop is, and its widget is told."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
import requests
from test_contact_center import WIDGET, answered_call, cc_config, open_console, open_widget

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

# The heartbeat is longer than the freeze, so the server never drops the frozen customer: what
# the console shows comes from the media alone.
SIGNALING = "ping_interval = 10\nping_timeout = 10\nresume_window = 0"
FREEZE = 7.0  # seconds the customer's process is stopped
NOTICE = "No audio from Frozen Fran — their connection may have frozen."

# The customer: a Python client with real media (aiortc, a tone) in a process of its own, which
# the test stops and continues. It joins the queue, answers the agent's offer, says so, and then
# only keeps its connections.
CUSTOMER = """
import asyncio, sys
from callcenter.client.call_client import AUDIO_CALL, CallClient
from callcenter.client.media import CallMedia
from callcenter.testing.tracks import tone_tracks

async def main(url, user, token):
    client = CallClient(url, "demo")
    await client.login(user, token)
    media = CallMedia(client, tracks=tone_tracks(440))
    ack = await client.enqueue("sales", AUDIO_CALL, {"name": "Frozen Fran"})
    print("queued", ack["callId"], flush=True)
    entered = await client.next_event("user_enter", timeout=30, callId=ack["callId"])
    await media.wait_connected(entered["userID"], timeout=30)
    print("connected", flush=True)
    await asyncio.Event().wait()

asyncio.run(main(*sys.argv[1:]))
"""


def start_customer(server, user: str, log_path) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen(
        [sys.executable, "-c", CUSTOMER, server.url, user, server.token(user)],
        stdout=subprocess.PIPE, stderr=open(log_path, "wb"), text=True,  # noqa: SIM115
        env=dict(os.environ))
    assert process.stdout is not None
    line = process.stdout.readline().split()
    assert line[:1] == ["queued"], (line, log_path.read_text())
    return process, line[1]


def received(console, user_id: str) -> int:
    stats = console.stats().get(user_id) or {}
    return stats.get("audioBytesReceived", 0) + stats.get("videoBytesReceived", 0)


def until_receiving(side, user_id: str, timeout: float = 10) -> None:
    """Wait until `side` (a Console or a Widget) receives media bytes from `user_id`. (A
    Playwright wait_for_function would not wait for getStats()'s promise: it is truthy at once.)"""
    deadline = time.monotonic() + timeout
    while received(side, user_id) == 0:
        assert time.monotonic() < deadline, f"no media from {user_id}: {side.stats()}"
        time.sleep(0.1)


def closed_record(server, call_id: str, timeout: float = 10) -> dict:
    token = server.token("sup1", role="supervisor")
    deadline = time.monotonic() + timeout
    while True:
        response = requests.get(f"{server.url}/api/calls/{call_id}", timeout=5,
                                headers={"Authorization": f"Bearer {token}"})
        call = response.json().get("call") if response.status_code == 200 else None
        if call and call["endedAt"] is not None:
            return call
        assert time.monotonic() < deadline, response.text
        time.sleep(0.1)


def test_a_frozen_customer_is_shown_to_the_agent_within_5_s_and_kept_out_of_talk_time(
        server_factory, open_page, tmp_path):
    server = server_factory(demo_extra=cc_config("http://127.0.0.1"), signaling=SIGNALING)
    agent = open_console(open_page, server, "agent1")
    agent.set_status("available")
    agent.wait_state("waiting")
    customer_id = "frozen_fran"
    customer, call_id = start_customer(server, customer_id, tmp_path / "customer.log")
    try:
        agent.page.wait_for_selector("#offer", state="visible")
        agent.page.click("#accept")
        agent.wait_state("in_call")
        assert customer.stdout.readline().strip() == "connected"
        agent.page.wait_for_selector("#call", state="visible")
        assert agent.text("#call-customer") == "Frozen Fran"
        # Media flows from the customer, and a few seconds of it raise no notice.
        until_receiving(agent, customer_id)
        time.sleep(2)
        assert agent.page.is_hidden("#call-media-stalled")
        assert agent.events("MEDIA_STALLED") == []

        customer.send_signal(signal.SIGSTOP)
        frozen_at = time.monotonic()
        agent.page.wait_for_selector("#call-media-stalled", state="visible", timeout=8_000)
        noticed = time.monotonic() - frozen_at
        print(f"notice after {noticed:.2f} s of freeze")
        assert agent.text("#call-media-stalled") == NOTICE
        assert noticed < 5, f"the notice came {noticed:.1f} s after the freeze"
        stalled = agent.events("MEDIA_STALLED")[-1]
        assert stalled == {"callId": call_id, "userID": customer_id, "by": "agent1"}
        # Still one call, the agent still in it: the heartbeat has not given up.
        assert agent.page.is_visible("#call") and agent.events("RECONNECTING") == []
        time.sleep(max(0.0, FREEZE - (time.monotonic() - frozen_at)))

        before = received(agent, customer_id)
        customer.send_signal(signal.SIGCONT)
        resumed_at = time.monotonic()
        agent.page.wait_for_selector("#call-media-stalled", state="hidden", timeout=5_000)
        cleared = time.monotonic() - resumed_at
        print(f"notice cleared {cleared:.2f} s after the customer went on")
        assert agent.events("MEDIA_FLOWING")[-1] == {"callId": call_id, "userID": customer_id,
                                                     "by": "agent1"}
        assert received(agent, customer_id) > before  # the bytes really rise again
        time.sleep(1)

        agent.page.click("#hangup")
        agent.wait_state("wrap_up")
    finally:
        customer.send_signal(signal.SIGCONT)
        customer.kill()
        customer.wait(5)
    call = closed_record(server, call_id)
    answered = call["endedAt"] - call["answeredAt"]
    print(f"silentSeconds {call['silentSeconds']}, talk {call['talk']}, answered {answered:.3f}")
    # The stall begins when media last arrived (at most a second's sample before the freeze)
    # and ends at the first sample that sees bytes again (at most a second after it).
    assert FREEZE - 0.5 <= call["silentSeconds"] <= FREEZE + 2.5, call
    assert call["talk"] == pytest.approx(answered - call["silentSeconds"], abs=0.01), call


def test_mute_and_camera_off_are_no_stall_but_a_page_that_stops_sending_is(
        server_factory, host_site, open_page):
    server = server_factory(demo_extra=cc_config(host_site.origin))
    agent = open_console(open_page, server, "agent1")
    agent.set_status("available")
    customer = open_widget(open_page, host_site, server)
    customer.start(name="Muted Mo", video=True)
    agent.page.wait_for_selector("#offer", state="visible")
    customer_id = agent.events("OFFER")[-1]["customer"]["userID"]
    agent.page.click("#accept")
    customer.wait_state("connected")
    agent.page.wait_for_selector("#call", state="visible")
    page = customer.page
    until_receiving(agent, customer_id)
    until_receiving(customer, "agent1")

    # Both mute and close their cameras for longer than a stall takes to be noticed.
    page.click("#cc-mute")
    page.click("#cc-camera")
    agent.page.click("#mute")
    agent.page.click("#camera")
    agent.page.wait_for_function("""() => window.agentConsole.events.some(e =>
        e.name === 'USER_AUDIO_AVAILABLE' && e.data.isAudioAvailable === false)""")
    first = (agent.stats()[customer_id], customer.stats()["agent1"])
    time.sleep(5)
    second = (agent.stats()[customer_id], customer.stats()["agent1"])
    # A muted track still sends silence frames: the audio bytes keep rising both ways.
    print("muted, camera off: audio bytes/s received by the agent",
          (second[0]["audioBytesReceived"] - first[0]["audioBytesReceived"]) / 5,
          "video", (second[0]["videoBytesReceived"] - first[0]["videoBytesReceived"]) / 5)
    for before, after in zip(first, second, strict=True):
        assert after["audioBytesReceived"] > before["audioBytesReceived"], (before, after)
    assert agent.events("MEDIA_STALLED") == [] and customer.events("MEDIA_STALLED") == []
    assert agent.page.is_hidden("#call-media-stalled")
    page.click("#cc-mute")  # the camera stays off

    # The customer's page stops sending (its senders lose their tracks): the agent's console
    # shows the notice, and the widget is told the agent cannot hear them.
    page.evaluate("""() => Promise.all(window.callcenterWidget.client._mesh.senders('audioSender')
        .concat(window.callcenterWidget.client._mesh.senders('videoSender'))
        .map(s => { window.__kept = window.__kept || []; window.__kept.push([s, s.track]);
                    return s.replaceTrack(null); }))""")
    agent.page.wait_for_selector("#call-media-stalled", state="visible", timeout=8_000)
    assert agent.text("#call-media-stalled") == \
        "No audio from Muted Mo — their connection may have frozen."
    page.wait_for_function(f"() => !{WIDGET}.getElementById('cc-unheard').hidden")
    assert page.evaluate(f"() => {WIDGET}.getElementById('cc-unheard').textContent") == \
        "The agent can't hear you — checking your connection…"
    page.evaluate("() => Promise.all(window.__kept.map(([s, t]) => s.replaceTrack(t)))")
    agent.page.wait_for_selector("#call-media-stalled", state="hidden", timeout=5_000)
    page.wait_for_function(f"() => {WIDGET}.getElementById('cc-unheard').hidden")

    agent.page.click("#hangup")
    customer.wait_state("rating")


def test_a_console_reloaded_during_a_stall_ends_it_once_media_flows_on_the_new_page(
        server_factory, host_site, open_page):
    server = server_factory(demo_extra=cc_config(host_site.origin), signaling="resume_window = 15")
    agent, customer, offer = answered_call(open_page, host_site, server, name="Reload Rae")
    call_id, customer_id = offer["callId"], offer["customer"]["userID"]
    page = customer.page
    until_receiving(agent, customer_id)
    until_receiving(customer, "agent1")
    # The customer's page stops sending: the console reports the stall, the widget is told.
    page.evaluate("""() => Promise.all(window.callcenterWidget.client._mesh.senders('audioSender')
        .map(s => s.replaceTrack(null)))""")
    agent.page.wait_for_selector("#call-media-stalled", state="visible", timeout=8_000)
    page.wait_for_function(f"() => !{WIDGET}.getElementById('cc-unheard').hidden")

    # The agent reloads: the old page, which reported the stall, can no longer take it back.
    # The new page's connection carries the customer's audio again, and its first bytes end it.
    agent.page.once("dialog", lambda dialog: dialog.accept())
    agent.page.reload()
    agent.page.wait_for_function(
        "() => window.agentConsole.events.some(e => e.name === 'resumed')")
    page.wait_for_function(f"() => {WIDGET}.getElementById('cc-unheard').hidden",
                           timeout=15_000)
    flowing = [e for e in customer.events("MEDIA_FLOWING") if e["by"] == "agent1"]
    assert flowing and flowing[-1]["callId"] == call_id
    assert agent.page.is_hidden("#call-media-stalled")
    agent.page.click("#hangup")
    customer.wait_state("rating")
    call = closed_record(server, call_id)
    # The stall lasted from the senders stopping to the new page's first bytes, not to the end.
    assert 0 < call["silentSeconds"] < call["endedAt"] - call["answeredAt"] - 0.5, call


def test_a_console_reloaded_while_the_customer_is_frozen_shows_the_stall_again(
        server_factory, open_page, tmp_path):
    # Resuming on, so that the console's reload keeps the call; the heartbeat outlasts the freeze.
    server = server_factory(demo_extra=cc_config("http://127.0.0.1"),
                            signaling="ping_interval = 10\nping_timeout = 10\nresume_window = 20")
    agent = open_console(open_page, server, "agent1")
    agent.set_status("available")
    customer_id = "frozen_fred"
    customer, call_id = start_customer(server, customer_id, tmp_path / "customer.log")
    try:
        agent.page.wait_for_selector("#offer", state="visible")
        agent.page.click("#accept")
        assert customer.stdout.readline().strip() == "connected"
        until_receiving(agent, customer_id)

        customer.send_signal(signal.SIGSTOP)
        agent.page.wait_for_selector("#call-media-stalled", state="visible", timeout=8_000)
        # The agent reloads while the customer is still frozen: the new page's connection to
        # them never carries anything (they cannot even answer its offer), and it says so too.
        agent.page.once("dialog", lambda dialog: dialog.accept())
        agent.page.reload()
        agent.page.wait_for_function(
            "() => window.agentConsole.events.some(e => e.name === 'resumed')")
        reloaded_at = time.monotonic()
        agent.page.wait_for_selector("#call-media-stalled", state="visible", timeout=10_000)
        print(f"stall shown {time.monotonic() - reloaded_at:.2f} s after the reload")
        assert agent.text("#call-media-stalled") == NOTICE

        # The customer goes on: they answer the new page's offer, and the media flows to it.
        customer.send_signal(signal.SIGCONT)
        agent.page.wait_for_selector("#call-media-stalled", state="hidden", timeout=10_000)
        until_receiving(agent, customer_id)
        agent.page.click("#hangup")
        agent.wait_state("wrap_up")
    finally:
        customer.send_signal(signal.SIGCONT)
        customer.kill()
        customer.wait(5)
    call = closed_record(server, call_id)
    assert call["silentSeconds"] > 3, call
