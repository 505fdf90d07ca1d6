"""Adoption of legacy Sublarr SQLite databases (the raw-sqlite3 layer had no migration history).

A legacy file is recognised by its tables and the absence of any ``alembic_version*`` table. It can
be at any stage of the legacy ``_run_migrations`` history (columns appended by ``ALTER TABLE``,
tables that came later), so it is not stamped in place: it is *rebuilt*:

1. Under the migration file lock, a write lock is taken on the legacy file (no writer can slip in)
   and a consistent copy is written beside it with the SQLite backup API:
   ``<name>.pre-adopt-<UTC timestamp>.db``. It stays there as the operator's way back.
2. A work file in the same directory is created at every adopted domain's *baseline* revision
   (the revision that reproduces the legacy tables), by the domains' own migrations, so it is
   stamped there and is byte-for-byte what a fresh install at the baseline looks like (named
   constraints, column order), whatever stage the legacy file was in.
3. The rows are copied from the copy into the work file in one transaction. Columns the legacy
   stage lacked take their baseline defaults, which are the legacy ``ALTER TABLE`` defaults, exactly
   what the legacy code would have given them. Timestamps are rewritten to the kernel's format
   (``timeutil.normalise``), ``sqlite_sequence`` counters are carried over (ids are never reused),
   and rows that break a foreign key of the baseline (orphaned profile assignments: the legacy
   cascade was never enforced) are removed.
4. Every domain is upgraded to head: the fix migrations run on normalised data (the wanted fix
   merges duplicate items, keeping the lowest id; the providers fix keeps the newest cache entry).
5. The work file is made self-contained (``journal_mode=DELETE``), the legacy file's WAL is
   checkpointed and its last connection closed (a WAL or shared-memory file that survives that
   means another process has it open: adoption stops), and the work file atomically replaces the
   legacy file (``os.replace``).

A kill at any moment leaves either the untouched legacy file (steps 1–5 never write to it; a
checkpoint only moves committed pages from its WAL into it) or the adopted file (after the rename).
Leftover work files are removed by the next run. A failed adoption removes its copy and work file
and leaves the legacy file as it was.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sublarr.core.backup import fsync_dir, fsync_file, unique_path, utc_stamp
from sublarr.core.domain import Domain
from sublarr.core.errors import MigrationError, SublarrError
from sublarr.core.migrate import Migrator, legacy_file
from sublarr.core.plugins import BUILTIN, LOADED
from sublarr.core.timeutil import normalise
from sublarr.drivers.sqlite import SqliteFileSchema, quote_name, release_sqlite_file, sqlite_snapshot

if TYPE_CHECKING:
    from sublarr.core.kernel import Kernel
    from sublarr.core.settings import Settings
    from sublarr.core.transfer import Progress
    from sublarr.drivers.sqlite import SqliteStorage

log = logging.getLogger("sublarr.adopt")

# Legacy timestamp columns: every ``*_at`` column plus these two. ``daily_stats.date`` is a date and
# stays as it is.
_TIMESTAMP_NAMES = frozenset({"last_used", "disabled_until"})
_TEXT_TYPES = ("TEXT", "TIMESTAMP", "VARCHAR", "CHAR", "CLOB", "DATETIME")

STEPS = ("locked", "snapshot", "baseline", "copied", "upgraded", "finalised", "released", "replaced")


class AdoptionError(MigrationError):
    """Adoption stopped; the legacy database is unchanged."""


class NotLegacy(SublarrError):
    """The database is not a legacy Sublarr database (nothing to adopt)."""


def is_timestamp_column(name: str, declared_type: str = "TEXT") -> bool:
    """True for the legacy columns that hold ISO timestamps as text."""
    if not (name.endswith("_at") or name in _TIMESTAMP_NAMES):
        return False
    return any(kind in declared_type.upper() for kind in _TEXT_TYPES)


@dataclass
class AdoptionReport:
    """What adoption did; ``lines()`` is what ``sublarr db adopt`` prints."""

    path: str
    backup: str
    seconds: float = 0.0
    domains_adopted: list[str] = field(default_factory=list)    # stamped at their baseline
    domains_installed: list[str] = field(default_factory=list)  # had no legacy table: created fresh
    tables_created: list[str] = field(default_factory=list)     # baseline tables the legacy file lacked
    columns_added: list[str] = field(default_factory=list)      # "table.column" the legacy stage lacked
    indexes_created: list[str] = field(default_factory=list)
    unknown_tables: list[str] = field(default_factory=list)     # not sublarr's: carried over verbatim
    rows_before: dict[str, int] = field(default_factory=dict)
    rows_after: dict[str, int] = field(default_factory=dict)
    timestamps_normalised: dict[str, int] = field(default_factory=dict)
    orphans_removed: dict[str, int] = field(default_factory=dict)
    revisions: dict[str, str | None] = field(default_factory=dict)

    @property
    def changed_by_migrations(self) -> dict[str, int]:
        """Per table, rows the fix migrations removed (negative: merged) or seeded (positive)."""
        changes = {}
        for table, after in self.rows_after.items():
            before = self.rows_before.get(table, 0) - self.orphans_removed.get(table, 0)
            if after != before:
                changes[table] = after - before
        return changes

    @property
    def merged(self) -> dict[str, int]:
        """Rows merged away by the fix migrations (duplicate wanted items, stale cache entries)."""
        return {t: -n for t, n in self.changed_by_migrations.items() if n < 0}

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path, "backup": self.backup, "seconds": round(self.seconds, 3),
            "domains_adopted": self.domains_adopted, "domains_installed": self.domains_installed,
            "tables_created": self.tables_created, "columns_added": self.columns_added,
            "indexes_created": self.indexes_created, "unknown_tables": self.unknown_tables,
            "rows_before": self.rows_before, "rows_after": self.rows_after,
            "timestamps_normalised": self.timestamps_normalised, "orphans_removed": self.orphans_removed,
            "merged": self.merged, "revisions": self.revisions,
        }

    def lines(self) -> list[str]:
        total_before = sum(self.rows_before.values())
        total_after = sum(self.rows_after.get(t, 0) for t in self.rows_before)
        lines = [
            f"adopted legacy database {self.path} in {self.seconds:.1f}s",
            f"  copy of the legacy file: {self.backup}",
            f"  rows: {total_before} in {len(self.rows_before)} legacy tables, {total_after} after adoption",
        ]
        if self.columns_added:
            lines.append(f"  columns added with their legacy defaults: {', '.join(self.columns_added)}")
        if self.tables_created:
            lines.append(f"  tables created: {', '.join(self.tables_created)}")
        if self.indexes_created:
            lines.append(f"  indexes created: {', '.join(self.indexes_created)}")
        normalised = sum(self.timestamps_normalised.values())
        if normalised:
            lines.append(f"  timestamps rewritten to the kernel format: {normalised} in "
                         f"{len(self.timestamps_normalised)} tables")
        for table, n in sorted(self.orphans_removed.items()):
            lines.append(f"  {table}: {n} orphaned rows removed (their parent row no longer exists)")
        for table, n in sorted(self.changed_by_migrations.items()):
            lines.append(f"  {table}: {-n} duplicate rows merged" if n < 0 else f"  {table}: {n} rows seeded")
        if self.unknown_tables:
            lines.append(f"  tables of no sublarr domain, kept as they were: {', '.join(self.unknown_tables)}")
        lines.append(f"  schema: {len(self.domains_adopted)} domains stamped at their baseline and upgraded, "
                     f"{len(self.domains_installed)} installed fresh; all at head")
        return lines


# -- detection ----------------------------------------------------------------------------------------

def needs_adoption(kernel: Kernel) -> bool:
    """True when the kernel's database is a legacy Sublarr SQLite file."""
    return legacy_file(kernel.storage, kernel.domains.values())


