"""What `serve` writes to its log: with `[server] log_format = "json"`, one JSON object a line,
and a line per call event carrying the call's and the app's ids; the ICE library's chatter stays
out at the default level."""

from __future__ import annotations

import json

from signaling_helpers import in_call


async def test_every_call_event_is_one_log_line_with_its_ids(server_factory, clients):
    server = server_factory(server_extra='log_format = "json"')
    alice, bob = await clients(server, "alice"), await clients(server, "bob")
    call_id = await in_call(alice, bob)
    await alice.hangup(call_id)
    await bob.next_event("call_end", callId=call_id)

    lines = [line for line in server.log().splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    assert all({"time", "level", "logger", "message"} <= r.keys() for r in records)
    events = [r for r in records if r["logger"] == "callcenter.calls" and r["call_id"] == call_id]
    assert [r["event"] for r in events][:2] == ["call.invited", "call.accepted"]
    assert events[-1]["event"] == "call.ended"
    assert {r["app_id"] for r in events} == {"demo"}
    logins = [r for r in records if r["message"].startswith("login demo/")]
    assert {r["user_id"] for r in logins} >= {alice.user_id, bob.user_id}
