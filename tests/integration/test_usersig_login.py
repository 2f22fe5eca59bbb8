"""Logging in with a Tencent UserSig (docs/from-tuicalling.md): an app with `sdk_app_id` takes
the UserSig a business mints with Tencent's own library (`tls-sig-api-v2`), by its app id or by
its SDKAppID, as a customer; forged, expired, other-app and malformed ones get the auth codes and
no session."""

from __future__ import annotations

import pytest
import TLSSigAPIv2
from contact_center_helpers import _start_server

from callcenter.client.call_client import CallClient, CallClientError

pytestmark = pytest.mark.timeout(60)

SDK_APP_ID = 1400000001
DEMO_SECRET = "test-secret-demo-0123456789abcdef0123456789"  # tests/conftest.py's


def usersig(user: str, expire: int = 3600, sdk_app_id: int = SDK_APP_ID,
            key: str = DEMO_SECRET) -> str:
    return TLSSigAPIv2.TLSSigAPIv2(sdk_app_id, key).gen_sig(user, expire)


@pytest.fixture(scope="module")
def tencent(request, tmp_path_factory):
    start = _start_server(request.config)
    server = start(tmp_path_factory.mktemp("usersig"), demo_extra=f"sdk_app_id = {SDK_APP_ID}")
    yield server
    server.stop()
    assert "Traceback" not in server.log(), server.log()


async def refusal(server, app_id: str, user: str, sig: str) -> str:
    client = CallClient(server.url, app_id)
    try:
        await client.login(user, sig)
    except CallClientError as exc:
        return exc.code
    finally:
        await client.close()
    raise AssertionError("logged in")


async def test_a_usersig_logs_a_customer_in_by_app_id_or_by_sdkappid(tencent):
    for app_id in ("demo", str(SDK_APP_ID)):
        client = CallClient(tencent.url, app_id)
        try:
            ack = await client.login("tina", usersig("tina"))
            assert (ack["userID"], ack["appId"], ack["role"]) == ("tina", "demo", "customer")
        finally:
            await client.close()


async def test_forged_expired_other_app_and_malformed_usersigs_are_refused(tencent):
    good = usersig("tina")
    cases = {
        "expired": ("tina", usersig("tina", expire=-5), "AUTH_EXPIRED"),
        "wrong key": ("tina", usersig("tina", key="not-the-apps-secret-" * 3), "AUTH_INVALID"),
        "other SDKAppID": ("tina", usersig("tina", sdk_app_id=1400000002), "AUTH_MISMATCH"),
        "another user's": ("mallory", good, "AUTH_MISMATCH"),
        "tampered": ("tina", good[:20] + ("A" if good[20] != "A" else "B") + good[21:],
                     "AUTH_INVALID"),
        "truncated": ("tina", good[:-12], "AUTH_INVALID"),
        "garbage": ("tina", "%%%%", "AUTH_INVALID"),
    }
    for what, (user, sig, code) in cases.items():
        assert await refusal(tencent, "demo", user, sig) == code, what
    # An app without sdk_app_id takes no UserSig at all.
    assert await refusal(tencent, "other", "tina", usersig("tina")) == "AUTH_INVALID"
    # An SDKAppID nobody has is no app.
    assert await refusal(tencent, "1400000009", "tina", good) == "UNKNOWN_APP"
