"""The operator's configuration: a TOML file validated at start.

Every problem is reported with its key path (``apps[0].secret``) in one line, so a typo in a large
file is found at once. Secrets may be written inline or taken from the environment with
``{ env = "NAME" }``; the latter keeps them out of files that get committed.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

APP_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
DATABASE_URL = re.compile(r"^(?P<backend>\w+)(?:\+\w+)?://")
# A SQLite database in a file: sqlite:///relative/path or sqlite:////absolute/path.
SQLITE_FILE = re.compile(r"^sqlite(?:\+\w+)?:///(?P<path>(?!:memory:)[^?]+)")
MIN_SECRET_BYTES = 32  # HS256 keys shorter than the hash output weaken the signature


class ConfigError(Exception):
    """The configuration cannot be used; the message names the key path."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FromEnv(_Strict):
    """A value read from an environment variable when the config is loaded."""

    env: str


class IceServer(_Strict):
    urls: list[str] | str
    username: str | None = None
    credential: str | None = None


class TurnSettings(_Strict):
    """A TURN relay that takes coturn's REST credentials (``use-auth-secret``): every user gets
    a username and password of their own at login, valid for ``ttl`` seconds."""

    # e.g. ["turn:turn.example.com:3478?transport=udp", "turns:turn.example.com:5349?transport=tcp"]
    urls: list[str] = []
    # coturn's static-auth-secret; several while rotating: the first signs, coturn accepts any
    # of those it is given, so a new secret goes to coturn first, then to the front of this list.
    secrets: list[Annotated[str, Field(min_length=16)]] = []
    # Long enough for an agent's shift (credentials are renewed at every login and resume).
    ttl: Annotated[int, Field(ge=60, le=7 * 86400)] = 86400

    @model_validator(mode="after")
    def _complete(self) -> TurnSettings:
        if bool(self.urls) != bool(self.secrets):
            raise ValueError("urls and secrets go together: a TURN server needs both")
        bad = [u for u in self.urls if not u.startswith(("turn:", "turns:"))]
        if bad:
            raise ValueError(f"not a turn: or turns: URL: {bad[0]!r}")
        return self


class ServerSettings(_Strict):
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)] = 5000
    # eventlet caps simultaneous connections at 1024 unless told otherwise.
    max_connections: Annotated[int, Field(ge=16)] = 10000
    max_message_bytes: Annotated[int, Field(ge=1024, le=16 * 1024 * 1024)] = 64 * 1024
    rate_limit: str = "50/second"
    # The app whose users /demo may mint customer credentials for; unset in production.
    demo_app: str | None = None
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    # "json": one JSON object a line (for a log shipper), with app, user and call ids as fields.
    log_format: Literal["text", "json"] = "text"
    # Serve an example shop page embedding the widget on this port: a second origin, as a
    # business's website would be. Unset in production.
    shop_demo_port: Annotated[int, Field(ge=1, le=65535)] | None = None
    # Reverse proxies in front of the server whose X-Forwarded-For/-Proto/-Host are believed
    # (0: none, the headers are ignored); per-address rate limits then see the real client.
    trusted_proxies: Annotated[int, Field(ge=0, le=10)] = 0
    # Terminate TLS here (docs/deploy.md, "HTTPS"): the PEM certificate chain and its key. Both
    # or neither; relative paths are relative to the config file.
    tls_cert: Path | None = None
    tls_key: Path | None = None

    @model_validator(mode="after")
    def _tls_pair(self) -> ServerSettings:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("tls_cert and tls_key go together: give both, or neither")
        return self

    @field_validator("rate_limit")
    @classmethod
    def _parse_rate(cls, value: str) -> str:
        from limits import parse

        try:
            parse(value)
        except ValueError as exc:
            raise ValueError(f"not a rate like '50/second': {exc}") from None
        return value


