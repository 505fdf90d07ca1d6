"""whisper domain: speech-to-text jobs in ``whisper_jobs`` (legacy ``db/whisper.py``)."""

from pathlib import Path

from sublarr import __version__
from sublarr.core.domain import Domain, export
from sublarr.core.hookspecs import hookimpl

from .models import WhisperJob
from .repository import WhisperRepository

__all__ = export("whisper", WhisperRepository, globals())


@hookimpl
def sublarr_domains():
    return [Domain(name="whisper", version=__version__, tables=[WhisperJob.__table__],
                   migrations=Path(__file__).parent / "migrations", repository=WhisperRepository)]