def adopt_if_legacy(kernel: Kernel) -> AdoptionReport | None:
    """Adopt the kernel's database when it is a legacy one (called at boot by ``Kernel.migrate``)."""
    if not needs_adoption(kernel):
        return None
    try:
        report = adopt(kernel)
    except NotLegacy:  # another process adopted it while this one waited for the lock
        return None
    log.warning("adopted legacy Sublarr database %s (%d rows); the legacy file was saved as %s",
                report.path, sum(report.rows_after.values()), report.backup)
    for line in report.lines()[2:]:
        log.info("adoption:%s", line)
    return report


def legacy_tables(kernel: Kernel) -> dict[str, str]:
    """Legacy table -> the domain that adopts it, as the domains declare (``Domain.legacy_tables``).

    The domains of built-in plugins that are not loaded (``plugins_disabled``, or a domain they
    require is missing) count too: a legacy table whose domain is switched off must stop adoption,
    not pass for a table of no sublarr domain and be left behind without its domain. Such a plugin
    is imported to read its declaration, never registered; entry-point plugins are only read loaded.
    """
    declared = {table: d.name for d in kernel.domains.values() for table in d.legacy_tables}
    for info in kernel.plugins:
        if info.source != BUILTIN or info.status == LOADED:
            continue
        try:
            hook = getattr(importlib.import_module(info.module), "sublarr_domains", None)
            domains = hook() if hook is not None else []
        except Exception as exc:  # it cannot declare anything then; adoption goes on
            log.warning("built-in plugin %s (%s) could not be read for its legacy tables: %s",
                        info.name, info.status, exc)
            continue
        for domain in domains:
            for table in domain.legacy_tables:
                declared.setdefault(table, domain.name)
    return declared


