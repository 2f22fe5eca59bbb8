"""The admin API as the tests call it: an admin's requests, and what the database holds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import requests
from contact_center_helpers import password_hash
from sqlalchemy import create_engine, func, select

from callcenter.history.db.schema import app_settings, audit_log

ADMIN = "root"  # the demo app's admin in these tests' configs
PLAIN_SUPERVISOR = "boss"
NEW_PASSWORD = "new-agent-pass-42"


def supervisors_toml() -> str:
    """`[[apps.supervisors]]` tables for the demo app: the admin `root`, the supervisor `boss`
    (password contact_center_helpers.PASSWORD)."""
    hashed = password_hash()
    return "\n\n".join(
        f'[[apps.supervisors]]\nid = "{sid}"\nname = "{name}"\npassword_hash = "{hashed}"'
        + ("\nadmin = true" if admin else "")
        for sid, name, admin in ((ADMIN, "Root", True), (PLAIN_SUPERVISOR, "Bo", False)))


def admin(server: Any, method: str, path: str, body: Any = None, user: str = ADMIN,
          role: str = "supervisor", app: str = "demo", **params: Any) -> requests.Response:
    """``method /api/admin/<path>`` as ``user`` (by default the admin)."""
    headers = {"Authorization": f"Bearer {server.token(user, app=app, role=role)}"}
    return requests.request(method, f"{server.url}/api/admin/{path}", json=body,
                            params=params, headers=headers, timeout=10)


def ok(response: requests.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.text)
    body = response.json()
    assert body["ok"] is True, body
    return body


def refused(response: requests.Response, status: int, code: str) -> dict[str, Any]:
    """The error of a refused request: its status and code, with a message."""
    assert response.status_code == status, (response.status_code, response.text)
    body = response.json()
    assert body["ok"] is False and body["error"]["code"] == code, body
    assert body["error"]["message"], body
    return body["error"]


def login(server: Any, agent_id: str, password: str) -> requests.Response:
    return requests.post(server.url + "/api/agent-login", timeout=10, json={
        "appId": "demo", "agentId": agent_id, "password": password})


def database_file(server: Any) -> Path:
    """The SQLite file of a server started without a `database_url`."""
    return server.config_path.parent / f"db-{server.port}.db"


def stored(server: Any, url: str | None = None) -> tuple[int, dict[str, Any], int]:
    """What the database holds of the demo app: its settings' revision, the settings, and the
    number of audit entries."""
    engine = create_engine(url or f"sqlite:///{database_file(server)}")
    try:
        with engine.connect() as conn:
            revision, settings = conn.execute(
                select(app_settings.c.revision, app_settings.c.settings)
                .where(app_settings.c.app_id == "demo")).one()
            entries = conn.execute(select(func.count()).select_from(audit_log)
                                   .where(audit_log.c.app_id == "demo")).scalar_one()
        return revision, settings, entries
    finally:
        engine.dispose()
