"""The three driver contracts. A driver is one class in one file; backends never import each other."""

from __future__ import annotations

import abc
import contextlib
import enum
import os
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from sqlalchemy import Table
    from sqlalchemy.engine import URL, Connection, Engine

    from sublarr.core.settings import Settings
    from sublarr.core.transfer import Progress


# -- storage --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class StorageFeatures:
    """What an engine can and cannot do, for the code that must know (migrations, copy, queries).

    Declared by each driver; core and domain code ask these instead of an engine's name.
    """

    #: schema changes roll back with their transaction; without it a crash in a revision can leave
    #: it half-applied, which the migration runner then reports on the next boot
    transactional_ddl: bool = True
    #: ``=``, ``<`` and ORDER BY on text compare code points (SQLite BINARY, MariaDB ``*_nopad_bin``)
    #: whatever the database's default collation; False: a locale may decide (use ``text_order``)
    binary_text: bool = True
    #: an upsert can return the ids of the rows it inserted *and* of those it updated
    upsert_returning: bool = True
    #: the database is one local file (``path``) that can be adopted, snapshotted and swapped
    file_based: bool = False
    #: every foreign key needs an index on its columns: the engine makes one (named after the key)
    #: when there is none, and refuses to drop the last index that serves a key (InnoDB)
    foreign_key_index: bool = False


class Create(str, enum.Enum):
    """Whether opening a storage may create its database (the kernel's ``create``). A typo in a
    database path must never leave a new, empty database behind."""

    #: the database must exist already (inspection commands: ``db check``, ``db current`` ...)
    NEVER = "never"
    #: a missing database may be created where its parent (e.g. the folder of a file) exists: the default
    DATABASE = "database"
    #: the parents may be created too (an explicit ``sublarr db upgrade``)
    PARENTS = "parents"


