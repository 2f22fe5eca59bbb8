"""The `callcenter` command: serve, mint credentials, inspect plugins, check a config.

Only click is imported at the top: `serve` must let eventlet monkey-patch the standard library
before the server's modules are imported.
"""

from __future__ import annotations

import sys

import click

from callcenter import logs


def _load(config_path: str):  # -> tuple[Config, PluginHost]
    from callcenter.config import ConfigError, load
    from callcenter.hooks.host import PluginHost

    try:
        config = load(config_path)
        plugins = PluginHost(config)
        plugins.load()
    except ConfigError as exc:
        click.echo(f"config error: {exc}", err=True)
        sys.exit(2)
    return config, plugins


@click.group()
@click.version_option(package_name="callcenter")
def main() -> None:
    """A self-hosted, plugin-based WebRTC contact-center backend."""


@main.command()
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False),
              help="TOML configuration file.")
@click.option("--host", default=None, help="Address to listen on (default: server.host).")
@click.option("--port", default=None, type=int, help="Port to listen on (default: server.port).")
def serve(config_path: str, host: str | None, port: int | None) -> None:
    """Run the server."""
    from callcenter.server import serve as serving  # monkey-patches the standard library

    config, plugins = _load(config_path)
    logs.configure(config.server.log_level, config.server.log_format)
    serving.run(config, plugins, host or config.server.host, port or config.server.port)


@main.command()
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False))
@click.option("--app", "app_id", required=True, help="App (tenant) id.")
@click.option("--user", "user_id", required=True, help="User id: [A-Za-z0-9_-], at most 32.")
@click.option("--role", required=True,
              type=click.Choice(["customer", "agent", "supervisor", "service"]))
@click.option("--ttl", default=None, type=click.IntRange(min=1),
              help="Seconds the credential is valid (default: the app's token_ttl).")
def token(config_path: str, app_id: str, user_id: str, role: str, ttl: int | None) -> None:
    """Print a credential (userSig) for a user of an app."""
    from callcenter.domain.credentials import mint
    from callcenter.domain.errors import Refused

    config, _ = _load(config_path)
    app = config.app(app_id)
    if app is None:
        click.echo(f"error: no app {app_id!r} in {config_path}", err=True)
        sys.exit(2)
    try:
        click.echo(mint(app.id, app.secret, user_id, role, ttl or app.token_ttl))
    except Refused as exc:
        click.echo(f"error: {exc.message}", err=True)
        sys.exit(2)


@main.command()
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False))
def plugins(config_path: str) -> None:
    """List the loaded plugins, where each comes from and the hooks it implements."""
    _, host = _load(config_path)
    for plugin in host.plugins():
        click.echo(f"{plugin.name}  ({plugin.source})")
        for hook in plugin.hooks:
            click.echo(f"    {hook}")


@main.command("check-config")
@click.option("--config", "config_option", default=None, type=click.Path(dir_okay=False),
              help="TOML configuration file (as for every other command).")
@click.argument("config_path", required=False, type=click.Path(dir_okay=False))
def check_config(config_option: str | None, config_path: str | None) -> None:
    """Validate a config file and the plugins it names; exit non-zero on the first problem.
    The file is given with --config, as to every other command (a bare path still works)."""
    path = config_option or config_path
    if path is None:
        click.echo("error: give the config file: callcenter check-config --config FILE", err=True)
        sys.exit(2)
    config, host = _load(path)
    click.echo(f"ok: {len(config.apps)} app(s), {len(host.plugins())} plugin(s)")


@main.group()
def agents() -> None:
    """Manage agents (kept in the config's agents_file)."""


@agents.command("add")
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False))
@click.option("--app", "app_id", required=True)
@click.option("--id", "agent_id", required=True, help="The agent's user id.")
@click.option("--name", default="", help="Shown to customers and in the console.")
@click.option("--queues", default="", help="Comma-separated queue names.")
@click.option("--skill", "skills", multiple=True, metavar="NAME=LEVEL",
              help="A skill and its level (1-100); repeat for several.")
