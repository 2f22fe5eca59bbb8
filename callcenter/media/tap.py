"""Taking a leg's Opus packets out of aiortc as they arrive, without decoding them: `PacketTap`
takes the place of an RTCRtpReceiver's decoder queue. Kept apart because it is the one part tied
to aiortc's internals (a private attribute of aiortc 1.16's RTCRtpReceiver): what to revisit
when aiortc changes.

Why there. aiortc's receiver depacketizes each RTP packet, passes it through its jitter buffer
(which puts packets back in order) and hands the encoded frame (payload, and the RTP timestamp
mapped to start at 0) to a decoder thread through that queue. Taking it there gives the packets
in order with their timestamps, and saves the decoding, aiortc's thread per receiver and the
handoffs from those threads back to the loop, which cost more than the decoding itself
(bench/recording.py, docs/benchmarks.md).
"""

from __future__ import annotations

import logging
from typing import Any

from callcenter.media.slots import LegPackets

__all__ = ["PacketTap"]

log = logging.getLogger("callcenter.media")


class PacketTap:
    """Stands in for an aiortc RTCRtpReceiver's decoder queue: each encoded Opus frame put there
    goes, undecoded, to a `LegPackets` (or is dropped, with `sink=None`: bench/recording.py's
    reference). The receiver's own decoder thread is still started by aiortc; its first `get()`
    is answered with None, so it ends its (unused) track and exits at once.

    Only Opus is recorded (the worker offers nothing else in its answers); frames of another
    codec are counted and logged, and their slots are silence.
    """

    def __init__(self, sink: LegPackets | None, loop_time: Any) -> None:
        self.sink = sink
        self.loop_time = loop_time
        self.other_codec = 0

    @classmethod
    def install(cls, receiver: Any, sink: LegPackets | None, loop_time: Any) -> bool:
        """Put a tap in place of `receiver`'s decoder queue; False when aiortc's internals are
        not what we know (or its decoder thread already runs)."""
        attribute = "_RTCRtpReceiver__decoder_queue"
        if receiver is None or not hasattr(receiver, attribute) or \
                getattr(receiver, "_RTCRtpReceiver__decoder_thread", 1) is not None:
            return False
        setattr(receiver, attribute, cls(sink, loop_time))
        return True

    def get(self, *args: Any, **kwargs: Any) -> None:
        """aiortc's decoder thread asking for work: none, ever (it exits)."""
        return None

    def put(self, item: Any) -> None:
        """aiortc handing over `(codec, encoded_frame)`, or None when the receiver stops."""
        if item is None:
            return
        codec, encoded_frame = item
        if codec.name.lower() != "opus":
            self.other_codec += 1
            if self.other_codec in (1, 1000):
                log.warning("media worker: a %s frame, not Opus: not recorded (%d so far)",
                            codec.name, self.other_codec)
            return
        if self.sink is not None:
            self.sink.packet(encoded_frame.data, encoded_frame.timestamp, self.loop_time())
