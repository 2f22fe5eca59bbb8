"""Recording end to end: a real server, real media workers (`callcenter media`) and Python clients
sending real audio with aiortc (docs/protocol.md, "Recording"; docs/recording.md).

The customer plays a 440 Hz tone and the agent an 880 Hz one, so the recording shows who is on
which channel. Talk times are a few seconds: the machine has two cores.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
import requests
from contact_center_helpers import (  # noqa: E402
    Desk,
    agent,
    demo_extra,
    first_offer,
    queue,
)
from signaling_helpers import unique  # noqa: E402

from callcenter.client.call_client import AUDIO_CALL, CallClient  # noqa: E402
from callcenter.client.media import CallMedia  # noqa: E402
from callcenter.testing.tracks import tone_tracks  # noqa: E402

CUSTOMER_TONE = 440
AGENT_TONE = 880
PEER_SCRIPT = Path(__file__).with_name("recording_peer.py")


# -- servers and workers --------------------------------------------------------------------------


def recording_config(tmp_path: Path, workers: int | None = None) -> str:
    """`[recording]` and the stock `recording` plugin for queue `q`; `workers = 0` when the test
    starts its own workers."""
    lines = ["[recording]", f'dir = "{tmp_path / "recordings"}"']
    if workers is not None:
        lines.append(f"workers = {workers}")
    return "\n".join(lines) + ('\n\n[plugins]\nenable = ["recording"]\n\n'
                               '[plugins.settings.recording]\nqueues = ["q"]\n')


DEMO = demo_extra([queue("q")], [agent("ag1", ["q"]), agent("ag2", ["q"])])


def start(server_factory, tmp_path: Path, workers: int | None = None) -> Any:
    return server_factory(recording_config(tmp_path, workers), demo_extra=DEMO)


def wait_for_log(read, text: str, count: int = 1, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if read().count(text) >= count:
            return
        time.sleep(0.1)
    raise TimeoutError(f"{text!r} x{count} not logged within {timeout} s:\n{read()[-3000:]}")


class WorkerProcess:
    """A `callcenter media` process started by the test (config `workers = 0`)."""

    def __init__(self, server, tmp_path: Path, name: str, capacity: int = 10) -> None:
        self.name = name
        self.log_path = tmp_path / f"worker-{name}.log"
        token = server.token(f"media-{name}", role="service")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "callcenter", "media", "--server", server.url, "--app",
             "demo", "--token", token, "--capacity", str(capacity), "--name", name],
            stdout=open(self.log_path, "wb"), stderr=subprocess.STDOUT,  # noqa: SIM115
            env=dict(os.environ, PYTHONUNBUFFERED="1"), cwd=tmp_path)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_ready(self) -> None:
        wait_for_log(self.log, " ready: capacity")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(5)


@pytest.fixture
def worker_procs(tmp_path):
    made: list[WorkerProcess] = []

    def start_worker(server, name: str, capacity: int = 10) -> WorkerProcess:
        worker = WorkerProcess(server, tmp_path, name, capacity)
        made.append(worker)
        worker.wait_ready()
        return worker

    yield start_worker
    for worker in made:
        worker.stop()
    for worker in made:
        assert "Traceback" not in worker.log(), worker.log()


@pytest.fixture
async def desk(request):
    desks: list[Desk] = []
    medias: list[CallMedia] = []

    class Made:
        def __call__(self, server) -> Desk:
            d = Desk(server)
            desks.append(d)
            return d

        def media(self, client: CallClient, frequency: int) -> CallMedia:
            m = CallMedia(client, tracks=tone_tracks(frequency))
            medias.append(m)
            return m

    yield Made()
    for m in medias:
        await m.close()
    for d in desks:
        await d.close()


# -- calls ----------------------------------------------------------------------------------------


class RecordedCall:
    """An answered, recorded audio call between a customer (440 Hz) and an agent (880 Hz), both
    connected to each other and to the recorder."""

    def __init__(self, server, agent_client: CallClient, agent_media: CallMedia,
                 customer: CallClient | None, customer_media: CallMedia | None,
                 call_id: str) -> None:
        self.server = server
        self.agent = agent_client
        self.agent_media = agent_media
        self.customer = customer
        self.customer_media = customer_media
        self.call_id = call_id
        self.answered_at = 0.0  # wall clock, just before the agent accepted

    def elapsed(self) -> float:
        """Seconds since the answer, which is when the core starts the recording."""
        return time.time() - self.answered_at


async def recorded_call(made, server, agent_id: str = "ag1") -> RecordedCall:
    desk = made(server)
    agent_client = await desk.agent(agent_id)
    agent_media = made.media(agent_client, AGENT_TONE)
    customer = await desk.customer("cust")
    customer_media = made.media(customer, CUSTOMER_TONE)
    ack = await customer.enqueue("q", AUDIO_CALL)
    assert ack["recorded"] is True
    call_id = ack["callId"]
    await first_offer([agent_client], callId=call_id)
    answered_at = time.time()
    await agent_media.accept(call_id)
    await asyncio.gather(agent_media.wait_connected(customer.user_id),
                         customer_media.wait_connected(agent_client.user_id),
                         agent_media.wait_recording(call_id),
                         customer_media.wait_recording(call_id))
    call = RecordedCall(server, agent_client, agent_media, customer, customer_media, call_id)
    call.answered_at = answered_at
    return call


def http_get(server, path: str, token: str | None, headers: dict[str, str] | None = None,
             **kwargs: Any) -> requests.Response:
    headers = dict(headers or {})
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return requests.get(server.url + path, headers=headers, timeout=10, **kwargs)


async def fetch_record(server, call_id: str, timeout: float = 15) -> dict[str, Any]:
    """The index record of `call_id` once it exists (the worker reports after the call)."""
    token = server.token("ag1", role="agent")
    deadline = time.monotonic() + timeout
    while True:
        response = await asyncio.to_thread(http_get, server, f"/api/recordings/{call_id}", token)
        if response.status_code == 200:
            return response.json()
        assert response.status_code == 404, response.text
        if time.monotonic() > deadline:
            raise TimeoutError(f"no recording of {call_id} indexed:\n{server.log()[-3000:]}")
        await asyncio.sleep(0.1)


async def fetch_audio(server, call_id: str) -> bytes:
    token = server.token("ag1", role="agent")
    response = await asyncio.to_thread(http_get, server, f"/api/recordings/{call_id}/audio",
                                       token)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "audio/ogg"
    assert response.headers["Content-Disposition"].endswith(f"filename={call_id}.ogg")
    return response.content


def read_recording(data: bytes) -> tuple[Any, int]:
    """A recording (Ogg Opus) decoded by FFmpeg through PyAV, an independent decoder: (samples
    as an int16 array of shape (frames, 2), sample rate); checks that it is two channels and that
    the decoded length is what its last page's granule position says."""
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.audio[0]
        assert container.format.name == "ogg" and stream.codec_context.name == "opus"
        assert stream.channels == 2
        frames = [frame.to_ndarray() for frame in container.decode(stream)]
        rate = stream.codec_context.sample_rate
        declared = stream.duration
    samples = np.concatenate(frames, axis=1)  # planar float: (channels, frames)
    assert samples.shape[0] == 2
    assert samples.shape[1] == declared, "the granule position matches the audio"
    return (np.clip(samples.T * 32767, -32768, 32767).astype(np.int16), rate)


