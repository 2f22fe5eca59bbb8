"""Supervisor monitoring with real browsers, checked by ear (hearing.py): each person's Chromium
plays a tone of its own as the microphone — the customer 440 Hz (the widget), the agent 880 Hz, the
supervisor 1320 Hz and a colleague 1100 Hz (all three on /console) — and what each page plays is
analysed.

From the supervisor view's "Calls now": in listen the supervisor hears the customer and the agent
and neither of them hears the supervisor; in whisper the agent hears the supervisor and the
customer does not; in barge both do (a hold meanwhile gives the customer the music alone, and
Resume the mix again); after Stop nobody does. The agent's console says who
monitors and how. The customer's page never has a connection with the supervisor (its SDK's
peers), and the record, through the REST API, has the monitoring with its changes of mode. An
agent who reloads offers the supervisor the call again; in a conference the supervisor monitors
the agent who joined last, with the customer's voice.
"""

from __future__ import annotations

import time

import pytest
import requests
from hearing import HEARD_DB, NOTE_PLAYED, UNHEARD_DB, heard, listen
from test_call_control_browser import hears_music, pick_colleague, sign_in
from test_recording_browser import PASSWORD, tone_wav
from werkzeug.security import generate_password_hash

pytestmark = pytest.mark.browser

CUSTOMER, AGENT, SUPERVISOR, COLLEAGUE = 440, 880, 1320, 1100
TONES = [CUSTOMER, AGENT, SUPERVISOR, COLLEAGUE]
WIDGET = "window.callcenterWidget"


def config(origin: str) -> str:
    return "\n".join([
        f'allowed_origins = ["{origin}"]', "",
        "[[apps.queues]]", 'name = "q"', "ring_timeout = 15", "wrap_up = 30",
        'when_empty = "join"', "",
        "[[apps.agents]]", 'id = "agent1"', 'name = "Rita"',
        f'password_hash = "{generate_password_hash(PASSWORD)}"', 'queues = ["q"]', "",
        "[[apps.agents]]", 'id = "agent2"', 'name = "Sam"',
        f'password_hash = "{generate_password_hash(PASSWORD)}"', 'queues = ["q"]', "",
        "[[apps.supervisors]]", 'id = "sue"', 'name = "Sue"',
        f'password_hash = "{generate_password_hash(PASSWORD)}"', ""])


def hears(page, tones: list[float], *, not_: list[float]) -> dict[float, float]:
    """Wait (up to 8 s) until `page` hears every one of `tones` and none of `not_`."""
    deadline = time.monotonic() + 8
    while True:
        levels = heard(page, TONES)
        if min(levels[t] for t in tones) >= HEARD_DB and \
                max((levels[o] for o in not_), default=0) <= UNHEARD_DB:
            return levels
        if time.monotonic() >= deadline:
            raise AssertionError(f"does not hear {tones} without {not_}: {levels}")


def customer_peers(customer) -> list[str]:
    """Whom the customer's SDK has a peer connection with."""
    return customer.evaluate(f"() => [...{WIDGET}.client._mesh.peers.keys()]")


def answered_call(server_factory, host_site, launch_browser, open_page, tmp_path,
                  signaling: str = "resume_window = 0", colleague: list | None = None):
    """The agent (Rita) talking with the widget's customer, the supervisor (Sue) in the
    supervisor view: (server, agent, supervisor, customer, call id, the call's row there).
    With `colleague` (a list), agent2 (Sam) signs in too, on a break, and is appended to it."""
    server = server_factory("", demo_extra=config(host_site.origin), signaling=signaling)
    tones = TONES if colleague is not None else [CUSTOMER, AGENT, SUPERVISOR]
    browsers = {tone: launch_browser(fake_audio=tone_wav(tmp_path / f"{tone}.wav", tone))
                for tone in tones}
    agent = sign_in(open_page, browsers[AGENT], server, "agent1", "available")
    if colleague is not None:
        colleague.append(sign_in(open_page, browsers[COLLEAGUE], server, "agent2", "break"))
    sv = open_page("sue", server.url + "/console", in_browser=browsers[SUPERVISOR]).page
    sv.fill("#agent-id", "sue")
    sv.fill("#password", PASSWORD)
    sv.click("#login")
    sv.wait_for_selector("#supervisor", state="visible")
    listen(sv)
    customer = open_page("customer", host_site.page_url(server.url, queue="q"),
                         in_browser=browsers[CUSTOMER]).page
    customer.wait_for_function(f"() => !!{WIDGET}")
    listen(customer)
    customer.click("#cc-launcher")
    customer.check("#cc-type-audio")
    customer.fill("#cc-name", "Monitored Customer")
    customer.click("#cc-start")
    agent.wait_for_selector("#offer", state="visible")
    call_id = customer.evaluate(f"() => {WIDGET}.callId")
    agent.click("#accept")
    customer.wait_for_function(f"() => {WIDGET}.state === 'connected'")
    hears(customer, [AGENT], not_=[SUPERVISOR])
    hears(agent, [CUSTOMER], not_=[SUPERVISOR])
    row = f"#sv-calls-body tr[data-call-id='{call_id}']"
    sv.wait_for_selector(f"{row}[data-state='in_call'] button.m-listen")
    return server, agent, sv, customer, call_id, row


