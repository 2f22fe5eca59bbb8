"""Changing an app's administered settings while the server runs: one change at a time.

``create``, ``update`` and ``delete`` take the app's settings as they are now and one request
(an agent, a supervisor, a queue with its members, a disposition, a break reason) and return the
``Change``: the app as it will be, and the item before and after, for the audit log. They check
the request with the models the config file is checked with, so the rules live once, and refuse
with ``Invalid`` naming the field (``queues: no queue named 'x'``); a refused request changes
nothing, because nothing is changed here at all: the caller stores and applies ``Change.app``.
Plain Python, no framework, no I/O (passwords are hashed by the ``hash_password`` given).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from callcenter.config import (
    AgentSettings,
    App,
    QueueSettings,
    Reason,
    SupervisorSettings,
    settings_error,
)
from callcenter.domain.errors import Refused

# What a password must be at least: NIST SP 800-63B asks for length rather than character rules.
MIN_PASSWORD = 10
MAX_PASSWORD = 256
# A password in the audit log: that it is set, or was changed, never what it is or its hash.
HIDDEN, CHANGED = "(hidden)", "(changed)"

Action = Literal["create", "update", "delete"]


@dataclass(frozen=True)
class Kind:
    """One list of ``App`` that is administered, as the API and the audit log name it."""

    name: str        # the App's key: "agents", "break_reasons"
    key: str         # the field that names an item: "id", "name", "code"
    singular: str    # "agent", "break reason": in messages
    model: type[BaseModel]

    @property
    def has_password(self) -> bool:
        return "password_hash" in self.model.model_fields


KINDS: dict[str, Kind] = {k.name: k for k in (
    Kind("agents", "id", "agent", AgentSettings),
    Kind("supervisors", "id", "supervisor", SupervisorSettings),
    Kind("queues", "name", "queue", QueueSettings),
    Kind("dispositions", "code", "disposition", Reason),
    Kind("break_reasons", "code", "break reason", Reason),
)}


class Invalid(Refused):
    """A refused change, naming the field that is wrong (``""``: the request as a whole)."""

    def __init__(self, code: str, field: str, message: str, where: str | None = None) -> None:
        """``where``: how the message names the field, when not by ``field`` alone (an item
        of a list: ``agents[cleo].queues``)."""
        where = field if where is None else where
        super().__init__(code, f"{where}: {message}" if where else message)
        self.field = field

    def as_dict(self) -> dict[str, object]:
        return {**super().as_dict(), "field": self.field}


@dataclass(frozen=True)
class Change:
    kind: str
    action: Action
    target: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    app: App  # the app's settings once the change is made


@dataclass(frozen=True)
class Rules:
    """What a change is checked against beyond the models: names plugins provide, and queues
    with calls in them right now."""

    hash_password: Callable[[str], str]
    strategies: frozenset[str] = frozenset()
    queueings: frozenset[str] = frozenset()
    busy_queues: Mapping[str, int] | None = None  # queue name -> calls waiting or in progress


def view(app: App, kind: Kind, item: BaseModel) -> dict[str, Any]:
    """An item as the API shows it: no password hash; a queue with its members."""
    data = item.model_dump(mode="json", exclude={"password_hash"})
    if kind.name == "queues":
        data["members"] = [a.id for a in app.agents if item.name in a.queues]  # type: ignore
    return data


def items(app: App, kind: Kind) -> list[dict[str, Any]]:
    return [view(app, kind, item) for item in getattr(app, kind.name)]


def create(app: App, kind: Kind, body: Any, rules: Rules) -> Change:
    body = _object(body)
    key = body.get(kind.key)
    if not isinstance(key, str):
        raise Invalid("INVALID_SETTING", kind.key, "required, a string")
    if _find(app, kind, key) is not None:
        raise Invalid("DUPLICATE_ID", kind.key, f"{kind.singular} {key!r} exists already")
    if kind.name in ("agents", "supervisors"):
        other = "supervisors" if kind.name == "agents" else "agents"
        if _find(app, KINDS[other], key) is not None:
            raise Invalid("DUPLICATE_ID", "id", f"{key!r} is a{'n' if other == 'agents' else ''} "
                          f"{KINDS[other].singular}'s id")
    if kind.has_password and "password" not in body:
        raise Invalid("INVALID_SETTING", "password", "required")
    item = _item(kind, {}, body, rules)
    return _changed(app, kind, "create", key, None, item, body, rules)


def update(app: App, kind: Kind, key: str, body: Any, rules: Rules) -> Change:
    body = _object(body)
    before = _existing(app, kind, key)
    if kind.key in body and body[kind.key] != key:
        raise Invalid("INVALID_SETTING", kind.key, f"a {kind.singular}'s {kind.key} cannot be "
                      "changed; delete it and create another")
    item = _item(kind, before.model_dump(), body, rules)
    return _changed(app, kind, "update", key, before, item, body, rules)


def delete(app: App, kind: Kind, key: str, rules: Rules) -> Change:
    before = _existing(app, kind, key)
    if kind.name == "queues":
        calls = (rules.busy_queues or {}).get(key, 0)
        if calls:
            raise Invalid("QUEUE_IN_USE", "name", f"queue {key!r} has {calls} call(s) waiting or "
                          "in progress; delete it once they are over")
        for queue in app.queues:
            if queue.overflow == key:
                raise Invalid("QUEUE_IN_USE", "name", f"queue {queue.name!r} overflows to "
                              f"{key!r}; change its overflow first")
    remaining = [i for i in getattr(app, kind.name) if getattr(i, kind.key) != key]
    settings: dict[str, Any] = {kind.name: remaining}
    if kind.name == "queues":  # its members stop serving it
        settings["agents"] = [a.model_copy(update={"queues": [q for q in a.queues if q != key]})
                              for a in app.agents]
    _check_admins(app, remaining if kind.name == "supervisors" else app.supervisors)
    new = _validated(app, kind, key, settings)
    return Change(kind.name, "delete", key, audit_view(app, kind, before), None, new)


# -- the steps ------------------------------------------------------------------------------------


def _object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise Invalid("BAD_REQUEST", "", "send a JSON object")
    return body


def _find(app: App, kind: Kind, key: str) -> BaseModel | None:
    return next((i for i in getattr(app, kind.name) if getattr(i, kind.key) == key), None)


def _existing(app: App, kind: Kind, key: str) -> BaseModel:
    item = _find(app, kind, key)
    if item is None:
        raise Refused("NOT_FOUND", f"no {kind.singular} {key!r}")
    return item


def check_password(password: Any, *names: str) -> str:
    if not isinstance(password, str):
        raise Invalid("INVALID_SETTING", "password", "a string")
    if len(password) < MIN_PASSWORD:
        raise Invalid("WEAK_PASSWORD", "password", f"at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise Invalid("INVALID_SETTING", "password", f"at most {MAX_PASSWORD} characters")
    if len(set(password)) < 4:
        raise Invalid("WEAK_PASSWORD", "password", "too few different characters")
    lowered = password.lower()
    if any(name and name.lower() in lowered for name in names):
        raise Invalid("WEAK_PASSWORD", "password", "must not contain the id or the name")
    return password


def _item(kind: Kind, current: dict[str, Any], body: dict[str, Any], rules: Rules) -> BaseModel:
    """The item ``body`` makes of ``current`` (``{}`` for a new one), checked by its model."""
    fields = dict(body)
    fields.pop("members", None) if kind.name == "queues" else None
    if "password_hash" in fields:
        raise Invalid("INVALID_SETTING", "password_hash", "unknown key; send password")
    password = fields.pop("password", None) if kind.has_password else None
    data = {**current, **fields}
    if password is not None or (kind.has_password and "password" in body):
        names = (str(data.get("id", "")), str(data.get("name", "")))
        data["password_hash"] = rules.hash_password(check_password(password, *names))
    try:
        # Strict: JSON's false is no 0, nor "5" a 5 (a TOML file has types of its own).
        item = kind.model.model_validate(data, strict=True)
    except ValidationError as exc:
        field, _, text = str(settings_error("", exc)).partition(": ")
        raise Invalid("INVALID_SETTING", field, text) from None
    if isinstance(item, QueueSettings):
        for key, name, known in (("strategy", item.strategy, rules.strategies),
                                 ("queueing", item.queueing, rules.queueings)):
            if name not in known:
                raise Invalid("INVALID_SETTING", key, f"no loaded plugin provides {name!r} "
                              f"(loaded: {', '.join(sorted(known))})")
    return item


def _changed(app: App, kind: Kind, action: Action, key: str, before: BaseModel | None,
             item: BaseModel, body: dict[str, Any], rules: Rules) -> Change:
    listed = getattr(app, kind.name)
    if before is None:
        new_list = [*listed, item]
    else:
        new_list = [item if getattr(i, kind.key) == key else i for i in listed]
    settings: dict[str, Any] = {kind.name: new_list}
    if kind.name == "queues" and "members" in body:
        settings["agents"] = _with_members(app, key, body["members"])
    if kind.name == "supervisors":
        _check_admins(app, new_list)
    new = _validated(app, kind, key, settings)
    after = audit_view(new, kind, _existing(new, kind, key))
    if before is not None and kind.has_password and "password" in body:
        after["password"] = CHANGED
    return Change(kind.name, action, key,
                  None if before is None else audit_view(app, kind, before), after, new)


def _with_members(app: App, queue: str, members: Any) -> list[AgentSettings]:
    """The app's agents with exactly ``members`` serving ``queue``."""
    if not isinstance(members, list) or not all(isinstance(m, str) for m in members):
        raise Invalid("INVALID_SETTING", "members", "a list of agent ids")
    known = {a.id for a in app.agents}
    for i, member in enumerate(members):
        if member not in known:
            raise Invalid("INVALID_SETTING", f"members[{i}]", f"no agent {member!r}")
    agents = []
    for agent in app.agents:
        queues = [q for q in agent.queues if q != queue]
        if agent.id in members:
            queues.append(queue)
        agents.append(agent.model_copy(update={"queues": queues}))
    return agents


