"""Scheduled backups in ``sublarr run``: every ``backup_interval_hours`` (0 = off), in a thread.

The backup is the one ``sublarr db backup`` takes (:func:`sublarr.core.backup.backup`: the storage
driver's consistent copy, a manifest, ``backup_retention``). The schedule follows the newest
complete backup in ``backup_dir``, whoever took it: a restart does not take another one, the next
comes one interval after the last (at once when there is none). A backup that fails is logged and
tried again after at most an hour. When the storage driver cannot back up here (``pg_dump`` or
``mariadb-dump`` missing from PATH) the schedule is off: one warning at start and a readiness note.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import Counter
from datetime import timezone
from typing import TYPE_CHECKING

from sublarr.core.secrets import scrub
from sublarr.core.timeutil import parse

if TYPE_CHECKING:
    from sublarr.core.kernel import Kernel

log = logging.getLogger("sublarr.backup")

RETRY_SECONDS = 3600.0  # after a failed backup, at most this long until the next try
MAX_WAIT = 60.0  # the thread looks at the wall clock at least this often (clock changes, suspend)


class LastBackup:
    """When the newest complete backup in a folder was made (Unix time), read again only when the
    folder changes (its mtime): cheap enough for every scrape of ``/metrics``."""

    def __init__(self, directory: os.PathLike | str):
        self.directory = directory
        self._lock = threading.Lock()
        self._mtime: int | None = None
        self._value: float | None = None

    def time(self) -> float | None:
        try:
            mtime = os.stat(self.directory).st_mtime_ns
        except OSError:
            return None
        with self._lock:
            if mtime != self._mtime:
                from sublarr.core.backup import list_backups  # on use: `sublarr status` needs none of it

                found = list_backups(self.directory)
                moment = parse(found[0][1].created_at) if found else None
                self._value = moment.replace(tzinfo=timezone.utc).timestamp() if moment else None
                self._mtime = mtime
            return self._value


def backup_problem(kernel: Kernel) -> str | None:
    """Why scheduled backups cannot run on this kernel (None when they can, or when they are off)."""
    if not float(kernel.settings.backup_interval_hours):
        return None
    problem = kernel.storage.backup_tools()
    return f"scheduled backups are off: {scrub(problem)}" if problem else None


class BackupSchedule:
    """The backup thread of ``sublarr run``; ``stop`` (an Event) ends it between two backups."""

    def __init__(self, kernel: Kernel, stop: threading.Event):
        self.kernel = kernel
        self.stop = stop
        self.interval = float(kernel.settings.backup_interval_hours) * 3600
        from sublarr.core.backup import backup_directory

        self.last = LastBackup(backup_directory(kernel))
        self.problem = backup_problem(kernel)
        self.outcomes: Counter[str] = Counter()  # scheduled backups since start: success / failure
        self._thread: threading.Thread | None = None

    @property
    def enabled(self) -> bool:
        return bool(self.interval) and self.problem is None

    def start(self) -> None:
        if self.problem:
            log.warning("%s", self.problem)
        if not self.enabled:
            return
        self._thread = threading.Thread(target=self._run, name="sublarr-backup", daemon=True)
        self._thread.start()
        log.info("scheduled backups every %g h into %s", self.interval / 3600, self.last.directory)

    def join(self, timeout: float | None = None) -> None:
        """Wait for the thread (a backup under way is finished first)."""
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        retry_at: float | None = None
        while not self.stop.is_set():
            last = self.last.time()
            due = last + self.interval if last is not None else time.time()
            if retry_at is not None:  # after a failure: not before the retry (nor the next regular one)
                due = max(due, retry_at)
            wait = due - time.time()
            if wait > 0:
                self.stop.wait(min(wait, MAX_WAIT))
                continue
            retry_at = None if self._backup() else time.time() + min(self.interval, RETRY_SECONDS)

    def _backup(self) -> bool:
        try:
            from sublarr.core.backup import backup

            result = backup(self.kernel, note="scheduled (backup_interval_hours)")
        except Exception as exc:
            self.outcomes["failure"] += 1
            text = str(exc).strip().splitlines()
            log.error("scheduled backup failed: %s", scrub(text[0] if text else type(exc).__name__))
            return False
        self.outcomes["success"] += 1  # core.backup logged the file; retention is worth a line too
        if result.pruned:
            log.info("removed %d old backup(s) (backup_retention): %s", len(result.pruned),
                     ", ".join(p.name for p in result.pruned))
        return True