def test_a_supervisor_listens_whispers_and_barges_in_and_the_customer_never_connects_to_them(
        server_factory, host_site, launch_browser, open_page, tmp_path):
    server, agent, sv, customer, call_id, row = answered_call(
        server_factory, host_site, launch_browser, open_page, tmp_path)
    assert sv.is_disabled(f"{row} button.m-stop")

    # Listen: the supervisor hears both sides; nobody hears the supervisor.
    sv.click(f"{row} button.m-listen")
    sv.wait_for_selector(f"{row}[data-monitoring='listen']")
    assert sv.get_attribute(f"{row} button.m-listen", "aria-pressed") == "true"
    agent.wait_for_selector("#call-monitor", state="visible")
    assert agent.text_content("#call-monitor") == "Sue is listening"
    hears(sv, [CUSTOMER, AGENT], not_=[])
    hears(agent, [CUSTOMER], not_=[SUPERVISOR])
    hears(customer, [AGENT], not_=[SUPERVISOR])
    assert customer_peers(customer) == ["agent1"]
    sv.wait_for_selector(f"{row} .l-monitor button.m-whisper")

    # Whisper: the agent hears the supervisor, the customer does not.
    sv.click(f"{row} button.m-whisper")
    sv.wait_for_selector(f"{row}[data-monitoring='whisper']")
    agent.wait_for_selector("#call-monitor[data-mode='whisper']")
    assert agent.text_content("#call-monitor").startswith("Sue is whispering to you")
    hears(agent, [CUSTOMER, SUPERVISOR], not_=[])
    hears(customer, [AGENT], not_=[SUPERVISOR])
    hears(sv, [CUSTOMER, AGENT], not_=[])

    # Barge: both hear the supervisor (the customer through the agent's mix).
    sv.click(f"{row} button.m-barge")
    sv.wait_for_selector(f"{row}[data-monitoring='barge']")
    agent.wait_for_selector("#call-monitor[data-mode='barge']")
    hears(customer, [AGENT, SUPERVISOR], not_=[])
    hears(agent, [CUSTOMER, SUPERVISOR], not_=[])
    assert customer_peers(customer) == ["agent1"]
    # A hold during barge: the customer hears the music and neither voice; Resume brings the
    # mix back.
    agent.keyboard.press("Alt+H")
    customer.wait_for_selector("#cc-hold", state="visible")
    hears_music(customer, not_=[AGENT, SUPERVISOR])
    agent.click("#hold")
    customer.wait_for_selector("#cc-hold", state="hidden")
    hears(customer, [AGENT, SUPERVISOR], not_=[])

    # Stop: nobody hears the supervisor; the customer hears the agent alone again.
    sv.click(f"{row} button.m-stop")
    sv.wait_for_selector(f"{row}[data-monitoring='']")
    agent.wait_for_selector("#call-monitor", state="hidden")
    hears(customer, [AGENT], not_=[SUPERVISOR])
    hears(agent, [CUSTOMER], not_=[SUPERVISOR])
    assert customer_peers(customer) == ["agent1"]
    # The customer's SDK was never told of it.
    names = customer.evaluate(f"() => {WIDGET}.client._monitor")
    assert names is None
    customer.click("#cc-hangup")
    customer.wait_for_function(f"() => {WIDGET}.state === 'rating'")

    token = server.token("sue", role="supervisor")
    deadline = time.monotonic() + 10
    while True:
        call = requests.get(f"{server.url}/api/calls/{call_id}", timeout=5,
                            headers={"Authorization": f"Bearer {token}"}).json()["call"]
        if call["endedAt"] is not None:
            break
        assert time.monotonic() < deadline, call
        time.sleep(0.2)
    monitors = [s for s in call["segments"] if s["kind"] == "monitor"]
    assert [(s["by"], s["agent"], s["mode"], s["reason"]) for s in monitors] == \
        [("sue", "agent1", "listen", "stopped")], call["segments"]
    assert [c["mode"] for c in monitors[0]["changes"]] == ["whisper", "barge"]


