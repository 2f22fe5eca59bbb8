"""Recording with real browsers: the widget's customer and the console's agent each open a
send-only leg to the media worker (docs/protocol.md, "Recording"), and the Ogg Opus file it
writes holds each one's microphone on its own channel, as Chromium itself decodes it (its
<audio> plays it; Web Audio's decodeAudioData gives two channels, customer left, agent right).

The agent's Chromium plays an 880 Hz tone as its microphone, the customer's a 440 Hz one
(`--use-file-for-fake-audio-capture`), so the file shows whose audio went where: the customer on
the left channel, the agent on the right. `callcenter serve` starts one media worker itself.
"""

from __future__ import annotations

import io
import time
import wave
from pathlib import Path

import numpy as np
import pytest
import requests
from werkzeug.security import generate_password_hash

pytestmark = pytest.mark.browser

CUSTOMER_TONE = 440
AGENT_TONE = 880
RATE = 48_000
AGENT, PASSWORD, NAME = "agent1", "pw-rec", "Rita"
WIDGET = "document.querySelector('callcenter-widget').shadowRoot"


def tone_wav(path: Path, frequency: int, seconds: int = 10) -> Path:
    """A pure tone, 48 kHz mono 16-bit, for Chromium's fake microphone (which loops it)."""
    t = np.arange(seconds * RATE) / RATE
    samples = (0.5 * 32767 * np.sin(2 * np.pi * frequency * t)).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(samples.tobytes())
    return path


def recording_config(rec_dir: Path) -> str:
    """Queue `q` recorded by the stock plugin; `serve` starts its one child media worker."""
    return (f'[recording]\ndir = "{rec_dir}"\n\n'
            '[plugins]\nenable = ["recording"]\n\n'
            '[plugins.settings.recording]\nqueues = ["q"]\n')


def demo_config(origin: str) -> str:
    return "\n".join([
        f'allowed_origins = ["{origin}"]', "",
        "[[apps.queues]]", 'name = "q"', "ring_timeout = 10", "wrap_up = 30",
        'when_empty = "join"', "",
        "[[apps.agents]]", f'id = "{AGENT}"', f'name = "{NAME}"',
        f'password_hash = "{generate_password_hash(PASSWORD)}"', 'queues = ["q"]', ""])


def read_recording(data: bytes) -> tuple[object, int]:
    """A recording (Ogg Opus) decoded by FFmpeg through PyAV: (int16 samples shaped (frames, 2),
    rate); the decoded length is what the last page's granule position says."""
    import av

    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.audio[0]
        assert container.format.name == "ogg" and stream.codec_context.name == "opus"
        assert stream.channels == 2
        frames = [frame.to_ndarray() for frame in container.decode(stream)]
        rate, declared = stream.codec_context.sample_rate, stream.duration
    samples = np.concatenate(frames, axis=1)  # planar float: (channels, frames)
    assert samples.shape == (2, declared)
    return np.clip(samples.T * 32767, -32768, 32767).astype(np.int16), rate


#: decodes the file at `src` in the page with Web Audio, as Chromium decodes it for <audio>:
#: channel count, duration, rate, and per channel the power of each of `freqs` (Goertzel)
DECODE_IN_PAGE = """async ({src, freqs}) => {
  const data = await (await fetch(src)).arrayBuffer();
  const ctx = new OfflineAudioContext(2, 48000, 48000);
  const buffer = await ctx.decodeAudioData(data);
  const power = (x, f) => {
    const w = 2 * Math.cos(2 * Math.PI * f / buffer.sampleRate);
    let s1 = 0, s2 = 0;
    for (let i = 0; i < x.length; i += 1) { const s0 = x[i] + w * s1 - s2; s2 = s1; s1 = s0; }
    return (s1 * s1 + s2 * s2 - w * s1 * s2) / x.length;
  };
  const channels = [];
  for (let c = 0; c < buffer.numberOfChannels; c += 1) {
    const x = buffer.getChannelData(c);
    channels.push(Object.fromEntries(freqs.map((f) => [String(f), power(x, f)])));
  }
  return {channels, count: buffer.numberOfChannels, duration: buffer.duration,
          rate: buffer.sampleRate};
}"""


