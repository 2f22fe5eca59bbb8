"""Raw Engine.IO v4 / Socket.IO v5 frames that no Socket.IO client would send, on a real websocket
to a real server (callcenter/server/socketio/packet_guard.py; docs/protocol.md, "Bad input at the
packet level").

Whatever the frame, the server's log gets no traceback (the fixtures fail the test otherwise) and
at most one warning naming the connection; the connection then either still answers `hello`, or
was closed cleanly (Socket.IO DISCONNECT, Engine.IO CLOSE, a websocket close frame). Either way
the same user can connect again.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from typing import Any

import pytest
import requests
import socketio
import websocket
from signaling_helpers import unique
from werkzeug.serving import make_server

from callcenter.server.socketio import packet_guard

DEEP = "[" * 5000
BIG_INT = "1" * 5000  # past Python's 4300-digit limit for int()
PLACEHOLDER = '{"_placeholder":true,"num":0}'


class Raw:
    """One Engine.IO websocket connection, logged in as `user`, spoken to frame by frame."""

    def __init__(self, url: str, user: str, token: str, app: str = "demo") -> None:
        port = url.rsplit(":", 1)[1]
        self.ws = websocket.create_connection(
            f"ws://127.0.0.1:{port}/socket.io/?EIO=4&transport=websocket", timeout=5)
        opened = self.ws.recv()
        assert opened.startswith("0"), opened
        self.eio_sid = json.loads(opened[1:])["sid"]
        self.ws.send("40" + json.dumps({"appId": app, "userID": user, "userSig": token}))
        connected = self.recv()
        assert isinstance(connected, str) and connected.startswith("40{"), connected
        self.sid = json.loads(connected[2:])["sid"]
        self.texts: list[str] = []  # the text frames read while waiting for something else

    def send(self, *frames: str | bytes) -> None:
        for frame in frames:
            if isinstance(frame, bytes):
                self.ws.send_binary(frame)
            else:
                self.ws.send(frame)

    def recv(self, timeout: float = 5) -> str | bytes | None:
        """The next data frame (answering Engine.IO pings), or None once the websocket closed."""
        self.ws.settimeout(timeout)
        while True:
            try:
                opcode, data = self.ws.recv_data(control_frame=True)
            except websocket.WebSocketConnectionClosedException:
                return None
            except websocket.WebSocketTimeoutException:
                raise AssertionError(f"nothing from the server; frames {self.texts}") from None
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                return None
            if opcode == websocket.ABNF.OPCODE_TEXT:
                text = data.decode()
                if text == "2":
                    self.ws.send("3")
                    continue
                return text
            if opcode == websocket.ABNF.OPCODE_BINARY:
                return data

    def ack(self, ack_id: int, timeout: float = 5) -> Any:
        """The payload of the acknowledgement `43<ack_id>[payload]`, skipping other frames."""
        deadline = time.monotonic() + timeout
        prefix = f"43{ack_id}["
        while time.monotonic() < deadline:
            frame = self.recv(max(0.1, deadline - time.monotonic()))
            if frame is None:
                raise AssertionError(f"closed before ack {ack_id}; frames {self.texts}")
            if isinstance(frame, str) and frame.startswith(prefix):
                return json.loads(frame[len(prefix) - 1:])[0]
            self.texts.append(frame)
        raise AssertionError(f"no ack {ack_id}; frames {self.texts}")

    def hello(self, ack_id: int = 900) -> dict:
        self.send(f"42{ack_id}" + json.dumps(["hello", {}]))
        return self.ack(ack_id)

    def closed_cleanly(self, timeout: float = 5) -> bool:
        """Whether the server closes this connection: Socket.IO DISCONNECT and Engine.IO CLOSE
        first, then the websocket (a close frame, or the socket closed)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            frame = self.recv(max(0.1, deadline - time.monotonic()))
            if frame is None:
                return "41" in self.texts and "1" in self.texts
            self.texts.append(frame)
        return False

    def close(self) -> None:
        self.ws.close()


