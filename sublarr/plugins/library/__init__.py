"""library domain: download history (``subtitle_downloads``, owned by providers) and
``upgrade_history`` (legacy ``db/library.py``)."""

from pathlib import Path

from sublarr import __version__
from sublarr.core.domain import Domain, export
from sublarr.core.hookspecs import hookimpl

from .models import UpgradeHistory
from .repository import LibraryRepository

__all__ = export("library", LibraryRepository, globals())


@hookimpl
def sublarr_domains():
    return [Domain(name="library", version=__version__, tables=[UpgradeHistory.__table__],
                   migrations=Path(__file__).parent / "migrations", repository=LibraryRepository,
                   requires=("providers",))]
