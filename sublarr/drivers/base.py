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

    def __init__(self, url: URL, settings: Settings):
        self.url = self.normalize_url(url)
        self.settings = settings
        self.engine: Engine = self.create_engine()
        # Bound values hold webhook secrets, URL tokens and API keys: SQLAlchemy must never put them
        # into an exception's text or a log line ("[parameters: ...]"), whichever driver built the engine.
        self.engine.hide_parameters = True
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
        """Connect once; raise on an unreachable or unusable database."""
        with self.engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")

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

    def backup(self, target: Path) -> tuple[dict[str, str | None], dict[str, int]]:
        """Write a consistent backup of the whole database to ``target`` (created 0600, written
        under a temporary name and renamed when complete); return what it holds: (schema revision
        per domain, row count per table), read from the same snapshot."""
        raise NotImplementedError(f"storage driver {self.name!r} cannot make backups")

    def restore(self, backup_file: Path) -> None:
        """Replace the database with ``backup_file`` entirely, or change nothing (call with no
        other work running; the caller verifies the result against the manifest)."""
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



def private_file(path: Path) -> Path:
    """Create ``path`` empty with mode 0600 (backups hold secrets), replacing what is there."""
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    return path


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


def run_tool(command: list[str], env: Mapping[str, str], label: str, *, stdin: Any = None,
             stdout: Any = None) -> None:
    """Run a client tool (pg_dump, mariadb-dump, ...) that dies with this process; a non-zero exit
    is a BackupError with the first lines of its message (secrets scrubbed). Passwords go through
    ``env``, never on the command line (``ps`` shows command lines)."""
    import subprocess

    from sublarr.core.backup import BackupError
    from sublarr.core.secrets import scrub

    try:
        done = subprocess.run(command, env=dict(env), stdin=stdin if stdin is not None else subprocess.DEVNULL,
                              stdout=stdout if stdout is not None else subprocess.PIPE, stderr=subprocess.PIPE,
                              check=False, preexec_fn=_die_with_parent)
    except OSError as exc:
        raise BackupError(f"{label} could not run: {exc}") from None
    if done.returncode != 0:
        message = (done.stderr or b"") + ((done.stdout or b"") if stdout is None else b"")
        lines = message.decode("utf-8", "replace").strip().splitlines()[:3]
        detail = scrub(" ".join(lines))
        raise BackupError(f"{label} failed (exit status {done.returncode}): {detail or 'no message'}")


# -- cache ----------------------------------------------------------------------------------------

class CacheDriver(abc.ABC):
    """String key/value cache with TTLs. Values are strings; callers encode JSON."""

    name: ClassVar[str]
    description: ClassVar[str] = ""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.hits = 0
        self.misses = 0

    @classmethod
    def available(cls, settings: Settings) -> str | None:
        """None when the driver can run with these settings, else why not (names the setting)."""
        return None

    @classmethod
    def auto_rank(cls, settings: Settings) -> int | None:
        """How much ``cache_driver = "auto"`` wants this driver with these settings: the highest rank
        wins (then ``available()`` must pass); None, the default, means auto never picks it."""
        return None

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


class QueueDriver(abc.ABC):
    """Runs callables in the background. ``enqueue`` never drops a job silently: it raises instead."""

    name: ClassVar[str]
    description: ClassVar[str] = ""
    # True when jobs run in separate `sublarr worker` processes, not inside `sublarr run`.
    worker_processes: ClassVar[bool] = False

    def __init__(self, settings: Settings):
        self.settings = settings

    @classmethod
    def available(cls, settings: Settings) -> str | None:
        return None

    @classmethod
    def auto_rank(cls, settings: Settings) -> int | None:
        """How much ``queue_driver = "auto"`` wants this driver with these settings: the highest rank
        wins (then ``available()`` must pass); None, the default, means auto never picks it."""
        return None

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

    @abc.abstractmethod
    def info(self) -> dict[str, Any]:
        """At least ``backend``; shown by `sublarr status`."""

    def job_counts(self) -> dict[str, int]:
        """Jobs ``queued``, ``running`` and ``failed`` (failed jobs still retained) right now.

        Drivers override this with counts that read no job (the default reads the failed ones)."""
        return {"queued": self.queue_length(), "running": len(self.active_jobs()),
                "failed": len(self.failed_jobs(limit=10_000))}

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