def login(server, name: str) -> tuple[Raw, str]:
    user = unique(name)
    return Raw(server.url, user, server.token(user)), user


def warnings_naming(server, since: int, *sids: str) -> list[str]:
    return [line for line in server.log()[since:].splitlines()
            if (" WARNING " in line or " ERROR " in line) and any(s in line for s in sids)]


def can_log_in_again(server, user: str) -> None:
    again = Raw(server.url, user, server.token(user))
    try:
        assert again.hello()["ok"] is True
    finally:
        again.close()


def answers_hello(conn: Raw) -> None:
    reply = conn.hello()
    assert reply["ok"] is True, reply  # not NOT_LOGGED_IN: the session is intact


def expect(server, frames: tuple[str | bytes, ...], outcome: str, code: str | None = None,
           warnings: int = 1, name: str = "raw") -> Raw:
    """Send `frames` on a fresh connection; check `outcome` ("answered" with an ack `code` for
    id 1, "goes_on" with no ack, or "closed"), the warnings, and that the user can come back."""
    conn, user = login(server, name)
    since = len(server.log())
    conn.send(*frames)
    if outcome == "answered":
        reply = conn.ack(1)
        assert reply["ok"] is False and reply["error"]["code"] == code, reply
        answers_hello(conn)
    elif outcome == "goes_on":
        answers_hello(conn)
        assert not any(t.startswith("431") for t in conn.texts), conn.texts
    else:
        assert outcome == "closed"
        assert conn.closed_cleanly(), conn.texts
    found = warnings_naming(server, since, conn.sid, conn.eio_sid)
    assert len(found) == warnings, found
    conn.close()
    can_log_in_again(server, user)
    return conn


@pytest.fixture
def srv(shared_server):
    return shared_server


# -- A. reserved event names -------------------------------------------------------------------

RESERVED = ["connect", "disconnect", "*", "connect_error", "message", "json", "disconnecting",
            "newListener", "removeListener"]


@pytest.mark.parametrize("name", RESERVED)
@pytest.mark.parametrize("with_ack", [True, False], ids=["ack", "no-ack"])
def test_reserved_event_names_never_reach_the_servers_own_handlers(srv, name, with_ack):
    # `42["disconnect"]` used to log the user out with the socket open (next request:
    # NOT_LOGGED_IN); `connect` re-ran authentication; `*` raised inside python-socketio.
    ack_id = "1" if with_ack else ""
    expect(srv, (f"42{ack_id}" + json.dumps([name, {}]),),
           "answered" if with_ack else "goes_on", "UNKNOWN_EVENT", name="reserved")


def test_disconnect_without_payload_leaves_the_session_logged_in(srv):
    expect(srv, ('42["disconnect"]', '42["disconnect","transport close"]'), "goes_on",
           warnings=2)


async def test_python_socketio_client_sending_reserved_names_gets_unknown_event(srv, clients):
    client = await clients(srv, "sioclient")
    for name in ("connect", "disconnect", "*", "connect_error", "message"):
        reply = await client.request(name, {})
        assert reply["ok"] is False and reply["error"]["code"] == "UNKNOWN_EVENT", (name, reply)
    assert (await client.request("hello", {}))["ok"] is True
    assert client.connected


async def test_binary_event_from_python_socketio_reaches_the_request_handler(srv, clients):
    client = await clients(srv, "binary")
    since = len(srv.log())
    reply = await client.request("accept", {"callId": b"\x01"})
    # Answered by the signaling layer's payload check, not refused by the packet layer.
    assert reply["ok"] is False and reply["error"]["code"] == "BAD_REQUEST", reply
    assert "packet_guard" not in srv.log()[since:]
    assert (await client.request("hello", {}))["ok"] is True