def peak_frequency(channel: Any, rate: int) -> float:
    """The strongest frequency of a channel, from the non-silent part only."""
    voiced = channel[np.abs(channel) > 0].astype(np.float64)
    assert len(voiced) > rate // 2, "at least half a second of sound"
    spectrum = np.abs(np.fft.rfft(voiced * np.hanning(len(voiced))))
    return float(np.fft.rfftfreq(len(voiced), 1 / rate)[int(np.argmax(spectrum))])


def sounding_seconds(channel: Any, rate: int, block: float = 0.02) -> float:
    """Seconds of 20 ms blocks that hold sound (not silence)."""
    size = int(rate * block)
    blocks = channel[:len(channel) // size * size].reshape(-1, size)
    return float(np.count_nonzero(np.abs(blocks).max(axis=1) > 100)) * block


def recording_of_file(path: Path) -> tuple[Any, int]:
    return read_recording(path.read_bytes())


# -- tests ----------------------------------------------------------------------------------------


async def test_recording_has_customer_tone_left_and_agent_tone_right(server_factory, tmp_path,
                                                                     desk):
    server = start(server_factory, tmp_path)  # `callcenter serve` starts its own worker
    await asyncio.to_thread(server.wait_for_media_workers)
    call = await recorded_call(desk, server)
    await asyncio.sleep(4)
    await call.customer_media.hangup(call.call_id)
    await call.agent.next_event("call_end", callId=call.call_id)

    record = await fetch_record(server, call.call_id)
    # The child worker writes to the server's log, without the ICE library's per-candidate lines.
    assert "callcenter.media" in server.log() and "aioice" not in server.log()
    data = await fetch_audio(server, call.call_id)
    samples, rate = read_recording(data)
    assert rate == 48000 and samples.shape[1] == 2
    assert record["channels"] == 2 and record["partial"] is False
    assert record["sha256"] == hashlib.sha256(data).hexdigest()
    assert record["size"] == len(data)

    left, right = samples[:, 0], samples[:, 1]
    assert abs(peak_frequency(left, rate) - CUSTOMER_TONE) <= 5
    assert abs(peak_frequency(right, rate) - AGENT_TONE) <= 5

    # the file covers the call from answer to hangup, as the server timed it
    state = await call.agent.agent_state()
    talk = next(c for c in state["callsToday"] if c["callId"] == call.call_id)
    talked = talk["endedAt"] - talk["answeredAt"]
    duration = len(samples) / rate
    assert abs(record["duration"] - duration) < 0.01
    assert abs(duration - talked) <= 0.02 * talked, (duration, talked)
    # and no audio was lost once the media flowed: each channel sounds from the moment its
    # connection to the recorder was up (at most ~1 s after answer) to the hangup
    for channel in (left, right):
        assert sounding_seconds(channel, rate) >= talked - 1.0, sounding_seconds(channel, rate)

    # the call's history record names the recording, with the same checksum
    supervisor = server.token("boss", role="supervisor")
    history = await asyncio.to_thread(http_get, server, f"/api/calls/{call.call_id}", supervisor)
    stored = history.json()["call"]
    assert stored["recorded"] is True and stored["recording"]["sha256"] == record["sha256"]
    assert stored["recording"]["partial"] is False


async def test_a_leg_dropped_mid_call_still_leaves_a_closed_playable_recording(
        server_factory, tmp_path, desk):
    server = start(server_factory, tmp_path)
    await asyncio.to_thread(server.wait_for_media_workers)
    d = desk(server)
    agent_client = await d.agent("ag1")
    agent_media = desk.media(agent_client, AGENT_TONE)
    user = unique("cust")
    peer = subprocess.Popen(
        [sys.executable, str(PEER_SCRIPT), server.url, "demo", user,
         server.token(user), "q", str(CUSTOMER_TONE)],
        stdout=subprocess.PIPE, stderr=open(tmp_path / "peer.log", "wb"))  # noqa: SIM115
    try:
        line = await asyncio.to_thread(peer.stdout.readline)
        joined = json.loads(line)
        assert joined["recorded"] is True, joined
        call_id = joined["callId"]
        await first_offer([agent_client], timeout=10, callId=call_id)
        await agent_media.accept(call_id)
        await agent_media.wait_connected(user)
        await agent_media.wait_recording(call_id)
        assert json.loads(await asyncio.to_thread(peer.stdout.readline)) == {"recording": True}
        await asyncio.sleep(2)
    finally:
        peer.kill()  # the customer's process dies: no hangup, no DTLS close, nothing
        peer.wait(5)
    # the core notices the dead connection, ends the call for the agent and stops the recording
    await agent_client.next_event("call_end", timeout=60, callId=call_id)
    record = await fetch_record(server, call_id)
    samples, rate = read_recording(await fetch_audio(server, call_id))  # closed: header matches
    assert record["duration"] == pytest.approx(len(samples) / rate, abs=0.01)
    assert record["partial"] is False
    left, right = samples[:, 0], samples[:, 1]
    assert abs(peak_frequency(right, rate) - AGENT_TONE) <= 5
    assert sounding_seconds(right, rate) >= 1.5
    assert abs(peak_frequency(left, rate) - CUSTOMER_TONE) <= 5  # until it died


async def test_worker_killed_mid_call_leaves_a_partial_playable_file_and_the_call_goes_on(
        server_factory, tmp_path, desk, worker_procs):
    server = start(server_factory, tmp_path, workers=0)
    worker = worker_procs(server, "w1")
    call = await recorded_call(desk, server)
    await asyncio.sleep(2)
    recorded = call.elapsed()
    worker.process.kill()
    worker.process.wait(5)

    # the call itself goes on: signaling and media between the two are untouched
    await call.agent.signal(call.call_id, call.customer.user_id, "candidate", None)
    await call.customer.next_event("signal", callId=call.call_id, kind="candidate")
    before = await call.customer_media.inbound_packets(call.agent.user_id)
    await asyncio.sleep(0.5)
    assert await call.customer_media.inbound_packets(call.agent.user_id) > before

    record = await fetch_record(server, call.call_id)
    assert record["partial"] is True
    samples, rate = read_recording(await fetch_audio(server, call.call_id))
    # everything up to the last flush before the kill is there (the worker writes what is
    # 1 s old every 0.1 s: worker.LATENCY)
    duration = len(samples) / rate
    assert recorded - 1.4 <= duration <= recorded - 0.8, (duration, recorded)
    assert abs(peak_frequency(samples[:, 1], rate) - AGENT_TONE) <= 5

    await call.agent_media.hangup(call.call_id)
    await call.customer.next_event("call_end", callId=call.call_id)


async def test_a_second_worker_takes_new_jobs(server_factory, tmp_path, desk, worker_procs):
    server = start(server_factory, tmp_path, workers=0)
    first = worker_procs(server, "w1")
    second = worker_procs(server, "w2")
    await asyncio.to_thread(server.wait_for_media_workers, 2)
    first.process.kill()
    first.process.wait(5)
    await asyncio.sleep(0.5)  # the core sees the connection drop

    call = await recorded_call(desk, server)
    await asyncio.sleep(1.5)
    await call.agent_media.hangup(call.call_id)
    await call.customer.next_event("call_end", callId=call.call_id)
    record = await fetch_record(server, call.call_id)
    assert record["partial"] is False
    samples, rate = read_recording(await fetch_audio(server, call.call_id))
    assert abs(peak_frequency(samples[:, 0], rate) - CUSTOMER_TONE) <= 5
    assert call.call_id in second.log()


async def test_recording_access_is_for_the_calls_agent_and_the_apps_supervisors(server_factory,
                                                                              tmp_path, desk):
    server = start(server_factory, tmp_path)
    await asyncio.to_thread(server.wait_for_media_workers)
    call = await recorded_call(desk, server)
    await asyncio.sleep(1)
    await call.agent_media.hangup(call.call_id)
    record = await fetch_record(server, call.call_id)

    for path in (f"/api/recordings/{call.call_id}", f"/api/recordings/{call.call_id}/audio"):
        no_token = http_get(server, path, None)
        customer = http_get(server, path, server.token(call.customer.user_id))
        foreign = http_get(server, path, server.token("ag1", app="other", role="agent"))
        for response, status in ((no_token, 401), (customer, 403), (foreign, 404)):
            assert response.status_code == status, (path, response.status_code, response.text)
            assert response.json()["ok"] is False and response.json()["error"]["code"]
        # another agent of the app: not their call (docs/protocol.md, "Who may do what")
        assert http_get(server, path, server.token("ag2", role="agent")).status_code == 404
        for who, role in (("ag1", "agent"), ("boss", "supervisor"), ("media-x", "service")):
            assert http_get(server, path, server.token(who, role=role)).status_code == 200

    # an <audio src> opens it through a signed link, never ?token=
    audio = f"/api/recordings/{call.call_id}/audio"
    link = requests.post(server.url + "/api/links", json={"path": audio}, timeout=10, headers={
        "Authorization": f"Bearer {server.token('ag1', role='agent')}"}).json()
    query = requests.get(server.url + link["url"], timeout=10)
    assert query.status_code == 200 and len(query.content) == record["size"]
    ranged = http_get(server, audio, server.token("ag1", role="agent"),
                      headers={"Range": "bytes=0-99"})
    assert ranged.status_code == 206
    assert len(ranged.content) == 100 and ranged.content[:4] == b"OggS"
    assert ranged.headers["Content-Range"] == f"bytes 0-99/{record['size']}"


async def test_sigterm_closes_open_recordings(server_factory, tmp_path, desk, worker_procs):
    server = start(server_factory, tmp_path, workers=0)
    worker = worker_procs(server, "w1")
    call = await recorded_call(desk, server)
    await asyncio.sleep(2)
    stopped = call.elapsed()
    worker.process.send_signal(signal.SIGTERM)
    assert await asyncio.to_thread(worker.process.wait, 10) == 0

    record = await fetch_record(server, call.call_id)
    assert record["partial"] is True
    data = await fetch_audio(server, call.call_id)
    assert record["sha256"] == hashlib.sha256(data).hexdigest()
    samples, rate = read_recording(data)
    # closed properly: everything up to SIGTERM, nothing cut
    assert stopped - 0.1 <= len(samples) / rate <= stopped + 0.5, (len(samples) / rate, stopped)
    assert abs(peak_frequency(samples[:, 0], rate) - CUSTOMER_TONE) <= 5
    assert abs(peak_frequency(samples[:, 1], rate) - AGENT_TONE) <= 5
    assert "done" in worker.log() and "partial" in worker.log()

    await call.customer_media.hangup(call.call_id)
    await call.agent.next_event("call_end", callId=call.call_id)


async def test_a_stop_the_worker_handles_late_still_ends_the_file_at_the_hangup(
        server_factory, tmp_path, desk, worker_procs):
    """The worker is frozen (SIGSTOP) across the hangup and thawed a second and a half later:
    by then its flush has written past the call's end, and the record_stop's `at` cuts the file
    back to it (as under a burst of hangups on a busy worker; bench/recording.py measures that)."""
    server = start(server_factory, tmp_path, workers=0)
    worker = worker_procs(server, "w1")
    call = await recorded_call(desk, server)
    await asyncio.sleep(3)
    worker.process.send_signal(signal.SIGSTOP)
    try:
        await asyncio.sleep(0.3)
        await call.customer_media.hangup(call.call_id)
        await call.agent.next_event("call_end", callId=call.call_id)
        await asyncio.sleep(1.5)
    finally:
        worker.process.send_signal(signal.SIGCONT)

    record = await fetch_record(server, call.call_id)
    samples, rate = read_recording(await fetch_audio(server, call.call_id))
    state = await call.agent.agent_state()
    talk = next(c for c in state["callsToday"] if c["callId"] == call.call_id)
    talked = talk["endedAt"] - talk["answeredAt"]
    duration = len(samples) / rate
    assert abs(duration - talked) <= 0.03, (duration, talked)  # not 1.5 s longer
    assert record["duration"] == pytest.approx(duration, abs=0.001)
    assert record["partial"] is False
    assert "file cut back" in worker.log(), worker.log()[-2000:]
    assert abs(peak_frequency(samples[:, 0], rate) - CUSTOMER_TONE) <= 5
    assert abs(peak_frequency(samples[:, 1], rate) - AGENT_TONE) <= 5