def _check_admins(app: App, supervisors: Iterable[SupervisorSettings]) -> None:
    """An app that has an admin keeps one: nobody could change its settings again otherwise."""
    if any(s.admin for s in app.supervisors) and not any(s.admin for s in supervisors):
        raise Invalid("LAST_ADMIN", "admin", "this is the app's last admin; make another "
                      "supervisor an admin first")


def _validated(app: App, kind: Kind, key: str, settings: dict[str, Any]) -> App:
    """The app with ``settings``, checked as a config file is. An error about an item names it
    by its id rather than its place in the list (``agents[cleo].queues: no queue named 'x'``);
    its ``field`` is the key alone (``queues``) when that item is the one being changed."""
    try:
        return app.with_administered(settings)
    except ValidationError as exc:
        message = str(settings_error("", exc)).removeprefix("(top level): ")
    where, _, text = message.partition(": ")
    field = where
    match = re.match(r"^(\w+)\[(\d+)\]\.?", where)
    if match is not None and match[1] in KINDS:
        listed = settings.get(match[1], getattr(app, match[1], []))
        if int(match[2]) < len(listed):
            name = getattr(listed[int(match[2])], KINDS[match[1]].key)
            where = f"{match[1]}[{name}]" + where[len(match[1]) + len(match[2]) + 2:]
            if match[1] == kind.name and name == key:
                field = field[match.end():] or kind.key
            else:
                field = where
    raise Invalid("INVALID_SETTING", field, text, where=where)


def audit_view(app: App, kind: Kind, item: BaseModel) -> dict[str, Any]:
    """An item as the audit log keeps it: as the API shows it, and whether a password is set."""
    data = view(app, kind, item)
    if kind.has_password:
        data["password"] = HIDDEN
    return data
