"""Tencent's UserSig (TLSSigAPIv2), accepted as a customer's credential of an app that names its
``sdk_app_id``: a business that mints UserSigs for TUICalling today keeps doing so.

A UserSig is JSON (``TLS.ver`` "2.0", ``TLS.identifier`` the user id, ``TLS.sdkappid``,
``TLS.time`` when it was minted, ``TLS.expire`` seconds it lasts, ``TLS.sig``, optionally
``TLS.userbuf``), zlib-compressed and base64-encoded with ``*``, ``-`` and ``_`` for ``+``, ``/``
and ``=``. ``TLS.sig`` is the base64 HMAC-SHA256, keyed with the app's secret key, of the fields
written as ``TLS.<name>:<value>\\n`` lines in a fixed order. Tencent publishes libraries that
mint UserSigs (PyPI ``tls-sig-api-v2``, a test dependency here) but none that verifies them, so
verifying is written out below. A UserSig names no role: it is a customer's. Plain Python.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
import zlib
from typing import Any

from callcenter.domain.credentials import Identity, Role, valid_user_id
from callcenter.domain.errors import Refused

# Far above a real one (~200 bytes): what a client sends is read no further than this.
MAX_USERSIG_CHARS = 2048
MAX_JSON_BYTES = 4096  # decompressed: a small input must not inflate without bound
_FROM_URL_SAFE = str.maketrans("*-_", "+/=")


def looks_like_usersig(token: str) -> bool:
    """A JWT has two dots; a UserSig's alphabet has none."""
    return "." not in token


def _fields(token: str) -> dict[str, Any]:
    if len(token) > MAX_USERSIG_CHARS:
        raise Refused("AUTH_INVALID", "the credential is not valid")
    try:
        packed = base64.b64decode(token.translate(_FROM_URL_SAFE), validate=True)
        inflate = zlib.decompressobj()
        raw = inflate.decompress(packed, MAX_JSON_BYTES)
        if inflate.unconsumed_tail:
            raise ValueError("too large")
        fields = json.loads(raw)
    except (binascii.Error, zlib.error, ValueError):
        raise Refused("AUTH_INVALID", "the credential is not valid") from None
    if not isinstance(fields, dict) or fields.get("TLS.ver") != "2.0":
        raise Refused("AUTH_INVALID", "the credential is not a UserSig of version 2.0")
    for name, kind in (("TLS.identifier", str), ("TLS.sdkappid", int), ("TLS.time", int),
                       ("TLS.expire", int), ("TLS.sig", str)):
        if not isinstance(fields.get(name), kind) or isinstance(fields.get(name), bool):
            raise Refused("AUTH_INVALID", f"the UserSig has no valid {name}")
    if "TLS.userbuf" in fields and not isinstance(fields["TLS.userbuf"], str):
        raise Refused("AUTH_INVALID", "the UserSig has no valid TLS.userbuf")
    return fields


def _signature(fields: dict[str, Any], key: str) -> str:
    content = "".join(f"TLS.{name}:{fields['TLS.' + name]}\n"
                      for name in ("identifier", "sdkappid", "time", "expire"))
    if "TLS.userbuf" in fields:
        content += f"TLS.userbuf:{fields['TLS.userbuf']}\n"
    digest = hmac.new(key.encode(), content.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def verify_usersig(token: str, app_id: str, sdk_app_id: int, key: str,
                   now: float | None = None) -> Identity:
    """Check a UserSig minted for ``sdk_app_id`` with ``key``: signature, app and expiry;
    return the customer it names."""
    fields = _fields(token)
    if not hmac.compare_digest(_signature(fields, key), fields["TLS.sig"]):
        raise Refused("AUTH_INVALID", "the credential is not valid")
    if fields["TLS.sdkappid"] != sdk_app_id:
        raise Refused("AUTH_MISMATCH", "the credential is for another app")
    expires_at = fields["TLS.time"] + fields["TLS.expire"]
    if expires_at <= (time.time() if now is None else now):
        raise Refused("AUTH_EXPIRED", "the credential has expired")
    if not valid_user_id(fields["TLS.identifier"]):
        raise Refused("BAD_USER_ID", "the credential names an invalid user id")
    return Identity(app_id=app_id, user_id=fields["TLS.identifier"], role=Role.CUSTOMER,
                    expires_at=expires_at)
