"""Settings resolved and plugins loaded: everything a kernel is built from, before any database,
cache or queue is opened.

    config = Configuration(settings_files=["settings.toml"])
    config.settings.database_url        # validated, secrets masked in config.settings.display()
    list(config.plugins)                # one PluginInfo per plugin, failed ones included
    config.events, config.domains       # the event catalog, the domains of the loaded plugins
    kernel = Kernel(config)             # a kernel booted on it (Kernel.boot() does both steps)

``sublarr config``, ``plugins``, ``events`` and ``db history`` use a configuration only; every other
command boots a kernel on it. (The kernel depends on this module, never the other way round.)
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterable
from functools import cached_property
from typing import Any

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from sublarr.core.domain import Domain
from sublarr.core.errors import SettingsError
from sublarr.core.events import EventType
from sublarr.core.plugins import FAILED, LOADED, RUNTIME, Plugins
from sublarr.core.settings import CORE_SETTINGS, Setting, Settings, SettingsLoader

log = logging.getLogger("sublarr.configuration")

DRIVER_KINDS = ("storage", "cache", "queue")


class Configuration:
    """The resolved settings and the loaded plugins. Raises SettingsError on a bad setting."""

    def __init__(self, *, settings_files: Iterable[str] | None = None, extra_plugins: Iterable[Any] = (),
                 entry_points: bool = True, **overrides: Any):
        self._overrides = overrides
        # as given: None means "settings.toml and .secrets.toml if they exist", a list names files that must
        self._requested_files = None if settings_files is None else list(settings_files)
        loader = SettingsLoader(self._requested_files, overrides)
        self.settings_files: list[str] = loader.files
        core = loader.resolve(CORE_SETTINGS, warn_unknown=False)  # plugins may declare the rest
        self.plugins = Plugins(disabled=core.plugins_disabled, allow=core.load_plugins, entry_points=entry_points)
        for plugin in extra_plugins:
            self.plugins.register(plugin, source=RUNTIME)
        self.declared: list[Setting] = self._plugin_settings()
        self.domain_owners: dict[str, str] = {}  # domain -> plugin, filled with ``domains``
        self.settings: Settings = loader.resolve([*CORE_SETTINGS, *self.declared])

    def with_overrides(self, **overrides: Any) -> Configuration:
        """The same plugins with the settings resolved again, ``overrides`` on top (e.g. another
        ``database_url`` for ``sublarr db copy --to``). ``plugins_disabled`` does not change here."""
        if not overrides:
            return self
        other = copy.copy(self)
        other._overrides = {**self._overrides, **overrides}
        other.settings = SettingsLoader(self._requested_files, other._overrides).resolve([*CORE_SETTINGS,
                                                                                         *self.declared])
        return other

    def __repr__(self) -> str:
        return f"<Configuration files={self.settings_files} plugins={self.plugins!r}>"

    # -- what the plugins register -------------------------------------------------------------------

    def _plugin_settings(self) -> list[Setting]:
        core_names = {s.name for s in CORE_SETTINGS}
        found: dict[str, Setting] = {}
        for plugin, setting in self.plugins.collect("sublarr_settings"):
            if setting.name in core_names or setting.name in found:
                log.warning("plugin %s redeclares setting %r; ignored", plugin, setting.name)
                continue
            found[setting.name] = setting
        return list(found.values())

    @cached_property
    def domains(self) -> dict[str, Domain]:
        """The domains of the loaded plugins. A plugin whose domain ``requires`` a domain that is not
        there (its plugin disabled or failed) is disabled with that reason, and so on down the line."""
        domains: dict[str, Domain] = {}
        owner: dict[str, str] = {}
        for plugin, domain in self.plugins.collect("sublarr_domains"):
            if domain.name in domains:
                self.plugins.fail(plugin, "sublarr_domains", f"registers domain {domain.name!r}, which plugin "
                                                             f"{owner[domain.name]!r} registers already")
                continue
            domains[domain.name], owner[domain.name] = domain, plugin
        while True:
            unmet = next(((name, required) for name, domain in domains.items() for required in domain.requires
                          if required not in domains), None)
            if unmet is None:
                break
            name, required = unmet
            self.plugins.disable(owner[name], f"domain {name!r} requires domain {required!r}, "
                                              f"{self._why_absent(required)}")
            domains = {n: d for n, d in domains.items() if owner[n] != owner[name]}
        domains = {n: d for n, d in domains.items() if self.plugins.info[owner[n]].status == LOADED}
        for name in domains:
            info = self.plugins.info[owner[name]]
            info.tables = sorted({*info.tables, *(t.name for t in domains[name].tables)})
        self.domain_owners = {n: owner[n] for n in domains}
        return domains

    def _why_absent(self, domain: str) -> str:
        info = self.plugins.info.get(domain)
        if info is not None and info.status != LOADED:
            return f"which is not loaded (plugin {domain!r} is {info.status})"
        return "which no loaded plugin provides"

    @cached_property
    def events(self) -> dict[str, EventType]:
        """The event catalog: the events every loaded plugin declares (the domains' among them)."""
        from dataclasses import replace

        self.domains  # noqa: B018 (a plugin disabled because a domain it requires is missing adds no events)
        events: dict[str, EventType] = {}
        for plugin, event in self.plugins.collect("sublarr_events"):
            if event.name in events:
                log.warning("plugin %s redefines event %r; ignored", plugin, event.name)
                continue
            events[event.name] = event if event.plugin else replace(event, plugin=plugin)
        return events

    def drivers(self, kind: str) -> dict[str, tuple[str, type[Any]]]:
        """driver name -> (plugin, driver class) for ``kind`` (storage, cache, queue); first one wins."""
        found: dict[str, tuple[str, type[Any]]] = {}
        for plugin, driver in self.plugins.collect(f"sublarr_{kind}_drivers"):
            found.setdefault(driver.name, (plugin, driver))
        return found

    # -- choosing the drivers ------------------------------------------------------------------------

    def database(self) -> tuple[str, URL]:
        """(the setting that names the database, its parsed URL)."""
        setting = "database_url" if self.settings.database_url else "db_path"
        try:
            return setting, make_url(self.settings.resolved_database_url)
        except ArgumentError:
            raise SettingsError(setting, "is not a valid database URL") from None

    def choose_driver(self, kind: str) -> tuple[str, str, type[Any]]:
        """(plugin, setting, driver class) for the configured ``kind`` driver: storage by the URL
        scheme, cache and queue by ``<kind>_driver``; ``auto`` takes the driver that ranks highest for
        these settings (``auto_rank``). SettingsError (naming the setting) when there is none."""
        drivers = self.drivers(kind)
        if kind == "storage":
            setting, url = self.database()
            backend = url.get_backend_name()
            found = next(((p, d) for p, d in drivers.values() if backend in d.schemes), None)
            if found is None:
                known = sorted({s for _p, d in drivers.values() for s in d.schemes})
                raise SettingsError(setting, f"unsupported database scheme {backend!r} (available: "
                                             f"{', '.join(known)}); {self._provider_hint(kind)}")
            plugin, driver = found
            return plugin, setting, driver
        setting = f"{kind}_driver"
        name = self.settings[setting]
        if name == "auto":
            ranked = [(rank, p, d) for p, d in drivers.values() if (rank := d.auto_rank(self.settings)) is not None]
            if not ranked:
                raise SettingsError(setting, f"no {kind} driver is chosen by 'auto'; {self._provider_hint(kind)}")
            _rank, plugin, driver = max(ranked, key=lambda r: r[0])  # on a tie, the first registered
        elif name in drivers:
            plugin, driver = drivers[name]
        else:
            raise SettingsError(setting, f"unknown {kind} driver {name!r} (available: {', '.join(sorted(drivers))}); "
                                         f"{self._provider_hint(kind)}")
        problem = driver.available(self.settings)
        if problem:
            raise SettingsError(setting, f"{kind} driver {driver.name!r} cannot run: {problem}")
        return plugin, setting, driver

    def _provider_hint(self, kind: str) -> str:
        hook = f"sublarr_{kind}_drivers"
        failed = [i for i in self.plugins if i.status == FAILED and (hook in i.hooks or not i.hooks)]
        if failed:
            return "; ".join(f"plugin {i.name!r} failed: {i.reason}" for i in failed)
        return "is the plugin that provides it installed?"

    # -- the listing of ``sublarr plugins`` ----------------------------------------------------------

    def plugin_listing(self) -> list[dict[str, Any]]:
        """One dict per plugin (``sublarr plugins --json``), with each domain's tables and migration head."""
        from sublarr.core.migrate import Migrator

        for kind in DRIVER_KINDS:  # every registration hook runs once: a plugin failing in one is listed so
            self.drivers(kind)
        self.events  # noqa: B018
        domains = self.domains
        heads = Migrator(None, [d for d in domains.values() if d.migrations]).heads()
        for name, plugin in self.domain_owners.items():
            if heads.get(name):
                self.plugins.info[plugin].migration_head = heads[name]
        return [info.as_dict() for info in self.plugins]
