"""Where each leg's Opus packets go in a recording: the job's clock cut into 20 ms slots, each
leg's packets placed in them by RTP timestamp, and the two lanes taken out as multistream
packets for the Ogg file. Computation on bytes only (no I/O, no asyncio, no aiortc), so that
what decides where each packet goes is tested with synthetic packets; per packet it costs a dict
insert, per slot a concatenation.

The clock (docs/recording.md). A job's clock starts at `record_start` (at the server's `at`
timestamp when the message carries one); slot n covers samples [960 n, 960 (n + 1)) of it. Each
leg's packets are placed by their RTP timestamps, anchored where its first packet arrived
(`LegPackets`), so that arrival jitter does not move them and a gap in the timestamps (loss,
DTX, a stalled sender) stays a gap; the `left` leg is stream 0 of the file, the `right` leg
stream 1 (`SlotPairs`). The worker takes out, every flush, the slots that lie more than its
latency in the past: a slot a leg has no packet for by then (a leg that starts late, loss, DTX,
a leg that dropped) gets a 20 ms packet of silence, so the two streams stay aligned.
"""

from __future__ import annotations

from typing import Protocol

from callcenter.media.opus import (
    SAMPLE_RATE,
    SILENCE,
    SILENCE_DELIMITED,
    SLOT_SAMPLES,
    PacketError,
    self_delimited,
    slot_packets,
)

__all__ = ["SlotPairs", "LegPackets", "LegClock", "RESYNC"]

#: a leg whose RTP clock drifts this far (seconds) from the arrival clock is re-anchored (a
#: sender that restarted its clock); well beyond the worker's LATENCY, so that packets that come
#: late in a burst are placed by their timestamps, not re-anchored where they arrived
RESYNC = 3.0


class SlotPairs:
    """Two lanes of 20 ms Opus packets on one clock of slots, taken out as multistream packets.

    `put(channel, slot, packet)` places a packet; `take(upto)` returns one multistream packet per
    slot of [position, upto), silence wherever a lane has nothing. Packets for slots already
    taken are dropped (counted); a packet for a slot that has one replaces it.
    """

    def __init__(self) -> None:
        self.position = 0  # slots already taken
        self.lanes: dict[str, dict[int, bytes]] = {"left": {}, "right": {}}
        self.dropped = 0  # packets that arrived too late to be placed
        self.filled = {"left": 0, "right": 0}  # slots taken out as silence

    def put(self, channel: str, slot: int, packet: bytes) -> None:
        """Place one 20 ms packet of `channel` ("left" or "right") in `slot`."""
        if slot < self.position:
            self.dropped += 1
            return
        self.lanes[channel][slot] = packet

    def pending(self, channel: str) -> int:
        """Packets buffered for `channel` beyond the taken position."""
        return len(self.lanes[channel])

    def take(self, upto: int) -> list[bytes]:
        """The multistream packets of slots [position, upto); advances the position."""
        left, right = self.lanes["left"], self.lanes["right"]
        out: list[bytes] = []
        pop_left, pop_right = left.pop, right.pop
        for slot in range(self.position, upto):
            first = pop_left(slot, None)
            second = pop_right(slot, None)
            if first is None:
                self.filled["left"] += 1
                head = SILENCE_DELIMITED
            else:
                head = self_delimited(first)
            if second is None:
                self.filled["right"] += 1
                second = SILENCE
            out.append(head + second)
        if upto > self.position:
            self.position = upto
        return out


class LegClock(Protocol):
    """What `LegPackets` keeps on a leg (the worker's `Leg`): its channel, its anchor on the
    job's clock (reset by the worker when a new offer replaces the leg's connection) and counts
    of the packets it delivered and of those that did not fit 20 ms slots."""

    channel: str
    anchor: int | None  # clock position minus RTP position (samples)
    packets: int
    unfit: int


class LegPackets:
    """One leg's Opus packets → 20 ms packets → their slots on the job's clock.

    A packet is placed by its RTP timestamp (48 kHz units), anchored where the leg's first
    packet arrived on the job's clock; should the two drift apart by more than RESYNC (a sender
    that restarted its clock, a long stall), the leg is anchored afresh. A packet whose frames
    are not 20 ms, or that is malformed, is counted in `unfit` and left out (its slots are
    silence).
    """

    __slots__ = ("slots", "leg", "started_at", "resync")

    def __init__(self, slots: SlotPairs, leg: LegClock, started_at: float) -> None:
        self.slots = slots
        self.leg = leg
        self.started_at = started_at
        self.resync = int(RESYNC * SAMPLE_RATE)

    def packet(self, data: bytes, pts: int, now: float) -> None:
        """An RTP payload whose first sample has RTP time `pts`, arrived at loop time `now`."""
        leg = self.leg
        try:
            parts = slot_packets(data)
        except PacketError:
            leg.unfit += 1
            return
        # where it would start had it just been played
        arrived = int((now - self.started_at) * SAMPLE_RATE) - len(parts) * SLOT_SAMPLES
        anchor = leg.anchor
        if anchor is None or abs(arrived - anchor - pts) > self.resync:
            anchor = leg.anchor = arrived - pts
        slot = (anchor + pts + SLOT_SAMPLES // 2) // SLOT_SAMPLES
        put = self.slots.put
        channel = leg.channel
        for part in parts:
            put(channel, slot, part)
            slot += 1
        leg.packets += len(parts)
