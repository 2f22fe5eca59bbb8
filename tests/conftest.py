"""Shared fixtures: a real `callcenter serve` process on a free port, and credentials for it.

Integration and browser tests talk to this process over real Socket.IO and HTTP; nothing of ours is
mocked. Each server writes its log to a file; a test that leaves a traceback in it fails.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from callcenter.domain.credentials import mint
from callcenter.testing.nginx import nginx_config

DEMO_SECRET = "test-secret-demo-0123456789abcdef0123456789"
OTHER_SECRET = "test-secret-other-0123456789abcdef012345678"

BASE_CONFIG = """
[server]
host = "127.0.0.1"
port = {port}
{demo_line}
rate_limit = "{rate_limit}"
{server_extra}

[database]
url = "{database_url}"

[signaling]
group_max = 4
default_timeout = 30
max_timeout = 600
{signaling}

[[apps]]
id = "demo"
secret = {{ env = "CC_TEST_DEMO_SECRET" }}
# The signaling tests' customers call each other directly, as on /demo; app "other" may not.
customer_direct_calls = true
{demo_extra}

[[apps]]
id = "other"
secret = {{ env = "CC_TEST_OTHER_SECRET" }}

{extra}
"""


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """With two workers (scripts/test.sh runs ``-n 2``): every browser test in one unit of work,
    run one after another, so that no two Chromiums with fake media share the two cores; every
    other test file a unit of its own, so its module-scoped servers start once."""
    from xdist.scheduler import LoadScopeScheduling

    class BrowserTestsTogether(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            return "tests/browser" if path.startswith("tests/browser/") else path

    return BrowserTestsTogether(config, log)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    """A running `callcenter serve` process."""

    url: str
    port: int
    config_path: Path
    log_path: Path
    process: subprocess.Popen
    secrets: dict[str, str] = field(default_factory=dict)
    # A test that makes a plugin fail on purpose expects its traceback in the log.
    expect_traceback: bool = False

    def token(self, user: str, app: str = "demo", role: str = "customer", ttl: int = 600,
              claims: dict | None = None) -> str:
        """A credential for `user`; `claims` adds verified customer claims (name, priority...)."""
        if claims is None:
            return mint(app_id=app, secret=self.secrets[app], user_id=user, role=role, ttl=ttl)
        return mint(app_id=app, secret=self.secrets[app], user_id=user, role=role, ttl=ttl,
                    claims=claims)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for_media_workers(self, count: int = 1, timeout: float = 30) -> None:
        """Wait until `count` media workers have said worker_hello to this server."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready = [line for line in self.log().splitlines()
                     if "media worker" in line and "ready for" in line]
            if len(ready) >= count:
                return
            time.sleep(0.1)
        raise TimeoutError(f"{count} media worker(s) not ready:\n{self.log()[-3000:]}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def start_server(tmp_path: Path, extra: str = "", rate_limit: str = "200/second",
                 demo_app: bool = True, demo_extra: str = "",
                 database_url: str | None = None,
                 signaling: str = "resume_window = 0", server_extra: str = "",
                 ca_file: Path | None = None, port: int | None = None) -> Server:
    """Start a server. `extra` is TOML appended at the end; `demo_extra` goes inside the demo
    app's table (keys like `allowed_origins`, then `[[apps.queues]]`/`[[apps.agents]]` tables).
    Each server has a SQLite file of its own unless `database_url` names one to share (a
    restarted server, or PostgreSQL). `signaling` is TOML inside `[signaling]`: by default
    resuming is off, so that a client that disconnects leaves its call at once (the resume tests
    turn it on). `server_extra` is TOML inside `[server]`; with `ca_file` the server speaks
    https (its `tls_cert` in `server_extra`, issued by that CA for 127.0.0.1 too). `port` starts
    it on a given port (a server restarted where its clients were); it then reuses that port's
    config and database, and logs to a file of its own."""
    port = port or free_port()
    # CC_TEST_STORE_URL=redis://... runs every server of the suite on that store (a run of the
    # whole signaling suite against Redis); tests that choose their own [store] keep it.
    store_url = os.environ.get("CC_TEST_STORE_URL")
    if store_url and "[store]" not in extra:
        extra = f'{extra}\n[store]\nurl = "{store_url}"\n'
    config_path = tmp_path / f"callcenter-{port}.toml"
    demo_line = 'demo_app = "demo"' if demo_app else ""
    config_path.write_text(BASE_CONFIG.format(
        port=port, extra=extra, rate_limit=rate_limit, demo_line=demo_line,
        demo_extra=demo_extra, database_url=database_url or f"sqlite:///db-{port}.db",
        signaling=signaling, server_extra=server_extra))
    log_path = tmp_path / f"server-{port}.log"
    for again in range(2, 100):  # a restart on the same port keeps the earlier log
        if not log_path.exists():
            break
        log_path = tmp_path / f"server-{port}-{again}.log"
    env = dict(os.environ, CC_TEST_DEMO_SECRET=DEMO_SECRET, CC_TEST_OTHER_SECRET=OTHER_SECRET)
    env["PYTHONUNBUFFERED"] = "1"
    log = open(log_path, "wb")  # noqa: SIM115 - the child owns it for its lifetime
    process = subprocess.Popen(
        [sys.executable, "-m", "callcenter", "serve", "--config", str(config_path),
         "--host", "127.0.0.1", "--port", str(port)],
        stdout=log, stderr=subprocess.STDOUT, env=env, cwd=tmp_path,
    )
    url = f"{'https' if ca_file else 'http'}://127.0.0.1:{port}"
    server = Server(url, port, config_path, log_path, process,
                    {"demo": DEMO_SECRET, "other": OTHER_SECRET})
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{server.log()}")
        try:
            if requests.get(url + "/healthz", timeout=1, verify=str(ca_file or True)).ok:
                return server
        except requests.RequestException:
            time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"server did not come up:\n{server.log()}")


