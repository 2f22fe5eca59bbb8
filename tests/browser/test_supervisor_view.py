"""The supervisor view of the console in real browsers: a supervisor signs in on /console and
watches a widget call wait, get answered and end, live; then finds it among the recent calls, in
the day's numbers and charts, and plays its recording from its timeline.

Three people, each in their own browser context: the supervisor and the agent on /console, the
customer on a shop page of another origin with the widget. The queue is recorded by the media
worker `callcenter serve` starts. Charts are checked by their pixels, on the canvas and in a
screenshot, not by the calls that should have drawn them.
"""

from __future__ import annotations

import io
import time
from pathlib import Path

import numpy as np
import pytest
import requests
from PIL import Image
from werkzeug.security import generate_password_hash

pytestmark = pytest.mark.browser

AGENT, AGENT_PASSWORD, AGENT_NAME = "agent1", "pw-agent", "Ann"
SUPERVISOR, SUPERVISOR_PASSWORD, SUPERVISOR_NAME = "sue", "pw-sue", "Sue"
CUSTOMER_NAME = "Wanda Waiting"
# The colors supervisor.js gives the datasets: answered bars, service-level points.
ANSWERED_RGB = (0x16, 0xA3, 0x4A)
SERVICE_LEVEL_RGB = (0x7E, 0x22, 0xCE)
# How fast a live change must reach the supervisor: the server pushes at most once a second.
LIVE_TIMEOUT = 3_000

TILE = ".sv-queue[data-queue='q']"
AGENT_ROW = f"#sv-agents-body tr[data-agent-id='{AGENT}']"
BAR_GROUPS = "() => window.supervisorView.charts.volume.data.labels.length"


def demo_config(origin: str) -> str:
    """Queue `q`, its agent and a supervisor, in the demo app."""
    return "\n".join([
        f'allowed_origins = ["{origin}"]', "",
        "[[apps.queues]]", 'name = "q"', "ring_timeout = 10", "wrap_up = 30",
        'when_empty = "join"', "",
        "[[apps.agents]]", f'id = "{AGENT}"', f'name = "{AGENT_NAME}"',
        f'password_hash = "{generate_password_hash(AGENT_PASSWORD)}"', 'queues = ["q"]', "",
        "[[apps.supervisors]]", f'id = "{SUPERVISOR}"', f'name = "{SUPERVISOR_NAME}"',
        f'password_hash = "{generate_password_hash(SUPERVISOR_PASSWORD)}"', ""])


def recording_config(rec_dir) -> str:
    """Queue `q` recorded by the stock plugin (as in test_recording_browser.py)."""
    return (f'[recording]\ndir = "{rec_dir}"\n\n'
            '[plugins]\nenable = ["recording"]\n\n'
            '[plugins.settings.recording]\nqueues = ["q"]\n')


def sign_in(page, user: str, password: str) -> None:
    page.fill("#agent-id", user)
    page.fill("#password", password)
    page.click("#login")


def text(page, selector: str) -> str:
    return page.text_content(selector) or ""


def audio_bytes(page, client_js: str, peer: str) -> tuple[int, int]:
    stats = page.evaluate(f"() => {client_js}.getStats()")[peer]
    return stats["audioBytesSent"], stats["audioBytesReceived"]


# Pixels of one color inside a chart's plot area (Chart.js's chartArea, in CSS pixels, widened a
# little so a point drawn on the top edge counts whole), read back from the canvas.
COUNT_CANVAS_PIXELS = """([name, rgb]) => {
    const chart = window.supervisorView.charts[name];
    const ratio = chart.currentDevicePixelRatio || 1;
    const a = chart.chartArea;
    const x = Math.max(0, Math.floor((a.left - 6) * ratio));
    const y = Math.max(0, Math.floor((a.top - 6) * ratio));
    const w = Math.min(chart.canvas.width - x, Math.ceil((a.right - a.left + 12) * ratio));
    const h = Math.min(chart.canvas.height - y, Math.ceil((a.bottom - a.top + 12) * ratio));
    const data = chart.canvas.getContext('2d').getImageData(x, y, w, h).data;
    let drawn = 0, matching = 0;
    for (let i = 0; i < data.length; i += 4) {
        if (data[i + 3] > 0) drawn += 1;
        const near = [0, 1, 2].every(c => Math.abs(data[i + c] - rgb[c]) < 12);
        if (data[i + 3] > 200 && near) matching += 1;
    }
    return {drawn, matching, area: [x, y, w, h].map(v => v / ratio)};
}"""


