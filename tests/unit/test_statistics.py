"""Historical statistics against fixtures whose numbers were worked out by hand.

The fixture is the worked example of docs/statistics.md: one hour from T, ten queue calls and
three agents, with Y = 20 s and short abandons under 5 s.
"""

from __future__ import annotations

from typing import Any

import pytest

from callcenter.domain.statistics import Thresholds, series, summarize

T = 36_000.0  # the window's start
END = T + 3600
THRESHOLDS = Thresholds(service_level_seconds=20, short_abandon_seconds=5)


def queue_call(call_id: str, joined: float, wait: float, outcome: str | None, *,
               answered: bool = False, ended: bool = True, talk: float = 0.0,
               wrap_up: float | None = None, rating: int | None = None,
               kind: str = "queue") -> dict[str, Any]:
    """A call detail record as the database returns it (joined is seconds after T)."""
    joined_at = T + joined
    answered_at = joined_at + wait if answered else None
    ended_at = None
    if ended:
        ended_at = answered_at + talk if answered_at is not None else joined_at + wait
    return {
        "callId": call_id, "kind": kind, "queue": "sales", "agent": "alice" if answered else None,
        "joinedAt": joined_at, "answeredAt": answered_at, "endedAt": ended_at,
        "wrapUpEndedAt": None if wrap_up is None or ended_at is None else ended_at + wrap_up,
        "wait": wait, "talk": talk, "hold": 0.0, "wrapUp": wrap_up, "outcome": outcome,
        "endReason": None, "rating": rating,
    }


# call       joined  wait  what happened                                   counts as
CALLS = [
    queue_call("c1", 0, 5, "completed", answered=True, talk=100, wrap_up=20, rating=5),
    queue_call("c2", 60, 20, "completed", answered=True, talk=200, wrap_up=10, rating=4),
    # answered late; its wrap-up is not finished, so it counts 0 s of wrap-up
    queue_call("c3", 120, 30, "completed", answered=True, talk=60, rating=2),
    # answered late and still in progress: answered, but not handled yet
    queue_call("c4", 300, 45, None, answered=True, ended=False),
    queue_call("c5", 600, 3, "abandoned"),  # short abandon (3 < 5)
    queue_call("c6", 900, 40, "abandoned"),
    queue_call("c7", 1200, 120, "timed_out"),
    queue_call("c8", 1800, 0.5, "no_agents"),
    queue_call("c9", 2400, 50, "interrupted"),  # the server crashed while it waited
    queue_call("c10", 3500, 2, None, ended=False),  # still waiting (2 s when last written)
]


def status(user: str, at: float, value: str, previous: str = "") -> dict[str, Any]:
    return {"event": "agent.status", "at": T + at, "user": user, "status": value,
            "previous": previous, "reason": "lunch" if value == "break" else ""}


def state(user: str, at: float, value: str, previous: str = "") -> dict[str, Any]:
    return {"event": "agent.state", "at": T + at, "user": user, "state": value,
            "previous": previous}


# Times in seconds after T, oldest first as the database returns them.
EVENTS = [
    status("carol", -7200, "available", "offline"),  # came and went before the window
    status("carol", -3600, "offline", "available"),
    status("alice", -600, "available", "offline"),  # available across the window's start
    state("alice", 100, "ringing", "waiting"),
    state("alice", 110, "in_call", "ringing"),
    state("alice", 410, "wrap_up", "in_call"),
    state("alice", 440, "waiting", "wrap_up"),
    status("bob", 1200, "available", "offline"),  # bob has no event before T: offline
    state("bob", 1500, "ringing", "waiting"),
    state("bob", 1520, "in_call", "ringing"),
    status("alice", 1800, "break", "available"),
    state("bob", 2000, "wrap_up", "in_call"),
    state("bob", 2060, "waiting", "wrap_up"),
    status("alice", 2400, "available", "break"),
    status("bob", 3200, "offline", "available"),
]


@pytest.fixture
def summary() -> dict[str, Any]:
    return summarize(CALLS, EVENTS, T, END, THRESHOLDS, now=END)