class StorageDriver(abc.ABC):
    """Owns the SQLAlchemy engine for one database URL, and everything that differs per engine.

    SQLAlchemy and Alembic write the SQL; a driver only decides what differs: how the engine is
    built and checked, how an upsert and a bulk insert are spelled, how a consistent snapshot is
    read, how identity counters are read and reset after a copy, how foreign keys are switched
    off for a copy or a migration, the cross-process migration lock, backup and restore, table
    upkeep after bulk writes, and what ``sublarr status`` shows. Nothing outside ``sublarr/drivers``
    compares an engine's name; it calls these methods and reads :class:`StorageFeatures`.
    """

    name: ClassVar[str]
    schemes: ClassVar[tuple[str, ...]]  # URL schemes (the part before "+driver") this driver serves
    description: ClassVar[str] = ""
    features: ClassVar[StorageFeatures] = StorageFeatures()
    backup_suffix: ClassVar[str] = ".backup"
    #: the SQLAlchemy dialect module whose ``insert()`` knows this engine's upsert (ON CONFLICT ...)
    insert_module: ClassVar[str] = ""

    def __init__(self, url: URL, settings: Settings, create: Create = Create.DATABASE):
        self.url = self.normalize_url(url)
        self.settings = settings
        #: may this driver create a missing database (``create_engine``/``check`` enforce it; a
        #: server database is never created by sublarr, whatever this says)
        self.create = Create(create)
        self.engine: Engine = self.create_engine()
        # Bound values hold webhook secrets, URL tokens and API keys: SQLAlchemy must never put them
        # into an exception's text or a log line ("[parameters: ...]"), whichever driver built the engine.
        self.engine.hide_parameters = True
        # Server messages quote values too ("Key (secret)=(...) already exists", "Duplicate entry '...'"):
        # the driver masks them in the DBAPI error before anything prints or logs it.
        from sqlalchemy import event

        event.listen(self.engine, "handle_error", self._hide_values_in_error)
        _OWNERS[id(self.engine)] = self

    # -- engine ---------------------------------------------------------------------------------

    @classmethod
    def normalize_url(cls, url: URL) -> URL:
        """The URL this driver connects with (its DBAPI, default options). Default: as given."""
        return url

    @abc.abstractmethod
    def create_engine(self) -> Engine:
        """Build the engine with this dialect's pool and per-connection setup."""

    def check(self) -> None:
        """Connect once; raise on an unreachable or unusable database (``DatabaseMissing`` when the
        database does not exist and ``self.create`` does not allow creating it)."""
        with self.engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")

    def hide_values(self, error: BaseException) -> None:
        """Mask, in place (``error.args``), every value of a row or statement that the engine quoted in
        the DBAPI ``error``'s message; keep table, column, constraint and key names (code and people
        read those). Default: nothing to mask (SQLite names only columns and constraints)."""

    def _hide_values_in_error(self, context: Any) -> None:
        error = context.original_exception
        before = str(error)
        try:
            self.hide_values(error)
        except Exception:  # a masking bug must never replace the real error
            return
        after = str(error)
        wrapped = context.sqlalchemy_exception
        if after != before and wrapped is not None and wrapped.args and isinstance(wrapped.args[0], str):
            # SQLAlchemy copied the message when it wrapped the error: "(module.Class) <message>"
            wrapped.args = (wrapped.args[0].replace(before, after), *wrapped.args[1:])

    def missing_database(self) -> Exception:
        """The error for a server database that does not exist: sublarr never creates one."""
        from sublarr.core.errors import DatabaseMissing

        where = f"{self.url.host or 'localhost'}" + (f":{self.url.port}" if self.url.port else "")
        return DatabaseMissing(f"the database {self.url.database!r} does not exist on {where} (sublarr creates "
                               "tables, never a server database: check the name, or create it first, see the README)")

    @property
    def path(self) -> str | None:
        """The database file, for file-based engines (``features.file_based``); None otherwise."""
        return None

    def location(self) -> str:
        """Where the data lives, for people and manifests: a file path or the URL with the password masked."""
        from sublarr.core.secrets import mask_url

        return os.path.abspath(self.path) if self.path else mask_url(self.url.render_as_string(hide_password=False))

    def identity(self) -> tuple:
        """Two drivers with equal identities use the same database (``db copy`` onto itself is refused)."""
        if self.path:
            return (self.name, os.path.realpath(self.path))
        return (self.name, self.url.host or "localhost", self.url.port, self.url.database)

    def describe(self) -> dict[str, Any]:
        """What `sublarr status` shows about this storage (no secrets)."""
        return {"driver": self.name, **self.pool_status()}

    def pool_status(self) -> dict[str, Any]:
        """The connection pool as numbers: class, size, connections in use, overflow."""
        pool = self.engine.pool
        status: dict[str, Any] = {"pool": type(pool).__name__}
        for key, method in (("pool_size", "size"), ("checked_out", "checkedout"), ("overflow", "overflow")):
            if hasattr(pool, method):
                status[key] = getattr(pool, method)()
        if "overflow" in status:  # QueuePool counts connections not yet opened as negative overflow
            status["overflow"] = max(0, status["overflow"])
        return status

    def dispose(self) -> None:
        self.engine.dispose()

    # -- transactions ---------------------------------------------------------------------------

    def read_options(self) -> dict[str, Any]:
        """Execution options for read-only transactions (SQLite: a deferred BEGIN)."""
        return {}

    def snapshot_options(self) -> dict[str, Any]:
        """Execution options under which one transaction reads every table at one point in time
        (``db copy`` source, checksums). Default: REPEATABLE READ."""
        return {**self.read_options(), "isolation_level": "REPEATABLE READ"}

    def is_conflict(self, exc: BaseException) -> bool:
        """True when ``exc`` means the engine rolled the whole transaction back as a deadlock victim
        (or a serialization failure): running the same idempotent transaction again is safe."""
        return False

    def retry_conflicts(self, transaction: Callable[[], Any], attempts: int = 5) -> Any:
        """Run ``transaction()`` (one complete, idempotent transaction), again when it lost a
        deadlock or serialization conflict (``is_conflict``), after a short random pause."""
        import random
        import time

        for attempt in range(1, attempts + 1):
            try:
                return transaction()
            except Exception as exc:
                if attempt == attempts or not self.is_conflict(exc):
                    raise
                time.sleep(random.uniform(0.01, 0.05) * attempt)
        raise AssertionError("unreachable")

    def write_lock(self) -> contextlib.AbstractContextManager:
        """Held around each write transaction of this process (SQLite queues its writers here)."""
        return contextlib.nullcontext()

    # -- statements -----------------------------------------------------------------------------

    def insert(self, table: Table) -> Any:
        """This engine's INSERT construct for ``table`` (with its upsert clauses)."""
        if not self.insert_module:
            raise NotImplementedError(f"storage driver {self.name!r} declares no insert_module")
        import importlib

        return importlib.import_module(self.insert_module).insert(table)

    def upsert(self, table: Table, values: Mapping[str, Any] | None, key: Sequence[str],
               update: Sequence[str] | Mapping[str, Any] | Callable[[Any], Mapping[str, Any]] | None = None) -> Any:
        """``INSERT ... ON CONFLICT (key) DO UPDATE`` (or the engine's spelling of it).

        ``update``: column names to take from the new row (default: every inserted non-key
        column); a mapping column -> expression over the stored row (every expression sees the
        row as it was before this statement, on every engine); or a callable ``new -> mapping``
        whose ``new[column]`` is the value the INSERT proposed. ``values=None`` builds the
        statement for ``conn.execute(stmt, rows)`` (executemany); it then needs ``update``.
        """
        stmt = self.insert(table)
        if isinstance(values, Mapping):
            stmt = stmt.values(**values)
        set_ = upsert_assignments(update, values, key, stmt.excluded)
        if not set_:
            return stmt.on_conflict_do_nothing(index_elements=list(key))
        return stmt.on_conflict_do_update(index_elements=list(key), set_=set_)

    def prepare(self, statement: Any) -> Any:
        """``statement`` (built once, every value a ``bindparam``) made ready for :meth:`run_writes`,
        which runs it many times with different values. Default: the statement itself (SQLAlchemy's
        compiled cache then serves every run)."""
        return statement

    def run_writes(self, steps: Sequence[tuple[Any, Mapping[str, Any]]]) -> list[int]:
        """One write transaction (under :meth:`write_lock`) of the ``(prepared statement, parameters)``
        steps, in order; their row counts. For hot single-row writes (counters): a driver may run
        them below SQLAlchemy's Connection, with the same SQL, transaction and errors."""
        with self.write_lock(), self.engine.begin() as conn:
            return [conn.execute(stmt, dict(params)).rowcount for stmt, params in steps]

    def insert_ignore(self, table: Table, key: Sequence[str]) -> Any:
        """An INSERT that skips a row whose ``key`` exists (rowcount 0 then, 1 when inserted)."""
        return self.insert(table).on_conflict_do_nothing(index_elements=list(key))

    def text_order(self, expression: Any) -> Any:
        """``expression`` (text) for ORDER BY / comparisons by code point, as Python sorts str."""
        return expression

    # -- bulk work (db copy, scans) -------------------------------------------------------------

    def bulk_writer(self, conn: Connection, table: Table) -> Callable[[list[tuple]], None]:
        """A function that inserts a batch of row tuples (in ``table.columns`` order) on ``conn``,
        inside its transaction. Default: SQLAlchemy's executemany insert."""
        keys = [c.key for c in table.columns]
        insert = table.insert()

        def execute(batch: list[tuple]) -> None:
            conn.execute(insert, [dict(zip(keys, row, strict=True)) for row in batch])

        return execute

    @contextlib.contextmanager
    def foreign_keys_off(self, conn: Connection) -> Iterator[Connection]:
        """Foreign keys not enforced on ``conn`` while the block runs (a copy fills tables in any
        order); a connection that leaves with an error is never handed back to the pool as it is.
        Default: nothing to switch (rows arrive parents first)."""
        yield conn

    def foreign_key_problems(self, conn: Connection) -> list[str]:
        """Tables holding rows that break a foreign key (checked before a copy commits)."""
        return []

    def read_counters(self, conn: Connection, tables: Iterable[Table]) -> dict[str, int]:
        """The last id each table's identity counter handed out (may be past ``max(id)``)."""
        return {}

    def reset_counters(self, conn: Connection, tables: Iterable[Table], floor: Mapping[str, int]) -> dict[str, int]:
        """Set each identity counter past ``max(id)`` and never below ``floor[table]``, so the next
        insert gets a fresh id and deleted ids are not reused; returns ``{table: last id}``."""
        return {}

    def after_bulk_write(self, table: str, rows: int) -> None:
        """Called after a committed write of ``rows`` rows into ``table`` (a scan, a copy): a chance to
        refresh planner statistics. Must never fail the caller. Default: nothing."""

    # -- migrations -----------------------------------------------------------------------------

    @abc.abstractmethod
    def migration_lock(self, connection: Connection | None) -> contextlib.AbstractContextManager:
        """Held around schema upgrades so that N processes booting together migrate once
        (``connection``: the dedicated migration connection, None outside a migration)."""

    def prepare_migration(self, connection: Connection) -> None:
        """Called on the dedicated migration connection before any migration transaction."""

    def finish_migration(self, connection: Connection) -> None:
        """Called after the migration transactions (checks that may raise)."""

    # -- backup ---------------------------------------------------------------------------------

    def backup(self, target: Path, progress: Progress | None = None) -> tuple[dict[str, str | None], dict[str, int]]:
        """Write a consistent backup of the whole database to ``target`` (created 0600, written
        under a temporary name and renamed when complete); return what it holds: (schema revision
        per domain, row count per table), read from the same snapshot.

        ``progress(label, total)`` (the protocol of ``sublarr.core.transfer.Progress``), when given,
        is a terminal's progress bar: report what the work really consists of (tables, rows, pages,
        bytes) as it is done, or nothing; never an estimate dressed up as a percentage."""
        raise NotImplementedError(f"storage driver {self.name!r} cannot make backups")

    def restore(self, backup_file: Path, progress: Progress | None = None) -> None:
        """Replace the database with ``backup_file`` entirely, or change nothing (call with no
        other work running; the caller verifies the result against the manifest). ``progress`` as
        for :meth:`backup`."""
        raise NotImplementedError(f"storage driver {self.name!r} cannot restore backups")

    def backup_tools(self) -> str | None:
        """None when backups can be made here, else why not (e.g. a client tool missing from PATH)."""
        return None


