"""The contact center in real browsers: the customer widget on another site, the agent console.

A second origin (the `host_site` fixture: a tiny web server on another port) serves a shop page
with the one widget `<script>` tag; customers use it the way a visitor would. Agents sign in on
/console with an id and password. Media is checked through getStats() byte counters and the
<video> elements themselves, never by button clicks alone.
"""

from __future__ import annotations

import time

import pytest
from werkzeug.security import generate_password_hash

from callcenter.domain.credentials import mint

pytestmark = pytest.mark.browser

PASSWORDS = {"agent1": "pw-one", "agent2": "pw-two"}
NAMES = {"agent1": "Ann", "agent2": "Ben"}
# Hashing with scrypt is slow on purpose: once per module.
HASHES = {a: generate_password_hash(p) for a, p in PASSWORDS.items()}


def cc_config(origin: str, agents: tuple[str, ...] = ("agent1",), extra_queues: str = "",
              **queue: object) -> str:
    """The demo app's contact-center TOML: queue `sales` (settings overridable), any
    `extra_queues` tables, and the given agents (serving `sales`)."""
    settings = {"ring_timeout": 2, "wrap_up": 30, "when_empty": "join", "reject_delay": 5}
    settings.update(queue)
    lines = [f'allowed_origins = ["{origin}"]', "", "[[apps.queues]]", 'name = "sales"']
    for key, value in settings.items():
        lines.append(f"{key} = " + (f'"{value}"' if isinstance(value, str) else str(value)))
    lines.append(extra_queues)
    for agent in agents:
        lines += ["", "[[apps.agents]]", f'id = "{agent}"', f'name = "{NAMES[agent]}"',
                  f'password_hash = "{HASHES[agent]}"', 'queues = ["sales"]']
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------- page helpers

# A <video> really showing frames.
PLAYING = """v => !!v && !v.paused && v.readyState >= 2 && v.videoWidth > 0 && v.videoHeight > 0"""
WIDGET = "document.querySelector('callcenter-widget').shadowRoot"


class Console:
    """An agent on /console."""

    def __init__(self, traced, agent: str) -> None:
        self.traced = traced
        self.page = traced.page
        self.agent = agent

    def login(self) -> None:
        page = self.page
        assert page.input_value("#app-id") == "demo"
        page.fill("#agent-id", self.agent)
        page.fill("#password", PASSWORDS[self.agent])
        page.click("#login")
        page.wait_for_selector("#workspace", state="visible")
        assert page.text_content("#agent-name") == NAMES[self.agent]
        page.wait_for_selector(".queue-tile[data-queue='sales']")

    def set_status(self, status: str, reason: str | None = None) -> None:
        if reason is not None:
            self.page.select_option("#break-reason", reason)
        self.page.select_option("#status", status)
        self.page.wait_for_selector(f"#agent-status[data-status='{status}']")

    def wait_state(self, state: str, timeout: float = 10_000) -> None:
        self.page.wait_for_selector(f"#agent-state[data-state='{state}']", timeout=timeout)

    def wait_waiting_count(self, count: int, timeout: float = 10_000) -> None:
        self.page.wait_for_selector(
            f".queue-tile[data-queue='sales'][data-waiting='{count}']", timeout=timeout)

    def events(self, name: str) -> list[dict]:
        return self.page.evaluate(
            "n => window.agentConsole.events.filter(e => e.name === n).map(e => e.data)", name)

    def stats(self) -> dict:
        return self.page.evaluate("() => window.agentConsole.client.getStats()")

    def text(self, selector: str) -> str:
        return self.page.text_content(selector) or ""


