"""The webhook and email plugins without a server: settings errors name their key, signatures
verify as docs/plugins.md tells receivers to check them, retries back off, alerts read well, and
an email alert the mail server refuses at first is retried through a real outbox and SMTP server.
"""

from __future__ import annotations

import email
import hashlib
import hmac
import json
import time
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from callcenter_plugins import email_alerts, webhook

from callcenter.config import Config, parse
from callcenter.domain.events import CallEvent, EventName
from callcenter.history.db.database import Database
from callcenter.history.outbox import Outbox, RetryPolicy, event_payload
from callcenter.history.records import History
from callcenter.hooks.services import Services

SECRET = "whsec-0123456789abcdef"


def config() -> Config:
    return parse({"apps": [{"id": "demo", "secret": "s" * 40}, {"id": "other",
                                                                "secret": "t" * 40}]})


def endpoint(**keys: Any) -> dict[str, Any]:
    return {"name": "crm", "url": "https://crm.example/hooks", "secret": SECRET,
            "events": ["queue.*"], **keys}


def webhook_error(settings: dict[str, Any]) -> str:
    with pytest.raises(ValueError) as err:
        webhook.parse_settings(settings, config())
    return str(err.value)


def email_error(settings: dict[str, Any]) -> str:
    with pytest.raises(ValueError) as err:
        email_alerts.parse_settings(settings, config())
    return str(err.value)


# -- webhook settings ---------------------------------------------------------------------------


def test_webhook_settings_get_their_defaults():
    settings = webhook.parse_settings({"endpoints": [endpoint()]}, config())
    assert (settings.max_attempts, settings.backoff_base, settings.backoff_max,
            settings.timeout) == (12, 1.0, 300.0, 5.0)
    assert settings.endpoints[0].channel == "webhook:crm"
    assert settings.endpoints[0].apps is None


@pytest.mark.parametrize(("settings", "expected"), [
    ({}, "plugins.settings.webhook.endpoints: Field required"),
    ({"endpoints": []}, "plugins.settings.webhook.endpoints: List should have at least 1 item"),
    ({"endpoints": [endpoint(url="ftp://crm.example/")]},
     "plugins.settings.webhook.endpoints[0].url: not an http:// or https:// URL"),
    ({"endpoints": [endpoint(), endpoint(name="b", url="crm.example")]},
     "plugins.settings.webhook.endpoints[1].url: not an http:// or https:// URL"),
    ({"endpoints": [endpoint(events=["queue.abandonned"])]},
     "plugins.settings.webhook.endpoints[0].events: 'queue.abandonned' matches no event"),
    ({"endpoints": [endpoint(secret="short")]},
     "plugins.settings.webhook.endpoints[0].secret: String should have at least 16 characters"),
    ({"endpoints": [endpoint(), endpoint()]},
     "plugins.settings.webhook: endpoint names must be unique: crm"),
    ({"endpoints": [endpoint(apps=["demo", "shop"])]},
     "plugins.settings.webhook.endpoints[0].apps[1]: no app named 'shop'"),
    ({"endpoints": [endpoint()], "retries": 3}, "plugins.settings.webhook.retries: unknown key"),
    ({"endpoints": [endpoint()], "backoff_base": 0},
     "plugins.settings.webhook.backoff_base: Input should be greater than 0"),
])
def test_bad_webhook_settings_name_their_key(settings, expected):
    assert webhook_error(settings).startswith(expected)


# -- signatures and retries ---------------------------------------------------------------------


def receiver_accepts(secret: str, headers: dict[str, str], body: bytes,
                     now: float, tolerance: float = 300) -> bool:
    """What a receiver does (docs/plugins.md): recompute the HMAC over "<timestamp>.<body>",
    compare in constant time, refuse stale timestamps."""
    timestamp = headers["Webhook-Timestamp"]
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body,
                        hashlib.sha256).hexdigest()
    signatures = [s.removeprefix("v1=") for s in headers["Webhook-Signature"].split()]
    fresh = abs(now - int(timestamp)) <= tolerance
    return fresh and any(hmac.compare_digest(expected, s) for s in signatures)