def test_every_queue_call_that_joined_in_the_window_is_offered(summary):
    # all ten: short abandons, the call still waiting and the one in progress included
    assert summary["offered"] == 10


def test_answered_counts_calls_with_an_answer_time_including_those_in_progress(summary):
    assert summary["answered"] == 4  # c1, c2, c3 and c4 (in progress)


def test_each_unanswered_call_is_counted_by_how_it_left_the_queue(summary):
    assert summary["abandoned"] == 1  # c6 (40 s)
    assert summary["shortAbandoned"] == 1  # c5 (3 s < 5 s)
    assert summary["timedOut"] == 2  # c7 timed_out, c8 no_agents
    assert summary["interrupted"] == 1  # c9
    assert summary["waiting"] == 1  # c10


def test_service_level_is_answered_within_y_over_calls_whose_fate_is_known(summary):
    # within 20 s: c1 (5 s) and c2 (exactly 20 s counts) -> 2
    # denominator: 10 offered - 1 short abandon - 1 waiting - 1 interrupted = 7
    #            = 4 answered + 1 abandoned + 2 timed out
    # 2 / 7 = 0.285714... -> 0.2857
    assert summary["answeredWithinThreshold"] == 2
    assert summary["serviceLevelDenominator"] == 7
    assert summary["serviceLevel"] == 0.2857
    assert summary["serviceLevelThreshold"] == 20
    assert summary["thresholds"] == {"serviceLevelSeconds": 20, "shortAbandonSeconds": 5}


def test_abandon_rate_is_abandoned_over_offered_less_short_abandons_and_waiting(summary):
    # 1 / (10 - 1 short abandon - 1 waiting) = 1 / 8 = 0.125 (the interrupted call stays in)
    assert summary["abandonRate"] == 0.125


def test_short_abandons_are_left_out_of_service_level_and_abandon_rate():
    calls = [queue_call("a", 0, 10, "completed", answered=True, talk=60, wrap_up=0),
             queue_call("b", 10, 4.999, "abandoned"),
             queue_call("c", 20, 5, "abandoned")]  # exactly 5 s is a real abandon
    result = summarize(calls, [], T, END, THRESHOLDS)
    # SL: 1 answered within 20 s / (3 offered - 1 short) = 0.5
    # abandon rate: 1 abandoned / (3 - 1 short) = 0.5
    assert (result["shortAbandoned"], result["abandoned"]) == (1, 1)
    assert result["serviceLevelDenominator"] == 2
    assert result["serviceLevel"] == 0.5
    assert result["abandonRate"] == 0.5


def test_asa_is_the_mean_wait_of_answered_calls(summary):
    # (5 + 20 + 30 + 45) / 4 = 100 / 4 = 25
    assert summary["asa"] == 25.0


def test_hold_seconds_count_in_aht_and_in_their_own_average():
    held = queue_call("h1", 0, 5, "completed", answered=True, talk=90, wrap_up=10)
    held.update(hold=30.0, endedAt=held["endedAt"] + 30)  # 90 s talk + 30 s on hold
    plain = queue_call("h2", 60, 5, "completed", answered=True, talk=60, wrap_up=0)
    result = summarize([held, plain], [], T, END, THRESHOLDS, now=END)
    assert result["aht"] == (90 + 30 + 10 + 60) / 2
    assert (result["averageHold"], result["averageTalk"]) == (15.0, 75.0)


def test_aht_is_talk_hold_and_wrap_up_over_handled_calls(summary):
    # handled = answered and ended: c1, c2, c3 (c4 is still in progress)
    # ((100 + 0 + 20) + (200 + 0 + 10) + (60 + 0 + 0)) / 3 = 390 / 3 = 130
    assert summary["aht"] == 130.0
    # talk: (100 + 200 + 60) / 3 = 120; wrap-up: (20 + 10 + 0) / 3 = 10
    assert summary["averageTalk"] == 120.0
    assert summary["averageWrapUp"] == 10.0


