"""The docs stay honest: every hook is documented and tested, the README's commands exist."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from callcenter.hooks import specs as hookspecs

ROOT = Path(__file__).parents[1]


def hook_names() -> list[str]:
    return sorted(n for n in dir(hookspecs) if n.startswith("callcenter_"))


def test_every_hook_has_a_docstring_contract():
    for name in hook_names():
        assert (getattr(hookspecs, name).__doc__ or "").strip(), name


def test_every_hook_is_documented_in_plugins_md():
    docs = (ROOT / "docs" / "plugins.md").read_text()
    for name in hook_names():
        assert f"### `{name}(" in docs, name


def test_every_hook_has_a_test_named_after_it():
    tests = "\n".join(p.read_text() for p in (ROOT / "tests").rglob("test_*.py"))
    for name in hook_names():
        assert re.search(rf"def test_hook_{name}\b", tests), name


def test_every_request_and_event_is_in_the_protocol_doc():
    from callcenter.server.socketio.signaling import Signaling

    protocol = (ROOT / "docs" / "protocol.md").read_text()
    for request in Signaling.REQUESTS:
        assert f"### `{request}`" in protocol, request
    emitted = set(re.findall(r'notify\([^,]+, "(\w+)"',
                             (ROOT / "callcenter" / "domain" / "calls.py").read_text()))
    signaling = ROOT / "callcenter" / "server" / "socketio" / "signaling.py"
    emitted |= set(re.findall(r'emit(?:_to_user)?\([^"]*"(\w+)"', signaling.read_text()))
    assert emitted, "no events found: the pattern above is stale"
    for event in emitted:
        assert f"| `{event}` |" in protocol, event


def test_readme_commands_exist():
    readme = (ROOT / "README.md").read_text()
    assert "make run" in readme and "make test" in readme
    targets = subprocess.run(["make", "-pn", "-f", "Makefile"], cwd=ROOT, capture_output=True,
                             text=True).stdout
    assert re.search(r"^run:", targets, re.M) and re.search(r"^test:", targets, re.M)
    assert (ROOT / ".ci" / "run").read_text().strip().splitlines()[-1] == "make test"
    for script in ("scripts/run.sh", "scripts/test.sh", "scripts/bootstrap.sh"):
        assert (ROOT / script).stat().st_mode & 0o111, script
