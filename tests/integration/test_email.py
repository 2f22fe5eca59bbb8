"""The stock `email` plugin through a real server and a real SMTP server (aiosmtpd).

One server for the module, with a queue per alert: a customer who hangs up while waiting, an
agent who does not answer an offer within ring_timeout, and a call that waits past wait_alert each
produce one mail to the configured supervisor, with a subject saying what happened.
"""

from __future__ import annotations

import asyncio
import re
import socket
import threading
import time
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from contact_center_helpers import Desk, agent, enqueue, queue, serve, until_agent

pytestmark = pytest.mark.timeout(30)

SUPERVISOR = "supervisor@shop.example"
SENDER = "Call center <callcenter@shop.example>"
QUEUES = [
    queue("ab"),
    queue("rna", ring_timeout=1, max_no_answer=1),
    queue("lw", wait_alert=1),
]
AGENTS = [agent("em1", ["rna"])]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def subject(mail: EmailMessage) -> str:
    # A subject longer than a line is folded before its first word, which Python's parser keeps
    # as a leading space; mail clients drop it.
    return str(mail["Subject"]).strip()


class MailDrop:
    """An aiosmtpd handler keeping every mail it is given."""

    def __init__(self) -> None:
        self.mails: list[tuple[str, list[str], EmailMessage]] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.mails.append((envelope.mail_from, list(envelope.rcpt_tos),
                               message_from_bytes(envelope.content, policy=policy.default)))
        return "250 OK"

    def about(self, call_id: str, event: str) -> list[tuple[str, list[str], EmailMessage]]:
        """The mails of one event of one call."""
        with self.lock:
            return [(sender, rcpt, mail) for sender, rcpt, mail in self.mails
                    if mail["X-Callcenter-Event"] == event
                    and f"call: {call_id}" in mail.get_content()]

    async def one(self, call_id: str, event: str, timeout: float = 6) -> EmailMessage:
        """The mail of this event of this call; fails unless exactly one comes, to SUPERVISOR."""
        deadline = time.monotonic() + timeout
        while not self.about(call_id, event):
            if time.monotonic() > deadline:
                with self.lock:
                    subjects = [subject(m) for _, _, m in self.mails]
                raise TimeoutError(f"no {event} mail for {call_id}; got {subjects}")
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.6)  # three delivery rounds: time for a duplicate to show up
        [(sender, rcpt, mail)] = self.about(call_id, event)
        assert (sender, rcpt) == ("callcenter@shop.example", [SUPERVISOR])
        assert (mail["From"], mail["To"]) == (SENDER, SUPERVISOR)
        assert re.fullmatch(r"<[0-9a-f]{32}@shop\.example>", mail["Message-ID"])
        return mail


@pytest.fixture(scope="module")
def mail_drop() -> Iterator[tuple[MailDrop, int]]:
    """A real SMTP server on a local port for the module, and where its mails land."""
    drop, port = MailDrop(), free_port()
    controller = Controller(drop, hostname="127.0.0.1", port=port)
    controller.start()
    yield drop, port
    controller.stop()


@pytest.fixture(scope="module")
def srv(request, tmp_path_factory, mail_drop):
    settings = {"email": {"smtp_port": mail_drop[1], "sender": SENDER, "to": [SUPERVISOR],
                          "backoff_base": 0.1, "backoff_max": 0.5}}
    yield from serve(request, tmp_path_factory.mktemp("email"), queues=QUEUES, agents=AGENTS,
                     enable=["email"], settings=settings)


@pytest.fixture
def mails(mail_drop) -> MailDrop:
    return mail_drop[0]


@pytest.fixture
async def desk(srv):
    async with Desk(srv) as desk:
        yield desk


async def test_customer_who_hangs_up_while_waiting_sends_an_abandoned_mail(desk, mails):
    customer, call_id, _ = await enqueue(desk, "ab")
    await asyncio.sleep(1.1)
    await customer.hangup(call_id)
    mail = await mails.one(call_id, "queue.abandoned")
    assert re.fullmatch(r"\[callcenter demo\] Call abandoned in queue ab after [12] s",
                        subject(mail)), subject(mail)
    text = mail.get_content()
    assert f"user: {customer.user_id}" in text.splitlines()
    assert "queue: ab" in text.splitlines()


async def test_agent_who_lets_an_offer_ring_out_sends_a_ring_no_answer_mail(desk, mails):
    em1 = await desk.agent("em1")
    customer, call_id, _ = await enqueue(desk, "rna")
    await em1.next_event("offer", callId=call_id)
    await until_agent(em1, status="break", timeout=4)  # rang out: max_no_answer is 1
    mail = await mails.one(call_id, "queue.ring_no_answer")
    assert subject(mail) == ("[callcenter demo] Agent em1 did not answer a call from queue rna "
                               "(rang 1 s)")
    await customer.hangup(call_id)
    await mails.one(call_id, "queue.abandoned")  # then the customer gave up


async def test_call_waiting_past_wait_alert_sends_a_long_wait_mail(desk, mails):
    customer, call_id, _ = await enqueue(desk, "lw")
    mail = await mails.one(call_id, "queue.long_wait", timeout=8)
    assert re.fullmatch(r"\[callcenter demo\] Call waiting [12] s in queue lw \(position 1\)",
                        subject(mail)), subject(mail)
    assert "threshold: 1" in mail.get_content().splitlines()
    await customer.hangup(call_id)