def test_longest_wait_is_the_longest_of_any_call(summary):
    # c7 timed out after 120 s; c10 has waited 3600 - 3500 = 100 s by the window's end
    assert summary["longestWait"] == 120.0


def test_a_call_still_in_the_queue_counts_its_wait_so_far():
    calls = [queue_call("a", 0, 2, None, ended=False)]  # written 2 s after it joined
    assert summarize(calls, [], T, END, THRESHOLDS, now=T + 90)["longestWait"] == 90.0
    assert summarize(calls, [], T, END, THRESHOLDS)["longestWait"] == 2.0  # no clock: record


def test_average_rating_is_over_rated_calls_only(summary):
    # (5 + 4 + 2) / 3 = 3.666... -> 3.6667
    assert summary["ratings"] == 3
    assert summary["averageRating"] == 3.6667


def test_occupancy_is_handling_time_over_handling_and_available_idle_time(summary):
    # alice: available from before T; handling 110-410 in call + 410-440 wrap-up = 330
    #        available 0-100 waiting + 100-110 ringing + 440-1800 + 2400-3600 = 2670
    #        break 1800-2400 = 600
    # bob:   offline until 1200; handling 1520-2000 + 2000-2060 = 540
    #        available 1200-1500 + 1500-1520 ringing + 2060-3200 = 1460
    # carol: offline all window: nothing
    # handling 870, available 4130: 870 / 5000 = 0.174
    assert summary["agentTime"] == {"handling": 870.0, "available": 4130.0, "break": 600.0}
    assert summary["occupancy"] == 0.174


def test_an_agent_available_across_the_window_start_counts_from_the_start():
    # alice became available at T - 600; the window [T, T + 100) holds 100 s of her idle time
    result = summarize([], EVENTS, T, T + 100, THRESHOLDS, now=END)
    assert result["agentTime"] == {"handling": 0.0, "available": 100.0, "break": 0.0}
    assert result["occupancy"] == 0.0


def test_an_agent_in_a_call_across_the_window_start_is_handling_from_the_start():
    # [T + 300, T + 1000): alice in call 300-410, wrap-up 410-440, then waiting 440-1000
    result = summarize([], EVENTS, T + 300, T + 1000, THRESHOLDS)
    assert result["agentTime"] == {"handling": 140.0, "available": 560.0, "break": 0.0}
    assert result["occupancy"] == 0.2  # 140 / 700


def test_an_agent_without_events_before_the_window_is_offline():
    bob = [e for e in EVENTS if e["user"] == "bob"]
    result = summarize([], bob, T, T + 1200, THRESHOLDS)  # bob logs in at T + 1200
    assert result["agentTime"] == {"handling": 0.0, "available": 0.0, "break": 0.0}
    assert result["occupancy"] is None


def test_a_window_ending_in_the_future_counts_agent_time_until_now():
    result = summarize(CALLS, EVENTS, T, END, THRESHOLDS, now=T + 1800)
    # alice: handling 330; available 100 + 10 + (1800 - 440) = 1470; her break starts at now
    # bob:   available 1200-1500 + 1500-1520 = 320; in call 1520-1800 = 280
    # 610 / (610 + 1790) = 0.254166... -> 0.2542
    assert result["agentTime"] == {"handling": 610.0, "available": 1790.0, "break": 0.0}
    assert result["occupancy"] == 0.2542
    assert result["window"] == {"start": T, "end": END}


def test_a_window_that_has_not_started_has_no_agent_time():
    result = summarize([], EVENTS, T, END, THRESHOLDS, now=T - 1)
    assert result["agentTime"] == {"handling": 0.0, "available": 0.0, "break": 0.0}
    assert result["occupancy"] is None


