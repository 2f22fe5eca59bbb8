"""The media worker's mixer and WAV writer, and the core's repair of a partial file, with
synthetic samples (no network, no aiortc)."""

from __future__ import annotations

import array
import hashlib
import subprocess
import sys
import wave

import pytest

from callcenter.media import mixer as mixer_module
from callcenter.media.mixer import StereoMixer
from callcenter.media.wav import WavWriter, repair_wav_header, sha256_of


def mono(*values: int) -> bytes:
    return array.array("h", values).tobytes()


def stereo(data: bytes) -> list[tuple[int, int]]:
    samples = array.array("h", data)
    return list(zip(samples[0::2], samples[1::2], strict=True))


@pytest.fixture(params=["numpy", "bytes"], autouse=True)
def interleave(request, monkeypatch):
    """Every mixer test runs with numpy's interleave and with the stdlib fallback."""
    if request.param == "bytes":
        monkeypatch.setattr(mixer_module, "_np", None)
    else:
        # numpy is a test dependency: its path must really run, not be skipped.
        assert mixer_module._np is not None, "numpy is not installed (pip install -e .[test])"
    return request.param


def test_left_and_right_legs_are_interleaved_on_one_clock():
    mixer = StereoMixer()
    mixer.put("left", 0, mono(1, 2, 3, 4))
    mixer.put("right", 2, mono(7, 8))  # started two samples later: silence before
    assert stereo(mixer.take(4)) == [(1, 0), (2, 0), (3, 7), (4, 8)]
    assert mixer.position == 4


def test_gaps_and_a_missing_leg_are_silence():
    mixer = StereoMixer()
    mixer.put("left", 1, mono(5))
    mixer.put("left", 4, mono(6))
    assert stereo(mixer.take(6)) == [(0, 0), (5, 0), (0, 0), (0, 0), (6, 0), (0, 0)]
    assert stereo(mixer.take(8)) == [(0, 0), (0, 0)]


def test_audio_older_than_the_flushed_position_is_dropped_and_the_rest_kept():
    mixer = StereoMixer()
    mixer.put("right", 0, mono(1, 2))
    mixer.take(2)
    mixer.put("right", 1, mono(9, 3, 4))  # the first sample is too late
    assert mixer.dropped == 1
    assert stereo(mixer.take(4)) == [(0, 3), (0, 4)]


def test_take_leaves_later_audio_pending():
    mixer = StereoMixer()
    mixer.put("left", 0, mono(*range(1, 11)))
    assert [s[0] for s in stereo(mixer.take(3))] == [1, 2, 3]
    assert mixer.pending("left") == 7
    assert [s[0] for s in stereo(mixer.take(10))] == list(range(4, 11))
    assert mixer.take(10) == b""


def test_overlapping_audio_replaces_what_was_there():
    mixer = StereoMixer()
    mixer.put("left", 0, mono(1, 1, 1, 1))
    mixer.put("left", 2, mono(2, 2, 2))
    assert [s[0] for s in stereo(mixer.take(5))] == [1, 1, 2, 2, 2]


def test_the_wav_file_is_playable_after_every_write_and_after_close(tmp_path):
    path = tmp_path / "deep" / "dir" / "call.wav"
    writer = WavWriter(path, header_every=0)  # the header after every write
    with wave.open(str(path)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getnframes()) == \
            (2, 2, 48000, 0)
    chunk = array.array("h", range(200)).tobytes()  # 100 stereo frames
    writer.write(chunk)
    writer.write(chunk)
    # not closed: as a killed worker would leave it
    with wave.open(str(path)) as w:
        assert w.getnframes() == 200
        assert w.readframes(200) == chunk + chunk
    writer.close()
    assert path.stat().st_size == writer.size == 44 + 800
    assert writer.duration == 200 / 48000
    with wave.open(str(path)) as w:
        assert w.getnframes() == 200


def test_by_default_the_header_is_brought_up_to_date_once_a_second(tmp_path):
    path = tmp_path / "call.wav"
    writer = WavWriter(path)
    writer.write(bytes(400))
    with wave.open(str(path)) as w:
        assert w.getnframes() == 0  # not yet: under a second since the last update
    writer._patched_at -= 1.0
    writer.write(bytes(400))
    with wave.open(str(path)) as w:
        assert w.getnframes() == 200
    writer.close()