# engine id -> the driver that built it (weak: a dropped driver leaves no entry; while it lives, so
# does its engine, so the id is not reused)
_OWNERS: weakref.WeakValueDictionary[int, StorageDriver] = weakref.WeakValueDictionary()


def storage_for(conn: Connection | Engine) -> StorageDriver:
    """The storage driver whose engine ``conn`` (a connection or an engine) belongs to."""
    engine: Any = getattr(conn, "engine", conn)
    while True:
        owner = _OWNERS.get(id(engine))
        if owner is not None and owner.engine is engine:
            return owner
        proxied = getattr(engine, "_proxied", None)  # engine.execution_options(...) wraps the engine
        if proxied is None:
            raise LookupError("this connection does not belong to a sublarr storage driver")
        engine = proxied


@contextlib.contextmanager
def switched(conn: Connection, off: Callable[[], Any], on: Callable[[], Any]) -> Iterator[Connection]:
    """``off()`` now and ``on()`` when the block succeeds (a session setting such as foreign-key
    checks); a block that fails invalidates the connection, so it never goes back to the pool
    with the setting off."""
    off()
    ok = False
    try:
        yield conn
        ok = True
    finally:
        if ok:
            on()
        else:
            conn.invalidate()


_PLACEHOLDERS = {"qmark": "?", "format": "%s", "pyformat": "%s"}


