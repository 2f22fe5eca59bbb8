"""Real WebRTC media between Python clients (aiortc), negotiated through the real server.

Proves the protocol's mesh rule end to end: the one who accepts offers to each participant in the
accept ack, joined participants answer, and RTP then flows both ways.
"""

from __future__ import annotations

import asyncio

import pytest

from callcenter.client.call_client import AUDIO_CALL, VIDEO_CALL  # noqa: E402
from callcenter.client.media import CallMedia  # noqa: E402
from callcenter.testing.tracks import synthetic_tracks  # noqa: E402


@pytest.fixture
def srv(shared_server):
    return shared_server


@pytest.fixture
async def medias():
    made: list[CallMedia] = []

    def attach(client, tracks=None, **kwargs) -> CallMedia:
        media = CallMedia(client, tracks or synthetic_tracks(), **kwargs)
        made.append(media)
        return media

    yield attach
    for media in made:
        await media.close()


async def rising(media: CallMedia, user_id: str, kind: str | None = None,
                 wait: float = 1.0) -> tuple[int, int]:
    """Inbound RTP packets from `user_id` once the first arrived (within 5 s), and `wait` s
    later."""
    for _ in range(100):
        before = await media.inbound_packets(user_id, kind)
        if before:
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(wait)
    return before, await media.inbound_packets(user_id, kind)


async def test_audio_flows_both_ways_after_accept(srv, clients, medias):
    alice, bob = await clients(srv, "alice"), await clients(srv, "bob")
    alice_media = medias(alice, tracks=synthetic_tracks(audio=True))
    bob_media = medias(bob, tracks=synthetic_tracks(audio=True))

    call_id = await alice.call(bob.user_id, AUDIO_CALL)
    await bob.next_event("invited", callId=call_id)
    ack = await bob_media.accept(call_id)  # bob offers to alice
    assert ack["participants"] == [alice.user_id]
    await asyncio.gather(alice_media.wait_connected(bob.user_id),
                         bob_media.wait_connected(alice.user_id))
    # the full SDP went through the server as one offer and one answer (no trickle from aiortc)
    offer = await alice.next_event("signal", callId=call_id, kind="offer")
    assert "a=candidate:" in offer["payload"]["sdp"]
    answer = await bob.next_event("signal", callId=call_id, kind="answer")
    assert "a=candidate:" in answer["payload"]["sdp"]

    (a0, a1), (b0, b1) = await asyncio.gather(rising(alice_media, bob.user_id),
                                              rising(bob_media, alice.user_id))
    assert 0 < a0 < a1, (a0, a1)
    assert 0 < b0 < b1, (b0, b1)

    await bob_media.hangup(call_id)
    assert bob_media.peers == {}
    await alice.next_event("call_end", callId=call_id)
    for _ in range(50):  # the media side closes its peer connection when the call ends
        if not alice_media.peers:
            break
        await asyncio.sleep(0.05)
    assert alice_media.peers == {}


async def test_audio_and_video_flow_both_ways_in_a_video_call(srv, clients, medias):
    alice, bob = await clients(srv, "alice"), await clients(srv, "bob")
    tracks = synthetic_tracks(audio=True, video=True)
    alice_media, bob_media = medias(alice, tracks=tracks), medias(bob, tracks=tracks)

    call_id = await alice.call(bob.user_id, VIDEO_CALL)
    await bob.next_event("invited", callId=call_id)
    await bob_media.accept(call_id)
    await asyncio.gather(alice_media.wait_connected(bob.user_id),
                         bob_media.wait_connected(alice.user_id))

    for kind in ("audio", "video"):
        (a0, a1), (b0, b1) = await asyncio.gather(
            rising(alice_media, bob.user_id, kind, 0.7),
            rising(bob_media, alice.user_id, kind, 0.7))
        assert a1 > a0 and b1 > b0, (kind, a0, a1, b0, b1)
        assert a0 > 0 and b0 > 0, (kind, a0, b0)


async def test_group_call_builds_a_full_mesh_of_media(srv, clients, medias):
    alice, bob, carol = (await clients(srv, "alice"), await clients(srv, "bob"),
                         await clients(srv, "carol"))
    media = {c.user_id: medias(c) for c in (alice, bob, carol)}

    call_id = await alice.group_call([bob.user_id, carol.user_id], AUDIO_CALL)
    await bob.next_event("invited", callId=call_id)
    await carol.next_event("invited", callId=call_id)
    await media[bob.user_id].accept(call_id)      # bob offers to alice
    await media[alice.user_id].wait_connected(bob.user_id)
    ack = await media[carol.user_id].accept(call_id)  # carol offers to alice and bob
    assert sorted(ack["participants"]) == sorted([alice.user_id, bob.user_id])

    people = (alice, bob, carol)
    await asyncio.gather(*(media[me.user_id].wait_connected(other.user_id)
                           for me in people for other in people if other is not me))
    pairs = [(me, other) for me in people for other in people if other is not me]
    flows = await asyncio.gather(*(rising(media[me.user_id], other.user_id, wait=0.5)
                                   for me, other in pairs))
    for (me, other), (before, after) in zip(pairs, flows, strict=True):
        assert 0 < before < after, (me.user_id, other.user_id, before, after)
    # when carol leaves, the others drop their connection to her and keep the rest
    await media[carol.user_id].hangup(call_id)
    await alice.next_event("user_leave", callId=call_id, userID=carol.user_id)
    await bob.next_event("user_leave", callId=call_id, userID=carol.user_id)
    for _ in range(50):
        if carol.user_id not in media[alice.user_id].peers:
            break
        await asyncio.sleep(0.05)
    assert set(media[alice.user_id].peers) == {bob.user_id}
    before, after = await rising(media[alice.user_id], bob.user_id, wait=0.5)
    assert after > before
