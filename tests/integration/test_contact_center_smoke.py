"""The contact center end to end in one pass: a customer queues, an agent is offered the call,
answers, hangs up and wraps up; the customer rates the call."""

from __future__ import annotations

from werkzeug.security import generate_password_hash

QUEUES = f"""
allowed_origins = ["http://shop.test"]
[[apps.queues]]
name = "sales"
ring_timeout = 5
wrap_up = 30
when_empty = "join"
[[apps.agents]]
id = "ann"
name = "Ann"
password_hash = "{generate_password_hash("pw-ann")}"
queues = ["sales"]
"""


async def test_a_queued_customer_is_answered_by_an_agent_who_then_wraps_up(server_factory,
                                                                         clients):
    server = server_factory(demo_extra=QUEUES)
    ann = await clients(server, role="agent", user_id="ann")
    update = await ann.next_event("agent_update")
    assert (update["agent"]["status"], update["agent"]["reason"]) == ("break", "login")
    ack = await ann.request("agent_status", {"status": "available"})
    assert ack["ok"] and ack["agent"]["status"] == "available"

    customer = await clients(server, "cust")
    ack = await customer.request("enqueue", {"queue": "sales", "type": 1,
                                             "attributes": {"name": "Bo", "topic": "refund"}})
    assert ack["ok"] and ack["position"] == 1, ack
    call_id = ack["callId"]
    offer = await ann.next_event("offer", callId=call_id)
    assert offer["customer"]["name"] == "Bo" and offer["customer"]["topic"] == "refund"
    assert offer["queue"] == "sales" and offer["ringTimeout"] == 5

    accepted = await ann.request("accept", {"callId": call_id})
    assert accepted["ok"] and accepted["participants"] == [customer.user_id]
    await customer.next_event("user_accept", callId=call_id, userID="ann")
    await ann.hangup(call_id)
    end = await customer.next_event("call_end", callId=call_id)
    assert end["reason"] == "hangup"
    wrap = await ann.next_event("agent_update", timeout=5)
    while wrap["agent"]["state"] != "wrap_up":
        wrap = await ann.next_event("agent_update", timeout=5)

    assert (await customer.request("rate", {"callId": call_id, "rating": 4}))["ok"]
    done = await ann.request("wrap_up", {"callId": call_id, "disposition": "refunded",
                                         "notes": "sent label"})
    assert done["ok"], done
    state = await ann.request("agent_state")
    assert state["agent"]["state"] == "waiting" and state["agent"]["answered"] == 1
    [today] = state["callsToday"]
    assert (today["callId"], today["disposition"], today["rating"]) == (call_id, "refunded", 4)