class Widget:
    """A customer on the shop page, using the widget."""

    def __init__(self, traced) -> None:
        self.traced = traced
        self.page = traced.page
        self.page.wait_for_function("() => !!window.callcenterWidget")

    def start(self, name: str = "", topic: str = "", video: bool = True) -> None:
        page = self.page
        if page.is_hidden("#cc-panel"):
            page.click("#cc-launcher")
        page.wait_for_selector("#cc-form", state="visible")
        page.fill("#cc-name", name)
        page.fill("#cc-topic", topic)
        page.check("#cc-type-video" if video else "#cc-type-audio")
        page.click("#cc-start")

    def state(self) -> str:
        return self.page.evaluate("() => window.callcenterWidget.state")

    def wait_state(self, state: str, timeout: float = 10_000) -> None:
        self.page.wait_for_function("s => window.callcenterWidget.state === s", arg=state,
                                    timeout=timeout)

    def events(self, name: str) -> list[dict]:
        return self.page.evaluate(
            "n => window.callcenterWidget.events.filter(e => e.name === n).map(e => e.data)", name)

    def stats(self) -> dict:
        return self.page.evaluate("() => window.callcenterWidget.client.getStats()")


def assert_media_flows(a, a_peer: str, b, b_peer: str) -> None:
    """RTP really flows both ways, audio and video: every byte counter keeps rising."""
    first = {"a": a.stats()[a_peer], "b": b.stats()[b_peer]}
    time.sleep(1.5)
    second = {"a": a.stats()[a_peer], "b": b.stats()[b_peer]}
    for side in ("a", "b"):
        before, after = first[side], second[side]
        for key in ("audioBytesReceived", "videoBytesReceived", "audioBytesSent",
                    "videoBytesSent"):
            assert after[key] > before[key] > 0, (side, key, before, after)


def open_console(open_page, server, agent: str) -> Console:
    console = Console(open_page(agent, server.url + "/console"), agent)
    console.login()
    return console


def open_widget(open_page, host_site, server, label: str = "customer", **data: str) -> Widget:
    """A customer on the shop page; `data` adds widget attributes (queue="support", ...)."""
    url = host_site.page_url(server.url, **data)
    widget = Widget(open_page(label, url))
    # The widget imports the SDK from the server: a module script fetched in CORS mode, so the
    # server must answer /sdk/* with Access-Control-Allow-Origin. Say so plainly when it does not.
    loaded = widget.page.evaluate(
        "u => import(u + '/sdk/callcenter.js').then(() => 'ok', e => String(e))", server.url)
    assert loaded == "ok", f"the shop page cannot import {server.url}/sdk/callcenter.js " \
        f"(no CORS header on /sdk/*?): {loaded}"
    return widget


def answered_call(open_page, host_site, server, name: str = "Dana Shopper",
                  video: bool = False) -> tuple[Console, Widget, dict]:
    """agent1 signed in and available, a customer calling from the widget on the shop page, the
    agent accepting the offer: (agent, customer, offer) once the customer is connected."""
    agent = open_console(open_page, server, "agent1")
    agent.set_status("available")
    customer = open_widget(open_page, host_site, server)
    customer.start(name=name, video=video)
    agent.page.wait_for_selector("#offer", state="visible")
    offer = agent.events("OFFER")[-1]
    agent.page.click("#accept")
    customer.wait_state("connected")
    return agent, customer, offer


# ---------------------------------------------------------------------------- tests


