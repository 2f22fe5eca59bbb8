"""The admin API under /api/admin: an app's agents, supervisors, queues, dispositions and break
reasons changed while the server runs, and the audit log of those changes.

Only the app's admins may call it: a supervisor credential whose user is one of the app's
supervisors with ``admin = true``; anyone else gets 403 ``ADMIN_REQUIRED``. Each kind has the
same five routes (list, create, read, update, delete: ``PATCH`` changes only the keys it is
sent). Passwords arrive as plain text (``password``) over HTTPS and are stored hashed, the way
``callcenter agents add`` hashes them; no answer ever carries a hash. Errors are the API's
``{ok: false, error: {code, message}}`` plus ``field``, the key that is wrong, for a form to put
the message beside; a refused request changes nothing. The checks themselves are
callcenter.domain.administration's; storing and applying is callcenter.server.live_settings'.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from flask import Flask, jsonify, request
from pydantic import BaseModel, ConfigDict, Field
from werkzeug.security import generate_password_hash

from callcenter.config import App, Config
from callcenter.domain import administration
from callcenter.domain.administration import KINDS, Invalid, Kind, Rules
from callcenter.domain.credentials import Identity, Role
from callcenter.domain.errors import Refused
from callcenter.history.db.settings import MAX_AUDIT_PAGE
from callcenter.server.http.api import ApiError, _parse, identity_of, query_args
from callcenter.server.live_settings import LiveSettings

PREFIX = "/api/admin"
# The kinds as URLs name them (words joined by hyphens, as /api/agent-login).
SEGMENTS = {name.replace("_", "-"): kind for name, kind in KINDS.items()}
STATUS = {"BAD_REQUEST": 400, "INVALID_SETTING": 400, "WEAK_PASSWORD": 400, "NOT_FOUND": 404,
          "DUPLICATE_ID": 409, "QUEUE_IN_USE": 409, "LAST_ADMIN": 409,
          "SETTINGS_CONFLICT": 409}


class AuditQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    limit: int = Field(100, ge=1, le=MAX_AUDIT_PAGE)
    before: int | None = Field(None, ge=1)  # the id of the oldest entry of the previous page
    kind: str | None = Field(None, pattern="^(" + "|".join(KINDS) + ")$")
    target: str | None = Field(None, pattern=r"^[A-Za-z0-9_-]{1,32}$")


class _NoQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")


def admin_of(settings: LiveSettings, config: Config) -> Identity:
    """The admin asking; 401 without a valid credential, 403 for anyone not an admin."""
    who = identity_of(config)
    app = settings.config.app(who.app_id)
    person = app.supervisor(who.user_id) if app is not None else None
    if who.role is not Role.SUPERVISOR or person is None or not person.admin:
        raise ApiError(403, "ADMIN_REQUIRED", "only the app's admins (supervisors with "
                       "admin = true) may change its settings")
    return who


def refusal(exc: Refused) -> Any:
    status = exc.status if isinstance(exc, ApiError) else STATUS.get(exc.code.value, 400)
    return jsonify(ok=False, error=exc.as_dict()), status


def add_admin_routes(app: Flask, config: Config, settings: LiveSettings) -> None:
    views = AdminViews(config, settings)
    kinds = "<any(" + ", ".join(f"'{s}'" for s in SEGMENTS) + "):segment>"
    one = f"{PREFIX}/{kinds}/<key>"
    for rule, name, method in ((f"{PREFIX}/audit", "audit", "GET"),
                               (f"{PREFIX}/{kinds}", "list_items", "GET"),
                               (f"{PREFIX}/{kinds}", "create_item", "POST"),
                               (one, "read_item", "GET"),
                               (one, "update_item", "PATCH"),
                               (one, "delete_item", "DELETE")):
        app.add_url_rule(rule, "admin_" + name, views.guarded(getattr(views, name)),
                         methods=[method])


class AdminViews:
    """Each view gets the admin asking (``who``) and, but for the audit log, the kind its URL
    names; a Refused it raises is the JSON error."""

    def __init__(self, config: Config, settings: LiveSettings) -> None:
        self.config = config
        self.settings = settings

    def guarded(self, view: Any) -> Any:
        def wrapped(**kwargs: Any) -> Any:
            try:
                who = admin_of(self.settings, self.config)
                if "segment" in kwargs:
                    kwargs["kind"] = SEGMENTS[kwargs.pop("segment")]
                if view.__name__ != "audit":
                    _parse(_NoQuery, query_args())
                return view(who, **kwargs)
            except Refused as exc:
                return refusal(exc)
        return wrapped

    def rules(self, app_id: str) -> Rules:
        live = self.settings.center.live(app_id)
        plugins = self.settings.plugins
        return Rules(hash_password=generate_password_hash,
                     strategies=frozenset(plugins.strategies),
                     queueings=frozenset(plugins.queueings),
                     busy_queues=Counter(c["queue"] for c in live["calls"] if c["queue"]))

    def change(self, who: Identity, make: Any) -> tuple[administration.Change, int]:
        return self.settings.change(who.app_id, who.user_id,
                                    lambda current: make(current, self.rules(who.app_id)))

    def current(self, who: Identity) -> App:
        app = self.settings.config.app(who.app_id)
        assert app is not None  # the credential was verified for it
        return app

    def list_items(self, who: Identity, kind: Kind) -> Any:
        return jsonify(ok=True, items=administration.items(self.current(who), kind),
                       revision=self.settings.revision(who.app_id))

    def create_item(self, who: Identity, kind: Kind) -> Any:
        data = _body()
        made, revision = self.change(who, lambda app, r: administration.create(app, kind,
                                                                               data, r))
        return jsonify(ok=True, item=_public(made.after), revision=revision), 201

    def read_item(self, who: Identity, kind: Kind, key: str) -> Any:
        found = next((i for i in administration.items(self.current(who), kind)
                      if i[kind.key] == key), None)
        if found is None:
            raise ApiError(404, "NOT_FOUND", f"no {kind.singular} {key!r}")
        return jsonify(ok=True, item=found, revision=self.settings.revision(who.app_id))

    def update_item(self, who: Identity, kind: Kind, key: str) -> Any:
        data = _body()
        made, revision = self.change(who, lambda app, r: administration.update(app, kind, key,
                                                                               data, r))
        return jsonify(ok=True, item=_public(made.after), revision=revision)

    def delete_item(self, who: Identity, kind: Kind, key: str) -> Any:
        _, revision = self.change(who, lambda app, r: administration.delete(app, kind, key, r))
        return jsonify(ok=True, revision=revision)

    def audit(self, who: Identity) -> Any:
        query = _parse(AuditQuery, query_args())
        settings = self.settings
        entries = settings.history.read(settings.tables.audit, who.app_id, query.limit,
                                        query.before, query.kind, query.target)
        more = len(entries) == query.limit
        return jsonify(ok=True, entries=entries,
                       nextBefore=entries[-1]["id"] if more and entries else None)


def _body() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise Invalid("BAD_REQUEST", "", "send a JSON object")
    return data


def _public(item: dict[str, Any] | None) -> dict[str, Any]:
    """An item as the API answers: the audit view without its password marker."""
    return {k: v for k, v in (item or {}).items() if k != "password"}