def executemany_writer(conn: Connection, table: Table) -> Callable[[list[tuple]], None] | None:
    """A batch writer that hands row tuples straight to the DBAPI's ``executemany`` (same connection,
    so same transaction), for a table of plain integer/float/text columns: they need none of
    SQLAlchemy's per-row dict and type processing. None for other tables or parameter styles."""
    from sqlalchemy import Float, Integer, String

    placeholder = _PLACEHOLDERS.get(conn.dialect.paramstyle)
    if placeholder is None or not all(isinstance(c.type, (Integer, String, Float)) for c in table.columns):
        return None
    preparer = conn.dialect.identifier_preparer
    statement = (f"INSERT INTO {preparer.format_table(table)} "
                 f"({', '.join(preparer.quote(c.name) for c in table.columns)}) "
                 f"VALUES ({', '.join([placeholder] * len(table.columns))})")
    cursor = conn.connection.dbapi_connection.cursor()
    return lambda batch: cursor.executemany(statement, batch)


def identity_columns(tables: Iterable[Table]) -> Iterator[tuple[Table, Any]]:
    """(table, column) for each table whose single-column primary key is an identity (autoincrement)."""
    for table in tables:
        column = table.autoincrement_column
        if column is not None and len(table.primary_key.columns) == 1:
            yield table, column