class SignalingSettings(_Strict):
    group_max: Annotated[int, Field(ge=2, le=16)] = 4
    default_timeout: Annotated[int, Field(ge=0)] = 30
    max_timeout: Annotated[int, Field(ge=1, le=86400)] = 600
    ice_servers: list[IceServer] = []
    # "relay": browsers use only TURN relay candidates, so neither side of a call ever learns
    # the other's IP address (needs [turn]); "all": direct paths where they work.
    ice_transport_policy: Literal["all", "relay"] = "all"
    # Engine.IO's heartbeat: the server pings every client each ping_interval seconds and drops
    # one that has not answered ping_timeout seconds later. Socket.IO's defaults (25 + 20) left
    # the other side of a frozen browser in a dead call for 45 s; 5 + 5 notices it within 10 s
    # for one small packet per client every 5 s. A connection dropped on a longer network stall
    # is not lost: it resumes within resume_window. Browsers answer pings from the socket's
    # message handler, which background-tab timer throttling does not delay.
    ping_interval: Annotated[float, Field(ge=0.2, le=60)] = 5
    ping_timeout: Annotated[float, Field(ge=0.2, le=60)] = 5
    # Seconds a client whose connection dropped has to come back with its resume token: its call
    # waits (the others are told `reconnecting`) and it gets the events it missed. 0: off, a
    # dropped connection ends its calls at once. 30 s is Twilio's cap for the same.
    resume_window: Annotated[float, Field(ge=0, le=300)] = 30

    @model_validator(mode="after")
    def _timeouts(self) -> SignalingSettings:
        if self.default_timeout > self.max_timeout:
            raise ValueError("default_timeout is larger than max_timeout")
        return self


Name = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,32}$")]
# A sound the customer's browser plays in a loop: an http(s) URL, or a path on this server (the
# shipped default is web/music/hold.wav, served at /music/hold.wav). Another site's file needs
# CORS (Access-Control-Allow-Origin) for the widget's page to play it.
MusicUrl = Annotated[str, Field(pattern=r"^(https?://|/)[^\s\"'<>]{1,500}$")]
DEFAULT_HOLD_MUSIC = "/music/hold.wav"
Level = Annotated[int, Field(ge=1, le=100)]


class QueueSettings(_Strict):
    name: Name
    strategy: str = "longest-idle"
    queueing: str = "fifo"
    ring_timeout: Annotated[int, Field(ge=1, le=600)] = 15
    wrap_up: Annotated[int, Field(ge=0, le=3600)] = 10
    max_wait: Annotated[int, Field(ge=1, le=86400)] = 600
    max_length: Annotated[int, Field(ge=1, le=100000)] = 100
    when_empty: Literal["join", "refuse"] = "refuse"
    overflow: Name | None = None
    required_skills: dict[str, Level] = {}
    max_no_answer: Annotated[int, Field(ge=1)] = 3
    reject_delay: Annotated[int, Field(ge=0, le=3600)] = 10
    # A call waiting this many seconds raises a `queue.long_wait` event (email alerts); unset: no.
    wait_alert: Annotated[int, Field(ge=1, le=86400)] | None = None
    # What its customers hear on hold (a URL; unset: the app's `hold_music`).
    hold_music: MusicUrl | None = None
    # Where a blind transfer to an agent goes when that agent refuses it or lets it ring out:
    # back to the agent who transferred it ("agent"), or into this queue's line ("queue").
    transfer_fallback: Literal["agent", "queue"] = "agent"
    # Callbacks (callbacks.py): the widget offers one once the estimated wait reaches this many
    # seconds (unset: never, and a callback request is refused). The customer is rung for
    # callback_ring_timeout seconds; one not reached is tried again callback_retry_delay seconds
    # later, callback_attempts times in all, and the call then ends `unreachable`.
    callback_after: Annotated[int, Field(ge=0, le=86400)] | None = None
    callback_ring_timeout: Annotated[int, Field(ge=1, le=600)] = 30
    callback_retry_delay: Annotated[int, Field(ge=0, le=86400)] = 120
    callback_attempts: Annotated[int, Field(ge=1, le=10)] = 3