def test_signature_verifies_only_for_the_same_secret_timestamp_and_body():
    body = b'{"id":"abc","event":"queue.joined"}'
    now = int(time.time())
    headers = {"Webhook-Timestamp": str(now), "Webhook-Signature": webhook.sign(SECRET, now, body)}
    assert headers["Webhook-Signature"].startswith("v1=")
    assert receiver_accepts(SECRET, headers, body, now)
    assert not receiver_accepts("another-secret-0123456", headers, body, now)
    assert not receiver_accepts(SECRET, headers, body.replace(b"joined", b"answered"), now)
    replayed = dict(headers, **{"Webhook-Timestamp": str(now + 1)})
    assert not receiver_accepts(SECRET, replayed, body, now)
    assert not receiver_accepts(SECRET, headers, body, now + 3600)  # too old


def test_retries_double_from_the_base_up_to_the_cap_with_jitter():
    policy = RetryPolicy(backoff_base=2, backoff_max=30, max_attempts=5)
    for attempts, nominal in [(1, 2), (2, 4), (3, 8), (4, 16), (5, 30), (20, 30)]:
        delays = [policy.retry_in(attempts) for _ in range(200)]
        assert all(0.8 * nominal <= d <= 1.2 * nominal for d in delays), (attempts, nominal)
        assert max(delays) - min(delays) > 0.1 * nominal  # jittered, not all the same
    assert not policy.gives_up(4) and policy.gives_up(5)


def test_event_payload_is_json_whatever_the_event_data_holds():
    event = CallEvent(EventName.QUEUE_JOINED, "demo", "c1", "ann", 1700000000.5,
                      {"queue": "sales", "legs": ("a", "b"), "reason": EventName.ENDED})
    body = event_payload("k1", event)
    assert body == {"id": "k1", "event": "queue.joined", "app": "demo", "call": "c1",
                    "user": "ann", "at": 1700000000.5,
                    "data": {"queue": "sales", "legs": ["a", "b"], "reason": "call.ended"}}
    assert json.loads(json.dumps(body)) == body


# -- email settings and messages ----------------------------------------------------------------


def email_settings(**keys: Any) -> dict[str, Any]:
    return {"sender": "Call center <cc@shop.example>", "to": ["boss@shop.example"], **keys}


def test_email_settings_get_their_defaults():
    settings = email_alerts.parse_settings(email_settings(), config())
    assert (settings.smtp_host, settings.smtp_port, settings.starttls) == ("127.0.0.1", 25, False)
    assert settings.events == ["queue.abandoned", "queue.ring_no_answer", "queue.long_wait"]
    assert settings.max_attempts == 12


@pytest.mark.parametrize(("settings", "expected"), [
    ({"to": ["a@b.example"]}, "plugins.settings.email.sender: Field required"),
    (email_settings(to=[]), "plugins.settings.email.to: List should have at least 1 item"),
    (email_settings(to=["a@b.example", "nobody"]),
     "plugins.settings.email.to: Value error, not an email address: 'nobody'"),
    (email_settings(events=["queue.abandoned", "queue.joined"]),
     "plugins.settings.email.events[1]: Input should be 'queue.abandoned', "
     "'queue.ring_no_answer' or 'queue.long_wait'"),
    (email_settings(username="cc"), "plugins.settings.email: username and password go together"),
    (email_settings(apps=["shop"]), "plugins.settings.email.apps[0]: no app named 'shop'"),
    (email_settings(smtp_port=0), "plugins.settings.email.smtp_port: "),
])
def test_bad_email_settings_name_their_key(settings, expected):
    assert email_error(settings).replace("Value error, ", "").startswith(
        expected.replace("Value error, ", ""))


def alert(name: EventName, user: str, **data: Any) -> dict[str, Any]:
    return event_payload("0123abcd", CallEvent(name, "demo", "call-7", user, 1700000000.0,
                                                    data))