async def test_a_client_upgrading_from_polling_to_websocket_is_served_as_before(srv):
    # Browsers start on long polling and upgrade (probe, UPGRADE) through the guarded websocket.
    user = unique("upgrade")
    sio = socketio.AsyncClient(reconnection=False)
    auth = {"appId": "demo", "userID": user, "userSig": srv.token(user)}
    await sio.connect(srv.url, auth=auth, transports=["polling", "websocket"])
    try:
        for _ in range(50):
            if sio.transport() == "websocket":
                break
            await asyncio.sleep(0.1)
        assert sio.transport() == "websocket"
        reply = await sio.call("hello", {}, timeout=5)
        assert reply["ok"] is True and reply["userID"] == user
        reply = await sio.call("disconnect", {}, timeout=5)
        assert reply["error"]["code"] == "UNKNOWN_EVENT"
    finally:
        await sio.disconnect()


# -- B. packets that do not decode -------------------------------------------------------------

UNDECODABLE = {
    "invalid-json": ("42[invalid",),
    "invalid-json-with-id": ('421["hello",{]',),
    "nesting-5000-deep": ('42["hello",' + DEEP,),
    "nesting-past-the-limit": ('42["hello",' + "[" * 40 + "]" * 40 + "]",),
    "integer-past-the-digit-limit": (f'42["hello",{BIG_INT}]',),
    "unknown-socketio-type-7": ('47["hello"]',),
    "unknown-socketio-type-9": ("49",),
    "connect-error-from-client": ('44{"message":"x"}',),
    "non-ascii-digit-type": ("4\u0663[1]",),
    "message-without-packet": ("4",),
    "message-that-is-json": ('4{"a":1}',),
    "message-that-is-deep-json": ("4" + DEEP,),
    "unknown-engineio-type-x": ("x",),
    "unknown-engineio-type-9": ("9",),
    "empty-frame": ("",),
    "stray-binary-frame": (b"\x01\x02",),
    "stray-binary-that-looks-like-a-packet": (b'2["hello",{}]',),
    "base64-garbage": ("b!!!",),
    "binary-event-without-attachments": ('45["accept",{}]',),
    "binary-event-announcing-11": ('4511-["accept",' + PLACEHOLDER + "]",),
    "binary-event-announcing-99999999": ('4599999999-["accept",' + PLACEHOLDER + "]",),
    "placeholder-out-of-range": ('452-1["accept",{"_placeholder":true,"num":5}]', b"a", b"b"),
    "placeholder-not-a-number": ('451-1["accept",{"_placeholder":true,"num":"x"}]', b"a"),
    "binary-for-a-namespace-not-joined": ('451-/admin,["x",' + PLACEHOLDER + "]",),
}


@pytest.mark.parametrize("frames", UNDECODABLE.values(), ids=UNDECODABLE.keys())
def test_undecodable_frames_close_the_connection_cleanly_with_one_warning(srv, frames):
    expect(srv, frames, "closed", name="undecodable")


# -- B. packets that decode but are no event ----------------------------------------------------

NOT_EVENTS = {
    "name-is-a-list": ('421[["x"],{}]', "UNKNOWN_EVENT"),
    "name-is-an-object": ("421[{}]", "UNKNOWN_EVENT"),
    "name-is-a-number": ("421[1,{}]", "UNKNOWN_EVENT"),
    "name-is-null": ("421[null]", "UNKNOWN_EVENT"),
    "name-is-65-characters": ("421" + json.dumps(["x" * 65, {}]), "UNKNOWN_EVENT"),
    "name-is-100000-characters": ("421" + json.dumps(["x" * 100_000]), "UNKNOWN_EVENT"),
    "empty-array": ("421[]", "BAD_REQUEST"),
    "no-data": ("421", "BAD_REQUEST"),
    "data-is-an-object": ('421{"name":"hello"}', "BAD_REQUEST"),
    "data-is-a-string": ('421"hello"', "BAD_REQUEST"),
}


@pytest.mark.parametrize(("frame", "code"), NOT_EVENTS.values(), ids=NOT_EVENTS.keys())
def test_malformed_events_are_refused_and_the_connection_goes_on(srv, frame, code):
    expect(srv, (frame,), "answered", code, name="malformed")
    # The same without an ack id: dropped, one warning.
    expect(srv, (frame[:2] + frame[3:],), "goes_on", name="malformed")


