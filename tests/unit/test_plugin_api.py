"""The public plugin API (callcenter.plugin): the stock plugins use it and nothing else of the
package, and docs/plugins.md documents every name it exports."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import callcenter.plugin

ROOT = Path(__file__).resolve().parents[2]
STOCK = sorted((ROOT / "plugins").glob("*.py"))


def callcenter_imports(path: Path) -> list[str]:
    """The modules of the callcenter package that `path` imports, at any depth."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "callcenter":
                found += [f"callcenter.{alias.name}" for alias in node.names]
            elif node.module.startswith("callcenter."):
                found.append(node.module)
        elif isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.split(".")[0] == "callcenter"]
    return found


@pytest.mark.parametrize("path", STOCK, ids=lambda p: p.name)
def test_stock_plugins_import_only_the_public_plugin_api(path: Path):
    assert set(callcenter_imports(path)) <= {"callcenter.plugin"}, path.name


def test_the_check_sees_an_import_of_internals(tmp_path: Path):
    bad = tmp_path / "bad.py"
    bad.write_text("from callcenter.domain.contact_center import QueuedCall\n"
                   "from callcenter import config\nimport callcenter.store.memory\n"
                   "def f():\n    from callcenter.domain.calls import Call\n")
    assert callcenter_imports(bad) == ["callcenter.domain.contact_center", "callcenter.config",
                                       "callcenter.store.memory", "callcenter.domain.calls"]


def test_every_name_of_the_plugin_api_is_documented():
    docs = (ROOT / "docs" / "plugins.md").read_text()
    section = docs[docs.index("## The plugin API"):]
    missing = [name for name in callcenter.plugin.__all__ if f"`{name}`" not in section]
    assert missing == []
    for name in callcenter.plugin.__all__:
        assert getattr(callcenter.plugin, name) is not None
