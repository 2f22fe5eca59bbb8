"""The recording's container: an Ogg Opus file (RFC 7845) of two mono streams, customer left and
agent right, written by appending whole pages (`OggOpusWriter`), and what the core does with a
file a dead worker left (`repair`, `duration_of`). Standard library only: the core's recording
index (`callcenter.history.recordings`, through `callcenter.media.recording_file`) uses it, and
the core server process must not load aiortc or numpy.

The layout. Channel mapping family 1 with 2 channels, 2 streams, 0 coupled, mapping [0, 1]
(RFC 7845 §5.1.1): stream 0 is the left channel, stream 1 the right. Each Ogg packet is one
Opus multistream packet (RFC 6716 Appendix B): stream 0's packet in self-delimited framing, then
stream 1's as it is, both 20 ms (`callcenter.media.opus`). The packets are the ones the browsers
sent, never decoded nor re-encoded, so a recording costs what receiving costs, and a minute is
about 0.5 MB instead of WAV's 11.5 MB. Pre-skip is 0 (we do not know the senders' encoder
delay; 0 keeps the file exactly as long as the call, a few ms of encoder warm-up included).
Granule positions count 48 kHz samples.

Crash robustness. Pages are written whole with one `os.write` each, as the worker flushes (every
0.1 s): what a killed worker leaves is a file of whole pages, perhaps with a torn last one.
`repair` cuts the file after its last whole page with a good CRC and marks that page as the
last (EOS), so it plays in any player; `duration_of` reads the last page's granule position.
"""

from __future__ import annotations

import os
import secrets
import struct
import zlib
from collections import deque
from pathlib import Path
from typing import NamedTuple

__all__ = ["CHANNELS", "SAMPLE_RATE", "page_crc", "opus_head", "opus_tags", "build_page",
           "OggOpusWriter", "PageInfo", "pages", "repair", "duration_of"]

CHANNELS = 2
SAMPLE_RATE = 48_000  # granule positions of Ogg Opus always count 48 kHz samples
PRE_SKIP = 0
VENDOR = b"callcenter"
#: flags of a page's header_type byte
CONTINUED, BOS, EOS = 0x01, 0x02, 0x04
#: the most segments (lacing values) one page may hold
MAX_SEGMENTS = 255
#: packets per page at most (50 x 20 ms = 1 s), so a page never waits for more
MAX_PACKETS = 50
#: pages kept in memory after writing them, so the end of the file can still be cut (a stop
#: whose `at` is in the past) or marked EOS: at one page per 0.1 s flush, the last ~10 s
KEEP_PAGES = 100

_HEADER = struct.Struct("<4sBBqIIIB")  # capture, version, flags, granule, serial, seq, crc, nsegs
HEADER_BYTES = _HEADER.size  # 27

# Ogg's CRC is CRC-32 with polynomial 0x04C11DB7, MSB first, initial value 0, no final xor.
# zlib's crc32 (in C) is the same polynomial bit-reflected, with initial and final xor
# 0xFFFFFFFF; on bit-reversed bytes and with those xors undone, it gives Ogg's CRC bit-reversed.
# That is ~100 times faster than a table in Python (tests/unit/test_ogg.py checks it against the
# plain table-driven definition).
_REVERSED = bytes(int(f"{i:08b}"[::-1], 2) for i in range(256))


def page_crc(page: bytes | bytearray) -> int:
    """The Ogg CRC of a page whose CRC field holds zeros."""
    reflected = zlib.crc32(bytes(page).translate(_REVERSED), 0xFFFFFFFF) ^ 0xFFFFFFFF
    return int.from_bytes(reflected.to_bytes(4, "little").translate(_REVERSED), "big")


def opus_head(pre_skip: int = PRE_SKIP) -> bytes:
    """The identification header: 2 channels, mapping family 1, 2 uncoupled mono streams,
    channel i from stream i (left: customer, right: agent)."""
    return (b"OpusHead" + struct.pack("<BBHIhB", 1, CHANNELS, pre_skip, SAMPLE_RATE, 0, 1)
            + bytes((2, 0, 0, 1)))


