"""Hold and blind transfer with real browsers, checked by ear (hearing.py): each person's Chromium
plays a tone of its own as the microphone — the customer 440 Hz, the first agent 880 Hz, the
second 1320 Hz — and what each page plays is analysed.

On hold the customer hears the hold music (the shipped web/music/hold.wav: notes of C, E and G)
and not the agent, and the agent does not hear the customer; after resume each hears the other
again. After a blind transfer the customer hears the music while the target rings, then the new
agent and not the old one; the recording follows the call: the agent channel has the first
agent's tone, then the second's. The record, through the REST API, has the hold and the
transfer in its segments.
"""

from __future__ import annotations

import time

import pytest
import requests
from hearing import HEARD_DB, UNHEARD_DB, heard, listen, strongest
from test_recording_browser import (
    PASSWORD,
    RATE,
    peak_frequency,
    read_recording,
    recorder_up,
    tone_wav,
)
from werkzeug.security import generate_password_hash

pytestmark = pytest.mark.browser

CUSTOMER, FIRST, SECOND = 440, 880, 1320
MUSIC = [523.25, 659.25, 783.99]  # the shipped hold music's notes
TONES = [CUSTOMER, FIRST, SECOND, *MUSIC]
WIDGET = "window.callcenterWidget"


def config(origin: str) -> str:
    agents = []
    for agent_id, name in (("agent1", "Rita"), ("agent2", "Sam")):
        agents += ["[[apps.agents]]", f'id = "{agent_id}"', f'name = "{name}"',
                   f'password_hash = "{generate_password_hash(PASSWORD)}"', 'queues = ["q"]', ""]
    supervisor = ["[[apps.supervisors]]", 'id = "sue"', 'name = "Sue"',
                  f'password_hash = "{generate_password_hash(PASSWORD)}"', ""]
    return "\n".join([f'allowed_origins = ["{origin}"]', "", "[[apps.queues]]", 'name = "q"',
                      "ring_timeout = 15", "wrap_up = 30", 'when_empty = "join"', "", *agents,
                      *supervisor])


def recording(rec_dir) -> str:
    return (f'[recording]\ndir = "{rec_dir}"\n\n[plugins]\nenable = ["recording"]\n\n'
            '[plugins.settings.recording]\nqueues = ["q"]\n')


def sign_in(open_page, browser, server, agent_id: str, status: str):
    page = open_page(agent_id, server.url + "/console", in_browser=browser).page
    page.fill("#agent-id", agent_id)
    page.fill("#password", PASSWORD)
    page.click("#login")
    page.wait_for_selector(".queue-tile[data-queue='q']")
    page.select_option("#status", status)
    if status == "available":
        page.wait_for_selector("#agent-state[data-state='waiting']")
    listen(page)
    return page


def hears(page, tone: float | list[float], *, others: list[float]) -> dict[float, float]:
    """Wait (up to 8 s) until `page` hears `tone` (each of them) and none of `others`; the
    levels at the end."""
    tones = tone if isinstance(tone, list) else [tone]
    deadline = time.monotonic() + 8
    while True:
        levels = heard(page, TONES)
        if min(levels[t] for t in tones) >= HEARD_DB and \
                max(levels[o] for o in others) <= UNHEARD_DB:
            return levels
        if time.monotonic() >= deadline:
            raise AssertionError(f"does not hear {tones} without {others}: {levels}")


def hears_music(page, *, not_: list[float]) -> dict[float, float]:
    deadline = time.monotonic() + 8
    while True:
        levels = heard(page, TONES, ms=2000)  # two notes of the arpeggio at least
        if strongest(levels, MUSIC) >= HEARD_DB and max(levels[o] for o in not_) <= UNHEARD_DB:
            return levels
        if time.monotonic() >= deadline:
            raise AssertionError(f"does not hear the music alone: {levels}")