class AgentSettings(_Strict):
    id: Name
    name: str = ""
    password_hash: str
    queues: list[Name] = []
    skills: dict[str, Level] = {}


class SupervisorSettings(_Strict):
    id: Name
    name: str = ""
    password_hash: str
    # May change the app's administered settings (agents, supervisors, queues, dispositions,
    # break reasons) over the admin API and the console's Admin section.
    admin: bool = False


class Reason(_Strict):
    """A code agents choose in the console, with its label: a disposition (the outcome of a
    call, at wrap-up) or a break reason."""

    code: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,32}$")]
    label: Annotated[str, Field(min_length=1, max_length=64)]


def _reasons(*pairs: tuple[str, str]) -> list[Reason]:
    return [Reason(code=code, label=label) for code, label in pairs]


# What the console offered before these were settings, so that an app that names none keeps it.
DEFAULT_DISPOSITIONS = _reasons(
    ("resolved", "Resolved"), ("follow_up", "Follow-up needed"), ("escalated", "Escalated"),
    ("sale", "Sale"), ("no_sale", "No sale"), ("wrong_queue", "Wrong queue"),
    ("dropped", "Call dropped"))
DEFAULT_BREAK_REASONS = _reasons(
    ("break", "Break"), ("lunch", "Lunch"), ("meeting", "Meeting"), ("training", "Training"),
    ("coaching", "Coaching"), ("admin", "Admin work"))

# The parts of an app that are administered while the server runs (docs/config.md): the TOML
# seeds them into a fresh database, which holds them from then on.
ADMINISTERED = ("queues", "agents", "supervisors", "dispositions", "break_reasons")


