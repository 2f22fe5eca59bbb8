"""Tencent UserSigs (usersig.py) minted with Tencent's own library, `tls-sig-api-v2`, as a
business's server mints them: accepted when good, refused with the auth codes otherwise."""

from __future__ import annotations

import base64
import json
import time
import zlib

import pytest
import TLSSigAPIv2

from callcenter.domain.credentials import Role
from callcenter.domain.errors import Refused
from callcenter.domain.usersig import looks_like_usersig, verify_usersig

SDK_APP_ID = 1400000001
KEY = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e"


def mint(user: str = "alice", expire: int = 3600, sdk_app_id: int = SDK_APP_ID,
         key: str = KEY) -> str:
    return TLSSigAPIv2.TLSSigAPIv2(sdk_app_id, key).gen_sig(user, expire)


def code(token: str, **kwargs) -> str:
    with pytest.raises(Refused) as refused:
        verify_usersig(token, "shop", SDK_APP_ID, KEY, **kwargs)
    return refused.value.code.value


def test_a_good_usersig_is_a_customer_of_the_app_until_it_expires():
    token = mint(expire=600)
    assert looks_like_usersig(token)
    who = verify_usersig(token, "shop", SDK_APP_ID, KEY)
    assert (who.app_id, who.user_id, who.role, who.claims) == ("shop", "alice", Role.CUSTOMER, {})
    assert abs(who.expires_at - (time.time() + 600)) < 5
    assert code(token, now=time.time() + 601) == "AUTH_EXPIRED"


def test_one_with_user_data_is_accepted_too():
    token = TLSSigAPIv2.TLSSigAPIv2(SDK_APP_ID, KEY).gen_sig_with_userbuf("bob", 60, b"room-7")
    assert verify_usersig(token, "shop", SDK_APP_ID, KEY).user_id == "bob"


def test_forged_other_app_expired_and_malformed_ones_are_refused():
    assert code(mint(key="another-key-" * 4)) == "AUTH_INVALID"
    assert code(mint(sdk_app_id=1400000002)) == "AUTH_MISMATCH"
    assert code(mint(expire=-10)) == "AUTH_EXPIRED"
    assert code(mint(user="not a valid id")) == "BAD_USER_ID"
    good = mint()
    # Tampered: the same fields with another user, the signature kept.
    fields = json.loads(zlib.decompress(base64.b64decode(
        good.replace("*", "+").replace("-", "/").replace("_", "="))))
    fields["TLS.identifier"] = "mallory"
    forged = base64.b64encode(zlib.compress(json.dumps(fields).encode())).decode()
    assert code(forged.replace("+", "*").replace("/", "-").replace("=", "_")) == "AUTH_INVALID"
    # Small on the wire, large inflated: read no further than a UserSig can be.
    bomb = base64.b64encode(zlib.compress(b"{" + b" " * 500_000 + b"}", 9)).decode()
    assert len(bomb) < 2048
    for bad in ("", "!!!", good[:-10], "eJy" + "A" * 40, bomb, "x" * 5000,
                base64.b64encode(zlib.compress(b"[1, 2]")).decode(),
                base64.b64encode(zlib.compress(b'{"TLS.ver": "2.0"}')).decode()):
        assert code(bad) == "AUTH_INVALID", bad[:40]
