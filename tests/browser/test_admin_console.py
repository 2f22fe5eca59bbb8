"""The console's Admin section in a real browser: an admin adds an agent, is told beside the
field what is wrong with a weak password, and the new agent signs in on another console at once,
without a restart."""

from __future__ import annotations

import pytest
from werkzeug.security import generate_password_hash

pytestmark = pytest.mark.browser

ADMIN, ADMIN_PASSWORD = "ada", "pw-ada-admin"
NEW_AGENT, NEW_PASSWORD = "cleo", "new-here-since-7am"


def admin_config() -> str:
    """Queue `q` with agent1, and the admin `ada`, in the demo app."""
    return "\n".join([
        "[[apps.queues]]", 'name = "q"', 'when_empty = "join"', "",
        "[[apps.agents]]", 'id = "agent1"',
        f'password_hash = "{generate_password_hash("pw-agent")}"', 'queues = ["q"]', "",
        "[[apps.supervisors]]", f'id = "{ADMIN}"', 'name = "Ada"',
        f'password_hash = "{generate_password_hash(ADMIN_PASSWORD)}"', "admin = true", ""])


def sign_in(page, user: str, password: str) -> None:
    page.fill("#agent-id", user)
    page.fill("#password", password)
    page.click("#login")


def open_admin(open_page, server):
    page = open_page(ADMIN, server.url + "/console").page
    sign_in(page, ADMIN, ADMIN_PASSWORD)
    page.wait_for_selector("#admin", state="visible")
    page.wait_for_selector("#ad-items-body tr[data-key='agent1']")
    return page


def test_an_admin_adds_an_agent_in_the_console_who_then_signs_in_without_a_restart(
        server_factory, open_page):
    server = server_factory(demo_extra=admin_config())
    page = open_admin(open_page, server)
    page.click("#ad-new")
    page.fill("#ad-f-id", NEW_AGENT)
    page.fill("#ad-f-name", "Cleo")
    page.fill("#ad-f-queues", "q")
    page.fill("#ad-f-password", "short")
    page.click("#ad-save")
    page.wait_for_function(
        "() => document.getElementById('ad-err-password').textContent.includes('10 characters')")
    assert page.get_attribute("#ad-f-password", "aria-invalid") == "true"
    assert page.query_selector(f"#ad-items-body tr[data-key='{NEW_AGENT}']") is None

    page.fill("#ad-f-password", NEW_PASSWORD)
    page.click("#ad-save")
    row = page.wait_for_selector(f"#ad-items-body tr[data-key='{NEW_AGENT}']")
    assert row.query_selector(".ad-queues").text_content() == "q"
    assert page.text_content("#ad-err-password") == ""
    entry = page.wait_for_selector("#ad-audit-body tr .au-what:has-text('create agents cleo')")
    assert entry is not None

    agent = open_page(NEW_AGENT, server.url + "/console").page
    sign_in(agent, NEW_AGENT, NEW_PASSWORD)
    agent.wait_for_selector("#workspace", state="visible")
    assert agent.text_content("#agent-name") == "Cleo"
    assert agent.is_hidden("#admin")
