"""The REST API under /api: call history, one call's timeline, agents, queues, statistics, CSV.

A thin adapter like signaling.py: the caller is authenticated with the same credentials as the
sockets (``Authorization: Bearer <userSig>``, any case of the scheme), query strings are checked
strictly (pydantic, unknown keys refused), and database reads go through ``History.read`` so they
run off the event loop. Who may call what, and how far they see, is ``access.HTTP``: supervisors and
service credentials see their whole app, agents their own calls, customers nothing. Another app's
ids are simply not found. Credentials never go in URLs: what a browser must load by URL (an
``<audio src>``, a download) gets a short-lived link signed for that one URL (``POST /api/links``).
Errors: ``{ok: false, error: {code, message}}`` with 400, 401, 403, 404 or 405, for unknown
``/api/...`` paths too.
"""

from __future__ import annotations

import csv
import io
import json
import re
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qsl, unquote, urlencode

import jwt
from flask import Flask, Response, jsonify, request
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from werkzeug.exceptions import HTTPException

from callcenter.config import Config
from callcenter.domain import access, call_record, statistics
from callcenter.domain.access import Scope
from callcenter.domain.contact_center import ContactCenter
from callcenter.domain.credentials import (
    ALGORITHM,
    PURPOSE_CLAIM,
    Identity,
    Role,
    app_of,
    valid_user_id,
    verify,
)
from callcenter.domain.errors import Refused
from callcenter.history.db.database import CallFilter, CursorError
from callcenter.history.records import History

MAX_PAGE = 500
MAX_CSV_ROWS = 100_000
MAX_STATS_DAYS = 400
OPENAPI = Path(__file__).resolve().parent / "openapi.json"

CSV_COLUMNS = call_record.csv_columns()
TIME_COLUMNS = frozenset(call_record.csv_columns(call_record.Csv.TIME))
# A spreadsheet runs a cell that starts with one of these as a formula (OWASP "CSV injection");
# customer names, notes and dispositions are typed by people outside the operator's control.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

# Seconds a signed link stays valid: enough for a player to open the file and for a click on a
# download, short enough that a URL left in a proxy log or the browser's history is stale. A player
# that outlives it asks for a new link (web/console).
LINK_TTL = 300
# The `purpose` claim of a link: credentials.verify refuses any token that has one, so a link
# never passes as a login credential (socket or Authorization header).
LINK_PURPOSE = "link"
MAX_LINK_PATH = 2000
# Status → error code of the answers werkzeug makes itself (unknown paths, wrong methods, ...).
HTTP_ERROR_CODES = {400: "BAD_REQUEST", 404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED",
                    413: "PAYLOAD_TOO_LARGE", 500: "INTERNAL"}


class ApiError(Refused):
    """A refusal over HTTP: the one error type, with the status it is answered with."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(code, message)
        self.status = status


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

    @field_validator("start", "end", mode="before")
    @classmethod
    def _time(cls, value: Any) -> Any:
        return _timestamp(value) if isinstance(value, str) else value


# What a call's history record says of how it went (queue calls; direct calls; closed at restart).
Outcome = Literal["completed", "abandoned", "timed_out", "no_agents", "unreachable",
                  "interrupted", "answered", "unanswered"]


class CallsQuery(_Query):
    outcome: Outcome | None = None
    kind: str | None = Field(None, pattern=r"^(queue|direct)$")
    limit: int = Field(50, ge=1, le=MAX_PAGE)
    cursor: str | None = Field(None, max_length=200)


class StatsQuery(_Query):
    interval: int | None = Field(None, ge=60, le=31 * 86400)


def query_args(drop: tuple[str, ...] = ()) -> dict[str, str]:
    """The query string as one value per key (without ``drop``); a key given twice is refused
    rather than half read."""
    args = {}
    for key, values in request.args.lists():
        if key in drop:
            continue
        if len(values) > 1:
            raise ApiError(400, "BAD_REQUEST", f"{key}: given more than once")
        args[key] = values[0]
    return args


def _parse(model: type[BaseModel], args: dict[str, str]) -> Any:
    try:
        return model.model_validate(args)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "query"
        message = "unknown parameter" if err["type"] == "extra_forbidden" else \
            err["msg"].removeprefix("Value error, ")
        raise ApiError(400, "BAD_REQUEST", f"{where}: {message}") from None


def bearer_token(header: str) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header; the scheme's case does not
    matter (RFC 7235). None for a missing header or another scheme."""
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def identity_of(config: Config, links: bool = False) -> Identity:
    """Who is asking, from the Authorization header, or (where ``links``) a signed ``?link=``;
    raises 401 for a missing, forged or expired credential. The one place requests are
    authenticated: the API's endpoints and the recordings' alike."""
    if "token" in request.args:
        # Refused even beside a valid header: a credential in a URL lands in logs and histories.
        raise ApiError(401, "CREDENTIAL_IN_URL", "credentials do not go in URLs: send "
                       "Authorization: Bearer <userSig>, or ask POST /api/links for a signed link")
    token = bearer_token(request.headers.get("Authorization", ""))
    if token is not None:
        return credential_identity(config, token)
    if "link" in request.args:
        if not links:
            raise ApiError(401, "AUTH_REQUIRED", "signed links open only recordings' audio and "
                           "the CSV export; send Authorization: Bearer <userSig>")
        return _link_identity(config)
    raise ApiError(401, "AUTH_REQUIRED", "send Authorization: Bearer <userSig>")


