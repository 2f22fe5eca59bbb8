"""webhook: POST call events as signed JSON to the operator's HTTP endpoints, at least once.

Settings (``[plugins.settings.webhook]``):
    endpoints    -- one table per receiver: ``name``, ``url``, ``secret`` (signs the requests; use
                    ``{ env = "NAME" }``), ``events`` (patterns such as ``"queue.*"``) and ``apps``
                    (optional: only these apps' events)
    max_attempts -- attempts before a notification is given up (default 12)
    backoff_base -- seconds before the first retry, doubled at each further one (default 1)
    backoff_max  -- the longest wait between two attempts (default 300)
    timeout      -- seconds one request may take (default 5)

Each matching event becomes a notification in the server's outbox (``callcenter.history.outbox``),
so it survives a restart; a delivery task of this plugin posts what is due. Every request carries
``Webhook-Id`` (the idempotency key, the same on every attempt), ``Webhook-Timestamp`` and
``Webhook-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>``; docs/plugins.md shows
how a receiver checks them.
"""

from __future__ import annotations

import fnmatch
import hashlib
import hmac
import http.client
import json
import logging
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

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

log = logging.getLogger("callcenter.plugins.webhook")

SETTINGS_KEY = "plugins.settings.webhook"
CHANNEL_PREFIX = "webhook:"
SIGNATURE_VERSION = "v1"
BATCH = 50  # notifications read from the outbox at a time


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Endpoint(_Strict):
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,32}$")]
    url: str
    # Long enough that it cannot be guessed; receivers trust what it signs.
    secret: Annotated[str, Field(min_length=16, repr=False)]
    events: Annotated[list[str], Field(min_length=1)]
    apps: list[str] | None = None

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urllib.parse.urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("not an http:// or https:// URL")
        return value

    @field_validator("events")
    @classmethod
    def _known_events(cls, patterns: list[str]) -> list[str]:
        # A misspelt event name would otherwise subscribe to nothing, silently.
        for pattern in patterns:
            if not any(fnmatch.fnmatchcase(name.value, pattern) for name in EventName):
                raise ValueError(f"{pattern!r} matches no event (see docs/plugins.md)")
        return patterns

    @property
    def channel(self) -> str:
        return CHANNEL_PREFIX + self.name


class WebhookSettings(RetryPolicy):
    endpoints: Annotated[list[Endpoint], Field(min_length=1)]

    @model_validator(mode="after")
    def _distinct_names(self) -> WebhookSettings:
        names = [endpoint.name for endpoint in self.endpoints]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"endpoint names must be unique: {', '.join(duplicates)}")
        return self


