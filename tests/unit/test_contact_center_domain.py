"""The contact center's domain without a server: strategies, queueing and every agent rule,
driven with a fake clock through the real plugin host and stock plugins."""

from __future__ import annotations

from typing import Any

import pytest

from callcenter.config import parse
from callcenter.domain.calls import EndReason, Limits, Outcome, Switchboard
from callcenter.domain.contact_center import ContactCenter
from callcenter.domain.credentials import Identity, Role
from callcenter.domain.errors import Refused
from callcenter.hooks.host import PluginHost
from callcenter.store import MemoryStore

APP = "demo"
STOCK = ["round-robin", "ring-all", "fewest-calls", "least-talk-time", "random", "skills",
         "priority"]


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


class World:
    """A contact center with agents a1..aN logged in and available, and helpers to drive it."""

    def __init__(self, queue: dict[str, Any], agents: dict[str, dict[str, Any]],
                 queues: list[dict[str, Any]] | None = None, skills: dict | None = None,
                 grace: int = 5) -> None:
        self.clock = Clock()
        data = {
            "contact_center": {"agent_grace": grace},
            "apps": [{"id": APP, "secret": "s" * 40,
                      "queues": [{"name": "q", "when_empty": "join", **queue}, *(queues or [])],
                      "agents": [{"id": a, "password_hash": "x", "queues": ["q"], **extra}
                                 for a, extra in agents.items()]}],
            "plugins": {"enable": STOCK, "settings": {"skills": skills or {}}},
        }
        config = parse(data)
        self.plugins = PluginHost(config)
        self.plugins.load()
        self.plugins.startup()
        self.store = MemoryStore()
        self.board = Switchboard(self.store, Limits(), self.clock)
        self.center = ContactCenter(config, self.board, self.plugins)
        self.outs: list[Outcome] = []
        for agent in agents:
            self.login(agent)
            self.clock.now += 1  # a1 has been idle longest
            self.run(self.center.set_status(APP, agent, "available", None))
        self.seq = 0

    def run(self, out: Outcome) -> Outcome:
        self.outs.append(out)
        return out

    def login(self, user: str) -> None:
        self.store.bind_session(APP, user, f"sid-{user}")
        self.run(self.center.session_started(APP, user))

    def enqueue(self, queue: str = "q", attributes: dict | None = None, priority: int = 0,
                customer: str | None = None) -> str:
        self.seq += 1
        customer = customer or f"c{self.seq}"
        self.store.bind_session(APP, customer, f"sid-{customer}")
        claims = {"priority": priority} if priority else {}
        identity = Identity(APP, customer, Role.CUSTOMER, 0, claims)
        out = self.run(self.center.enqueue(identity, queue, 1, attributes or {}))
        self.clock.now += 1
        return out.reply["callId"]

    def offers(self, since: int = 0) -> list[tuple[str, str]]:
        return [(n.to, n.payload["callId"]) for o in self.outs[since:] for n in o.notices
                if n.event == "offer"]

    def offered_to(self, call_id: str) -> list[str]:
        return [agent for agent, cid in self.offers() if cid == call_id]

    def answer(self, agent: str, call_id: str) -> None:
        self.run(self.center.accept(APP, agent, call_id))

    def complete(self, agent: str, call_id: str, talk: float = 10) -> None:
        self.answer(agent, call_id)
        self.clock.now += talk
        self.run(self.center.hangup(APP, agent, call_id))
        self.run(self.center.wrap_up(APP, agent, call_id, None, None))

    def timers(self, kind: str) -> list:
        return [t for o in self.outs for t in o.timers if t.kind == kind]

    def fire(self, kind: str, **match) -> None:
        for timer in self.timers(kind):
            if all(getattr(timer, k) == v for k, v in match.items()):
                self.run(self.center.on_timer(timer))

    def agent(self, agent: str):
        return self.center.agents[(APP, agent)]


AGENTS3 = {"a1": {}, "a2": {}, "a3": {}}