# -- B. binary attachments ---------------------------------------------------------------------

def test_binary_packet_interrupted_by_a_text_frame_is_dropped_and_the_text_handled(srv):
    # python-socketio took every later frame for the missing attachment: the next request
    # became the attachment, and the connection was wedged.
    expect(srv, ('451-["accept",{"callId":' + PLACEHOLDER + "}]",), "goes_on", name="pending")
    # With an ack id the dropped packet is answered when the text frame comes, and the text
    # frame is still handled.
    conn, user = login(srv, "pending")
    since = len(srv.log())
    conn.send('451-1["accept",{"callId":' + PLACEHOLDER + "}]", '422["hello",{}]')
    reply = conn.ack(1)
    assert reply["ok"] is False and reply["error"]["code"] == "BAD_REQUEST", reply
    assert conn.ack(2)["ok"] is True
    assert len(warnings_naming(srv, since, conn.sid)) == 1
    conn.close()
    can_log_in_again(srv, user)


def test_completed_binary_event_reaches_the_request_handler(srv):
    # Two attachments, then the event goes to the catch-all handler like any other; the
    # signaling layer answers binary payloads BAD_REQUEST (no warning at the packet layer).
    frames = ('452-1["accept",{"callId":' + PLACEHOLDER
              + ',"x":{"_placeholder":true,"num":1}}]', b"\x01", b"\x02")
    expect(srv, frames, "answered", "BAD_REQUEST", warnings=0, name="binary")


# -- C. other packets at this layer ------------------------------------------------------------

OTHERS = {
    # Namespaces we do not serve: refused by python-socketio itself (CONNECT_ERROR), quietly.
    "connect-to-unknown-namespace": (("40/admin,{}",), "goes_on", 0),
    "disconnect-from-unknown-namespace": (("41/admin,",), "goes_on", 0),
    "event-for-unknown-namespace": (('42/admin,1["hello",{}]',), "goes_on", 1),
    "connect-twice": (("40{}",), "goes_on", 0),
    # The server never asks a client for an ack.
    "ack-for-an-id-never-sent": (('4312[{"ok":true}]',), "goes_on", 1),
    "ack-for-id-0": (("430[]",), "goes_on", 1),
    "ack-without-id": (("43[1]",), "goes_on", 1),
    "ack-that-is-no-array": (('437{"a":1}',), "goes_on", 1),
    "binary-ack-never-asked": (("461-1[" + PLACEHOLDER + "]", b"\x01"), "goes_on", 1),
    # Valid Engine.IO types a client does not send: ignored by python-engineio.
    "engineio-noop": (("6",), "goes_on", 0),
    "engineio-ping": (("2",), "goes_on", 0),
    "engineio-upgrade-again": (("5",), "goes_on", 0),
}


@pytest.mark.parametrize(("frames", "outcome", "warnings"), OTHERS.values(), ids=OTHERS.keys())
def test_other_packets_are_dropped_with_at_most_one_warning(srv, frames, outcome, warnings):
    expect(srv, frames, outcome, warnings=warnings, name="other")


ODD_NAMES = {
    "empty": "",
    "nul": "\u0000hello",
    "lone-surrogate": "\ud800",
    "right-to-left-override": "hello\u202e",
    "emoji": "\U0001f600",
    "combining": "he\u0301llo",
    "newline": "hello\nWARNING forged log line",
    "64-characters": "x" * 64,
}


@pytest.mark.parametrize("name", ODD_NAMES.values(), ids=ODD_NAMES.keys())
def test_odd_unicode_names_are_unknown_events(srv, name):
    # Strings of allowed length pass the packet layer; the request table answers them.
    expect(srv, ("421" + json.dumps([name, {}]),), "answered", "UNKNOWN_EVENT", warnings=0,
           name="unicode")


# -- Engine.IO over long polling ---------------------------------------------------------------

