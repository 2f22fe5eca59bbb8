"""The pre-call check (the SDK's preCallCheck(), docs/protocol.md "Pre-call check") as the widget
shows it before a call and the console before an agent goes available: with a real coturn, fake
devices and a real server every check passes (the microphone's level measured from the fake
device's beep, the camera's frames, the server's round trip, a relay candidate from coturn with
the session's credentials); with the microphone refused the customer is told what to do; and the
call then starts on the session the check opened."""

from __future__ import annotations

import pytest
from test_recording_browser import AGENT, PASSWORD, demo_config

pytestmark = pytest.mark.browser

WIDGET = "window.callcenterWidget"
REFUSE_MICROPHONE = """() => {
  const real = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  navigator.mediaDevices.getUserMedia = (c) => c.audio
    ? Promise.reject(new DOMException('denied', 'NotAllowedError')) : real(c);
}"""


def checks(page, root: str = "") -> dict[str, dict]:
    """Each check's li: {ok, text}."""
    return page.evaluate(f"""() => Object.fromEntries([...{root or 'document'}
        .querySelectorAll('li[data-check]')].map((li) => [li.dataset.check,
        {{ ok: li.dataset.ok, text: li.textContent }}]))""")


def widget_page(open_page, host_site, server):
    page = open_page("customer", host_site.page_url(server.url, queue="q")).page
    page.wait_for_function(f"() => !!{WIDGET}")
    page.click("#cc-launcher")
    return page


def test_the_widgets_check_passes_with_real_devices_and_relay_then_the_call_starts(
        server_factory, host_site, open_page, turn):
    server = server_factory(turn.config(), demo_extra=demo_config(host_site.origin))
    agent = open_page(AGENT, server.url + "/console").page
    agent.fill("#agent-id", AGENT)
    agent.fill("#password", PASSWORD)
    agent.click("#login")
    agent.wait_for_selector("#setup-check")
    # The agent's check, beside the status, before going available.
    agent.click("#setup-check")
    agent.wait_for_selector("#setup-check-summary[data-state='ok']", timeout=20_000)
    seen = checks(agent, "document.getElementById('setup-check-list')")
    assert {k: v["ok"] for k, v in seen.items()} == {
        "browser": "true", "microphone": "true", "camera": "true", "speaker": seen["speaker"]["ok"],
        "server": "true", "stun": "null", "turn": "true"}, seen
    agent.select_option("#status", "available")
    agent.wait_for_selector("#agent-state[data-state='waiting']")

    customer = widget_page(open_page, host_site, server)
    customer.click("#cc-check")
    customer.wait_for_selector("#cc-check-summary[data-state='ok'], "
                               "#cc-check-summary[data-state='failed']", timeout=20_000)
    assert customer.text_content("#cc-check-summary") == "All set: you can make a call.", \
        customer.evaluate(f"() => JSON.stringify({WIDGET}.setupCheck.checks.slice(4))")
    result = customer.evaluate(f"() => {WIDGET}.setupCheck")
    by_id = {c["id"]: c for c in result["checks"]}
    assert result["ok"] is True and by_id["turn"]["ok"] is True, result
    assert float(by_id["microphone"]["detail"].rsplit(" ", 1)[1]) > 0.5, by_id["microphone"]
    assert "×" in by_id["camera"]["detail"] and not by_id["camera"]["detail"].startswith("0×")
    assert by_id["server"]["detail"].endswith("ms round trip")
    # The call starts on the session the check opened.
    user = customer.evaluate(f"() => {WIDGET}.client.userID")
    customer.click("#cc-start")
    agent.wait_for_selector("#offer", state="visible")
    assert customer.evaluate(f"() => {WIDGET}.client.userID") == user


def test_a_refused_microphone_is_explained_in_the_customers_words(
        server_factory, host_site, open_page):
    server = server_factory(demo_extra=demo_config(host_site.origin))
    customer = widget_page(open_page, host_site, server)
    customer.evaluate(REFUSE_MICROPHONE)
    customer.check("#cc-type-audio")
    customer.click("#cc-check")
    customer.wait_for_selector("#cc-check-summary[data-state='failed']", timeout=20_000)
    seen = checks(customer, f"{WIDGET}.root")
    assert seen["microphone"]["ok"] == "false"
    assert "Allow this site to use your microphone" in seen["microphone"]["text"]
    assert seen["camera"]["ok"] == "null"  # an audio call needs none
    assert seen["stun"]["ok"] == seen["turn"]["ok"] == "null"  # no such servers here
    assert customer.text_content("#cc-check-summary").startswith("Something needs your attention")
