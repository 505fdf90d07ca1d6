"""Exceptions the kernel raises at its edges."""

import sqlite3


class SublarrError(Exception):
    """Base class: a failure the CLI reports in one line (exit status 1)."""


class SettingsError(SublarrError):
    """A bad setting. Boot stops; the CLI exits with status 2.

    The message always names the setting and never contains a secret.
    """

    def __init__(self, setting: str, problem: str):
        self.setting = setting
        self.problem = problem
        super().__init__(f"setting '{setting}': {problem}")


class DatabaseMissing(SublarrError):
    """The configured database does not exist and may not be created here. The message says which
    database (file) would have been created; the kernel reports it against the setting that names it."""


class NoActiveKernel(SublarrError):
    """A domain function was called before any kernel was booted."""

    def __init__(self) -> None:
        super().__init__(
            "no active sublarr kernel: call sublarr.Kernel.boot() before using the domain functions"
        )


class QueueUnavailable(SublarrError):
    """The queue backend cannot accept the job (fail closed: nothing is silently dropped)."""


class MigrationError(SublarrError):
    """Schema migration failed or left the database at an unexpected revision."""


class DuplicateError(ValueError, sqlite3.IntegrityError):
    """A row with this unique key exists already; nothing was written.

    A ``ValueError`` for new code, and for code written against the legacy sqlite3 data layer the
    ``sqlite3.IntegrityError`` it raised, with SQLite's own message first (``UNIQUE constraint
    failed: <table>.<column>``: legacy routes test ``"UNIQUE constraint" in str(e)`` to answer
    HTTP 409) and SQLite's error code, whatever the storage engine.
    """

    sqlite_errorcode = 2067  # SQLITE_CONSTRAINT_UNIQUE
    sqlite_errorname = "SQLITE_CONSTRAINT_UNIQUE"

    def __init__(self, table: str, column: str, detail: str = ""):
        self.table = table
        self.column = column
        self.detail = detail
        message = f"UNIQUE constraint failed: {table}.{column}"
        super().__init__(f"{message} ({detail})" if detail else message)

    def __reduce__(self):  # pickled by queues and process pools: rebuild from the fields
        return type(self), (self.table, self.column, self.detail)