def test_widget_on_another_origin_calls_and_agent_answers_with_media(
        server_factory, host_site, open_page):
    server = server_factory(demo_extra=cc_config(host_site.origin))
    agent = open_console(open_page, server, "agent1")
    # Signed in, not yet available: said in words, with no reason the agent did not pick and
    # no "Waiting" for calls that will not come.
    agent.page.wait_for_selector("#agent-status[data-status='break']")
    assert agent.text("#agent-status") == "On break (just signed in)"
    assert agent.page.input_value("#break-reason") == ""  # "Reason…": not one they picked
    assert agent.text("#agent-state") == "Not taking calls"
    agent.set_status("available")
    agent.wait_state("waiting")
    assert agent.text("#agent-state") == "Waiting"

    customer = open_widget(open_page, host_site, server)
    page = customer.page
    # The host page's hostile CSS stays outside: the launcher is visible and styled by the widget.
    assert page.is_hidden("#host-button")
    assert page.is_visible("#cc-launcher")
    assert page.evaluate(f"() => getComputedStyle({WIDGET}.getElementById('cc-launcher'))"
                         ".fontFamily").find("Comic") == -1
    customer.start(name="Dana Shopper", topic="Where is my order 1234?", video=True)

    # The agent is offered the call with what the customer said and where they were.
    agent.page.wait_for_selector("#offer", state="visible")
    assert agent.text("#offer-name") == "Dana Shopper"
    assert agent.text("#offer-topic") == "Where is my order 1234?"
    assert agent.text("#offer-url").startswith(host_site.origin + "/shop?")
    assert agent.text("#offer-type") == "video"
    assert agent.text("#offer-queue") == "sales"
    assert agent.text("#offer-language")  # navigator.language, e.g. en-US
    assert agent.page.get_attribute("#offer-verified", "data-verified") == "false"
    agent.wait_state("ringing")
    offer = agent.events("OFFER")[-1]
    assert offer["customer"]["userID"].startswith("c_")
    call_id = offer["callId"]

    agent.page.click("#accept")
    customer.wait_state("connected")
    agent.page.wait_for_selector("#call", state="visible")
    agent.wait_state("in_call")
    assert agent.text("#call-customer") == "Dana Shopper"
    # The customer is told who answered.
    page.wait_for_selector("#cc-agent", state="visible")
    assert page.text_content("#cc-agent") == "You are talking with Ann"
    assert page.text_content("#cc-close") == "\u2212"  # folds away while the call goes on
    # Escape folds the panel away mid-call; the launcher brings it back, the call unharmed.
    page.keyboard.press("Escape")
    page.wait_for_selector("#cc-panel", state="hidden")
    page.click("#cc-launcher")
    page.wait_for_selector("#cc-panel", state="visible")
    assert customer.state() == "connected"
    # Both see each other's camera...
    agent.page.wait_for_function(f"() => ({PLAYING})(document.querySelector('#remote-view video'))")
    page.wait_for_function(f"() => ({PLAYING})({WIDGET}.querySelector('#cc-remote video'))")
    page.wait_for_function(f"() => ({PLAYING})({WIDGET}.getElementById('cc-local'))")
    # ...and RTP flows both ways.
    assert_media_flows(agent, offer["customer"]["userID"], customer, "agent1")
    page.wait_for_function(f"() => {WIDGET}.getElementById('cc-timer').textContent !== '00:00'")
    assert agent.text("#call-timer") != "00:00"
    # Mute reaches the agent's side.
    page.click("#cc-mute")
    agent.page.wait_for_function("""() => window.agentConsole.events.some(e =>
        e.name === 'USER_AUDIO_AVAILABLE' && e.data.isAudioAvailable === false)""")
    assert page.get_attribute("#cc-mute", "aria-pressed") == "true"
    page.click("#cc-mute")

    # The agent hangs up: the customer is asked for a rating, the agent wraps up.
    agent.page.click("#hangup")
    customer.wait_state("rating")
    agent.page.wait_for_selector("#wrap-up", state="visible")
    agent.wait_state("wrap_up")
    assert agent.text("#wrap-up-countdown")
    agent.page.select_option("#disposition", "resolved")
    agent.page.fill("#notes", "Order 1234 ships tomorrow.")
    agent.page.click("#wrap-up-submit")
    agent.wait_state("waiting")
    agent.page.wait_for_selector("#wrap-up", state="hidden")
    assert agent.page.get_attribute("#agent-status", "data-status") == "available"

    page.click("#cc-stars button[data-rating='4']")
    customer.wait_state("thanks")
    assert customer.events("rated") == [{"callId": call_id, "rating": 4}]
    # The rating is stored: the agent's calls-today list shows it with the disposition.
    agent.page.click("#calls-refresh")
    row = f"#calls-today-body tr[data-call-id='{call_id}']"
    agent.page.wait_for_selector(f"{row} .c-rating[data-rating='4']")
    assert agent.text(f"{row} .c-disposition") == "resolved"
    assert agent.text(f"{row} .c-customer") == "Dana Shopper"
    # Devices released and connections closed on both sides.
    assert customer.stats() == {} and agent.stats() == {}


