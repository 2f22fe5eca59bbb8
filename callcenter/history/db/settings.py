"""The administered settings in the database (``app_settings``) and their audit log.

Each operation is synchronous and one transaction, like ``database.py``'s; the server runs them
off its event loop. A change is written only over the revision it was made from (optimistic
locking): of two admins changing one app at once, on one process or two, the second is told to
try again rather than silently undoing the first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError

from callcenter.history.db.database import Database
from callcenter.history.db.schema import app_settings, audit_log

MAX_AUDIT_PAGE = 500


@dataclass(frozen=True)
class AuditEntry:
    """One change, as ``commit`` writes it."""

    actor: str
    action: str
    kind: str
    target: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class SettingsTables:
    def __init__(self, database: Database) -> None:
        self.engine = database.engine

    def revisions(self) -> dict[str, int]:
        """Each app's settings revision: read by every process on its tick, so it is cheap."""
        with self.engine.connect() as conn:
            return dict(conn.execute(select(app_settings.c.app_id, app_settings.c.revision)
                                     ).tuples().all())

    def load(self, app_ids: list[str] | None = None) -> dict[str, tuple[int, dict[str, Any]]]:
        """app id -> (revision, settings) of the apps named (all when None)."""
        query = select(app_settings.c.app_id, app_settings.c.revision, app_settings.c.settings)
        if app_ids is not None:
            query = query.where(app_settings.c.app_id.in_(app_ids))
        with self.engine.connect() as conn:
            return {app_id: (revision, settings)
                    for app_id, revision, settings in conn.execute(query)}

    def seed(self, app_id: str, settings: dict[str, Any], now: float) -> bool:
        """Store the settings of an app the database has none of yet, as revision 1. False if
        it has some (another process seeded it first): those win."""
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(app_settings).values(app_id=app_id, revision=1,
                                                         settings=settings, updated_at=now))
        except IntegrityError:
            return False
        return True

    def commit(self, app_id: str, revision: int, settings: dict[str, Any], entry: AuditEntry,
               now: float) -> bool:
        """Replace the app's settings made from ``revision`` by ``settings`` (revision + 1)
        and log the change, in one transaction; False, and nothing written, if the settings
        are no longer at ``revision``."""
        with self.engine.begin() as conn:
            done = conn.execute(
                update(app_settings)
                .where(app_settings.c.app_id == app_id, app_settings.c.revision == revision)
                .values(revision=revision + 1, settings=settings, updated_at=now)).rowcount
            if done != 1:
                return False
            conn.execute(insert(audit_log).values(
                app_id=app_id, at=now, actor=entry.actor, action=entry.action, kind=entry.kind,
                target=entry.target, before=entry.before, after=entry.after,
                revision=revision + 1))
        return True

    def audit(self, app_id: str, limit: int, before: int | None = None, kind: str | None = None,
              target: str | None = None) -> list[dict[str, Any]]:
        """The app's changes, newest first: at most ``limit``, older than id ``before``."""
        query = select(audit_log).where(audit_log.c.app_id == app_id)
        if before is not None:
            query = query.where(audit_log.c.id < before)
        if kind is not None:
            query = query.where(audit_log.c.kind == kind)
        if target is not None:
            query = query.where(audit_log.c.target == target)
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(audit_log.c.id.desc()).limit(limit))
            return [{"id": r.id, "at": r.at, "actor": r.actor, "action": r.action,
                     "kind": r.kind, "target": r.target, "before": r.before, "after": r.after,
                     "revision": r.revision} for r in rows]

    def audit_count(self, app_id: str) -> int:
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(audit_log)
                                .where(audit_log.c.app_id == app_id)).scalar_one()
