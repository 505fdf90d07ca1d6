"""wanted domain: subtitles a library scan found missing (legacy ``db/wanted.py``, table ``wanted_items``).

An item's identity is (file_path, target_language, subtitle_type); a unique key enforces it, so
upserts from concurrent scanners never duplicate an item. ``upsert_wanted_items`` upserts a whole
library scan in batched statements.
"""

from pathlib import Path

from sublarr import __version__
from sublarr.core.domain import Domain, export
from sublarr.core.hookspecs import hookimpl

from .metrics import sublarr_metrics  # noqa: F401  (a hook of this plugin)
from .models import WantedItem
from .repository import ITEM_TYPES, STATUSES, WantedRepository

__all__ = [*export("wanted", WantedRepository, globals()), "ITEM_TYPES", "STATUSES"]


@hookimpl
def sublarr_domains():
    return [Domain(name="wanted", version=__version__, tables=[WantedItem.__table__],
                   migrations=Path(__file__).parent / "migrations", repository=WantedRepository)]