def test_longest_idle_offers_the_agent_idle_longest():
    w = World({}, AGENTS3)
    first = w.enqueue()
    assert w.offered_to(first) == ["a1"]
    w.complete("a1", first)
    second = w.enqueue()
    assert w.offered_to(second) == ["a2"]  # a1 just finished a call


def test_round_robin_goes_to_the_next_agent_after_the_last_one_offered():
    w = World({"strategy": "round-robin"}, AGENTS3)
    order = []
    for _ in range(4):
        call = w.enqueue()
        [agent] = w.offered_to(call)
        order.append(agent)
        w.complete(agent, call)
    assert order == ["a1", "a2", "a3", "a1"]


def test_ring_all_rings_everyone_and_the_first_to_accept_wins():
    w = World({"strategy": "ring-all"}, AGENTS3)
    call = w.enqueue()
    assert sorted(w.offered_to(call)) == ["a1", "a2", "a3"]
    w.answer("a2", call)
    cancels = [(n.to, n.payload["reason"]) for n in w.outs[-1].notices
               if n.event == "calling_cancel"]
    assert sorted(cancels) == [("a1", "taken"), ("a3", "taken")]
    with pytest.raises(Refused) as err:
        w.center.accept(APP, "a1", call)
    assert err.value.code == "NOT_INVITED"
    assert [w.agent(a).state.value for a in ("a1", "a2", "a3")] == ["waiting", "in_call",
                                                                    "waiting"]


def test_fewest_calls_prefers_the_agent_with_fewest_answered():
    w = World({"strategy": "fewest-calls"}, AGENTS3)
    for agent in ("a1", "a1", "a2"):
        w.agent(agent).answered += 1
    assert w.offered_to(w.enqueue()) == ["a3"]


def test_least_talk_time_prefers_the_agent_who_talked_least():
    w = World({"strategy": "least-talk-time"}, AGENTS3)
    w.agent("a1").talk_time, w.agent("a2").talk_time, w.agent("a3").talk_time = 50, 5, 20
    assert w.offered_to(w.enqueue()) == ["a2"]


def test_random_picks_only_eligible_agents_and_more_than_one_of_them():
    w = World({"strategy": "random"}, {**AGENTS3, "a4": {}})
    w.run(w.center.set_status(APP, "a4", "break", "lunch"))
    picked = set()
    for _ in range(30):
        call = w.enqueue()
        [agent] = w.offered_to(call)
        picked.add(agent)
        w.complete(agent, call)
    assert "a4" not in picked and len(picked) > 1


def test_skills_match_the_call_language_and_widen_with_the_wait():
    w = World({"strategy": "skills"}, {"en1": {"skills": {"en": 90}},
                                      "de_low": {"skills": {"de": 30}},
                                      "de_hi": {"skills": {"de": 80}}},
              skills={"attributes": ["language"], "levels": [[0, 50], [20, 10]],
                      "any_after": 60})
    w.run(w.center.set_status(APP, "de_hi", "break", "lunch"))
    call = w.enqueue(attributes={"language": "de"})
    assert w.offered_to(call) == []  # de_low is below level 50 for now
    w.clock.now += 20
    w.run(w.center.tick(APP))
    assert w.offered_to(call) == ["de_low"]


def test_skills_prefer_the_most_skilled_match():
    w = World({"strategy": "skills"}, {"a": {"skills": {"en": 60}}, "b": {"skills": {"en": 95}}},
              skills={"levels": [[0, 50]]})
    assert w.offered_to(w.enqueue(attributes={"language": "en"})) == ["b"]


def test_required_skills_of_a_queue_filter_every_strategy():
    w = World({"required_skills": {"billing": 10}}, {"a1": {}, "a2": {"skills": {"billing": 10}}})
    assert w.offered_to(w.enqueue()) == ["a2"]


def test_fifo_serves_the_oldest_call_first():
    w = World({}, {"a1": {}})
    w.run(w.center.set_status(APP, "a1", "break", None))
    first, second = w.enqueue(), w.enqueue()
    w.run(w.center.set_status(APP, "a1", "available", None))
    assert w.offers() == [("a1", first)]
    assert second not in [c for _, c in w.offers()]


