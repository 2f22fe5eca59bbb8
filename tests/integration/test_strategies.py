"""Agent-selection strategies and queueing disciplines (docs/config.md `strategy`, `queueing`),
proved through a real server: agents and customers in a known setup get the expected assignment.

Each setup is built so that the strategy under test gives a different answer than the others would
(e.g. longest-idle vs. round-robin), so a server that silently falls back to the default fails.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from contact_center_helpers import (
    STRATEGY_PLUGINS,
    Desk,
    agent,
    connect,
    enqueue,
    finish,
    first_offer,
    names,
    no_offer,
    queue,
    serve,
    serve_call,
    until_agent,
)
from signaling_helpers import no_event

QUEUES = [
    queue("li"),
    queue("rr1", strategy="round-robin"),
    queue("rr2", strategy="round-robin"),
    queue("fc", strategy="fewest-calls"),
    queue("ltt", strategy="least-talk-time"),
    queue("ra", strategy="ring-all"),
    queue("rnd", strategy="random"),
    queue("rndx"),
    queue("prio", queueing="priority"),
    queue("fifo"),
    queue("sk", strategy="skills"),
    queue("rq", required_skills={"billing": 50}),
]
AGENTS = [
    *(agent(f"li{i}", ["li"]) for i in (1, 2, 3)),
    *(agent(f"rr{x}", ["rr1", "rr2"]) for x in "abc"),
    *(agent(f"fc{i}", ["fc"]) for i in (1, 2)),
    *(agent(f"lt{i}", ["ltt"]) for i in (1, 2)),
    *(agent(f"ra{i}", ["ra"]) for i in (1, 2, 3, 4)),
    *(agent(f"rn{i}", ["rnd"]) for i in (1, 2, 3, 4)),
    agent("rnx", ["rndx"]),
    agent("pr1", ["prio"]),
    *(agent(f"ff{i}", ["fifo"]) for i in (1, 2)),
    agent("sk_de_hi", ["sk"], skills={"de": 90, "en": 20}),
    agent("sk_de_lo", ["sk"], skills={"de": 30}),
    agent("sk_en", ["sk"], skills={"en": 80}),
    agent("rq_lo", ["rq"], skills={"billing": 40}),
    agent("rq_hi", ["rq"], skills={"billing": 60}),
]
# docs/plugins.md: skills needs level 50 for the first 2 s of waiting, then 20; after 3 s anyone
SKILLS = {"attributes": ["language"], "levels": [[0, 50], [2, 20]], "any_after": 3}


@pytest.fixture(scope="module")
def srv(request, tmp_path_factory):
    yield from serve(request, tmp_path_factory.mktemp("strategies"), queues=QUEUES, agents=AGENTS,
                     enable=[*STRATEGY_PLUGINS, "priority"], settings={"skills": SKILLS},
                     contact_center={"enqueue_rate": "1000/minute"})


@pytest.fixture
async def desk(srv):
    async with Desk(srv) as desk:
        yield desk


async def take(desk: Desk, queue_name: str, agents, timeout: float = 5, **kw):
    """A customer joins; the offered agent accepts and keeps the call: (agent, customer, callId)."""
    customer, call_id, _ = await enqueue(desk, queue_name, **kw)
    chosen, _ = await first_offer(agents, timeout, callId=call_id)
    await connect(chosen, customer, call_id)
    return chosen, customer, call_id


async def test_longest_idle_offers_the_agent_whose_last_call_ended_longest_ago(desk):
    agents = await desk.agents("li1", "li2", "li3")
    # three calls at once: each goes to a different agent
    calls = [await take(desk, "li", agents) for _ in range(3)]
    x1, x2, x3 = (c[0] for c in calls)
    assert len({x1.user_id, x2.user_id, x3.user_id}) == 3
    # they end in another order than they were offered: x3 first, then x1, then x2
    for index in (2, 0, 1):
        chosen, customer, call_id = calls[index]
        await finish(chosen, customer, call_id)
        await asyncio.sleep(0.15)
    # the next calls (each kept) go in order of the end of the last call: x3, x1, x2 (round-robin
    # would give x1 first)
    order = [(await take(desk, "li", agents))[0] for _ in range(3)]
    assert names(order) == names([x3, x1, x2])


async def test_round_robin_goes_to_the_next_agent_and_remembers_per_queue(desk):
    agents = await desk.agents("rra", "rrb", "rrc")
    a1 = await serve_call(desk, "rr1", agents)
    a2 = await serve_call(desk, "rr1", agents)
    # the other queue keeps its own place in the round (it starts where rr1 started)
    b1 = await serve_call(desk, "rr2", agents)
    b2 = await serve_call(desk, "rr2", agents)
    a3 = await serve_call(desk, "rr1", agents)
    b3 = await serve_call(desk, "rr2", agents)
    a4 = await serve_call(desk, "rr1", agents)
    a5 = await serve_call(desk, "rr1", agents)
    assert len(set(names([a1, a2, a3]))) == 3, names([a1, a2, a3])
    # with one round shared by both queues, rr1's third call would repeat a1 or a2
    assert len(set(names([b1, b2, b3]))) == 3, names([b1, b2, b3])
    assert names([a4, a5]) == names([a1, a2])


async def test_round_robin_takes_the_next_agent_even_when_another_was_idle_longer(desk):
    # rr2's round may go on from the previous test: learn where it stands from two calls
    agents = await desk.agents("rra", "rrb", "rrc")
    first = await serve_call(desk, "rr2", agents)
    second = await serve_call(desk, "rr2", agents)
    third = next(a for a in agents if a.user_id not in names([first, second]))
    # hold two calls at once (third's and first's), end first's call before third's:
    # round-robin goes on with second, then third; longest-idle would give second, then first
    t_agent, t_customer, t_call = await take(desk, "rr2", agents)
    assert t_agent is third
    f_agent, f_customer, f_call = await take(desk, "rr2", agents)
    assert f_agent is first
    await finish(f_agent, f_customer, f_call)
    await asyncio.sleep(0.15)
    await finish(t_agent, t_customer, t_call)
    assert (await serve_call(desk, "rr2", agents)) is second
    assert (await serve_call(desk, "rr2", agents)) is third


async def test_fewest_calls_offers_the_agent_with_fewest_answered_calls_today(desk):
    fc1, fc2 = await desk.agents("fc1", "fc2")
    await fc2.agent_status("break")
    for _ in range(2):
        assert (await serve_call(desk, "fc", [fc1, fc2])) is fc1
    await fc1.agent_status("break")
    await fc2.agent_status("available")
    assert (await serve_call(desk, "fc", [fc1, fc2])) is fc2
    await fc1.agent_status("available")
    await until_agent(fc1, status="available", state="waiting")
    # fc1 has been idle longer (longest-idle would pick it) but answered 2 calls to fc2's 1
    assert (await serve_call(desk, "fc", [fc1, fc2])) is fc2
    assert (await fc2.agent_state())["agent"]["answered"] == 2
    # now 2 each; with fc2 busy the next goes to fc1
    holder, customer, call_id = await take(desk, "fc", [fc1, fc2])
    other = fc1 if holder is fc2 else fc2
    assert (await take(desk, "fc", [fc1, fc2]))[0] is other
    await finish(holder, customer, call_id)


async def test_least_talk_time_offers_the_agent_with_least_talk_today(desk):
    lt1, lt2 = await desk.agents("lt1", "lt2")
    await lt2.agent_status("break")
    assert (await serve_call(desk, "ltt", [lt1, lt2], talk=2.2)) is lt1
    await lt1.agent_status("break")
    await lt2.agent_status("available")
    for _ in range(2):
        assert (await serve_call(desk, "ltt", [lt1, lt2])) is lt2
    await lt1.agent_status("available")
    await until_agent(lt1, status="available", state="waiting")
    s1 = (await lt1.agent_state())["agent"]
    s2 = (await lt2.agent_state())["agent"]
    assert (s1["answered"], s2["answered"]) == (1, 2)
    assert s1["talkTime"] >= 2 and s2["talkTime"] < 1, (s1, s2)
    # lt2 answered more calls and was idle less long, but talked less: lt2 gets the call
    assert (await serve_call(desk, "ltt", [lt1, lt2])) is lt2


async def test_ring_all_offers_every_eligible_agent_and_the_first_to_accept_wins(desk):
    ra1, ra2, ra3 = await desk.agents("ra1", "ra2", "ra3")
    ra4 = await desk.agent("ra4", "break")
    customer, call_id, _ = await enqueue(desk, "ra")
    offers = [await a.next_event("offer", callId=call_id) for a in (ra1, ra2, ra3)]
    assert all(o["queue"] == "ra" for o in offers)
    await no_offer([ra4], within=0.3)

    ack = await ra2.accept(call_id)
    assert ack["participants"] == [customer.user_id]
    await customer.next_event("user_accept", callId=call_id, userID=ra2.user_id)
    for loser in (ra1, ra3):
        cancel = await loser.next_event("calling_cancel", callId=call_id)
        assert cancel["reason"] == "taken"
        ack = await loser.request("accept", {"callId": call_id})
        assert ack["error"]["code"] == "NOT_INVITED"
    await no_event(ra2, "calling_cancel", within=0.2)
    await finish(ra2, customer, call_id)


async def test_random_picks_only_eligible_agents_several_of_them_in_no_fixed_order(desk):
    eligible = await desk.agents("rn1", "rn2", "rn3")
    on_break = await desk.agent("rn4", "break")
    other_queue = await desk.agent("rnx")
    picked = [await serve_call(desk, "rnd", eligible) for _ in range(12)]
    await no_offer([on_break, other_queue], within=0)
    assert set(names(picked)) <= set(names(eligible))
    # all 12 to one of 3 agents by chance: p = 3 / 3**12 ≈ 6e-6
    assert len(set(names(picked))) > 1, names(picked)
    # nor a fixed rotation (longest-idle and round-robin would give one): p = 6 / 3**12 ≈ 1e-5
    rotation = names(picked[:3]) * 4
    assert names(picked) != rotation, names(picked)


async def test_priority_queueing_serves_higher_priority_first_then_by_age(desk):
    pr1 = await desk.agent("pr1", "break")
    waiting = []
    for name, priority in (("p0", None), ("p5a", 5), ("p1", 1), ("p5b", 5), ("p0b", None)):
        claims = {"priority": priority} if priority is not None else None
        customer, call_id, ack = await enqueue(desk, "prio", name, claims=claims)
        waiting.append((name, customer, call_id, ack))
        await asyncio.sleep(0.05)
    positions = {name: ack["position"] for name, _, _, ack in waiting}
    # positions at join: p0 1; p5a jumps ahead (1); p1 behind p5a (2); p5b behind p5a (2);
    # p0b last (5)
    assert positions == {"p0": 1, "p5a": 1, "p1": 2, "p5b": 2, "p0b": 5}

    await pr1.agent_status("available")
    served = []
    by_call = {call_id: (name, customer) for name, customer, call_id, _ in waiting}
    for _ in waiting:
        offer = await pr1.next_event("offer")
        name, customer = by_call[offer["callId"]]
        served.append(name)
        await connect(pr1, customer, offer["callId"])
        await finish(pr1, customer, offer["callId"], wait_idle=False)
    assert served == ["p5a", "p5b", "p1", "p0", "p0b"]


async def test_fifo_serves_customers_in_order_of_arrival_whatever_their_priority(desk):
    ff1, ff2 = await desk.agents("ff1", "ff2", status="break")
    waiting = []
    for name, priority in (("f1", None), ("f2", None), ("f3", 9), ("f4", None)):
        claims = {"priority": priority} if priority is not None else None
        customer, call_id, ack = await enqueue(desk, "fifo", name, claims=claims)
        waiting.append((name, customer, call_id))
        assert ack["position"] == len(waiting)
        await asyncio.sleep(0.05)
    by_call = {call_id: (name, customer) for name, customer, call_id in waiting}

    await ff1.agent_status("available")
    o1 = await ff1.next_event("offer")
    await connect(ff1, by_call[o1["callId"]][1], o1["callId"])
    await ff2.agent_status("available")
    o2 = await ff2.next_event("offer")
    await connect(ff2, by_call[o2["callId"]][1], o2["callId"])
    served = [by_call[o1["callId"]][0], by_call[o2["callId"]][0]]
    for agent_client, offer in ((ff1, o1), (ff2, o2)):
        await finish(agent_client, by_call[offer["callId"]][1], offer["callId"],
                     wait_idle=False)
        nxt = await agent_client.next_event("offer")
        served.append(by_call[nxt["callId"]][0])
        await connect(agent_client, by_call[nxt["callId"]][1], nxt["callId"])
    assert served == ["f1", "f2", "f3", "f4"]


async def test_skills_offers_the_most_skilled_matching_agent(desk):
    agents = de_hi, de_lo, en = await desk.agents("sk_de_hi", "sk_de_lo", "sk_en")
    # de_lo has been idle longest, but de_hi speaks German best
    assert (await serve_call(desk, "sk", agents, attributes={"language": "de"})) is de_hi
    assert (await serve_call(desk, "sk", agents, attributes={"language": "en"})) is en
    assert (await serve_call(desk, "sk", agents, attributes={"language": "de"})) is de_hi


async def test_skills_widens_to_lower_levels_then_to_anyone_as_the_wait_grows(desk):
    de_hi, de_lo, en = await desk.agents("sk_de_hi", "sk_de_lo", "sk_en")
    holder, customer, call_id = await take(desk, "sk", [de_hi, de_lo, en],
                                           attributes={"language": "de"})
    assert holder is de_hi
    # de_lo (level 30) is below 50: the call waits until the 2 s step lowers it to 20
    started = time.monotonic()
    low, _, _ = await take(desk, "sk", [de_lo, en], attributes={"language": "de"}, timeout=5)
    assert low is de_lo and time.monotonic() - started >= 1.8
    await no_offer([en], within=0)
    # nobody speaks French: after any_after (3 s) any agent may take it
    started = time.monotonic()
    anyone, _, _ = await take(desk, "sk", [en], attributes={"language": "fr"}, timeout=6)
    assert anyone is en and time.monotonic() - started >= 2.8


async def test_calls_of_a_queue_with_required_skills_skip_agents_below_the_level(desk):
    rq_lo = await desk.agent("rq_lo")  # idle longest, but billing 40 < 50
    rq_hi = await desk.agent("rq_hi")
    holder, customer, call_id = await take(desk, "rq", [rq_lo, rq_hi])
    assert holder is rq_hi
    waiting, waiting_id, _ = await enqueue(desk, "rq")
    await no_offer([rq_lo], within=1.2)
    await finish(rq_hi, customer, call_id, wait_idle=False)
    await rq_hi.next_event("offer", callId=waiting_id, timeout=2)