def test_customer_cancels_while_queued_and_unanswered_offer_moves_to_second_agent(
        server_factory, host_site, open_page):
    server = server_factory(demo_extra=cc_config(host_site.origin, ("agent1", "agent2")))
    ann = open_console(open_page, server, "agent1")
    ann.set_status("break", reason="lunch")
    assert ann.text("#agent-status") == "On break (lunch)"

    # Nobody is available: the customer waits in line, and the agent's tile shows the call...
    customer = open_widget(open_page, host_site, server)
    customer.start(name="Queued Quinn", topic="cancel me", video=False)
    customer.wait_state("queued")
    assert customer.page.text_content("#cc-position") == "You are next in line"
    # No agent is available: no made-up estimate.
    assert customer.page.text_content("#cc-wait") == \
        "No agent is available right now. Please stay in line."
    ann.wait_waiting_count(1)
    # ...until they cancel: the call is abandoned and the queue is empty again.
    customer.page.click("#cc-cancel")
    customer.wait_state("ended")
    assert customer.page.get_attribute("#cc-message", "data-outcome") == "cancelled"
    assert customer.events("CALL_END")[-1]["reason"] == "cancelled"
    ann.wait_waiting_count(0)
    assert ann.events("OFFER") == []

    # Two available agents; whoever is offered the call first lets it ring out (2 s).
    ben = open_console(open_page, server, "agent2")
    ann.set_status("available")
    ben.set_status("available")
    for agent in (ann, ben):
        agent.wait_state("waiting")
    customer.page.click("#cc-again")
    customer.start(name="Second Try", topic="ring out", video=True)
    deadline = time.monotonic() + 10
    first = None
    while first is None and time.monotonic() < deadline:
        for agent in (ann, ben):
            if agent.page.is_visible("#offer"):
                first = agent
                break
        else:
            time.sleep(0.05)
    assert first is not None, "no agent was offered the call"
    # While an agent's phone rings, the customer is told so, not a wait.
    customer.page.wait_for_function(
        f"() => {WIDGET}.getElementById('cc-wait').textContent === 'An agent is being connected…'",
        timeout=3_000)
    second = ben if first is ann else ann
    offered_at = time.monotonic()
    assert first.text("#offer-name") == "Second Try"
    assert second.page.is_hidden("#offer")

    second.page.wait_for_selector("#offer", state="visible", timeout=8_000)
    assert 1.0 < time.monotonic() - offered_at < 6
    assert second.text("#offer-name") == "Second Try"
    first.page.wait_for_selector("#offer", state="hidden")
    cancel = first.events("CALLING_CANCEL")[-1]
    assert cancel["reason"] == "timeout"
    assert cancel["callId"] == second.events("OFFER")[-1]["callId"]
    first.wait_state("waiting")

    second.page.click("#accept")
    customer.wait_state("connected")
    second.wait_state("in_call")
    customer.page.click("#cc-hangup")
    customer.wait_state("rating")
    second.page.wait_for_selector("#wrap-up", state="visible")
    # The one who let it ring out was not given it back meanwhile.
    assert len(first.events("OFFER")) == 1


INJECTED_NAME = "<img src=x onerror=window.__pwned=1>"
INJECTED_TOPIC = "<script>window.__pwned=2</script><b>bold</b>"


