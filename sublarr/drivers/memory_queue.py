"""In-process job queue: a thread pool, used when there is no Redis. Jobs are lost on exit.

The legacy queue deadlocked in ``cancel_job``: it held its lock while ``Future.cancel()``
ran a done-callback that took the same lock. Here no done-callbacks exist at all: the
wrapper that runs a job records its own status changes, and ``cancel_job`` only flips the
status under the lock (``Future.cancel()`` is called after the lock is released). The
wrapper re-checks the status under the lock before it starts, so a job cancelled while a
thread was picking it up never runs.

Bookkeeping is O(1) per job (amortised): the queued and running jobs are kept in their own
dicts, so ``queue_length``, ``active_jobs`` and ``info`` never look at finished jobs, and
finished jobs sit in a deque in the order they finished. Their finish times are therefore
in order too, and pruning by ``queue_job_retention_seconds`` pops expired jobs from the
deque's head and stops at the first one that is not: no walk over every job ever run.
Retention 0 drops a job from the books as it finishes. Timestamps are kept as floats and
formatted only when a job is read. A failed or cancelled job keeps its function and arguments
while it is retained, so that ``retry_job`` can run it again.
"""

from __future__ import annotations

import heapq
import logging
import secrets
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timezone
from itertools import islice
from typing import TYPE_CHECKING, Any, overload

from sublarr.core.errors import QueueUnavailable
from sublarr.core.timeutil import fmt
from sublarr.drivers.base import (
    RETRYABLE_STATUSES,
    TERMINAL_STATUSES,
    JobInfo,
    JobStatus,
    QueueDriver,
    job_status,
)

if TYPE_CHECKING:
    from sublarr.core.settings import Settings

log = logging.getLogger("sublarr.queue.memory")

_IDLE_STEP = 0.2  # seconds between two looks at stop() in work()


class _Entry:
    """One job's state. Only changed under the queue's lock; read through ``_snapshot``."""

    __slots__ = ("id", "func_name", "status", "enqueued_at", "started_at", "completed_at", "result", "error",
                 "meta", "future", "finished", "call")

    def __init__(self, job_id: str, func_name: str):
        self.id = job_id
        self.func_name = func_name
        self.status = JobStatus.QUEUED
        self.enqueued_at = time.time()  # wall clock (shown); formatted when read
        self.started_at: float | None = None
        self.completed_at: float | None = None
        self.result: Any = None
        self.error: str | None = None
        self.meta: dict[str, Any] | None = None
        self.future: Future | None = None  # while queued only: cancel_job() and close() need it
        self.finished = 0.0  # MemoryQueue._clock() when the job reached a terminal status (for pruning)
        # (func, args, kwargs) while the job may still be run: queued, running, and once failed or
        # cancelled (retry_job runs it again); a completed job lets go of its arguments.
        self.call: tuple[Callable[..., Any], tuple, dict] | None = None


def _func_name(func: Callable[..., Any]) -> str:
    """``module.qualname`` like RQ's ``func_name``, so both queues show the same names."""
    target = getattr(func, "func", func)  # functools.partial
    qualname = getattr(target, "__qualname__", None) or type(target).__qualname__
    module = getattr(target, "__module__", None)
    return f"{module}.{qualname}" if module else qualname


def _error_text(exc: BaseException) -> str:
    message = str(exc)
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


@overload
def _iso(moment: float) -> str: ...
@overload
def _iso(moment: float | None) -> str | None: ...
def _iso(moment: float | None) -> str | None:
    """A ``time.time()`` value in the kernel's timestamp format (``timeutil.now_iso``'s)."""
    return None if moment is None else fmt(datetime.fromtimestamp(moment, timezone.utc))