def answered_call(server_factory, host_site, launch_browser, open_page, tmp_path):
    """Three people, each in a Chromium playing their tone: agent1 available, agent2 on a
    break, the customer on the shop page; the customer calls and agent1 answers. Returns
    (agent1, agent2, customer, call id, server) once the two hear each other."""
    rec_dir = tmp_path / "rec"
    server = server_factory(recording(rec_dir), demo_extra=config(host_site.origin))
    browsers = {tone: launch_browser(fake_audio=tone_wav(tmp_path / f"{tone}.wav", tone))
                for tone in (CUSTOMER, FIRST, SECOND)}
    agent1 = sign_in(open_page, browsers[FIRST], server, "agent1", "available")
    agent2 = sign_in(open_page, browsers[SECOND], server, "agent2", "break")
    server.wait_for_media_workers()
    customer = open_page("customer", host_site.page_url(server.url, queue="q"),
                         in_browser=browsers[CUSTOMER]).page
    customer.wait_for_function(f"() => !!{WIDGET}")
    listen(customer)
    customer.click("#cc-launcher")
    customer.check("#cc-type-audio")
    customer.fill("#cc-name", "Held Customer")
    customer.click("#cc-start")
    agent1.wait_for_selector("#offer", state="visible")
    call_id = customer.evaluate(f"() => {WIDGET}.callId")
    agent1.click("#accept")
    customer.wait_for_function(f"() => {WIDGET}.state === 'connected'")
    recorder_up(agent1, "window.agentConsole.client.getStats()")
    hears(customer, FIRST, others=[*MUSIC, SECOND])
    hears(agent1, CUSTOMER, others=MUSIC)
    return agent1, agent2, customer, call_id, server


def closed_record(server, call_id: str) -> tuple[dict, object]:
    """The call's record (REST) once it is closed, and the answer for its recording."""
    token = server.token("sup1", role="supervisor")
    deadline = time.monotonic() + 15
    while True:
        call = requests.get(f"{server.url}/api/calls/{call_id}", timeout=5,
                            headers={"Authorization": f"Bearer {token}"}).json()["call"]
        rec = requests.get(f"{server.url}/api/recordings/{call_id}", timeout=5,
                           headers={"Authorization": f"Bearer {token}"})
        if call["endedAt"] is not None and rec.status_code == 200:
            return call, rec
        assert time.monotonic() < deadline, (call, rec.text)
        time.sleep(0.2)


def pick_colleague(agent1, agent2) -> None:
    """agent2 becomes available; agent1 opens the transfer panel (Alt+T) and chooses them."""
    agent2.select_option("#status", "available")
    agent2.wait_for_selector("#agent-state[data-state='waiting']")
    agent1.keyboard.press("Alt+T")
    agent1.wait_for_selector("#transfer-panel", state="visible")
    agent1.wait_for_selector("#transfer-target option[value='agent:agent2']", state="attached")
    assert agent1.get_attribute("#transfer-target option[value='agent:agent2']",
                                "data-state") == "available"
    agent1.select_option("#transfer-target", "agent:agent2")