def test_customer_text_with_html_is_shown_as_text_in_the_console(
        server_factory, host_site, open_page):
    server = server_factory(demo_extra=cc_config(host_site.origin))
    agent = open_console(open_page, server, "agent1")
    agent.set_status("available")
    customer = open_widget(open_page, host_site, server)
    customer.start(name=INJECTED_NAME, topic=INJECTED_TOPIC, video=False)

    agent.page.wait_for_selector("#offer", state="visible")
    assert agent.text("#offer-name") == INJECTED_NAME
    assert agent.text("#offer-topic") == INJECTED_TOPIC
    assert agent.page.query_selector_all("#offer img, #offer script, #offer b") == []

    agent.page.click("#accept")
    customer.wait_state("connected")
    # The customer can connect before the agent's accept ack reaches the console.
    agent.page.wait_for_selector("#call", state="visible")
    assert agent.text("#call-customer") == INJECTED_NAME
    customer.page.click("#cc-hangup")
    agent.page.wait_for_selector("#wrap-up", state="visible")
    assert agent.text("#wrap-up-customer") == INJECTED_NAME
    agent.page.select_option("#disposition", "other")
    agent.page.fill("#disposition-other", "<i>custom</i>")
    agent.page.click("#wrap-up-submit")
    agent.wait_state("waiting")
    agent.page.wait_for_selector("#calls-today-body tr")
    assert agent.text("#calls-today-body tr .c-customer") == INJECTED_NAME
    assert agent.text("#calls-today-body tr .c-disposition") == "<i>custom</i>"
    assert agent.page.query_selector_all("main img, main script, main b, main i") == []
    # Give a stray onerror handler time to run: nothing may have executed, on either page.
    agent.page.wait_for_timeout(300)
    for page in (agent.page, customer.page):
        assert page.evaluate("() => window.__pwned") is None


def test_widget_explains_queue_full_no_agents_and_queue_timeout(
        server_factory, host_site, open_page):
    support = '[[apps.queues]]\nname = "support"\nwhen_empty = "refuse"\n'
    server = server_factory(demo_extra=cc_config(host_site.origin, extra_queues=support,
                                                 max_length=1, max_wait=3))
    first = open_widget(open_page, host_site, server, "first")
    first.start(name="First", video=False)
    first.wait_state("queued")
    queued_at = time.monotonic()

    # The queue holds one call: the next customer is told the lines are busy.
    second = open_widget(open_page, host_site, server, "second")
    second.start(name="Second", video=False)
    second.wait_state("ended")
    assert second.page.get_attribute("#cc-message", "data-outcome") == "QUEUE_FULL"
    assert "lines are busy" in second.page.text_content("#cc-message")

    # A queue that refuses calls when nobody staffs it.
    third = open_widget(open_page, host_site, server, "third", queue="support")
    third.start(video=False)
    third.wait_state("ended")
    assert third.page.get_attribute("#cc-message", "data-outcome") == "NO_AGENTS"
    assert "Nobody is available" in third.page.text_content("#cc-message")

    # Nobody answers within max_wait (no overflow): the first call ends with queue_timeout.
    first.wait_state("ended", timeout=8_000)
    assert 1.5 < time.monotonic() - queued_at < 6
    assert first.page.get_attribute("#cc-message", "data-outcome") == "queue_timeout"
    assert first.events("CALL_END")[-1]["reason"] == "queue_timeout"
    # No rating is asked for a call nobody answered; "Call again" brings the form back.
    assert first.events("rated") == []
    first.page.click("#cc-again")
    first.page.wait_for_selector("#cc-form", state="visible")


def test_identity_minted_by_the_business_reaches_the_agent_as_verified(
        server_factory, host_site, open_page):
    server = server_factory(demo_extra=cc_config(host_site.origin))
    agent = open_console(open_page, server, "agent1")
    agent.set_status("available")
    token = mint("demo", server.secrets["demo"], "vip_42", "customer", 600,
                 claims={"name": "Victoria Verified", "attrs": {"tier": "gold"}})
    customer = open_widget(open_page, host_site, server,
                           **{"user-id": "vip_42", "user-sig": token})
    # What the widget's form says is not verified; the claims in the credential are.
    customer.start(name="Not Victoria", topic="upgrade", video=False)
    agent.page.wait_for_selector("#offer", state="visible")
    assert agent.page.get_attribute("#offer-verified", "data-verified") == "true"
    verified = agent.text("#offer-verified")
    assert "Victoria Verified" in verified and "tier: gold" in verified
    assert agent.text("#offer-name") == "Victoria Verified"
    assert agent.events("OFFER")[-1]["customer"]["attributes"]["name"] == "Not Victoria"
    assert customer.page.evaluate("() => window.callcenterWidget.client.userID") == "vip_42"
    customer.page.click("#cc-cancel")
    agent.page.wait_for_selector("#offer", state="hidden")
    assert agent.events("CALLING_CANCEL")[-1]["reason"] == "abandoned"
    customer.wait_state("ended")


