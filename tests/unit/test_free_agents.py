"""The index of free agents per queue (callcenter/domain/free_agents.py) against the scan it
replaces: after any sequence of agent changes, the index holds exactly the agents that
``Agent.can_take`` says can take a call, and every stock strategy reading the index picks the
agent the old scan of all agents picked."""

from __future__ import annotations

import random
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from callcenter.config import AgentSettings, QueueSettings, parse
from callcenter.domain.agents import Agent, AgentState, AgentStatus
from callcenter.domain.free_agents import BY_ID, LONGEST_IDLE, Candidates, QueueAgents
from callcenter.hooks.host import PluginHost

QUEUE = QueueSettings(name="q", required_skills={"en": 10})
IDS = [f"a{i:02d}" for i in range(12)]

# One change to one agent: (agent number, field, value).
change = st.one_of(
    st.tuples(st.integers(0, 11), st.just("connected"), st.booleans()),
    st.tuples(st.integers(0, 11), st.just("status"), st.sampled_from(list(AgentStatus))),
    st.tuples(st.integers(0, 11), st.just("state"), st.sampled_from(list(AgentState))),
    st.tuples(st.integers(0, 11), st.just("last_call_end"), st.floats(0, 100)),
    st.tuples(st.integers(0, 11), st.just("answered"), st.integers(0, 5)),
    st.tuples(st.integers(0, 11), st.just("talk_time"), st.floats(0, 100)),
    st.tuples(st.integers(0, 11), st.just("blocked_until"), st.floats(0, 100)),
)


def staff(skills: list[dict[str, int]], queues: list[tuple[str, ...]]) -> tuple[list[Agent],
                                                                                  QueueAgents]:
    """Agents wired to one queue's index as the contact center wires them."""
    index = QueueAgents(QUEUE.name, QUEUE.required_skills)
    agents = []
    for aid, skill, serves in zip(IDS, skills, queues, strict=True):
        agent = Agent.from_settings("app", AgentSettings(id=aid, password_hash="!",
                                                         queues=list(serves), skills=skill))
        agent.logged_in_at = float(IDS.index(aid))
        object.__setattr__(agent, "on_change", index.refresh)
        if QUEUE.name in serves:
            index.add(agent)
        agents.append(agent)
    return agents, index


population = st.tuples(
    st.lists(st.dictionaries(st.sampled_from(["en", "de"]), st.integers(1, 100)),
             min_size=12, max_size=12),
    st.lists(st.sampled_from([("q",), ("q", "other"), ("other",)]), min_size=12, max_size=12))
# Most agents start free (signed in, available, waiting), so that the changes move agents in
# and out of the index rather than among the offline.
start = st.lists(st.tuples(st.integers(0, 11), st.sampled_from(["free", "offline", "break"])),
                 max_size=12)


def begin(agents: list[Agent], starts: list[tuple[int, str]]) -> None:
    for agent in agents:
        agent.connected, agent.status = True, AgentStatus.AVAILABLE
    for number, how in starts:
        if how == "offline":
            agents[number].connected = False
        elif how == "break":
            agents[number].status = AgentStatus.BREAK


@settings(max_examples=80, deadline=None)
@given(population, start, st.lists(change, max_size=60), st.floats(0, 100))
def test_the_index_holds_exactly_the_agents_who_can_take_a_call(people, starts, changes, now):
    agents, index = staff(*people)
    begin(agents, starts)
    index.ranked(LONGEST_IDLE), index.ranked(BY_ID)  # built first: the changes must move agents
    for number, field, value in changes:
        setattr(agents[number], field, value)
    can_take = [a for a in agents if a.can_take(QUEUE, now)]
    candidates = Candidates(index, now)
    assert sorted(a.id for a in candidates) == sorted(a.id for a in can_take)
    assert index.available(now) == len(can_take)
    assert len(index.staffed) == sum(1 for a in agents if "q" in a.queues and a.connected
                                     and a.status is AgentStatus.AVAILABLE)
    if can_take:
        assert candidates.first(LONGEST_IDLE) is min(can_take, key=lambda a: (a.idle_since, a.id))
        assert [a.id for a in candidates.ranked(BY_ID)] == sorted(a.id for a in can_take)
        assert candidates.choice(random.Random(1)) in can_take
    else:
        assert candidates.first(LONGEST_IDLE) is None and not candidates


_HOSTS: dict[str, PluginHost] = {}


