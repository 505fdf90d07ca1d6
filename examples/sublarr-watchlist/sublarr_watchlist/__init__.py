"""sublarr-watchlist: follow folders of your library and count the subtitles that arrive for them.

The package-level functions act on the active kernel, like the built-in domains::

    from sublarr_watchlist import add_watch, get_watchlist
"""

from sublarr.core.domain import export

from .repository import WatchlistRepository

__version__ = "1.0.0"
__all__ = export("watchlist", WatchlistRepository, globals())
