"""The three driver contracts. A driver is one class in one file; backends never import each other."""

from __future__ import annotations

import abc
import contextlib
import enum
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from sqlalchemy.engine import URL, Connection, Engine

    from sublarr.core.settings import Settings


# -- storage --------------------------------------------------------------------------------------

class StorageDriver(abc.ABC):
    """Owns the SQLAlchemy engine for one database URL."""

    name: ClassVar[str]
    schemes: ClassVar[tuple[str, ...]]  # URL schemes (the part before "+driver") this driver serves
    description: ClassVar[str] = ""

    def __init__(self, url: URL, settings: Settings):
        self.url = url
        self.settings = settings
        self.engine: Engine = self.create_engine()

    @abc.abstractmethod
    def create_engine(self) -> Engine:
        """Build the engine with this dialect's pool and per-connection setup."""

    def check(self) -> None:
        """Connect once; raise on an unreachable or unusable database."""
        with self.engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")

    @abc.abstractmethod
    def migration_lock(self, connection: Connection) -> contextlib.AbstractContextManager:
        """Held around schema upgrades so that N processes booting together migrate once."""

    def prepare_migration(self, connection: Connection) -> None:
        """Called on the dedicated migration connection before any migration transaction."""

    def finish_migration(self, connection: Connection) -> None:
        """Called after the migration transactions (checks that may raise)."""

    def describe(self) -> dict[str, Any]:
        """What `sublarr status` shows about this storage (no secrets)."""
        return {"driver": self.name}

    def read_options(self) -> dict[str, Any]:
        """Execution options for read-only transactions (SQLite: a deferred BEGIN)."""
        return {}

    def after_bulk_write(self, table: str, rows: int) -> None:
        """Called after a committed write of ``rows`` rows into ``table`` (a scan, a copy): a chance to
        refresh planner statistics. Must never fail the caller. Default: nothing."""

    def write_lock(self) -> contextlib.AbstractContextManager:
        """Held around each write transaction of this process (SQLite queues its writers here)."""
        return contextlib.nullcontext()

    def dispose(self) -> None:
        self.engine.dispose()


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

    def start(self) -> None:
        """Begin processing (in-process drivers start their threads lazily or here)."""

    def work(self, stop: Callable[[], bool]) -> None:
        """Process jobs in this process until ``stop()`` is true (`sublarr run`/`worker`)."""

    def close(self, wait: bool = True) -> None:
        """Stop workers and release connections."""


@contextlib.contextmanager
def no_lock() -> Iterator[None]:
    yield