class App(_Strict):
    id: str
    name: str = ""
    secret: str
    token_ttl: Annotated[int, Field(ge=10)] = 3600
    allowed_origins: list[str] = []
    # Whether customers may `invite` users directly (1:1 and group calls, as on /demo). Off: they
    # reach agents only through queues.
    customer_direct_calls: bool = False
    customer_token_ttl: Annotated[int, Field(ge=10)] = 900
    agent_token_ttl: Annotated[int, Field(ge=10)] = 43200
    queues: list[QueueSettings] = []
    agents: list[AgentSettings] = []
    supervisors: list[SupervisorSettings] = []
    dispositions: list[Reason] = DEFAULT_DISPOSITIONS
    break_reasons: list[Reason] = DEFAULT_BREAK_REASONS
    # What customers hear on hold, unless their queue says otherwise.
    hold_music: MusicUrl = DEFAULT_HOLD_MUSIC
    # Tencent's SDKAppID, for pages written for trtc-calling-js: they log in with it as the app
    # id, and a customer's Tencent UserSig, signed with this app's secret, is accepted.
    sdk_app_id: Annotated[int, Field(ge=1, le=4294967295)] | None = None
    # Whether the agent's console shows that a supervisor listens, whispers or barges in. Off
    # only where local law allows monitoring unannounced: the agent's SDK is told regardless
    # (it carries the media), and every session is in the event log.
    monitoring_shown: bool = True

    @model_validator(mode="after")
    def _references(self) -> App:
        names = [q.name for q in self.queues]
        for i, queue in enumerate(self.queues):
            if names.count(queue.name) > 1:
                raise ValueError(f"queues[{i}].name: duplicate queue {queue.name!r}")
            if queue.overflow is not None and (queue.overflow not in names
                                               or queue.overflow == queue.name):
                raise ValueError(f"queues[{i}].overflow: no other queue named {queue.overflow!r}")
        ids = [a.id for a in self.agents]
        for i, agent in enumerate(self.agents):
            if ids.count(agent.id) > 1:
                raise ValueError(f"agents[{i}].id: duplicate agent {agent.id!r}")
            for queue in agent.queues:
                if queue not in names:
                    raise ValueError(f"agents[{i}].queues: no queue named {queue!r}")
        self._people_and_codes(ids)
        return self

    def _people_and_codes(self, agent_ids: list[str]) -> None:
        supervisor_ids = [s.id for s in self.supervisors]
        for i, supervisor in enumerate(self.supervisors):
            if supervisor.id in agent_ids:
                raise ValueError(f"supervisors[{i}].id: {supervisor.id!r} is an agent's id")
            if supervisor_ids.count(supervisor.id) > 1:
                raise ValueError(f"supervisors[{i}].id: duplicate supervisor {supervisor.id!r}")
        for key in ("dispositions", "break_reasons"):
            codes = [r.code for r in getattr(self, key)]
            for i, code in enumerate(codes):
                if codes.count(code) > 1:
                    raise ValueError(f"{key}[{i}].code: duplicate code {code!r}")

    def administered(self) -> dict[str, Any]:
        """The administered settings as plain data (what the database keeps of the app)."""
        return self.model_dump(mode="json", include=set(ADMINISTERED))

    def with_administered(self, settings: dict[str, Any]) -> App:
        """This app with ``settings`` (some of ``ADMINISTERED``) in place of its own, checked
        as the config is: raises pydantic's ValidationError."""
        return App.model_validate({**self.model_dump(), **settings})

    def queue(self, name: str) -> QueueSettings | None:
        return next((q for q in self.queues if q.name == name), None)

    def hold_music_of(self, queue: str | None) -> str:
        """What a customer of ``queue`` (None: a direct call) hears on hold."""
        settings = self.queue(queue) if queue else None
        return (settings.hold_music if settings else None) or self.hold_music

    def agent(self, agent_id: str) -> AgentSettings | None:
        return next((a for a in self.agents if a.id == agent_id), None)

    def supervisor(self, supervisor_id: str) -> SupervisorSettings | None:
        return next((s for s in self.supervisors if s.id == supervisor_id), None)

    @field_validator("id")
    @classmethod
    def _app_id(cls, value: str) -> str:
        if not APP_ID.match(value):
            raise ValueError("must match [A-Za-z0-9_-], 1 to 32 characters")
        return value

    @field_validator("secret")
    @classmethod
    def _secret(cls, value: str) -> str:
        if len(value.encode()) < MIN_SECRET_BYTES:
            raise ValueError(f"must be at least {MIN_SECRET_BYTES} bytes")
        return value


class PluginSettings(_Strict):
    enable: list[str] = []
    # Built-in defaults to switch off, by name (pytest's "-p no:name").
    disable: list[str] = []
    # Folders searched for plugin files named in `enable` (relative to the config file).
    paths: list[str] = []
    settings: dict[str, dict[str, Any]] = {}


class ContactCenterSettings(_Strict):
    agent_grace: Annotated[int, Field(ge=0, le=3600)] = 10
    customer_credential_rate: str = "10/minute"
    agent_login_rate: str = "10/minute"
    enqueue_rate: str = "5/minute"

    @field_validator("customer_credential_rate", "agent_login_rate", "enqueue_rate")
    @classmethod
    def _parse_rate(cls, value: str) -> str:
        return ServerSettings._parse_rate(value)


class RecordingSettings(_Strict):
    # Where workers write and the core serves recordings, relative to the config file.
    dir: str = "recordings"
    # Workers `callcenter serve` starts as child processes (0: they run on their own).
    workers: Annotated[int, Field(ge=0, le=64)] = 1
    # 150 calls take about 55 % of a worker's core (docs/benchmarks.md, "Recording")
    worker_capacity: Annotated[int, Field(ge=1, le=10000)] = 150
    # Recordings older than this many days are deleted (0: kept forever).
    retention_days: Annotated[int, Field(ge=0)] = 90
    # Signs the credentials of media workers shared by every app (app id "*"). A worker with an
    # app's service credential records only that app's calls. Unset: only the child workers
    # `serve` starts are shared (with a secret made at start that never leaves the process).
    shared_worker_secret: str | None = None

    @field_validator("shared_worker_secret")
    @classmethod
    def _secret(cls, value: str | None) -> str | None:
        return value if value is None else App._secret(value)


