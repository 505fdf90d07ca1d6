"""whisper domain: speech-to-text jobs in ``whisper_jobs`` (legacy ``db/whisper.py``)."""

from pathlib import Path

from sublarr import __version__
from sublarr.core.domain import Domain
from sublarr.core.events import EventType
from sublarr.core.hookspecs import hookimpl

from . import functions
from .functions import *  # noqa: F403  (the package-level functions: generated, see functions.py)
from .models import whisper_jobs
from .repository import WhisperRepository

__all__ = functions.__all__


# The events this domain's features emit (``kernel.emit``); `sublarr events` lists them.
EVENTS = (
    EventType("whisper_complete", "Whisper Complete", "A Whisper transcription finished",
              ("job_id", "file_path", "language", "segment_count", "duration_seconds")),
    EventType("whisper_failed", "Whisper Failed", "A Whisper transcription failed", ("job_id", "file_path", "error")),
)


@hookimpl
def sublarr_domains():
    return [Domain(name="whisper", version=__version__, tables=[whisper_jobs],
                   legacy_tables=("whisper_jobs",),
                   migrations=Path(__file__).parent / "migrations", repository=WhisperRepository)]


@hookimpl
def sublarr_events():
    return list(EVENTS)