def parse_settings(settings: dict[str, Any], config: Config) -> WebhookSettings:
    try:
        parsed = WebhookSettings.model_validate(settings)
    except ValidationError as exc:
        raise settings_error(SETTINGS_KEY, exc) from None
    for i, endpoint in enumerate(parsed.endpoints):
        check_app_filter(f"{SETTINGS_KEY}.endpoints[{i}]", endpoint.apps, config)
    return parsed


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The ``Webhook-Signature`` header value: the timestamp is signed with the body so that a
    captured request cannot be replayed later with a fresh timestamp."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"{SIGNATURE_VERSION}={digest.hexdigest()}"


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # A redirected POST would be resent as a GET without its body; a receiver that moved must be
    # given its new URL in the settings, so a 3xx counts as a failed attempt.
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class Webhooks:
    def __init__(self) -> None:
        self.settings: WebhookSettings | None = None
        # Event name -> the endpoints subscribed to it: the event names are known in advance,
        # so patterns are matched once at start and not for every event.
        self.subscribers: dict[str, list[Endpoint]] = {}
        self.outbox: Outbox | None = None
        self.running = False
        # Endpoint channel -> monotonic time before which it is left alone: after a failure the
        # endpoint's later notifications wait behind the failed one (delivery stays in order, and
        # a receiver that is down is probed once per backoff, not once per notification).
        self.held_until: dict[str, float] = {}
        self.opener = urllib.request.build_opener(_NoRedirects)

    @hookimpl
    def callcenter_startup(self, config: Config, settings: dict[str, Any],
                           services: Services) -> None:
        self.settings = parse_settings(settings, config)
        self.subscribers = {
            name.value: [e for e in self.settings.endpoints
                         if any(fnmatch.fnmatchcase(name.value, p) for p in e.events)]
            for name in EventName}
        self.outbox = services.outbox
        self.running = True
        services.spawn(deliver_forever, "webhook", self.deliver_due, lambda: self.running,
                       services.sleep)
        log.info("webhook: delivering to %s",
                 ", ".join(f"{e.name} ({e.url})" for e in self.settings.endpoints))

    @hookimpl
    def callcenter_call_event(self, event: CallEvent) -> None:
        endpoints = [e for e in self.subscribers.get(event.name.value, ())
                     if e.apps is None or event.app_id in e.apps]
        if self.outbox is None or not endpoints:
            return
        # One id per event: every endpoint is sent the same one, so receivers can tell that two
        # of them heard of the same event.
        key = uuid.uuid4().hex
        body = event_payload(key, event)
        for endpoint in endpoints:
            self.outbox.add(endpoint.channel, key, event.app_id, body)

    @hookimpl
    def callcenter_shutdown(self) -> None:
        # What is in flight is cut short by the exit and tried again after the restart.
        self.running = False

    # -- delivery ------------------------------------------------------------------------------

    def deliver_due(self) -> None:
        """One round: each endpoint's due notifications, oldest first, until one fails; a
        receiver that is down costs at most one timeout per round."""
        assert self.settings is not None
        for endpoint in self.settings.endpoints:
            if self.held_until.get(endpoint.channel, 0.0) <= time.monotonic():
                self.deliver_to(endpoint)

    def deliver_to(self, endpoint: Endpoint) -> None:
        assert self.outbox is not None
        while self.running:
            batch = self.outbox.due(endpoint.channel, BATCH)
            for item in batch:
                if not self.running or not self.attempt(endpoint, item):
                    return
            if len(batch) < BATCH:  # that was all; after a full batch more may be waiting
                return

    def attempt(self, endpoint: Endpoint, item: Notification) -> bool:
        """POST one notification and record the outcome; True if the receiver took it."""
        assert self.settings is not None and self.outbox is not None
        body = json.dumps(item.payload, separators=(",", ":")).encode()
        timestamp = int(time.time())
        request = urllib.request.Request(endpoint.url, data=body, method="POST", headers={
            "Content-Type": "application/json",
            "User-Agent": "callcenter-webhook/1",
            "Webhook-Id": item.key,
            "Idempotency-Key": item.key,
            "Webhook-Timestamp": str(timestamp),
            "Webhook-Signature": sign(endpoint.secret, timestamp, body),
        })
        try:
            # The status is all that counts; a body the receiver sends back is not read.
            with self.opener.open(request, timeout=self.settings.timeout):
                pass
        except urllib.error.HTTPError as exc:
            error = f"HTTP {exc.code} {exc.reason}"
            exc.close()  # it holds the connection
        except (OSError, http.client.HTTPException, ValueError) as exc:
            # refused, unreachable, timed out, or not speaking HTTP
            error = describe_failure(exc)
        else:
            self.outbox.delivered(item)
            if self.held_until.pop(endpoint.channel, None) is not None:
                log.info("webhook: %s takes deliveries again", endpoint.name)
            return True
        attempts = item.attempts + 1
        retry_in = self.settings.retry_in(attempts)
        if endpoint.channel not in self.held_until:  # once per outage, not once per attempt
            log.warning("webhook: delivery to %s failed (%s); retrying with backoff",
                        endpoint.name, error)
        self.held_until[endpoint.channel] = time.monotonic() + retry_in
        if self.settings.gives_up(attempts):
            log.warning("webhook: gave up on %s to %s (%s) after %d attempts: %s",
                        item.payload.get("event"), endpoint.name, item.key, attempts, error)
            self.outbox.failed(item, error, None)
        else:
            self.outbox.failed(item, error, retry_in)
        return False