@click.password_option(help="The agent's password (asked for when not given).")
def agents_add(config_path: str, app_id: str, agent_id: str, name: str, queues: str,
               skills: tuple[str, ...], password: str) -> None:
    """Add an agent with a hashed password to the agents_file."""
    import json
    import tomllib
    from pathlib import Path

    from werkzeug.security import generate_password_hash

    from callcenter.config import agents_file_path

    config, _ = _load(config_path)
    data = tomllib.loads(Path(config_path).read_text())
    path = agents_file_path(data, Path(config_path).resolve().parent)
    if path is None:
        click.echo("error: the config has no agents_file to add agents to", err=True)
        sys.exit(2)
    app = config.app(app_id)
    if app is None:
        click.echo(f"error: no app {app_id!r}", err=True)
        sys.exit(2)
    if app.agent(agent_id) is not None:
        click.echo(f"error: app {app_id!r} already has an agent {agent_id!r}", err=True)
        sys.exit(2)
    queue_names = [q for q in queues.split(",") if q]
    for queue in queue_names:
        if app.queue(queue) is None:
            click.echo(f"error: app {app_id!r} has no queue {queue!r}", err=True)
            sys.exit(2)
    levels = {}
    for skill in skills:
        skill_name, _, level = skill.partition("=")
        if not skill_name or not level.isdigit() or not 1 <= int(level) <= 100:
            click.echo(f"error: --skill {skill!r}: use NAME=LEVEL with a level of 1 to 100",
                       err=True)
            sys.exit(2)
        levels[skill_name] = int(level)
    # TOML basic strings escape like JSON strings, so json.dumps writes them safely.
    entry = ["[[agents]]", f"app = {json.dumps(app_id)}", f"id = {json.dumps(agent_id)}",
             f"name = {json.dumps(name)}",
             f"password_hash = {json.dumps(generate_password_hash(password))}",
             f"queues = {json.dumps(queue_names)}",
             "skills = { " + ", ".join(f"{json.dumps(k)} = {v}" for k, v in levels.items())
             + " }"]
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as f:
        f.write("\n".join(entry) + "\n\n")
    _load(config_path)  # the file as written must still be a valid config
    click.echo(f"added agent {agent_id!r} to app {app_id!r} in {path}")


@main.command()
@click.option("--server", "server_url", required=True, help="The core server's URL.")
@click.option("--app", "app_id", required=True,
              help="The app whose calls it records, or '*' for a worker shared by every app "
                   "(its credential signed with [recording] shared_worker_secret).")
@click.option("--token", default=None, envvar="CALLCENTER_SERVICE_TOKEN",
              help="A service credential (default: $CALLCENTER_SERVICE_TOKEN, or minted from "
                   "--config).")
@click.option("--config", "config_path", default=None, type=click.Path(dir_okay=False),
              help="Mint the service credential from this config's app secret.")
@click.option("--capacity", default=150, type=click.IntRange(1, 10000),
              help="Recordings this worker takes at once.")
@click.option("--name", default=None, help="A name for logs (default: the credential's user).")
@click.option("--log-format", type=click.Choice(["text", "json"]), default="text",
              help="Log lines as text, or as one JSON object each.")
@click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error"]),
              default="info", help="The least important log lines written.")
@click.option("--no-verify-tls", "verify_tls", is_flag=True, flag_value=False, default=True,
              help="Do not check the https server's certificate: only for a worker on the "
                   "server's own machine reaching it as 127.0.0.1 (serve's child workers do).")
def media(server_url: str, app_id: str, token: str | None, config_path: str | None,
          capacity: int, name: str | None, log_format: str, log_level: str,
          verify_tls: bool) -> None:
    """Run a media worker (aiortc): records calls for the core server at --server."""
    if token is None:
        if config_path is None:
            click.echo("error: give --token, $CALLCENTER_SERVICE_TOKEN or --config", err=True)
            sys.exit(2)
        from callcenter.domain.credentials import SHARED, Role, mint

        config, _ = _load(config_path)
        app = config.app(app_id)
        if app_id == SHARED:
            secret = config.recording.shared_worker_secret
            if secret is None:
                click.echo("error: a shared worker (--app '*') needs [recording] "
                           "shared_worker_secret in the config", err=True)
                sys.exit(2)
        elif app is None:
            click.echo(f"error: no app {app_id!r}", err=True)
            sys.exit(2)
        else:
            secret = app.secret
        token = mint(app_id, secret, f"media-{name or 'worker'}", Role.SERVICE, 86400)
    logs.configure(log_level, log_format)  # type: ignore[arg-type]
    from callcenter.media.worker import run_worker

    run_worker(server_url, app_id, token, capacity, name, verify_tls=verify_tls)