def opus_tags() -> bytes:
    """The comment header: our vendor string and which channel is whom."""
    comments = [b"LEFT=customer", b"RIGHT=agent"]
    return (b"OpusTags" + struct.pack("<I", len(VENDOR)) + VENDOR + struct.pack("<I", len(comments))
            + b"".join(struct.pack("<I", len(c)) + c for c in comments))


def _lacing(packets: list[bytes]) -> bytes:
    out = bytearray()
    for packet in packets:
        out += b"\xff" * (len(packet) // 255)
        out.append(len(packet) % 255)
    return bytes(out)


def build_page(packets: list[bytes], granule: int, serial: int, sequence: int,
               flags: int = 0) -> bytes:
    """One page holding whole `packets` (at most 255 lacing values), its CRC filled in."""
    lacing = _lacing(packets)
    if len(lacing) > MAX_SEGMENTS:
        raise ValueError("too many segments for one page")
    page = bytearray(_HEADER.pack(b"OggS", 0, flags, granule, serial, sequence, 0, len(lacing)))
    page += lacing
    for packet in packets:
        page += packet
    struct.pack_into("<I", page, 22, page_crc(page))
    return bytes(page)


class _Written(NamedTuple):
    offset: int
    sequence: int
    granule_before: int
    packets: list[bytes]


class OggOpusWriter:
    """An Ogg Opus file written by appending whole pages with plain `os.write`s (once `write`
    returns the page is the kernel's and survives our death).

    Every packet given to `write` lasts `packet_samples` (20 ms: the multistream packets of
    `callcenter.media.opus`), so the granule position is a count of packets. The last pages stay
    in memory so that `cut` can shorten the file to an earlier end (a record_stop handled after
    the flush had already written past the call's end) and `close` can mark the last page EOS.
    """

    def __init__(self, path: Path, packet_samples: int = 960) -> None:
        self.path = path
        self.packet_samples = packet_samples
        self.serial = secrets.randbits(32)
        self.granule = 0
        self.size = 0
        self._sequence = 0
        self._recent: deque[_Written] = deque(maxlen=KEEP_PAGES)
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fd: int | None = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
        self._append(build_page([opus_head()], 0, self.serial, 0, BOS))
        self._append(build_page([opus_tags()], 0, self.serial, 1))
        self._sequence = 2

    def _append(self, page: bytes) -> None:
        assert self._fd is not None
        view = memoryview(page)
        while view:
            view = view[os.write(self._fd, view):]
        self.size += len(page)

    def write(self, packets: list[bytes]) -> None:
        """Append `packets` (each one `packet_samples` long) as one or more whole pages."""
        if self._fd is None:
            return
        start = 0
        while start < len(packets):
            chunk: list[bytes] = []
            segments = 0
            for packet in packets[start:start + MAX_PACKETS]:
                need = len(packet) // 255 + 1
                if chunk and segments + need > MAX_SEGMENTS:
                    break
                chunk.append(packet)
                segments += need
            start += len(chunk)
            before = self.granule
            self.granule += len(chunk) * self.packet_samples
            self._recent.append(_Written(self.size, self._sequence, before, chunk))
            self._append(build_page(chunk, self.granule, self.serial, self._sequence))
            self._sequence += 1

    def cut(self, samples: int) -> None:
        """Make the file end at `samples` (rounded down to whole packets) if it is longer, as
        far back as the pages kept in memory reach."""
        if self._fd is None or samples >= self.granule:
            return
        while self._recent and self._recent[-1].granule_before >= samples:
            self._drop_last()  # a page wholly after the end
        if self._recent and self.granule > samples:
            last = self._drop_last()  # the page the end falls in: written again, shorter
            keep = (samples - last.granule_before) // self.packet_samples
            if keep:
                self.write(last.packets[:keep])

    def _drop_last(self) -> _Written:
        assert self._fd is not None
        last = self._recent.pop()
        os.ftruncate(self._fd, last.offset)
        os.lseek(self._fd, last.offset, os.SEEK_SET)
        self.size = last.offset
        self.granule = last.granule_before
        self._sequence = last.sequence
        return last

    @property
    def duration(self) -> float:
        return (self.granule - PRE_SKIP) / SAMPLE_RATE

    @property
    def closed(self) -> bool:
        return self._fd is None

    def abandon(self) -> None:
        """Close without another byte: whatever is on disk stays as it is."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)

    def close(self) -> None:
        """Mark the last page EOS (rewritten in place: same size), fsync and close; a no-op
        once closed."""
        if self._fd is None:
            return
        if self._recent:
            last = self._recent[-1]
            page = build_page(last.packets, last.granule_before + len(last.packets)
                              * self.packet_samples, self.serial, last.sequence, EOS)
            os.pwrite(self._fd, page, last.offset)
        fd, self._fd = self._fd, None
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class PageInfo(NamedTuple):
    offset: int
    size: int
    flags: int
    granule: int
    sequence: int


def pages(data: bytes) -> list[PageInfo]:
    """The whole pages at the start of `data` with a good CRC, up to the first that is not."""
    found: list[PageInfo] = []
    at = 0
    while at + HEADER_BYTES <= len(data):
        capture, version, flags, granule, _serial, sequence, crc, count = \
            _HEADER.unpack_from(data, at)
        if capture != b"OggS" or version != 0 or at + HEADER_BYTES + count > len(data):
            break
        size = HEADER_BYTES + count + sum(data[at + HEADER_BYTES:at + HEADER_BYTES + count])
        if at + size > len(data):
            break
        page = bytearray(data[at:at + size])
        page[22:26] = b"\0\0\0\0"
        if page_crc(page) != crc:
            break
        found.append(PageInfo(at, size, flags, granule, sequence))
        at += size
    return found


def repair(path: Path) -> None:
    """Cut a file whose writer died after its last whole page with a good CRC, and mark that page
    EOS, so that it plays in any player (the headers alone, if no audio page is whole)."""
    data = path.read_bytes()
    found = pages(data)
    end = found[-1].offset + found[-1].size if found else 0
    with path.open("r+b") as f:
        f.truncate(end)
        if len(found) > 2 and not found[-1].flags & EOS:
            last = found[-1]
            page = bytearray(data[last.offset:last.offset + last.size])
            page[5] |= EOS
            page[22:26] = b"\0\0\0\0"
            struct.pack_into("<I", page, 22, page_crc(page))
            f.seek(last.offset)
            f.write(page)


def _page_at(data: bytes, at: int) -> PageInfo | None:
    """The whole page with a good CRC that starts at `at`, if there is one."""
    found = pages(data[at:at + MAX_PAGE])
    return found[0]._replace(offset=at) if found else None


#: the longest an Ogg page can be: header, 255 lacing values of 255
MAX_PAGE = HEADER_BYTES + MAX_SEGMENTS + MAX_SEGMENTS * 255


def duration_of(path: Path) -> float:
    """Seconds of audio: the granule position of the file's last whole page, found from its end
    (a page is at most 64 KiB: no need to read a long recording whole), less the pre-skip."""
    size = path.stat().st_size
    with path.open("rb") as f:
        head = f.read(HEADER_BYTES + 1 + 19)
        f.seek(max(0, size - 2 * MAX_PAGE))
        tail = f.read()
    packet = head[HEADER_BYTES + 1:]
    pre_skip = struct.unpack_from("<H", packet, 10)[0] if packet[:8] == b"OpusHead" else 0
    at = len(tail)
    while (at := tail.rfind(b"OggS", 0, at)) >= 0:
        page = _page_at(tail, at)
        if page is not None:  # the headers' pages say 0: no audio after them
            return max(0, page.granule - pre_skip) / SAMPLE_RATE
    return 0.0
