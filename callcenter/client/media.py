"""Optional WebRTC media (aiortc) for a `CallClient`, following docs/protocol.md's mesh rule.

The one who accepts sends an offer to each id in the accept ack's `participants`; joined
participants only answer. aiortc does not trickle ICE, so offers and answers carry the full SDP
after gathering; trickled candidates from browsers are still accepted. aiortc is imported lazily
so the plain signaling client (and load benchmarks that need no media) never pay for it.

    media = CallMedia(client, tracks)         # attach before the call starts; tracks: a
                                              # factory of aiortc tracks to send
    ack = await media.accept(call_id)         # instead of client.accept: also sends the offers
    await media.wait_connected("bob")
    await media.inbound_packets("bob")        # RTP packets received from bob so far

Recorded calls (docs/protocol.md, "Recording"): on `record_start {callId, jobId, video}` the media
opens a separate send-only connection carrying fresh tracks from its factory to the recorder,
offers it with `record_signal`, and applies the worker's answer; it closes when the call ends.

    await media.wait_recording(call_id)       # the connection to the recorder is up
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from callcenter.client.call_client import CallClient
from callcenter.media.ice import ice_candidate, ice_servers

if TYPE_CHECKING:
    from aiortc import MediaStreamTrack, RTCPeerConnection

__all__ = ["CallMedia", "TrackFactory"]

log = logging.getLogger(__name__)

TrackFactory = Callable[[], "list[MediaStreamTrack]"]


@dataclass
class _Peer:
    call_id: str
    user_id: str
    pc: RTCPeerConnection
    pending_candidates: list[Any] = field(default_factory=list)
    drains: list[asyncio.Task[None]] = field(default_factory=list)


@dataclass
class _Recorder:
    """The send-only connection that carries this user's outgoing media to a call's recorder."""

    call_id: str
    job_id: str
    pc: RTCPeerConnection
    answered: asyncio.Event = field(default_factory=asyncio.Event)


class CallMedia:
    """Peer connections of one CallClient, one per remote participant of its current call."""

    def __init__(self, client: CallClient, tracks: TrackFactory,
                 ice_servers: list[dict[str, Any]] | None = None) -> None:
        self.client = client
        # What this side sends, fresh for each peer connection (a track feeds one sender):
        # aiortc's MediaPlayer or MediaRelay tracks, or callcenter.testing's synthetic ones.
        self.tracks = tracks
        self._ice_servers = ice_servers
        self.peers: dict[str, _Peer] = {}
        self.recorders: dict[str, _Recorder] = {}
        self.errors: list[BaseException] = []
        self._queue: asyncio.Queue[tuple[str, Any] | None] = asyncio.Queue()
        self._worker = asyncio.ensure_future(self._work())
        client.add_listener(self._on_event)

    # -- public ---------------------------------------------------------------------------------

    async def accept(self, call_id: str) -> dict[str, Any]:
        """Accept the call, then offer to every participant already in it (the protocol's rule)."""
        ack = await self.client.accept(call_id)
        for user_id in ack.get("participants", []):
            if user_id != self.client.user_id:
                await self._offer(call_id, user_id)
        return ack

    async def hangup(self, call_id: str) -> dict[str, Any]:
        """Leave the call and close this side's peer connections (no call_end comes to us)."""
        ack = await self.client.hangup(call_id)
        for peer in list(self.peers.values()):
            if peer.call_id == call_id:
                await self._close_peer(peer.user_id)
        await self._close_recorder(call_id)
        return ack

    async def wait_recording(self, call_id: str, timeout: float = 15) -> None:
        """Wait until this user's send-only connection to the recorder of `call_id` exists and
        is `connected` (that is, after `record_start`, the offer and the worker's answer)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._raise_errors()
            recorder = self.recorders.get(call_id)
            if recorder is not None and recorder.pc.connectionState == "connected":
                return
            if recorder is not None and recorder.pc.connectionState == "failed":
                raise RuntimeError(f"connection to the recorder of {call_id} failed")
            await asyncio.sleep(0.05)
        raise TimeoutError(f"{self.client.user_id}: no connection to the recorder of {call_id}")

    async def inbound_packets(self, user_id: str, kind: str | None = None) -> int:
        """RTP packets received so far from `user_id`, of media `kind` or of all kinds (the
        inbound-rtp statistics of the peer connection: aiortc's carry no byte count). 0 when
        there is no connection to `user_id` (never made, or closed when they left)."""
        from aiortc.stats import RTCInboundRtpStreamStats

        peer = self.peers.get(user_id)
        if peer is None:
            return 0
        report = await peer.pc.getStats()
        return sum(s.packetsReceived for s in report.values()
                   if isinstance(s, RTCInboundRtpStreamStats)
                   and (kind is None or s.kind == kind))

    async def wait_connected(self, user_id: str, timeout: float = 15) -> None:
        """Wait until the peer connection to `user_id` exists and is `connected`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._raise_errors()
            peer = self.peers.get(user_id)
            if peer is not None and peer.pc.connectionState == "connected":
                return
            if peer is not None and peer.pc.connectionState == "failed":
                raise RuntimeError(f"connection to {user_id} failed")
            await asyncio.sleep(0.05)
        raise TimeoutError(f"{self.client.user_id}: no media connection to {user_id}")

    async def close(self) -> None:
        """Stop the signal worker, then close every peer connection. Idempotent.

        The worker is stopped by a sentinel, not cancelled: it may be inside `pc.close()`, and
        aioice swallows the CancelledError there, which would leave the worker running and this
        method waiting for it forever.
        """
        self.client.remove_listener(self._on_event)
        if not self._worker.done():
            self._queue.put_nowait(None)
            await self._worker
        for user_id in list(self.peers):
            await self._close_peer(user_id)
        for call_id in list(self.recorders):
            await self._close_recorder(call_id)

    # -- internals ------------------------------------------------------------------------------

    def _raise_errors(self) -> None:
        if self.errors:
            raise RuntimeError(f"media errors: {self.errors!r}") from self.errors[0]

    def _on_event(self, name: str, data: Any) -> None:
        # queued and handled by one worker, so offer/answer/candidates keep their order
        if name in ("signal", "user_leave", "call_end", "kicked_out", "record_start",
                    "record_signal"):
            self._queue.put_nowait((name, data))

    async def _work(self) -> None:
        handlers = {"signal": self._on_signal, "record_start": self._start_recording,
                    "record_signal": self._on_record_signal, "user_leave": self._on_user_leave,
                    "call_end": self._on_call_end, "kicked_out": self._on_kicked_out}
        while True:
            item = await self._queue.get()
            if item is None:
                return
            name, data = item
            try:
                await handlers[name](data)
            except Exception as exc:  # keep serving; surfaced by wait_connected
                log.exception("media: handling %s %r failed", name, data)
                self.errors.append(exc)

    async def _on_user_leave(self, data: dict[str, Any]) -> None:
        peer = self.peers.get(data.get("userID"))
        if peer is not None and peer.call_id == data.get("callId"):
            await self._close_peer(peer.user_id)

    async def _on_call_end(self, data: dict[str, Any]) -> None:
        for peer in list(self.peers.values()):
            if peer.call_id == data.get("callId"):
                await self._close_peer(peer.user_id)
        await self._close_recorder(data.get("callId"))

    async def _on_kicked_out(self, data: dict[str, Any]) -> None:
        for user_id in list(self.peers):
            await self._close_peer(user_id)
        for call_id in list(self.recorders):
            await self._close_recorder(call_id)

    def _configuration(self) -> Any:
        from aiortc import RTCConfiguration

        servers = self._ice_servers if self._ice_servers is not None else self.client.ice_servers
        return RTCConfiguration(iceServers=ice_servers(servers))

    async def _new_peer(self, call_id: str, user_id: str) -> _Peer:
        from aiortc import RTCPeerConnection

        if user_id in self.peers:
            await self._close_peer(user_id)
        pc = RTCPeerConnection(self._configuration())
        peer = _Peer(call_id, user_id, pc)
        self.peers[user_id] = peer
        for track in self.tracks():
            pc.addTrack(track)

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            # read inbound frames so decoded media does not pile up in the track's queue
            peer.drains.append(asyncio.ensure_future(self._drain(track)))

        return peer

    @staticmethod
    async def _drain(track: MediaStreamTrack) -> None:
        from aiortc.mediastreams import MediaStreamError

        try:
            while True:
                await track.recv()
        except (MediaStreamError, asyncio.CancelledError):
            pass

    async def _offer(self, call_id: str, user_id: str) -> None:
        peer = await self._new_peer(call_id, user_id)
        # aiortc's setLocalDescription waits for ICE gathering: the SDP holds every candidate
        await peer.pc.setLocalDescription(await peer.pc.createOffer())
        desc = peer.pc.localDescription
        await self.client.signal(call_id, user_id, "offer", {"type": desc.type, "sdp": desc.sdp})

    async def _on_signal(self, data: dict[str, Any]) -> None:
        from aiortc import RTCSessionDescription

        call_id, sender, kind, payload = (data.get("callId"), data.get("from"),
                                          data.get("kind"), data.get("payload"))
        if kind == "offer":
            peer = await self._new_peer(call_id, sender)
            await peer.pc.setRemoteDescription(
                RTCSessionDescription(sdp=payload["sdp"], type=payload["type"]))
            await self._flush_candidates(peer)
            await peer.pc.setLocalDescription(await peer.pc.createAnswer())
            desc = peer.pc.localDescription
            await self.client.signal(call_id, sender, "answer",
                                     {"type": desc.type, "sdp": desc.sdp})
        elif kind == "answer":
            peer = self.peers.get(sender)
            if peer is None or peer.call_id != call_id:
                return
            await peer.pc.setRemoteDescription(
                RTCSessionDescription(sdp=payload["sdp"], type=payload["type"]))
            await self._flush_candidates(peer)
        elif kind == "candidate":
            peer = self.peers.get(sender)
            if peer is None or peer.call_id != call_id:
                return
            peer.pending_candidates.append(payload)
            if peer.pc.remoteDescription is not None:
                await self._flush_candidates(peer)

    async def _flush_candidates(self, peer: _Peer) -> None:
        pending, peer.pending_candidates = peer.pending_candidates, []
        for payload in pending:
            await peer.pc.addIceCandidate(ice_candidate(payload))

    async def _start_recording(self, data: dict[str, Any]) -> None:
        """`record_start` for a call of ours: offer our outgoing media, send-only, to the
        recorder (a fresh set of tracks: a track feeds one sender only)."""
        from aiortc import RTCPeerConnection

        call_id, job_id = str(data.get("callId")), str(data.get("jobId"))
        await self._close_recorder(call_id)  # a new job replaces an earlier one
        pc = RTCPeerConnection(self._configuration())
        self.recorders[call_id] = _Recorder(call_id, job_id, pc)
        for track in self.tracks():
            if track.kind == "audio" or (track.kind == "video" and data.get("video")):
                pc.addTransceiver(track, direction="sendonly")
            else:
                track.stop()
        await pc.setLocalDescription(await pc.createOffer())
        desc = pc.localDescription
        ack = await self.client.request("record_signal", {
            "callId": call_id, "kind": "offer", "payload": {"type": desc.type, "sdp": desc.sdp}})
        if not (isinstance(ack, dict) and ack.get("ok")):
            await self._close_recorder(call_id)
            raise RuntimeError(f"record_signal offer for {call_id} refused: {ack!r}")

    async def _on_record_signal(self, data: dict[str, Any]) -> None:
        from aiortc import RTCSessionDescription

        recorder = self.recorders.get(str(data.get("callId")))
        if recorder is None:
            return
        kind, payload = data.get("kind"), data.get("payload")
        if kind == "answer":
            await recorder.pc.setRemoteDescription(
                RTCSessionDescription(sdp=payload["sdp"], type=payload["type"]))
            recorder.answered.set()
        elif kind == "candidate" and recorder.pc.remoteDescription is not None:
            from aiortc.sdp import candidate_from_sdp

            if payload is None or not payload.get("candidate"):
                await recorder.pc.addIceCandidate(None)
                return
            line = payload["candidate"].removeprefix("candidate:")
            candidate = candidate_from_sdp(line)
            candidate.sdpMid = payload.get("sdpMid")
            candidate.sdpMLineIndex = payload.get("sdpMLineIndex")
            await recorder.pc.addIceCandidate(candidate)

    async def _close_recorder(self, call_id: Any) -> None:
        recorder = self.recorders.pop(str(call_id), None)
        if recorder is not None:
            await recorder.pc.close()

    async def _close_peer(self, user_id: str) -> None:
        peer = self.peers.pop(user_id, None)
        if peer is None:
            return
        await peer.pc.close()
        for task in peer.drains:
            task.cancel()