def upsert_assignments(update: Any, values: Mapping[str, Any] | None, key: Sequence[str], new: Any) -> dict[str, Any]:
    """The SET part of an upsert as ``{column: expression}`` (see :meth:`StorageDriver.upsert`)."""
    if callable(update) and not isinstance(update, Mapping):
        return dict(update(new))
    if isinstance(update, Mapping):
        return dict(update)
    if update is None:
        if not isinstance(values, Mapping):
            raise ValueError("upsert without a single row needs the update columns")
        update = [c for c in values if c not in key]
    return {c: new[c] for c in update}



def server_pool_options(settings: Settings) -> dict[str, Any]:
    """``create_engine()`` options of a database server's connection pool (``db_pool_*`` settings),
    the same for every server engine; bound values (secrets, tokens) never appear in error texts or
    logs."""
    return {
        "pool_size": int(settings.db_pool_size),
        "max_overflow": int(settings.db_pool_max_overflow),
        "pool_recycle": int(settings.db_pool_recycle),
        "pool_pre_ping": True,
        "hide_parameters": True,
    }


def private_file(path: Path) -> Path:
    """Create ``path`` empty with mode 0600 (backups hold secrets), replacing what is there."""
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    return path


@contextlib.contextmanager
def replaced_atomically(target: Path) -> Iterator[Path]:
    """A backup's file in one piece or not at all: yields a new private file (mode 0600) beside
    ``target`` to write; when the block succeeds it is made durable and renamed over ``target``, when
    the block fails (or is interrupted) it is removed and ``target`` is left as it was."""
    from sublarr.core.backup import fsync_dir, fsync_file

    tmp = private_file(target.with_name(target.name + ".tmp"))
    try:
        yield tmp
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    fsync_file(tmp)
    os.replace(tmp, target)
    fsync_dir(target.parent)


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    os.umask(0o077)  # what the tool writes is private too
    try:
        import ctypes
        import signal

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: killed when the sublarr process dies
    except (OSError, AttributeError):
        pass


def find_tool(name: str, install: str) -> str:
    """The path of client tool ``name``, or a BackupError saying how to install it."""
    import shutil

    found = shutil.which(name)
    if not found:
        from sublarr.core.backup import BackupError

        raise BackupError(f"{name} was not found on PATH: {install}")
    return found


class TableProgress:
    """Moves an ``update`` callback on table by table from a tool's announcements ("dumping table x"):
    a table is done when the next one starts, or when the tool ends (:meth:`done`). Each table counts
    its weight (its rows), or 1 without weights."""

    def __init__(self, update: Callable[[int], None], weights: Mapping[str, int] | None = None):
        self.update = update
        self.weights = weights
        self.current: str | None = None

    def started(self, table: str) -> None:
        self.done()
        self.current = table

    def done(self) -> None:
        if self.current is not None:
            self.update(1 if self.weights is None else self.weights.get(self.current, 0))
            self.current = None


@contextlib.contextmanager
def metered_stdin(path: Path, update: Callable[[int], None]) -> Iterator[int]:
    """A pipe to give a tool as its stdin, fed with ``path`` by a thread that reports each chunk's
    bytes to ``update`` once the pipe took it: at most a pipe's buffer (64 KiB) ahead of what the tool
    has read (a bar of a replayed dump)."""
    import threading

    read_fd, write_fd = os.pipe()

    def feed() -> None:
        with contextlib.suppress(BrokenPipeError), open(path, "rb") as source, \
                os.fdopen(write_fd, "wb", buffering=0) as sink:
            for chunk in iter(lambda: source.read(1 << 16), b""):
                sink.write(chunk)
                update(len(chunk))

    feeder = threading.Thread(target=feed, name="sublarr-stdin-feed", daemon=True)
    feeder.start()
    try:
        yield read_fd
    finally:
        os.close(read_fd)  # a tool that stopped early: the feeder's next write fails and it ends
        feeder.join()


