"""The CSV export against a real server: cells a spreadsheet would run as formulas (customer
names from the widget or a business's verified claims) are quoted; what we write stays as it is."""

from __future__ import annotations

import csv
import io
import time
from typing import Any

import pytest
import requests
from contact_center_helpers import (
    Desk,
    _start_server,
    agent,
    connect,
    demo_extra,
    enqueue,
    finish,
    first_offer,
    queue,
)

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def srv(request, tmp_path):
    server = _start_server(request.config)(tmp_path, "", "200/second", True,
                                           demo_extra([queue("hq")], [agent("ha", ["hq"])]))
    try:
        yield server
    finally:
        server.stop()
    assert "Traceback" not in server.log(), server.log()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def supervisor(server: Any) -> str:
    return server.token("boss", role="supervisor")


FORMULAS = ['=HYPERLINK("http://x","y")', "+1+2", "-3+4", "@SUM(A1)", "\tTAB", "\rCR"]


async def test_csv_cells_that_a_spreadsheet_would_run_are_quoted_and_numbers_stay_numbers(srv):
    """Names reach the export from the widget's `attributes.name` at enqueue and from a
    business's verified `name` claim; both kinds are neutralised."""
    async with Desk(srv) as desk:
        ha = await desk.agent("ha")
        ids = {}
        for i, name in enumerate(FORMULAS + ["Plain Name"]):
            if i % 2:
                customer, call_id, _ = await enqueue(desk, "hq", claims={"name": name})
            else:
                customer, call_id, _ = await enqueue(desk, "hq", attributes={"name": name})
            await first_offer([ha], callId=call_id)
            await connect(ha, customer, call_id)
            await finish(ha, customer, call_id)
            ids[call_id] = name
    deadline = time.monotonic() + 10
    while True:
        response = requests.get(srv.url + "/api/calls.csv", params={"queue": "hq"},
                                headers=bearer(supervisor(srv)), timeout=10)
        assert response.status_code == 200
        rows = {r["callId"]: r for r in csv.DictReader(io.StringIO(response.text, newline=""))}
        if set(ids) <= set(rows) and all(rows[i]["endedAt"] for i in ids):
            break
        assert time.monotonic() < deadline, response.text
        time.sleep(0.1)
    for call_id, name in ids.items():
        shown = rows[call_id]["customerName"]
        if name == "Plain Name":
            assert shown == name
        else:
            assert shown == "'" + name, (name, shown)
        # what we write ourselves is left alone: numbers parse as numbers, times as ISO 8601
        row = rows[call_id]
        assert float(row["talk"]) >= 0 and float(row["wait"]) >= 0
        assert int(row["ringAttempts"]) == 1 and row["joinedAt"][0].isdigit()
    # the JSON API shows the names as they were given
    listed = requests.get(srv.url + "/api/calls", params={"queue": "hq"},
                          headers=bearer(supervisor(srv)), timeout=10).json()["calls"]
    assert {c["callId"]: c["customerName"] for c in listed if c["callId"] in ids} == ids
