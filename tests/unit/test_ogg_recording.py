"""The recording file, without network: the Opus packet format (`callcenter.media.opus`), the
slots each leg's packets go to (`slots`), the Ogg Opus writer and the core's repair (`ogg`), and
the tap that takes packets out of aiortc's receiver (`tap`). Every file written here is decoded
by an independent decoder (PyAV, i.e. FFmpeg's Ogg demuxer and libopus), and its pages are
checked against a plain table-driven CRC written here from the Ogg specification."""

from __future__ import annotations

import array
import fractions
import math
import struct
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest

from callcenter.media import ogg
from callcenter.media.ogg import OggOpusWriter, page_crc, pages, repair
from callcenter.media.opus import (
    SILENCE,
    PacketError,
    encode_length,
    parse,
    self_delimited,
    slot_packets,
)
from callcenter.media.recording_file import duration_of, sha256_of
from callcenter.media.slots import LegPackets, SlotPairs

RATE = 48000
LEFT_TONE, RIGHT_TONE = 440, 880


# -- helpers: an encoder, a decoder and a CRC of our own ------------------------------------------


def opus_packets(frequency: int, seconds: float, frame_ms: int = 20,
                 application: str = "voip") -> list[bytes]:
    """Opus packets of a tone, encoded by PyAV's libopus with `frame_ms` frames."""
    encoder = av.CodecContext.create("libopus", "w")
    encoder.sample_rate, encoder.format, encoder.layout = RATE, "s16", "mono"
    encoder.bit_rate, encoder.time_base = 32000, fractions.Fraction(1, RATE)
    encoder.options = {"frame_duration": str(frame_ms), "application": application}
    size = RATE * frame_ms // 1000
    packets: list[bytes] = []
    for start in range(0, int(RATE * seconds), size):
        frame = av.AudioFrame(format="s16", layout="mono", samples=size)
        frame.planes[0].update(array.array("h", (
            int(8000 * math.sin(2 * math.pi * frequency * (start + i) / RATE))
            for i in range(size))).tobytes())
        frame.sample_rate, frame.pts, frame.time_base = RATE, start, encoder.time_base
        packets += [bytes(p) for p in encoder.encode(frame)]
    return packets


def decode(path: Path) -> np.ndarray:
    """The file decoded by FFmpeg: float samples of shape (channels, samples)."""
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        assert stream.codec_context.name == "opus"
        frames = [frame.to_ndarray() for frame in container.decode(stream)]
    samples = np.concatenate(frames, axis=1)
    assert samples.shape[0] == 2, "two channels"
    return samples


def peak(channel: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(channel * np.hanning(len(channel))))
    return float(np.fft.rfftfreq(len(channel), 1 / RATE)[int(np.argmax(spectrum))])


