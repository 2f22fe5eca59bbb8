"""Administered settings without a server: a change is checked with the config's own rules and
names the field; ContactCenter.apply_settings keeps every agent's live state and every call;
the OpenAPI document's admin schemas carry the config models' keys."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_contact_center_domain import APP, World

from callcenter.config import AgentSettings, QueueSettings, Reason, SupervisorSettings
from callcenter.domain import administration as admin
from callcenter.domain.administration import KINDS, Invalid, Rules

OPENAPI = Path(__file__).parents[2] / "callcenter" / "server" / "http" / "openapi.json"
RULES = Rules(hash_password=lambda p: f"hashed:{p}", strategies=frozenset({"longest-idle"}),
              queueings=frozenset({"fifo"}))


def app_of(world: World):
    return world.center.config.app(APP)


def test_a_new_agent_is_stored_with_a_hash_of_its_password_and_audited_without_it():
    world = World({}, {"a1": {}})
    change = admin.create(app_of(world), KINDS["agents"],
                          {"id": "cleo", "password": "long-enough-1", "queues": ["q"]}, RULES)
    assert change.app.agent("cleo").password_hash == "hashed:long-enough-1"
    assert change.after == {"id": "cleo", "name": "", "queues": ["q"], "skills": {},
                            "password": "(hidden)"}
    assert app_of(world).agent("cleo") is None  # nothing changes until it is applied


@pytest.mark.parametrize("kind, body, code, field", [
    ("agents", {"id": "x1", "password": "long-enough-1", "queues": ["nope"]}, "INVALID_SETTING",
     "queues"),
    ("agents", {"id": "a1", "password": "long-enough-1"}, "DUPLICATE_ID", "id"),
    ("agents", {"id": "x1", "password": "aaaaaaaaaaaa"}, "WEAK_PASSWORD", "password"),
    ("queues", {"name": "q2", "ring_timeout": True}, "INVALID_SETTING", "ring_timeout"),
    ("queues", {"name": "q2", "queueing": "lifo"}, "INVALID_SETTING", "queueing"),
    ("dispositions", {"code": "bad code", "label": "x"}, "INVALID_SETTING", "code"),
])
def test_a_bad_change_is_refused_naming_its_field(kind, body, code, field):
    with pytest.raises(Invalid) as refused:
        admin.create(app_of(World({}, {"a1": {}})), KINDS[kind], body, RULES)
    assert (refused.value.code, refused.value.field) == (code, field)
    assert refused.value.message.split(":")[0].endswith(field)


def test_applied_settings_keep_the_agents_live_state_and_their_call():
    world = World({}, {"a1": {}, "a2": {}})
    call_id = world.enqueue()
    world.answer("a1", call_id)
    before = world.agent("a1").to_state()
    change = admin.update(app_of(world), KINDS["agents"], "a1",
                          {"name": "Ann", "skills": {"en": 5}}, RULES)
    assert world.center.apply_settings(world.center.config.with_app(change.app)) == []
    agent = world.agent("a1")
    assert (agent.name, agent.skills) == ("Ann", {"en": 5})
    assert agent.to_state() == before  # in the call still, with everything it had


def test_a_removed_agent_in_a_call_is_kept_serving_no_queue_until_the_call_is_over():
    world = World({}, {"a1": {}, "a2": {}})
    call_id = world.enqueue()
    world.answer("a1", call_id)
    change = admin.delete(app_of(world), KINDS["agents"], "a1", RULES)
    config = world.center.config.with_app(change.app)
    assert world.center.apply_settings(config) == [("agent", APP, "a1")]
    assert world.agent("a1").queues == () and world.agent("a1").call_id == call_id
    world.run(world.center.hangup(APP, "a1", call_id))
    world.run(world.center.wrap_up(APP, "a1", call_id, None, None))
    assert world.center.apply_settings(config) == []
    assert (APP, "a1") not in world.center.agents


def test_a_queue_another_process_deleted_is_kept_while_it_has_calls_here():
    world = World({}, {"a1": {}}, queues=[{"name": "q2", "when_empty": "join"}])
    world.enqueue("q2")
    gone = app_of(world).with_administered({"queues": [app_of(world).queue("q")]})
    assert world.center.apply_settings(world.center.config.with_app(gone)) == \
        [("queue", APP, "q2")]
    assert app_of(world).queue("q2") is not None


@pytest.mark.parametrize("name, model, write_only, read_only", [
    ("Agent", AgentSettings, {"password"}, set()),
    ("Supervisor", SupervisorSettings, {"password"}, set()),
    ("Queue", QueueSettings, {"members"}, {"members"}),
    ("Disposition", Reason, set(), set()),
    ("BreakReason", Reason, set(), set()),
])
def test_the_openapi_admin_schemas_have_every_key_of_the_config_model(name, model, write_only,
                                                                     read_only):
    schemas = json.loads(OPENAPI.read_text())["components"]["schemas"]
    keys = set(model.model_fields) - {"password_hash"}
    assert set(schemas[f"Admin{name}"]["properties"]) == keys | read_only
    for suffix in ("Create", "Change"):
        assert set(schemas[f"Admin{name}{suffix}"]["properties"]) == keys | write_only