class DatabaseSettings(_Strict):
    # SQLAlchemy URL: a SQLite file (relative to the config file) or postgresql://user:pw@host/db
    url: str = "sqlite:///var/callcenter.history.db"
    # This server's name in the calls it writes: at start it closes its own calls left open by a
    # crash, and only those. Give each server sharing one database its own name.
    node: Name = "main"
    # Seconds the server gathers history changes before writing them in one transaction: longer
    # costs less CPU per call; a crash loses at most this much of the event log (the calls
    # themselves are closed at restart either way).
    write_interval: Annotated[float, Field(ge=0.0, le=10.0)] = 0.5

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        # SQLAlchemy's URL form, `backend[+driver]://...`, read here without SQLAlchemy: the
        # settings are imported by the domain, which must not pull the database in with them.
        match = DATABASE_URL.match(value)
        if match is None:
            raise ValueError("not a database URL like sqlite:///var/callcenter.history.db")
        if match.group("backend") not in ("sqlite", "postgresql"):
            raise ValueError("only sqlite and postgresql databases are supported")
        return value


class StoreSettings(_Strict):
    # Where live state (sessions, lines, calls, missed calls) is kept: `memory://`, this
    # process's memory, or a Redis database, `redis://[:password@]host:port/db` (`rediss://`
    # with TLS).
    url: str = "memory://"
    # Where a graceful stop (SIGTERM, SIGINT) of a server on the embedded memory store, with
    # resuming on, writes the live state (calls, queues, agents, timers, sessions) for the next
    # start within `[signaling] resume_window` to take back (docs/deploy.md). Relative to the
    # config file's folder; unset: beside the SQLite database, named after it
    # (var/callcenter.history.snapshot.json), or var/callcenter.snapshot.json with PostgreSQL;
    # "" writes none (a stop then ends every call, as a crash would).
    snapshot: str | None = None

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        # Checked here without redis-py: the settings are imported by the domain.
        if value == "memory://":
            return value
        example = "memory:// or redis://127.0.0.1:6379/0"
        try:
            parts = urlsplit(value)
            port = parts.port
        except ValueError as exc:
            raise ValueError(f"not a store URL like {example}: {exc}") from None
        if parts.scheme not in ("redis", "rediss"):
            raise ValueError(f"not a store URL like {example}: the scheme must be memory, "
                             "redis or rediss")
        if not parts.hostname:
            raise ValueError(f"not a store URL like {example}: no host")
        if port == 0:
            raise ValueError(f"not a store URL like {example}: port 0")
        db = parts.path.lstrip("/")
        if db and not db.isdigit():
            raise ValueError(f"not a store URL like {example}: the database is a number, "
                             f"not {db!r}")
        if parts.query or parts.fragment:
            raise ValueError(f"not a store URL like {example}: no query or fragment")
        return value


class StatisticsSettings(_Strict):
    # Service level X/Y: the share of calls answered within this many seconds (Y).
    service_level_seconds: Annotated[int, Field(ge=1, le=3600)] = 20
    # Callers who hang up within this many seconds are short abandons, counted apart.
    short_abandon_seconds: Annotated[int, Field(ge=0, le=600)] = 5


class MetricsSettings(_Strict):
    # Prometheus /metrics; with a token, scrapers must send `Authorization: Bearer <token>`.
    enabled: bool = True
    token: str | None = None