def test_priority_beats_age_and_ties_go_by_age():
    w = World({"queueing": "priority"}, {"a1": {}})
    w.run(w.center.set_status(APP, "a1", "break", None))
    old_low = w.enqueue(priority=1)
    high = w.enqueue(priority=5)
    young_low = w.enqueue(priority=1)
    order = [c.call_id for c in w.center._in_queue(APP, "q")]
    assert order == [high, old_low, young_low]


def test_ring_timeout_moves_the_offer_to_the_next_agent():
    w = World({"ring_timeout": 5}, {"a1": {}, "a2": {}})
    call = w.enqueue()
    w.fire("ring", user_id="a1")
    assert w.offered_to(call) == ["a1", "a2"]
    assert w.agent("a1").missed_in_row == 1 and w.agent("a1").state.value == "waiting"


def test_missed_offers_in_a_row_put_the_agent_on_break():
    w = World({"ring_timeout": 5, "max_no_answer": 2}, {"a1": {}})
    call = w.enqueue()
    for _ in range(2):  # the only agent is offered the call again after each miss
        w.run(w.center.on_timer(w.timers("ring")[-1]))
    assert w.offered_to(call) == ["a1", "a1"]
    agent = w.agent("a1")
    assert (agent.status.value, agent.reason) == ("break", "no_answer")


def test_a_rejecting_agent_is_not_offered_again_until_the_delay_is_over():
    w = World({"reject_delay": 10}, {"a1": {}, "a2": {}})
    w.run(w.center.set_status(APP, "a2", "break", None))
    call = w.enqueue()
    w.run(w.center.reject(APP, "a1", call))
    w.run(w.center.tick(APP))
    assert w.offered_to(call) == ["a1"]
    w.clock.now += 10
    w.run(w.center.tick(APP))
    assert w.offered_to(call) == ["a1", "a1"]


def test_rejected_call_goes_to_another_agent_at_once():
    w = World({}, {"a1": {}, "a2": {}})
    call = w.enqueue()
    w.run(w.center.reject(APP, "a1", call))
    assert w.offered_to(call) == ["a1", "a2"]


def test_wrap_up_holds_the_agent_until_the_timer_or_the_wrap_up_request():
    w = World({"wrap_up": 30}, {"a1": {}})
    first = w.enqueue()
    w.answer("a1", first)
    w.run(w.center.hangup(APP, "a1", first))
    assert w.agent("a1").state.value == "wrap_up"
    second = w.enqueue()
    assert w.offered_to(second) == []
    w.fire("wrap_up", user_id="a1")
    assert w.agent("a1").state.value == "ringing" and w.offered_to(second) == ["a1"]


def test_an_agent_never_holds_two_calls():
    w = World({}, {"a1": {}})
    first, second = w.enqueue(), w.enqueue()
    w.answer("a1", first)
    w.run(w.center.tick(APP))
    assert w.offered_to(second) == []


def test_a_dropped_agent_loses_the_ringing_offer_at_once_and_goes_offline_after_grace():
    w = World({}, {"a1": {}, "a2": {}}, grace=5)
    call = w.enqueue()
    w.store.unbind_session(APP, "a1", "sid-a1")
    w.run(w.center.session_ended(APP, "a1", EndReason.DISCONNECTED))
    assert w.offered_to(call) == ["a1", "a2"]
    assert w.agent("a1").status.value == "available"
    w.fire("agent_grace", user_id="a1")
    assert w.agent("a1").status.value == "offline"


def test_an_agent_back_within_grace_keeps_their_status():
    w = World({}, {"a1": {}}, grace=5)
    w.run(w.center.session_ended(APP, "a1", EndReason.DISCONNECTED))
    w.login("a1")
    w.fire("agent_grace", user_id="a1")
    assert w.agent("a1").status.value == "available"


