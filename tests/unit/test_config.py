"""Config validation: every problem is one line naming its key path."""

from __future__ import annotations

from pathlib import Path

import pytest

from callcenter.config import ConfigError, load, parse

SECRET = "s" * 40


def minimal(**extra) -> dict:
    return {"apps": [{"id": "demo", "secret": SECRET}], **extra}


def error_of(data: dict) -> str:
    with pytest.raises(ConfigError) as err:
        parse(data)
    return str(err.value)


def test_minimal_config_gets_defaults():
    config = parse(minimal())
    assert config.server.port == 5000
    assert config.signaling.group_max == 4
    assert config.app("demo").secret == SECRET
    assert config.app("nope") is None


def test_unknown_key_is_named_with_its_path():
    assert error_of(minimal(server={"prot": 1})) == "server.prot: unknown key"


def test_wrong_type_is_named_with_its_path():
    message = error_of(minimal(server={"port": "high"}))
    assert message.startswith("server.port: ")


def test_short_secret_is_refused():
    message = error_of({"apps": [{"id": "demo", "secret": "short"}]})
    assert message == "apps[0].secret: must be at least 32 bytes"


def test_secret_from_environment(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("CC_SECRET_FOR_TEST", SECRET)
    config = parse({"apps": [{"id": "demo", "secret": {"env": "CC_SECRET_FOR_TEST"}}]})
    assert config.apps[0].secret == SECRET


def test_missing_environment_secret_is_named(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("CC_MISSING_SECRET", raising=False)
    message = error_of({"apps": [{"id": "demo", "secret": {"env": "CC_MISSING_SECRET"}}]})
    assert message == "apps[0].secret: environment variable CC_MISSING_SECRET is not set"


def test_plugin_settings_resolve_environment_values(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("CC_HOOK_TOKEN", "t0k")
    config = parse(minimal(plugins={"settings": {"x": {"token": {"env": "CC_HOOK_TOKEN"}}}}))
    assert config.plugin_settings("x") == {"token": "t0k"}


@pytest.mark.parametrize(("data", "expected"), [
    ({"apps": []}, "at least one [[apps]] entry is required"),
    ({"apps": [{"id": "a", "secret": SECRET}, {"id": "a", "secret": SECRET}]}, "duplicate app ids"),
    ({"apps": [{"id": "bad id", "secret": SECRET}]}, "apps[0].id: must match"),
    (minimal(server={"demo_app": "ghost"}), "server.demo_app names no app"),
    (minimal(server={"rate_limit": "lots"}), "server.rate_limit: not a rate"),
    (minimal(signaling={"default_timeout": 900}), "default_timeout is larger than max_timeout"),
    (minimal(signaling={"group_max": 1}), "signaling.group_max: "),
    ({}, "apps: Field required"),
])
def test_invalid_configs_are_reported(data: dict, expected: str):
    assert expected in error_of(data)


def test_load_reports_toml_syntax_errors(tmp_path: Path):
    path = tmp_path / "bad.toml"
    path.write_text("[server\nport = 1")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load(path)


def test_load_reports_a_missing_file(tmp_path: Path):
    with pytest.raises(ConfigError, match="cannot read"):
        load(tmp_path / "absent.toml")


def test_shipped_config_is_valid(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("CALLCENTER_DEMO_SECRET", SECRET)
    config = load(Path(__file__).parents[2] / "config" / "callcenter.toml")
    assert config.app("demo") is not None
    assert config.server.demo_app == "demo"


def test_a_tls_certificate_without_its_key_is_a_config_error_naming_both():
    with pytest.raises(ConfigError, match="tls_cert and tls_key go together"):
        parse(minimal(server={"tls_cert": "server.pem"}))


def test_tls_files_are_found_beside_the_config_file(tmp_path):
    config = parse(minimal(server={"tls_cert": "tls/server.pem", "tls_key": "/etc/key.pem"}),
                   tmp_path)
    assert config.tls_files == ((tmp_path / "tls/server.pem").resolve(), Path("/etc/key.pem"))
    assert parse(minimal()).tls_files is None


@pytest.mark.parametrize(("turn", "signaling", "expected"), [
    ({"urls": ["turn:relay.example:3478"]}, {}, "urls and secrets go together"),
    ({"secrets": ["s" * 16]}, {}, "urls and secrets go together"),
    ({"urls": ["stun:relay.example:3478"], "secrets": ["s" * 16]}, {}, "not a turn: or turns:"),
    ({"urls": ["turn:relay.example:3478"], "secrets": ["short"]}, {}, "turn.secrets[0]"),
    ({}, {"ice_transport_policy": "relay"}, "needs a [turn] server"),
])
def test_an_incomplete_turn_relay_is_a_config_error(turn, signaling, expected):
    assert expected in error_of(minimal(turn=turn, signaling=signaling))


def test_secrets_are_found_in_the_env_file_when_the_shell_has_not_sourced_it(
        tmp_path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("CC_FILE_SECRET", raising=False)
    (tmp_path / "var").mkdir()
    (tmp_path / "var" / "secrets.env").write_text(
        f"# made by make run\nCC_FILE_SECRET={'f' * 40}\n")
    data = {"env_file": "var/secrets.env",
            "apps": [{"id": "demo", "secret": {"env": "CC_FILE_SECRET"}}]}
    assert parse(data, tmp_path).apps[0].secret == "f" * 40
    # The environment, when it has the variable, wins over the file.
    monkeypatch.setenv("CC_FILE_SECRET", "e" * 40)
    assert parse(data, tmp_path).apps[0].secret == "e" * 40


def test_a_secret_in_neither_place_says_where_it_was_looked_for(tmp_path, monkeypatch):
    monkeypatch.delenv("CC_FILE_SECRET", raising=False)
    data = {"env_file": "var/secrets.env",
            "apps": [{"id": "demo", "secret": {"env": "CC_FILE_SECRET"}}]}
    with pytest.raises(ConfigError) as err:
        parse(data, tmp_path)
    assert str(err.value) == (
        "apps[0].secret: environment variable CC_FILE_SECRET is not set (nor in env_file "
        f"{tmp_path / 'var/secrets.env'}, which does not exist)")
