"""Playwright fixtures: Debian's Chromium with fake camera/microphone, and logged-in demo pages.

Chromium comes from the system (`apt-get install chromium`); never `playwright install`. Each demo
page gets its own browser context, so two pages behave like two people on two machines.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest
from playwright import sync_api

CHROMIUM = os.environ.get("CC_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# How long to wait for something a page should show (ms).
UI_TIMEOUT = 10_000


# Module scope, not session: Playwright's sync API keeps an asyncio loop running in the main thread
# while it is open, and the async integration tests need that thread free.
@pytest.fixture(scope="module")
def browser() -> Iterator:
    # No skip when Chromium is missing: `make test` installs it, and a silently skipped browser
    # suite would look green.
    assert os.path.exists(CHROMIUM), f"no Chromium at {CHROMIUM}: run `make test`"
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@dataclass
class DemoPage:
    """One person on the demo page: a Playwright page plus what its console said."""

    user: str
    page: object
    console: list[str] = field(default_factory=list)

    def events(self, name: str | None = None) -> list[dict]:
        """SDK events the page recorded (window.demo.events), optionally of one name."""
        events = self.page.evaluate(
            "() => window.demo.events.map(e => ({name: e.name, data: e.data}))")
        return [e for e in events if name is None or e["name"] == name]

    def wait_event(self, name: str, timeout: float = UI_TIMEOUT) -> dict:
        self.page.wait_for_function(
            "name => window.demo.events.some(e => e.name === name)", arg=name, timeout=timeout)
        return self.events(name)[-1]["data"]

    def wait_status(self, *, state: str | None = None, outcome: str | None = None,
                    timeout: float = UI_TIMEOUT) -> str:
        selector = "#status"
        if state is not None:
            selector += f'[data-state="{state}"]'
        if outcome is not None:
            selector += f'[data-outcome="{outcome}"]'
        self.page.wait_for_selector(selector, state="attached", timeout=timeout)
        return self.page.text_content("#status") or ""

    def call(self, callee: str, *, video: bool = True, timeout: int | None = None) -> None:
        self.page.fill("#callee", callee)
        self.page.fill("#call-timeout", "" if timeout is None else str(timeout))
        self.page.click("#call-video" if video else "#call-audio")

    def stats(self) -> dict:
        return self.page.evaluate("() => window.demo.client.getStats()")


@pytest.fixture
def demo_pages(browser, server) -> Iterator[Callable[[str], DemoPage]]:
    """`demo_pages("alice")` → a new browser context on /demo, logged in as alice."""
    contexts = []
    made: list[DemoPage] = []

    def open_page(user: str) -> DemoPage:
        context = browser.new_context()
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(UI_TIMEOUT)
        demo = DemoPage(user, page)
        made.append(demo)
        page.on("console", lambda m: demo.console.append(f"{m.type}: {m.text}"))
        page.on("pageerror", lambda e: demo.console.append(f"pageerror: {e}"))
        page.goto(server.url + "/demo")
        page.fill("#user-id", user)
        page.click("#login")
        demo.wait_status(state="idle")
        assert page.text_content("#me") == user
        return demo

    yield open_page
    for demo in made:
        # Shown by pytest only when the test fails.
        print(f"--- console of {demo.user} ---")
        print("\n".join(demo.console))
    for context in contexts:
        context.close()
    errors = [line for demo in made for line in demo.console if line.startswith("pageerror")]
    assert not errors, errors
