"""Plugin loading and guarded hook calls (callcenter.hooks.host), without a server."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest

from callcenter.config import ConfigError, parse
from callcenter.domain.events import CallEvent, EventName
from callcenter.hooks.host import PluginHost

TEST_PLUGINS = str(Path(__file__).parents[1] / "sample_plugins")
SECRET = "s" * 40


def host_for(tmp_path: Path, **plugins) -> PluginHost:
    plugins.setdefault("paths", [TEST_PLUGINS])
    config = parse({"apps": [{"id": "demo", "secret": SECRET}], "plugins": plugins}, tmp_path)
    host = PluginHost(config)
    host.load()
    return host


def event() -> CallEvent:
    return CallEvent(EventName.ACCEPTED, "demo", "c1", "bob", time.time(), {})


def test_defaults_are_loaded_and_can_be_disabled(tmp_path: Path):
    assert [p.name for p in host_for(tmp_path).plugins()] == [
        "ice-servers", "password-sign-in", "fifo", "longest-idle", "transfer-targets"]
    assert [p.name for p in host_for(tmp_path, disable=["ice-servers"]).plugins()] == [
        "password-sign-in", "fifo", "longest-idle", "transfer-targets"]


def test_disabling_an_unknown_default_is_an_error(tmp_path: Path):
    with pytest.raises(ConfigError, match=r"plugins.disable\[0\]: no built-in plugin"):
        host_for(tmp_path, disable=["nope"])


def test_a_plugin_is_found_by_entry_point_name(tmp_path: Path):
    loaded = {p.name: p for p in host_for(tmp_path, enable=["event-log"]).plugins()}
    assert loaded["event-log"].source.startswith("entry point callcenter==")
    assert loaded["event-log"].hooks == ("callcenter_call_event", "callcenter_shutdown",
                                         "callcenter_startup")


def test_a_plugin_is_found_by_module_path(tmp_path: Path):
    loaded = {p.name: p for p in host_for(tmp_path, enable=["callcenter_plugins.event_log"])
              .plugins()}
    assert loaded["callcenter_plugins.event_log"].source == "module callcenter_plugins.event_log"


def test_a_plugin_is_found_as_a_file_in_a_plugin_folder(tmp_path: Path):
    loaded = {p.name: p for p in host_for(tmp_path, enable=["turn_minter"]).plugins()}
    assert loaded["turn_minter"].source == f"file {TEST_PLUGINS}/turn_minter.py"


def test_an_unknown_plugin_name_is_an_error_naming_its_key(tmp_path: Path):
    with pytest.raises(ConfigError, match=r"plugins.enable\[1\]: no plugin named 'ghost'"):
        host_for(tmp_path, enable=["event-log", "ghost"])


def test_settings_for_a_plugin_that_is_not_enabled_are_an_error(tmp_path: Path):
    with pytest.raises(ConfigError, match="plugins.settings.ghost: no such plugin"):
        host_for(tmp_path, settings={"ghost": {}})


def test_a_misspelt_hook_fails_at_start(tmp_path: Path):
    with pytest.raises(ConfigError, match="callcenter_call_evnt"):
        host_for(tmp_path, enable=["misspelt"])


def test_hook_wrappers_are_refused(tmp_path: Path):
    with pytest.raises(ConfigError, match="wrapper"):
        host_for(tmp_path, enable=["wrapping"])


def test_a_failing_plugin_is_logged_counted_and_the_others_still_run(
        tmp_path: Path, caplog: pytest.LogCaptureFixture):
    out = tmp_path / "rec.jsonl"
    host = host_for(tmp_path, enable=["recorder", "failing"],
                    settings={"recorder": {"path": str(out)}})
    host.startup()
    with caplog.at_level(logging.ERROR, logger="callcenter.plugins"):
        host.call_event(event())
        host.call_event(event())
    assert host.failure_counts() == {"failing.callcenter_call_event": 2}
    assert "plugin 'failing' failed in callcenter_call_event" in caplog.text
    assert out.read_text().count('"hook": "call_event"') == 2


def test_a_failing_firstresult_plugin_falls_through_to_the_next(tmp_path: Path):
    # The default answers with the configured list: only a fall-through reaches it (an empty
    # list would also be what a host that stopped at the failure returns).
    plugins = {"enable": ["failing"], "paths": [TEST_PLUGINS]}
    config = parse({"apps": [{"id": "demo", "secret": SECRET}], "plugins": plugins,
                    "signaling": {"ice_servers": [{"urls": "stun:fallback.invalid"}]}},
                   tmp_path)
    host = PluginHost(config)
    host.load()
    assert host.ice_servers("demo", "alice") == [{"urls": "stun:fallback.invalid"}]
    assert host.failure_counts() == {"failing.callcenter_ice_servers": 1}


def test_tracing_logs_every_hook_call(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      caplog: pytest.LogCaptureFixture):
    monkeypatch.setenv("CALLCENTER_TRACE_PLUGINS", "1")
    host = host_for(tmp_path, enable=["turn_minter"])
    with caplog.at_level(logging.INFO, logger="callcenter.plugins"):
        host.ice_servers("demo", "alice")
    assert "plugin trace: turn_minter.callcenter_ice_servers ->" in caplog.text


def test_two_hosts_in_one_process_keep_their_own_plugin_settings(tmp_path: Path):
    """A plugin given as a class is made per host: skills' settings of one server do not leak
    into another's (they did while the stock plugins kept them in module globals)."""
    def host_with(levels: list[list[int]]) -> PluginHost:
        config = parse({"apps": [{"id": "demo", "secret": SECRET}],
                        "plugins": {"enable": ["skills"],
                                    "settings": {"skills": {"levels": levels}}}}, tmp_path)
        host = PluginHost(config)
        host.load()
        host.startup()
        return host

    first, second = host_with([[0, 90]]), host_with([[0, 10]])
    a, b = (h.pm.get_plugin("skills") for h in (first, second))
    assert a is not b
    assert (a.levels, b.levels) == ([(0.0, 90)], [(0.0, 10)])


def test_a_failing_strategy_is_counted_and_longest_idle_chooses(tmp_path: Path):
    from types import SimpleNamespace

    config = parse({"apps": [{"id": "demo", "secret": SECRET,
                              "queues": [{"name": "q", "strategy": "failing"}]}],
                    "plugins": {"enable": ["failing"], "paths": [TEST_PLUGINS]}}, tmp_path)
    host = PluginHost(config)
    host.load()
    idle_long = SimpleNamespace(id="b", idle_since=1.0)
    busy_lately = SimpleNamespace(id="a", idle_since=5.0)
    chosen = host.select_agents(config.apps[0].queues[0], None, [busy_lately, idle_long], 9.0)
    assert chosen == [idle_long]
    assert host.failure_counts() == {"failing.strategy failing": 1}