def host(tmp_path: Path, fresh: bool = False) -> PluginHost:
    """The stock strategy plugins, loaded once (round-robin remembers: ``fresh`` for a new
    memory)."""
    if not fresh and "stock" in _HOSTS:
        return _HOSTS["stock"]
    stock = ["round-robin", "ring-all", "fewest-calls", "least-talk-time", "random", "skills"]
    plugins = PluginHost(parse({"apps": [{"id": "app", "secret": "s" * 40}],
                                "plugins": {"enable": stock}}, tmp_path))
    plugins.load()
    _HOSTS["stock"] = plugins
    return plugins


class Call:
    """What the strategies read of a queue call."""

    app_id = "app"

    def __init__(self, attributes: dict[str, str], joined_at: float) -> None:
        self.attributes, self.joined_at = attributes, joined_at

    def wait(self, now: float) -> float:
        return now - self.joined_at


def scan(strategy: str, agents: list[Agent], call: Call, now: float, last: str) -> list[str]:
    """What each stock strategy chose when it was given the list of every candidate (``last``:
    the agent round-robin offered last)."""
    if strategy == "fewest-calls":
        return [min(agents, key=lambda a: (a.answered, a.idle_since, a.id)).id]
    if strategy == "least-talk-time":
        return [min(agents, key=lambda a: (a.talk_time, a.idle_since, a.id)).id]
    if strategy == "ring-all":
        return sorted(a.id for a in agents)
    if strategy == "round-robin":
        ids = sorted(a.id for a in agents)
        return [next((aid for aid in ids if aid > last), ids[0])]
    waited, wanted = call.wait(now), [call.attributes["language"]]
    level = 50 if waited < 20 else 20 if waited < 40 else 1 if waited < 90 else 0
    if level == 0:
        return [min(agents, key=lambda a: (a.idle_since, a.id)).id]
    matching = [a for a in agents if all(a.skills.get(s, 0) >= level for s in wanted)]
    return [min(matching, key=lambda a: (-sum(a.skills.get(s, 0) for s in wanted),
                                         a.idle_since, a.id)).id] if matching else []


@settings(max_examples=50, deadline=None)
@given(population, start, st.lists(change, max_size=40), st.floats(0, 100),
       st.sampled_from(["fewest-calls", "least-talk-time", "ring-all", "round-robin",
                        "skills"]), st.sampled_from(["en", "de"]), st.floats(0, 100))
def test_each_stock_strategy_picks_from_the_index_the_agent_the_scan_picked(
        tmp_path_factory, people, starts, changes, now, strategy, language, waited):
    agents, index = staff(*people)
    begin(agents, starts)
    call = Call({"language": language}, now - waited)
    plugins = host(tmp_path_factory.mktemp("host"), fresh=strategy == "round-robin")
    queue = QUEUE.model_copy(update={"strategy": strategy})
    # A first choice before the changes builds the strategy's index, which they must then move.
    first = plugins.select_agents(queue, call, Candidates(index, 0.0), 0.0)  # type: ignore
    last = first[0].id if first else ""
    for number, field, value in changes:
        setattr(agents[number], field, value)
    can_take = [a for a in agents if a.can_take(QUEUE, now)]
    if not can_take:
        return
    chosen = plugins.select_agents(queue, call, Candidates(index, now), now)  # type: ignore
    assert sorted(a.id for a in chosen) == scan(strategy, can_take, call, now, last)


def test_round_robin_walks_on_from_the_agent_it_offered_last(tmp_path):
    agents, index = staff([{"en": 50}] * 12, [("q",)] * 12)
    for agent in agents[:4]:
        agent.connected, agent.status = True, AgentStatus.AVAILABLE
    plugins = host(tmp_path, fresh=True)
    queue = QUEUE.model_copy(update={"strategy": "round-robin"})
    offered = [plugins.select_agents(queue, Call({}, 0), Candidates(index, 1.0), 1.0)[0].id
               for _ in range(6)]
    assert offered == ["a00", "a01", "a02", "a03", "a00", "a01"]


def test_an_agent_offered_the_call_already_is_left_out_while_others_remain():
    agents, index = staff([{"en": 50}] * 12, [("q",)] * 12)
    for agent in agents[:2]:
        agent.connected, agent.status = True, AgentStatus.AVAILABLE
    untried = Candidates(index, 1.0).without({"a00"})
    assert untried.first(LONGEST_IDLE) is agents[1]
    assert not untried.without({"a01"})
