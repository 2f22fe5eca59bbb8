"""Accessibility: axe-core (from npm, web/node_modules) finds no violation on any page people
use — the shop page with the widget (closed, open, waiting in line, in a call, rating), the agent
console (signed out, at work, offered a call, in it, wrapping up), the supervisor view and the
demo, and the Admin section."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from test_admin_console import admin_config, open_admin
from test_contact_center import Console, cc_config, open_console, open_widget
from test_supervisor_view import SUPERVISOR, SUPERVISOR_PASSWORD, sign_in
from test_supervisor_view import demo_config as supervised_config

pytestmark = pytest.mark.browser

AXE = Path(__file__).parents[2] / "web" / "node_modules" / "axe-core" / "axe.min.js"


def violations(page, within: str | None = None) -> list[str]:
    """What axe-core finds on the page as it is now (or in the element `within` only), one line
    per rule and element."""
    if not page.evaluate("() => !!window.axe"):
        page.add_script_tag(path=str(AXE))
    found = page.evaluate("""async (within) => {
        const context = within ? {include: [[within]]} : document;
        const result = await axe.run(context, {resultTypes: ['violations']});
        return result.violations.flatMap(v => v.nodes.map(n =>
            `${v.id} (${v.impact}): ${n.target.join(' ')} — `
            + (n.failureSummary.split('\\n')[1] || '')));
    }""", within)
    return found


def assert_none(found: dict[str, list[str]]) -> None:
    lines = [f"{state}: {line}" for state, found_there in found.items() for line in found_there]
    assert not lines, "\n".join(lines)


def test_the_widget_and_the_console_through_a_call_have_no_accessibility_violations(
        server_factory, host_site, open_page):
    # The test's host page is hostile on purpose (its own markup is not ours): only the widget
    # is checked on it. The stock shop page is checked whole below.
    server = server_factory(demo_extra=cc_config(host_site.origin))
    agent = open_console(open_page, server, "agent1")
    customer = open_widget(open_page, host_site, server)
    page = customer.page
    widget = "callcenter-widget"
    found = {"closed": violations(page, widget)}
    page.click("#cc-launcher")
    page.wait_for_selector("#cc-form", state="visible")
    found["open"] = violations(page, widget)
    customer.start(name="Ada Access", video=False)
    customer.wait_state("queued")
    found["queued"] = violations(page, widget)
    agent.set_status("available")
    agent.page.wait_for_selector("#offer", state="visible")
    found["console offered"] = violations(agent.page)
    agent.page.click("#accept")
    customer.wait_state("connected")
    agent.page.wait_for_selector("#call", state="visible")
    found["in a call"] = violations(page, widget)
    found["console in a call"] = violations(agent.page)
    page.click("#cc-hangup")
    customer.wait_state("rating")
    found["rating"] = violations(page, widget)
    agent.page.wait_for_selector("#wrap-up", state="visible")
    found["console wrap-up"] = violations(agent.page)
    assert_none(found)


def test_the_signed_out_console_the_supervisor_view_and_the_demo_have_no_violations(
        server_factory, host_site, open_page):
    server = server_factory(demo_extra=cc_config(host_site.origin))
    console = Console(open_page("agent1", server.url + "/console"), "agent1")
    found = {"signed out": violations(console.page)}
    console.login()
    found["at work"] = violations(console.page)
    demo = open_page("demo", server.url + "/demo").page
    found["demo"] = violations(demo)
    assert_none(found)


def test_the_supervisor_view_has_no_accessibility_violations(server_factory, host_site,
                                                             open_page):
    server = server_factory(demo_extra=supervised_config(host_site.origin))
    page = open_page(SUPERVISOR, server.url + "/console").page
    sign_in(page, SUPERVISOR, SUPERVISOR_PASSWORD)
    page.wait_for_selector("#supervisor", state="visible")
    page.wait_for_selector("#sv-summary dd[data-metric='offered']")
    assert_none({"supervisor view": violations(page)})


def test_the_admin_section_has_no_accessibility_violations_listing_editing_or_refusing(
        server_factory, open_page):
    server = server_factory(demo_extra=admin_config())
    page = open_admin(open_page, server)
    found = {"admin agents": violations(page, "#admin")}
    page.click("#ad-items-body tr[data-key='agent1'] .ad-edit")
    page.fill("#ad-f-queues", "nowhere")
    page.click("#ad-save")
    page.wait_for_function("() => document.getElementById('ad-err-queues').textContent !== ''")
    found["admin field error"] = violations(page, "#admin")
    page.select_option("#ad-kind", "queues")
    page.wait_for_selector("#ad-items-body tr[data-key='q']")
    found["admin queues"] = violations(page, "#admin")
    assert_none(found)


def test_the_stock_shop_page_with_its_widget_has_no_accessibility_violations(
        server_factory, open_page):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        shop_port = s.getsockname()[1]
    shop = f"http://127.0.0.1:{shop_port}"
    server = server_factory(demo_extra=cc_config(shop),
                            server_extra=f"shop_demo_port = {shop_port}")
    page = open_page("customer", shop).page
    page.wait_for_function("() => !!window.callcenterWidget")
    found = {"shop": violations(page)}
    page.click("#cc-launcher")
    page.wait_for_selector("#cc-form", state="visible")
    found["shop, widget open"] = violations(page)
    del server
    assert_none(found)


def test_the_console_fits_a_390_px_phone_and_its_table_headers_keep_their_words(
        server_factory, host_site, open_page):
    server = server_factory(demo_extra=cc_config(host_site.origin))
    agent = open_console(open_page, server, "agent1")
    agent.set_status("available")
    customer = open_widget(open_page, host_site, server)
    customer.start(name="Narrow Nell", video=False)
    agent.page.wait_for_selector("#offer", state="visible")
    agent.page.click("#accept")
    customer.wait_state("connected")
    customer.page.click("#cc-hangup")
    page = agent.page
    page.wait_for_selector("#calls-today-body tr[data-call-id]")  # a row, its recording cell too
    page.set_viewport_size({"width": 390, "height": 844})
    page.wait_for_timeout(300)
    sizes = page.evaluate("""() => ({page: document.documentElement.scrollWidth,
        wide: [...document.querySelectorAll('body *')].filter(e => {
            const r = e.getBoundingClientRect();
            return r.width && r.right > 391 && !e.closest('.table-scroll');
        }).map(e => e.id || e.className || e.tagName).slice(0, 10)})""")
    assert sizes["page"] <= 390, sizes
    # A header breaks between words if it must, never inside one ("Que ue"): a one-word
    # header's text is one line box.
    broken = page.evaluate("""() => [...document.querySelectorAll('#calls-today th')]
        .filter(th => !th.textContent.trim().includes(' '))
        .filter(th => { const r = document.createRange(); r.selectNodeContents(th);
                        return r.getClientRects().length > 1; })
        .map(th => th.textContent)""")
    assert broken == [], broken