PG_BIN_GLOB = "/usr/lib/postgresql/*/bin/pg_ctl"


@dataclass
class Postgres:
    """A private PostgreSQL server started by the test suite (scripts/bootstrap.sh installs it)."""

    port: int
    folder: Path
    databases: int = 0

    def new_database(self) -> str:
        """A fresh, empty database on this server; returns its SQLAlchemy URL."""
        import psycopg2

        self.databases += 1
        name = f"cc_test_{self.databases}"
        conn = psycopg2.connect(host="127.0.0.1", port=self.port, user="postgres",
                                dbname="postgres")
        conn.autocommit = True
        with conn.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE {name}")
        conn.close()
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"


def _as_postgres_user(args: list[str]) -> list[str]:
    # PostgreSQL refuses to run as root (CI runs as root): run it as the postgres system user.
    return ["runuser", "-u", "postgres", "--", *args] if os.getuid() == 0 else args


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Postgres]:
    import glob
    import shutil

    found = sorted(glob.glob(PG_BIN_GLOB))
    if not found:
        pytest.fail("PostgreSQL is not installed: run scripts/bootstrap.sh test")
    bin_dir = Path(found[-1]).parent
    folder = Path(tempfile.mkdtemp(prefix="cc-pg-"))  # not under pytest's root-owned tmp
    data = folder / "data"
    if os.getuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    port = free_port()
    subprocess.run(_as_postgres_user([str(bin_dir / "initdb"), "-D", str(data), "-A", "trust",
                                      "-U", "postgres", "--no-sync"]),
                   check=True, capture_output=True)
    subprocess.run(_as_postgres_user([
        str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(folder / "log"), "-w", "start",
        "-o", f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"]),
        check=True, capture_output=True)
    try:
        yield Postgres(port, folder)
    finally:
        subprocess.run(_as_postgres_user([str(bin_dir / "pg_ctl"), "-D", str(data), "-m",
                                          "immediate", "stop"]), capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


@dataclass
class Turn:
    """A private coturn relay started by the test suite (scripts/bootstrap.sh installs it), with
    coturn's REST credentials (`use-auth-secret`) signed by `secret`."""

    port: int
    secret: str
    log_path: Path
    args: list[str]
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"turn:127.0.0.1:{self.port}?transport=udp"

    def start(self) -> None:
        """Starts coturn (again, after `stop()`) on the same ports, with the same secret: the
        credentials users already hold stay good, their allocations do not."""
        opened = self.log().count("UDP listener opened on") if self.log_path.exists() else 0
        with open(self.log_path, "ab") as log:  # the child keeps its own copy of the file
            self.process = subprocess.Popen(self.args, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while self.log().count("UDP listener opened on") <= opened:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"coturn did not start:\n{self.log()}")
            time.sleep(0.1)

    def stop(self) -> None:
        """Stops coturn: every allocation, and the media relayed through it, is gone."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(5)

    def config(self) -> str:
        """The callcenter TOML that hands this relay to every user."""
        return f'[turn]\nurls = ["{self.url}"]\nsecrets = ["{self.secret}"]\n'

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@pytest.fixture(scope="session")
def turn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Turn]:
    import shutil

    binary = shutil.which("turnserver")
    if binary is None:
        pytest.fail("coturn is not installed: run scripts/bootstrap.sh test")
    folder = tmp_path_factory.mktemp("turn")
    port, secret = free_port(), "turn-test-secret-0123456789"
    # Relayed ports from a range of their own; loopback peers allowed, since every peer of the
    # tests is on 127.0.0.1 (coturn refuses to relay to loopback by default).
    low = 40000 + (port % 200) * 100
    log_path = folder / "turnserver.log"
    relay = Turn(port, secret, log_path, [
        binary, "-n", "--listening-ip=127.0.0.1", f"--listening-port={port}",
        "--relay-ip=127.0.0.1", f"--min-port={low}", f"--max-port={low + 99}",
        "--use-auth-secret", f"--static-auth-secret={secret}", "--realm=callcenter.test",
        "--no-tls", "--no-dtls", "--no-cli", "--allow-loopback-peers", "--fingerprint",
        "--no-software-attribute", f"--pidfile={folder / 'turnserver.pid'}",
        f"--userdb={folder / 'turndb'}",
        "--log-file=stdout", "--simple-log", "--verbose"])
    relay.start()
    try:
        yield relay
    finally:
        relay.stop()


REDIS_SERVER = "redis-server"


@dataclass
class RedisServer:
    """A private `redis-server` started by the test suite (scripts/bootstrap.sh installs it):
    no persistence, so a restart on the same port comes back empty, as a lost Redis would."""

    port: int
    folder: Path
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        import shutil

        binary = shutil.which(REDIS_SERVER)
        if binary is None:
            pytest.fail("redis-server is not installed: run scripts/bootstrap.sh test")
        log = open(self.folder / "redis.log", "ab")  # noqa: SIM115 - the child owns it
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--daemonize", "no", "--dir", str(self.folder)],
            stdout=log, stderr=subprocess.STDOUT, cwd=self.folder)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.process.returncode}:\n"
                                   + (self.folder / "redis.log").read_text(errors="replace"))
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(64).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not answer PING within 10 s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.process = None

    def client(self):  # -> redis.Redis; imported lazily like psycopg2 above
        import redis

        return redis.Redis(host="127.0.0.1", port=self.port, db=0, decode_responses=True,
                           socket_timeout=5)


def _redis_server() -> Iterator[RedisServer]:
    import shutil

    server = RedisServer(free_port(), Path(tempfile.mkdtemp(prefix="cc-redis-")))
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.folder, ignore_errors=True)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """One redis-server for the session; each test keeps to keys of its own (a store prefix)."""
    yield from _redis_server()


@pytest.fixture
def own_redis_server() -> Iterator[RedisServer]:
    """A redis-server for one test, which may stop and start it (`stop()`, `start()`)."""
    yield from _redis_server()


@dataclass
class Nginx:
    """Debian's nginx in front of a server (scripts/bootstrap.sh installs it)."""

    port: int
    folder: Path
    process: subprocess.Popen

    def url(self, prefix: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{prefix.rstrip('/')}"

    def log(self) -> str:
        path = self.folder / "error.log"
        return path.read_text(errors="replace") if path.exists() else ""


@pytest.fixture
def nginx(tmp_path: Path) -> Iterator[Callable[..., Nginx]]:
    """`nginx(upstream_port, prefix="/cc/")` → nginx on a free port proxying `prefix` to the
    server on `upstream_port`, as docs/deploy.md configures it; stopped after the test. Given a
    list of ports, it balances between those servers (docs/deploy.md, "Several processes"): a
    connection a server refuses is passed to the next (max_fails=0: a server is never taken out
    for a while, so one started again takes connections at once)."""
    import shutil

    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    if not os.path.exists(binary):
        pytest.fail("nginx is not installed: run scripts/bootstrap.sh test")
    started: list[Nginx] = []

    def start(upstream: int | list[int], prefix: str = "/") -> Nginx:
        folder = tmp_path / f"nginx-{len(started)}"
        folder.mkdir()
        port = free_port()
        config = nginx_config(folder, port, upstream, prefix)
        (folder / "nginx.conf").write_text(config)
        process = subprocess.Popen([binary, "-p", str(folder), "-c", str(folder / "nginx.conf")],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        proxy = Nginx(port, folder, process)
        started.append(proxy)
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    return proxy
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"nginx did not start:\n{proxy.log()}") from None
                time.sleep(0.05)

    yield start
    for proxy in started:
        proxy.process.terminate()
        proxy.process.wait(5)


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator:
    """Start servers with extra TOML appended to the base config; all are stopped afterwards."""
    started: list[Server] = []

    def factory(extra: str = "", rate_limit: str = "200/second", demo_app: bool = True,
                demo_extra: str = "", database_url: str | None = None,
                signaling: str = "resume_window = 0", server_extra: str = "",
                ca_file: Path | None = None, port: int | None = None) -> Server:
        server = start_server(tmp_path, extra, rate_limit, demo_app, demo_extra, database_url,
                              signaling, server_extra, ca_file, port)
        started.append(server)
        return server

    yield factory
    for server in started:
        server.stop()
    for server in started:
        if not server.expect_traceback:
            assert "Traceback" not in server.log(), server.log()


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server for a whole test module (tests must use distinct user ids)."""
    server = start_server(tmp_path_factory.mktemp("server"))
    yield server
    server.stop()
    assert "Traceback" not in server.log(), server.log()


@pytest.fixture
def server(server_factory) -> Server:
    return server_factory()
