"""Every error code the server can answer is in callcenter.domain.errors.ErrorCode, and
docs/protocol.md documents every one of them."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from callcenter.domain.errors import ErrorCode, Refused

ROOT = Path(__file__).resolve().parents[2]
CODE = re.compile(r"^[A-Z][A-Z_]{2,}$")


def answered_codes() -> dict[str, str]:
    """Code literals handed to the refusals in callcenter/ (Refused, ApiError, the HTTP and
    packet-level error helpers): code -> where it is."""
    found = {}
    for path in sorted((ROOT / "callcenter").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name not in {"Refused", "ApiError", "_http_error", "error", "_refuse", "refuse"}:
                continue
            for arg in node.args[:3]:
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str) \
                        and CODE.match(arg.value):
                    found[arg.value] = f"{path.relative_to(ROOT)}:{node.lineno}"
    return found


def test_every_code_the_server_answers_is_an_error_code():
    codes = answered_codes()
    assert len(codes) > 30  # the scan finds them
    unknown = {c: where for c, where in codes.items() if c not in ErrorCode.__members__}
    assert unknown == {}


def test_every_error_code_is_documented():
    documented = set(re.findall(r"`([A-Z][A-Z_]{2,})`", (ROOT / "docs" / "protocol.md")
                                .read_text()))
    assert sorted(set(ErrorCode) - documented) == []


def test_a_refusal_with_a_code_that_does_not_exist_is_a_bug():
    with pytest.raises(ValueError):
        Refused("CALL_NOT_FUOND", "misspelt")
    assert Refused("CALL_NOT_FOUND", "x").as_dict() == {"code": "CALL_NOT_FOUND", "message": "x"}
