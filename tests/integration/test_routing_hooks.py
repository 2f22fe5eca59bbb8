"""The routing hooks through a real server: plugins decide the order of calls and the agent."""

from __future__ import annotations

from pathlib import Path

import pytest
from signaling_helpers import no_event
from werkzeug.security import generate_password_hash

from callcenter.config import ConfigError, parse
from callcenter.hooks.host import PluginHost

TEST_PLUGINS = Path(__file__).parents[1] / "sample_plugins"
HASH = generate_password_hash("pw")


def config(strategy: str, queueing: str, agents: list[str]) -> tuple[str, str]:
    demo = f"""
[[apps.queues]]
name = "q"
strategy = "{strategy}"
queueing = "{queueing}"
when_empty = "join"
ring_timeout = 10
"""
    for agent in agents:
        demo += f'[[apps.agents]]\nid = "{agent}"\npassword_hash = "{HASH}"\nqueues = ["q"]\n'
    extra = f'[plugins]\nenable = ["vip_first", "by_name"]\npaths = ["{TEST_PLUGINS}"]\n'
    return demo, extra


async def available(clients, server, agent_id: str):
    agent = await clients(server, role="agent", user_id=agent_id)
    assert (await agent.request("agent_status", {"status": "available"}))["ok"]
    return agent


async def test_hook_callcenter_strategies(server_factory, clients):
    demo, extra = config("by-name", "fifo", ["a1", "a2", "a3"])
    server = server_factory(extra, demo_extra=demo)
    agents = {a: await available(clients, server, a) for a in ("a1", "a2", "a3")}
    customer = await clients(server, "cust")
    call_id = (await customer.request("enqueue", {"queue": "q", "type": 1}))["callId"]
    await agents["a3"].next_event("offer", callId=call_id)
    await no_event(agents["a1"], "offer", within=0.3)
    await no_event(agents["a2"], "offer", within=0.1)


async def test_hook_callcenter_queueings(server_factory, clients):
    demo, extra = config("longest-idle", "vip-first", ["solo"])
    server = server_factory(extra, demo_extra=demo)
    plain = await clients(server, "plain")
    gold = await clients(server, "gold")
    first = await plain.request("enqueue", {"queue": "q", "type": 1})
    second = await gold.request("enqueue", {"queue": "q", "type": 1,
                                            "attributes": {"tier": "gold"}})
    assert second["position"] == 1  # the gold caller went ahead of the one who came first
    update = await plain.next_event("queue_update", position=2)
    assert update["callId"] == first["callId"]
    agent = await available(clients, server, "solo")
    offer = await agent.next_event("offer")
    assert offer["callId"] == second["callId"]


def test_a_queue_naming_a_strategy_no_plugin_registers_is_a_config_error(tmp_path):
    data = {"apps": [{"id": "demo", "secret": "s" * 40,
                      "queues": [{"name": "q", "strategy": "by-name"}]}]}
    with pytest.raises(ConfigError, match=r"^apps\[0\].queues\[0\].strategy: no loaded plugin "
                                          "provides 'by-name'"):
        PluginHost(parse(data, tmp_path)).load()
    data["plugins"] = {"enable": ["by_name"], "paths": [str(TEST_PLUGINS)]}
    PluginHost(parse(data, tmp_path)).load()


def test_a_queue_naming_a_queueing_no_plugin_registers_is_a_config_error(tmp_path):
    data = {"apps": [{"id": "demo", "secret": "s" * 40,
                      "queues": [{"name": "q", "queueing": "vip-first"}]}]}
    with pytest.raises(ConfigError, match=r"apps\[0\].queues\[0\].queueing: no loaded plugin "
                                          "provides 'vip-first'"):
        PluginHost(parse(data, tmp_path)).load()
    data["plugins"] = {"enable": ["vip_first"], "paths": [str(TEST_PLUGINS)]}
    PluginHost(parse(data, tmp_path)).load()


def test_a_strategy_registered_by_two_plugins_is_a_config_error(tmp_path):
    data = {"apps": [{"id": "demo", "secret": "s" * 40}],
            "plugins": {"enable": ["by_name", "by_name_again"], "paths": [str(TEST_PLUGINS)]}}
    with pytest.raises(ConfigError, match="strategy 'by-name' is provided by both 'by_name"):
        PluginHost(parse(data, tmp_path)).load()


def test_a_strategy_is_asked_only_for_the_queues_that_name_it(tmp_path):
    """by_name answers without looking at the queue: it must never route a longest-idle queue."""
    from types import SimpleNamespace

    data = {"apps": [{"id": "demo", "secret": "s" * 40,
                      "queues": [{"name": "q", "strategy": "longest-idle"},
                                 {"name": "n", "strategy": "by-name"}]}],
            "plugins": {"enable": ["by_name"], "paths": [str(TEST_PLUGINS)]}}
    config = parse(data, tmp_path)
    host = PluginHost(config)
    host.load()
    early = SimpleNamespace(id="a", idle_since=1.0)
    late = SimpleNamespace(id="z", idle_since=2.0)
    q, n = config.apps[0].queues
    assert host.select_agents(q, None, [early, late], 0.0) == [early]
    assert host.select_agents(n, None, [early, late], 0.0) == [late]
