"""In-process job queue: a thread pool, used when there is no Redis. Jobs are lost on exit.

The legacy queue deadlocked in ``cancel_job``: it held its lock while ``Future.cancel()``
ran a done-callback that took the same lock. Here no done-callbacks exist at all: the
wrapper that runs a job records its own status changes, and ``cancel_job`` only flips the
status under the lock (``Future.cancel()`` is called after the lock is released). The
wrapper re-checks the status under the lock before it starts, so a job cancelled while a
thread was picking it up never runs.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from sublarr.core.errors import QueueUnavailable
from sublarr.core.timeutil import now_iso
from sublarr.drivers.base import TERMINAL_STATUSES, JobInfo, JobStatus, QueueDriver

if TYPE_CHECKING:
    from sublarr.core.settings import Settings

log = logging.getLogger("sublarr.queue.memory")

_IDLE_STEP = 0.2  # seconds between two looks at stop() in work()


@dataclasses.dataclass
class _Entry:
    info: JobInfo
    future: Future | None = None
    finished: float = 0.0  # time.monotonic() when the job reached a terminal status (for pruning)


def _func_name(func: Callable[..., Any]) -> str:
    """``module.qualname`` like RQ's ``func_name``, so both queues show the same names."""
    target = getattr(func, "func", func)  # functools.partial
    qualname = getattr(target, "__qualname__", None) or type(target).__qualname__
    module = getattr(target, "__module__", None)
    return f"{module}.{qualname}" if module else qualname


def _error_text(exc: BaseException) -> str:
    message = str(exc)
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


