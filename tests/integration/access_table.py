"""Reading the role × request tables of docs/protocol.md ("Who may do what"), for the tests that
hold them to callcenter.domain.access."""

from __future__ import annotations

import re
from pathlib import Path

from callcenter.domain.access import Scope
from callcenter.domain.credentials import Role

PROTOCOL = Path(__file__).parents[2] / "docs" / "protocol.md"
ROLES = (Role.CUSTOMER, Role.AGENT, Role.SUPERVISOR, Role.SERVICE)
# `own*`: own, with a condition the footnote gives (customers' invite).
CELLS = {"own": Scope.OWN, "own*": Scope.OWN, "app": Scope.APP, "no": Scope.NONE}


def documented_table(heading: str, key: str) -> dict[str, dict[Role, Scope]]:
    """The table under `heading`: its rows whose first cell is `key` in backticks (a regular
    expression with one group), each role's cell read as a Scope."""
    text = PROTOCOL.read_text()
    section = text[text.index(heading):]
    table: dict[str, dict[Role, Scope]] = {}
    for line in section.splitlines()[1:]:
        if not line.startswith("|"):
            if table:
                break
            continue
        cells = [c.strip() for c in line.strip("|").split("|")]
        match = re.fullmatch(f"`({key})`", cells[0])
        if match is None:
            continue  # the header and its separator
        table[match.group(1)] = {role: CELLS[cell]
                                 for role, cell in zip(ROLES, cells[1:], strict=True)}
    return table