def test_an_agent_who_reloads_mid_monitoring_offers_the_supervisor_the_call_again(
        server_factory, host_site, launch_browser, open_page, tmp_path):
    _, agent, sv, customer, call_id, row = answered_call(
        server_factory, host_site, launch_browser, open_page, tmp_path,
        signaling="resume_window = 15")
    sv.click(f"{row} button.m-listen")
    agent.wait_for_selector("#call-monitor", state="visible")
    hears(sv, [CUSTOMER, AGENT], not_=[])

    # The console asks before leaving a call; the agent confirms, and the page reloads. The
    # new page plays the supervisor from an Audio in no document, perhaps before the test
    # could listen: the hearing starts with the page.
    agent.add_init_script(NOTE_PLAYED)
    agent.once("dialog", lambda dialog: dialog.accept())
    agent.reload()
    agent.wait_for_selector("#call", state="visible")
    agent.wait_for_selector("#call-monitor", state="visible")
    assert agent.text_content("#call-monitor") == "Sue is listening"
    hears(sv, [CUSTOMER, AGENT], not_=[])
    hears(agent, [CUSTOMER], not_=[SUPERVISOR])

    sv.wait_for_selector(f"{row} .l-monitor button.m-whisper")
    sv.click(f"{row} button.m-whisper")
    agent.wait_for_selector("#call-monitor[data-mode='whisper']")
    hears(agent, [CUSTOMER, SUPERVISOR], not_=[])
    hears(customer, [AGENT], not_=[SUPERVISOR])
    assert customer_peers(customer) == ["agent1"]


def test_in_a_conference_the_supervisor_monitors_the_agent_who_joined_last_and_the_customer(
        server_factory, host_site, launch_browser, open_page, tmp_path):
    made: list = []
    _, agent1, sv, customer, call_id, row = answered_call(
        server_factory, host_site, launch_browser, open_page, tmp_path, colleague=made)
    agent2 = made[0]
    pick_colleague(agent1, agent2)
    agent1.click("#transfer-consult")
    agent2.wait_for_selector("#offer", state="visible")
    agent2.click("#accept")
    agent1.wait_for_function("() => document.querySelector('#consult-status').textContent"
                             ".startsWith('Talking with')")
    agent1.click("#conference")
    customer.wait_for_selector("#cc-hold", state="hidden")
    hears(customer, [AGENT, COLLEAGUE], not_=[SUPERVISOR])
    sv.wait_for_selector(f"{row} .l-agent:text-is('Sam')")

    # Sam joined last: Sue monitors Sam, with the customer's voice (agent2 has a connection
    # with agent1 too; the customer's is the one sent).
    sv.click(f"{row} button.m-listen")
    agent2.wait_for_selector("#call-monitor", state="visible")
    assert agent2.text_content("#call-monitor") == "Sue is listening"
    assert agent1.is_hidden("#call-monitor")
    hears(sv, [CUSTOMER, COLLEAGUE], not_=[])
    sv.wait_for_selector(f"{row} .l-monitor button.m-whisper")
    sv.click(f"{row} button.m-whisper")
    agent2.wait_for_selector("#call-monitor[data-mode='whisper']")
    hears(agent2, [CUSTOMER, AGENT, SUPERVISOR], not_=[])
    hears(customer, [AGENT, COLLEAGUE], not_=[SUPERVISOR])
    hears(agent1, [CUSTOMER, COLLEAGUE], not_=[SUPERVISOR])
    assert customer_peers(customer) == ["agent1", "agent2"]
