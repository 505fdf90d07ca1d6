"""The Kernel: settings + plugins + storage + cache + queue, assembled at boot.

    kernel = Kernel.boot()                              # settings.toml, .secrets.toml, SUBLARR_* env
    kernel = Kernel.boot(database_url="sqlite:///x.db") # keyword overrides win over everything
    with Kernel.boot(db_path=tmp / "s.db") as kernel:   # closes pools, workers, connections
        ...

The last booted (and not yet closed) kernel is the *active* one: the package-level domain
functions act on it. There is no global lock; the SQLAlchemy pool and short transactions
give thread safety.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session

from sublarr.core.domain import Domain, Repository
from sublarr.core.errors import NoActiveKernel, SettingsError, SublarrError
from sublarr.core.events import EventType
from sublarr.core.migrate import Migrator
from sublarr.core.plugins import Plugins
from sublarr.core.secrets import mask_url, scrub
from sublarr.core.settings import CORE_SETTINGS, Setting, Settings, SettingsLoader
from sublarr.drivers.base import CacheDriver, QueueDriver, StorageDriver

log = logging.getLogger("sublarr.kernel")

_active: list[Kernel] = []
_active_lock = threading.Lock()


def active_kernel() -> Kernel:
    """The kernel the package-level domain functions act on."""
    try:
        return _active[-1]
    except IndexError:
        raise NoActiveKernel() from None


class Kernel:
    def __init__(self) -> None:  # use Kernel.boot()
        self.closed = False
        self._repos: dict[str, Repository] = {}
        self._repos_lock = threading.Lock()

    # -- boot -----------------------------------------------------------------------------------

    @classmethod
    def boot(cls, *, settings_files: Iterable[str] | None = None, extra_plugins: Iterable[Any] = (),
             entry_points: bool = True, **overrides: Any) -> Kernel:
        """Assemble a kernel. Raises SettingsError (exit status 2 in the CLI) on a bad setting."""
        kernel = cls()
        try:
            kernel._boot(settings_files, list(extra_plugins), entry_points, overrides)
        except BaseException:
            kernel._release()
            raise
        with _active_lock:
            _active.append(kernel)
        return kernel

    def _boot(self, settings_files, extra_plugins, entry_points, overrides) -> None:
        self._load_settings(settings_files, extra_plugins, entry_points, overrides)
        self.storage: StorageDriver = self._open_storage()
        self.engine: Engine = self.storage.engine
        self.domains: dict[str, Domain] = self._collect_domains()
        self.migrator = Migrator(self.storage, self.domains.values(), self.settings)
        if self.settings.auto_migrate:
            self.migrate()
        self.cache: CacheDriver = self._choose("cache", self._drivers("sublarr_cache_drivers"))
        self.queue: QueueDriver = self._choose("queue", self._drivers("sublarr_queue_drivers"))
        self.events: dict[str, EventType] = self._collect_events()
        self.plugins.hook.sublarr_boot(kernel=self)
        log.debug("booted: storage=%s cache=%s queue=%s", self.storage.name, self.cache.name, self.queue.name)

    def _load_settings(self, settings_files, extra_plugins, entry_points, overrides) -> None:
        loader = SettingsLoader(settings_files, overrides)
        self.settings_files = loader.files
        core = loader.resolve(CORE_SETTINGS, warn_unknown=False)  # plugins may declare the rest
        self.plugins = Plugins(disabled=core.plugins_disabled, allow=core.load_plugins,
                               entry_points=entry_points)
        for plugin in extra_plugins:
            self.plugins.register(plugin, source="runtime")
        self.settings: Settings = loader.resolve([*CORE_SETTINGS, *self._plugin_settings()])

    @classmethod
    def configure(cls, *, settings_files: Iterable[str] | None = None, extra_plugins: Iterable[Any] = (),
                  entry_points: bool = True, **overrides: Any) -> Kernel:
        """Resolve settings and load plugins without opening storage (``sublarr config``, ``plugins``).

        The result is not booted: it has ``settings``, ``plugins`` and ``settings_files`` only.
        """
        kernel = cls()
        kernel._load_settings(settings_files, list(extra_plugins), entry_points, overrides)
        kernel.closed = True
        return kernel

    def _plugin_settings(self) -> list[Setting]:
        core_names = {s.name for s in CORE_SETTINGS}
        found: dict[str, Setting] = {}
        for plugin, settings in self.plugins.results("sublarr_settings"):
            for setting in settings:
                if setting.name in core_names or setting.name in found:
                    log.warning("plugin %s redeclares setting %r; ignored", plugin, setting.name)
                    continue
                found[setting.name] = setting
        return list(found.values())

    def _drivers(self, hook: str) -> dict[str, type]:
        drivers: dict[str, type] = {}
        for _plugin, classes in self.plugins.results(hook):
            for driver in classes:
                drivers.setdefault(driver.name, driver)
        return drivers

    def _open_storage(self) -> StorageDriver:
        raw_url = self.settings.resolved_database_url
        setting = "database_url" if self.settings.database_url else "db_path"
        try:
            url = make_url(raw_url)
        except ArgumentError:
            raise SettingsError(setting, "is not a valid database URL") from None
        backend = url.get_backend_name()
        drivers = self._drivers("sublarr_storage_drivers")
        chosen = next((d for d in drivers.values() if backend in d.schemes), None)
        if chosen is None:
            known = sorted({s for d in drivers.values() for s in d.schemes})
            raise SettingsError(setting, f"unsupported database scheme {backend!r} (available: {', '.join(known)}); "
                                         "is the plugin that provides it installed?")
        try:
            storage = chosen(url, self.settings)
        except SublarrError:
            raise
        except Exception as exc:
            raise SettingsError(setting, f"cannot use {mask_url(raw_url)}: {_first_line(exc)}") from None
        try:
            storage.check()
        except Exception as exc:
            storage.dispose()
            raise SettingsError(setting, f"cannot connect to {mask_url(raw_url)}: {_first_line(exc)}") from None
        return storage

    def _collect_domains(self) -> dict[str, Domain]:
        domains: dict[str, Domain] = {}
        for plugin, found in self.plugins.results("sublarr_domains"):
            for domain in found:
                if domain.name in domains:
                    raise SublarrError(f"plugin {plugin} registers domain {domain.name!r}, which exists already")
                domains[domain.name] = domain
                info = self.plugins.info.get(plugin)
                if info is not None:
                    info.tables = sorted({*info.tables, *(t.name for t in domain.tables)})
        return domains

    def _choose(self, kind: str, drivers: dict[str, type]):
        setting = f"{kind}_driver"
        name = self.settings[setting]
        if name == "auto":
            wanted_redis = self.settings.redis_url and self.settings[f"redis_{kind}_enabled"]
            name = ("redis" if kind == "cache" else "rq") if wanted_redis else "memory"
        driver = drivers.get(name)
        if driver is None:
            raise SettingsError(setting, f"unknown {kind} driver {name!r} (available: {', '.join(sorted(drivers))}); "
                                         "is the plugin that provides it installed?")
        problem = driver.available(self.settings)
        if problem:
            raise SettingsError(setting, f"{kind} driver {name!r} cannot run: {problem}")
        return driver(self.settings)

    def _collect_events(self) -> dict[str, EventType]:
        events: dict[str, EventType] = {}
        for plugin, found in self.plugins.results("sublarr_events"):
            for event in found:
                if event.name in events:
                    log.warning("plugin %s redefines event %r; ignored", plugin, event.name)
                    continue
                events[event.name] = event if event.plugin else _with_plugin(event, plugin)
        return events

    # -- public API -----------------------------------------------------------------------------

    @property
    def database_url(self) -> str:
        return self.settings.resolved_database_url

    def migrate(self):
        """Apply pending migrations of every domain (safe when several processes boot together).

        A legacy (pre-Alembic) Sublarr SQLite file is adopted first (``sublarr.core.adopt``).
        """
        from sublarr.core.adopt import adopt_if_legacy

        adopt_if_legacy(self)
        return self.migrator.upgrade()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A SQLAlchemy Session in one transaction: commit on success, rollback and re-raise on error."""
        with self.storage.write_lock(), Session(self.engine, expire_on_commit=False) as session, session.begin():
            yield session

    def repo(self, name: str) -> Repository:
        """The repository domain ``name`` registered for the active storage driver."""
        repo = self._repos.get(name)
        if repo is not None:
            return repo
        with self._repos_lock:
            if name not in self._repos:
                domain = self.domains.get(name)
                if domain is None:
                    raise KeyError(f"no domain {name!r} is loaded (loaded: {', '.join(sorted(self.domains))})")
                cls = domain.repository_for(self.storage.name)
                if cls is None:
                    raise SublarrError(f"domain {name!r} has no repository for storage {self.storage.name!r}")
                self._repos[name] = cls(self)
            return self._repos[name]

    def emit(self, event: str, payload: Mapping[str, Any] | None = None) -> None:
        """Publish ``event`` to plugin listeners (in this thread) and to hooks/webhooks (queued)."""
        if event not in self.events:
            raise ValueError(f"unknown event {event!r}; see `sublarr events` for the catalog")
        if payload is None:
            payload = {}
        if not isinstance(payload, Mapping):
            raise ValueError(f"event payload must be a dict, got {type(payload).__name__}")
        for impl in self.plugins.hook.sublarr_event.get_hookimpls():
            try:
                impl.function(**{k: v for k, v in {"kernel": self, "event": event, "payload": dict(payload)}.items()
                                 if k in impl.argnames})
            except Exception:  # one broken listener must not break the emitter or the others
                log.exception("event listener of plugin %s failed on %s", impl.plugin_name, event)

    def row_counts(self) -> dict[str, int]:
        counts = {}
        with self.engine.execution_options(**self.storage.read_options()).connect() as conn:
            for domain in self.domains.values():
                for table in domain.tables:
                    try:
                        counts[table.name] = conn.execute(select(func.count()).select_from(table)).scalar_one()
                    except Exception:
                        counts[table.name] = -1
                        conn.rollback()
            conn.rollback()
        return counts

    def close(self) -> None:
        """Release pools, workers and connections. Idempotent."""
        if self.closed:
            return
        self.closed = True
        try:
            if hasattr(self, "plugins") and hasattr(self, "queue"):
                self.plugins.hook.sublarr_shutdown(kernel=self)
        finally:
            self._release()
            with _active_lock:
                if self in _active:
                    _active.remove(self)

    def _release(self) -> None:
        self.closed = True
        for attr in ("queue", "cache"):
            driver = getattr(self, attr, None)
            if driver is not None:
                try:
                    driver.close()
                except Exception:
                    log.exception("closing the %s driver failed", attr)
        storage = getattr(self, "storage", None)
        if storage is not None:
            storage.dispose()

    def __enter__(self) -> Kernel:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        if not hasattr(self, "queue"):
            return "<Kernel (not booted)>"
        return (f"<Kernel storage={self.storage.name} cache={self.cache.name} queue={self.queue.name}"
                f"{' closed' if self.closed else ''}>")


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return scrub(text[0] if text else type(exc).__name__)


def _with_plugin(event: EventType, plugin: str) -> EventType:
    from dataclasses import replace

    return replace(event, plugin=plugin)
