"""The `callcenter` command: token, plugins, check-config (serve runs in the integration tests)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from callcenter.cli import main
from callcenter.credentials import verify

SECRET = "c" * 40
CONFIG = f"""
[[apps]]
id = "demo"
secret = "{SECRET}"

[plugins]
enable = ["event-log"]
"""


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "cc.toml"
    path.write_text(CONFIG)
    return path


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def test_token_prints_a_credential_that_verifies(config_file: Path):
    result = run("token", "--config", str(config_file), "--app", "demo", "--user", "alice",
                 "--role", "agent", "--ttl", "60")
    assert result.exit_code == 0, result.output
    identity = verify(result.output.strip(), "demo", SECRET)
    assert identity.user_id == "alice" and identity.role.value == "agent"


def test_token_for_an_unknown_app_fails(config_file: Path):
    result = run("token", "--config", str(config_file), "--app", "ghost", "--user", "alice",
                 "--role", "agent")
    assert result.exit_code == 2 and "no app 'ghost'" in result.output


def test_token_refuses_a_bad_user_id(config_file: Path):
    result = run("token", "--config", str(config_file), "--app", "demo", "--user", "a b",
                 "--role", "agent")
    assert result.exit_code == 2 and "user id" in result.output


def test_plugins_lists_each_plugin_with_its_source_and_hooks(config_file: Path):
    result = run("plugins", "--config", str(config_file))
    assert result.exit_code == 0, result.output
    assert "ice-servers  (builtin)\n    callcenter_ice_servers\n" in result.output
    assert "event-log  (entry point callcenter==" in result.output
    assert "    callcenter_call_event\n" in result.output


def test_check_config_accepts_a_valid_file(config_file: Path):
    result = run("check-config", str(config_file))
    assert result.exit_code == 0 and result.output.startswith("ok: 1 app(s), 4 plugin(s)")


def test_check_config_names_the_bad_key_and_exits_non_zero(tmp_path: Path):
    path = tmp_path / "bad.toml"
    path.write_text(CONFIG + "\n[signaling]\ngroup_max = 'four'\n")
    result = run("check-config", str(path))
    assert result.exit_code == 2
    assert result.output.strip().startswith("config error: signaling.group_max: ")
    assert len(result.output.strip().splitlines()) == 1