BAD_BODIES = {
    "not-utf-8": b'42["hello",\xff\xfe]',
    "deep-json": ("4" + DEEP).encode(),
    "unknown-engineio-type": b"9",
    "second-packet-unknown": b'42["hello",{}]\x1e9',
    "invalid-json": b"42[invalid",
    "empty-message": b"4",
    "base64-garbage": b"b!!!",
}


def polling_session(server, user: str) -> str:
    """A logged-in long-polling session; returns its URL."""
    base = f"{server.url}/socket.io/?EIO=4&transport=polling"
    eio_sid = json.loads(requests.get(base, timeout=5).text[1:])["sid"]
    url = f"{base}&sid={eio_sid}"
    auth = {"appId": "demo", "userID": user, "userSig": server.token(user)}
    assert requests.post(url, data="40" + json.dumps(auth), timeout=5).ok
    assert requests.get(url, timeout=5).text.startswith("40{")
    return url


@pytest.mark.parametrize("body", BAD_BODIES.values(), ids=BAD_BODIES.keys())
def test_polling_bodies_that_do_not_decode_close_the_session_cleanly(srv, body):
    user = unique("polling")
    url = polling_session(srv, user)
    eio_sid = url.rsplit("=", 1)[1]
    since = len(srv.log())
    # A client always has a GET waiting: that is where the server's last packets go.
    waiting: dict[str, str] = {}
    poll = threading.Thread(target=lambda: waiting.update(
        text=requests.get(url, timeout=10).text))
    poll.start()
    time.sleep(0.3)
    assert requests.post(url, data=body, timeout=5).ok
    poll.join(10)
    assert waiting.get("text", "").split("\x1e") == ["41", "1"], waiting
    assert len(warnings_naming(srv, since, eio_sid)) == 1, srv.log()[since:]
    can_log_in_again(srv, user)


def test_polling_post_racing_the_close_is_refused_not_a_500(srv):
    # python-engineio looked the closed session up outside its error handling: a 500 whose
    # body was a traceback.
    user = unique("race")
    url = polling_session(srv, user)
    assert requests.post(url, data="42[invalid", timeout=5).ok
    late = requests.post(url, data='421["hello",{}]', timeout=5)
    assert late.status_code == 400 and "Traceback" not in late.text, late.text
    can_log_in_again(srv, user)


# -- the guard alone, in threading mode ---------------------------------------------------------

def test_the_guard_works_without_eventlet_in_threading_mode(caplog):
    """A bare python-socketio server (threading, simple-websocket, werkzeug): the guard needs
    nothing of eventlet, Flask or the application."""
    sio = socketio.Server(async_mode="threading")
    seen: list[str] = []
    sio.on("connect", lambda sid, environ, auth=None: True)
    sio.on("*", lambda event, sid, *args: seen.append(event) or {"echo": event})
    packet_guard.install(sio, refuse=lambda code, message: {"refused": code})
    http = make_server("127.0.0.1", 0, socketio.WSGIApp(sio), threaded=True)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{http.server_port}"
    caplog.set_level(logging.WARNING)
    try:
        conn = Raw(url, "t", "t")
        conn.send('421["connect",{}]', '422[["x"]]', '423["ping",{}]')
        assert conn.ack(1) == {"refused": "UNKNOWN_EVENT"}
        assert conn.ack(2) == {"refused": "UNKNOWN_EVENT"}
        assert conn.ack(3) == {"echo": "ping"}
        conn.send("42[invalid")
        assert conn.closed_cleanly(), conn.texts
        conn.close()
        other = Raw(url, "t", "t")
        other.send("x")
        assert other.closed_cleanly(), other.texts
        other.close()
    finally:
        http.shutdown()
        thread.join(5)
    assert seen == ["ping"]
    assert not [r for r in caplog.records if r.exc_info], caplog.text
    guard_lines = [r for r in caplog.records if r.name == "callcenter.server.socketio.packet_guard"]
    assert len(guard_lines) == 4, caplog.text
