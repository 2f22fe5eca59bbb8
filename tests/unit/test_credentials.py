"""Credentials: signed, expiring, bound to one app, one user and one role."""

from __future__ import annotations

import pytest

from callcenter.domain.credentials import Role, app_of, mint, valid_user_id, verify
from callcenter.domain.errors import Refused

SECRET = "k" * 40
OTHER = "o" * 40


def test_a_minted_credential_verifies_with_its_claims():
    identity = verify(mint("demo", SECRET, "alice", "agent", 60), "demo", SECRET)
    assert (identity.app_id, identity.user_id, identity.role) == ("demo", "alice", Role.AGENT)


def test_a_credential_signed_with_another_secret_is_invalid():
    with pytest.raises(Refused) as err:
        verify(mint("demo", OTHER, "alice", "customer", 60), "demo", SECRET)
    assert err.value.code == "AUTH_INVALID"


def test_an_expired_credential_is_refused():
    with pytest.raises(Refused) as err:
        verify(mint("demo", SECRET, "alice", "customer", -5), "demo", SECRET)
    assert err.value.code == "AUTH_EXPIRED"


def test_a_credential_for_another_app_is_refused_even_with_the_same_secret():
    token = mint("other", SECRET, "alice", "customer", 60)
    assert app_of(token) == "other"
    with pytest.raises(Refused) as err:
        verify(token, "demo", SECRET)
    assert err.value.code == "AUTH_MISMATCH"


@pytest.mark.parametrize("token", ["", "garbage", "a.b.c", "e30.e30.e30"])
def test_garbage_is_invalid(token: str):
    assert app_of(token) is None
    with pytest.raises(Refused) as err:
        verify(token, "demo", SECRET)
    assert err.value.code == "AUTH_INVALID"


def test_a_token_without_signature_is_invalid():
    import jwt

    token = jwt.encode({"sub": "a", "app": "demo", "role": "agent", "exp": 2**40}, key=None,
                       algorithm="none")
    with pytest.raises(Refused) as err:
        verify(token, "demo", SECRET)
    assert err.value.code == "AUTH_INVALID"


@pytest.mark.parametrize(("user_id", "ok"), [
    ("alice", True), ("A-b_9", True), ("x" * 32, True), ("x" * 33, False), ("", False),
    ("a b", False), ("é", False), ("a/b", False), (7, False),
])
def test_user_id_rule(user_id: object, ok: bool):
    assert valid_user_id(user_id) is ok


def test_mint_refuses_a_bad_user_id():
    with pytest.raises(Refused) as err:
        mint("demo", SECRET, "no spaces", "customer", 60)
    assert err.value.code == "BAD_USER_ID"
