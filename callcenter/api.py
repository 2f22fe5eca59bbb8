"""The REST API under /api: call history, one call's timeline, agents, queues, statistics, CSV.

A thin adapter like signaling.py: the caller is authenticated with the same credentials as the
sockets (``Authorization: Bearer <userSig>``, or ``?token=`` for links such as a CSV download),
query strings are checked strictly (pydantic, unknown keys refused), and database reads go through
``History.read`` so they run off the event loop. Supervisors and service credentials see their
whole app; agents see their own calls; customers nothing. Another app's ids are simply not found.
Errors: ``{ok: false, error: {code, message}}`` with 400, 401, 403 or 404.
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import Flask, Response, jsonify, request
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from callcenter import statistics
from callcenter.config import Config
from callcenter.contact_center import ContactCenter
from callcenter.credentials import CredentialError, Identity, Role, app_of, verify
from callcenter.db.database import CallFilter, CursorError
from callcenter.history import History

MAX_PAGE = 500
MAX_CSV_ROWS = 100_000
MAX_STATS_DAYS = 400
OPENAPI = Path(__file__).resolve().parent / "openapi.json"

CSV_COLUMNS = ("callId", "kind", "queue", "originalQueue", "customerId", "customerName", "agent",
               "type", "priority", "joinedAt", "offeredAt", "answeredAt", "endedAt", "wait",
               "talk", "hold", "wrapUp", "originalPosition", "finalPosition", "ringAttempts",
               "outcome", "endReason", "endedBy", "disposition", "notes", "rating", "recorded")
TIME_COLUMNS = {"joinedAt", "offeredAt", "answeredAt", "endedAt"}
# A spreadsheet runs a cell that starts with one of these as a formula (OWASP "CSV injection");
# customer names, notes and dispositions are typed by people outside the operator's control.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _timestamp(value: str) -> float:
    """Epoch seconds, or an ISO 8601 time (with a zone, or UTC when it has none)."""
    try:
        return float(value)
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError("a time is epoch seconds or ISO 8601, e.g. 2026-11-26T08:00:00Z") \
            from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


class _Query(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # `from` is a Python keyword: the query key is `from`, the field `start`.
    start: float | None = Field(None, alias="from")
    end: float | None = Field(None, alias="to")
    # Only the form is checked: history keeps the names of queues and agents since removed.
    queue: str | None = Field(None, pattern=r"^[A-Za-z0-9_-]{1,32}$")
    agent: str | None = Field(None, pattern=r"^[A-Za-z0-9_-]{1,32}$")
    token: str | None = None  # the credential, for links; checked before the query

    @field_validator("start", "end", mode="before")
    @classmethod
    def _time(cls, value: Any) -> Any:
        return _timestamp(value) if isinstance(value, str) else value


class CallsQuery(_Query):
    outcome: str | None = Field(None, pattern=r"^[a-z_]{1,16}$")
    kind: str | None = Field(None, pattern=r"^(queue|direct)$")
    limit: int = Field(50, ge=1, le=MAX_PAGE)
    cursor: str | None = Field(None, max_length=200)


class StatsQuery(_Query):
    interval: int | None = Field(None, ge=60, le=31 * 86400)


def _parse(model: type[BaseModel], args: dict[str, str]) -> Any:
    try:
        return model.model_validate(args)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "query"
        message = "unknown parameter" if err["type"] == "extra_forbidden" else \
            err["msg"].removeprefix("Value error, ")
        raise ApiError(400, "BAD_REQUEST", f"{where}: {message}") from None


def identity_of(config: Config) -> Identity:
    """Who is asking; raises 401 for a missing, forged or expired credential."""
    header = request.headers.get("Authorization", "")
    token = header[7:] if header.startswith("Bearer ") else request.args.get("token", "")
    if not token:
        raise ApiError(401, "AUTH_REQUIRED", "send Authorization: Bearer <userSig>")
    app = config.app(app_of(token) or "")
    if app is None:
        raise ApiError(401, "BAD_CREDENTIAL", "the credential names no app of this server")
    try:
        return verify(token, app.id, app.secret)
    except CredentialError as exc:
        raise ApiError(401, exc.code, exc.message) from None


def add_api_routes(app: Flask, config: Config, center: ContactCenter, history: History) -> None:
    database = history.database

    def route(rule: str, roles: tuple[Role, ...] = (Role.SUPERVISOR, Role.SERVICE, Role.AGENT)
              ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """A GET endpoint that needs one of ``roles``; ApiError becomes the JSON error."""
        def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
            def wrapped(**kwargs: Any) -> Any:
                try:
                    who = identity_of(config)
                    if who.role not in roles:
                        raise ApiError(403, "FORBIDDEN", "this credential's role may not ask this")
                    return view(who, **kwargs)
                except ApiError as exc:
                    return jsonify(ok=False, error={"code": exc.code,
                                                    "message": exc.message}), exc.status
            app.add_url_rule(rule, "api_" + view.__name__, wrapped)
            return view
        return decorate

    def call_filter(who: Identity, query: _Query, **more: Any) -> CallFilter:
        agent = query.agent
        if who.role is Role.AGENT:
            if agent not in (None, who.user_id):
                raise ApiError(403, "FORBIDDEN", "agents see their own calls only")
            agent = who.user_id
        if query.start is not None and query.end is not None and query.start >= query.end:
            raise ApiError(400, "BAD_REQUEST", "from: must be before to")
        return CallFilter(who.app_id, query.start, query.end, query.queue, agent, **more)

    @route("/api/calls")
    def calls(who: Identity) -> Any:
        query = _parse(CallsQuery, request.args.to_dict())
        where = call_filter(who, query, outcome=query.outcome, kind=query.kind)
        try:
            rows, cursor = history.read(database.list_calls, where, query.limit, query.cursor)
        except CursorError as exc:
            raise ApiError(400, "BAD_REQUEST", f"cursor: {exc}") from None
        return jsonify(ok=True, calls=rows, nextCursor=cursor)

    @route("/api/calls.csv")
    def calls_csv(who: Identity) -> Any:
        query = _parse(CallsQuery, request.args.to_dict())
        where = call_filter(who, query, outcome=query.outcome, kind=query.kind)
        rows, _ = history.read(database.list_calls, where, MAX_CSV_ROWS, None)
        return Response(_csv(rows), mimetype="text/csv", headers={
            "Content-Disposition": f'attachment; filename="calls-{who.app_id}.csv"'})

    @route("/api/calls/<call_id>")
    def call(who: Identity, call_id: str) -> Any:
        record = history.read(database.get_call, who.app_id, call_id[:64])
        if record is None or (who.role is Role.AGENT and record["agent"] != who.user_id):
            raise ApiError(404, "NOT_FOUND", "no call with that id")
        return jsonify(ok=True, call=record)

    @route("/api/agents", roles=(Role.SUPERVISOR, Role.SERVICE))
    def agents(who: Identity) -> Any:
        _parse(_NoQuery, request.args.to_dict())
        live = {a["agentId"]: a for a in center.live(who.app_id)["agents"]}
        known = history.read(database.list_agents, who.app_id)
        listed = [{**row, **({"live": live[row["id"]]} if row["id"] in live else {})}
                  for row in known]
        missing = [{"id": aid, "name": a["name"], "queues": a["queues"], "active": True,
                    "live": a} for aid, a in live.items() if aid not in {r["id"] for r in known}]
        return jsonify(ok=True, agents=listed + missing)

    @route("/api/queues")
    def queues(who: Identity) -> Any:
        _parse(_NoQuery, request.args.to_dict())
        settings = config.app(who.app_id)
        live = {q["name"]: q for q in center.live(who.app_id)["queues"]}
        return jsonify(ok=True, queues=[
            {**q.model_dump(include={"name", "strategy", "queueing", "ring_timeout", "wrap_up",
                                     "max_wait", "max_length", "overflow", "wait_alert"}),
             "live": live.get(q.name)} for q in (settings.queues if settings else [])])

    @route("/api/live", roles=(Role.SUPERVISOR, Role.SERVICE))
    def live(who: Identity) -> Any:
        _parse(_NoQuery, request.args.to_dict())
        return jsonify(ok=True, at=time.time(), **center.live(who.app_id))

    @route("/api/stats", roles=(Role.SUPERVISOR, Role.SERVICE))
    def stats(who: Identity) -> Any:
        query = _parse(StatsQuery, request.args.to_dict())
        now = time.time()
        end = query.end if query.end is not None else now
        start = query.start if query.start is not None else _midnight(now)
        if start >= end:
            raise ApiError(400, "BAD_REQUEST", "from: must be before to")
        if end - start > MAX_STATS_DAYS * 86400:
            # Statistics are computed over the window's call rows: bound the work of one request.
            raise ApiError(400, "BAD_REQUEST", f"from: a window is at most {MAX_STATS_DAYS} days")
        interval = query.interval or (3600 if end - start <= 2 * 86400 else 86400)
        where = CallFilter(who.app_id, start, end, query.queue, query.agent, kind="queue")
        thresholds = statistics.Thresholds(config.statistics.service_level_seconds,
                                           config.statistics.short_abandon_seconds)
        rows, events = history.read(lambda: (database.calls_for_statistics(where),
                                              database.agent_events(who.app_id, start, end)))
        if query.agent is not None:
            events = [e for e in events if e.get("user") == query.agent]
        try:
            series = statistics.series(rows, start, end, interval, thresholds)
        except ValueError as exc:
            raise ApiError(400, "BAD_REQUEST", f"interval: {exc}") from None
        summary = statistics.summarize(rows, events, start, end, thresholds, now)
        return jsonify(ok=True, summary=summary, series=series, interval=interval)

    @app.get("/api/openapi.json")
    def openapi() -> Any:
        return Response(OPENAPI.read_text(), mimetype="application/json")


class _NoQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    token: str | None = None


def _midnight(now: float) -> float:
    return time.mktime(time.localtime(now)[:3] + (0, 0, 0, 0, 0, -1))


def csv_cell(value: Any) -> Any:
    """A text cell a spreadsheet would run as a formula, quoted with ``'`` (shown as text, as
    OWASP recommends); numbers, which we write ourselves, stay numbers."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def _csv(rows: list[dict[str, Any]]) -> Iterator[str]:
    """CSV with a header; times as ISO 8601 UTC so spreadsheets read them."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        values = []
        for column in CSV_COLUMNS:
            value = row.get(column)
            if column in TIME_COLUMNS and value is not None:
                value = datetime.fromtimestamp(value, tz=UTC).isoformat()
            elif isinstance(value, (dict, list)):
                value = json.dumps(value)
            values.append("" if value is None else csv_cell(value))
        writer.writerow(values)
    yield buffer.getvalue()
