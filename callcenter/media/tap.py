"""Taking a leg's Opus packets out of aiortc as they arrive, without decoding them: `PacketTap`
takes the place of an RTCRtpReceiver's per-packet handler and of its decoder queue. Kept apart
because it is the one part tied to aiortc's internals (private attributes of aiortc 1.16's
RTCRtpReceiver): what to revisit when aiortc changes.

Why there. aiortc's receiver keeps statistics of each RTP packet (for its RTCP receiver
reports), passes it through a jitter buffer (which puts packets back in order) and hands the
encoded frame to a decoder thread through a queue. A recorder needs none of the rest: the
payload is the Opus packet, its RTP timestamp says where it goes, and `slots` puts packets back
in order by that timestamp anyway. So the tap keeps the statistics (the senders still get their
receiver reports) and hands the payload over at once: no jitter buffer, no decoding, no thread
per receiver and no handoffs from those threads to the loop, which cost more than the decoding
itself (bench/recording.py, docs/benchmarks.md). Should the per-packet handler not be what we
know, the tap falls back to the decoder queue's frames (after aiortc's jitter buffer).
"""

from __future__ import annotations

import logging
from typing import Any

from callcenter.media.slots import LegPackets

__all__ = ["PacketTap"]

log = logging.getLogger("callcenter.media")


class PacketTap:
    """Stands in for an aiortc RTCRtpReceiver's per-packet handler (`handle_rtp_packet`) and its
    decoder queue (`get`, `put`): each Opus packet goes, undecoded, to a `LegPackets` (or is
    dropped, with `sink=None`: bench/recording.py's reference), with its RTP timestamp unwrapped
    from 0 at the leg's first packet. The receiver's own decoder thread is still started by
    aiortc; its first `get()` is answered with None, so it ends its (unused) track and exits at
    once.

    Only Opus is recorded (the worker offers nothing else in its answers); frames of another
    codec are counted and logged, and their slots are silence.
    """

    def __init__(self, sink: LegPackets | None, loop_time: Any) -> None:
        self.sink = sink
        self.loop_time = loop_time
        self.other_codec = 0
        self.opus: Any = None  # the codec parameters last seen to be Opus
        self.receiver: Any = None
        self.codecs: dict[int, Any] = {}
        self.streams: dict[int, Any] = {}
        self.statistics: Any = None
        self.last_timestamp: int | None = None  # the last RTP timestamp (32 bits)
        self.pts = 0  # the same, unwrapped, from 0 at the first packet

    @classmethod
    def install(cls, receiver: Any, sink: LegPackets | None, loop_time: Any) -> bool:
        """Put a tap in place of `receiver`'s per-packet handler (when its internals are what we
        know) and of its decoder queue; False when even the queue is not what we know (or its
        decoder thread already runs)."""
        attribute = "_RTCRtpReceiver__decoder_queue"
        if receiver is None or not hasattr(receiver, attribute) or \
                getattr(receiver, "_RTCRtpReceiver__decoder_thread", 1) is not None:
            return False
        tap = cls(sink, loop_time)
        setattr(receiver, attribute, tap)
        codecs = getattr(receiver, "_RTCRtpReceiver__codecs", None)
        streams = getattr(receiver, "_RTCRtpReceiver__remote_streams", None)
        if isinstance(codecs, dict) and isinstance(streams, dict) and \
                callable(getattr(type(receiver), "_handle_rtp_packet", None)):
            from aiortc.rtcrtpreceiver import StreamStatistics

            tap.receiver, tap.codecs, tap.streams = receiver, codecs, streams
            tap.statistics = StreamStatistics
            receiver._handle_rtp_packet = tap.handle_rtp_packet  # the instance's, not the class's
        return True

    def _is_opus(self, codec: Any) -> bool:
        if codec is self.opus:
            return True
        if codec.name.lower() == "opus":
            self.opus = codec
            return True
        self.other_codec += 1
        if self.other_codec in (1, 1000):
            log.warning("media worker: a %s frame, not Opus: not recorded (%d so far)",
                        codec.name, self.other_codec)
        return False

    async def handle_rtp_packet(self, packet: Any, arrival_time_ms: int = 0) -> None:
        """aiortc's DTLS transport handing over a parsed RTP packet of this receiver: counted
        in the statistics of its receiver reports, then straight to the sink."""
        if not self.receiver._enabled:
            return
        codec = self.codecs.get(packet.payload_type)
        if codec is None:
            return
        stream = self.streams.get(packet.ssrc)
        if stream is None:
            stream = self.streams[packet.ssrc] = self.statistics(codec.clockRate)
        stream.add(packet)
        if not self._is_opus(codec) or self.sink is None or not packet.payload:
            return
        timestamp = packet.timestamp
        if self.last_timestamp is not None:
            step = (timestamp - self.last_timestamp) & 0xFFFFFFFF
            self.pts += step - 0x100000000 if step & 0x80000000 else step  # earlier: reordered
        self.last_timestamp = timestamp
        self.sink.packet(packet.payload, self.pts, self.loop_time())

    def get(self, *args: Any, **kwargs: Any) -> None:
        """aiortc's decoder thread asking for work: none, ever (it exits)."""
        return None

    def put(self, item: Any) -> None:
        """aiortc handing over `(codec, encoded_frame)`, or None when the receiver stops."""
        if item is None:
            return
        codec, encoded_frame = item
        if not self._is_opus(codec):
            return
        if self.sink is not None:
            self.sink.packet(encoded_frame.data, encoded_frame.timestamp, self.loop_time())