class Config(_Strict):
    server: ServerSettings = ServerSettings()
    database: DatabaseSettings = DatabaseSettings()
    store: StoreSettings = StoreSettings()
    statistics: StatisticsSettings = StatisticsSettings()
    metrics: MetricsSettings = MetricsSettings()
    recording: RecordingSettings = RecordingSettings()
    signaling: SignalingSettings = SignalingSettings()
    contact_center: ContactCenterSettings = ContactCenterSettings()
    turn: TurnSettings = TurnSettings()
    apps: list[App]
    # A second file of [[agents]] tables (with an `app` key), written by `callcenter agents add`.
    agents_file: str | None = None
    # A file of NAME=value lines (relative to the config file) that `{ env = "NAME" }` values are
    # also looked up in, after the environment: a shell that did not source it still works.
    env_file: str | None = None
    plugins: PluginSettings = PluginSettings()
    # Where the file was read from: plugin paths are relative to it.
    base_dir: Path = Path(".")

    @model_validator(mode="after")
    def _checks(self) -> Config:
        if self.signaling.ice_transport_policy == "relay" and not self.turn.urls:
            raise ValueError("signaling.ice_transport_policy = \"relay\" needs a [turn] server")
        ids = [app.id for app in self.apps]
        if not ids:
            raise ValueError("at least one [[apps]] entry is required")
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"duplicate app ids: {', '.join(duplicates)}")
        sdk_ids = [app.sdk_app_id for app in self.apps if app.sdk_app_id is not None]
        if len(sdk_ids) != len(set(sdk_ids)):
            raise ValueError("two apps name the same sdk_app_id")
        if self.server.demo_app is not None and self.server.demo_app not in ids:
            raise ValueError(f"server.demo_app names no app: {self.server.demo_app!r}")
        return self

    def app(self, app_id: str) -> App | None:
        for app in self.apps:
            if app.id == app_id:
                return app
        return None

    def app_for_login(self, app_id: str) -> App | None:
        """The app a client logs in to: by its id, or by its Tencent ``sdk_app_id`` (a page
        written for trtc-calling-js says its SDKAppID)."""
        app = self.app(app_id)
        if app is None and app_id.isdigit():
            app = next((a for a in self.apps if a.sdk_app_id == int(app_id)), None)
        return app

    def with_app(self, app: App) -> Config:
        """This config with ``app`` in place of the app of the same id (already validated)."""
        return self.model_copy(update={"apps": [app if a.id == app.id else a
                                                for a in self.apps]})

    @property
    def recordings_dir(self) -> Path:
        return (self.base_dir / self.recording.dir).resolve()

    @property
    def tls_files(self) -> tuple[Path, Path] | None:
        """The TLS certificate and key ``serve`` terminates TLS with; None for plain HTTP."""
        server = self.server
        if server.tls_cert is None or server.tls_key is None:
            return None
        return ((self.base_dir / server.tls_cert).resolve(),
                (self.base_dir / server.tls_key).resolve())

    @property
    def snapshot_path(self) -> Path | None:
        """The restart snapshot's file (``[store] snapshot``), None if there is to be none."""
        name = self.store.snapshot
        if name is None:
            sqlite = SQLITE_FILE.match(self.database.url)
            name = "var/callcenter.snapshot.json" if sqlite is None else \
                str(Path(sqlite.group("path")).with_suffix(".snapshot.json"))
        return (self.base_dir / name).resolve() if name else None

    def plugin_settings(self, name: str) -> dict[str, Any]:
        return dict(self.plugins.settings.get(name, {}))


def settings_error(prefix: str, exc: ValidationError) -> ValueError:
    """For plugins validating their settings with pydantic: the first problem of ``exc`` as one
    line naming its key, like the server's own config errors:
    ``plugins.settings.webhook.endpoints[0].url: not an http:// or https:// URL``."""
    return ValueError(_first_error(exc, prefix))


