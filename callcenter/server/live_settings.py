"""The administered settings of a running server: seeded, changed, and followed across processes.

At start (``open``) each app's settings come from the database, or from the config file into
it when the database has none of them yet. A change (``change``) is checked against the newest
settings (callcenter.domain.administration), written with its audit entry over the revision it
was made from, and applied here at once. Every other process sharing the database reads the
revisions on its once-a-second tick (``poll``) and applies a newer one. Applying swaps the
settings of the contact center (agents keep their live state, calls go on) and of the built-in
password sign-in.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from callcenter.config import App, Config, settings_error
from callcenter.domain.administration import Change
from callcenter.domain.contact_center import ContactCenter
from callcenter.domain.errors import Refused
from callcenter.history.db.settings import AuditEntry, SettingsTables
from callcenter.history.records import History
from callcenter.hooks.host import PluginHost

log = logging.getLogger("callcenter.server.settings")

# Two admins changing one app in the same instant: the later one is made again on the newer
# settings this many times before it is refused (SETTINGS_CONFLICT).
ATTEMPTS = 3


class LiveSettings:
    def __init__(self, center: ContactCenter, plugins: PluginHost, history: History) -> None:
        self.center = center
        self.plugins = plugins
        self.history = history
        self.tables = SettingsTables(history.database)
        # The config as the settings make it: the contact center's may add what it keeps for
        # calls still going on, which is not the settings' and never written back.
        self.config: Config = center.config
        self.revisions: dict[str, int] = {}
        # Agents and queues the contact center keeps after they were removed, until their calls
        # are over: the settings are applied again on the tick until none is left.
        self.lingering: list[tuple[str, str, str]] = []
        self._db_failing = False

    def revision(self, app_id: str) -> int:
        return self.revisions.get(app_id, 0)

    # -- start -------------------------------------------------------------------------------

    def open(self) -> None:
        """Seed the database with the config file's settings of each app it has none of, then
        take the database's (synchronous: before serving)."""
        stored = self.tables.load()
        now = time.time()
        for app in self.config.apps:
            if app.id not in stored and self.tables.seed(app.id, app.administered(), now):
                log.info("app %s: settings seeded from the config file into the database",
                         app.id)
        self._apply(self.tables.load())

    # -- following other processes ---------------------------------------------------------------

    def poll(self) -> None:
        """On the tick: take the settings another process changed; drop what was kept for
        calls that are over."""
        try:
            revisions = self.history.offload(self.tables.revisions)
            newer = [a for a, r in revisions.items()
                     if r != self.revisions.get(a) and self.config.app(a) is not None]
            rows = self.history.offload(self.tables.load, newer) if newer else {}
        except Exception as exc:  # the database away: the next tick tries again
            if not self._db_failing:
                log.warning("cannot read the settings' revisions: %s", exc)
            self._db_failing = True
            return
        if self._db_failing:
            log.info("reading the settings' revisions again")
            self._db_failing = False
        if rows:
            self._apply(rows)
        elif self.lingering:
            self._install(self.config)

    # -- a change by an admin ------------------------------------------------------------------

    def change(self, app_id: str, actor: str, make: Callable[[App], Change]) -> tuple[Change, int]:
        """Make the change ``make`` computes from the app's newest settings: stored with its
        audit entry, then applied here. ``make`` raises Refused for a bad one (nothing is
        stored). Returns the change and the new revision."""
        for _ in range(ATTEMPTS):
            rows = self.history.offload(self.tables.load, [app_id])
            if app_id in rows:
                self._apply(rows)  # the newest, if another process changed it meanwhile
            app = self.config.app(app_id)
            assert app is not None  # the caller was authenticated for it
            revision = self.revision(app_id)
            change = make(app)
            settings = change.app.administered()
            entry = AuditEntry(actor, change.action, change.kind, change.target, change.before,
                               change.after)
            if self.history.offload(self.tables.commit, app_id, revision, settings, entry,
                                    time.time()):
                self._apply({app_id: (revision + 1, settings)})
                self._record_agents()
                return change, revision + 1
        raise Refused("SETTINGS_CONFLICT", "the settings changed while this change was made; "
                      "try again")

    # -- applying ----------------------------------------------------------------------------

    def _apply(self, rows: dict[str, tuple[int, dict[str, Any]]]) -> None:
        config, changed = self.config, False
        for app_id, (revision, settings) in rows.items():
            app = config.app(app_id)
            if app is None or revision <= self.revisions.get(app_id, 0):
                continue  # an app no longer in the config file; or nothing newer
            try:
                config = config.with_app(app.with_administered(settings))
            except ValidationError as exc:  # e.g. a strategy a plugin no longer provides
                log.error("app %s: the database's settings (revision %d) cannot be used, "
                          "keeping the previous ones: %s", app_id, revision,
                          settings_error("", exc))
                continue
            self.revisions[app_id] = revision
            changed = True
            log.info("app %s: settings revision %d applied", app_id, revision)
        if changed:
            self._install(config)

    def _install(self, config: Config) -> None:
        self.config = config
        # As a step: one at a time with the others, and, with several processes on one store,
        # on their latest shared state, which then carries the agents' new settings too.
        with self.center.clock.step():
            self.lingering = self.center.apply_settings(config)
        self.plugins.apply_settings(config)

    def _record_agents(self) -> None:
        """The history's agents table (names kept for old calls) follows the settings."""
        rows = [(app.id, a.id, a.name or a.id, list(a.queues))
                for app in self.config.apps for a in app.agents]
        self.history.offload(self.history.database.sync_agents, rows, time.time())
