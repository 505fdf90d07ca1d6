"""blacklist domain: subtitles the user rejected, in ``blacklist_entries`` (legacy ``db/blacklist.py``).

Legacy functions with their signatures and return shapes; a duplicate
``add_blacklist_entry`` returns the existing entry's id (race-safe) instead of a stale rowid.
"""

from pathlib import Path

from sublarr import __version__
from sublarr.core.domain import Domain
from sublarr.core.hookspecs import hookimpl

from . import functions
from .functions import *  # noqa: F403  (the package-level functions: generated, see functions.py)
from .models import blacklist_entries
from .repository import BlacklistRepository

__all__ = functions.__all__


@hookimpl
def sublarr_domains():
    return [Domain(name="blacklist", version=__version__, tables=[blacklist_entries],
                   legacy_tables=("blacklist_entries",),
                   migrations=Path(__file__).parent / "migrations", repository=BlacklistRepository)]