def test_the_console_keeps_the_agent_signed_in_across_a_reload_until_they_sign_out(
        server_factory, host_site, open_page):
    server = server_factory(demo_extra=cc_config(host_site.origin))
    agent = open_console(open_page, server, "agent1")
    agent.set_status("available")
    page = agent.page

    page.reload()
    page.wait_for_selector("#workspace", state="visible")
    assert page.is_hidden("#login-section") and agent.text("#agent-name") == "Ann"
    # Back within the agent's grace period: the status they chose is kept.
    page.wait_for_selector("#agent-status[data-status='available']")
    assert "userSig" not in page.url and "ey" not in page.url  # never in a URL

    page.click("#logout")
    page.wait_for_selector("#login-section", state="visible")
    page.reload()
    page.wait_for_selector("#login-section", state="visible")
    page.wait_for_timeout(500)  # nothing signs in by itself after a sign-out
    assert page.is_hidden("#workspace")


def test_an_agent_whose_connection_drops_mid_call_resumes_and_media_never_stops(
        server_factory, host_site, open_page):
    server = server_factory(demo_extra=cc_config(host_site.origin), signaling="resume_window = 15")
    agent, customer, offer = answered_call(open_page, host_site, server)
    customer_id = offer["customer"]["userID"]
    agent.wait_state("in_call")
    # Mid-call: the media is up both ways before the drop. (A signal still in flight when a
    # transport closes is lost with it: that is not what this test is about.)
    wait_for_audio(agent, customer_id)
    wait_for_audio(customer, "agent1")

    # The agent's network drops the signaling connection (the transport closes under it);
    # socket.io reconnects by itself and the SDK resumes the session.
    agent.page.evaluate("() => window.agentConsole.client._socket.io.engine.close()")
    customer.page.wait_for_function(
        f"() => {WIDGET}.getElementById('cc-link').hidden === false", timeout=10_000)
    link = customer.page.evaluate(f"() => {WIDGET}.getElementById('cc-link').textContent")
    assert "agent" in link
    agent.page.wait_for_function(
        "() => window.agentConsole.events.some(e => e.name === 'RECONNECTED')", timeout=10_000)
    customer.page.wait_for_function(f"() => {WIDGET}.getElementById('cc-link').hidden")
    # The call went on throughout: same call, both sides in it, audio still flowing both ways.
    assert customer.state() == "connected"
    assert agent.page.is_visible("#call")
    first = {"a": agent.stats()[customer_id], "c": customer.stats()["agent1"]}
    time.sleep(1.5)
    second = {"a": agent.stats()[customer_id], "c": customer.stats()["agent1"]}
    for side in ("a", "c"):
        for key in ("audioBytesReceived", "audioBytesSent"):
            assert second[side][key] > first[side][key] > 0, (side, key)
    # Requests work on the resumed session: the agent hangs up and wraps up as usual.
    agent.page.click("#hangup")
    customer.wait_state("rating")
    agent.wait_state("wrap_up")


def audio_rises(a, a_peer: str, b, b_peer: str) -> None:
    """Audio flows both ways between a and b: sent and received bytes keep rising."""
    first = {"a": a.stats()[a_peer], "b": b.stats()[b_peer]}
    time.sleep(1.5)
    second = {"a": a.stats()[a_peer], "b": b.stats()[b_peer]}
    for side in ("a", "b"):
        for key in ("audioBytesReceived", "audioBytesSent"):
            assert second[side][key] > first[side][key] > 0, (side, key, first, second)


