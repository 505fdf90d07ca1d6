"""cache domain: the media-data cache of the legacy ``db/cache.py`` (not the cache *driver*).

ffprobe results per file (``ffprobe_cache``), TVDB -> AniDB id mappings with a sliding TTL
(``anidb_mappings``), a file's download and translation history (read through the providers'
and the jobs' repositories), and a front for the providers' search cache.
"""

from pathlib import Path

from sublarr import __version__
from sublarr.core.domain import Domain
from sublarr.core.hookspecs import hookimpl

from . import functions
from .functions import *  # noqa: F403  (the package-level functions: generated, see functions.py)
from .models import anidb_mappings, ffprobe_cache
from .repository import HISTORY_LIMIT, CacheRepository

__all__ = [*functions.__all__, "HISTORY_LIMIT"]


@hookimpl
def sublarr_domains():
    return [Domain(name="cache", version=__version__,
                   tables=[ffprobe_cache, anidb_mappings],
                   legacy_tables=("ffprobe_cache", "anidb_mappings"),
                   migrations=Path(__file__).parent / "migrations", repository=CacheRepository,
                   requires=("providers", "jobs"))]
