"""Exceptions the kernel raises at its edges."""


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