def test_a_customer_hanging_up_withdraws_the_offer_and_records_the_abandon():
    w = World({}, {"a1": {}})
    call = w.enqueue(customer="cust")
    w.run(w.center.hangup(APP, "cust", call))
    cancel = [n for n in w.outs[-1].notices if n.event == "calling_cancel"]
    assert [(n.to, n.payload["reason"]) for n in cancel] == [("a1", "abandoned")]
    record = w.center.finished[(APP, call)]
    assert (record.outcome, record.original_position) == ("abandoned", 1)
    with pytest.raises(Refused):
        w.center.accept(APP, "a1", call)
    assert w.agent("a1").state.value == "waiting"


def test_max_wait_overflows_to_the_target_queue():
    w = World({"max_wait": 30, "overflow": "backup"}, {"a1": {}},
              queues=[{"name": "backup", "when_empty": "join"}])
    w.run(w.center.set_status(APP, "a1", "break", None))
    call = w.enqueue()
    w.fire("max_wait", call_id=call)
    assert w.center.calls[(APP, call)].queue == "backup"


def test_max_wait_without_overflow_ends_the_call_with_queue_timeout():
    w = World({"max_wait": 30}, {"a1": {}})
    w.run(w.center.set_status(APP, "a1", "break", None))
    call = w.enqueue(customer="cust")
    w.fire("max_wait", call_id=call)
    ends = [n.payload for n in w.outs[-1].notices if n.event == "call_end"]
    assert ends == [{"callId": call, "reason": "queue_timeout"}]
    assert w.center.finished[(APP, call)].outcome == "timed_out"


def test_a_full_queue_refuses_new_calls():
    w = World({"max_length": 1}, {"a1": {}})
    w.run(w.center.set_status(APP, "a1", "break", None))
    w.enqueue()
    with pytest.raises(Refused) as err:
        w.enqueue()
    assert err.value.code == "QUEUE_FULL"


def test_an_unstaffed_refusing_queue_refuses_calls():
    w = World({"when_empty": "refuse"}, {})
    with pytest.raises(Refused) as err:
        w.enqueue()
    assert err.value.code == "NO_AGENTS"


def test_positions_and_estimated_wait_follow_the_queue():
    w = World({}, {"a1": {}})
    w.run(w.center.set_status(APP, "a1", "break", None))
    calls = [w.enqueue() for _ in range(3)]
    assert [w.center.calls[(APP, c)].position for c in calls] == [1, 2, 3]
    w.run(w.center.hangup(APP, "c1", calls[0]))
    assert [w.center.calls[(APP, c)].position for c in calls[1:]] == [1, 2]
    updates = [n.payload["position"] for n in w.outs[-1].notices if n.event == "queue_update"]
    assert updates == [1, 2]


def test_a_joining_customer_is_told_their_place_once_whether_or_not_an_agent_rings():
    w = World({}, {"a1": {}})
    first, second = w.enqueue(), w.enqueue()  # the first rings a1, the second waits
    for call_id, out in ((first, w.outs[-2]), (second, w.outs[-1])):
        updates = [n.payload for n in out.notices
                   if n.event == "queue_update" and n.payload["callId"] == call_id]
        assert len(updates) == 1, updates
    assert w.offered_to(first) == ["a1"] and w.offered_to(second) == []


def test_estimated_wait_uses_recent_handle_times_over_staffed_agents():
    w = World({"wrap_up": 0}, {"a1": {}, "a2": {}})
    for agent in ("a1", "a2"):
        call = w.enqueue()
        w.complete(agent, call, talk=60)
    for agent in ("a1", "a2"):
        w.run(w.center.set_status(APP, agent, "break", None))
    # Nobody available: no number would be honest.
    assert w.center.estimated_wait(APP, "q", 3) is None
    w.run(w.center.set_status(APP, "a1", "available", None))
    w.run(w.center.set_status(APP, "a2", "available", None))
    # 3rd in line, 2 agents free: 1 call ahead of the free agents x 60 s / 2 agents
    assert w.center.estimated_wait(APP, "q", 3) == 30


