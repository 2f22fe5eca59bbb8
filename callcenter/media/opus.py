"""Decoding a leg's audio: libopus through ctypes (`OpusToMono`), and `InlineDecoder`, which takes
the place of aiortc's per-receiver decoder thread and decodes in the event loop. Kept apart from
the mixer because it is the part tied to native code and to aiortc's internals (a private
attribute of aiortc 1.16's RTCRtpReceiver): what to revisit when aiortc or libopus change.

Cost (bench/recording.py, docs/benchmarks.md). Each leg's Opus is decoded once, straight to mono;
aiortc's decoder thread per receiver, whose handoffs to the loop cost more than the decoding, is
not used. aiortc and PyAV are imported lazily, when the first frame is decoded.
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

from callcenter.media.mixer import LegAudio
from callcenter.media.wav import SAMPLE_RATE, SAMPLE_WIDTH

__all__ = ["OpusToMono", "InlineDecoder"]

log = logging.getLogger("callcenter.media")


class _Libopus:
    """libopus through ctypes: the system's `libopus.so.0`, else the copy PyAV's wheel bundles.
    None of it is required: without it Opus is decoded with PyAV."""

    _lib: Any = None
    _tried = False

    @classmethod
    def get(cls) -> Any:
        if not cls._tried:
            cls._tried = True
            try:
                cls._lib = cls._load()
            except (OSError, AttributeError) as exc:
                log.info("media worker: libopus not usable through ctypes (%s); decoding Opus "
                         "with PyAV", exc)
        return cls._lib

    @staticmethod
    def _load() -> Any:
        import ctypes
        import ctypes.util
        import glob

        candidates = [ctypes.util.find_library("opus")]
        try:
            import av

            candidates += sorted(glob.glob(os.path.join(os.path.dirname(av.__file__) + ".libs",
                                                        "libopus*.so*")))
        except ImportError:  # pragma: no cover - av comes with aiortc
            pass
        error: Exception = OSError("no libopus found")
        for name in candidates:
            if not name:
                continue
            try:
                lib = ctypes.CDLL(name)
            except OSError as exc:
                error = exc
                continue
            lib.opus_decoder_create.restype = ctypes.c_void_p
            lib.opus_decoder_create.argtypes = [ctypes.c_int32, ctypes.c_int,
                                                ctypes.POINTER(ctypes.c_int)]
            lib.opus_decode.restype = ctypes.c_int
            lib.opus_decode.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int32,
                                        ctypes.c_void_p, ctypes.c_int, ctypes.c_int]
            lib.opus_decoder_destroy.restype = None
            lib.opus_decoder_destroy.argtypes = [ctypes.c_void_p]
            return lib
        raise error


class OpusToMono:
    """Decodes one leg's Opus packets straight to mono s16 at 48 kHz.

    libopus downmixes while decoding, which is cheaper than aiortc's stereo decode followed by a
    downmix; called through ctypes (no av.Packet, no av.AudioFrame per packet) it costs about
    22 µs per 20 ms packet on this machine, against ~36 µs through PyAV and ~50 + 16 µs for
    aiortc's decoder plus av.AudioResampler. PyAV is the fallback when libopus cannot be loaded.
    """

    MAX_SAMPLES = 5760  # 120 ms at 48 kHz: the longest Opus packet

    def __init__(self) -> None:
        import ctypes

        self.lib = _Libopus.get()
        self.handle: Any = None
        self.codec: Any = None
        if self.lib is not None:
            error = ctypes.c_int()
            self.handle = self.lib.opus_decoder_create(SAMPLE_RATE, 1, ctypes.byref(error))
            if not self.handle or error.value != 0:
                self.handle = None
            self.buffer = ctypes.create_string_buffer(self.MAX_SAMPLES * SAMPLE_WIDTH)
        if self.handle is None:
            import av

            self.codec = av.CodecContext.create("libopus", "r")
            self.codec.format = "s16"
            self.codec.layout = "mono"
            self.codec.sample_rate = SAMPLE_RATE

    def decode(self, data: bytes) -> bytes:
        """One RTP payload → its samples (b"" if it does not decode)."""
        if self.handle is not None:
            count = self.lib.opus_decode(self.handle, data, len(data), self.buffer,
                                         self.MAX_SAMPLES, 0)
            if count < 0:
                raise ValueError(f"opus_decode error {count}")
            return self.buffer.raw[:count * SAMPLE_WIDTH]
        import av

        return b"".join(bytes(memoryview(f.planes[0])[:f.samples * SAMPLE_WIDTH])
                        for f in self.codec.decode(av.Packet(data)))

    def __del__(self) -> None:
        if self.handle is not None and self.lib is not None:
            self.lib.opus_decoder_destroy(self.handle)
            self.handle = None


class InlineDecoder:
    """Takes the place of an aiortc RTCRtpReceiver's decoder queue and decodes each encoded frame
    at once, in the event loop, handing the audio to a `LegAudio`.

    aiortc runs one decoder thread per receiver and hands every decoded frame back to the loop
    with `run_coroutine_threadsafe` (a future, a task and a self-pipe write per 20 ms frame), and
    the GIL then bounces between the loop and every decoder thread: measured here, that costs more
    than the decoding itself (bench/recording.py). Decoding in the loop is the same work without
    the handoffs. The receiver's own thread is still started by aiortc; its first `get()` is
    answered with None, so it ends its (unused) track and exits at once.

    Opus (what browsers send) goes straight to mono through `OpusToMono`; any other codec through
    aiortc's decoder and av.AudioResampler.

    Relies on aiortc 1.16's private `_RTCRtpReceiver__decoder_queue`; `install` returns False
    when that is not there, and the worker then reads the track as usual.
    """

    def __init__(self, sink: LegAudio | None) -> None:
        self.sink = sink  # None: decode and drop (bench/recording.py's reference)
        self.loop = asyncio.get_running_loop()
        self.codec_name: str | None = None
        self.opus: OpusToMono | None = None
        self.decoder: Any = None
        self.errors = 0

    @classmethod
    def install(cls, receiver: Any, sink: LegAudio | None) -> bool:
        attribute = "_RTCRtpReceiver__decoder_queue"
        if receiver is None or not hasattr(receiver, attribute) or \
                getattr(receiver, "_RTCRtpReceiver__decoder_thread", 1) is not None:
            return False  # unknown aiortc internals, or its decoder thread already runs
        setattr(receiver, attribute, cls(sink))
        return True

    def get(self, *args: Any, **kwargs: Any) -> None:
        """aiortc's decoder thread asking for work: none, ever (it exits)."""
        return None

    def put(self, item: Any) -> None:
        if item is None:  # aiortc stopping the receiver
            return
        codec, encoded_frame = item
        try:
            if codec.name != self.codec_name:
                self.codec_name = codec.name
                self.opus = self.decoder = None
                if codec.mimeType.lower() == "audio/opus":
                    self.opus = OpusToMono()
                else:
                    from aiortc.codecs import get_decoder

                    self.decoder = get_decoder(codec)
            if self.opus is not None:
                pcm = self.opus.decode(encoded_frame.data)
                if self.sink is not None and pcm:
                    self.sink.pcm(pcm, encoded_frame.timestamp, self.loop.time())
                return
            frames = self.decoder.decode(encoded_frame)
            if self.sink is not None:
                now = self.loop.time()
                for frame in frames:
                    self.sink(frame, now)
        except Exception as exc:  # never into aiortc's receive path
            self.errors += 1
            if self.errors in (1, 100, 10000):
                log.warning("media worker: decoding a %s frame failed (%d so far): %r",
                            codec.name, self.errors, exc)