def test_an_empty_window_has_counts_of_zero_and_no_averages():
    result = summarize([], [], T, END, THRESHOLDS, now=END)
    for key in ("offered", "answered", "abandoned", "shortAbandoned", "timedOut", "interrupted",
                "waiting", "answeredWithinThreshold", "serviceLevelDenominator", "ratings"):
        assert result[key] == 0, key
    # no denominator, no ratio: None rather than a 0 % or 100 % nobody earned
    for key in ("serviceLevel", "abandonRate", "asa", "aht", "averageTalk", "averageWrapUp",
                "averageHold",
                "longestWait", "averageRating", "occupancy"):
        assert result[key] is None, key
    assert result["agentTime"] == {"handling": 0.0, "available": 0.0, "break": 0.0}


def test_calls_outside_the_window_are_ignored(summary):
    outside = [queue_call("before", -10, 5, "completed", answered=True, talk=10),
               queue_call("at-end", 3600, 1, "abandoned"),  # the end is not in the window
               queue_call("later", 7200, 90, "timed_out")]
    assert summarize(CALLS + outside, EVENTS, T, END, THRESHOLDS, now=END) == summary


def test_direct_calls_are_ignored(summary):
    direct = queue_call("d1", 30, 4, "answered", answered=True, talk=300, rating=1,
                        kind="direct")
    assert summarize(CALLS + [direct], EVENTS, T, END, THRESHOLDS, now=END) == summary


def test_seconds_are_rounded_to_3_decimals_and_fractions_to_4():
    calls = [queue_call("a", 0, 1 / 3, "completed", answered=True, talk=10, wrap_up=0),
             queue_call("b", 0, 30, "timed_out"),
             queue_call("c", 0, 30, "timed_out")]
    result = summarize(calls, [], T, END, THRESHOLDS)
    assert result["asa"] == 0.333  # seconds to 3 decimals
    assert result["serviceLevel"] == 0.3333  # fractions to 4: 1 / 3


def test_series_splits_the_window_into_intervals_the_last_one_shorter():
    points = series(CALLS, T, END, 1500, THRESHOLDS)
    assert [(p["start"], p["end"]) for p in points] == [
        (T, T + 1500), (T + 1500, T + 3000), (T + 3000, END)]
    first, second, third = points
    # [0, 1500): c1-c7; SL 2 within / (7 - 1 short) = 0.3333; ASA (5 + 20 + 30 + 45) / 4 = 25
    assert first == {"start": T, "end": T + 1500, "offered": 7, "answered": 4, "abandoned": 1,
                     "shortAbandoned": 1, "serviceLevel": 0.3333, "asa": 25.0}
    # [1500, 3000): c8 no_agents, c9 interrupted; SL 0 / (2 - 1 interrupted) = 0
    assert (second["offered"], second["serviceLevel"], second["asa"]) == (2, 0.0, None)
    # [3000, 3600): c10 still waiting; nothing known yet
    assert (third["offered"], third["serviceLevel"], third["asa"]) == (1, None, None)


def test_a_call_joining_exactly_on_a_boundary_counts_in_the_later_interval():
    calls = [queue_call("edge", 60, 1, "completed", answered=True, talk=5),
             queue_call("just-before", 59.999, 1, "completed", answered=True, talk=5)]
    points = series(calls, T, T + 180, 60, THRESHOLDS)
    assert [p["offered"] for p in points] == [1, 1, 0]


def test_series_ignores_direct_calls_and_calls_outside_the_window():
    calls = [queue_call("direct", 10, 1, "answered", answered=True, kind="direct"),
             queue_call("before", -1, 1, "abandoned"),
             queue_call("at-end", 120, 1, "abandoned")]
    assert [p["offered"] for p in series(calls, T, T + 120, 60, THRESHOLDS)] == [0, 0]


@pytest.mark.parametrize("start, end, interval", [
    (T, END, 59),  # under a minute
    (T, T + 60 * 1001, 60),  # 1001 intervals
    (T, T + 60 * 1000 + 1, 60),  # 1000 full intervals and a short one
])
def test_series_refuses_too_fine_or_too_many_intervals(start, end, interval):
    with pytest.raises(ValueError):
        series([], start, end, interval, THRESHOLDS)


def test_series_allows_exactly_the_maximum_number_of_intervals():
    assert len(series([], T, T + 60 * 1000, 60, THRESHOLDS)) == 1000
