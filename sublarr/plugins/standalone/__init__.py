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
from sublarr.core.domain import Domain, run_cleanup
from sublarr.core.events import EventType
from sublarr.core.hookspecs import hookimpl

from . import functions
from .functions import *  # noqa: F403  (the package-level functions: generated, see functions.py)
from .models import metadata_cache, standalone_movies, standalone_series, watched_folders
from .repository import StandaloneRepository

__all__ = functions.__all__


# The events this domain's features emit (``kernel.emit``); `sublarr events` lists them.
EVENTS = (
    EventType("standalone_scan_complete", "Standalone Scan Complete", "A standalone folder scan finished",
              ("folder_id", "path", "series_count", "movie_count", "duration_ms")),
    EventType("standalone_file_detected", "Standalone File Detected", "A new media file appeared in a watched folder",
              ("file_path", "folder_id", "media_type")),
)


@hookimpl
def sublarr_domains():
    return [Domain(name="standalone", version=__version__,
                   tables=[watched_folders, standalone_series, standalone_movies,
                           metadata_cache],
                   legacy_tables=("watched_folders", "standalone_series", "standalone_movies", "metadata_cache"),
                   migrations=Path(__file__).parent / "migrations", repository=StandaloneRepository,
                   requires=("cache",))]


@hookimpl
def sublarr_events():
    return list(EVENTS)


@hookimpl
def sublarr_maintenance(kernel):
    """Expired metadata-cache rows go (in `sublarr run`, every ``maintenance_interval_seconds``); only data
    that can no longer be served is removed."""
    run_cleanup(kernel, "standalone", "clear_expired_metadata_cache")