def sounding(channel: np.ndarray) -> np.ndarray:
    """Per 20 ms block: does it hold sound?"""
    blocks = channel[:len(channel) // 960 * 960].reshape(-1, 960)
    return np.abs(blocks).max(axis=1) > 0.01


def _table() -> list[int]:
    table = []
    for index in range(256):
        value = index << 24
        for _ in range(8):
            value = ((value << 1) ^ 0x04C11DB7) if value & 0x80000000 else value << 1
        table.append(value & 0xFFFFFFFF)
    return table


TABLE = _table()


def reference_crc(data: bytes) -> int:
    """Ogg's CRC as RFC 3533 defines it: CRC-32, polynomial 0x04C11DB7, MSB first, from 0."""
    crc = 0
    for byte in data:
        crc = ((crc << 8) & 0xFFFFFFFF) ^ TABLE[(crc >> 24) ^ byte]
    return crc


def raw_pages(data: bytes) -> list[dict]:
    """Every page of a file, read here from the byte layout, its CRC checked by reference."""
    found = []
    at = 0
    while at < len(data):
        assert data[at:at + 4] == b"OggS", at
        flags, granule, serial, sequence, crc, count = struct.unpack_from("<BqIIIB", data,
                                                                          at + 5)
        lacing = data[at + 27:at + 27 + count]
        size = 27 + count + sum(lacing)
        page = bytearray(data[at:at + size])
        page[22:26] = bytes(4)
        assert reference_crc(bytes(page)) == crc, f"CRC of page {sequence}"
        body = data[at + 27 + count:at + size]
        packets, current, offset = [], 0, 0
        for value in lacing:
            current += value
            if value < 255:
                packets.append(body[offset:offset + current])
                offset += current
                current = 0
        found.append({"flags": flags, "granule": granule, "serial": serial,
                      "sequence": sequence, "packets": packets})
        at += size
    return found


def write(path: Path, slots: SlotPairs, total: int, every: int = 5) -> OggOpusWriter:
    """Take `total` slots from `slots` into a file, `every` slots per flush, then close."""
    writer = OggOpusWriter(path)
    for upto in range(every, total + every, every):
        writer.write(slots.take(min(upto, total)))
    writer.close()
    return writer


# -- the file ------------------------------------------------------------------------------------


def test_our_crc_is_ogg_crc():
    for data in (b"", b"OggS", bytes(range(256)) * 7, b"\xff" * 1000):
        assert page_crc(data) == reference_crc(data)


def test_the_file_is_family_1_two_uncoupled_streams_with_whole_pages(tmp_path):
    left, right = opus_packets(LEFT_TONE, 1), opus_packets(RIGHT_TONE, 1)
    slots = SlotPairs()
    for index in range(50):
        slots.put("left", index, left[index])
        slots.put("right", index, right[index])
    path = tmp_path / "call.ogg"
    writer = write(path, slots, 50)
    found = raw_pages(path.read_bytes())

    head = found[0]["packets"][0]
    assert found[0]["flags"] == ogg.BOS and found[0]["granule"] == 0
    magic, version, channels, pre_skip, rate, gain, family = struct.unpack_from(
        "<8sBBHIhB", head)
    assert (magic, version, channels, rate, gain, family) == (b"OpusHead", 1, 2, 48000, 0, 1)
    assert pre_skip == 0
    assert head[19:] == bytes((2, 0, 0, 1)), "2 streams, 0 coupled, mapping [0, 1]"
    assert found[1]["packets"][0].startswith(b"OpusTags")
    assert [p["sequence"] for p in found] == list(range(len(found)))
    assert len({p["serial"] for p in found}) == 1
    audio = found[2:]
    assert [p["granule"] for p in audio] == [960 * 5 * (i + 1) for i in range(10)]
    assert [p["flags"] for p in audio] == [0] * 9 + [ogg.EOS]

    # each packet: the left leg's, self-delimited, then the right leg's as it came
    packets = [packet for page in audio for packet in page["packets"]]
    assert packets == [self_delimited(left[i]) + right[i] for i in range(50)]
    assert writer.duration == 1.0 and duration_of(path) == 1.0
    assert writer.size == path.stat().st_size

    samples = decode(path)
    assert samples.shape[1] == 48000
    assert abs(peak(samples[0, 4800:]) - LEFT_TONE) <= 2
    assert abs(peak(samples[1, 4800:]) - RIGHT_TONE) <= 2


def test_missing_packets_are_silence_and_the_two_legs_stay_aligned(tmp_path):
    left, right = opus_packets(LEFT_TONE, 2), opus_packets(RIGHT_TONE, 2)
    slots = SlotPairs()
    for index in range(100):
        if index >= 25:  # the customer's leg connects half a second late
            slots.put("left", index, left[index])
        if not 50 <= index < 60:  # 200 ms of the agent's packets lost (or DTX)
            slots.put("right", index, right[index])
    path = tmp_path / "call.ogg"
    write(path, slots, 100)
    assert slots.filled == {"left": 25, "right": 10}

    samples = decode(path)
    assert samples.shape[1] == 96000, "both streams fill every slot"
    left_sound, right_sound = sounding(samples[0]), sounding(samples[1])
    assert not left_sound[:25].any() and left_sound[26:].all()
    assert right_sound[:50].all() and not right_sound[51:60].any() and right_sound[61:].all()
    assert abs(peak(samples[0, 26 * 960:]) - LEFT_TONE) <= 2
    assert abs(peak(samples[1, 61 * 960:]) - RIGHT_TONE) <= 2


def test_the_duration_of_a_long_recording_is_read_from_its_end(tmp_path):
    packets = opus_packets(LEFT_TONE, 1)
    slots = SlotPairs()
    path = tmp_path / "long.ogg"
    writer = OggOpusWriter(path)
    for second in range(60):  # a minute: several times the tail duration_of reads
        for index in range(50):
            slots.put("left", second * 50 + index, packets[index])
            slots.put("right", second * 50 + index, packets[index])
        writer.write(slots.take((second + 1) * 50))
    writer.close()
    assert path.stat().st_size > 4 * ogg.MAX_PAGE
    assert duration_of(path) == 60.0
    with path.open("r+b") as f:  # torn: the last page's CRC no longer matches
        f.seek(-10, 2)
        f.write(b"\x00" * 10)
    assert duration_of(path) == pytest.approx(59.0)


def test_the_silence_packet_decodes_to_silence():
    decoder = av.CodecContext.create("libopus", "r")
    frames = decoder.decode(av.Packet(SILENCE))
    samples = np.concatenate([frame.to_ndarray().ravel() for frame in frames])
    assert len(samples) == 960 * frames[0].layout.nb_channels and not samples.any()


def one_leg_written(path, leg: str, tone: float, seconds: int) -> OggOpusWriter:
    """A writer (left open) that has written ``seconds`` of one leg's tone, 5 slots at a time,
    the other leg silent."""
    packets = opus_packets(tone, seconds)
    slots = SlotPairs()
    count = 50 * seconds
    for index in range(count):
        slots.put(leg, index, packets[index])
    writer = OggOpusWriter(path)
    for upto in range(5, count + 1, 5):
        writer.write(slots.take(upto))
    return writer


def test_a_stop_handled_late_cuts_the_file_back_to_the_calls_end(tmp_path):
    path = tmp_path / "call.ogg"
    writer = one_leg_written(path, "left", LEFT_TONE, 3)
    writer.cut(2 * 48000 + 7 * 960 + 100)  # 2.14 s and a bit: whole packets only
    writer.close()
    assert writer.duration == pytest.approx(2.14)
    found = raw_pages(path.read_bytes())
    assert found[-1]["granule"] == 2 * 48000 + 7 * 960 and found[-1]["flags"] == ogg.EOS
    assert [p["sequence"] for p in found] == list(range(len(found)))
    assert decode(path).shape[1] == 2 * 48000 + 7 * 960
    assert duration_of(path) == pytest.approx(2.14)


def test_a_file_torn_mid_page_is_cut_to_its_last_whole_page_and_plays(tmp_path):
    path = tmp_path / "call.ogg"
    writer = one_leg_written(path, "right", RIGHT_TONE, 2)
    writer.abandon()  # a worker killed: no EOS
    whole = path.read_bytes()
    path.write_bytes(whole[:-100])  # and its last page torn
    assert len(pages(path.read_bytes())) == 2 + 19
    assert duration_of(path) == pytest.approx(1.9), "from the last whole page"
    repair(path)
    found = raw_pages(path.read_bytes())
    assert len(found) == 21 and found[-1]["flags"] == ogg.EOS
    assert found[-1]["granule"] == 95 * 960
    assert duration_of(path) == pytest.approx(1.9)
    assert decode(path).shape[1] == 95 * 960
    assert sha256_of(path) == __import__("hashlib").sha256(path.read_bytes()).hexdigest()


# -- the packet format ---------------------------------------------------------------------------


def test_lengths_round_trip_in_one_and_two_bytes():
    for length in (0, 1, 251, 252, 253, 255, 256, 1000, 1275):
        encoded = encode_length(length)
        assert len(encoded) == (1 if length < 252 else 2)
        packet = b"\x7a" + encoded + bytes(length) + b"\x00"  # code 2: first frame `length`
        assert parse(packet)[1][0] == (1 + len(encoded), length)
    with pytest.raises(PacketError):
        encode_length(1276)


def test_every_framing_code_is_self_delimited_and_decodes_as_a_multistream_packet(tmp_path):
    """Codes 0 to 3, VBR and CBR, padded: the left leg's packets recombined from a real
    encoder's 10 ms frames, self-delimited, must decode as the tone; the right leg's 60 ms
    packets (code 3, three 20 ms frames) split into slots must too."""
    # code 0 packets of 10 ms frames, CELT; past the encoder's first bandwidth change, in one
    # configuration, so that two can share a packet
    ten = opus_packets(LEFT_TONE, 1.4, frame_ms=10, application="lowdelay")[20:]
    sixty = opus_packets(RIGHT_TONE, 1.2, frame_ms=60)
    assert all(p[0] & 3 == 3 for p in sixty)
    right = [part for packet in sixty for part in slot_packets(packet)]
    toc = ten[0][0] & 0xFC
    assert all(p[0] & 0xFC == toc for p in ten), "one configuration throughout"
    frames = [p[1:] for p in ten]
    combined = []
    for index in range(0, len(frames) - 1, 2):
        first, second = frames[index], frames[index + 1]
        kind = index // 2 % 4
        if kind == 0 and len(first) == len(second):
            combined.append(bytes((toc | 1,)) + first + second)  # code 1
        elif kind in (0, 1):
            combined.append(bytes((toc | 2,)) + encode_length(len(first)) + first + second)
        elif kind == 2:  # code 3, VBR, 3 bytes of padding
            combined.append(bytes((toc | 3, 0x80 | 0x40 | 2, 3)) + encode_length(len(first))
                            + first + second + bytes(3))
        else:  # code 3, CBR, when the two are the same size, else VBR without padding
            if len(first) == len(second):
                combined.append(bytes((toc | 3, 2)) + first + second)
            else:
                combined.append(bytes((toc | 3, 0x80 | 2)) + encode_length(len(first))
                                + first + second)
    assert {p[0] & 3 for p in combined} >= {2, 3}
    slots = SlotPairs()
    for index, packet in enumerate(combined):
        assert slot_packets(packet) == [packet], "two 10 ms frames fill a slot"
        slots.put("left", index, packet)
        slots.put("right", index, right[index])
    path = tmp_path / "call.ogg"
    write(path, slots, len(combined))
    samples = decode(path)
    assert samples.shape[1] == len(combined) * 960
    assert sounding(samples[0])[5:].all() and sounding(samples[1])[5:].all()
    assert abs(peak(samples[0, 4800:]) - LEFT_TONE) <= 2
    assert abs(peak(samples[1, 4800:]) - RIGHT_TONE) <= 2


def test_a_packet_of_several_20ms_frames_is_split_and_other_sizes_refused():
    packets = opus_packets(LEFT_TONE, 0.2)
    toc = packets[1][0] & 0xFC
    first, second = packets[1][1:], packets[2][1:]
    forty = bytes((toc | 2,)) + encode_length(len(first)) + first + second
    assert slot_packets(forty) == [bytes((toc,)) + first, bytes((toc,)) + second]
    with pytest.raises(PacketError):
        slot_packets(opus_packets(LEFT_TONE, 0.1, frame_ms=10)[1])  # one 10 ms frame
    for config in (2, 3, 10, 11):  # one SILK frame of 40 or 60 ms
        with pytest.raises(PacketError):
            slot_packets(bytes((config << 3,)) + b"\x55" * 40)
    with pytest.raises(PacketError):
        slot_packets(bytes((toc | 3, 0x80 | 2, 200)) + b"\x00" * 10)  # frames past the end


# -- placing packets by RTP time -----------------------------------------------------------------


class FakeLegClock:
    """The two fields and counters `LegPackets` keeps on the worker's Leg (slots.LegClock)."""

    def __init__(self, channel: str) -> None:
        self.channel = channel
        self.anchor: int | None = None
        self.packets = 0
        self.unfit = 0


def test_packets_are_placed_by_rtp_time_not_arrival():
    slots = SlotPairs()
    leg = FakeLegClock("right")
    sink = LegPackets(slots, leg, started_at=0.0)
    packets = opus_packets(RIGHT_TONE, 1)
    for index, data in enumerate(packets[:50]):
        if index == 10:
            continue  # lost
        # the first arrives 0.5 s in, at its end; then jitter up to 15 ms, and a burst
        arrival = 0.5 + 0.02 * index + (0.015 if index % 3 else 0.0)
        if 20 <= index < 25:
            arrival = 0.5 + 0.02 * 25  # five held up, arriving together
        sink.packet(data, index * 960, arrival)
    first = 25 - 1  # 0.5 s is slot 25; the packet began a slot earlier
    assert sorted(slots.lanes["right"]) == [first + i for i in range(50) if i != 10]
    assert slots.lanes["right"][first + 3] == packets[3]
    assert leg.packets == 49 and leg.unfit == 0

    # a sender whose clock jumps (restarted) is anchored afresh where its packets arrive
    sink.packet(packets[0], 10_000_000, 2.0)
    assert 2 * 50 - 1 in slots.lanes["right"]

    # too late: its slot has been written
    taken = slots.take(first + 5)
    assert len(taken) == first + 5
    slots.put("right", first + 3, packets[3])
    assert slots.dropped == 1


def test_a_packet_that_does_not_fit_slots_is_counted_and_left_out():
    slots = SlotPairs()
    leg = FakeLegClock("left")
    sink = LegPackets(slots, leg, started_at=0.0)
    sink.packet(opus_packets(LEFT_TONE, 0.1, frame_ms=10)[1], 0, 0.1)
    sink.packet(b"", 960, 0.12)
    assert leg.unfit == 2 and not slots.lanes["left"]


class NoTransport:
    """The one thing an aiortc RTCRtpReceiver asks of its DTLS transport when made."""

    state = "new"

    def _register_rtp_receiver(self, *args, **kwargs):
        pass


OPUS_CODEC = dict(mimeType="audio/opus", clockRate=48000, channels=2, payloadType=111)


def test_the_tap_takes_aiortcs_rtp_packets_undecoded_by_rtp_time():
    """PacketTap in place of a real aiortc RTCRtpReceiver's per-packet handler, fed real
    RtpPackets as aiortc's DTLS transport would: reordered, across a timestamp wrap, and one of
    another codec; the receiver-report statistics still count every packet."""
    import asyncio

    from aiortc import RTCRtpReceiver
    from aiortc.rtcrtpparameters import RTCRtpCodecParameters
    from aiortc.rtp import RtpPacket

    from callcenter.media.tap import PacketTap

    async def run() -> tuple[SlotPairs, FakeLegClock, RTCRtpReceiver, PacketTap]:
        receiver = RTCRtpReceiver("audio", NoTransport())
        receiver._RTCRtpReceiver__codecs[111] = RTCRtpCodecParameters(**OPUS_CODEC)
        receiver._RTCRtpReceiver__codecs[0] = RTCRtpCodecParameters(
            mimeType="audio/PCMU", clockRate=8000, payloadType=0)
        slots = SlotPairs()
        leg = FakeLegClock("left")
        now = [0.0]
        assert PacketTap.install(receiver, LegPackets(slots, leg, 0.0), lambda: now[0])
        tap = receiver._handle_rtp_packet.__self__
        assert isinstance(tap, PacketTap)
        packets = opus_packets(LEFT_TONE, 0.3)
        origin = 0xFFFFFFFF - 4 * 960  # wraps at the sixth packet
        order = [0, 1, 2, 4, 3, 5, 6, 7, 9, 8]  # two pairs swapped on the way
        for arrival, index in enumerate(order):
            # those after the wrap held up 0.1 s on the way: their timestamps still place them
            now[0] = 0.1 + 0.02 * arrival + (0.1 if arrival >= 5 else 0.0)
            packet = RtpPacket(payload_type=111, sequence_number=index,
                               timestamp=(origin + index * 960) & 0xFFFFFFFF, ssrc=1234)
            packet.payload = packets[index]
            await receiver._handle_rtp_packet(packet, arrival_time_ms=0)
        pcmu = RtpPacket(payload_type=0, sequence_number=0, timestamp=0, ssrc=99)
        pcmu.payload = b"\xff" * 160
        await receiver._handle_rtp_packet(pcmu, arrival_time_ms=0)
        queue = receiver._RTCRtpReceiver__decoder_queue
        assert queue.get() is None  # aiortc's decoder thread is told there is no work
        return slots, leg, receiver, tap

    slots, leg, receiver, tap = asyncio.run(run())
    # the first packet arrived 0.1 s in, at its end: slot 4; the others by their timestamps
    assert sorted(slots.lanes["left"]) == list(range(4, 14))
    packets = opus_packets(LEFT_TONE, 0.3)
    assert [slots.lanes["left"][4 + i] for i in range(10)] == packets[:10]
    assert leg.packets == 10 and leg.unfit == 0
    assert tap.other_codec == 1  # PCMU: not recorded
    assert receiver._RTCRtpReceiver__remote_streams[1234].packets_received == 10


def test_the_tap_falls_back_to_aiortcs_decoder_queue():
    """Should the per-packet handler not be reachable, the frames aiortc puts in its decoder
    queue (after its jitter buffer) are taken instead."""
    import asyncio

    from aiortc import RTCRtpReceiver
    from aiortc.jitterbuffer import JitterFrame
    from aiortc.rtcrtpparameters import RTCRtpCodecParameters

    from callcenter.media.tap import PacketTap

    async def run() -> tuple[SlotPairs, FakeLegClock]:
        receiver = RTCRtpReceiver("audio", NoTransport())
        del receiver._RTCRtpReceiver__codecs  # not the aiortc we know
        slots = SlotPairs()
        leg = FakeLegClock("left")
        now = [0.1]
        assert PacketTap.install(receiver, LegPackets(slots, leg, 0.0), lambda: now[0])
        assert "_handle_rtp_packet" not in vars(receiver)
        queue = receiver._RTCRtpReceiver__decoder_queue
        opus = RTCRtpCodecParameters(**OPUS_CODEC)
        for index, data in enumerate(opus_packets(LEFT_TONE, 0.2)[:10]):
            now[0] = 0.1 + 0.02 * index
            queue.put((opus, JitterFrame(data=data, timestamp=index * 960)))
        queue.put(None)
        return slots, leg

    slots, leg = asyncio.run(run())
    assert leg.packets == 10 and sorted(slots.lanes["left"]) == list(range(4, 14))


def test_the_core_loads_the_recording_file_module_and_nothing_else_of_the_media_package():
    """The core server imports recordings.py; aiortc, PyAV, numpy and the worker stay out."""
    code = ("import sys, callcenter.history.recordings; print(sorted(m for m in sys.modules if "
            "m.split('.')[0] in ('aiortc', 'av', 'numpy') or m.startswith('callcenter.media')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == ("['callcenter.media', 'callcenter.media.ogg', "
                           "'callcenter.media.recording_file']")
