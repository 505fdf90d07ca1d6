"""jobs domain: translation jobs and daily translation statistics (legacy ``db/jobs.py``,
tables ``jobs`` and ``daily_stats``).

Job ids are 8 hex digits (``str(uuid4())[:8]``, as legacy); daily statistics are counted per
UTC day with atomic increments.
"""

from pathlib import Path

from sublarr import __version__
from sublarr.core.domain import Domain
from sublarr.core.hookspecs import hookimpl

from . import functions
from .functions import *  # noqa: F403  (the package-level functions: generated, see functions.py)
from .models import daily_stats, jobs
from .repository import JOB_STATUSES, PENDING_STATUSES, TERMINAL_STATUSES, JobsRepository

__all__ = [*functions.__all__, "JOB_STATUSES", "PENDING_STATUSES", "TERMINAL_STATUSES"]


@hookimpl
def sublarr_domains():
    return [Domain(name="jobs", version=__version__, tables=[jobs, daily_stats],
                   legacy_tables=("jobs", "daily_stats"),
                   migrations=Path(__file__).parent / "migrations", repository=JobsRepository)]