def test_alert_mails_say_what_happened_in_the_subject():
    abandoned = alert(EventName.QUEUE_ABANDONED, "ann", queue="sales", wait=41.6, position=2,
                      original_position=3)
    missed = alert(EventName.QUEUE_RING_NO_ANSWER, "a1", queue="sales", ring=15.01)
    waiting = alert(EventName.QUEUE_LONG_WAIT, "bob", queue="sales", wait=60.2, position=4,
                    threshold=60)
    subjects = [email_alerts.message(a, "cc@shop.example", ["boss@shop.example"])["Subject"]
                for a in (abandoned, missed, waiting)]
    assert subjects == [
        "[callcenter demo] Call abandoned in queue sales after 42 s",
        "[callcenter demo] Agent a1 did not answer a call from queue sales (rang 15 s)",
        "[callcenter demo] Call waiting 60 s in queue sales (position 4)",
    ]


def test_alert_mail_carries_the_event_and_a_message_id_from_its_key():
    mail = email_alerts.message(alert(EventName.QUEUE_ABANDONED, "ann", queue="sales", wait=3),
                                "Call center <cc@shop.example>", ["a@shop.example", "b@x.example"])
    assert mail["Message-ID"] == "<0123abcd@shop.example>"
    assert mail["To"] == "a@shop.example, b@x.example"
    assert mail["X-Callcenter-Event"] == "queue.abandoned"
    text = mail.get_content()
    assert text.startswith("Call abandoned in queue sales after 3 s.\n")
    for line in ("app: demo", "call: call-7", "user: ann", "queue: sales", "wait: 3",
                 "at: 2023-11-14T22:13:20+00:00"):
        assert line in text.splitlines(), line


# -- an email alert through a real outbox and a real SMTP server --------------------------------


class FlakyMailServer:
    """An aiosmtpd handler that answers 451 (try again later) to the first `refuse` mails."""

    def __init__(self, refuse: int) -> None:
        self.refuse = refuse
        self.received: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refuse > 0:
            self.refuse -= 1
            return "451 Try again later"
        self.received.append(email.message_from_bytes(envelope.content))
        return "250 OK"


def test_email_alert_refused_at_first_is_retried_with_the_same_message_id(tmp_path: Path,
                                                                          unused_tcp_port: int):
    handler = FlakyMailServer(refuse=1)
    controller = Controller(handler, hostname="127.0.0.1", port=unused_tcp_port)
    controller.start()
    database = Database(f"sqlite:///{tmp_path}/outbox.db")
    database.migrate()
    outbox = Outbox(History(database, "main"))
    plugin = email_alerts.EmailAlerts()
    try:
        settings = email_settings(smtp_port=unused_tcp_port, backoff_base=0.01,
                                  backoff_max=0.01, max_attempts=3)
        plugin.callcenter_startup(config(), settings,
                                  Services(outbox, spawn=lambda *args: None, sleep=time.sleep))
        plugin.callcenter_call_event(CallEvent(EventName.QUEUE_ABANDONED, "demo", "c1", "ann",
                                               time.time(), {"queue": "sales", "wait": 5}))
        plugin.callcenter_call_event(CallEvent(EventName.QUEUE_JOINED, "demo", "c2", "bob",
                                               time.time(), {"queue": "sales"}))

        plugin.deliver_due()  # refused: recorded, to be retried
        [item] = outbox.items("email:")
        assert (item["attempts"], item["delivered_at"]) == (1, None)
        assert item["last_error"].startswith("SMTPDataError: (451")
        assert handler.received == []
        time.sleep(0.05)
        plugin.deliver_due()
        [item] = outbox.items("email:")
        assert item["attempts"] == 2 and item["delivered_at"] is not None
        [mail] = handler.received
        assert mail["Message-ID"] == f"<{item['key']}@shop.example>"
        assert mail["Subject"] == "[callcenter demo] Call abandoned in queue sales after 5 s"
        plugin.deliver_due()  # nothing left to send
        assert len(handler.received) == 1
    finally:
        plugin.callcenter_shutdown()
        controller.stop()
        database.dispose()
