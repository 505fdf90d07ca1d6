"""Where the ``sublarr`` processes log: stderr always, and a size-rotated file with ``log_file``.

Both handlers share one formatter that scrubs every registered secret from the finished line,
traceback included (:mod:`sublarr.core.secrets`), so the file holds exactly what stderr shows.
The lines logged while the settings load (unknown settings, plugins that failed), before the
file is known, are kept in a ``MemoryHandler`` and written to the file when it opens.

A new log file is created with mode 0600: it can hold host names, user names, paths and the
error text of providers and webhook receivers, which other local users have no business reading.
A file that exists keeps its mode, and after a rotation the new file takes the mode of the one it
replaces, so a ``chmod 640`` for a log shipper's group survives rotation.
"""

from __future__ import annotations

import logging
import os
import stat
import sys
from logging.handlers import MemoryHandler, RotatingFileHandler
from pathlib import Path
from typing import TYPE_CHECKING

from sublarr.core.errors import SettingsError
from sublarr.core.secrets import scrub

if TYPE_CHECKING:
    from sublarr.core.settings import Settings

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class ScrubbingFormatter(logging.Formatter):
    """The log line with every registered secret replaced by ``***`` (message, arguments, traceback)."""

    def format(self, record: logging.LogRecord) -> str:
        return scrub(super().format(record))


class LogFile(RotatingFileHandler):
    """``RotatingFileHandler`` that creates its file 0600 and keeps a file's mode across rotations."""

    def __init__(self, filename: str | os.PathLike, max_bytes: int, backup_count: int):
        self._create_mode = 0o600
        super().__init__(filename, maxBytes=max_bytes, backupCount=backup_count, encoding="utf-8")

    def doRollover(self) -> None:
        try:
            self._create_mode = stat.S_IMODE(os.stat(self.baseFilename).st_mode)
        except OSError:
            pass
        super().doRollover()

    def _open(self):
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_APPEND | os.O_CREAT, self._create_mode)
        return open(fd, self.mode, encoding=self.encoding, errors=self.errors)


_formatter = ScrubbingFormatter(FORMAT)


def _replace(handler: logging.Handler, kind: type[logging.Handler]) -> None:
    """Install ``handler`` on the root logger instead of an earlier one of ``kind`` (``main()`` may run
    more than once in a process, e.g. under click's test runner)."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if type(h) is kind]:
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)


def setup_logging(level: str = "WARNING") -> None:
    """stderr at ``level`` (``run`` and ``worker`` raise it to the ``log_level`` setting)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_formatter)
    _replace(handler, logging.StreamHandler)
    logging.getLogger().setLevel(getattr(logging, level, logging.WARNING))
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # until log_to_file(): no target, so nothing is flushed; startup logs a handful of lines at most
    _replace(MemoryHandler(capacity=1000, flushLevel=logging.CRITICAL + 1), MemoryHandler)


def log_to_file(settings: Settings | None) -> LogFile | None:
    """Add the ``log_file`` handler (same level and formatter as stderr) and write the lines logged
    since :func:`setup_logging` into it; None when the setting is empty (or the settings are bad).

    The file is opened here, so a command that cannot write it stops before doing anything."""
    root = logging.getLogger()
    early = [h for h in root.handlers if type(h) is MemoryHandler]
    for buffer in early:
        root.removeHandler(buffer)
    handler = None
    if settings is not None and settings.log_file:
        path = Path(settings.log_file).expanduser()
        try:
            handler = LogFile(path, int(settings.log_max_bytes), int(settings.log_backup_count))
        except OSError as exc:
            raise SettingsError("log_file", f"{path} cannot be opened: {exc.strerror or exc}") from None
        handler.setFormatter(_formatter)
        _replace(handler, LogFile)
    for buffer in early:
        buffer.setTarget(handler)
        buffer.close()  # flushes into the file (when there is one) and empties the buffer
    return handler
