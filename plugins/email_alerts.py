"""email: tell supervisors by email when a queue call goes wrong, at least once.

Settings (``[plugins.settings.email]``):
    smtp_host, smtp_port -- the mail server (default 127.0.0.1:25)
    username, password   -- to log in to it (optional; use ``{ env = "NAME" }``)
    starttls             -- upgrade the connection with STARTTLS before logging in (default false)
    sender               -- the From address (required)
    to                   -- the addresses every alert goes to (required)
    events               -- which of ``queue.abandoned``, ``queue.ring_no_answer`` and
                            ``queue.long_wait`` (a queue's ``wait_alert``) send mail (default all)
    apps                 -- only these apps' events (optional)
    max_attempts, backoff_base, backoff_max, timeout -- retries, as for the webhook plugin

Each alert is stored in the server's outbox (``callcenter.history.outbox``) when the event happens
and sent by a delivery task of this plugin, so a mail server that is down or a restart loses
nothing.
The Message-ID is made from the alert's idempotency key: a mail sent twice (the server stopped
between sending and recording it) carries the same Message-ID both times.
"""

from __future__ import annotations

import email.utils
import logging
import smtplib
import ssl
import time
import uuid
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Annotated, Any, Literal, get_args

from pydantic import Field, ValidationError, field_validator, model_validator

from callcenter.plugin import (
    CallEvent,
    Config,
    EventName,
    Notification,
    Outbox,
    RetryPolicy,
    Services,
    check_app_filter,
    deliver_forever,
    describe_failure,
    event_payload,
    hookimpl,
    settings_error,
)

log = logging.getLogger("callcenter.plugins.email")

SETTINGS_KEY = "plugins.settings.email"
# One channel: every alert goes to the same mail server and recipients.
CHANNEL = "email:alerts"
AlertEvent = Literal["queue.abandoned", "queue.ring_no_answer", "queue.long_wait"]


def _address(value: str) -> str:
    _, address = email.utils.parseaddr(value)
    if "@" not in address:
        raise ValueError(f"not an email address: {value!r}")
    return value


class EmailSettings(RetryPolicy):
    smtp_host: str = "127.0.0.1"
    smtp_port: Annotated[int, Field(ge=1, le=65535)] = 25
    username: str | None = None
    password: Annotated[str | None, Field(repr=False)] = None
    starttls: bool = False
    sender: str
    to: Annotated[list[str], Field(min_length=1)]
    events: Annotated[list[AlertEvent], Field(min_length=1)] = list(get_args(AlertEvent))
    apps: list[str] | None = None
    # Mail servers are slower to answer than webhooks: greeting delays, DNS checks.
    timeout: Annotated[float, Field(gt=0, le=120)] = 10.0

    @field_validator("sender")
    @classmethod
    def _sender(cls, value: str) -> str:
        return _address(value)

    @field_validator("to")
    @classmethod
    def _recipients(cls, values: list[str]) -> list[str]:
        return [_address(value) for value in values]

    @model_validator(mode="after")
    def _login(self) -> EmailSettings:
        if (self.username is None) != (self.password is None):
            raise ValueError("username and password go together")
        return self


def parse_settings(settings: dict[str, Any], config: Config) -> EmailSettings:
    try:
        parsed = EmailSettings.model_validate(settings)
    except ValidationError as exc:
        raise settings_error(SETTINGS_KEY, exc) from None
    check_app_filter(SETTINGS_KEY, parsed.apps, config)
    return parsed


def _seconds(value: Any) -> str:
    return f"{round(float(value or 0))} s"


def headline(alert: dict[str, Any]) -> str:
    """One sentence saying what happened, for the subject and the body's first line."""
    data = alert.get("data") or {}
    queue = data.get("queue", "?")
    event = alert.get("event")
    if event == EventName.QUEUE_ABANDONED:
        return f"Call abandoned in queue {queue} after {_seconds(data.get('wait'))}"
    if event == EventName.QUEUE_RING_NO_ANSWER:
        return (f"Agent {alert.get('user')} did not answer a call from queue {queue} "
                f"(rang {_seconds(data.get('ring'))})")
    if event == EventName.QUEUE_LONG_WAIT:
        return (f"Call waiting {_seconds(data.get('wait'))} in queue {queue} "
                f"(position {data.get('position')})")
    return f"{event} in queue {queue}"


