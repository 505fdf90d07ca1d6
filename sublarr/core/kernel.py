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
from typing import TYPE_CHECKING, Any, TypeVar, overload

from sqlalchemy import text
from sqlalchemy.engine import Engine

from sublarr.core.configuration import DRIVER_KINDS, Configuration
from sublarr.core.domain import Domain, Repository
from sublarr.core.errors import DatabaseMissing, NoActiveKernel, SettingsError, SublarrError
from sublarr.core.events import EventType
from sublarr.core.migrate import Migrator, legacy_file
from sublarr.core.plugins import Plugins
from sublarr.core.secrets import first_line, mask_url
from sublarr.core.settings import Settings
from sublarr.drivers.base import CacheDriver, Create, QueueDriver, StorageDriver

if TYPE_CHECKING:  # the ORM is imported by transaction() alone: a boot that never opens a Session skips it
    from sqlalchemy.orm import Session

R = TypeVar("R", bound=Repository)

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
    """A booted kernel: a :class:`Configuration` plus open storage, cache and queue."""

    def __init__(self, configuration: Configuration, *, create: Create = Create.DATABASE) -> None:
        """Boot on ``configuration`` (usually through :meth:`boot` or ``Configuration.boot()``).
        Raises SettingsError (exit status 2 in the CLI) on a bad setting.

        ``create``: whether a missing database may be created (default: yes, in a folder that exists;
        ``Create.NEVER`` for inspection, ``Create.PARENTS`` also makes the folders)."""
        self.configuration = configuration
        self._create = Create(create)
        self.settings: Settings = configuration.settings
        self.settings_files = configuration.settings_files
        self.plugins: Plugins = configuration.plugins
        self.closed = False
        self._repos: dict[str, Repository] = {}
        self._repos_lock = threading.Lock()
        try:
            self._assemble()
        except BaseException:
            self._release()
            raise
        finally:
            self.plugins.essential.clear()
        with _active_lock:
            _active.append(self)

    @classmethod
    def boot(cls, *, settings_files: Iterable[str] | None = None, extra_plugins: Iterable[Any] = (),
             entry_points: bool = True, create: Create = Create.DATABASE, **overrides: Any) -> Kernel:
        """Resolve settings, load plugins and assemble a kernel on them (``create``: see ``__init__``)."""
        return cls(Configuration(settings_files=settings_files, extra_plugins=extra_plugins,
                                 entry_points=entry_points, **overrides), create=create)

    def _assemble(self) -> None:
        config = self.configuration
        # The three drivers are chosen first: from here on, a failure of a plugin that provides one
        # stops boot (SettingsError naming plugin and setting) instead of leaving it out.
        chosen = {kind: config.choose_driver(kind) for kind in DRIVER_KINDS}
        for plugin, setting, _driver in chosen.values():
            self.plugins.essential[plugin] = setting
        self.storage: StorageDriver = self._open_storage(*chosen["storage"][1:])
        self.engine: Engine = self.storage.engine
        self.domains: dict[str, Domain] = dict(config.domains)
        self.migrator = Migrator(self.storage, self.domains.values(), self.settings)
        if self.settings.auto_migrate:
            self.migrate()
        self.cache: CacheDriver = chosen["cache"][2](self.settings)
        self.queue: QueueDriver = chosen["queue"][2](self.settings)
        self.events: dict[str, EventType] = dict(config.events)
        self.plugins.hook.sublarr_boot(kernel=self)
        log.debug("booted: storage=%s cache=%s queue=%s", self.storage.name, self.cache.name, self.queue.name)

    def _open_storage(self, setting: str, driver: type[StorageDriver]) -> StorageDriver:
        _setting, url = self.configuration.database()
        raw_url = self.settings.resolved_database_url
        try:
            storage = driver(url, self.settings, self._create)
        except DatabaseMissing as exc:
            raise SettingsError(setting, str(exc)) from None
        except SublarrError:
            raise
        except Exception as exc:
            raise SettingsError(setting, f"cannot use {mask_url(raw_url)}: {first_line(exc)}") from None
        try:
            storage.check()
        except DatabaseMissing as exc:
            storage.dispose()
            raise SettingsError(setting, str(exc)) from None
        except Exception as exc:
            storage.dispose()
            raise SettingsError(setting, f"cannot connect to {mask_url(raw_url)}: {first_line(exc)}") from None
        return storage

    # -- public API -----------------------------------------------------------------------------

    @property
    def database_url(self) -> str:
        return self.settings.resolved_database_url

    def migrate(self):
        """Apply pending migrations of every domain (safe when several processes boot together).

        A legacy (pre-Alembic) Sublarr SQLite file is adopted first (``sublarr.core.adopt``).
        """
        if legacy_file(self.storage, self.domains.values()):
            # imported only here: adoption (and the backup code it uses) is for one boot in a lifetime
            from sublarr.core.adopt import adopt_if_legacy

            adopt_if_legacy(self)
        return self.migrator.upgrade()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A SQLAlchemy Session in one transaction: commit on success, rollback and re-raise on error."""
        from sqlalchemy.orm import Session

        with self.storage.write_lock(), Session(self.engine, expire_on_commit=False) as session, session.begin():
            yield session

    @overload
    def repo(self, name: str) -> Repository: ...
    @overload
    def repo(self, name: str, kind: type[R]) -> R: ...

    def repo(self, name: str, kind: type[Repository] | None = None) -> Repository:
        """The repository domain ``name`` registered for the active storage driver.

        ``kind``, when given, is the repository class the caller expects (``repo("hooks", HookRepository)``):
        type checkers then see that class's methods, and a mismatch raises ``TypeError``.
        """
        repo = self._repo(name)
        if kind is not None and not isinstance(repo, kind):
            raise TypeError(f"the repository of domain {name!r} is a {type(repo).__name__}, "
                            f"not a {kind.__name__}")
        return repo

    def _repo(self, name: str) -> Repository:
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
        # one broken listener never breaks the emitter or the others (sublarr.core.plugins)
        self.plugins.hook.sublarr_event(kernel=self, event=event, payload=dict(payload))

    def maintain(self) -> None:
        """One round of periodic housekeeping: every plugin's ``sublarr_maintenance``."""
        self.plugins.hook.sublarr_maintenance(kernel=self)

    def row_counts(self) -> dict[str, int]:
        """Rows per table of every loaded domain (-1 for a table that cannot be read)."""
        tables = [table for domain in self.domains.values() for table in domain.tables]
        counts: dict[str, int] = {}
        with self.engine.execution_options(**self.storage.read_options()).connect() as conn:
            # plain text: compiling 29 select(count()) constructs (once per process, on every
            # `sublarr status`) cost more than running them
            quote = conn.dialect.identifier_preparer.format_table
            quoted = [quote(table) for table in tables]
            if quoted:
                # one statement, one round trip (what counts on a network database); a table that
                # cannot be read fails it, and the counts are then taken one by one
                union = " UNION ALL ".join(f"SELECT {i}, count(*) FROM {q}" for i, q in enumerate(quoted))
                try:
                    rows: dict[int, int] = {i: n for i, n in conn.execute(text(union))}
                except Exception:
                    conn.rollback()
                else:
                    conn.rollback()
                    return {table.name: int(rows[i]) for i, table in enumerate(tables)}
            for table, q in zip(tables, quoted):
                try:
                    counts[table.name] = conn.execute(text(f"SELECT count(*) FROM {q}")).scalar_one()
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
            if hasattr(self, "queue"):
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

