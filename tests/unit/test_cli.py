"""The `callcenter` command: token, plugins, check-config (serve runs in the integration tests)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from callcenter.cli import main
from callcenter.domain.credentials import verify

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
    assert result.exit_code == 0 and result.output.startswith("ok: 1 app(s), 6 plugin(s)")


def test_check_config_names_the_bad_key_and_exits_non_zero(tmp_path: Path):
    path = tmp_path / "bad.toml"
    path.write_text(CONFIG + "\n[signaling]\ngroup_max = 'four'\n")
    result = run("check-config", str(path))
    assert result.exit_code == 2
    assert result.output.strip().startswith("config error: signaling.group_max: ")
    assert len(result.output.strip().splitlines()) == 1


def test_agents_add_writes_a_hashed_password_the_config_then_loads(tmp_path: Path):
    from werkzeug.security import check_password_hash

    from callcenter.config import load

    path = tmp_path / "cc.toml"
    path.write_text(f'agents_file = "agents.toml"\n[[apps]]\nid = "demo"\nsecret = "{SECRET}"\n'
                    '[[apps.queues]]\nname = "sales"\n')
    result = run("agents", "add", "--config", str(path), "--app", "demo", "--id", "ann",
                 "--name", "Ann O'Neil \"AO\"", "--queues", "sales", "--skill", "en=80",
                 "--password", "s3cret")
    assert result.exit_code == 0, result.output
    assert "s3cret" not in (tmp_path / "agents.toml").read_text()
    agent = load(path).app("demo").agent("ann")
    assert agent.name == "Ann O'Neil \"AO\"" and agent.queues == ["sales"]
    assert agent.skills == {"en": 80}
    assert check_password_hash(agent.password_hash, "s3cret")
    again = run("agents", "add", "--config", str(path), "--app", "demo", "--id", "ann",
                "--password", "x")
    assert again.exit_code == 2 and "already has an agent 'ann'" in again.output


def test_agents_add_refuses_an_unknown_queue(tmp_path: Path):
    path = tmp_path / "cc.toml"
    path.write_text(f'agents_file = "agents.toml"\n[[apps]]\nid = "demo"\nsecret = "{SECRET}"\n')
    result = run("agents", "add", "--config", str(path), "--app", "demo", "--id", "bo",
                 "--queues", "ghost", "--password", "x")
    assert result.exit_code == 2 and "no queue 'ghost'" in result.output
    assert not (tmp_path / "agents.toml").exists()


def test_check_config_takes_the_file_with_config_as_every_command_does(config_file: Path):
    assert run("check-config", "--config", str(config_file)).exit_code == 0
    missing = run("check-config")
    assert missing.exit_code == 2 and "--config FILE" in missing.output
