"""The websocket the hub reads (callcenter.server.websocket_reader.Websocket), over a real TCP
connection on eventlet: frames unmasked as eventlet's own are, every message of a read handed
on, a message that arrives in pieces waited for. Each scenario runs in a process of its own
(websocket_writer_scenarios.py, test_websocket_writer.run_scenario)."""

from __future__ import annotations

import pytest
from test_websocket_writer import run_scenario


@pytest.mark.parametrize("scenario", [
    "unmasking_gives_what_eventlets_own_gives",
    "messages_sent_in_one_write_are_read_in_order_from_one_receive",
    "a_message_arriving_in_pieces_is_waited_for",
    "messages_arriving_while_a_handler_waits_are_read_after_it_in_order",
])
def test_websocket_frames_the_hub_reads(scenario: str) -> None:
    run_scenario(scenario)
