"""Every hook in callcenter/hooks/specs.py, exercised through a real server process."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import requests
from signaling_helpers import in_call

TEST_PLUGINS = Path(__file__).parents[1] / "sample_plugins"


def plugin_config(enable: list[str], settings: str = "") -> str:
    names = ", ".join(f'"{n}"' for n in enable)
    return f'[plugins]\nenable = [{names}]\npaths = ["{TEST_PLUGINS}"]\n{settings}'


def records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def recorder(tmp_path: Path, *more: str) -> tuple[str, Path]:
    out = tmp_path / "recorded.jsonl"
    settings = (f'[plugins.settings.recorder]\npath = "{out}"\n'
                'flavour = { env = "CC_TEST_DEMO_SECRET" }\n')
    return plugin_config(["recorder", *more], settings), out


def test_hook_callcenter_startup(server_factory, tmp_path: Path):
    extra, out = recorder(tmp_path)
    server = server_factory(extra)
    first = records(out)[0]
    assert first["hook"] == "startup"
    assert first["apps"] == ["demo", "other"]
    # The plugin receives its own settings table, with {env = ...} resolved.
    assert first["settings"] == {"path": str(out), "flavour": server.secrets["demo"]}


def test_hook_callcenter_shutdown(server_factory, tmp_path: Path):
    extra, out = recorder(tmp_path)
    server = server_factory(extra)
    server.process.send_signal(signal.SIGTERM)
    assert server.process.wait(10) == 0
    assert records(out)[-1] == {"hook": "shutdown"}
    assert "callcenter stopping" in server.log()


async def test_hook_callcenter_call_event(server_factory, clients, tmp_path: Path):
    extra, out = recorder(tmp_path)
    server = server_factory(extra)
    alice, bob = await clients(server, "alice"), await clients(server, "bob")
    call_id = await in_call(alice, bob)
    await alice.hangup(call_id)
    await bob.next_event("call_end", callId=call_id)
    events = [(r["event"], r["user"]) for r in records(out) if r["hook"] == "call_event"]
    assert events == [("call.invited", bob.user_id), ("call.accepted", bob.user_id),
                      ("call.left", alice.user_id), ("call.ended", None)]
    ended = records(out)[-1]
    assert ended["call"] == call_id and ended["reason"] == "hangup" and ended["answered"] is True


async def test_hook_callcenter_ice_servers(server_factory, clients):
    server = server_factory(plugin_config(["turn_minter"]))
    alice = await clients(server, "alice")
    assert alice.ice_servers == [{"urls": ["turn:turn.invalid:3478"],
                                  "username": f"demo:{alice.user_id}", "credential": "minted"}]


async def test_default_ice_servers_come_from_config(server_factory, clients):
    # The base config has a [signaling] table already; TOML allows extending it with a sub-table.
    server = server_factory('[[signaling.ice_servers]]\nurls = ["stun:stun.invalid:3478"]\n')
    alice = await clients(server, "alice")
    assert alice.ice_servers == [{"urls": ["stun:stun.invalid:3478"]}]


async def test_a_failing_plugin_does_not_take_the_call_down(server_factory, clients, tmp_path):
    extra, out = recorder(tmp_path, "failing")
    # The default's answer is this list, so seeing it proves the failure fell through.
    server = server_factory(extra + '\n[[signaling.ice_servers]]\nurls = "stun:fallback.invalid"\n')
    server.expect_traceback = True  # the plugin's failure is logged with its traceback
    alice, bob = await clients(server, "alice"), await clients(server, "bob")
    assert alice.ice_servers == [{"urls": "stun:fallback.invalid"}]
    call_id = await in_call(alice, bob)
    await bob.hangup(call_id)
    await alice.next_event("call_end", callId=call_id)
    failures = requests.get(server.url + "/healthz", timeout=5).json()["plugins"]["failures"]
    assert failures == {"failing.callcenter_call_event": 4, "failing.callcenter_ice_servers": 2}
    assert "plugin 'failing' failed in callcenter_call_event" in server.log()
    assert [r["event"] for r in records(out)[1:]] == ["call.invited", "call.accepted",
                                                      "call.left", "call.ended"]


async def test_queue_and_agent_events_reach_the_event_hook_with_queue_log_data(
        server_factory, clients, tmp_path: Path):
    from werkzeug.security import generate_password_hash

    extra, out = recorder(tmp_path)
    demo = ('[[apps.queues]]\nname = "q"\nwhen_empty = "join"\nwrap_up = 0\n'
            f'[[apps.agents]]\nid = "ag"\npassword_hash = "{generate_password_hash("x")}"\n'
            'queues = ["q"]\n')
    server = server_factory(extra, demo_extra=demo)
    agent = await clients(server, role="agent", user_id="ag")
    await agent.agent_status("available")
    customer = await clients(server, "cust")
    call_id = (await customer.enqueue("q", 1))["callId"]
    await agent.next_event("offer", callId=call_id)
    await agent.accept(call_id)
    await customer.hangup(call_id)
    await agent.next_event("call_end", callId=call_id)
    await agent.next_event("agent_update")  # wrap-up of 0 s: waiting again
    events = [r for r in records(out) if r["hook"] == "call_event"]
    names = [r["event"] for r in events if r["event"].startswith("queue.")]
    assert names == ["queue.joined", "queue.offered", "queue.answered", "queue.completed"]
    completed = next(r for r in events if r["event"] == "queue.completed")
    assert completed["ended_by"] == "customer" and completed["queue"] == "q"
    assert completed["user"] == "ag" and completed["hold"] >= 0 and completed["talk"] >= 0
    states = [r["state"] for r in events if r["event"] == "agent.state"]
    assert states[:3] == ["ringing", "in_call", "wrap_up"]
    statuses = [(r["status"], r["reason"]) for r in events if r["event"] == "agent.status"]
    assert statuses == [("break", "login"), ("available", "")]


def test_hook_callcenter_authenticate(server_factory):
    """A directory plugin signs agents in with its passwords; others fall to the default."""
    from contact_center_helpers import PASSWORD, agent, demo_extra, queue

    extra = plugin_config(["directory_sign_in"], '[plugins.settings.directory_sign_in]\n'
                          'passwords = { dir1 = "from-the-directory" }\n')
    server = server_factory(extra, demo_extra=demo_extra(
        [queue("q")], [agent("dir1", ["q"]), agent("local1", ["q"])]))
    login = server.url + "/api/agent-login"

    def sign_in(agent_id: str, password: str) -> requests.Response:
        return requests.post(login, json={"appId": "demo", "agentId": agent_id,
                                          "password": password}, timeout=10)

    # The directory answers for the agents it knows: its password, not the config's.
    assert sign_in("dir1", "from-the-directory").json()["userID"] == "dir1"
    refused = sign_in("dir1", PASSWORD)
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "BAD_LOGIN"
    # The others are left to the built-in password check.
    assert sign_in("local1", PASSWORD).status_code == 200
    assert sign_in("local1", "from-the-directory").status_code == 401
    # Knowing a password is not enough: the app must know the person.
    assert sign_in("stranger", "from-the-directory").status_code == 401


def test_a_failing_sign_in_plugin_is_skipped_for_the_built_in_check(server_factory):
    from contact_center_helpers import PASSWORD, agent, demo_extra, queue

    extra = plugin_config(["directory_sign_in"],
                          '[plugins.settings.directory_sign_in]\ndown = true\n')
    server = server_factory(extra, demo_extra=demo_extra([queue("q")], [agent("dir1", ["q"])]))
    server.expect_traceback = True  # the plugin's failure is logged with its traceback
    answer = requests.post(server.url + "/api/agent-login", json={
        "appId": "demo", "agentId": "dir1", "password": PASSWORD}, timeout=10)
    assert answer.status_code == 200
    health = requests.get(server.url + "/healthz", timeout=10).json()
    assert health["plugins"]["failures"] == {"directory_sign_in.callcenter_authenticate": 1}
