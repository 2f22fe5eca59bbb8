"""Real browsers on the demo page: Chromium with fake devices, calling through a real server.

Each test drives /demo the way a person would (fill the ids, press the buttons) and checks what the
page shows; media is checked through the SDK's getStats() (RTP byte counters) and the <video>
elements themselves.
"""

from __future__ import annotations

import time

import pytest

pytestmark = pytest.mark.browser

# A remote <video> is really showing frames.
REMOTE_VIDEO_PLAYING = """() => {
  const v = document.querySelector('#remote-videos video');
  return !!v && !v.paused && v.readyState >= 2 && v.videoWidth > 0 && v.videoHeight > 0;
}"""


def test_two_pages_video_call_media_flows_both_ways(demo_pages):
    alice = demo_pages("alice")
    bob = demo_pages("bob")

    alice.call("bob", video=True)
    alice.wait_status(state="dialing")
    bob.page.wait_for_selector("#incoming", state="visible")
    assert bob.page.text_content("#incoming-from") == "alice"
    assert "video" in bob.page.text_content("#incoming-type")
    invited = bob.wait_event("INVITED")
    assert invited["sponsor"] == "alice"
    assert invited["inviteData"]["callType"] == 2
    assert invited["userIDList"] == ["bob"]

    bob.page.click("#accept")
    for me, other in ((alice, bob), (bob, alice)):
        assert me.wait_event("USER_ENTER")["userID"] == other.user
        me.wait_status(state="connected")
        me.page.wait_for_selector(f"#tile-{other.user}", state="visible")
        me.page.wait_for_function(REMOTE_VIDEO_PLAYING)
    assert alice.wait_event("USER_ACCEPT")["userID"] == "bob"
    # Each side announced its devices on joining.
    assert alice.wait_event("USER_VIDEO_AVAILABLE") == {
        "callId": invited["callId"], "userID": "bob", "isVideoAvailable": True}
    assert bob.wait_event("USER_AUDIO_AVAILABLE")["isAudioAvailable"] is True

    # RTP really flows, both ways, audio and video: the byte counters keep rising.
    first = {p.user: p.stats() for p in (alice, bob)}
    time.sleep(1.5)
    second = {p.user: p.stats() for p in (alice, bob)}
    for me, other in (("alice", "bob"), ("bob", "alice")):
        before, after = first[me][other], second[me][other]
        for key in ("audioBytesReceived", "videoBytesReceived", "audioBytesSent", "videoBytesSent"):
            assert after[key] > before[key] > 0, (me, key, before, after)

    # The call timer runs, and the voice meter reports both users.
    alice.page.wait_for_function("() => document.querySelector('#timer').textContent !== '00:00'")
    volume = alice.wait_event("USER_VOICE_VOLUME")["volumeMap"]
    assert set(volume) == {"alice", "bob"}
    assert all(0 <= v <= 100 for v in volume.values())

    alice.page.click("#hangup")
    end_alice = alice.wait_event("CALL_END")
    end_bob = bob.wait_event("CALL_END")
    assert end_alice == {"callId": invited["callId"], "reason": "hangup", "local": True}
    assert end_bob == {"callId": invited["callId"], "reason": "hangup", "local": False}
    for p in (alice, bob):
        p.wait_status(state="idle", outcome="ended")
        p.page.wait_for_selector("#call", state="hidden")
        assert p.page.evaluate("() => window.demo.client.state") == "idle"
        # Peer connections closed and devices released.
        assert p.stats() == {}
        assert p.page.evaluate("() => document.querySelector('#local-video').srcObject") is None
    # A second hang-up is harmless.
    assert alice.page.evaluate("() => window.demo.client.hangup().then(() => 'ok')") == "ok"
    assert len(alice.events("CALL_END")) == 1


