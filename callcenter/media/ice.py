"""ICE candidates as the protocol carries them (`{candidate, sdpMid, sdpMLineIndex}`, or None or
an empty candidate for the end of candidates), turned into what aiortc's `addIceCandidate` takes.
Used by the media worker and by the Python client's media; aiortc is imported only when called.
"""

from __future__ import annotations

from typing import Any


def ice_candidate(payload: Any) -> Any:
    """An `aiortc.RTCIceCandidate`, or None for the end of candidates."""
    from aiortc.sdp import candidate_from_sdp

    if not isinstance(payload, dict) or not payload.get("candidate"):
        return None
    line = str(payload["candidate"])
    if line.startswith("candidate:"):  # browsers send the SDP attribute with its name
        line = line[len("candidate:"):]
    candidate = candidate_from_sdp(line)
    candidate.sdpMid = payload.get("sdpMid")
    candidate.sdpMLineIndex = payload.get("sdpMLineIndex")
    return candidate


def ice_servers(servers: list[dict[str, Any]]) -> list[Any]:
    """`aiortc.RTCIceServer`s from the protocol's RTCIceServer dictionaries (the hello and
    worker_hello acks' `iceServers`)."""
    from aiortc import RTCIceServer

    return [RTCIceServer(urls=s["urls"], username=s.get("username"),
                         credential=s.get("credential")) for s in servers if s.get("urls")]
