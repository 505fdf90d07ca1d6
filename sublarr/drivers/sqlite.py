"""SQLite storage: WAL, busy_timeout, synchronous=NORMAL, foreign_keys=ON on every connection.

Write transactions start with BEGIN IMMEDIATE: a deferred transaction that later upgrades
from read to write fails at once with "database is locked" and ignores busy_timeout
(the top storage complaint of Bazarr users). Read transactions ask for a deferred BEGIN
through the ``sqlite_begin`` execution option (``read_options``), so readers never queue
behind writers. Prepared writes (``prepare`` / ``run_writes``: the provider counters) send the
same BEGIN IMMEDIATE / statement / COMMIT on one writer connection per process.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import sqlalchemy as sa
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.ext.compiler import compiles

from sublarr.core.errors import DatabaseMissing
from sublarr.core.hookspecs import hookimpl
from sublarr.core.schema import BigId, DeclaredText, Real, legacy_current_timestamp, legacy_now
from sublarr.drivers.base import (
    Create,
    StorageDriver,
    StorageFeatures,
    executemany_writer,
    identity_columns,
    replaced_atomically,
    switched,
)

if TYPE_CHECKING:
    from sublarr.core.settings import Settings
    from sublarr.core.transfer import Progress

_BEGIN = {"IMMEDIATE": "BEGIN IMMEDIATE", "DEFERRED": "BEGIN DEFERRED", "EXCLUSIVE": "BEGIN EXCLUSIVE"}


# -- the legacy DDL, exactly ---------------------------------------------------------------------

@compiles(Real, "sqlite")
def _real(element, compiler, **kw):
    return "REAL"


@compiles(BigId, "sqlite")
def _big_id(element, compiler, **kw):
    return "INTEGER"  # 64-bit on SQLite; INTEGER PRIMARY KEY AUTOINCREMENT needs this exact name


@compiles(DeclaredText, "sqlite")
def _declared_text(element, compiler, **kw):
    return element.declared


@compiles(legacy_now, "sqlite")
def _legacy_now(element, compiler, **kw):
    return "(datetime('now'))"


@compiles(legacy_current_timestamp, "sqlite")
def _legacy_current_timestamp(element, compiler, **kw):
    return "CURRENT_TIMESTAMP"




class SqliteStorage(StorageDriver):
    name = "sqlite"
    schemes = ("sqlite",)
    description = "embedded SQLite file (default)"
    features = StorageFeatures(transactional_ddl=True, binary_text=True, upsert_returning=True, file_based=True)
    backup_suffix = ".db"
    insert_module = "sqlalchemy.dialects.sqlite"

    @property
    def path(self) -> str | None:
        """The database file (None for in-memory databases). ``uri=true`` URLs such as
        ``sqlite:///file:/data/s.db?mode=ro&uri=true`` name the file after the ``file:`` scheme."""
        db = self.url.database
        if db and db.startswith("file:") and str(self.url.query.get("uri", "")).lower() in ("true", "1"):
            if self.url.query.get("mode") == "memory":
                return None
            db = db[len("file:"):]
            if db.startswith("//"):  # file://host/path or file:///path
                db = "/" + db[2:].split("/", 1)[-1]
        return None if not db or db == ":memory:" or db.startswith("file::memory:") else db

    @classmethod
    def for_file(cls, path: str | os.PathLike[str], settings: Settings,
                 create: Create = Create.DATABASE) -> SqliteStorage:
        """A storage on the SQLite file ``path`` (the scratch and work files of adoption and copy)."""
        return cls(make_url(f"sqlite:///{os.fspath(path)}"), settings, create)

    def __init__(self, url, settings, create: Create = Create.DATABASE):
        # SQLite has one writer at a time. Its busy handler retries with sleeps, which is unfair:
        # under load a writer can starve past busy_timeout. Writers of this process queue on this
        # lock instead (reads never take it); busy_timeout still arbitrates between processes.
        # Reentrant, so a nested write in one thread meets SQLite's own "database is locked"
        # after busy_timeout instead of hanging.
        self._write_lock = threading.RLock()
        # The connection prepared writes run on (run_writes), opened on first use: (pid, fairy).
        self._writer: tuple[int, Any] | None = None
        super().__init__(url, settings, create)
        event.listen(self.engine, "engine_disposed", self._close_writer)

    def write_lock(self):
        return self._write_lock

    def _may_open(self, path: Path) -> None:
        """SQLite creates a missing file on the first connect: decide before that (``self.create``)."""
        if path.exists():
            return
        if self.create is Create.NEVER:
            raise DatabaseMissing(f"{path} does not exist, and this command never creates a database (nothing was "
                                  "created: check the setting, or create the database with `sublarr db upgrade`)")
        if self.create is Create.PARENTS:
            path.parent.mkdir(parents=True, exist_ok=True)
        elif not path.parent.is_dir():
            raise DatabaseMissing(f"would create the database {path}, but the folder {path.parent} does not exist "
                                  "(nothing was created: check the setting, create the folder, or run "
                                  "`sublarr db upgrade` to create both)")

    def create_engine(self) -> Engine:
        if self.path:
            self._may_open(Path(self.path).expanduser().resolve())
        busy_ms = int(self.settings.db_busy_timeout_ms)
        engine = create_engine(
            self.url,
            connect_args={"check_same_thread": False, "timeout": busy_ms / 1000},
            pool_size=max(int(self.settings.db_pool_size), 5),
            max_overflow=int(self.settings.db_pool_max_overflow),
            hide_parameters=True,
        ) if self.path else create_engine(self.url, connect_args={"check_same_thread": False}, hide_parameters=True)
        wal = self.path is not None

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn, _record):
            # Take transaction control away from pysqlite (SQLAlchemy's "sqlite transactions" recipe).
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            if wal:
                cur.execute("PRAGMA journal_mode=WAL")
            cur.execute(f"PRAGMA busy_timeout={busy_ms}")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection):
            mode = conn.get_execution_options().get("sqlite_begin", "IMMEDIATE")
            # straight to the driver: BEGIN through SQLAlchemy's execute path cost as much as the
            # statement of a small write transaction (measured on record_search)
            conn.connection.dbapi_connection.execute(_BEGIN[mode])

        return engine

    # -- prepared writes: hot single-row writes (counters) below SQLAlchemy's Connection ----------------

    def prepare(self, statement: Any) -> Any:
        """The statement compiled once for this engine (its SQL, and which bound value goes to each
        ``?``). Statements whose SQL depends on the values (expanding IN, literal_execute) or whose
        parameter names need escaping stay SQLAlchemy statements (the default path)."""
        compiled = statement.compile(dialect=self.engine.dialect)
        if (not compiled.positional or compiled.literal_execute_params or compiled.post_compile_params
                or compiled.escaped_bind_names or compiled.positiontup is None):
            return statement
        return _Prepared(statement, compiled, self.engine.dialect)

    def run_writes(self, steps: Sequence[tuple[Any, Mapping[str, Any]]]) -> list[int]:
        """The steps on this process's writer connection: BEGIN IMMEDIATE, each statement, COMMIT,
        what ``Repository.write()`` sends for them, without a SQLAlchemy Connection, its transaction
        objects, execution context, events and pool checkout per call: that machinery cost 3-4× the
        statement itself on a single-row counter upsert (record_search, W3). SQLite has one writer
        at a time and this process's writers queue on the write lock, so one connection, used only
        under that lock, serves every prepared write; it is opened like a pooled one (same connect
        setup), outside the pool's count, and closed by ``engine.dispose()`` (restore, adopt,
        kernel close). A DBAPI error is raised as SQLAlchemy wraps it (``sqlalchemy.exc.OperationalError``
        ..., parameters hidden), after a rollback."""
        if not all(isinstance(stmt, _Prepared) for stmt, _ in steps):
            return super().run_writes(steps)
        bound = [(stmt.sql, stmt.bind(params)) for stmt, params in steps]  # outside the lock
        sql = _BEGIN["IMMEDIATE"]
        with self._write_lock:
            raw = self._writer_connection()
            try:
                raw.execute(sql)
                counts = []
                for sql, args in bound:
                    counts.append(raw.execute(sql, args).rowcount)
                sql = "COMMIT"
                raw.execute(sql)
            except BaseException as exc:
                try:
                    if raw.in_transaction:
                        raw.execute("ROLLBACK")
                except BaseException:
                    self._close_writer()  # never reused in an unknown transaction state
                if isinstance(exc, self.engine.dialect.loaded_dbapi.Error):
                    raise self._wrapped(exc, sql) from exc
                raise
        return counts

    def _writer_connection(self) -> sqlite3.Connection:
        """The writer connection (call with the write lock held); a process forked from this one
        opens its own (a SQLite connection must not cross fork)."""
        writer = self._writer
        if writer is not None and writer[0] == os.getpid():
            return writer[1].dbapi_connection
        if writer is not None:
            _INHERITED.append(writer)  # the parent's: never closed (nor finalized) by the child
        try:
            fairy = self.engine.raw_connection()  # connect event: pragmas, transaction control
        except self.engine.dialect.loaded_dbapi.Error as exc:
            raise self._wrapped(exc, None) from exc
        fairy.detach()  # ours until closed: outside the pool's count, never checked in
        self._writer = (os.getpid(), fairy)
        return cast(sqlite3.Connection, fairy.dbapi_connection)  # pysqlite's: set while the fairy is open

    def _close_writer(self, *_engine: Any) -> None:
        with self._write_lock:
            writer, self._writer = self._writer, None
            if writer is not None and writer[0] == os.getpid():
                with contextlib.suppress(Exception):
                    writer[1].close()

    def _wrapped(self, exc: Exception, sql: str | None) -> Exception:
        """``exc`` as SQLAlchemy's Connection raises it: the sqlalchemy.exc class for its DBAPI class,
        values hidden (``hide_values`` then ``hide_parameters``)."""
        with contextlib.suppress(Exception):
            self.hide_values(exc)
        return sa.exc.DBAPIError.instance(sql, None, exc, self.engine.dialect.loaded_dbapi.Error,
                                          hide_parameters=True, dialect=self.engine.dialect, ismulti=False)

    def read_options(self) -> dict[str, Any]:
        return {"sqlite_begin": "DEFERRED"}

    def snapshot_options(self) -> dict[str, Any]:
        # a deferred read transaction in WAL mode sees one snapshot until it ends
        return self.read_options()

    def bulk_writer(self, conn: Connection, table: sa.Table) -> Callable[[list[tuple]], None]:
        return executemany_writer(conn, table) or super().bulk_writer(conn, table)

    def foreign_keys_off(self, conn: Connection) -> contextlib.AbstractContextManager[Connection]:
        # PRAGMA foreign_keys is ignored inside a transaction: set it on the raw connection first.
        raw = conn.connection.dbapi_connection
        return switched(conn, lambda: raw.execute("PRAGMA foreign_keys=OFF"),
                        lambda: raw.execute("PRAGMA foreign_keys=ON"))

    def foreign_key_problems(self, conn: Connection) -> list[str]:
        return sorted({row[0] for row in conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()})

    def read_counters(self, conn: Connection, tables: Iterable[sa.Table]) -> dict[str, int]:
        if not conn.exec_driver_sql("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'").first():
            return {}
        return {name: int(seq) for name, seq in conn.exec_driver_sql("SELECT name, seq FROM sqlite_sequence")}

    def reset_counters(self, conn: Connection, tables: Iterable[sa.Table], floor: Mapping[str, int]) -> dict[str, int]:
        # Only AUTOINCREMENT tables keep a counter (sqlite_sequence); a plain rowid table hands
        # out max(rowid) + 1 by itself.
        counted = {r[0] for r in conn.exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE '%AUTOINCREMENT%'")}
        result = {}
        for table, column in identity_columns(tables):
            if table.name not in counted:
                continue
            value = max(int(conn.execute(sa.select(sa.func.max(column))).scalar() or 0), floor.get(table.name, 0))
            updated = conn.exec_driver_sql("UPDATE sqlite_sequence SET seq = ? WHERE name = ?", (value, table.name))
            if updated.rowcount == 0 and value:
                conn.exec_driver_sql("INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)", (table.name, value))
            result[table.name] = value
        return result

    # -- backup: the online backup API -------------------------------------------------------------

    def backup(self, target: Path, progress: Progress | None = None) -> tuple[dict[str, str | None], dict[str, int]]:
        """The online backup API in one step (one consistent read: a stepped backup of a database
        that others write starts over at each write); ``progress``: its pages, all at once."""
        from sublarr.core.backup import BackupError

        if not self.path:
            raise BackupError("an in-memory SQLite database cannot be backed up")
        raw = self.engine.raw_connection()  # a pooled connection: busy_timeout and WAL as configured
        try:
            with _page_progress(progress, "sqlite backup: pages", raw.driver_connection) as on_step:
                sqlite_snapshot(raw.driver_connection, target, on_step=on_step)
        except BaseException:
            with contextlib.suppress(OSError):
                target.unlink()
            raise
        finally:
            raw.close()
        return describe_sqlite_file(target)

    def restore(self, backup_file: Path, progress: Progress | None = None) -> None:
        """The backup is copied beside the database, checked, and renamed over it once no other
        connection holds the database: atomic, never half-restored. ``progress``: the pages copied
        (in steps: nothing else writes the backup file)."""
        from sublarr.core.backup import BackupError, utc_stamp

        db = Path(self.path).expanduser().resolve()
        work = db.with_name(f".{db.name}.restore-{utc_stamp()}-{os.getpid()}.tmp")
        source = sqlite3.connect(f"{backup_file.as_uri()}?mode=ro", uri=True)
        try:
            with _page_progress(progress, "sqlite restore: pages", source) as on_step:
                sqlite_snapshot(source, work, on_step=on_step, pages=_RESTORE_STEP_PAGES if on_step else -1)
        finally:
            source.close()
        try:
            check = sqlite3.connect(work)
            try:
                result = check.execute("PRAGMA quick_check").fetchone()[0]
            finally:
                check.close()
            if result != "ok":
                raise BackupError(f"{backup_file} failed the integrity check: {result}")
            with self.migration_lock(None):  # no boot migrates meanwhile
                self.replace_file(work)
        finally:
            for leftover in (work, Path(f"{work}.tmp"), Path(f"{work}-journal")):
                with contextlib.suppress(FileNotFoundError):
                    leftover.unlink()

    def replace_file(self, new_file: Path) -> None:
        """Atomically put ``new_file`` (same directory, self-contained) in place of the database file.

        Call with the migration lock held. The pool is emptied first and reconnects lazily.
        """
        from sublarr.core.backup import fsync_dir

        path = Path(self.path).expanduser().resolve()
        self.engine.dispose()
        busy = int(self.settings.db_busy_timeout_ms) / 1000
        release_sqlite_file(sqlite3.connect(path, isolation_level=None, timeout=busy), path, busy)
        os.replace(new_file, path)
        fsync_dir(path.parent)
        self.engine.dispose()

    def migration_lock(self, connection: Connection | None):
        if not self.path:
            return contextlib.nullcontext()
        from filelock import FileLock

        # A file lock beside the database: SQLite's own locks would time out after busy_timeout,
        # while a long migration may take minutes.
        return FileLock(f"{self.path}.migrate.lock", timeout=600)

    def prepare_migration(self, connection: Connection) -> None:
        # Batch migrations copy tables; with foreign keys on, dropping the old table cascades
        # deletes into child rows (Bazarr 0ddadb273). PRAGMA is a no-op inside a transaction,
        # so it is set on the raw connection (autocommit) before Alembic begins one.
        connection.connection.dbapi_connection.execute("PRAGMA foreign_keys=OFF")

    def finish_migration(self, connection: Connection) -> None:
        raw = connection.connection.dbapi_connection
        problems = raw.execute("PRAGMA foreign_key_check").fetchall()
        raw.execute("PRAGMA foreign_keys=ON")
        if problems:
            from sublarr.core.errors import MigrationError

            tables = sorted({row[0] for row in problems})
            raise MigrationError(f"foreign key check failed after migration in tables: {', '.join(tables)}")

    def describe(self) -> dict[str, Any]:
        with self.engine.execution_options(**self.read_options()).connect() as conn:
            pragmas = {
                name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
                for name in ("journal_mode", "busy_timeout", "foreign_keys", "synchronous")
            }
            version = conn.exec_driver_sql("select sqlite_version()").scalar()
            conn.rollback()
        return {
            "driver": self.name,
            "path": os.path.abspath(self.path) if self.path else ":memory:",
            "sqlite_version": version,
            "journal_mode": pragmas["journal_mode"],
            "busy_timeout_ms": pragmas["busy_timeout"],
            "foreign_keys": "on" if pragmas["foreign_keys"] else "off",
            "synchronous": {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}.get(pragmas["synchronous"]),
            "pool": type(self.engine.pool).__name__,
        }


_INHERITED: list = []  # writer connections a forked child inherited (see _writer_connection)


class _Prepared:
    """A statement compiled once for SQLite (qmark parameters): its SQL and, per ``?``, where the value
    comes from: a value fixed when the statement was built (processed once, kept in ``_template``), or a
    caller's parameter (passed through its type's bind processor, as SQLAlchemy does on each execute)."""

    __slots__ = ("statement", "sql", "_template", "_variable")

    def __init__(self, statement: Any, compiled: Any, dialect: Any):
        self.statement = statement
        self.sql: str = compiled.string
        binds = compiled.binds
        required = frozenset(name for name, bp in binds.items() if bp.required)
        fixed = compiled.construct_params(dict.fromkeys(required))
        template: list[Any] = []
        variable = []
        for index, name in enumerate(compiled.positiontup):
            process = binds[name].type.dialect_impl(dialect).bind_processor(dialect)
            if name in required:
                variable.append((index, name, process))
                template.append(None)
            else:
                value = fixed[name]
                template.append(value if process is None else process(value))
        self._template = template
        self._variable = tuple(variable)

    def bind(self, params: Mapping[str, Any]) -> list:
        """The values of the ``?`` in order (a list: sqlite3 takes any sequence)."""
        out = self._template.copy()
        try:
            for index, name, process in self._variable:
                value = params[name]
                out[index] = value if process is None else process(value)  # None too, as SQLAlchemy
        except KeyError as missing:  # as SQLAlchemy's execute raises it
            orig = sa.exc.InvalidRequestError(f"A value is required for bind parameter {missing.args[0]!r}",
                                              code="cd3x")
            raise sa.exc.StatementError(str(orig), self.sql, None, orig, hide_parameters=True,
                                        code="cd3x") from None
        return out


# -- SQLite files (backups, restores, adoption of legacy files) -----------------------------------

_RESTORE_STEP_PAGES = 1024  # pages per step of a restore with a progress bar (4 MiB at 4 KiB pages)


@contextlib.contextmanager
def _page_progress(progress: Progress | None, label: str,
                   source: sqlite3.Connection) -> Iterator[Callable[[int, int, int], None] | None]:
    """The ``progress`` argument of ``Connection.backup`` moving a bar of the source's pages on."""
    if progress is None:
        yield None
        return
    total = source.execute("PRAGMA page_count").fetchone()[0]
    with progress(label, total) as update:
        done = 0

        def on_step(_status: int, remaining: int, pages: int) -> None:
            nonlocal done
            update(max(0, pages - remaining - done))
            done = max(done, pages - remaining)

        yield on_step


def sqlite_snapshot(source: sqlite3.Connection, destination: Path, *,
                    on_step: Callable[[int, int, int], None] | None = None, pages: int = -1) -> Path:
    """Write a consistent copy of ``source`` to ``destination`` with the online backup API.

    The copy is written (mode 0600: it holds secrets) under a temporary name and renamed when
    complete (a kill never leaves a half copy under the final name), and it is one self-contained
    file (``journal_mode=DELETE``). ``pages=-1`` copies in one step, one consistent read
    transaction; steps (``pages > 0``) only for a source nobody else writes (a write starts the copy
    over). ``on_step(status, remaining, total)`` is called after each step.
    """
    with replaced_atomically(destination) as tmp:  # a failed copy leaves no .tmp file behind
        target = sqlite3.connect(tmp, isolation_level=None)
        try:
            source.backup(target, pages=pages, progress=on_step)
            target.execute("PRAGMA journal_mode=DELETE")
        finally:
            target.close()
    return destination


def release_sqlite_file(conn: sqlite3.Connection, path: Path, timeout: float = 5.0) -> None:
    """Checkpoint ``path``'s WAL into it and close ``conn``, which must end up the last connection.

    The last connection to close removes ``-wal`` and ``-shm``. If they survive, another process
    holds the database open, and replacing the file under it would corrupt what it writes next.
    Sublarr processes that wait for the migration lock let go of their connections first, so a
    few retries within ``timeout`` seconds tell them apart from a program that keeps the file open.
    """
    from sublarr.core.backup import DatabaseBusy

    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(sqlite3.Error):
            if conn.in_transaction:
                conn.execute("ROLLBACK")
        try:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            conn.close()
        leftovers = [p.name for p in (Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists()]
        if not leftovers:
            return
        if time.monotonic() >= deadline:
            raise DatabaseBusy(f"{path} is open in another process ({', '.join(leftovers)} still exist); "
                               "stop every program that uses it and try again")
        time.sleep(0.1)
        conn = sqlite3.connect(path, isolation_level=None, timeout=timeout)


def quote_name(name: str) -> str:
    """A table or column name as a SQLite identifier."""
    return '"' + name.replace('"', '""') + '"'


def describe_sqlite_file(path: Path) -> tuple[dict[str, str | None], dict[str, int]]:
    """(schema revision per domain, row count per table) read from a SQLite file."""
    from sublarr.core.backup import VERSION_TABLE_PREFIX, BackupError

    conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
    try:
        names = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
        revisions: dict[str, str | None] = {}
        rows: dict[str, int] = {}
        for name in names:
            quoted = quote_name(name)
            if name.startswith(VERSION_TABLE_PREFIX):
                found = conn.execute(f"SELECT version_num FROM {quoted}").fetchall()
                revisions[name[len(VERSION_TABLE_PREFIX):]] = found[0][0] if found else None
            elif not name.startswith("alembic_version"):
                rows[name] = conn.execute(f"SELECT count(*) FROM {quoted}").fetchone()[0]
        return revisions, rows
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} is not a readable SQLite database: {exc}") from None
    finally:
        conn.close()


@dataclass
class SqliteFileSchema:
    """Tables, columns (with declared types) and indexes of a SQLite file (what adoption compares a
    legacy file by); SQLite's own tables (``sqlite_*``) are not listed, ``has_sequence`` says whether
    the file keeps AUTOINCREMENT counters."""

    columns: dict[str, list[str]]
    types: dict[str, dict[str, str]]
    indexes: dict[str, str]                  # index name -> table (named indexes only)
    sql: dict[str, str]
    index_sql: dict[str, list[str]]
    has_sequence: bool

    @classmethod
    def read(cls, path: Path) -> SqliteFileSchema:
        conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
        try:
            rows = conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master").fetchall()
            columns: dict[str, list[str]] = {}
            types: dict[str, dict[str, str]] = {}
            sql: dict[str, str] = {}
            indexes: dict[str, str] = {}
            index_sql: dict[str, list[str]] = {}
            for kind, name, table, text in rows:
                if kind == "table" and not name.startswith("sqlite_"):
                    info = conn.execute(f"PRAGMA table_info({quote_name(name)})").fetchall()
                    columns[name] = [r[1] for r in info]
                    types[name] = {r[1]: r[2] or "" for r in info}
                    sql[name] = text
                elif kind == "index" and text:  # autoindexes have no SQL
                    indexes[name] = table
                    index_sql.setdefault(table, []).append(text)
            has_sequence = any(kind == "table" and name == "sqlite_sequence" for kind, name, _t, _s in rows)
        finally:
            conn.close()
        return cls(columns, types, indexes, sql, index_sql, has_sequence)


@hookimpl
def sublarr_storage_drivers():
    return [SqliteStorage]
