"""A `signal` request caught by a dropped connection is sent again once the session resumes.

Two Chromium pages on /demo, with resume on. When bob accepts, his page sends alice the WebRTC
offer; the test cuts bob's WebSocket at that moment, in the page itself, in the two ways it can
go: the offer frame never leaves (the server never got it, so resume has nothing to replay), or it
goes through and only its ack is lost (the server relayed it). Either way socket.io reconnects,
the session resumes, the SDK sends the unacked offer again, and media flows; in the second case
alice gets the offer twice over the wire and handles it once (the signal's `id`).
"""

from __future__ import annotations

import time

import pytest

pytestmark = pytest.mark.browser

# Bob's next outgoing `signal` offer: with `drop`, the frame is swallowed (it never reaches the
# server); otherwise it goes out and the server's ack for it is swallowed. Then the connection
# closes, as when the network goes just then.
CUT_AT_OFFER = """(drop) => {
    const engine = window.demo.client._socket.io.engine;
    const ws = engine.transport.ws;
    const send = ws.send.bind(ws);
    const onmessage = ws.onmessage;
    window.cut = {offer: null, ackId: null, closed: false};
    const close = () => { window.cut.closed = true; setTimeout(() => engine.close(), 0); };
    ws.send = (data) => {
        const offer = window.cut.offer === null && typeof data === 'string'
            && /^42\\d+\\["signal",/.test(data) && data.includes('"kind":"offer"');
        if (offer) {
            window.cut.offer = data;
            window.cut.ackId = data.match(/^42(\\d+)\\[/)[1];
            if (drop) { close(); return; }
        }
        send(data);
    };
    ws.onmessage = (ev) => {
        const c = window.cut;
        if (!drop && c.ackId !== null && !c.closed && typeof ev.data === 'string'
                && ev.data.startsWith(`43${c.ackId}[`)) {
            close();
            return;
        }
        onmessage.call(ws, ev);
    };
}"""

# Counts the signals that reach alice's page over the wire, and those her SDK hands to its peer
# connections, by kind.
COUNT_SIGNALS = """() => {
    const client = window.demo.client;
    window.arrived = {};
    client._socket.on('signal', ({kind}) => {
        window.arrived[kind] = (window.arrived[kind] || 0) + 1;
    });
    const mesh = client._mesh;
    const signal = mesh.signal.bind(mesh);
    window.handled = {};
    mesh.signal = (from, kind, payload) => {
        window.handled[kind] = (window.handled[kind] || 0) + 1;
        signal(from, kind, payload);
    };
}"""


@pytest.fixture
def server(server_factory):
    """demo_pages' server, with resume on."""
    return server_factory(signaling="resume_window = 30")


def inbound(page, other: str) -> int:
    s = page.stats().get(other) or {"audioBytesReceived": 0, "videoBytesReceived": 0}
    return s["audioBytesReceived"] + s["videoBytesReceived"]


def wait_inbound_rising(pages, timeout: float = 15) -> None:
    for me, other in pages:
        before = inbound(me, other.user)
        deadline = time.monotonic() + timeout
        while inbound(me, other.user) <= before:
            assert time.monotonic() < deadline, f"no media reaches {me.user} from {other.user}"
            time.sleep(0.3)


def call_with_bobs_offer_cut(demo_pages, *, drop: bool):
    alice, bob = demo_pages("alice"), demo_pages("bob")
    bob.page.wait_for_function(
        "() => window.demo.client._socket.io.engine.transport.name === 'websocket'")
    alice.page.evaluate(COUNT_SIGNALS)
    alice.call("bob", video=False)
    bob.page.wait_for_selector("#incoming", state="visible")
    bob.page.evaluate(CUT_AT_OFFER, drop)
    bob.page.click("#accept")
    bob.page.wait_for_function("() => window.cut.closed")
    # The SDK's own connection dropped and came back with the session.
    assert bob.wait_event("RECONNECTING")["userID"] == "bob"
    assert bob.wait_event("RECONNECTED")["userID"] == "bob"
    for me in (alice, bob):
        me.wait_status(state="connected")
    wait_inbound_rising(((alice, bob), (bob, alice)))
    return alice, bob


def test_an_offer_the_server_never_got_is_sent_again_after_the_resume(demo_pages):
    alice, bob = call_with_bobs_offer_cut(demo_pages, drop=True)
    assert alice.page.evaluate("() => [window.arrived.offer, window.handled.offer]") == [1, 1]


def test_an_offer_whose_ack_was_lost_is_sent_again_and_handled_once(demo_pages):
    alice, bob = call_with_bobs_offer_cut(demo_pages, drop=False)
    # The first one reached alice before the cut, the copy after the resume; she answered once,
    # so bob never got an answer his connection could not take.
    assert alice.page.evaluate("() => [window.arrived.offer, window.handled.offer]") == [2, 1]
    assert not [line for line in bob.console if "failed" in line], bob.console
