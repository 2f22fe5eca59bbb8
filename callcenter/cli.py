"""The `callcenter` command: serve, mint credentials, inspect plugins, check a config.

Only click is imported at the top: `serve` must let eventlet monkey-patch the standard library
before the server's modules are imported.
"""

from __future__ import annotations

import logging
import sys

import click


def _load(config_path: str):  # -> tuple[Config, PluginHost]
    from callcenter.config import ConfigError, load
    from callcenter.plugin_host import PluginHost

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
    from callcenter import serve as serving  # monkey-patches the standard library

    config, plugins = _load(config_path)
    logging.basicConfig(level=config.server.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
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
    from callcenter.credentials import CredentialError, mint

    config, _ = _load(config_path)
    app = config.app(app_id)
    if app is None:
        click.echo(f"error: no app {app_id!r} in {config_path}", err=True)
        sys.exit(2)
    try:
        click.echo(mint(app.id, app.secret, user_id, role, ttl or app.token_ttl))
    except CredentialError as exc:
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
@click.argument("config_path", type=click.Path(dir_okay=False))
def check_config(config_path: str) -> None:
    """Validate a config file and the plugins it names; exit non-zero on the first problem."""
    config, host = _load(config_path)
    click.echo(f"ok: {len(config.apps)} app(s), {len(host.plugins())} plugin(s)")
