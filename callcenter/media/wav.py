"""The recording format, a PCM WAV file, in one place for both of its sides: the worker writes it
(`WavWriter`), the core repairs what a dead worker left (`repair_wav_header`) and indexes it with
its sha256 (`sha256_of`). Two copies of the header layout would drift apart; this module is the
only thing `callcenter.history.recordings` (the core) takes from the media package, so it imports
the standard library only: no aiortc, no numpy, nothing the core server process would have to load.

The format (docs/recording.md): 48 kHz, 16-bit little-endian, stereo (customer left, agent
right), behind the canonical 44-byte header.
"""

from __future__ import annotations

import hashlib
import os
import struct
import time
from pathlib import Path

__all__ = ["SAMPLE_RATE", "CHANNELS", "SAMPLE_WIDTH", "HEADER_BYTES", "HEADER_EVERY",
           "wav_header", "WavWriter", "repair_wav_header", "sha256_of"]

SAMPLE_RATE = 48_000
CHANNELS = 2
SAMPLE_WIDTH = 2  # bytes, s16le
#: the canonical PCM header: RIFF, fmt and data chunk headers, nothing else
HEADER_BYTES = 44
#: seconds between two updates of a WAV header's sizes while recording
HEADER_EVERY = 1.0

_HEADER = struct.Struct("<4sI4s4sIHHIIHH4sI")
# where the two sizes a growing file must keep up to date sit in the header
_RIFF_SIZE_AT = 4  # 36 + data bytes
_DATA_SIZE_AT = 40  # data bytes


def wav_header(data_bytes: int, channels: int = CHANNELS, rate: int = SAMPLE_RATE,
               width: int = SAMPLE_WIDTH) -> bytes:
    """The 44-byte header of a PCM WAV file holding `data_bytes` of samples."""
    return _HEADER.pack(b"RIFF", 36 + data_bytes, b"WAVE", b"fmt ", 16, 1, channels, rate,
                        rate * channels * width, channels * width, width * 8, b"data",
                        data_bytes)


def _sizes(data_bytes: int) -> list[tuple[int, bytes]]:
    """(offset, bytes) of the header's two sizes for `data_bytes` of samples."""
    return [(_RIFF_SIZE_AT, struct.pack("<I", 36 + data_bytes)),
            (_DATA_SIZE_AT, struct.pack("<I", data_bytes))]


class WavWriter:
    """A PCM WAV file written by appending; the header's sizes are patched in place every
    `header_every` seconds and at close, so a file left by a killed worker plays (all but the last
    second of it; the core also repairs such a header from the file's size).

    Plain `os.write`s, no Python buffering: once `write` returns, the data is the kernel's and
    survives our death.
    """

    def __init__(self, path: Path, channels: int = CHANNELS, rate: int = SAMPLE_RATE,
                 header_every: float = HEADER_EVERY) -> None:
        self.path = path
        self.channels = channels
        self.rate = rate
        self.header_every = header_every
        self.data_bytes = 0
        self._patched_at = time.monotonic()
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fd: int | None = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
        self._write_all(wav_header(0, channels, rate))

    def _write_all(self, data: bytes | bytearray | memoryview) -> None:
        assert self._fd is not None
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Append interleaved s16 frames; bring the header up to date if it is `header_every`
        seconds old."""
        if self._fd is None or not data:
            return
        self._write_all(data)
        self.data_bytes += len(data)
        now = time.monotonic()
        if now - self._patched_at >= self.header_every:
            self._patched_at = now
            self.patch_header()

    def patch_header(self) -> None:
        """Write the sizes of what has been appended so far into the header."""
        if self._fd is None:
            return
        for offset, value in _sizes(self.data_bytes):
            os.pwrite(self._fd, value, offset)

    @property
    def frames(self) -> int:
        return self.data_bytes // (self.channels * SAMPLE_WIDTH)

    @property
    def duration(self) -> float:
        return self.frames / self.rate

    @property
    def size(self) -> int:
        return HEADER_BYTES + self.data_bytes

    @property
    def closed(self) -> bool:
        return self._fd is None

    def abandon(self) -> None:
        """Close without another byte: whatever is on disk stays as it is."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)

    def close(self) -> None:
        """Patch the header, fsync and close (a no-op once closed)."""
        if self._fd is None:
            return
        self.patch_header()
        fd, self._fd = self._fd, None
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def repair_wav_header(path: Path) -> None:
    """Make the RIFF and data sizes match what is on disk, cut to whole frames, so that a file
    whose writer died mid-call opens in any player."""
    frame = CHANNELS * SAMPLE_WIDTH
    size = path.stat().st_size
    if size < HEADER_BYTES:
        return
    data = (size - HEADER_BYTES) // frame * frame
    with path.open("r+b") as f:
        f.truncate(HEADER_BYTES + data)
        for offset, value in _sizes(data):
            f.seek(offset)
            f.write(value)


def sha256_of(path: Path) -> str:
    """The hex sha256 of a file, read in 1 MiB chunks (recordings run to hundreds of MB)."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