class MemoryQueue(QueueDriver):
    name = "memory"
    description = "in-process thread pool (jobs are not persistent)"
    _clock = staticmethod(time.monotonic)  # of retention; the tests move a fake one

    @classmethod
    def auto_rank(cls, settings: Settings) -> int | None:
        return 0  # always possible; any driver that ranks higher wins

    def __init__(self, settings: Settings):
        super().__init__(settings)
        self.workers: int = settings.queue_workers
        self.retention: float = settings.queue_job_retention_seconds
        self._lock = threading.Lock()
        self._jobs: dict[str, _Entry] = {}  # every tracked job: queued, running, finished and retained
        self._queued: dict[str, _Entry] = {}
        self._running: dict[str, _Entry] = {}
        self._finished: deque[_Entry] = deque()  # retained finished jobs, oldest first (may hold stale ones)
        self._failed: dict[str, _Entry] = {}  # retained failed jobs, in the order they failed
        self._executor: ThreadPoolExecutor | None = None
        self._closed = False
        self._completed_total = 0  # since this queue was made (never pruned)
        self._failed_total = 0

    # -- submitting -----------------------------------------------------------------------------

    def enqueue(self, func: Callable[..., Any], *args: Any, job_id: str | None = None, **kwargs: Any) -> str:
        if not callable(func):
            raise TypeError(f"enqueue needs a callable, got {type(func).__name__}")
        func_name = _func_name(func)
        job_id = job_id or secrets.token_hex(6)  # outside the lock: os.urandom releases the GIL
        with self._lock:
            if self._closed:
                raise QueueUnavailable("the memory queue is closed: job not enqueued")
            self._prune_locked(self._clock())
            existing = self._jobs.get(job_id)
            if existing is not None and existing.status not in TERMINAL_STATUSES:
                raise ValueError(f"job id {job_id!r} is already {existing.status}")
            self._submit_locked(_Entry(job_id, func_name), func, args, kwargs)
        return job_id

    def _submit_locked(self, entry: _Entry, func: Callable[..., Any], args: tuple, kwargs: dict) -> None:
        """Put ``entry`` on the books as queued (replacing a finished job of the same id) and submit it."""
        self._failed.pop(entry.id, None)  # a replaced job leaves the books (its deque entry goes stale)
        self._jobs[entry.id] = self._queued[entry.id] = entry
        entry.call = (func, args, kwargs)
        # submit() under our lock is safe: the executor never calls back into this object.
        entry.future = self._pool_locked().submit(self._run, entry, func, args, kwargs)

    def _run(self, entry: _Entry, func: Callable[..., Any], args: tuple, kwargs: dict) -> None:
        with self._lock:
            if entry.status is not JobStatus.QUEUED:  # cancelled while this thread picked it up
                return
            del self._queued[entry.id]
            self._running[entry.id] = entry
            entry.status = JobStatus.RUNNING
            entry.started_at = time.time()
        try:
            result = func(*args, **kwargs)
        except BaseException as exc:  # a job's failure is data, whatever it raised
            error, trace = _error_text(exc), traceback.format_exc()
            log.warning("job %s (%s) failed: %s", entry.id, entry.func_name, error)
            with self._lock:
                entry.meta = {"traceback": trace}
                self._finish_locked(entry, JobStatus.FAILED, error=error)
        else:
            with self._lock:
                self._finish_locked(entry, JobStatus.COMPLETED, result=result)

    def _finish_locked(self, entry: _Entry, status: JobStatus, result: Any = None, error: str | None = None) -> None:
        """Queued or running -> ``status``: off the live books, onto the finished ones (or gone, retention 0)."""
        live = self._running if entry.status is JobStatus.RUNNING else self._queued
        del live[entry.id]
        entry.status = status
        entry.completed_at = time.time()
        entry.result = result
        entry.error = error
        entry.future = None
        if status not in RETRYABLE_STATUSES:
            entry.call = None
        entry.finished = now = self._clock()
        if status is JobStatus.COMPLETED:
            self._completed_total += 1
        elif status is JobStatus.FAILED:
            self._failed_total += 1
        if self.retention <= 0:
            if self._jobs.get(entry.id) is entry:
                del self._jobs[entry.id]
            return
        self._finished.append(entry)
        if status is JobStatus.FAILED:
            self._failed[entry.id] = entry
        self._prune_locked(now)

    def _pool_locked(self) -> ThreadPoolExecutor:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="sublarr-queue")
        return self._executor

    # -- reading and managing -------------------------------------------------------------------

    def get_job(self, job_id: str) -> JobInfo | None:
        with self._lock:
            self._prune_locked(self._clock())
            entry = self._jobs.get(job_id)
            return self._snapshot(entry) if entry is not None else None

    def cancel_job(self, job_id: str) -> bool:
        with self._lock:
            entry = self._jobs.get(job_id)
            if entry is None or entry.status is not JobStatus.QUEUED:
                return False
            future = entry.future
            self._finish_locked(entry, JobStatus.CANCELLED)
        # Outside the lock (the legacy deadlock); if a thread already took the job, cancel()
        # returns False and _run() sees CANCELLED and skips it.
        if future is not None:
            future.cancel()
        return True

    def retry_job(self, job_id: str) -> bool:
        with self._lock:
            if self._closed:
                raise QueueUnavailable("the memory queue is closed: job not queued again")
            self._prune_locked(self._clock())
            old = self._jobs.get(job_id)
            if old is None or old.status not in RETRYABLE_STATUSES or old.call is None:
                return False
            self._submit_locked(_Entry(job_id, old.func_name), *old.call)
        return True

    def list_jobs(self, status: JobStatus | str | None = None, limit: int = 50) -> list[JobInfo]:
        wanted = job_status(status)
        with self._lock:
            self._prune_locked(self._clock())
            books = {JobStatus.QUEUED: self._queued, JobStatus.RUNNING: self._running,
                     JobStatus.FAILED: self._failed}.get(wanted, self._jobs)  # type: ignore[arg-type]
            entries = (e for e in books.values() if wanted is None or e.status is wanted)
            latest = heapq.nlargest(max(limit, 0), entries,
                                    key=lambda e: e.completed_at or e.started_at or e.enqueued_at)
            return [self._snapshot(e) for e in latest]

    def job_counts(self) -> dict[str, int]:
        with self._lock:
            self._prune_locked(self._clock())
            return {"queued": len(self._queued), "running": len(self._running), "failed": len(self._failed)}

    def queue_length(self) -> int:
        with self._lock:
            return len(self._queued)

    def active_jobs(self) -> list[JobInfo]:
        with self._lock:
            return [self._snapshot(e) for e in self._running.values()]

    def failed_jobs(self, limit: int = 50) -> list[JobInfo]:
        with self._lock:
            self._prune_locked(self._clock())
            newest_first = islice(reversed(self._failed.values()), max(limit, 0))
            return [self._snapshot(e) for e in newest_first]

    def clear_failed(self) -> int:
        with self._lock:
            failed, self._failed = self._failed, {}
            for job_id in failed:
                del self._jobs[job_id]
            return len(failed)

    def info(self) -> dict[str, Any]:
        with self._lock:
            self._prune_locked(self._clock())
            return {
                "backend": self.name, "workers": self.workers,
                "queued": len(self._queued), "running": len(self._running), "tracked": len(self._jobs),
            }

    def finished_counts(self) -> dict[str, int]:
        with self._lock:
            return {"completed": self._completed_total, "failed": self._failed_total}

    def health(self) -> str | None:
        return "the memory queue is closed" if self._closed else None

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> None:
        with self._lock:
            if not self._closed:
                self._pool_locked()

    def work(self, stop: Callable[[], bool]) -> None:
        """The pool's threads do the work; this only keeps the caller here until ``stop()``."""
        self.start()
        while not stop():
            time.sleep(_IDLE_STEP)

    def close(self, wait: bool = True) -> None:
        """Stop accepting jobs. ``wait``: run the queued jobs first; else cancel them."""
        with self._lock:
            self._closed = True
            executor, self._executor = self._executor, None
        if executor is None:
            return
        executor.shutdown(wait=wait, cancel_futures=not wait)
        if not wait:
            with self._lock:
                for entry in list(self._queued.values()):
                    if entry.future is not None and entry.future.cancelled():
                        self._finish_locked(entry, JobStatus.CANCELLED)

    # -- helpers --------------------------------------------------------------------------------

    @staticmethod
    def _snapshot(entry: _Entry) -> JobInfo:
        """A copy, so that callers never see (or cause) a half-updated job."""
        return JobInfo(id=entry.id, func_name=entry.func_name, status=entry.status,
                       enqueued_at=_iso(entry.enqueued_at), started_at=_iso(entry.started_at),
                       completed_at=_iso(entry.completed_at), result=entry.result, error=entry.error,
                       meta=dict(entry.meta) if entry.meta else {})

    def _prune_locked(self, now: float) -> None:
        """Drop finished jobs older than the retention, oldest first; amortised O(1) per finished job."""
        finished, cutoff = self._finished, now - self.retention
        while finished and finished[0].finished <= cutoff:
            entry = finished.popleft()
            if self._jobs.get(entry.id) is entry:  # not replaced by a job with the same id, nor cleared
                del self._jobs[entry.id]
                if entry.status is JobStatus.FAILED:
                    self._failed.pop(entry.id, None)


# -- registration (the same hook a third-party driver plugin implements) --------------------------
from sublarr.core.hookspecs import hookimpl  # noqa: E402


@hookimpl
def sublarr_queue_drivers():
    return [MemoryQueue]
