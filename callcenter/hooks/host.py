"""Loads plugins and calls their hooks, so that a failing plugin never takes a call down.

What is loaded: the built-in defaults (minus those the config disables), then exactly the plugins
the config names, each found as an entry point of the group ``callcenter.plugins``, a dotted module
path, or a ``<name>.py`` file in one of ``[plugins] paths``. Nothing is loaded as a side effect of
installing or importing a package.

How hooks are called: one implementation at a time, in pluggy's order (last registered first,
``tryfirst``/``trylast`` honoured). An implementation that raises is logged with its plugin's name
and counted; the others still run. ``CALLCENTER_TRACE_PLUGINS=1`` logs every call with its result
and time, for operators debugging a plugin.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pluggy

from callcenter.config import Config, ConfigError, QueueSettings
from callcenter.domain.agents import Agent
from callcenter.domain.events import CallEvent
from callcenter.domain.free_agents import Candidates
from callcenter.domain.queue_call import QueuedCall
from callcenter.hooks import specs as hookspecs
from callcenter.hooks.defaults.ice_servers import StaticIceServers
from callcenter.hooks.defaults.routing import Fifo, LongestIdle, longest_idle
from callcenter.hooks.defaults.sign_in import PasswordSignIn
from callcenter.hooks.defaults.transfer_targets import TransferTargets

if TYPE_CHECKING:
    from callcenter.hooks.services import Services

log = logging.getLogger("callcenter.plugins")

ENTRY_POINT_GROUP = "callcenter.plugins"
TRACE_ENV = "CALLCENTER_TRACE_PLUGINS"

# Built-in behaviour is itself a plugin, so an operator can replace it: its name, and a factory
# given the config (built-ins are objects so that two servers in one process share no state).
DEFAULT_PLUGINS: list[tuple[str, Callable[[Config], object]]] = [
    ("ice-servers", StaticIceServers),
    ("password-sign-in", PasswordSignIn),
    ("fifo", lambda config: Fifo()),
    ("longest-idle", lambda config: LongestIdle()),
    ("transfer-targets", TransferTargets),
]


@dataclass(frozen=True)
class LoadedPlugin:
    name: str
    source: str  # "builtin", "entry point dist==1.0", "module x.y", "file /path/x.py"
    hooks: tuple[str, ...]


class PluginHost:
    """The plugin manager of one server: loading, listing and guarded hook calls."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.pm = pluggy.PluginManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self.failures: Counter[tuple[str, str]] = Counter()
        self.trace = os.environ.get(TRACE_ENV, "") not in ("", "0")
        self._sources: dict[str, str] = {}
        # What each queue's `strategy` and `queueing` name: name -> (plugin, function).
        self.strategies: dict[str, tuple[str, Any]] = {}
        self.queueings: dict[str, tuple[str, Any]] = {}

    # -- loading ---------------------------------------------------------------------------

    def load(self) -> None:
        """Register defaults and configured plugins; raise ConfigError on any problem."""
        settings = self.config.plugins
        known_defaults = {name for name, _ in DEFAULT_PLUGINS}
        for i, name in enumerate(settings.disable):
            if name not in known_defaults:
                raise ConfigError(f"plugins.disable[{i}]: no built-in plugin named {name!r}")
        for name, factory in DEFAULT_PLUGINS:
            if name not in settings.disable:
                self._register(name, factory(self.config), "builtin")
        for i, name in enumerate(settings.enable):
            where = f"plugins.enable[{i}]"
            if name in self._sources:
                raise ConfigError(f"{where}: plugin {name!r} is enabled twice")
            plugin, source = self._find(name, where)
            self._register(name, plugin, source)
        for name in settings.settings:
            if name not in self._sources:
                raise ConfigError(f"plugins.settings.{name}: no such plugin is enabled")
        try:
            self.pm.check_pending()
        except pluggy.PluginValidationError as exc:
            raise ConfigError(f"plugins: {exc}") from None
        self._collect_routing()

    def _collect(self, hook_name: str, what: str) -> dict[str, tuple[str, Any]]:
        """Ask every plugin implementing a registration hook (``callcenter_strategies``) for
        what it provides: name -> (plugin, function). A name provided twice is an error."""
        registry: dict[str, tuple[str, Any]] = {}

        def register_for(plugin: str) -> Callable[[str, Any], None]:
            def register(name: str, fn: Any) -> None:
                if not isinstance(name, str) or not callable(fn):
                    raise ConfigError(f"plugins: {plugin!r} registered a {what} that is not "
                                      "(name, function)")
                if name in registry:
                    raise ConfigError(f"plugins: {what} {name!r} is provided by both "
                                      f"{registry[name][0]!r} and {plugin!r}")
                registry[name] = (plugin, fn)
            return register

        hook = getattr(self.pm.hook, hook_name)
        per_plugin = {impl.plugin_name: {"register": register_for(impl.plugin_name)}
                      for impl in hook.get_hookimpls()}
        self._call(hook_name, {}, per_plugin=per_plugin, reraise=(ConfigError,))
        return registry

    def _collect_routing(self) -> None:
        self.strategies = self._collect("callcenter_strategies", "strategy")
        self.queueings = self._collect("callcenter_queueings", "queueing discipline")
        for i, app in enumerate(self.config.apps):
            for j, queue in enumerate(app.queues):
                where = f"apps[{i}].queues[{j}]"
                for key, name, known in (("strategy", queue.strategy, self.strategies),
                                         ("queueing", queue.queueing, self.queueings)):
                    if name not in known:
                        raise ConfigError(
                            f"{where}.{key}: no loaded plugin provides {name!r} "
                            f"(loaded: {', '.join(sorted(known))}; enable it in [plugins])")

    def _find(self, name: str, where: str) -> tuple[object, str]:
        for ep in entry_points(group=ENTRY_POINT_GROUP, name=name):
            try:
                plugin = ep.load()
            except Exception as exc:
                raise ConfigError(f"{where}: entry point {name!r} failed to load: {exc!r}") \
                    from None
            dist = f" {ep.dist.name}=={ep.dist.version}" if ep.dist else ""
            return plugin, f"entry point{dist}"
        for folder in self.config.plugins.paths:
            path = (self.config.base_dir / folder / f"{name}.py").resolve()
            if path.is_file():
                return self._load_file(name, path, where), f"file {path}"
        if "." in name or ":" in name:
            module_name, _, attr = name.partition(":")
            try:
                module = importlib.import_module(module_name)
                return (getattr(module, attr) if attr else module), f"module {name}"
            except Exception as exc:
                raise ConfigError(f"{where}: cannot import {name!r}: {exc!r}") from None
        raise ConfigError(
            f"{where}: no plugin named {name!r} (not an entry point of {ENTRY_POINT_GROUP}, "
            f"a file in plugins.paths, or a module path)"
        )

    @staticmethod
    def _load_file(name: str, path: Path, where: str) -> ModuleType:
        module_name = "callcenter_plugin_file_" + name.replace("-", "_")
        spec = importlib.util.spec_from_file_location(module_name, path)
        if spec is None or spec.loader is None:
            raise ConfigError(f"{where}: cannot load {path}")
        module = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(module)
        except Exception as exc:
            raise ConfigError(f"{where}: {path} failed to load: {exc!r}") from None
        return module

    def _register(self, name: str, plugin: object, source: str) -> None:
        # A plugin given as a class is made here: its settings and state belong to this host,
        # never to the module (two hosts in one process share nothing).
        if isinstance(plugin, type):
            try:
                plugin = plugin()
            except Exception as exc:
                raise ConfigError(f"plugins: {name!r} could not be made: {exc!r}") from None
        try:
            self.pm.register(plugin, name=name)
        except (ValueError, pluggy.PluginValidationError) as exc:
            raise ConfigError(f"plugins: cannot register {name!r}: {exc}") from None
        for hook in self.pm.get_hookcallers(plugin) or []:
            for impl in hook.get_hookimpls():
                if impl.plugin is plugin and (impl.hookwrapper or impl.wrapper):
                    raise ConfigError(
                        f"plugins: {name!r} implements {hook.name} as a wrapper; "
                        "callcenter calls each implementation on its own, so wrappers are not "
                        "supported"
                    )
        self._sources[name] = source

    def plugins(self) -> list[LoadedPlugin]:
        """What is loaded, from where, with which hooks: `callcenter plugins` prints this."""
        loaded = []
        for name, source in self._sources.items():
            plugin = self.pm.get_plugin(name)
            hooks = sorted(h.name for h in self.pm.get_hookcallers(plugin) or [])
            loaded.append(LoadedPlugin(name, source, tuple(hooks)))
        return loaded

    # -- calling ---------------------------------------------------------------------------

    def _call(self, hook_name: str, kwargs: dict[str, Any],
              per_plugin: dict[str, dict[str, Any]] | None = None,
              reraise: tuple[type[Exception], ...] = ()) -> list[Any]:
        """Call each implementation on its own, guarded; stop at the first non-None result when
        the hook's spec says ``firstresult``. ``reraise``: errors that are the caller's to handle
        (a registration the config cannot accept)."""
        hook = getattr(self.pm.hook, hook_name)
        firstresult = bool(hook.spec and hook.spec.opts.get("firstresult"))
        results = []
        for impl in reversed(hook.get_hookimpls()):
            args = dict(kwargs, **(per_plugin or {}).get(impl.plugin_name, {}))
            started = time.perf_counter()
            try:
                result = impl.function(*[args[name] for name in impl.argnames])
            except reraise:
                raise
            except Exception as exc:
                self._failed(impl.plugin_name, hook_name, exc)
                continue
            if self.trace:
                log.info("plugin trace: %s.%s -> %r (%.2f ms)", impl.plugin_name, hook_name,
                         result, (time.perf_counter() - started) * 1000)
            if result is not None:
                results.append(result)
                if firstresult:
                    break
        return results

    def _failed(self, plugin: str, where: str, exc: Exception) -> None:
        self.failures[(plugin, where)] += 1
        if where == "callcenter_startup" and isinstance(exc, ValueError):
            # The hook's contract: a ValueError names a bad setting; one line says it.
            log.error("plugin %r not started: %s", plugin, exc)
        else:
            log.exception("plugin %r failed in %s; going on without it", plugin, where)

    def failure_counts(self) -> dict[str, int]:
        return {f"{plugin}.{hook}": n for (plugin, hook), n in sorted(self.failures.items())}

    # -- one typed method per hook, so call sites are checked and easy to grep --------------

    def apply_settings(self, config: Config) -> None:
        """The apps' administered settings changed (callcenter.server.live_settings): the
        built-in defaults that read them (the password sign-in) follow at once. Plugins get
        the config at startup only; those that keep agents or queues of their own see the
        change in what the hooks are given (a queue's settings, the agents)."""
        self.config = config
        for plugin in self.pm.get_plugins():
            follow = getattr(plugin, "follow_settings", None)
            if self._sources.get(self.pm.get_name(plugin) or "") == "builtin" and follow:
                follow(config)

    def startup(self, services: Services | None = None) -> None:
        per_plugin = {name: {"settings": self.config.plugin_settings(name)}
                      for name in self._sources}
        self._call("callcenter_startup", {"config": self.config, "settings": {},
                                          "services": services}, per_plugin=per_plugin)

    def shutdown(self) -> None:
        self._call("callcenter_shutdown", {})

    def call_event(self, event: CallEvent) -> None:
        self._call("callcenter_call_event", {"event": event})

    def authenticate(self, app_id: str, user_id: str, password: str) -> bool:
        """Whether the console sign-in's password is the person's; no answer is a refusal."""
        results = self._call("callcenter_authenticate",
                             {"app_id": app_id, "user_id": user_id, "password": password})
        return bool(results) and results[0] is True

    def ice_servers(self, app_id: str, user_id: str) -> list[dict[str, Any]]:
        results = self._call("callcenter_ice_servers", {"app_id": app_id, "user_id": user_id})
        return results[0] if results else []

    def queue_key(self, queue: QueueSettings, call: QueuedCall, now: float) -> Any:
        """The sort key of ``call`` by its queue's discipline (join time if that one fails)."""
        plugin, key = self.queueings[queue.queueing]
        try:
            return key(queue, call, now)
        except Exception as exc:
            self._failed(plugin, f"queueing {queue.queueing}", exc)
            return (call.joined_at,)

    def select_agents(self, queue: QueueSettings, call: QueuedCall,
                      agents: Candidates | list[Agent], now: float) -> list[Agent]:
        """The agents to offer ``call`` to, by its queue's strategy (longest-idle if that one
        fails, so that a broken plugin never leaves calls unanswered). ``agents`` is the
        contact center's ``Candidates``; a plain list is made into one."""
        if not isinstance(agents, Candidates):
            agents = Candidates.of(agents, now)
        plugin, select = self.strategies[queue.strategy]
        started = time.perf_counter()
        try:
            chosen = select(queue, call, agents, now)
        except Exception as exc:
            self._failed(plugin, f"strategy {queue.strategy}", exc)
            chosen = longest_idle(queue, call, agents, now) if agents else []
        if self.trace:
            log.info("plugin trace: %s strategy %s -> %r (%.2f ms)", plugin, queue.strategy,
                     chosen, (time.perf_counter() - started) * 1000)
        if chosen is None:
            return []
        return [chosen] if isinstance(chosen, Agent) else list(chosen)

    def should_record(self, app_id: str, queue: QueueSettings, call: QueuedCall) -> bool:
        results = self._call("callcenter_should_record",
                             {"app_id": app_id, "queue": queue, "call": call})
        return bool(results and results[0])

    def may_transfer(self, app_id: str, agent: Agent, call: QueuedCall, to_agent: str | None,
                     to_queue: str | None) -> bool:
        """Whether the transfer may go ahead; no answer is a refusal."""
        results = self._call("callcenter_may_transfer", {
            "app_id": app_id, "agent": agent, "call": call, "to_agent": to_agent,
            "to_queue": to_queue})
        return bool(results) and results[0] is True

    def recording_ready(self, recording: dict[str, Any]) -> None:
        self._call("callcenter_recording_ready", {"recording": dict(recording)})