def _first_error(exc: ValidationError, prefix: str = "") -> str:
    """``key.path[0]: what is wrong`` for the first problem pydantic found."""
    error = exc.errors()[0]
    where = prefix
    for part in error["loc"]:
        if isinstance(part, int):
            where += f"[{part}]"
        else:
            where += f".{part}" if where else str(part)
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = "unknown key"
    return f"{where or '(top level)'}: {message}"


def check_app_filter(prefix: str, apps: list[str] | None, config: Config) -> None:
    """An app filter naming no configured app is a typo that would drop every event."""
    known = {app.id for app in config.apps}
    for i, app_id in enumerate(apps or []):
        if app_id not in known:
            raise ValueError(f"{prefix}.apps[{i}]: no app named {app_id!r}")


def _resolve_env(value: Any, path: str, missing: list[str], env: dict[str, str]) -> Any:
    """Replace every ``{env = "NAME"}`` table by the variable's value."""
    if isinstance(value, dict):
        if set(value) == {"env"} and isinstance(value["env"], str):
            name = value["env"]
            if name not in env:
                missing.append(f"{path}: environment variable {name} is not set")
                return None
            return env[name]
        return {k: _resolve_env(v, f"{path}.{k}" if path else k, missing, env)
                for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve_env(v, f"{path}[{i}]", missing, env) for i, v in enumerate(value)]
    return value


def _environment(data: dict[str, Any], base_dir: Path) -> tuple[dict[str, str], str]:
    """The variables ``{env = ...}`` values are read from: the process's, then ``env_file``'s;
    and what to add to a "not set" error so that it says where to look."""
    name = data.get("env_file")
    if not isinstance(name, str):
        return dict(os.environ), ""
    path = (base_dir / name).resolve()
    if not path.is_file():
        return dict(os.environ), f" (nor in env_file {path}, which does not exist)"
    from dotenv import dotenv_values

    values = {k: v for k, v in dotenv_values(path).items() if v is not None}
    return {**values, **os.environ}, f" (nor in env_file {path})"


def parse(data: dict[str, Any], base_dir: Path = Path(".")) -> Config:
    """Validate a parsed TOML document; raise ConfigError naming the first bad key path."""
    missing: list[str] = []
    env, where = _environment(data, base_dir)
    resolved = _resolve_env(data, "", missing, env)
    if missing:
        raise ConfigError(missing[0] + where)
    resolved = _merge_agents_file(resolved, base_dir)
    try:
        return Config.model_validate({**resolved, "base_dir": base_dir})
    except ValidationError as exc:
        raise ConfigError(_first_error(exc)) from None


def agents_file_path(data: dict[str, Any], base_dir: Path) -> Path | None:
    name = data.get("agents_file")
    return (base_dir / name) if isinstance(name, str) else None


def _merge_agents_file(data: dict[str, Any], base_dir: Path) -> dict[str, Any]:
    """Add the agents of ``agents_file`` to their apps' ``agents`` lists."""
    path = agents_file_path(data, base_dir)
    if path is None or not path.exists():
        return data
    try:
        extra = tomllib.loads(path.read_text()).get("agents", [])
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"agents_file: cannot read {path}: {exc}") from None
    apps = [dict(a) if isinstance(a, dict) else a for a in data.get("apps", [])]
    for i, agent in enumerate(extra):
        if not isinstance(agent, dict) or not isinstance(agent.get("app"), str):
            raise ConfigError(f"agents_file: agents[{i}]: needs an `app` key")
        agent = dict(agent)
        app_id = agent.pop("app")
        app = next((a for a in apps if isinstance(a, dict) and a.get("id") == app_id), None)
        if app is None:
            raise ConfigError(f"agents_file: agents[{i}].app: no app named {app_id!r}")
        app["agents"] = [*app.get("agents", []), agent]
    return {**data, "apps": apps}


def load(path: str | Path) -> Config:
    """Read and validate a TOML config file."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    return parse(data, path.resolve().parent)