def message(alert: dict[str, Any], sender: str, to: list[str]) -> EmailMessage:
    """The plain-text mail of one alert (an ``event_payload`` dict)."""
    at = datetime.fromtimestamp(float(alert["at"]), UTC)
    lines = [headline(alert) + ".", "",
             f"event: {alert['event']}", f"app: {alert['app']}", f"call: {alert['call']}",
             f"user: {alert['user']}", f"at: {at.isoformat(timespec='seconds')}"]
    lines += [f"{key}: {value}" for key, value in sorted((alert.get("data") or {}).items())]
    mail = EmailMessage()
    mail["Subject"] = f"[callcenter {alert['app']}] {headline(alert)}"
    mail["From"] = sender
    mail["To"] = ", ".join(to)
    mail["Date"] = email.utils.formatdate(float(alert["at"]), usegmt=True)
    domain = email.utils.parseaddr(sender)[1].rpartition("@")[2] or "callcenter.invalid"
    mail["Message-ID"] = f"<{alert['id']}@{domain}>"
    mail["X-Callcenter-Event"] = str(alert["event"])
    mail.set_content("\n".join(lines) + "\n")
    return mail


class EmailAlerts:
    def __init__(self) -> None:
        self.settings: EmailSettings | None = None
        self.outbox: Outbox | None = None
        self.running = False
        # After a failure the later alerts wait behind the failed one until its retry, so a mail
        # server that is down is tried once per backoff, not once per alert.
        self.held_until = 0.0

    @hookimpl
    def callcenter_startup(self, config: Config, settings: dict[str, Any],
                           services: Services) -> None:
        self.settings = parse_settings(settings, config)
        self.outbox = services.outbox
        self.running = True
        services.spawn(deliver_forever, "email", self.deliver_due, lambda: self.running,
                       services.sleep)
        log.info("email: alerts (%s) to %s via %s:%d",
                 ", ".join(self.settings.events), ", ".join(self.settings.to),
                 self.settings.smtp_host, self.settings.smtp_port)

    @hookimpl
    def callcenter_call_event(self, event: CallEvent) -> None:
        settings = self.settings
        if settings is None or self.outbox is None or event.name.value not in settings.events:
            return
        if settings.apps is None or event.app_id in settings.apps:
            key = uuid.uuid4().hex
            self.outbox.add(CHANNEL, key, event.app_id, event_payload(key, event))

    @hookimpl
    def callcenter_shutdown(self) -> None:
        # A mail being sent is cut short by the exit and sent again after the restart.
        self.running = False

    # -- delivery ------------------------------------------------------------------------------

    def deliver_due(self) -> None:
        assert self.outbox is not None
        if self.held_until > time.monotonic():
            return
        for item in self.outbox.due(CHANNEL):
            if not self.running or not self.attempt(item):
                return

    def attempt(self, item: Notification) -> bool:
        """Send one alert and record the outcome; True if the mail server took it."""
        settings = self.settings
        assert settings is not None and self.outbox is not None
        try:
            refused = self.send(message(item.payload, settings.sender, settings.to))
        except smtplib.SMTPException as exc:  # the server answered no
            error = f"{type(exc).__name__}: {exc}"
        except OSError as exc:  # refused, unreachable, timed out
            error = describe_failure(exc)
        else:
            if refused:  # some recipients took it: sending again would duplicate their copy
                log.warning("email: %s refused alert %s: %s", ", ".join(refused), item.key,
                            refused)
            self.outbox.delivered(item)
            if self.held_until:
                log.info("email: the mail server takes alerts again")
                self.held_until = 0.0
            return True
        attempts = item.attempts + 1
        retry_in = settings.retry_in(attempts)
        if not self.held_until:  # once per outage, not once per attempt
            log.warning("email: sending an alert via %s:%d failed (%s); retrying with backoff",
                        settings.smtp_host, settings.smtp_port, error)
        self.held_until = time.monotonic() + retry_in
        if settings.gives_up(attempts):
            log.warning("email: gave up on alert %s (%s) after %d attempts: %s", item.key,
                        item.payload.get("event"), attempts, error)
            self.outbox.failed(item, error, None)
        else:
            self.outbox.failed(item, error, retry_in)
        return False

    def send(self, mail: EmailMessage) -> dict[str, Any]:
        """Hand one mail to the SMTP server; returns the recipients it refused (when it took the
        mail for at least one)."""
        settings = self.settings
        assert settings is not None
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port,
                          timeout=settings.timeout) as smtp:
            if settings.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if settings.username is not None and settings.password is not None:
                smtp.login(settings.username, settings.password)
            return smtp.send_message(mail, from_addr=settings.sender, to_addrs=settings.to)

