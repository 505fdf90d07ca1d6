"""library domain: download history (``subtitle_downloads``, owned by providers) and
``upgrade_history`` (legacy ``db/library.py``)."""

from pathlib import Path

from sublarr import __version__
from sublarr.core.domain import Domain
from sublarr.core.events import EventType
from sublarr.core.hookspecs import hookimpl

from . import functions
from .functions import *  # noqa: F403  (the package-level functions: generated, see functions.py)
from .models import upgrade_history
from .repository import LibraryRepository

__all__ = functions.__all__


# The events this domain's features emit (``kernel.emit``); `sublarr events` lists them.
EVENTS = (
    EventType("upgrade_complete", "Upgrade Complete", "A subtitle was replaced by a better one",
              ("file_path", "old_format", "new_format", "old_score", "new_score", "provider_name")),
)


@hookimpl
def sublarr_domains():
    return [Domain(name="library", version=__version__, tables=[upgrade_history],
                   legacy_tables=("upgrade_history",),
                   migrations=Path(__file__).parent / "migrations", repository=LibraryRepository,
                   requires=("providers",))]


@hookimpl
def sublarr_events():
    return list(EVENTS)