def credential_identity(config: Config, token: str) -> Identity:
    """Who a credential (userSig) is for; raises 401 if it is forged, expired or of no app."""
    app = config.app(app_of(token) or "")
    if app is None:
        raise ApiError(401, "BAD_CREDENTIAL", "the credential names no app of this server")
    try:
        return verify(token, app.id, app.secret)
    except Refused as exc:
        raise ApiError(401, exc.code, exc.message) from None


def _resource(path: str, query: str) -> str:
    """A URL's path (decoded once, as routing sees it) and query without ``link``: what a link is
    signed for, compared so that the same URL written with other escapes (a browser's) is still
    the same."""
    pairs = [(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if k != "link"]
    return path + ("?" + urlencode(pairs) if pairs else "")


def mint_link(config: Config, who: Identity, resource: str, now: float | None = None
              ) -> tuple[str, int]:
    """A link token for ``who`` to GET ``resource`` (see ``_resource``), and when it expires: never
    later than the credential it was asked with."""
    app = config.app(who.app_id)
    assert app is not None  # who was verified with this app's secret
    issued = int(now if now is not None else time.time())
    expires = min(issued + LINK_TTL, who.expires_at)
    token = jwt.encode({"sub": who.user_id, "app": who.app_id, "role": who.role.value,
                        "res": resource, PURPOSE_CLAIM: LINK_PURPOSE, "iat": issued,
                        "exp": expires}, app.secret, algorithm=ALGORITHM)
    return token, expires


def _link_identity(config: Config) -> Identity:
    """Who a ``?link=`` was made for, if it was made for exactly this URL."""
    values = request.args.getlist("link")
    if len(values) != 1:
        raise ApiError(401, "BAD_LINK", "a URL carries one link")
    token = values[0]
    app = config.app(app_of(token) or "")
    if app is None:
        raise ApiError(401, "BAD_LINK", "the link names no app of this server")
    try:
        claims = jwt.decode(token, app.secret, algorithms=[ALGORITHM], options={
            "require": ["sub", "app", "role", "res", PURPOSE_CLAIM, "exp"]})
    except jwt.ExpiredSignatureError:
        raise ApiError(401, "LINK_EXPIRED", "the link has expired; ask POST /api/links for a "
                       "new one") from None
    except jwt.PyJWTError:
        raise ApiError(401, "BAD_LINK", "the link is not valid") from None
    if claims[PURPOSE_CLAIM] != LINK_PURPOSE or claims["app"] != app.id \
            or not valid_user_id(claims["sub"]) or claims["role"] not in set(Role):
        raise ApiError(401, "BAD_LINK", "the link is not valid")
    if claims["res"] != _resource(request.path, request.query_string.decode("latin-1")):
        raise ApiError(401, "LINK_MISMATCH", "the link was made for another URL")
    return Identity(app_id=app.id, user_id=claims["sub"], role=Role(claims["role"]),
                    expires_at=int(claims["exp"]))


def error_response(exc: ApiError) -> Any:
    return jsonify(ok=False, error={"code": exc.code, "message": exc.message}), exc.status


View = Callable[..., Any]
_LINK_VIEWS = "callcenter_link_views"  # app.extensions key: {Flask endpoint: spec} taking ?link=


def endpoint(app: Flask, config: Config, spec: str, links: bool = False) -> Callable[[View], View]:
    """Register ``view(who, scope, **path_args)`` for ``spec``, a key of ``access.HTTP`` such as
    ``"GET /api/calls/{callId}"`` (path arguments arrive in snake case: ``call_id``). The caller
    is authenticated, roles the table gives NONE get 403, and the view gets the role's scope to
    narrow what it shows; ApiError becomes the JSON error. ``links``: a signed ``?link=`` is
    accepted in place of the header (for URLs a browser loads itself)."""
    method, path = spec.split(" ", 1)
    rule = re.sub(r"\{(\w+)\}", lambda m: "<" + re.sub(r"(?<!^)([A-Z])", r"_\1",
                                                         m[1]).lower() + ">", path)
    roles = access.http_roles(spec)

    def decorate(view: View) -> View:
        def wrapped(**kwargs: Any) -> Any:
            try:
                who = identity_of(config, links=links)
                if who.role not in roles:
                    raise ApiError(403, "FORBIDDEN", "this credential's role may not ask this")
                return view(who, access.http_scope(spec, who.role), **kwargs)
            except ApiError as exc:
                return error_response(exc)
        name = "api_" + view.__name__
        app.add_url_rule(rule, name, wrapped, methods=[method])
        if links:
            app.extensions.setdefault(_LINK_VIEWS, {})[name] = spec
        return view
    return decorate


def add_api_routes(app: Flask, config: Config, center: ContactCenter, history: History) -> None:
    """Every /api endpoint: JSON errors, the call history, the live view, statistics, links and
    the OpenAPI document."""
    _add_json_errors(app)
    _add_call_routes(app, config, history)
    _add_live_routes(app, config, center, history)
    _add_stats_route(app, config, history)
    _add_link_route(app, config)

    @app.get("/api/openapi.json")
    def openapi() -> Any:
        return Response(OPENAPI.read_text(), mimetype="application/json")


def _add_json_errors(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Any:
        """Under /api, werkzeug's own answers (unknown path, wrong method, body too large) are
        JSON errors like the rest of the API; elsewhere they stay as they are."""
        if not request.path.startswith("/api/"):
            return exc
        response = exc.get_response()  # keeps headers such as Allow of a 405
        status = exc.code or 500
        code = HTTP_ERROR_CODES.get(status, re.sub(r"\W+", "_", exc.name).upper())
        response.set_data(json.dumps({"ok": False, "error": {
            "code": code, "message": exc.description or exc.name}}))
        response.content_type = "application/json"
        return response


def call_filter(who: Identity, scope: Scope, query: _Query, **more: Any) -> CallFilter:
    agent = query.agent
    if scope is Scope.OWN:
        if agent not in (None, who.user_id):
            raise ApiError(403, "FORBIDDEN", "agents see their own calls only")
        agent = who.user_id
    if query.start is not None and query.end is not None and query.start >= query.end:
        raise ApiError(400, "BAD_REQUEST", "from: must be before to")
    return CallFilter(who.app_id, query.start, query.end, query.queue, agent, **more)


def _add_call_routes(app: Flask, config: Config, history: History) -> None:
    database = history.database

    @endpoint(app, config, "GET /api/calls")
    def calls(who: Identity, scope: Scope) -> Any:
        query = _parse(CallsQuery, query_args())
        where = call_filter(who, scope, query, outcome=query.outcome, kind=query.kind)
        try:
            rows, cursor = history.read(database.list_calls, where, query.limit, query.cursor)
        except CursorError as exc:
            raise ApiError(400, "BAD_REQUEST", f"cursor: {exc}") from None
        return jsonify(ok=True, calls=rows, nextCursor=cursor)

    @endpoint(app, config, "GET /api/calls.csv", links=True)
    def calls_csv(who: Identity, scope: Scope) -> Any:
        query = _parse(CallsQuery, query_args(drop=("link",)))
        where = call_filter(who, scope, query, outcome=query.outcome, kind=query.kind)
        rows, _ = history.read(database.list_calls, where, MAX_CSV_ROWS, None)
        return Response(_csv(rows), mimetype="text/csv", headers={
            "Content-Disposition": f'attachment; filename="calls-{who.app_id}.csv"'})

    @endpoint(app, config, "GET /api/calls/{callId}")
    def call(who: Identity, scope: Scope, call_id: str) -> Any:
        _parse(_NoQuery, query_args())
        record = history.read(database.get_call, who.app_id, call_id[:64])
        if record is None or (scope is Scope.OWN and record["agent"] != who.user_id):
            raise ApiError(404, "NOT_FOUND", "no call with that id")
        return jsonify(ok=True, call=record)


def _add_live_routes(app: Flask, config: Config, center: ContactCenter, history: History) -> None:
    database = history.database

    @endpoint(app, config, "GET /api/agents")
    def agents(who: Identity, scope: Scope) -> Any:
        _parse(_NoQuery, query_args())
        live = {a["agentId"]: a for a in center.live(who.app_id)["agents"]}
        known = history.read(database.list_agents, who.app_id)
        listed = [{**row, **({"live": live[row["id"]]} if row["id"] in live else {})}
                  for row in known]
        missing = [{"id": aid, "name": a["name"], "queues": a["queues"], "active": True,
                    "live": a} for aid, a in live.items() if aid not in {r["id"] for r in known}]
        return jsonify(ok=True, agents=listed + missing)

    @endpoint(app, config, "GET /api/queues")
    def queues(who: Identity, scope: Scope) -> Any:
        _parse(_NoQuery, query_args())
        settings = center.config.app(who.app_id)  # administered: as they are now
        live = {q["name"]: q for q in center.live(who.app_id)["queues"]}
        return jsonify(ok=True, queues=[
            {**q.model_dump(include={"name", "strategy", "queueing", "ring_timeout", "wrap_up",
                                     "max_wait", "max_length", "overflow", "wait_alert"}),
             "live": live.get(q.name)} for q in (settings.queues if settings else [])])

    @endpoint(app, config, "GET /api/live")
    def live(who: Identity, scope: Scope) -> Any:
        _parse(_NoQuery, query_args())
        return jsonify(ok=True, at=time.time(), **center.live(who.app_id))


def _add_stats_route(app: Flask, config: Config, history: History) -> None:
    database = history.database

    @endpoint(app, config, "GET /api/stats")
    def stats(who: Identity, scope: Scope) -> Any:
        query = _parse(StatsQuery, query_args())
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


def _add_link_route(app: Flask, config: Config) -> None:
    @endpoint(app, config, "POST /api/links")
    def make_link(who: Identity, scope: Scope) -> Any:
        """A URL for one GET of ``path``, signed for the caller, for what a browser loads itself.
        The access rules apply when it is used, as to the caller's own requests."""
        _parse(_NoQuery, query_args())
        body = request.get_json(silent=True)
        path = body.get("path") if isinstance(body, dict) and set(body) == {"path"} else None
        if not isinstance(path, str) or not path.startswith("/api/") \
                or len(path) > MAX_LINK_PATH or "#" in path:
            raise ApiError(400, "BAD_REQUEST", 'send {"path": "/api/..."}')
        bare, _, query = path.partition("?")
        if any(k in ("link", "token") for k, _ in parse_qsl(query, keep_blank_values=True)):
            raise ApiError(400, "BAD_REQUEST", "path: carries a link or a token already")
        try:
            view, _ = app.url_map.bind("localhost").match(bare, method="GET")
        except HTTPException:
            view = None
        target = app.extensions.get(_LINK_VIEWS, {}).get(view)
        if target is None:
            raise ApiError(400, "BAD_REQUEST",
                           "path: links are for /api/recordings/<callId>/audio and /api/calls.csv")
        if access.http_scope(target, who.role) is Scope.NONE:
            raise ApiError(403, "FORBIDDEN", "this credential's role may not open that path")
        token, expires = mint_link(config, who, _resource(unquote(bare), query))
        return jsonify(ok=True, url=path + ("&" if "?" in path else "?") + "link=" + token,
                       expiresAt=expires)


class _NoQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")


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