def test_hold_plays_music_and_a_transfer_brings_the_customer_to_the_agent_named(
        server_factory, host_site, launch_browser, open_page, tmp_path):
    agent1, agent2, customer, call_id, server = answered_call(
        server_factory, host_site, launch_browser, open_page, tmp_path)

    # Hold (Alt+H): the customer hears the music and not the agent; the agent not the customer.
    agent1.keyboard.press("Alt+H")
    customer.wait_for_selector("#cc-hold", state="visible")
    assert customer.text_content("#cc-hold") == "You are on hold. Please stay on the line."
    agent1.wait_for_selector("#call-hold", state="visible")
    assert agent1.get_attribute("#hold", "aria-pressed") == "true"
    hears_music(customer, not_=[FIRST])
    levels = heard(agent1, TONES)
    assert levels[CUSTOMER] <= UNHEARD_DB, levels
    assert agent1.text_content("#call-hold").startswith("On hold 00:0")
    agent1.click("#hold")  # Resume
    customer.wait_for_selector("#cc-hold", state="hidden")
    hears(customer, FIRST, others=MUSIC)
    hears(agent1, CUSTOMER, others=MUSIC)

    # Blind transfer to agent2, with a note: agent1 leaves at once and wraps up; the customer
    # hears the music while agent2's console rings, then agent2 and not agent1.
    pick_colleague(agent1, agent2)
    agent1.fill("#transfer-note", "asks about a refund")
    agent1.click("#transfer-go")
    agent1.wait_for_selector("#call", state="hidden")
    agent1.wait_for_selector("#agent-state[data-state='wrap_up']")
    agent2.wait_for_selector("#offer", state="visible")
    assert agent2.text_content("#offer-transfer") == "Transferred by Rita: asks about a refund"
    assert customer.text_content("#cc-hold") == \
        "Transferring you to Sam — please stay on the line."
    hears_music(customer, not_=[FIRST, SECOND])
    agent2.click("#accept")
    customer.wait_for_selector("#cc-hold", state="hidden")
    customer.wait_for_function(f"() => {WIDGET}.agentName === 'Sam'")
    hears(customer, SECOND, others=[FIRST, *MUSIC])
    hears(agent2, CUSTOMER, others=MUSIC)
    recorder_up(agent2, "window.agentConsole.client.getStats()")
    agent2.wait_for_timeout(1500)
    customer.click("#cc-hangup")
    customer.wait_for_function(f"() => {WIDGET}.state === 'rating'")

    call, rec = closed_record(server, call_id)
    token = server.token("sup1", role="supervisor")
    steps = [(s["kind"], s.get("agent") or s.get("by")) for s in call["segments"]]
    assert steps == [("talk", "agent1"), ("hold", "agent1"), ("transfer", "agent1"),
                     ("talk", "agent2")], call["segments"]
    assert call["agent"] == "agent2" and call["hold"] >= 2.0, call
    # The recording: the customer on the left throughout; on the right agent1, then agent2.
    record = rec.json()
    assert set(record["legs"]) == {call["customerId"], "agent1", "agent2"}, record
    audio = requests.get(f"{server.url}/api/recordings/{call_id}/audio", timeout=10,
                         headers={"Authorization": f"Bearer {token}"}).content
    samples, rate = read_recording(audio)
    assert rate == RATE
    right = samples[:, 1]
    half = len(right) // 2
    assert abs(peak_frequency(right[:half // 2], rate) - FIRST) <= 10
    assert abs(peak_frequency(right[-int(2.5 * rate):], rate) - SECOND) <= 10
    assert abs(peak_frequency(samples[:, 0], rate) - CUSTOMER) <= 10

    # The supervisor opens the call: who talked with the customer, the hold and the transfer.
    sv = open_page("sue", server.url + "/console").page
    sv.fill("#agent-id", "sue")
    sv.fill("#password", PASSWORD)
    sv.click("#login")
    row = f"#sv-recent-body tr[data-call-id='{call_id}']"
    sv.click(f"{row} .r-open")
    sv.wait_for_selector("#sv-segments li[data-kind='transfer']")
    kinds = sv.eval_on_selector_all("#sv-segments li", "lis => lis.map(l => l.dataset.kind)")
    assert kinds == ["talk", "hold", "transfer", "talk"], kinds
    transfer = sv.text_content("#sv-segments li[data-kind='transfer']")
    assert "Transfer by Rita to Sam" in transfer and "answered" in transfer, transfer
    assert "asks about a refund" in transfer


def test_a_consult_is_private_then_a_conference_lets_all_three_hear_each_other(
        server_factory, host_site, launch_browser, open_page, tmp_path):
    agent1, agent2, customer, call_id, server = answered_call(
        server_factory, host_site, launch_browser, open_page, tmp_path)
    # Consult: the customer on hold hears the music and neither agent; the agents hear each
    # other and not the customer, whose browser has no connection with agent2.
    pick_colleague(agent1, agent2)
    agent1.fill("#transfer-note", "a second opinion")
    agent1.click("#transfer-consult")
    agent1.wait_for_selector("#consult-bar", state="visible")
    agent2.wait_for_selector("#offer", state="visible")
    assert agent2.text_content("#offer-transfer") == "Consult from Rita: a second opinion"
    agent2.click("#accept")
    agent1.wait_for_function("() => document.querySelector('#consult-status').textContent"
                             ".startsWith('Talking with')")
    hears(agent1, SECOND, others=[CUSTOMER, *MUSIC])
    hears(agent2, FIRST, others=[CUSTOMER, *MUSIC])
    hears_music(customer, not_=[FIRST, SECOND])
    assert customer.evaluate(f"() => [...{WIDGET}.client._mesh.peers.keys()]") == ["agent1"]

    # Conference: everyone hears the two others.
    agent1.click("#conference")
    agent1.wait_for_selector("#consult-bar", state="hidden")
    customer.wait_for_selector("#cc-hold", state="hidden")
    hears(customer, [FIRST, SECOND], others=MUSIC)
    hears(agent1, [CUSTOMER, SECOND], others=MUSIC)
    hears(agent2, [CUSTOMER, FIRST], others=MUSIC)

    # agent1 leaves the conference: the customer and agent2 go on.
    agent1.click("#hangup")
    agent1.wait_for_selector("#agent-state[data-state='wrap_up']")
    hears(customer, SECOND, others=[FIRST, *MUSIC])
    customer.click("#cc-hangup")
    customer.wait_for_function(f"() => {WIDGET}.state === 'rating'")
    call, _ = closed_record(server, call_id)
    steps = [(s["kind"], s.get("agent") or s.get("by"), s.get("outcome"))
             for s in call["segments"]]
    assert steps == [("talk", "agent1", None), ("consult", "agent1", "conference"),
                     ("talk", "agent2", None)], call["segments"]