def run_tool(command: list[str], env: Mapping[str, str], label: str, *, stdin: Any = None,
             stdout: Any = None, on_line: Callable[[str], None] | None = None) -> None:
    """Run a client tool (pg_dump, mariadb-dump, ...) that dies with this process; a non-zero exit
    is a BackupError with the lines of its message (secrets scrubbed). Passwords go through
    ``env``, never on the command line (``ps`` shows command lines).

    ``on_line`` receives each line of the tool's messages as it comes (its ``--verbose`` output, for
    progress); the error then quotes the last lines, which is where a verbose tool says what failed."""
    import subprocess

    from sublarr.core.backup import BackupError
    from sublarr.core.secrets import scrub

    stdin = stdin if stdin is not None else subprocess.DEVNULL
    try:
        if on_line is None:
            done = subprocess.run(command, env=dict(env), stdin=stdin,
                                  stdout=stdout if stdout is not None else subprocess.PIPE, stderr=subprocess.PIPE,
                                  check=False, preexec_fn=_die_with_parent)
            returncode = done.returncode
            message = (done.stderr or b"") + ((done.stdout or b"") if stdout is None else b"")
            lines = message.decode("utf-8", "replace").strip().splitlines()[:3]
        else:
            # one stream to read: the messages, with stdout folded in unless it goes to a file
            with subprocess.Popen(command, env=dict(env), stdin=stdin,
                                  stdout=stdout if stdout is not None else subprocess.PIPE,
                                  stderr=subprocess.PIPE if stdout is not None else subprocess.STDOUT,
                                  preexec_fn=_die_with_parent) as process:
                stream = process.stderr if stdout is not None else process.stdout
                tail: list[str] = []
                for raw in stream:
                    line = raw.decode("utf-8", "replace").rstrip("\n")
                    tail = [*tail[-2:], line]
                    on_line(line)
                returncode = process.wait()
            lines = tail
    except OSError as exc:
        raise BackupError(f"{label} could not run: {exc}") from None
    if returncode != 0:
        detail = scrub(" ".join(line.strip() for line in lines if line.strip()))
        raise BackupError(f"{label} failed (exit status {returncode}): {detail or 'no message'}")


# -- cache ----------------------------------------------------------------------------------------

class SettingsDriver(abc.ABC):
    """What a cache and a queue driver share: built from the settings, chosen by name or by
    ``auto`` (``cache_driver``, ``queue_driver``)."""

    name: ClassVar[str]
    description: ClassVar[str] = ""

    def __init__(self, settings: Settings):
        self.settings = settings

    @classmethod
    def available(cls, settings: Settings) -> str | None:
        """None when the driver can run with these settings, else why not (names the setting)."""
        return None

    @classmethod
    def auto_rank(cls, settings: Settings) -> int | None:
        """How much ``<kind>_driver = "auto"`` wants this driver with these settings: the highest rank
        wins (then ``available()`` must pass); None, the default, means auto never picks it."""
        return None


class CacheDriver(SettingsDriver):
    """String key/value cache with TTLs. Values are strings; callers encode JSON."""

    def __init__(self, settings: Settings):
        super().__init__(settings)
        self.hits = 0
        self.misses = 0

    @abc.abstractmethod
    def get(self, key: str) -> str | None: ...

    @abc.abstractmethod
    def set(self, key: str, value: str, ttl_seconds: int = 0) -> None: ...

    @abc.abstractmethod
    def delete(self, key: str) -> bool: ...

    @abc.abstractmethod
    def exists(self, key: str) -> bool: ...

    @abc.abstractmethod
    def clear(self, prefix: str = "") -> int:
        """Delete this cache's keys starting with ``prefix`` (never anything else); return the count."""

    def get_many(self, keys: Iterable[str]) -> dict[str, str | None]:
        return {key: self.get(key) for key in keys}

    def set_many(self, mapping: Mapping[str, str], ttl_seconds: int = 0) -> None:
        for key, value in mapping.items():
            self.set(key, value, ttl_seconds)

    @abc.abstractmethod
    def stats(self) -> dict[str, Any]:
        """At least ``backend``, ``hits``, ``misses``, ``size``; also ``healthy``."""

    @property
    def healthy(self) -> bool:
        return True

    def health(self) -> str | None:
        """None while the cache works, else why not (one line, no secret). Called by `sublarr run`
        every second and by /readyz: one cheap round trip at most."""
        return None

    def close(self) -> None:
        """Release connections."""


# -- queue ----------------------------------------------------------------------------------------

class JobStatus(str, enum.Enum):
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    def __str__(self) -> str:
        return self.value


TERMINAL_STATUSES = frozenset({JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED})


