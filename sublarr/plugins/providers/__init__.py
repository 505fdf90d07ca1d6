"""providers domain: provider search cache, download history and statistics (legacy ``db/providers.py``).

Tables ``provider_cache``, ``subtitle_downloads`` (the library and cache domains read it through
this repository) and ``provider_stats``. Legacy names and repository names live side by side, one implementation
where they mean the same (``is_provider_auto_disabled`` = ``is_auto_disabled``,
``save_cache_results`` = ``cache_provider_results``). Counters are computed in SQL, so
concurrent writers lose no update; caching a (provider, query) again replaces its entry.
"""

from pathlib import Path

from sublarr import __version__
from sublarr.core.domain import Domain, run_cleanup
from sublarr.core.events import EventType
from sublarr.core.hookspecs import hookimpl

from . import functions
from .functions import *  # noqa: F403  (the package-level functions: generated, see functions.py)
from .metrics import sublarr_metrics  # noqa: F401  (a hook of this plugin)
from .models import provider_cache, provider_stats, subtitle_downloads
from .repository import ProvidersRepository

__all__ = functions.__all__


# The events this domain's features emit (``kernel.emit``); `sublarr events` lists them.
EVENTS = (
    EventType("subtitle_downloaded", "Subtitle Downloaded", "A subtitle was downloaded from a provider",
              ("provider_name", "language", "format", "file_path", "score", "subtitle_id")),
    EventType("provider_search_complete", "Provider Search Complete", "A provider search returned",
              ("file_path", "provider_name", "result_count", "duration_ms")),
    EventType("provider_failed", "Provider Failed", "A provider search or download failed",
              ("provider_name", "error", "consecutive_failures")),
)


@hookimpl
def sublarr_domains():
    return [Domain(name="providers", version=__version__,
                   tables=[provider_cache, subtitle_downloads, provider_stats],
                   legacy_tables=("provider_cache", "subtitle_downloads", "provider_stats"),
                   migrations=Path(__file__).parent / "migrations", repository=ProvidersRepository)]


@hookimpl
def sublarr_events():
    return list(EVENTS)


@hookimpl
def sublarr_maintenance(kernel):
    """Expired search-cache rows go (in `sublarr run`, every ``maintenance_interval_seconds``); only data
    that can no longer be served is removed."""
    run_cleanup(kernel, "providers", "cleanup_expired_cache")
