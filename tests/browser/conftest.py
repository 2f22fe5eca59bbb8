"""Playwright fixtures: Debian's Chromium with fake camera/microphone, and logged-in demo pages.

Chromium comes from the system (`apt-get install chromium`); never `playwright install`. Each demo
page gets its own browser context, so two pages behave like two people on two machines.

Contact center: `host_site` is a second origin serving shop pages that embed the customer widget;
`open_page(label, url)` opens any page in a fresh context (one person) and fails the test on page
errors.

Known sound: `launch_browser(fake_audio=wav)` starts another Chromium whose fake microphone plays
that WAV file (looped) instead of the default beep; `open_page(label, url, in_browser=it)` opens a
page in it.
"""

from __future__ import annotations

import http.server
import os
import ssl
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from html import escape
from urllib.parse import parse_qsl, urlencode, urlsplit

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


@pytest.fixture
def launch_browser(browser) -> Iterator[Callable[..., object]]:
    """`launch_browser(fake_audio=path)` → another Chromium, from the same Playwright as
    `browser` (the sync API allows one per thread), with the usual flags; `fake_audio` makes its
    fake microphone play that WAV file, in a loop. Closed after the test."""
    launched = []

    def launch(fake_audio: str | os.PathLike | None = None) -> object:
        args = list(CHROMIUM_ARGS)
        if fake_audio is not None:
            args.append(f"--use-file-for-fake-audio-capture={os.fspath(fake_audio)}")
        other = browser.browser_type.launch(executable_path=CHROMIUM, args=args)
        launched.append(other)
        return other

    yield launch
    for other in launched:
        other.close()


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


# ---------------------------------------------------------------------------- contact center


class HostSite:
    """A second origin: a tiny static web server whose pages embed the customer widget.

    `page_url(server_url, app="demo", queue="sales", **data)` → a page on this origin holding
    `<script src="<server_url>/widget/widget.js" data-app=... data-queue=... data-*>`; the page
    also carries hostile CSS so a test sees that the widget's shadow root keeps it out.
    """

    def __init__(self, tls: ssl.SSLContext | None = None, host: str = "127.0.0.1") -> None:
        """`tls` serves the pages over https, as `host` (a name the browser maps to 127.0.0.1)."""
        site = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                body = site.render(self.path).encode()
                self.send_response(200 if body else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        if tls is not None:
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
        self.origin = f"{'https' if tls else 'http'}://{host}:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def page_url(self, server_url: str, app: str = "demo", queue: str = "sales",
                 path: str = "/shop", **data: str) -> str:
        return f"{self.origin}{path}?" + urlencode({"server": server_url, "app": app,
                                                     "queue": queue, **data})

    @staticmethod
    def render(path: str) -> str:
        url = urlsplit(path)
        if url.path != "/shop" and not url.path.startswith("/shop/"):  # /shop/cart: another page
            return ""
        params = dict(parse_qsl(url.query))
        server = params.pop("server", "")
        attrs = " ".join(f'data-{escape(k)}="{escape(v)}"' for k, v in params.items())
        return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>Example shop</title><link rel="icon" href="data:,">
<style>
  /* Hostile host styles: none of this may reach the widget. */
  * {{ font-family: "Comic Sans MS", cursive !important; color: #f0f !important; }}
  body {{ font-size: 40px; line-height: 3; }}
  button {{ display: none !important; }}
  div {{ border: 5px dashed red !important; }}
  video {{ visibility: hidden !important; }}
</style></head>
<body><h1>Example shop</h1><p>Products, prices, a cart.</p>
<button id="host-button">A host page button</button>
<script src="{escape(server)}/widget/widget.js" {attrs}></script>
</body></html>"""

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def host_site() -> Iterator[HostSite]:
    site = HostSite()
    yield site
    site.close()


@dataclass
class TracedPage:
    """A page in its own browser context, with what its console said."""

    label: str
    page: object
    console: list[str] = field(default_factory=list)


@pytest.fixture
def open_page(browser) -> Iterator[Callable[[str, str], TracedPage]]:
    """`open_page("agent1", url)` → a new browser context (one person) on url; `in_browser` opens
    it in another browser (from `launch_browser`). Page errors fail the test; the consoles are
    printed when it fails."""
    contexts = []
    made: list[TracedPage] = []

    def opener(label: str, url: str, in_browser: object | None = None) -> TracedPage:
        context = (in_browser or browser).new_context()
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(UI_TIMEOUT)
        traced = TracedPage(label, page)
        made.append(traced)
        page.on("console", lambda m: traced.console.append(f"{m.type}: {m.text}"))
        page.on("pageerror", lambda e: traced.console.append(f"pageerror: {e}"))
        page.goto(url)
        return traced

    yield opener
    for traced in made:
        print(f"--- console of {traced.label} ---")
        print("\n".join(traced.console))
    for context in contexts:
        context.close()
    errors = [line for t in made for line in t.console if line.startswith("pageerror")]
    assert not errors, errors