def count_screen_pixels(png: bytes, area: list[float], rgb: tuple[int, int, int]) -> int:
    """Pixels of the color inside `area` (x, y, w, h in the screenshot's pixels)."""
    image = Image.open(io.BytesIO(png)).convert("RGB")
    x, y, w, h = (round(v) for v in area)
    plot = np.asarray(image.crop((x, y, x + w, y + h)), dtype=np.int16)
    return int(np.all(np.abs(plot - np.array(rgb)) < 12, axis=2).sum())


def test_supervisor_watches_a_call_live_then_reviews_it_in_charts_timeline_and_recording(
        server_factory, host_site, open_page, tmp_path):
    started = time.monotonic()
    server = server_factory(recording_config(tmp_path / "rec"),
                            demo_extra=demo_config(host_site.origin))

    # The supervisor signs in on the agents' console and gets the supervisor view.
    supervisor = open_page(SUPERVISOR, server.url + "/console")
    sv = supervisor.page
    sign_in(sv, SUPERVISOR, SUPERVISOR_PASSWORD)
    sv.wait_for_selector("#supervisor", state="visible")
    assert sv.is_hidden("#workspace") and sv.is_hidden("#login-section")
    assert text(sv, "#agent-name") == SUPERVISOR_NAME
    assert text(sv, "#console-kind") == "supervisor view"
    assert sv.title() == "Supervisor view · callcenter"
    sv.wait_for_selector(f"{TILE}[data-waiting='0']")
    sv.wait_for_selector(f"{AGENT_ROW}[data-state='offline']")
    assert text(sv, f"{AGENT_ROW} .a-time") == "—"  # never logged in since the server started
    sv.wait_for_selector("#sv-summary dd[data-metric='offered']")
    assert text(sv, "#sv-summary dd[data-metric='offered']") == "0"
    # No call yet: the charts say so instead of showing bare axes.
    sv.wait_for_selector("#sv-volume-empty", state="visible")
    assert text(sv, "#sv-volume-empty") == "No calls in this window yet."
    assert sv.is_visible("#sv-sl-empty")
    # Each number's definition is in its label's tooltip, with the configured thresholds.
    tooltips = sv.eval_on_selector_all("#sv-summary dt", "dts => dts.map(d => d.title)")
    assert len(tooltips) == 9 and all(tooltips), tooltips
    assert "within 20 s" in tooltips[4], tooltips
    # The export link names the window only; the click downloads through a signed link.
    export = sv.get_attribute("#sv-export", "href")
    assert export.startswith("/api/calls.csv?from=") and "token=" not in export \
        and "link=" not in export
    with sv.expect_download() as download:
        sv.click("#sv-export")
    assert "link=" in download.value.url and "token=" not in download.value.url
    assert Path(download.value.path()).read_text().startswith("callId,")

    # The agent signs in (on break, reason "login"): the supervisor sees it.
    agent = open_page(AGENT, server.url + "/console").page
    sign_in(agent, AGENT, AGENT_PASSWORD)
    agent.wait_for_selector("#workspace", state="visible")
    sv.wait_for_selector(f"{AGENT_ROW}[data-state='break']", timeout=LIVE_TIMEOUT)
    server.wait_for_media_workers()

    # A customer calls from the widget; nobody is available, so the call waits, and the
    # supervisor sees it within a couple of seconds.
    customer = open_page("customer", host_site.page_url(server.url, queue="q")).page
    customer.wait_for_function("() => !!window.callcenterWidget")
    customer.click("#cc-launcher")
    customer.fill("#cc-name", CUSTOMER_NAME)
    customer.check("#cc-type-audio")
    customer.click("#cc-start")
    customer.wait_for_function("() => window.callcenterWidget.state === 'queued'")
    call_id = customer.evaluate("() => window.callcenterWidget.callId")
    call_row = f"#sv-calls-body tr[data-call-id='{call_id}']"
    sv.wait_for_selector(f"{TILE}[data-waiting='1']", timeout=LIVE_TIMEOUT)
    sv.wait_for_selector(f"{call_row}[data-state='waiting']", timeout=LIVE_TIMEOUT)
    assert text(sv, f"{call_row} .l-customer") == CUSTOMER_NAME
    assert text(sv, f"{call_row} .l-position") == "1"
    assert sv.is_hidden("#sv-calls-empty")
    # The longest wait and the agent's time on break count on by themselves, second by second.
    agent_time = text(sv, f"{AGENT_ROW} .a-time")
    sv.wait_for_function(f"""() => !['—', '00:00'].includes(
        document.querySelector("{TILE} .sq-longest").textContent)""", timeout=LIVE_TIMEOUT)
    sv.wait_for_function(f"""t => document.querySelector("{AGENT_ROW} .a-time").textContent !== t
        """, arg=agent_time, timeout=LIVE_TIMEOUT)

    # The agent becomes available and answers: the supervisor sees the call in progress.
    agent.select_option("#status", "available")
    agent.wait_for_selector("#offer", state="visible")
    agent.click("#accept")
    customer.wait_for_function("() => window.callcenterWidget.state === 'connected'")
    sv.wait_for_selector(f"{call_row}[data-state='in_call']", timeout=LIVE_TIMEOUT)
    sv.wait_for_selector(f"{AGENT_ROW}[data-state='in_call']", timeout=LIVE_TIMEOUT)
    sv.wait_for_selector(f"{TILE}[data-waiting='0'][data-in-progress='1']", timeout=LIVE_TIMEOUT)
    assert text(sv, f"{call_row} .l-agent") == AGENT_NAME  # by name, as in the agents table
    assert text(sv, f"{TILE} .sq-longest") == "—"
    # Audio flows both ways: every byte counter keeps rising.
    customer_id = agent.evaluate("() => window.agentConsole.events.filter(e => e.name === "
                                 "'OFFER').map(e => e.data.customer.userID).pop()")
    # "connected" is the call's state, not the media's: first until audio has started both
    # ways (under the full suite's load that can take a moment), then rising.
    deadline = time.monotonic() + 10
    while True:
        before = (audio_bytes(agent, "window.agentConsole.client", customer_id)
                  + audio_bytes(customer, "window.callcenterWidget.client", AGENT))
        if all(before) or time.monotonic() > deadline:
            break
        agent.wait_for_timeout(200)
    agent.wait_for_timeout(1500)
    after = (audio_bytes(agent, "window.agentConsole.client", customer_id)
             + audio_bytes(customer, "window.callcenterWidget.client", AGENT))
    assert all(a > b > 0 for a, b in zip(after, before, strict=True)), (before, after)

    # The agent hangs up: the call leaves "calls now", the agent wraps up.
    agent.click("#hangup")
    customer.wait_for_function("() => window.callcenterWidget.state === 'rating'")
    sv.wait_for_selector(call_row, state="detached", timeout=LIVE_TIMEOUT)
    sv.wait_for_selector(f"{AGENT_ROW}[data-state='wrap_up']", timeout=LIVE_TIMEOUT)
    sv.wait_for_selector("#sv-calls-empty", state="visible")

    # The view re-reads the history when a call ends: the call is among the recent calls, and
    # in today's numbers.
    recent_row = f"#sv-recent-body tr[data-call-id='{call_id}']"
    sv.wait_for_selector(f"{recent_row} .r-outcome:text-is('completed')", timeout=5_000)
    assert text(sv, f"{recent_row} .r-customer") == CUSTOMER_NAME
    assert text(sv, f"{recent_row} .r-agent") == AGENT
    sv.wait_for_function("""() => {
        const v = k => document.querySelector(`#sv-summary dd[data-metric='${k}']`).textContent;
        return v('offered') === '1' && v('answered') === '1' && v('serviceLevel') === '100%';
    }""", timeout=5_000)
    assert text(sv, "#sv-summary dd[data-metric='abandoned']") == "0"
    assert sv.get_attribute("#sv-volume-chart", "aria-label") == \
        "Calls per hour, today: 1 offered, 1 answered, 0 abandoned"

    # The charts drew the call: an answered bar and a service-level point in their plot areas,
    # on the canvas...
    volume = sv.evaluate(COUNT_CANVAS_PIXELS, ["volume", list(ANSWERED_RGB)])
    level = sv.evaluate(COUNT_CANVAS_PIXELS, ["serviceLevel", list(SERVICE_LEVEL_RGB)])
    assert volume["drawn"] > 1000 and volume["matching"] > 100, volume
    assert level["drawn"] > 1000 and level["matching"] > 30, level
    # ...and on the screen.
    for canvas, counted, rgb, least in (("#sv-volume-chart", volume, ANSWERED_RGB, 100),
                                        ("#sv-sl-chart", level, SERVICE_LEVEL_RGB, 30)):
        sv.locator(canvas).scroll_into_view_if_needed()
        box = sv.locator(canvas).bounding_box()
        png = sv.screenshot(clip=box)
        assert count_screen_pixels(png, counted["area"], rgb) > least, canvas

    # The window's calls download as CSV, through a link signed for the export's URL.
    with sv.expect_download() as download:
        sv.click("#sv-export")
    assert download.value.url.startswith(server.url + sv.get_attribute("#sv-export", "href"))
    csv = Path(download.value.path()).read_text()
    assert call_id in csv and CUSTOMER_NAME in csv
    assert requests.get(server.url + sv.get_attribute("#sv-export", "href"),
                        timeout=10).status_code == 401  # the href alone opens nothing

    # Yesterday had no calls; the last 7 days have this one, by day.
    offered = "#sv-summary dd[data-metric='offered']"
    sv.select_option("#sv-window", "yesterday")
    sv.wait_for_function(f"""() => document.querySelector("{offered}").textContent === '0'
        && window.supervisorView.stats.window === 'yesterday'""")
    assert text(sv, "#sv-volume-caption") == "Calls per hour, yesterday"
    # One bar group per hour (23 or 25 on the days clocks change).
    assert sv.evaluate(BAR_GROUPS) in (23, 24, 25)
    sv.select_option("#sv-window", "week")
    sv.wait_for_function(f"""() => document.querySelector("{offered}").textContent === '1'
        && window.supervisorView.stats.window === 'week'""")
    assert text(sv, "#sv-volume-caption") == "Calls per day, the last 7 days"
    assert sv.is_hidden("#sv-volume-empty")  # a call to show
    # One per day (an eighth, one hour long, when the clocks went back an hour in the window).
    assert sv.evaluate(BAR_GROUPS) in (7, 8)
    assert sv.get_attribute("#sv-export", "href") != export

    # Opening the call shows its timeline and plays its recording.
    sv.click(f"{recent_row} .r-open")
    sv.wait_for_selector("#sv-detail", state="visible")
    assert text(sv, "#sv-detail-id") == call_id
    sv.wait_for_selector("#sv-timeline li[data-event='queue.answered']")
    timeline = sv.eval_on_selector_all("#sv-timeline li", "lis => lis.map(l => l.dataset.event)")
    assert timeline.index("queue.joined") < timeline.index("queue.answered"), timeline
    # In words, with the customer by name and how far into the call each step came.
    joined = text(sv, "#sv-timeline li[data-event='queue.joined']")
    assert "Joined the queue" in joined and CUSTOMER_NAME in joined, joined
    answered = text(sv, "#sv-timeline li[data-event='queue.answered']")
    assert "Answered" in answered and " in) " in answered and "+" not in answered, answered
    assert sv.get_attribute(recent_row, "aria-current") == "true"
    audio = "#sv-recording[data-recording='ready'] audio"
    sv.wait_for_selector(audio, timeout=15_000)
    src = sv.get_attribute(audio, "src")
    assert src.startswith(f"/api/recordings/{call_id}/audio?link=") and "token=" not in src
    # The click above was a user gesture: the page may start playback.
    sv.evaluate(f"() => document.querySelector(\"{audio}\").play()")
    sv.wait_for_function(f"""() => {{
        const a = document.querySelector("{audio}");
        return a.readyState >= 2 && a.currentTime > 0.3;
    }}""", timeout=5_000)

    # Signing out stops the view and leaves the login form.
    sv.click("#logout")
    sv.wait_for_selector("#login-section", state="visible")
    assert sv.is_hidden("#supervisor")
    assert sv.evaluate("() => window.supervisorView") is None

    errors = [line for line in supervisor.console if line.startswith(("error", "pageerror"))]
    assert not errors, errors
    assert time.monotonic() - started < 40
