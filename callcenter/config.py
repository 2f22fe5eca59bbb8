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

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

APP_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
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

    @model_validator(mode="after")
    def _timeouts(self) -> SignalingSettings:
        if self.default_timeout > self.max_timeout:
            raise ValueError("default_timeout is larger than max_timeout")
        return self


class App(_Strict):
    id: str
    name: str = ""
    secret: str
    token_ttl: Annotated[int, Field(ge=10)] = 3600

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


class Config(_Strict):
    server: ServerSettings = ServerSettings()
    signaling: SignalingSettings = SignalingSettings()
    apps: list[App]
    plugins: PluginSettings = PluginSettings()
    # Where the file was read from: plugin paths are relative to it.
    base_dir: Path = Path(".")

    @model_validator(mode="after")
    def _checks(self) -> Config:
        ids = [app.id for app in self.apps]
        if not ids:
            raise ValueError("at least one [[apps]] entry is required")
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"duplicate app ids: {', '.join(duplicates)}")
        if self.server.demo_app is not None and self.server.demo_app not in ids:
            raise ValueError(f"server.demo_app names no app: {self.server.demo_app!r}")
        return self

    def app(self, app_id: str) -> App | None:
        for app in self.apps:
            if app.id == app_id:
                return app
        return None

    def plugin_settings(self, name: str) -> dict[str, Any]:
        return dict(self.plugins.settings.get(name, {}))


def _resolve_env(value: Any, path: str, missing: list[str]) -> Any:
    """Replace every ``{env = "NAME"}`` table by the variable's value."""
    if isinstance(value, dict):
        if set(value) == {"env"} and isinstance(value["env"], str):
            name = value["env"]
            if name not in os.environ:
                missing.append(f"{path}: environment variable {name} is not set")
                return None
            return os.environ[name]
        return {k: _resolve_env(v, f"{path}.{k}" if path else k, missing) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve_env(v, f"{path}[{i}]", missing) for i, v in enumerate(value)]
    return value


def _key_path(loc: tuple[Any, ...]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


def parse(data: dict[str, Any], base_dir: Path = Path(".")) -> Config:
    """Validate a parsed TOML document; raise ConfigError naming the first bad key path."""
    missing: list[str] = []
    resolved = _resolve_env(data, "", missing)
    if missing:
        raise ConfigError(missing[0])
    try:
        return Config.model_validate({**resolved, "base_dir": base_dir})
    except ValidationError as exc:
        err = exc.errors()[0]
        where = _key_path(err["loc"]) or "(top level)"
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            message = "unknown key"
        raise ConfigError(f"{where}: {message}") from None


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
