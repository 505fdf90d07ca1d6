"""providers domain: provider search cache, download history and statistics (legacy ``db/providers.py``).

Tables ``provider_cache``, ``subtitle_downloads`` (read by the library and cache domains) and
``provider_stats``. Legacy names and repository names live side by side, one implementation
where they mean the same (``is_provider_auto_disabled`` = ``is_auto_disabled``,
``save_cache_results`` = ``cache_provider_results``). Counters are computed in SQL, so
concurrent writers lose no update; caching a (provider, query) again replaces its entry.
"""

from pathlib import Path

from sublarr import __version__
from sublarr.core.domain import Domain, export
from sublarr.core.hookspecs import hookimpl

from .metrics import sublarr_metrics  # noqa: F401  (a hook of this plugin)
from .models import ProviderCache, ProviderStats, SubtitleDownload
from .repository import ProvidersRepository

__all__ = export("providers", ProvidersRepository, globals())


@hookimpl
def sublarr_domains():
    return [Domain(name="providers", version=__version__,
                   tables=[ProviderCache.__table__, SubtitleDownload.__table__, ProviderStats.__table__],
                   migrations=Path(__file__).parent / "migrations", repository=ProvidersRepository)]