def test_busy_and_timeout_in_browser(demo_pages):
    alice = demo_pages("alice")
    bob = demo_pages("bob")
    carol = demo_pages("carol")
    dave = demo_pages("dave")

    # bob is in a (connected) audio call with carol.
    carol.call("bob", video=False)
    bob.page.wait_for_selector("#incoming", state="visible")
    bob.page.click("#accept")
    bob.wait_status(state="connected")
    carol.wait_status(state="connected")

    # alice calls bob: busy at once; bob never sees a second invitation.
    alice.call("bob", video=True)
    status = alice.wait_status(state="idle", outcome="busy")
    assert "bob is busy" in status
    assert alice.wait_event("LINE_BUSY")["userID"] == "bob"
    # protocol.md lists `no_answer` for "refused as busy/offline"; the server says `busy` when
    # every invitee was busy. Either ends the call; the page shows the busy notice regardless.
    assert alice.wait_event("CALL_END")["reason"] in {"busy", "no_answer"}
    assert len(bob.events("INVITED")) == 1
    assert bob.page.is_hidden("#incoming")

    # alice calls dave with a 2 s timeout; dave lets it ring.
    alice.call("dave", video=True, timeout=2)
    dave.page.wait_for_selector("#incoming", state="visible")
    assert dave.page.text_content("#incoming-from") == "alice"
    started = time.monotonic()
    status = alice.wait_status(state="idle", outcome="no_answer")
    assert "dave did not answer" in status
    assert 1.0 < time.monotonic() - started < 5
    no_resp = alice.wait_event("NO_RESP")
    assert (no_resp["userID"], no_resp["reason"]) == ("dave", "timeout")
    dave.wait_event("CALLING_TIMEOUT")
    dave.wait_status(state="idle", outcome="timeout")
    dave.page.wait_for_selector("#incoming", state="hidden")
    assert dave.page.text_content("#missed-calls li[data-from='alice']")
    ends = [e["data"] for e in alice.events("CALL_END")]
    assert len(ends) == 2
    assert ends[-1] == {"callId": no_resp["callId"], "reason": "no_answer", "local": False}

    # bob and carol were undisturbed; carol hangs up and bob sees the end.
    assert bob.page.evaluate("() => window.demo.client.state") == "connected"
    carol.page.click("#hangup")
    bob.wait_status(state="idle", outcome="ended")
    assert bob.wait_event("CALL_END")["reason"] == "hangup"


# Replaces getUserMedia so that the given kinds fail with the given DOMException name; the
# tracks it does hand out are kept in window.openedTracks, so a test can see them released.
BREAK_DEVICES = """([kinds, name]) => {
  const real = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  window.openedTracks = window.openedTracks || [];
  navigator.mediaDevices.getUserMedia = (c) => kinds.some(k => c[k])
    ? Promise.reject(new DOMException('test', name))
    : real(c).then(s => { window.openedTracks.push(...s.getTracks()); return s; });
}"""

TRY_CALL = """async () => {
  try { await window.demo.client.call({userID: 'nobody', type: 2}); return 'called'; }
  catch (e) { return e.code; }
}"""


def test_device_failures_report_tuicalling_codes(demo_pages):
    """No microphone 60003, no camera 60004, permission denied 60005, no WebRTC 60006: the
    promise rejects with the code, ERROR carries it, and no invitation leaves the page."""
    alice = demo_pages("alice")
    page = alice.page
    # Through the UI: no microphone.
    page.evaluate(BREAK_DEVICES, [["audio"], "NotFoundError"])
    alice.call("nobody")
    alice.wait_status(state="idle", outcome="failed")
    assert "60003" in page.text_content("#status")
    assert alice.wait_event("ERROR")["code"] == 60003
    page.wait_for_selector("#messages li[data-kind='ERROR']")
    assert not page.is_disabled("#call-video")

    page.reload()
    page.fill("#user-id", "alice")
    page.click("#login")
    alice.wait_status(state="idle")
    page.evaluate(BREAK_DEVICES, [["video"], "NotFoundError"])
    assert page.evaluate(TRY_CALL) == 60004
    # The microphone opened before the camera failed is released again (its track stopped).
    assert page.evaluate("() => window.openedTracks.map(t => [t.kind, t.readyState])") \
        == [["audio", "ended"]]
    page.evaluate(BREAK_DEVICES, [["audio", "video"], "NotAllowedError"])
    assert page.evaluate(TRY_CALL) == 60005
    page.evaluate("() => { delete window.RTCPeerConnection; }")
    assert page.evaluate(TRY_CALL) == 60006
    assert [e["data"]["code"] for e in alice.events("ERROR")] == [60004, 60005, 60006]
    assert alice.events("CALL_END") == []
    assert page.evaluate("() => window.demo.client.state") == "idle"


def test_switching_to_audio_leaves_no_camera_button_and_no_black_picture(demo_pages):
    alice, bob = demo_pages("alice"), demo_pages("bob")
    alice.call("bob", video=True)
    bob.page.wait_for_selector("#incoming", state="visible")
    bob.page.click("#accept")
    for p in (alice, bob):
        p.wait_status(state="connected")
    assert alice.page.is_visible("#camera")

    alice.page.click("#switch-type")
    for p in (alice, bob):
        p.page.wait_for_function("() => window.demo.client.callType === 1")
        p.page.wait_for_selector("#camera", state="hidden")
        assert p.page.text_content("#switch-type") == "Switch to video"
        # The tiles say "Audio" instead of showing a black picture.
        tiles = p.page.eval_on_selector_all("#call .tile", """ts => ts.map(t => [
            getComputedStyle(t, '::after').content,
            getComputedStyle(t.querySelector('video') || t).display])""")
        assert tiles and all(content == '"Audio"' and shown == "none"
                             for content, shown in tiles), tiles
    notices = alice.page.text_content("#messages") or ""
    assert "Switched to an audio call." in notices, notices