def job_status(value: JobStatus | str | None) -> JobStatus | None:
    """``value`` as a JobStatus (None stays None); ValueError naming the valid statuses otherwise."""
    if value is None or isinstance(value, JobStatus):
        return value
    try:
        return JobStatus(value)
    except ValueError:
        raise ValueError(f"unknown job status {value!r}; one of {', '.join(s.value for s in JobStatus)}") from None


def newest_first(jobs: Iterable[JobInfo], limit: int) -> list[JobInfo]:
    """The ``limit`` jobs that changed last (completed, else started, else enqueued), newest first."""
    import heapq

    return heapq.nlargest(max(limit, 0), jobs, key=lambda j: j.completed_at or j.started_at or j.enqueued_at or "")


#: what ``retry_job`` runs again
RETRYABLE_STATUSES = frozenset({JobStatus.FAILED, JobStatus.CANCELLED})


@dataclass
class JobInfo:
    id: str
    func_name: str
    status: JobStatus
    enqueued_at: str
    started_at: str | None = None
    completed_at: str | None = None
    result: Any = None
    error: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "func_name": self.func_name, "status": str(self.status),
            "enqueued_at": self.enqueued_at, "started_at": self.started_at,
            "completed_at": self.completed_at, "result": self.result, "error": self.error,
        }


class QueueDriver(SettingsDriver):
    """Runs callables in the background. ``enqueue`` never drops a job silently: it raises instead."""

    # True when jobs run in separate `sublarr worker` processes, not inside `sublarr run`: the jobs
    # then live outside any one process, so `sublarr jobs` and `sublarr status` in another process
    # see them. False (memory): only the process that enqueued them knows them.
    worker_processes: ClassVar[bool] = False

    @abc.abstractmethod
    def enqueue(self, func: Callable[..., Any], *args: Any, job_id: str | None = None, **kwargs: Any) -> str: ...

    @abc.abstractmethod
    def get_job(self, job_id: str) -> JobInfo | None: ...

    @abc.abstractmethod
    def cancel_job(self, job_id: str) -> bool: ...

    @abc.abstractmethod
    def queue_length(self) -> int: ...

    @abc.abstractmethod
    def active_jobs(self) -> list[JobInfo]: ...

    @abc.abstractmethod
    def failed_jobs(self, limit: int = 50) -> list[JobInfo]: ...

    @abc.abstractmethod
    def clear_failed(self) -> int: ...

    def list_jobs(self, status: JobStatus | str | None = None, limit: int = 50) -> list[JobInfo]:
        """Up to ``limit`` known jobs (of one ``status``, or all), the most recently changed first
        (by completion, else start, else enqueue time). Finished jobs are known for
        ``queue_job_retention_seconds``. Raises ValueError for an unknown status."""
        raise NotImplementedError(f"queue driver {self.name!r} cannot list its jobs")

    def retry_job(self, job_id: str) -> bool:
        """Queue a failed or cancelled job again, under the same id, with the same function and
        arguments; False when there is no such job or it is not failed or cancelled."""
        raise NotImplementedError(f"queue driver {self.name!r} cannot retry jobs")

    def job_counts(self) -> dict[str, int]:
        """How many jobs are ``queued``, ``running`` and ``failed`` (retained) now, each counted
        without reading the jobs themselves."""
        raise NotImplementedError(f"queue driver {self.name!r} cannot count its jobs")

    @abc.abstractmethod
    def info(self) -> dict[str, Any]:
        """At least ``backend``; shown by `sublarr status`."""

    def finished_counts(self) -> dict[str, int]:
        """Jobs ``completed`` and ``failed`` since the driver's counters began (the process start for
        an in-process queue); empty when the driver does not count."""
        return {}

    def health(self) -> str | None:
        """None while the queue accepts jobs, else why not (one line, no secret). Called by `sublarr
        run` every second and by /readyz: one cheap round trip at most."""
        return None

    def start(self) -> None:
        """Begin processing (in-process drivers start their threads lazily or here)."""

    def work(self, stop: Callable[[], bool]) -> None:
        """Process jobs in this process until ``stop()`` is true (`sublarr run`/`worker`)."""

    def close(self, wait: bool = True) -> None:
        """Stop workers and release connections."""


@contextlib.contextmanager
def no_lock() -> Iterator[None]:
    yield
