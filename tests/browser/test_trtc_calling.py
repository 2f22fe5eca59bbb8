"""Pages written for Tencent's trtc-calling-js run on /sdk/trtc-calling.js
(docs/from-tuicalling.md).

First the surface: Tencent's own bundle (trtc-calling-js 1.0.6, a dev dependency of web/, never
served) is loaded into a page and its EVENT, CALL_TYPE and public methods compared with ours and
with the plain-script stand-in's. Then the calls, driven as TUICalling's Web demo drives its
client (from the API, not its code): handlers on TRTCCalling.EVENT.*, `accept({inviteID, roomID,
callType})`, `reject({inviteID, isBusy, callType})`, views into `video-<userID>` elements,
`setMicMute`, `hangup`, and `logout` on KICKED_OUT; every user logs in with a Tencent UserSig
minted by Tencent's `tls-sig-api-v2`. Payloads are checked for Tencent's shapes and media for
bytes both ways.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import TLSSigAPIv2

pytestmark = pytest.mark.browser

SDK_APP_ID = 1400000001
DEMO_SECRET = "test-secret-demo-0123456789abcdef0123456789"  # tests/conftest.py's
THEIR_BUNDLE = Path(__file__).parents[2] / "web" / "node_modules" / "trtc-calling-js" / \
    "trtc-calling-js.js"
# The public methods of trtc-calling-js 1.0.6 (../shared/reference/tuicalling-api.md).
PUBLIC_METHODS = [
    "setLogLevel", "on", "off", "login", "logout", "call", "groupCall", "accept", "reject",
    "hangup", "startRemoteView", "stopRemoteView", "startLocalView", "stopLocalView",
    "openCamera", "closeCamera", "setMicMute", "setVideoQuality", "switchToAudioCall",
    "switchToVideoCall", "getCameras", "getMicrophones", "switchDevice"]

SURFACE = """async () => {
  const theirs = window.TRTCCalling;
  const ours = (await import('/sdk/trtc-calling.js')).default;
  const names = (cls) => Object.getOwnPropertyNames(cls.prototype);
  return {
    theirs: { EVENT: theirs.EVENT, CALL_TYPE: theirs.CALL_TYPE, methods: names(theirs) },
    ours: { EVENT: ours.EVENT, CALL_TYPE: ours.CALL_TYPE, methods: names(ours),
            instance: (({ EVENT, CALL_TYPE }) => ({ EVENT, CALL_TYPE }))(
              new ours({ SDKAppID: 1 })) },
  };
}"""

# As the demo sets a client up: every event noted (window.seen), logout on KICKED_OUT, and one
# <div id="video-<userID>"> per person for the views.
SET_UP = """async ({ sdkAppID, userID, userSig }) => {
  const { default: TRTCCalling } = await import('/sdk/trtc-calling.js');
  const t = new TRTCCalling({ SDKAppID: sdkAppID });
  window.t = t;
  window.seen = [];
  for (const [name, value] of Object.entries(TRTCCalling.EVENT)) {
    if (name === 'CALLING_END') continue;  // the same value as CALL_END
    t.on(value, (d) => window.seen.push({ name, d: JSON.parse(JSON.stringify(d)) }));
  }
  t.on(TRTCCalling.EVENT.INVITED, (d) => { window.invite = d; });
  t.on(TRTCCalling.EVENT.KICKED_OUT, () => t.logout());
  for (const id of ['alice', 'bob', 'carol']) {
    const box = document.createElement('div');
    box.id = `video-${id}`;
    document.body.append(box);
  }
  await t.login({ userID, userSig });
}"""


def usersig(user: str) -> str:
    return TLSSigAPIv2.TLSSigAPIv2(SDK_APP_ID, DEMO_SECRET).gen_sig(user, 3600)


@pytest.fixture
def tencent(server_factory):
    return server_factory(demo_extra=f"sdk_app_id = {SDK_APP_ID}")


def person(open_page, server, user: str):
    page = open_page(user, server.url + "/healthz").page
    page.evaluate(SET_UP, {"sdkAppID": SDK_APP_ID, "userID": user, "userSig": usersig(user)})
    return page


def event(page, name: str, timeout: float = 10, after: int = 0) -> dict:
    """The payload of the first `name` event seen (from the `after`-th event on)."""
    deadline = time.monotonic() + timeout
    while True:
        seen = page.evaluate("() => window.seen")
        found = [e["d"] for e in seen[after:] if e["name"] == name]
        if found:
            return found[0]
        if time.monotonic() >= deadline:
            raise TimeoutError(f"no {name}; seen {[e['name'] for e in seen]}")
        page.wait_for_timeout(100)


def count(page) -> int:
    return page.evaluate("() => window.seen.length")


def bytes_from(page, peer: str) -> tuple[int, int]:
    stats = page.evaluate("() => window.t.callClient.getStats()")
    s = stats.get(peer) or {}
    return s.get("audioBytesReceived", 0), s.get("videoBytesReceived", 0)


def media_flows(page, peer: str, video: bool) -> None:
    """Audio (and video) from `peer` arrive, and keep arriving."""
    first = bytes_from(page, peer)
    page.wait_for_timeout(1500)
    deadline = time.monotonic() + 10
    while True:
        now = bytes_from(page, peer)
        if now[0] > first[0] + 1000 and (not video or now[1] > first[1] + 1000):
            return
        assert time.monotonic() < deadline, (peer, first, now)
        page.wait_for_timeout(300)


def test_our_module_has_trtc_calling_js_1_0_6_constants_and_methods(tencent, open_page):
    page = open_page("surface", tencent.url + "/healthz").page
    # Their bundle wants Tencent's TRTC, TIM and TSignaling globals only when it is used.
    page.evaluate("() => { window.TRTC = {}; window.TIM = {}; "
                  "window.TSignaling = function () {}; }")
    page.add_script_tag(content=THEIR_BUNDLE.read_text())
    surface = page.evaluate(SURFACE)
    theirs, ours = surface["theirs"], surface["ours"]
    assert ours["EVENT"] == theirs["EVENT"] and ours["CALL_TYPE"] == theirs["CALL_TYPE"]
    assert ours["instance"] == {"EVENT": theirs["EVENT"], "CALL_TYPE": theirs["CALL_TYPE"]}
    assert set(PUBLIC_METHODS) <= set(theirs["methods"]), "the list is theirs"
    assert set(PUBLIC_METHODS) <= set(ours["methods"])
    # The plain-script stand-in (trtc-calling.global.js) has the same surface.
    plain = open_page("plain", tencent.url + "/healthz").page
    plain.add_script_tag(url="/sdk/trtc-calling.global.js")
    stand_in = plain.evaluate("""() => ({ EVENT: TRTCCalling.EVENT,
        CALL_TYPE: TRTCCalling.CALL_TYPE,
        methods: Object.getOwnPropertyNames(TRTCCalling.prototype) })""")
    assert (stand_in["EVENT"], stand_in["CALL_TYPE"]) == (theirs["EVENT"], theirs["CALL_TYPE"])
    assert set(PUBLIC_METHODS) <= set(stand_in["methods"])


def test_a_video_call_an_audio_call_and_their_endings_as_tuicallings_demo_makes_them(
        tencent, open_page):
    alice, bob = person(open_page, tencent, "alice"), person(open_page, tencent, "bob")
    assert event(alice, "SDK_READY") == {}
    # A switch with no call to switch fails with Tencent's codes, as an error event too.
    codes = alice.evaluate("""async () => {
        const codes = [];
        for (const f of ['switchToAudioCall', 'switchToVideoCall']) {
          try { await t[f](); } catch (err) { codes.push(err.code); }
        }
        return codes;
    }""")
    assert codes == [60001, 60002]
    errors = [e["d"] for e in alice.evaluate("() => window.seen") if e["name"] == "ERROR"]
    assert [e["code"] for e in errors] == [60001, 60002] and all(e["msg"] for e in errors)

    # Video: alice calls, bob accepts as the demo does, both render the other into video-<id>.
    alice.evaluate("() => t.call({ userID: 'bob', type: t.CALL_TYPE.VIDEO_CALL, timeout: 30 })")
    invited = event(bob, "INVITED")
    assert set(invited) == {"sponsor", "userIDList", "isFromGroup", "inviteID", "inviteData"}
    assert (invited["sponsor"], invited["userIDList"], invited["isFromGroup"]) == \
        ("alice", ["bob"], False)
    assert set(invited["inviteData"]) == {"version", "callType", "callEnd", "roomID"}
    assert (invited["inviteData"]["callType"], invited["inviteData"]["callEnd"]) == (2, 0)
    assert isinstance(invited["inviteData"]["roomID"], int)
    bob.evaluate("""() => t.accept({ inviteID: invite.inviteID, roomID: invite.inviteData.roomID,
                                     callType: invite.inviteData.callType })""")
    assert event(alice, "USER_ACCEPT") == {"userID": "bob"}
    assert event(alice, "USER_ENTER") == {"userID": "bob"}
    assert event(bob, "USER_ENTER") == {"userID": "alice"}
    for page, me, other in ((alice, "alice", "bob"), (bob, "bob", "alice")):
        page.evaluate(f"""async () => {{
            await t.startLocalView({{ userID: '{me}', videoViewDomID: 'video-{me}' }});
            await t.startRemoteView({{ userID: '{other}', videoViewDomID: 'video-{other}' }});
        }}""")
    media_flows(alice, "bob", video=True)
    media_flows(bob, "alice", video=True)
    assert alice.evaluate("() => !!document.querySelector('#video-bob video').srcObject")
    mark = count(alice)
    bob.evaluate("() => t.setMicMute(true)")
    assert event(alice, "USER_AUDIO_AVAILABLE", after=mark) == {"userID": "bob",
                                                                "isAudioAvailable": False}
    alice.wait_for_timeout(1200)
    mark_bob = count(bob)
    alice.evaluate("() => t.hangup()")
    ended = event(bob, "CALL_END", after=mark_bob)
    assert set(ended) == {"userID", "callEnd"} and ended["callEnd"] >= 1, ended
    assert event(alice, "CALL_END", after=mark)["userID"] == "alice"

    # Audio: nobody calls startRemoteView, and the remote audio plays all the same.
    mark = count(bob)
    bob.evaluate("() => t.call({ userID: 'alice', type: t.CALL_TYPE.AUDIO_CALL, timeout: 30 })")
    assert event(alice, "INVITED", after=count(alice) - 1)["inviteData"]["callType"] == 1
    alice.evaluate("() => t.accept()")  # 1.0.6's own form
    event(bob, "USER_ENTER", after=mark)
    media_flows(bob, "alice", video=False)
    media_flows(alice, "bob", video=False)
    playing = alice.evaluate("""() => [...document.querySelectorAll('audio')]
        .some((a) => a.srcObject && !a.paused && a.srcObject.getAudioTracks().length)""")
    assert playing, "remote audio plays without startRemoteView"
    mark = count(alice)
    bob.evaluate("() => t.hangup()")
    assert event(alice, "CALL_END", after=mark)["userID"] == "bob"
    bob.evaluate("() => t.hangup()")  # twice: no throw


def test_busy_reject_no_answer_cancel_and_kicked_out_in_tencents_shapes(tencent, open_page):
    alice, bob = person(open_page, tencent, "alice"), person(open_page, tencent, "bob")
    carol = person(open_page, tencent, "carol")

    # Reject, as the demo: reject({inviteID, isBusy, callType}).
    mark = count(alice)
    alice.evaluate("() => t.call({ userID: 'bob', type: 1, timeout: 30 })")
    event(bob, "INVITED")
    bob.evaluate("""() => t.reject({ inviteID: invite.inviteID, isBusy: false,
                                     callType: invite.inviteData.callType })""")
    assert event(alice, "REJECT", after=mark) == {"userID": "bob"}
    event(alice, "CALL_END", after=mark)

    # Busy: carol calls bob while bob rings for alice.
    mark_a, mark_b, mark_c = count(alice), count(bob), count(carol)
    alice.evaluate("() => t.call({ userID: 'bob', type: 1, timeout: 30 })")
    event(bob, "INVITED", after=mark_b)
    carol.evaluate("() => t.call({ userID: 'bob', type: 1, timeout: 30 })")
    assert event(carol, "LINE_BUSY", after=mark_c) == {"sponsor": "carol", "userID": "bob"}

    # Cancel: alice hangs up before bob answers.
    mark_b = count(bob)
    alice.evaluate("() => t.hangup()")
    assert event(bob, "CALLING_CANCEL", after=mark_b) == {}
    event(alice, "CALL_END", after=mark_a)

    # No answer: a 1 s ring nobody answers.
    mark_a, mark_b = count(alice), count(bob)
    alice.evaluate("() => t.call({ userID: 'bob', type: 1, timeout: 1 })")
    assert event(alice, "NO_RESP", after=mark_a) == {"sponsor": "alice", "userIDList": ["bob"]}
    assert event(bob, "CALLING_TIMEOUT", after=mark_b) == {"sponsor": "alice",
                                                           "userIDList": ["bob"]}

    # Kicked out: bob logs in again elsewhere; the old page hears it and logs out, as the demo.
    mark_b = count(bob)
    person(open_page, tencent, "bob")
    assert event(bob, "KICKED_OUT", after=mark_b) == {}


def test_a_group_call_as_the_demo_makes_it(tencent, open_page):
    alice, bob = person(open_page, tencent, "alice"), person(open_page, tencent, "bob")
    carol = person(open_page, tencent, "carol")
    alice.evaluate("""() => t.groupCall({ userIDList: ['bob', 'carol'], type: 1,
                                          groupID: 'team-1' })""")
    for page in (bob, carol):
        invited = event(page, "INVITED")
        assert (invited["sponsor"], invited["isFromGroup"]) == ("alice", True)
        assert sorted(invited["userIDList"]) == ["bob", "carol"]
        page.evaluate("""() => t.accept({ inviteID: invite.inviteID,
            roomID: invite.inviteData.roomID, callType: invite.inviteData.callType })""")
    for page, others in ((alice, {"bob", "carol"}), (bob, {"alice", "carol"}),
                         (carol, {"alice", "bob"})):
        deadline = time.monotonic() + 10
        while {e["d"]["userID"] for e in page.evaluate("() => window.seen")
               if e["name"] == "USER_ENTER"} != others:
            assert time.monotonic() < deadline, page.evaluate("() => window.seen")
            page.wait_for_timeout(100)
    media_flows(alice, "carol", video=False)
    media_flows(carol, "bob", video=False)
    updates = [e["d"] for e in alice.evaluate("() => window.seen")
               if e["name"] == "GROUP_CALL_INVITEE_LIST_UPDATE"]
    assert updates and updates[-1] == {"userIDList": []}, updates
    alice.evaluate("() => t.hangup()")
    assert event(bob, "USER_LEAVE") == {"userID": "alice"}
