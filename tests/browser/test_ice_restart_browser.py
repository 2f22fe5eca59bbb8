"""A call whose media path breaks while signaling stays up gets its media back by an ICE restart.

Two Chromium pages on /demo call each other relayed only (`ice_transport_policy = "relay"`)
through a real coturn. Stopping coturn kills every allocation, so the path the call's ICE chose
is gone; the SDK sees ICE `disconnected`/`failed` and restarts it (the side that offered first
sends offers with new ICE credentials through `signal`, with backoff). Once coturn is back on the
same ports, a restart gathers new relay candidates and the media flows again: new ICE ufrags in
both local descriptions, a new selected pair, inbound bytes rising on both sides.
"""

from __future__ import annotations

import time

import pytest

pytestmark = pytest.mark.browser

# The selected candidate pair of the page's one peer connection: its local candidate's type and
# address, and the bytes received on it; and the ICE ufrag of the local description.
PATH = """() => {
    const peer = [...window.demo.client._mesh.peers.values()][0];
    if (!peer) return null;
    return peer.pc.getStats().then((stats) => {
        let pair = null;
        stats.forEach((r) => {
            if (r.type === 'transport' && r.selectedCandidatePairId) {
                pair = stats.get(r.selectedCandidatePairId);
            }
        });
        const local = pair && stats.get(pair.localCandidateId);
        const ufrag = (peer.pc.localDescription.sdp.match(/a=ice-ufrag:(\\S+)/) || [])[1];
        return {ufrag, ice: peer.pc.iceConnectionState,
                local: local && `${local.candidateType} ${local.address}:${local.port}`};
    });
}"""


@pytest.fixture
def server(server_factory, turn):
    """demo_pages' server, handing out the test coturn and allowing relayed paths only."""
    return server_factory(turn.config(), signaling='ice_transport_policy = "relay"')


def inbound(page, other: str) -> int:
    """Bytes received from ``other``; 0 until the page has a connection with them (the call
    can read connected a moment before the page made its peer connection)."""
    s = page.stats().get(other)
    return 0 if s is None else s["audioBytesReceived"] + s["videoBytesReceived"]


def wait_inbound_rising(pages, timeout: float = 15) -> None:
    """Inbound bytes rise on every page, from its peer."""
    for me, other in pages:
        before = inbound(me, other.user)
        deadline = time.monotonic() + timeout
        while inbound(me, other.user) <= before:
            assert time.monotonic() < deadline, f"no media reaches {me.user} from {other.user}"
            time.sleep(0.3)


def test_media_comes_back_by_an_ice_restart_after_the_relay_restarts(demo_pages, turn):
    alice, bob = demo_pages("alice"), demo_pages("bob")
    alice.call("bob", video=False)
    bob.page.wait_for_selector("#incoming", state="visible")
    bob.page.click("#accept")
    for me in (alice, bob):
        me.wait_status(state="connected")
    pages = ((alice, bob), (bob, alice))
    wait_inbound_rising(pages)
    before = {me.user: me.page.evaluate(PATH) for me in (alice, bob)}
    for path in before.values():
        assert path["local"].startswith("relay "), path
    call_id = alice.wait_event("USER_ENTER")["callId"]

    turn.stop()
    try:
        # Both sides see their path break and say so; bob, who offered first, restarts.
        for me, other in pages:
            event = me.wait_event("MEDIA_RECONNECTING", timeout=20_000)
            assert event == {"callId": call_id, "userID": other.user}
    finally:
        turn.start()
    for me, other in pages:
        event = me.wait_event("MEDIA_RECONNECTED", timeout=25_000)
        assert event == {"callId": call_id, "userID": other.user}
    wait_inbound_rising(pages)

    for me in (alice, bob):
        after = me.page.evaluate(PATH)
        old = before[me.user]
        # New ICE credentials: a restart, not the old path coming back; and a new relayed path
        # (a new allocation on the restarted coturn).
        assert after["ufrag"] != old["ufrag"], (me.user, old, after)
        assert after["local"].startswith("relay ") and after["local"] != old["local"], (old, after)
        assert after["ice"] in ("connected", "completed")
    # The call itself never stopped.
    for me in (alice, bob):
        assert me.events("CALL_END") == [] and me.events("MEDIA_RECONNECT_FAILED") == []
