"""The websocket queue that writes itself (callcenter.server.websocket_writer), over a real TCP
connection on eventlet: a sender never waits for a slow client, nothing is lost or reordered,
and a writer greenlet lives only while packets wait. Each scenario runs in a process of its own
(websocket_writer_scenarios.py): eventlet's hub is kept out of pytest's processes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCENARIOS = Path(__file__).with_name("websocket_writer_scenarios.py")
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("scenario", [
    "a_sender_never_waits_for_a_client_that_does_not_read_and_it_gets_everything_in_order",
    "packets_put_while_nothing_waits_are_written_at_once_without_a_writer",
    "a_websocket_behind_the_packet_guard_is_written_at_once_too",
    "one_packet_sent_to_a_compressing_and_a_plain_websocket_reaches_each_in_its_own_frames",
    "after_the_writer_closed_the_websocket_puts_are_dropped_and_join_returns",
    "before_the_websocket_is_attached_it_is_the_queue_long_polling_waits_on",
])
def test_websocket_writer(scenario: str) -> None:
    run_scenario(scenario)


def run_scenario(scenario: str) -> None:
    """Run one of websocket_writer_scenarios.py in a process of its own; it must hold."""
    done = subprocess.run([sys.executable, str(SCENARIOS), scenario], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