# -- adoption -------------------------------------------------------------------------------------------

def adopt(kernel: Kernel, *, on_step: Callable[[str], None] | None = None,
          progress: Progress | None = None) -> AdoptionReport:
    """Adopt the kernel's legacy SQLite database (see the module doc). Raises :class:`NotLegacy` when
    there is nothing to adopt and :class:`AdoptionError` when adoption stopped (file unchanged).

    ``on_step(name)`` is called after each step of :data:`STEPS` (progress output, and tests that
    kill the process at a precise moment); ``progress`` (as in ``copy_database``) shows the legacy
    rows copied, table by table (each table is one ``INSERT ... SELECT``).
    """
    storage = kernel.storage
    if not (storage.features.file_based and storage.path):
        raise NotLegacy(f"only legacy Sublarr (SQLite) files can be adopted; the database is {storage.name}")
    path = Path(storage.path).expanduser().resolve()
    # No pooled connection may keep the legacy file open across the rename: not while this process
    # waits for the lock (another process may be adopting), nor afterwards.
    kernel.engine.dispose()
    with storage.migration_lock(None):  # a file lock: no connection needed
        kernel.engine.dispose()
        try:
            return _Adoption(path, list(kernel.domains.values()), legacy_tables(kernel), kernel.settings,
                             on_step, progress).run()
        finally:
            kernel.engine.dispose()


