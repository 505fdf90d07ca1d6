"""standalone domain: watched folders, standalone series and movies, and the metadata cache
(legacy ``db/standalone.py``).

Tables ``watched_folders``, ``standalone_series``, ``standalone_movies`` and ``metadata_cache``.
Both name sets exist (legacy ``upsert_watched_folder``, ``cache_metadata``, ``cleanup_expired_cache``
...; repository ``create_watched_folder``, ``save_metadata_cache``, ``clear_expired_metadata_cache``
...); where a name is shared, the legacy return shape is kept (see :mod:`.repository`). The AniDB
functions delegate to the ``cache`` domain, which owns ``anidb_mappings``.
"""

from pathlib import Path

from sublarr import __version__
from sublarr.core.domain import Domain, export
from sublarr.core.hookspecs import hookimpl

from .models import MetadataCache, StandaloneMovie, StandaloneSeries, WatchedFolder
from .repository import StandaloneRepository

__all__ = export("standalone", StandaloneRepository, globals())


@hookimpl
def sublarr_domains():
    return [Domain(name="standalone", version=__version__,
                   tables=[WatchedFolder.__table__, StandaloneSeries.__table__, StandaloneMovie.__table__,
                           MetadataCache.__table__],
                   migrations=Path(__file__).parent / "migrations", repository=StandaloneRepository,
                   requires=("cache",))]
