"""The database's operations, each one synchronous and one transaction.

The server never calls these from its event loop directly: ``callcenter.history.records`` queues
them for one worker thread, so a slow disk or a PostgreSQL round trip never stalls signaling.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import (
    JSON,
    and_,
    bindparam,
    create_engine,
    event,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.sql import Executable

from callcenter.domain.call_record import api_names
from callcenter.history.db.schema import agents, call_events, calls, outbox, recordings

log = logging.getLogger("callcenter.history.db")

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

# The columns of ``calls`` and the call detail record's keys (the API's and the webhooks' names).
CALL_FIELDS = api_names()


class CursorError(ValueError):
    """A pagination cursor that this server did not hand out."""


@dataclass(frozen=True)
class CallFilter:
    """Which calls of one app a query returns; None means any."""

    app_id: str
    start: float | None = None  # joined at or after
    end: float | None = None  # joined before
    queue: str | None = None
    agent: str | None = None
    outcome: str | None = None
    kind: str | None = None


def resolve_url(url: str, base_dir: Path) -> str:
    """A SQLite path in the URL is relative to the config file's folder."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:") \
            and not Path(parsed.database).is_absolute():
        path = (base_dir / parsed.database).resolve()
        path.parent.mkdir(parents=True, exist_ok=True)
        return parsed.set(database=str(path)).render_as_string(hide_password=False)
    return url


def call_record(row: Any) -> dict[str, Any]:
    """A ``calls`` row as the call detail record the API returns."""
    mapping = row._mapping
    return {CALL_FIELDS[k]: mapping[k] for k in CALL_FIELDS}


