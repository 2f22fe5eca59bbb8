"""A callback in real browsers: the widget on the shop site offers "Call me back instead" once the
estimated wait reaches the queue's `callback_after`; the customer asks, moves to another page of
the site, the agent accepts the callback in the console, the widget on the new page rings, the
customer answers and audio flows both ways (getStats byte counters)."""

from __future__ import annotations

import pytest
from test_contact_center import (
    WIDGET,
    audio_rises,
    cc_config,
    open_console,
    open_widget,
    wait_for_audio,
)

pytestmark = pytest.mark.browser


def test_a_customer_asks_to_be_called_back_browses_on_and_answers_the_agents_ring(
        server_factory, host_site, open_page):
    config = cc_config(host_site.origin, wrap_up=0, callback_after=60,
                       callback_ring_timeout=30, callback_retry_delay=5)
    server = server_factory(demo_extra=config, signaling="resume_window = 15")
    agent = open_console(open_page, server, "agent1")
    agent.set_status("available")
    # The agent is busy with a first customer: the next one's estimated wait is a whole handle
    # time (120 s before the queue has any), past callback_after.
    first = open_widget(open_page, host_site, server, label="first customer")
    first.start(name="First Fay", video=False)
    agent.page.wait_for_selector("#offer", state="visible")
    agent.page.click("#accept")
    first.wait_state("connected")

    customer = open_widget(open_page, host_site, server)
    customer.start(name="Dana Shopper", video=False)
    customer.wait_state("queued")
    page = customer.page
    page.wait_for_selector("#cc-cb-ask", state="visible")
    assert int(page.evaluate("() => window.callcenterWidget.estimatedWait")) >= 60
    page.click("#cc-cb-ask")
    assert page.input_value("#cc-cb-name") == "Dana Shopper"
    page.fill("#cc-cb-email", "dana@shop.example")
    page.fill("#cc-cb-note", "about the red kettle")
    page.click("#cc-cb-submit")
    customer.wait_state("callback")
    assert page.text_content("#cc-cb-status") == "We will call you back — keep this site open."
    callback = page.evaluate("() => window.callcenterWidget.callback")
    call_id = callback["callId"]
    assert callback["position"] == 1
    assert customer.stats() == {}  # the microphone is closed while nobody is on the line

    # To the cart: the widget on the new page still waits for the callback.
    page.goto(host_site.page_url(server.url, path="/shop/cart"))
    page.wait_for_function(
        "id => window.callcenterWidget && window.callcenterWidget.state === 'callback'"
        " && window.callcenterWidget.callback.callId === id", arg=call_id)
    page.wait_for_function("() => window.callcenterWidget.client"
                           " && window.callcenterWidget.client.isLoggedIn")

    # The first call ends; the agent is offered the callback with the contact left.
    first.page.click("#cc-hangup")
    first.wait_state("rating")
    agent.page.wait_for_selector("#offer-callback", state="visible", timeout=10_000)
    offer = agent.events("OFFER")[-1]
    assert offer["callId"] == call_id
    assert offer["callback"]["contact"] == {"name": "Dana Shopper", "email": "dana@shop.example",
                                            "note": "about the red kettle"}
    assert "dana@shop.example" in agent.text("#offer-callback")
    customer_id = offer["customer"]["userID"]
    agent.page.click("#accept")

    # The widget on the cart page rings; the customer answers: audio both ways.
    page.wait_for_function(
        "() => window.callcenterWidget.state === 'callback_ringing'", timeout=10_000)
    assert page.text_content("#cc-cb-status") == "Ann is calling you back"
    page.wait_for_function(f"() => !{WIDGET}.getElementById('cc-panel').hidden")
    page.click("#cc-cb-answer")
    customer.wait_state("connected")
    assert page.evaluate("() => window.callcenterWidget.callId") == call_id
    page.wait_for_selector("#cc-agent", state="visible")
    assert page.text_content("#cc-agent") == "You are talking with Ann"
    wait_for_audio(agent, customer_id)
    wait_for_audio(customer, "agent1")
    audio_rises(agent, customer_id, customer, "agent1")

    page.click("#cc-hangup")
    customer.wait_state("rating")
