"""Credentials (TUICalling's ``userSig``): JWTs signed with the app's secret.

A credential names the user, the app (tenant), the role and an expiry. The server trusts nothing
else a client says about itself.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import jwt

from callcenter.domain.errors import Refused

USER_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
ALGORITHM = "HS256"
# The app id of a server-level credential: a media worker shared by every app, signed with the
# server's `[recording] shared_worker_secret` instead of an app's secret. No app can be named so
# (app ids match USER_ID's alphabet).
SHARED = "*"


class Role(StrEnum):
    CUSTOMER = "customer"
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    SERVICE = "service"


# Claims a business may add when it mints a customer credential on its own server: verified
# identity that passes through to the agent, unlike what a widget says about its user.
EXTRA_CLAIMS = ("name", "priority", "attrs")
# Tokens signed for one use (api.py's signed links) say what for here; they are never logins.
PURPOSE_CLAIM = "purpose"


@dataclass(frozen=True)
class Identity:
    app_id: str
    user_id: str
    role: Role
    expires_at: int
    claims: dict[str, Any] = field(default_factory=dict)

    @property
    def priority(self) -> int:
        value = self.claims.get("priority", 0)
        return value if isinstance(value, int) and not isinstance(value, bool) else 0


def valid_user_id(user_id: object) -> bool:
    return isinstance(user_id, str) and USER_ID.match(user_id) is not None


def mint(app_id: str, secret: str, user_id: str, role: str | Role, ttl: int,
         claims: dict[str, Any] | None = None) -> str:
    """Sign a credential for ``user_id`` of ``app_id``, valid for ``ttl`` seconds.

    ``claims`` may carry ``name`` (str), ``priority`` (int) and ``attrs`` (dict of str) about a
    customer; the server passes them to agents as verified.
    """
    if not valid_user_id(user_id):
        raise Refused("BAD_USER_ID", "user id must match [A-Za-z0-9_-], 1 to 32 characters")
    extra = dict(claims or {})
    unknown = set(extra) - set(EXTRA_CLAIMS)
    if unknown:
        raise Refused("BAD_CLAIMS", f"unknown claims: {', '.join(sorted(unknown))}")
    now = int(time.time())
    body = {**extra, "sub": user_id, "app": app_id, "role": Role(role).value, "iat": now,
            "exp": now + ttl}
    return jwt.encode(body, secret, algorithm=ALGORITHM)


def app_of(token: str) -> str | None:
    """The app a credential claims to belong to, read before its signature is checked.

    Needed to pick the secret to verify with; the claim is then verified with it.
    """
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    app = claims.get("app")
    return app if isinstance(app, str) else None


def verify(token: str, app_id: str, secret: str) -> Identity:
    """Check signature, expiry and claims; return who the credential is for."""
    try:
        claims = jwt.decode(
            token, secret, algorithms=[ALGORITHM],
            options={"require": ["sub", "app", "role", "exp"]},
        )
    except jwt.ExpiredSignatureError:
        raise Refused("AUTH_EXPIRED", "the credential has expired") from None
    except jwt.PyJWTError:
        raise Refused("AUTH_INVALID", "the credential is not valid") from None
    if PURPOSE_CLAIM in claims:
        raise Refused("AUTH_INVALID", "a signed link is not a credential")
    if claims["app"] != app_id:
        raise Refused("AUTH_MISMATCH", "the credential is for another app")
    if not valid_user_id(claims["sub"]):
        raise Refused("BAD_USER_ID", "the credential names an invalid user id")
    try:
        role = Role(claims["role"])
    except ValueError:
        raise Refused("AUTH_INVALID", "the credential names an unknown role") from None
    extra = {k: claims[k] for k in EXTRA_CLAIMS if k in claims}
    return Identity(app_id=app_id, user_id=claims["sub"], role=role, expires_at=int(claims["exp"]),
                    claims=extra)


# Resume tokens (docs/protocol.md, "Resume"): issued in the hello ack, they let the same client
# session, and only it, take its session back on a new connection after the old one dropped.
RESUME_PURPOSE = "resume"


def mint_resume(identity: Identity, secret: str, session_id: str) -> str:
    """A resume token for ``identity``'s session ``session_id``, valid as long as the credential
    the session logged in with."""
    body = {"sub": identity.user_id, "app": identity.app_id, "sess": session_id,
            PURPOSE_CLAIM: RESUME_PURPOSE, "iat": int(time.time()), "exp": identity.expires_at}
    return jwt.encode(body, secret, algorithm=ALGORITHM)


def verify_resume(token: object, identity: Identity, secret: str) -> str:
    """The session id a resume token names, if it is this app's and this user's token."""
    if not isinstance(token, str):
        raise Refused("RESUME_INVALID", "resumeToken must be a string")
    try:
        claims = jwt.decode(token, secret, algorithms=[ALGORITHM],
                            options={"require": ["sub", "app", "sess", PURPOSE_CLAIM, "exp"]})
    except jwt.ExpiredSignatureError:
        raise Refused("RESUME_EXPIRED", "the resume token has expired") from None
    except jwt.PyJWTError:
        raise Refused("RESUME_INVALID", "the resume token is not valid") from None
    if claims[PURPOSE_CLAIM] != RESUME_PURPOSE or claims["app"] != identity.app_id \
            or claims["sub"] != identity.user_id or not isinstance(claims["sess"], str):
        raise Refused("RESUME_INVALID", "the resume token is not this user's")
    return claims["sess"]