def encode_cursor(joined_at: float, call_id: str) -> str:
    return base64.urlsafe_b64encode(f"{joined_at!r}|{call_id}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[float, str]:
    try:
        joined, call_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|", 1)
        return float(joined), call_id
    except (ValueError, binascii.Error, UnicodeError):
        raise CursorError("not a cursor from this API") from None


class Database:
    def __init__(self, url: str, base_dir: Path = Path("."), echo: bool = False) -> None:
        self.url = resolve_url(url, base_dir)
        kwargs: dict[str, Any] = {"echo": echo, "future": True}
        backend = make_url(self.url).get_backend_name()
        if backend == "sqlite":
            # One worker thread uses the engine, but it is not the thread that created it.
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        else:
            kwargs["pool_pre_ping"] = True
        self.engine: Engine = create_engine(self.url, **kwargs)
        self.backend = backend
        if backend == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)

    def migrate(self) -> None:
        """Bring the schema to the newest revision (Alembic)."""
        cfg = AlembicConfig()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        with self.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    def dispose(self) -> None:
        self.engine.dispose()

    # -- writes --------------------------------------------------------------------------------

    def apply(self, changes: Sequence[tuple[str, dict[str, Any]]]) -> None:
        """Write a batch of changes in one transaction: ``("call", row)`` upserts a call by
        (app_id, call_id), ``("event", row)`` appends to the event log, ``("recording", row)``
        upserts a recording, ``("outbox", item)`` adds a notification (``outbox_add``) and
        ``("outbox_result", {item_id, now, error, next_attempt_at})`` records an attempt."""
        # A batch holds many changes of the same few calls (joined, answered, ended, wrapped up
        # while the previous batch was written): each call is merged into one row, and rows of a
        # kind go to the database together. Statements built row by row with .values() cost
        # ~0.2 ms each in SQLAlchemy alone, more than the server spends on a whole call.
        merged: dict[str, dict[tuple[str, str], dict[str, Any]]] = {"call": {}, "recording": {}}
        events: list[dict[str, Any]] = []
        outbox_changes: list[tuple[str, dict[str, Any]]] = []
        for kind, row in changes:
            if kind in merged:
                key = (row["app_id"], row["call_id"])
                merged[kind][key] = {**merged[kind].get(key, {}), **row}
            elif kind == "event":
                events.append(row)
            elif kind in ("outbox", "outbox_result"):
                outbox_changes.append((kind, row))  # in order: a result follows its add
            else:
                raise ValueError(f"unknown history change {kind!r}")
        with self.engine.begin() as conn:
            if events:
                _execute_many(conn, insert(call_events), events)
            self._upsert(conn, calls, list(merged["call"].values()))
            self._upsert(conn, recordings, list(merged["recording"].values()))
            for kind, row in outbox_changes:
                if kind == "outbox":
                    self._outbox_add(conn, row)
                else:
                    self._outbox_result(conn, **row)

    @staticmethod
    def _upsert(conn: Connection, table: Any, rows: list[dict[str, Any]]) -> None:
        """Insert the rows not there yet and update the others, by (app_id, call_id)."""
        if not rows:
            return
        # One writer per server process: a read-then-write is enough, and it is the same SQL on
        # SQLite and PostgreSQL. Call ids are unique across servers, so servers never collide.
        existing: set[tuple[str, str]] = set()
        for start in range(0, len(rows), 500):
            ids = {row["call_id"] for row in rows[start:start + 500]}
            found = conn.execute(select(table.c.app_id, table.c.call_id)
                                 .where(table.c.call_id.in_(ids)))
            existing.update((app_id, call_id) for app_id, call_id in found)
        # executemany needs every row to name the same columns.
        blank = {c.name: (c.default.arg if c.default is not None else None)
                 for c in table.columns}
        inserts = []
        updates: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for row in rows:
            if (row["app_id"], row["call_id"]) not in existing:
                inserts.append({**blank, **row})
                continue
            changed = tuple(sorted(k for k in row if k not in ("app_id", "call_id")))
            if changed:
                updates.setdefault(changed, []).append(
                    {"key_app": row["app_id"], "key_call": row["call_id"],
                     **{k: row[k] for k in changed}})
        if inserts:
            _execute_many(conn, insert(table), inserts)
        for changed, params in updates.items():
            statement = update(table).where(
                table.c.app_id == bindparam("key_app"), table.c.call_id == bindparam("key_call")
            ).values({k: bindparam(k) for k in changed})
            _execute_many(conn, statement, params)

    def close_interrupted(self, node: str, now: float,
                          keep: frozenset[tuple[str, str]] = frozenset()
                          ) -> list[dict[str, Any]]:
        """Close the calls this node left open when its process died: each ends at its last
        logged event, with end reason ``server_restart``. Returns the ``call.interrupted``
        events logged, one per call closed (``app_id``, ``call_id``, ``at``, ``data``). The
        calls in ``keep`` (app id, call id) go on: a graceful restart took them over."""
        with self.engine.begin() as conn:
            rows = conn.execute(select(calls).where(calls.c.node == node,
                                                    calls.c.ended_at.is_(None))).all()
            closed = []
            for row in rows:
                if (row.app_id, row.call_id) in keep:
                    continue
                last = conn.execute(select(func.max(call_events.c.at)).where(
                    call_events.c.app_id == row.app_id, call_events.c.call_id == row.call_id)
                ).scalar()
                ended = max(last or row.joined_at, row.answered_at or row.joined_at)
                answered = row.answered_at is not None
                values: dict[str, Any] = {
                    "ended_at": ended, "end_reason": "server_restart", "ended_by": "system",
                    "outcome": ("completed" if row.kind == "queue" else "answered") if answered
                    else "interrupted",
                    "talk": round(ended - row.answered_at, 3) if answered else 0.0,
                }
                if row.kind == "queue" and not answered:
                    values["wait"] = round(ended - row.joined_at, 3)
                conn.execute(update(calls).where(calls.c.app_id == row.app_id,
                                                 calls.c.call_id == row.call_id).values(**values))
                event = {"app_id": row.app_id, "call_id": row.call_id, "at": now, "data": {
                    "reason": "server_restart", "endedAt": ended, "queue": row.queue,
                    "kind": row.kind, "outcome": values["outcome"]}}
                conn.execute(insert(call_events).values(user_id=None, name="call.interrupted",
                                                        **event))
                closed.append(event)
            return closed

    def sync_agents(self, configured: Iterable[tuple[str, str, str, list[str]]], now: float
                    ) -> None:
        """Make the agents table match the config: (app id, agent id, name, queues) rows; agents
        no longer configured stay, marked inactive, so old calls keep their names."""
        configured = list(configured)
        with self.engine.begin() as conn:
            conn.execute(update(agents).values(active=False, updated_at=now))
            known = {(a, i) for a, i in conn.execute(select(agents.c.app_id, agents.c.agent_id))}
            for app_id, agent_id, name, queues in configured:
                values = {"name": name, "queues": queues, "active": True, "updated_at": now}
                if (app_id, agent_id) in known:
                    conn.execute(update(agents).where(agents.c.app_id == app_id,
                                                      agents.c.agent_id == agent_id
                                                      ).values(**values))
                else:
                    conn.execute(insert(agents).values(app_id=app_id, agent_id=agent_id,
                                                       **values))

    # -- reads ---------------------------------------------------------------------------------

    def list_calls(self, where: CallFilter, limit: int, cursor: str | None = None
                   ) -> tuple[list[dict[str, Any]], str | None]:
        """Calls newest first, at most ``limit``, and the cursor of the next page (or None)."""
        query = select(calls).where(*self._call_conditions(where))
        if cursor:
            joined, call_id = decode_cursor(cursor)
            query = query.where(or_(calls.c.joined_at < joined,
                                    and_(calls.c.joined_at == joined, calls.c.call_id < call_id)))
        query = query.order_by(calls.c.joined_at.desc(), calls.c.call_id.desc()).limit(limit + 1)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        more = len(rows) > limit
        rows = rows[:limit]
        next_cursor = encode_cursor(rows[-1].joined_at, rows[-1].call_id) if more else None
        return [call_record(r) for r in rows], next_cursor

    def calls_for_statistics(self, where: CallFilter) -> list[dict[str, Any]]:
        """Every call matching ``where`` (oldest first), as call detail records."""
        query = select(calls).where(*self._call_conditions(where)).order_by(calls.c.joined_at)
        with self.engine.connect() as conn:
            return [call_record(r) for r in conn.execute(query)]

    @staticmethod
    def _call_conditions(where: CallFilter) -> list[Any]:
        conditions = [calls.c.app_id == where.app_id]
        if where.start is not None:
            conditions.append(calls.c.joined_at >= where.start)
        if where.end is not None:
            conditions.append(calls.c.joined_at < where.end)
        for column, value in (("queue", where.queue), ("agent_id", where.agent),
                              ("outcome", where.outcome), ("kind", where.kind)):
            if value is not None:
                conditions.append(calls.c[column] == value)
        return conditions

    def get_call(self, app_id: str, call_id: str) -> dict[str, Any] | None:
        """One call with its event timeline and recording, or None (also for another app's)."""
        with self.engine.connect() as conn:
            row = conn.execute(select(calls).where(calls.c.app_id == app_id,
                                                   calls.c.call_id == call_id)).first()
            if row is None:
                return None
            events = conn.execute(select(call_events).where(
                call_events.c.app_id == app_id, call_events.c.call_id == call_id
            ).order_by(call_events.c.id)).all()
            recording = conn.execute(select(recordings).where(
                recordings.c.app_id == app_id, recordings.c.call_id == call_id)).first()
        record = call_record(row)
        record["events"] = [{"event": e.name, "at": e.at, "user": e.user_id, **(e.data or {})}
                            for e in events]
        record["recording"] = None if recording is None else {
            "file": recording.file, "duration": recording.duration, "size": recording.size,
            "sha256": recording.sha256, "partial": recording.partial,
            "createdAt": recording.created_at}
        return record

    def agent_events(self, app_id: str, start: float, end: float) -> list[dict[str, Any]]:
        """The agent status and state events of an app in [start, end), preceded by each agent's
        last status and last state event before ``start`` (what they were doing when the window
        opened), oldest first. Older events are not read: the log only grows."""
        names = ("agent.status", "agent.state")
        last_before = select(func.max(call_events.c.id)).where(
            call_events.c.app_id == app_id, call_events.c.at < start,
            call_events.c.name.in_(names)).group_by(call_events.c.user_id, call_events.c.name)
        query = select(call_events).where(
            call_events.c.app_id == app_id, call_events.c.name.in_(names),
            or_(and_(call_events.c.at >= start, call_events.c.at < end),
                call_events.c.id.in_(last_before))).order_by(call_events.c.id)
        with self.engine.connect() as conn:
            return [{"event": e.name, "at": e.at, "user": e.user_id, **(e.data or {})}
                    for e in conn.execute(query)]

    def list_agents(self, app_id: str) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(agents).where(agents.c.app_id == app_id)
                                .order_by(agents.c.agent_id)).all()
        return [{"id": r.agent_id, "name": r.name, "queues": r.queues, "active": r.active}
                for r in rows]

    def count_calls(self, app_id: str) -> int:
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(calls)
                                .where(calls.c.app_id == app_id)).scalar_one()

    # -- the notification outbox ---------------------------------------------------------------

    def outbox_add(self, items: Sequence[dict[str, Any]]) -> int:
        """Add notifications (channel, key, app_id, payload, created_at, next_attempt_at); one
        already there with the same channel and key is left alone. Returns how many were new."""
        with self.engine.begin() as conn:
            return sum(self._outbox_add(conn, item) for item in items)

    @staticmethod
    def _outbox_add(conn: Connection, item: dict[str, Any]) -> int:
        exists = conn.execute(select(outbox.c.id).where(
            outbox.c.channel == item["channel"], outbox.c.key == item["key"])).first()
        if exists is not None:
            return 0
        conn.execute(insert(outbox).values(attempts=0, **item))
        return 1

    def outbox_due(self, channel: str, now: float, limit: int) -> list[dict[str, Any]]:
        """Undelivered notifications of ``channel`` whose next attempt is due, oldest first."""
        query = select(outbox).where(
            outbox.c.channel == channel,
            outbox.c.delivered_at.is_(None), outbox.c.failed_at.is_(None),
            outbox.c.next_attempt_at <= now).order_by(outbox.c.id).limit(limit)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query)]

    def outbox_result(self, item_id: int, now: float, error: str | None,
                      next_attempt_at: float | None) -> None:
        """Record one attempt: delivered (``error`` None), to be retried at ``next_attempt_at``,
        or given up (``next_attempt_at`` None)."""
        with self.engine.begin() as conn:
            self._outbox_result(conn, item_id, now, error, next_attempt_at)

    @staticmethod
    def _outbox_result(conn: Connection, item_id: int, now: float, error: str | None,
                       next_attempt_at: float | None) -> None:
        values: dict[str, Any] = {"attempts": outbox.c.attempts + 1}
        if error is None:
            values["delivered_at"] = now
        else:
            values["last_error"] = error[:2000]
            if next_attempt_at is None:
                values["failed_at"] = now
            else:
                values["next_attempt_at"] = next_attempt_at
        conn.execute(update(outbox).where(outbox.c.id == item_id).values(**values))

    def outbox_items(self, channel_prefix: str) -> list[dict[str, Any]]:
        """Every notification of the channels starting with ``channel_prefix`` (for operators
        and tests), oldest first."""
        query = select(outbox).where(outbox.c.channel.startswith(channel_prefix, autoescape=True)
                                     ).order_by(outbox.c.id)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query)]


def _execute_many(conn: Connection, statement: Executable, rows: list[dict[str, Any]]) -> None:
    """`statement` for every row (each naming the same keys: its bind parameters), as one
    DBAPI ``executemany`` of the statement compiled once. ``conn.execute(statement, rows)``
    gives the same rows, but runs SQLAlchemy's parameter processing for every value of every
    row: most of the history writer's CPU at 50 calls/s (its thread shares the server's core).
    The only processing these tables need is JSON's, done here as the JSON type does it
    (``json.dumps``; None stored as JSON null)."""
    compiled = statement.compile(dialect=conn.dialect, column_keys=list(rows[0]))
    table = statement.table  # type: ignore[attr-defined]
    json_keys = {c.name for c in table.columns if isinstance(c.type, JSON)}

    def value(row: dict[str, Any], key: str) -> Any:
        return json.dumps(row[key]) if key in json_keys else row[key]

    if compiled.positional:
        order = compiled.positiontup or []
        params: list[Any] = [tuple(value(row, key) for key in order) for row in rows]
    else:
        params = [{key: value(row, key) for key in row} for row in rows]
    conn.exec_driver_sql(str(compiled), params)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers (the API, an operator's sqlite3 shell) work while the writer writes.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