def wait_for_audio(side, peer: str, timeout: float = 10) -> None:
    """Until audio from `peer` arrives on a connection that has just been made, and the
    connection's own sent audio shows in its statistics (they lag what is sent: a first sample
    taken at once can still say 0 bytes sent while the peer already hears it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        stats = side.stats().get(peer) or {}
        if stats.get("audioBytesReceived", 0) > 0 and stats.get("audioBytesSent", 0) > 0:
            return
        time.sleep(0.2)
    raise AssertionError(f"no audio from {peer} within {timeout} s: {side.stats()}")


def test_an_agent_who_reloads_the_console_mid_call_keeps_the_call_and_the_audio_comes_back(
        server_factory, host_site, open_page):
    server = server_factory(demo_extra=cc_config(host_site.origin), signaling="resume_window = 15")
    agent, customer, offer = answered_call(open_page, host_site, server)
    customer_id, call_id = offer["customer"]["userID"], offer["callId"]
    agent.page.wait_for_selector("#call", state="visible")
    wait_for_audio(agent, customer_id)
    audio_rises(agent, customer_id, customer, "agent1")

    # The console asks before leaving a call; the agent confirms, and the page reloads.
    agent.page.once("dialog", lambda dialog: dialog.accept())
    agent.page.reload()
    agent.page.wait_for_selector("#call", state="visible")
    assert agent.text("#call-customer") == "Dana Shopper"
    assert agent.page.is_hidden("#login-section")
    agent.page.wait_for_function(
        "() => window.agentConsole.events.some(e => e.name === 'resumed')")
    assert agent.page.evaluate("() => window.agentConsole.client.callId") == call_id
    # The customer was told, and the call never left "connected".
    assert any(e.get("userID") == "agent1"
               for e in customer.events("RECONNECTING")), customer.events("RECONNECTING")
    customer.page.wait_for_function(f"() => {WIDGET}.getElementById('cc-link').hidden")
    assert customer.state() == "connected"
    # New connections both ways: the new page's audio reaches the customer and back.
    wait_for_audio(agent, customer_id)
    audio_rises(agent, customer_id, customer, "agent1")

    agent.page.click("#hangup")
    customer.wait_state("rating")
    agent.wait_state("wrap_up")


def test_a_customer_who_moves_to_another_page_keeps_their_place_in_line_and_then_their_call(
        server_factory, host_site, open_page):
    server = server_factory(demo_extra=cc_config(host_site.origin), signaling="resume_window = 15")
    agent = open_console(open_page, server, "agent1")  # logged in, on break: the call waits
    customer = open_widget(open_page, host_site, server)
    customer.start(name="Dana Shopper", video=False)
    customer.wait_state("queued")
    call_id = customer.page.evaluate("() => window.callcenterWidget.callId")

    # Mid-queue, to the cart: the widget on the new page is still in line, same call.
    customer.page.goto(host_site.page_url(server.url, path="/shop/cart"))
    customer.page.wait_for_function(
        "id => window.callcenterWidget && window.callcenterWidget.state === 'queued'"
        " && window.callcenterWidget.callId === id", arg=call_id)
    assert customer.page.evaluate("() => window.callcenterWidget.position") == 1

    agent.set_status("available")
    agent.page.wait_for_selector("#offer", state="visible")
    offer = agent.events("OFFER")[-1]
    assert offer["callId"] == call_id
    customer_id = offer["customer"]["userID"]
    agent.page.click("#accept")
    customer.wait_state("connected")
    wait_for_audio(agent, customer_id)
    audio_rises(agent, customer_id, customer, "agent1")

    # Mid-call, to the checkout: the call goes on with the agent, audio both ways again.
    customer.page.goto(host_site.page_url(server.url, path="/shop/checkout"))
    customer.page.wait_for_function(
        "id => window.callcenterWidget && window.callcenterWidget.state === 'connected'"
        " && window.callcenterWidget.callId === id", arg=call_id)
    wait_for_audio(customer, "agent1")
    audio_rises(agent, customer_id, customer, "agent1")
    assert agent.page.is_visible("#call")

    customer.page.click("#cc-hangup")
    customer.wait_state("rating")
    agent.wait_state("wrap_up")
