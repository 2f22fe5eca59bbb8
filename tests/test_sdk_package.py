"""The SDK as an npm package (web/package.json): `npm pack` holds both modules its exports name
(CallClient, and TRTCCalling for a bundler alias of `trtc-calling-js`), and every module it packs
finds what it imports inside the package (socket.io-client's build is copied into sdk/vendor/ at
pack time: in the repository the server serves it from node_modules)."""

from __future__ import annotations

import json
import posixpath
import re
import subprocess
from pathlib import Path

WEB = Path(__file__).parents[1] / "web"
IMPORT = re.compile(r"""(?:^|\s)(?:import|export)\b[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*"""
                    r"""['"]([^'"]+)['"]""", re.M)


def test_the_packed_sdk_exports_both_modules_and_resolves_every_import():
    packed = json.loads(subprocess.run(
        ["npm", "pack", "--dry-run", "--json"], cwd=WEB, check=True, capture_output=True,
        text=True, timeout=120).stdout)[0]
    files = {f["path"] for f in packed["files"]}
    exports = json.loads((WEB / "package.json").read_text())["exports"]
    assert exports["."] == "./sdk/callcenter.js"
    assert exports["./trtc-calling"] == "./sdk/trtc-calling.js"
    for target in exports.values():
        assert target.removeprefix("./") in files, target
    for path in sorted(f for f in files if f.endswith(".js") and "/vendor/" not in f):
        source = (WEB / path).read_text()
        for match in IMPORT.finditer(source):
            spec = match.group(1) or match.group(2)
            if not spec.startswith("."):
                continue
            resolved = posixpath.normpath(posixpath.join(posixpath.dirname(path), spec))
            assert resolved in files, f"{path} imports {spec}, not in the package"
