"""The Opus packet format (RFC 6716 §3 and Appendix B), as much of it as a recorder that stores
packets without decoding them needs: how long a packet lasts, its 20 ms frames as packets of
their own, the self-delimited framing a multistream packet wants for every stream but the last,
and a packet of silence. Pure computation on bytes, standard library only (the core imports the
container module beside it, and both are tested without aiortc).

Why 20 ms. A recording is an Ogg Opus multistream file (`ogg`), one stream per leg; every Ogg
packet holds one packet of each stream and all of them must last the same time, so the worker
puts each leg's audio into 20 ms slots: what browsers send (WebRTC's default ptime). A packet of
several 20 ms frames is split into one packet per frame, which is lossless (the frames are
independent in the packet format, and each leg's decoder sees the same frames in the same
order). Other frame sizes (2.5, 5, 10, 40 and 60 ms frames) cannot be cut to 20 ms slots without
decoding: `slot_packets` refuses them and the worker records silence for them (and logs it).
"""

from __future__ import annotations

__all__ = ["SAMPLE_RATE", "SLOT_SAMPLES", "SILENCE", "SILENCE_DELIMITED", "PacketError",
           "frame_samples", "parse", "slot_packets", "self_delimited", "encode_length"]

SAMPLE_RATE = 48_000  # Opus's own rate: RTP timestamps and Ogg granule positions count it
SLOT_SAMPLES = 960  # 20 ms
#: a 20 ms packet that decodes to silence: CELT-only fullband 20 ms (config 31), mono, one
#: frame whose range-coded first symbol is the silence flag. The packet Janus and Discord's
#: clients send for "nothing" (our tests decode it to zeros with libopus).
SILENCE = b"\xf8\xff\xfe"
MAX_FRAME = 1275  # bytes (RFC 6716 §3.2.1)

# samples (48 kHz) of one frame, by the TOC's configuration number (RFC 6716 §3.1, Table 2)
_SILK = (480, 960, 1920, 2880)
_HYBRID = (480, 960)
_CELT = (120, 240, 480, 960)


class PacketError(ValueError):
    """Not a well-formed Opus packet, or not one that fits 20 ms slots."""


def frame_samples(toc: int) -> int:
    """Samples (at 48 kHz) of each frame of a packet whose first byte is `toc`."""
    config = toc >> 3
    if config < 12:
        return _SILK[config % 4]
    if config < 16:
        return _HYBRID[config % 2]
    return _CELT[config % 4]


def _read_length(packet: bytes, at: int) -> tuple[int, int]:
    """A frame length (RFC 6716 §3.2.1) at `at`: (length, bytes it took)."""
    if at >= len(packet):
        raise PacketError("truncated frame length")
    first = packet[at]
    if first < 252:
        return first, 1
    if at + 1 >= len(packet):
        raise PacketError("truncated frame length")
    return first + 4 * packet[at + 1], 2


def encode_length(length: int) -> bytes:
    """A frame length in Opus's one- or two-byte form."""
    if not 0 <= length <= MAX_FRAME:
        raise PacketError(f"frame length {length} out of range")
    if length < 252:
        return bytes((length,))
    first = 252 + (length & 3)
    return bytes((first, (length - first) >> 2))


def parse(packet: bytes) -> tuple[int, list[tuple[int, int]]]:
    """A packet in the ordinary (not self-delimited) framing → (offset where its frame data
    starts, [(offset, size)] of each frame). Raises PacketError when malformed."""
    if not packet:
        raise PacketError("empty packet")
    code = packet[0] & 3
    size = len(packet)
    if code == 0:
        frames = [(1, size - 1)]
        start = 1
    elif code == 1:
        if (size - 1) % 2:
            raise PacketError("code 1 packet of odd length")
        half = (size - 1) // 2
        frames = [(1, half), (1 + half, half)]
        start = 1
    elif code == 2:
        first, used = _read_length(packet, 1)
        start = 1 + used
        if start + first > size:
            raise PacketError("code 2 frame beyond the packet")
        frames = [(start, first), (start + first, size - start - first)]
    else:
        start, frames = _parse_code_3(packet)
    if any(length > MAX_FRAME for _, length in frames):
        raise PacketError("frame longer than 1275 bytes")
    return start, frames


def _parse_code_3(packet: bytes) -> tuple[int, list[tuple[int, int]]]:
    """`parse` of a code 3 packet: a frame count byte, padding, CBR or VBR frames (§3.2.5)."""
    size = len(packet)
    if size < 2:
        raise PacketError("code 3 packet without a frame count")
    count_byte = packet[1]
    vbr, padded, count = count_byte & 0x80, count_byte & 0x40, count_byte & 0x3F
    if count == 0:
        raise PacketError("code 3 packet of no frames")
    at = 2
    padding = 0
    while padded:
        if at >= size:
            raise PacketError("truncated padding length")
        value = packet[at]
        at += 1
        padding += 254 if value == 255 else value
        padded = value == 255
    sizes: list[int] = []
    if vbr:
        for _ in range(count - 1):
            length, used = _read_length(packet, at)
            at += used
            sizes.append(length)
        last = size - at - padding - sum(sizes)
        if last < 0:
            raise PacketError("code 3 frames beyond the packet")
        sizes.append(last)
    else:
        data = size - at - padding
        if data < 0 or data % count:
            raise PacketError("code 3 CBR frames do not divide the packet")
        sizes = [data // count] * count
    start = at
    frames = []
    for length in sizes:
        frames.append((at, length))
        at += length
    return start, frames


def slot_packets(packet: bytes) -> list[bytes]:
    """One RTP payload → the packets of its consecutive 20 ms slots: itself when it lasts 20 ms,
    one code-0 packet per frame when it holds several 20 ms frames. PacketError for anything
    else (a malformed packet, or frames that are not 20 ms long)."""
    if packet and not packet[0] & 3 and len(packet) <= MAX_FRAME + 1 and \
            frame_samples(packet[0]) == SLOT_SAMPLES:
        return [packet]  # the usual case (one 20 ms frame), without parsing
    start, frames = parse(packet)
    toc = packet[0]
    samples = frame_samples(toc)
    if samples * len(frames) == SLOT_SAMPLES:
        return [packet]
    if samples != SLOT_SAMPLES:
        raise PacketError(f"{len(frames)} frame(s) of {samples} samples do not fill 20 ms slots")
    single = bytes((toc & 0xFC,))  # the same configuration, code 0: one frame
    return [single + packet[at:at + length] for at, length in frames]


def self_delimited(packet: bytes) -> bytes:
    """The same packet in self-delimited framing (RFC 6716 Appendix B): the size of its last
    frame (of every frame, for a CBR packet) inserted before the frame data, so that a
    multistream packet can hold another stream's packet after it."""
    if packet and not packet[0] & 3:  # the usual case: one frame, the rest of the packet
        return packet[:1] + encode_length(len(packet) - 1) + packet[1:]
    start, frames = parse(packet)
    return packet[:start] + encode_length(frames[-1][1]) + packet[start:]


#: SILENCE in self-delimited framing: the customer's stream when the customer has no packet
SILENCE_DELIMITED = self_delimited(SILENCE)