class _Adoption:
    def __init__(self, path: Path, domains: list[Domain], legacy: dict[str, str], settings: Settings,
                 on_step: Callable[[str], None] | None, progress: Progress | None = None):
        self.path = path
        self.domains = domains
        self.legacy = legacy  # legacy table -> the domain that adopts it
        self.settings = settings
        self.on_step = on_step or (lambda _step: None)
        self.progress = progress
        self.started = time.monotonic()
        self.work = path.with_name(f".{path.name}.adopt-{utc_stamp()}-{os.getpid()}.tmp")
        self.backup: Path | None = None
        self.guard: sqlite3.Connection | None = None
        self.work_storage: SqliteStorage | None = None
        self.replaced = False

    # -- driver -------------------------------------------------------------------------------------

    def run(self) -> AdoptionReport:
        self._remove_leftovers()
        legacy_tables = self._legacy_tables()
        self.on_step("locked")
        try:
            self._lock_legacy_file()
            with contextlib.closing(self._reader()) as reader:
                self.backup = sqlite_snapshot(reader, unique_path(
                    self.path.with_name(f"{self.path.stem}.pre-adopt-{utc_stamp()}.db")))
            log.warning("adopting legacy database %s; a copy of it was written to %s", self.path, self.backup)
            self.on_step("snapshot")
            report = AdoptionReport(path=str(self.path), backup=str(self.backup))
            legacy = SqliteFileSchema.read(self.backup)
            adopted, installed = self._classify(legacy_tables)
            report.domains_adopted = [d.name for d in adopted]
            report.domains_installed = [d.name for d in installed]
            migrator = self._build_baseline(adopted)
            self.on_step("baseline")
            self._copy_rows(legacy, adopted, report)
            report.tables_created += [t.name for d in installed for t in d.tables]  # made by the upgrade
            self.on_step("copied")
            migrator.upgrade()
            report.revisions = migrator.current()
            self.on_step("upgraded")
            report.rows_after = self._count(self.work, [*report.rows_before, *report.tables_created])
            self._finalise_work_file()
            self.on_step("finalised")
            guard, self.guard = self.guard, None
            assert guard is not None  # taken by _lock_legacy at the start of run()
            release_sqlite_file(guard, self.path, int(self.settings.db_busy_timeout_ms) / 1000)
            self.on_step("released")
            os.replace(self.work, self.path)
            self.replaced = True
            fsync_dir(self.path.parent)
            self.on_step("replaced")
        except BaseException as exc:
            if self.replaced:  # the adopted file is in place: nothing to undo, the copy stays
                raise
            self._abandon()
            if isinstance(exc, SublarrError) or not isinstance(exc, Exception):
                raise
            raise AdoptionError(f"adoption of {self.path} failed, the database is unchanged: "
                                f"{type(exc).__name__}: {exc}") from exc
        self._remove_leftovers()
        report.seconds = time.monotonic() - self.started
        return report

    def _legacy_tables(self) -> list[str]:
        conn = sqlite3.connect(self.path)
        try:
            names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        finally:
            conn.close()
        if any(n.startswith("alembic_version") for n in names):
            raise NotLegacy(f"{self.path} is not a legacy Sublarr database: it has a migration history "
                            "(use `sublarr db upgrade`)")
        owned = {t.name for d in self.domains for t in d.tables}
        if not names & (owned | set(self.legacy)):
            raise NotLegacy(f"{self.path} is not a legacy Sublarr database: none of its tables is sublarr's")
        orphaned = sorted((names & set(self.legacy)) - owned)
        if orphaned:
            domains = sorted({self.legacy[t] for t in orphaned})
            raise AdoptionError(f"legacy tables {', '.join(orphaned)} belong to no loaded domain plugin (domains "
                                f"{', '.join(domains)}); enable the plugins that own them (setting "
                                "plugins_disabled) before adopting")
        return sorted(names)

    def _lock_legacy_file(self) -> None:
        # A write lock for the whole adoption: the copy and the file stay identical until the rename.
        busy = int(self.settings.db_busy_timeout_ms) / 1000
        self.guard = sqlite3.connect(self.path, isolation_level=None, timeout=busy)
        self.guard.execute("BEGIN IMMEDIATE")

    def _reader(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=int(self.settings.db_busy_timeout_ms) / 1000)

    def _classify(self, legacy_tables: Iterable[str]) -> tuple[list[Domain], list[Domain]]:
        present = set(legacy_tables)
        adopted = [d for d in self.domains if d.migrations and any(t.name in present for t in d.tables)]
        installed = [d for d in self.domains if d.migrations and d not in adopted]
        return adopted, installed

    # -- baseline -----------------------------------------------------------------------------------

    def _build_baseline(self, adopted: list[Domain]) -> Migrator:
        from sublarr.drivers.sqlite import SqliteStorage

        self.work_storage = work_storage = SqliteStorage.for_file(self.work, self.settings)
        migrator = Migrator(work_storage, self.domains, self.settings)
        names = {d.name for d in adopted}
        for domain in migrator.domains:  # dependency order
            if domain.name not in names:
                continue
            bases = migrator.scripts[domain.name].get_bases()
            if len(bases) != 1:
                raise AdoptionError(f"domain {domain.name!r} has {len(bases)} base revisions; "
                                    "its baseline must be its only root")
            migrator.upgrade(domain=domain.name, revision=bases[0])
        work_storage.dispose()
        return migrator

    # -- rows ---------------------------------------------------------------------------------------

    def _copy_rows(self, legacy: SqliteFileSchema, adopted: list[Domain], report: AdoptionReport) -> None:
        baseline = SqliteFileSchema.read(self.work)
        adopted_tables = [t.name for d in adopted for t in d.tables]
        missing_at_baseline = [t for t in adopted_tables if t in legacy.columns and t not in baseline.columns]
        if missing_at_baseline:
            raise AdoptionError(f"the baseline revisions do not create legacy tables "
                                f"{', '.join(missing_at_baseline)}")
        for table in adopted_tables:
            if table not in baseline.columns:
                continue
            if table not in legacy.columns:
                report.tables_created.append(table)
                continue
            unknown = [c for c in legacy.columns[table] if c not in baseline.columns[table]]
            if unknown:
                raise AdoptionError(f"legacy table {table} has columns the baseline does not know: "
                                    f"{', '.join(unknown)}; refusing to drop their data")
            report.columns_added += [f"{table}.{c}" for c in baseline.columns[table] if c not in legacy.columns[table]]
        report.indexes_created = sorted(
            name for name, table in baseline.indexes.items()
            if table in legacy.columns and table in adopted_tables and name not in legacy.indexes)
        owned = {t.name for d in self.domains for t in d.tables}
        report.unknown_tables = sorted(t for t in legacy.columns if t not in owned)

        assert self.backup is not None  # the snapshot run() took before it built the work file
        # Opened as a URI so that the copy can be attached read-only.
        conn = sqlite3.connect(self.work.as_uri(), uri=True, isolation_level=None)
        try:
            conn.create_function("sublarr_normalise", 1, normalise, deterministic=True)
            conn.execute("ATTACH DATABASE ? AS legacy", (f"{self.backup.as_uri()}?mode=ro",))
            conn.execute("BEGIN IMMEDIATE")
            # The baseline may seed rows (it should not; later revisions do): the legacy rows replace them.
            for table in adopted_tables:
                if table in baseline.columns:
                    conn.execute(f"DELETE FROM main.{quote_name(table)}")
            if baseline.has_sequence:
                conn.execute("DELETE FROM main.sqlite_sequence")
            copied = [t for t in adopted_tables if t in legacy.columns and t in baseline.columns]
            with self._rows_bar(conn, [*copied, *report.unknown_tables]) as update:
                for table in copied:
                    report.rows_before[table], changed = self._copy_table(conn, table, legacy, baseline)
                    update(report.rows_before[table])
                    if changed:
                        report.timestamps_normalised[table] = changed
                for table in report.unknown_tables:
                    report.rows_before[table] = self._copy_verbatim(conn, table, legacy)
                    update(report.rows_before[table])
            if legacy.has_sequence and baseline.has_sequence:
                self._carry_sequences(conn)
            report.orphans_removed = self._remove_orphans(conn)
            conn.execute("COMMIT")
            conn.execute("DETACH DATABASE legacy")
        finally:
            conn.close()

    def _rows_bar(self, conn: sqlite3.Connection,
                  tables: list[str]) -> contextlib.AbstractContextManager[Callable[[int], None]]:
        if self.progress is None:
            return contextlib.nullcontext(lambda _n: None)
        total = sum(conn.execute(f"SELECT count(*) FROM legacy.{quote_name(t)}").fetchone()[0] for t in tables)
        return self.progress("adopting legacy rows", total)

    @staticmethod
    def _copy_table(conn: sqlite3.Connection, table: str, legacy: SqliteFileSchema, baseline: SqliteFileSchema) -> tuple[int, int]:
        columns = legacy.columns[table]
        stamped = [c for c in columns if is_timestamp_column(c, baseline.types[table].get(c, ""))]
        changed = 0
        if stamped:
            differs = " + ".join(f"({quote_name(c)} IS NOT sublarr_normalise({quote_name(c)}))" for c in stamped)
            changed = conn.execute(f"SELECT coalesce(sum({differs}), 0) FROM legacy.{quote_name(table)}").fetchone()[0]
        select = ", ".join(f"sublarr_normalise({quote_name(c)})" if c in stamped else quote_name(c) for c in columns)
        cursor = conn.execute(f"INSERT INTO main.{quote_name(table)} ({', '.join(map(quote_name, columns))}) "
                              f"SELECT {select} FROM legacy.{quote_name(table)} ORDER BY rowid")
        return cursor.rowcount, changed

    @staticmethod
    def _copy_verbatim(conn: sqlite3.Connection, table: str, legacy: SqliteFileSchema) -> int:
        conn.execute(legacy.sql[table])
        for sql in legacy.index_sql.get(table, []):
            conn.execute(sql)
        return conn.execute(f"INSERT INTO main.{quote_name(table)} SELECT * FROM legacy.{quote_name(table)}").rowcount

    @staticmethod
    def _carry_sequences(conn: sqlite3.Connection) -> None:
        # AUTOINCREMENT promises never to reuse an id: keep the legacy counters (they may be past max(id)).
        main = {r[0] for r in conn.execute("SELECT name FROM main.sqlite_master WHERE type='table' "
                                           "AND sql LIKE '%AUTOINCREMENT%'")}
        for name, seq in conn.execute("SELECT name, seq FROM legacy.sqlite_sequence").fetchall():
            if name not in main:
                continue
            updated = conn.execute("UPDATE main.sqlite_sequence SET seq = max(seq, ?) WHERE name = ?", (seq, name))
            if updated.rowcount == 0:
                conn.execute("INSERT INTO main.sqlite_sequence (name, seq) VALUES (?, ?)", (name, seq))

    @staticmethod
    def _remove_orphans(conn: sqlite3.Connection) -> dict[str, int]:
        """Delete rows that violate a foreign key of the baseline (the legacy layer never enforced them)."""
        removed: dict[str, int] = {}
        while True:
            problems = conn.execute("PRAGMA main.foreign_key_check").fetchall()
            if not problems:
                return removed
            for table, rowid, _parent, _fk in problems:
                conn.execute(f"DELETE FROM main.{quote_name(table)} WHERE rowid = ?", (rowid,))
                removed[table] = removed.get(table, 0) + 1

    @staticmethod
    def _count(path: Path, tables: Iterable[str]) -> dict[str, int]:
        conn = sqlite3.connect(path)
        try:
            present = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            return {t: conn.execute(f"SELECT count(*) FROM {quote_name(t)}").fetchone()[0] if t in present else 0
                    for t in tables}
        finally:
            conn.close()

    # -- swap ---------------------------------------------------------------------------------------

    def _finalise_work_file(self) -> None:
        if self.work_storage is not None:
            self.work_storage.dispose()
        with contextlib.suppress(FileNotFoundError):
            Path(f"{self.work}.migrate.lock").unlink()  # nothing migrates the work file any more
        conn = sqlite3.connect(self.work, isolation_level=None)
        try:
            # One self-contained file: no WAL may travel (or stay behind) with the rename.
            mode = conn.execute("PRAGMA journal_mode=DELETE").fetchone()[0]
            if str(mode).lower() != "delete":
                raise AdoptionError(f"could not finish the adopted file (journal mode {mode})")
            check = conn.execute("PRAGMA quick_check").fetchone()[0]
            if check != "ok":
                raise AdoptionError(f"the adopted file failed its integrity check: {check}")
        finally:
            conn.close()
        fsync_file(self.work)

    def _abandon(self) -> None:
        if self.guard is not None:
            with contextlib.suppress(sqlite3.Error):
                self.guard.close()
            self.guard = None
        if self.work_storage is not None:
            self.work_storage.dispose()
        for leftover in self._work_files(self.work):
            with contextlib.suppress(OSError):
                leftover.unlink()
        if self.backup is not None:
            # The legacy file is unchanged: a copy per failed attempt would only fill the disk.
            with contextlib.suppress(OSError):
                self.backup.unlink()

    @staticmethod
    def _work_files(work: Path) -> Iterator[Path]:
        for suffix in ("", "-wal", "-shm", "-journal", ".migrate.lock"):
            candidate = Path(f"{work}{suffix}")
            if candidate.exists():
                yield candidate

    def _remove_leftovers(self) -> None:
        """Work files and half-written copies of adoptions that were killed (we hold the lock)."""
        patterns = (f".{self.path.name}.adopt-*.tmp*", f"{self.path.stem}.pre-adopt-*.db.tmp")
        for pattern in patterns:
            for leftover in self.path.parent.glob(pattern):
                with contextlib.suppress(OSError):
                    leftover.unlink()