def test_ratings_are_stored_once_and_only_for_the_customer():
    w = World({}, {"a1": {}})
    call = w.enqueue(customer="cust")
    w.complete("a1", call)
    for user, rating, code in (("other", 4, "CALL_NOT_FOUND"), ("cust", 6, "BAD_RATING")):
        with pytest.raises(Refused) as err:
            w.center.rate(APP, user, call, rating)
        assert err.value.code == code
    w.center.rate(APP, "cust", call, 5)
    with pytest.raises(Refused) as err:
        w.center.rate(APP, "cust", call, 4)
    assert err.value.code == "ALREADY_RATED"
    assert w.center.agent_state(APP, "a1")["callsToday"][0]["rating"] == 5


def test_agent_requests_from_a_non_agent_are_forbidden():
    w = World({}, {"a1": {}})
    with pytest.raises(Refused) as err:
        w.center.set_status(APP, "stranger", "available", None)
    assert err.value.code == "FORBIDDEN"


def test_switching_an_answered_queue_call_to_video_changes_its_record():
    w = World({}, {"a1": {}})
    call = w.enqueue(customer="cust")
    w.answer("a1", call)
    out = w.run(w.center.switch_type(APP, "a1", call, 2))
    assert out.reply == {"oldType": 1, "newType": 2}
    assert [r["type"] for r in out.records] == [2]  # the history hears of it at once
    w.run(w.center.hangup(APP, "cust", call))
    ended = [r for o in w.outs for r in o.records if r["endedAt"] is not None]
    assert ended and all(r["type"] == 2 for r in ended)
    assert w.center.finished[(APP, call)].record(w.clock())["type"] == 2


def test_a_step_reads_the_clock_once_for_every_fact_and_event():
    w = World({}, {"a1": {}})
    ticking = iter(range(10 ** 6))
    w.board.clock._read = lambda: 2_000_000.0 + next(ticking) / 1000  # moves on every read
    call = w.enqueue(customer="cust")
    out = w.run(w.center.accept(APP, "a1", call))
    times = {e.at for e in out.events} | {r["answeredAt"] for r in out.records}
    qc = w.center.calls[(APP, call)]
    assert times == {qc.answered_at} == {w.agent("a1").since}
    assert qc.attempts[0].ended_at == qc.answered_at


def test_overflow_moves_the_call_itself_and_a_timed_out_call_keeps_its_queue():
    w = World({"max_wait": 30, "overflow": "backup"}, {"a1": {}},
              queues=[{"name": "backup", "when_empty": "join", "max_wait": 30}])
    w.run(w.center.set_status(APP, "a1", "break", None))
    call = w.enqueue()
    w.fire("max_wait", call_id=call, token=1)
    assert w.store.get_call(APP, call).queue == "backup"
    assert w.outs[-1].records[-1]["queue"] == "backup"
    w.fire("max_wait", call_id=call, token=2)
    ended = [e for e in w.outs[-1].events if e.name.value == "call.ended"]
    assert [e.data["queue"] for e in ended] == ["backup"]
    assert w.center.finished[(APP, call)].outcome == "timed_out"


def test_a_customer_whose_call_rings_an_agent_is_told_so_and_no_wait_is_made_up():
    w = World({}, {"a1": {}})
    w.run(w.center.set_status(APP, "a1", "break", None))
    first = w.enqueue()
    told = [n.payload for out in w.outs for n in out.notices
            if n.event == "queue_update" and n.payload["callId"] == first]
    # Nobody available: no estimate rather than a made-up one.
    assert told[-1]["estimatedWait"] is None and told[-1]["ringing"] is False
    w.run(w.center.set_status(APP, "a1", "available", None))
    told = [n.payload for n in w.outs[-1].notices
            if n.event == "queue_update" and n.payload["callId"] == first]
    # The agent's phone rings for it: the customer hears so, with nothing left to wait.
    assert told == [{"callId": first, "position": 1, "estimatedWait": 0, "ringing": True}]