#: plays the <audio> (muted: no user gesture needed) until its time has moved on `seconds`
PLAY_IN_PAGE = """async ({selector, seconds}) => {
  const a = document.querySelector(selector);
  a.muted = true;
  await a.play();
  const until = performance.now() + 10000;
  while (a.currentTime < seconds && !a.error && performance.now() < until) {
    await new Promise((r) => setTimeout(r, 50));
  }
  const played = a.currentTime;
  a.pause();
  return {played, error: a.error && a.error.message};
}"""


def peak_frequency(channel, rate: int) -> float:
    """The strongest frequency of the channel's sounding part."""
    voiced = channel[np.abs(channel) > 0].astype(np.float64)
    assert len(voiced) > rate, "at least a second of sound"
    spectrum = np.abs(np.fft.rfft(voiced * np.hanning(len(voiced))))
    return float(np.fft.rfftfreq(len(voiced), 1 / rate)[int(np.argmax(spectrum))])


def sounding_seconds(channel, rate: int, block: float = 0.02) -> float:
    size = int(rate * block)
    blocks = channel[:len(channel) // size * size].reshape(-1, size)
    return float(np.count_nonzero(np.abs(blocks).max(axis=1) > 100)) * block


def recorder_up(page, stats_js: str, timeout: float = 10) -> None:
    """Waits until the page's send-only leg to the recorder is connected and carries audio.
    Polled from here: Playwright's wait_for_function does not await a promise, so an async
    predicate would count as true at once."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(f"""async () => {{
        const r = (await {stats_js}).recorder;
        return !!r && r.connectionState === 'connected' && r.audioBytesSent > 2000;
    }}"""):
        assert time.monotonic() < deadline, "the leg to the recorder is not up"
        time.sleep(0.2)


def toned_pages(server, host_site, launch_browser, open_page, tmp_path):
    """The agent signed in and available on the console, in a Chromium whose microphone plays
    AGENT_TONE, and the customer on the shop page in one playing CUSTOMER_TONE, with the widget
    open and an audio call chosen: (agent page, customer page)."""
    agent_browser = launch_browser(fake_audio=tone_wav(tmp_path / "agent.wav", AGENT_TONE))
    customer_browser = launch_browser(
        fake_audio=tone_wav(tmp_path / "customer.wav", CUSTOMER_TONE))
    agent = open_page(AGENT, server.url + "/console", in_browser=agent_browser).page
    agent.fill("#agent-id", AGENT)
    agent.fill("#password", PASSWORD)
    agent.click("#login")
    agent.wait_for_selector(".queue-tile[data-queue='q']")
    agent.select_option("#status", "available")
    agent.wait_for_selector("#agent-state[data-state='waiting']")
    server.wait_for_media_workers()
    customer = open_page("customer", host_site.page_url(server.url, queue="q"),
                         in_browser=customer_browser).page
    customer.wait_for_function("() => !!window.callcenterWidget")
    customer.click("#cc-launcher")
    customer.check("#cc-type-audio")
    return agent, customer


def test_widget_call_is_recorded_with_the_agents_tone_on_the_right_channel(
        server_factory, host_site, launch_browser, open_page, tmp_path):
    rec_dir = tmp_path / "rec"
    server = server_factory(recording_config(rec_dir), demo_extra=demo_config(host_site.origin))
    # The agent signs in on the console and becomes available; the customer calls from the
    # widget on the shop's origin and is told about the recording before anyone answers.
    agent, customer = toned_pages(server, host_site, launch_browser, open_page, tmp_path)
    customer.fill("#cc-name", "Rec Customer")
    customer.click("#cc-start")
    customer.wait_for_function("() => window.callcenterWidget.state === 'queued'")
    assert customer.is_visible("#cc-recorded")
    assert customer.text_content("#cc-recorded") == "This call will be recorded."
    assert customer.evaluate("() => window.callcenterWidget.recorded") is True
    agent.wait_for_selector("#offer", state="visible")
    assert customer.evaluate("() => window.callcenterWidget.state") == "queued"
    call_id = customer.evaluate("() => window.callcenterWidget.callId")

    # The agent answers: both open their leg to the recorder, the console shows it.
    agent.click("#accept")
    customer.wait_for_function("() => window.callcenterWidget.state === 'connected'")
    agent.wait_for_selector("#call-recording", state="visible")
    assert agent.text_content("#call-recording") == "Recording"
    assert customer.is_visible("#cc-rec")
    recorder_up(agent, "window.agentConsole.client.getStats()")
    recorder_up(customer, "window.callcenterWidget.client.getStats()")
    for page, events in ((agent, "window.agentConsole.events"),
                         (customer, "window.callcenterWidget.events")):
        started = page.evaluate(f"() => {events}.filter(e => e.name === 'RECORDING')"
                                ".map(e => e.data)")
        assert [(e["callId"], e["state"]) for e in started] == [(call_id, "started")]
    talk_started = time.monotonic()
    agent.wait_for_timeout(2000)
    # Mid-call the agent switches microphones (every fake one plays the same file): the recorder
    # leg follows, or the right channel would fall silent from here on.
    switched = agent.evaluate("""async () => {
        const c = window.agentConsole.client;
        const mics = await c.getMicrophones();
        const other = mics.find(m => m.deviceId && m.deviceId !== 'default');
        if (!other) return null;
        await c.switchDevice({deviceType: 'audio', deviceId: other.deviceId});
        return other.label;
    }""")
    assert switched, "Chromium offers no second fake microphone"
    agent.wait_for_timeout(2000)

    agent.click("#hangup")
    customer.wait_for_function("() => window.callcenterWidget.state === 'rating'")
    talked = time.monotonic() - talk_started
    agent.wait_for_selector("#call", state="hidden")
    assert agent.is_hidden("#call-recording")
    for page, events, client in (
            (agent, "window.agentConsole.events", "window.agentConsole.client"),
            (customer, "window.callcenterWidget.events", "window.callcenterWidget.client")):
        stopped = page.evaluate(f"() => {events}.filter(e => e.name === 'RECORDING')"
                                ".map(e => e.data).slice(-1)[0]")
        assert (stopped["state"], stopped["reason"]) == ("stopped", "call_end")
        assert page.evaluate(f"() => {client}.getStats()") == {}  # the legs are closed

    # Calls today: the call shows "processing…" until its recording is indexed, then a player.
    row = f"#calls-today-body tr[data-call-id='{call_id}']"
    cell = f"{row} .c-recording"
    agent.wait_for_selector(f"{cell}[data-recording='ready'] audio", timeout=15_000)
    shown = agent.evaluate("id => window.agentConsole.events.filter(e => e.name === "
                           "'recording_cell' && e.data.callId === id).map(e => e.data.state)",
                           call_id)
    assert shown[0] == "processing" and shown[-1] == "ready", shown
    duration = agent.wait_for_function(f"""() => {{
        const a = document.querySelector("{cell} audio");
        return a && a.readyState >= 1 && a.duration > 0 && a.duration;
    }}""").json_value()
    # The player's URL holds a link signed for that one file, never the agent's credential.
    src = agent.get_attribute(f"{cell} audio", "src")
    assert src.startswith(f"/api/recordings/{call_id}/audio?link=")
    assert "token=" not in src

    # The file itself, through the console's link.
    record = requests.get(f"{server.url}/api/recordings/{call_id}", timeout=10, headers={
        "Authorization": f"Bearer {server.token(AGENT, role='agent')}"}).json()
    ranged = requests.get(server.url + src, headers={"Range": "bytes=0-43"}, timeout=10)
    assert ranged.status_code == 206 and ranged.content[:4] == b"OggS"
    assert ranged.headers["Content-Type"] == "audio/ogg"
    assert record["file"].endswith(f"{call_id}.ogg")
    whole = requests.get(server.url + src, timeout=10)
    data = whole.content
    assert len(data) == record["size"]
    assert whole.headers["Content-Disposition"].endswith(f"filename={call_id}.ogg")
    samples, rate = read_recording(data)
    assert rate == RATE and samples.shape[1] == 2 and record["channels"] == 2
    assert record["partial"] is False
    seconds = len(samples) / rate
    assert abs(duration - seconds) < 0.1, (duration, seconds)
    assert talked - 0.5 < seconds < talked + 3, (seconds, talked)
    left, right = samples[:, 0], samples[:, 1]
    assert abs(peak_frequency(right, rate) - AGENT_TONE) <= 10
    assert abs(peak_frequency(left, rate) - CUSTOMER_TONE) <= 10
    # Each channel sounds for the whole talk (the legs were up before it began), the agent's
    # also after the switch of microphones.
    sounding = {"left (customer)": sounding_seconds(left, rate),
                "right (agent)": sounding_seconds(right, rate)}
    assert min(sounding.values()) >= talked - 1.0, (sounding, talked)

    # Chromium itself: its <audio> plays the file, and Web Audio decodes it to two channels of
    # the file's duration, the customer's tone on the left and the agent's on the right.
    played = agent.evaluate(PLAY_IN_PAGE, {"selector": f"{cell} audio", "seconds": 1.0})
    assert played["error"] is None and played["played"] >= 1.0, played
    decoded = agent.evaluate(DECODE_IN_PAGE, {"src": src, "freqs": [CUSTOMER_TONE, AGENT_TONE]})
    assert decoded["count"] == 2 and decoded["rate"] == RATE, decoded
    assert abs(decoded["duration"] - seconds) < 0.03, (decoded["duration"], seconds)
    left_levels, right_levels = decoded["channels"]
    c, a = str(CUSTOMER_TONE), str(AGENT_TONE)
    assert left_levels[c] > 100 * left_levels[a], decoded  # 20 dB and more
    assert right_levels[a] > 100 * right_levels[c], decoded


def test_an_agent_who_reloads_mid_call_is_recorded_again_from_the_new_page(
        server_factory, host_site, launch_browser, open_page, tmp_path):
    rec_dir = tmp_path / "rec"
    server = server_factory(recording_config(rec_dir), demo_extra=demo_config(host_site.origin),
                            signaling="resume_window = 15")
    agent, customer = toned_pages(server, host_site, launch_browser, open_page, tmp_path)
    customer.click("#cc-start")
    agent.wait_for_selector("#offer", state="visible")
    call_id = customer.evaluate("() => window.callcenterWidget.callId")
    agent.click("#accept")
    customer.wait_for_function("() => window.callcenterWidget.state === 'connected'")
    recorder_up(agent, "window.agentConsole.client.getStats()")
    agent.wait_for_timeout(1500)

    agent.once("dialog", lambda dialog: dialog.accept())  # "leave the call?": yes, reload
    agent.reload()
    agent.wait_for_selector("#call", state="visible")
    # The new page opens its leg to the recorder again; the worker swaps the old one out.
    recorder_up(agent, "window.agentConsole.client.getStats()")
    after_reload = time.monotonic()
    agent.wait_for_timeout(3000)
    agent.click("#hangup")
    customer.wait_for_function("() => window.callcenterWidget.state === 'rating'")
    since_reload = time.monotonic() - after_reload

    record = None
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and record is None:
        answer = requests.get(f"{server.url}/api/recordings/{call_id}", timeout=10, headers={
            "Authorization": f"Bearer {server.token(AGENT, role='agent')}"})
        record = answer.json() if answer.status_code == 200 else None
        time.sleep(0.3)
    assert record is not None, "the recording was never indexed"
    assert record["partial"] is False
    path = rec_dir / record["file"]
    samples, rate = read_recording(path.read_bytes())
    left, right = samples[:, 0], samples[:, 1]
    # The agent's tone is on the right channel after the reload: the last seconds sound.
    tail = right[-int((since_reload - 0.5) * rate):]
    assert sounding_seconds(tail, rate) >= since_reload - 1.5, (
        sounding_seconds(tail, rate), since_reload)
    assert abs(peak_frequency(tail, rate) - AGENT_TONE) <= 10
    assert abs(peak_frequency(left, rate) - CUSTOMER_TONE) <= 10