def test_a_file_left_mid_write_is_repaired_to_whole_frames_and_hashed(tmp_path):
    """What the core does with the file of a worker that died: sizes from the file's length."""
    path = tmp_path / "call.wav"
    writer = WavWriter(path, header_every=3600)  # the header still says 0 frames
    frames = array.array("h", range(300)).tobytes()  # 150 stereo frames
    writer.write(frames + b"\x01\x02\x03")  # and the start of a frame cut short
    writer.abandon()
    with wave.open(str(path)) as w:
        assert w.getnframes() == 0
    repair_wav_header(path)
    with wave.open(str(path)) as w:
        assert w.getnframes() == 150
        assert w.readframes(150) == frames
    assert path.stat().st_size == 44 + len(frames)
    assert sha256_of(path) == hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_core_loads_the_wav_module_and_nothing_else_of_the_media_package():
    """The core server imports recording.py; aiortc, PyAV and the worker stay out of it."""
    code = ("import sys, callcenter.history.recordings; print(sorted(m for m in sys.modules if "
            "m.split('.')[0] in ('aiortc', 'av', 'numpy') or m.startswith('callcenter.media')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "['callcenter.media', 'callcenter.media.wav']"


def test_opus_is_decoded_in_the_loop_to_mono_and_placed_by_rtp_time():
    """InlineDecoder + OpusToMono + LegAudio, fed 1 s of Opus as aiortc's receiver would."""
    import asyncio
    import fractions
    import math
    from types import SimpleNamespace

    import av
    import numpy as np

    from callcenter.media.mixer import LegAudio
    from callcenter.media.opus import InlineDecoder, OpusToMono
    from callcenter.media.worker import Leg

    encoder = av.CodecContext.create("libopus", "w")
    encoder.sample_rate, encoder.format, encoder.layout = 48000, "s16", "mono"
    encoder.bit_rate, encoder.time_base = 32000, fractions.Fraction(1, 48000)
    packets = []
    for start in range(0, 48000, 960):
        frame = av.AudioFrame(format="s16", layout="mono", samples=960)
        frame.planes[0].update(array.array("h", (
            int(8000 * math.sin(2 * math.pi * 440 * (start + i) / 48000))
            for i in range(960))).tobytes())
        frame.sample_rate, frame.pts, frame.time_base = 48000, start, encoder.time_base
        packets += [bytes(p) for p in encoder.encode(frame)]
    assert OpusToMono().decode(packets[0])  # decodes (ctypes libopus, or PyAV)

    async def run() -> StereoMixer:
        mixer = StereoMixer()
        leg = Leg("agent", "right")
        decoder = InlineDecoder(LegAudio(mixer, leg, started_at=0.0))
        codec = SimpleNamespace(name="opus", mimeType="audio/opus")
        for index, data in enumerate(packets):
            if index == 10:
                continue  # a lost packet: 20 ms of silence
            # packet n arrives at its end, the first 0.5 s after the job started, with jitter
            arrival = 0.5 + 0.02 * index + (0.005 if index % 3 else 0.0)
            decoder.loop = SimpleNamespace(time=lambda arrival=arrival: arrival)
            decoder.put((codec, SimpleNamespace(data=data, timestamp=index * 960)))
        assert decoder.errors == 0
        return mixer

    mixer = asyncio.run(run())
    samples = np.frombuffer(mixer.take(48000 * 2), dtype="<i2").reshape(-1, 2)
    left, right = samples[:, 0], samples[:, 1]
    assert not left.any()
    # the first packet ends as it arrives, 0.5 s in: it starts 20 ms earlier, and the others
    # follow by RTP time, jitter or not (the tone starts after the encoder's lookahead)
    first = int(0.5 * 48000) - 960
    voiced = np.flatnonzero(np.abs(right) > 0)
    assert first <= voiced[0] < first + 960
    assert not right[:first].any()
    # lost packet 10 is a 20 ms hole, exactly where it belonged
    assert not right[first + 10 * 960:first + 11 * 960].any()
    assert right[first + 11 * 960:first + 12 * 960].any()
    assert voiced[-1] < first + 50 * 960
    body = right[voiced[0]:first + 50 * 960].astype(float)
    peak = np.fft.rfftfreq(len(body), 1 / 48000)[np.argmax(np.abs(np.fft.rfft(body)))]
    assert abs(peak - 440) <= 2