class MemoryQueue(QueueDriver):
    name = "memory"
    description = "in-process thread pool (jobs are not persistent)"

    @classmethod
    def auto_rank(cls, settings: Settings) -> int | None:
        return 0  # always possible; any driver that ranks higher wins

    def __init__(self, settings: Settings):
        super().__init__(settings)
        self.workers: int = settings.queue_workers
        self.retention: float = settings.queue_job_retention_seconds
        self._lock = threading.Lock()
        self._jobs: dict[str, _Entry] = {}
        self._executor: ThreadPoolExecutor | None = None
        self._closed = False
        self._last_prune = time.monotonic()
        # Pruning walks every tracked job; do it at most this often (but always when retention is 0).
        self._prune_interval = min(1.0, self.retention / 10)

    # -- submitting -----------------------------------------------------------------------------

    def enqueue(self, func: Callable[..., Any], *args: Any, job_id: str | None = None, **kwargs: Any) -> str:
        if not callable(func):
            raise TypeError(f"enqueue needs a callable, got {type(func).__name__}")
        with self._lock:
            if self._closed:
                raise QueueUnavailable("the memory queue is closed: job not enqueued")
            self._prune_locked()
            job_id = job_id or uuid.uuid4().hex[:12]
            existing = self._jobs.get(job_id)
            if existing is not None and existing.info.status not in TERMINAL_STATUSES:
                raise ValueError(f"job id {job_id!r} is already {existing.info.status}")
            entry = _Entry(JobInfo(id=job_id, func_name=_func_name(func), status=JobStatus.QUEUED,
                                   enqueued_at=now_iso()))
            self._jobs[job_id] = entry
            # submit() under our lock is safe: the executor never calls back into this object.
            entry.future = self._pool_locked().submit(self._run, entry, func, args, kwargs)
        return job_id

    def _run(self, entry: _Entry, func: Callable[..., Any], args: tuple, kwargs: dict) -> None:
        info = entry.info
        with self._lock:
            if info.status is not JobStatus.QUEUED:  # cancelled while this thread picked it up
                return
            info.status = JobStatus.RUNNING
            info.started_at = now_iso()
        try:
            result = func(*args, **kwargs)
        except BaseException as exc:  # a job's failure is data, whatever it raised
            error, trace = _error_text(exc), traceback.format_exc()
            log.warning("job %s (%s) failed: %s", info.id, info.func_name, error)
            with self._lock:
                self._finish_locked(entry, JobStatus.FAILED, error=error)
                info.meta["traceback"] = trace
        else:
            with self._lock:
                self._finish_locked(entry, JobStatus.COMPLETED, result=result)

    def _finish_locked(self, entry: _Entry, status: JobStatus, result: Any = None, error: str | None = None) -> None:
        entry.info.status = status
        entry.info.completed_at = now_iso()
        entry.info.result = result
        entry.info.error = error
        entry.finished = time.monotonic()

    def _pool_locked(self) -> ThreadPoolExecutor:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="sublarr-queue")
        return self._executor

    # -- reading and managing -------------------------------------------------------------------

    def get_job(self, job_id: str) -> JobInfo | None:
        with self._lock:
            self._prune_locked()
            entry = self._jobs.get(job_id)
            return self._snapshot(entry) if entry is not None else None

    def cancel_job(self, job_id: str) -> bool:
        with self._lock:
            entry = self._jobs.get(job_id)
            if entry is None or entry.info.status is not JobStatus.QUEUED:
                return False
            self._finish_locked(entry, JobStatus.CANCELLED)
            future = entry.future
        # Outside the lock (the legacy deadlock); if a thread already took the job, cancel()
        # returns False and _run() sees CANCELLED and skips it.
        if future is not None:
            future.cancel()
        return True

    def queue_length(self) -> int:
        return self._count(JobStatus.QUEUED)

    def active_jobs(self) -> list[JobInfo]:
        with self._lock:
            return [self._snapshot(e) for e in self._jobs.values() if e.info.status is JobStatus.RUNNING]

    def failed_jobs(self, limit: int = 50) -> list[JobInfo]:
        with self._lock:
            self._prune_locked()
            failed = [e for e in self._jobs.values() if e.info.status is JobStatus.FAILED]
            failed.sort(key=lambda e: e.finished, reverse=True)
            return [self._snapshot(e) for e in failed[:max(limit, 0)]]

    def clear_failed(self) -> int:
        with self._lock:
            doomed = [job_id for job_id, e in self._jobs.items() if e.info.status is JobStatus.FAILED]
            for job_id in doomed:
                del self._jobs[job_id]
            return len(doomed)

    def info(self) -> dict[str, Any]:
        with self._lock:
            self._prune_locked()
            statuses = [e.info.status for e in self._jobs.values()]
        return {
            "backend": self.name, "workers": self.workers,
            "queued": statuses.count(JobStatus.QUEUED), "running": statuses.count(JobStatus.RUNNING),
            "tracked": len(statuses),
        }

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
                for entry in self._jobs.values():
                    if entry.info.status is JobStatus.QUEUED and entry.future is not None and entry.future.cancelled():
                        self._finish_locked(entry, JobStatus.CANCELLED)

    # -- helpers --------------------------------------------------------------------------------

    def _count(self, status: JobStatus) -> int:
        with self._lock:
            return sum(1 for e in self._jobs.values() if e.info.status is status)

    @staticmethod
    def _snapshot(entry: _Entry) -> JobInfo:
        """A copy, so that callers never see (or cause) a half-updated job."""
        return dataclasses.replace(entry.info, meta=dict(entry.info.meta))

    def _prune_locked(self) -> None:
        now = time.monotonic()
        if now - self._last_prune < self._prune_interval:
            return
        self._last_prune = now
        cutoff = now - self.retention
        expired = [job_id for job_id, e in self._jobs.items()
                   if e.info.status in TERMINAL_STATUSES and e.finished <= cutoff]
        for job_id in expired:
            del self._jobs[job_id]


# -- registration (the same hook a third-party driver plugin implements) --------------------------
from sublarr.core.hookspecs import hookimpl  # noqa: E402


@hookimpl
def sublarr_queue_drivers():
    return [MemoryQueue]
