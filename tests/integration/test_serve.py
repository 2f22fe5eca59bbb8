"""`callcenter serve` refuses to start, or stops, with one clear line where it cannot work: a
port already in use (by another callcenter or another program), a SIGTERM while plugins start,
recording enabled without the media worker's packages."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

TEST_PLUGINS = Path(__file__).parents[1] / "sample_plugins"


def start_serve(server, port: int | None = None, env: dict[str, str] | None = None,
                **popen: object) -> subprocess.Popen:
    """Start `callcenter serve` with `server`'s config (on `port`; `env` added)."""
    return subprocess.Popen(
        [sys.executable, "-m", "callcenter", "serve", "--config", str(server.config_path),
         "--host", "127.0.0.1", "--port", str(port or server.port)],
        text=True, cwd=server.config_path.parent,
        env=dict(os.environ, CC_TEST_DEMO_SECRET=server.secrets["demo"],
                 CC_TEST_OTHER_SECRET=server.secrets["other"], PYTHONUNBUFFERED="1",
                 **(env or {})), **popen)


def serve(server, port: int | None = None, timeout: float = 30,
          env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run `callcenter serve` until it exits by itself; its output."""
    process = start_serve(server, port, env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    finally:
        process.kill()
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def error_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if " ERROR " in line]


def test_a_second_server_on_the_same_port_stops_with_one_line(server):
    second = serve(server)
    assert second.returncode == 2, second.stderr
    assert error_lines(second.stderr) == [error_lines(second.stderr)[0]]
    assert f"cannot listen on 127.0.0.1:{server.port}: the port is in use" in second.stderr
    assert "Traceback" not in second.stderr
    # the first one still has every client: nothing was split off to the second
    for _ in range(20):
        assert requests.get(server.url + "/healthz", timeout=5).ok


def test_a_port_held_by_another_program_stops_serve_with_one_line(server):
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        result = serve(server, port)
    assert result.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}: the port is in use" in result.stderr
    assert "Traceback" not in result.stderr


def test_sigterm_while_plugins_start_stops_the_server(server_factory):
    server = server_factory()
    server.stop()
    config = server.config_path.read_text() + \
        f'\n[plugins]\nenable = ["slow_start"]\npaths = ["{TEST_PLUGINS}"]\n'
    server.config_path.write_text(config)
    process = start_serve(server, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        output = ""
        deadline = time.monotonic() + 30
        while "slow_start: starting" not in output:
            assert time.monotonic() < deadline, output
            output += process.stdout.readline()
        process.send_signal(signal.SIGTERM)
        rest, _ = process.communicate(timeout=5)  # the plugin would sleep 10 s more
        output += rest
    finally:
        process.kill()
    assert process.returncode == 0, output
    assert "callcenter stopping" in output
    assert "Traceback" not in output and "NameError" not in output


BLOCK_AIORTC = '''
import importlib.abc, sys

class _Missing(importlib.abc.MetaPathFinder):
    """As if aiortc were not installed."""
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "aiortc":
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, _Missing())
'''


def without_aiortc_recording(server, tmp_path: Path, workers: int) -> dict[str, str]:
    """Stop `server` and give its config recording with `workers` child workers; returns the
    environment of a Python in which aiortc is not installed."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(BLOCK_AIORTC)
    server.stop()
    server.config_path.write_text(server.config_path.read_text() + (
        f'\n[recording]\ndir = "{tmp_path / "rec"}"\nworkers = {workers}\n'
        '[plugins]\nenable = ["recording"]\n[plugins.settings.recording]\nqueues = ["*"]\n'))
    return {"PYTHONPATH": str(site)}


def test_recording_without_the_media_packages_says_what_to_install(server, tmp_path):
    result = serve(server, env=without_aiortc_recording(server, tmp_path, workers=1))
    assert result.returncode == 2, result.stderr
    assert error_lines(result.stderr) == [error_lines(result.stderr)[0]]
    assert "the media worker needs aiortc, which is not installed: " \
        "pip install 'callcenter[media]'" in result.stderr
    assert "Traceback" not in result.stderr


def test_recording_with_external_workers_needs_no_media_packages_here(server, tmp_path):
    env = without_aiortc_recording(server, tmp_path, workers=0)
    process = start_serve(server, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, process.stderr.read()
            try:
                if requests.get(server.url + "/healthz", timeout=1).ok:
                    break
            except requests.RequestException:
                assert time.monotonic() < deadline
                time.sleep(0.1)
    finally:
        process.terminate()
        process.wait(10)


def test_a_tls_certificate_that_cannot_be_used_stops_serve_with_one_line(server_factory):
    server = server_factory()
    server.stop()
    folder = server.config_path.parent
    (folder / "not-a-cert.pem").write_text("-----BEGIN CERTIFICATE-----\nnonsense\n")
    (folder / "not-a-key.pem").write_text("nonsense\n")
    base = server.config_path.read_text()
    for tls, expected in (
            ('tls_cert = "missing.pem"\ntls_key = "not-a-key.pem"',
             f"the TLS certificate {folder / 'missing.pem'} does not exist"),
            ('tls_cert = "not-a-cert.pem"\ntls_key = "not-a-key.pem"',
             "cannot be used")):
        server.config_path.write_text(base.replace("[server]\n", f"[server]\n{tls}\n", 1))
        result = serve(server)
        assert result.returncode == 2, result.stderr
        assert len(error_lines(result.stderr)) == 1, result.stderr
        assert expected in error_lines(result.stderr)[0]
        assert "Traceback" not in result.stderr
