"""wanted domain: subtitles a library scan found missing (legacy ``db/wanted.py``, table ``wanted_items``).

An item's identity is (file_path, target_language, subtitle_type); a unique key enforces it, so
upserts from concurrent scanners never duplicate an item. ``upsert_wanted_items`` upserts a whole
library scan in batched statements.
"""

from pathlib import Path

from sublarr import __version__
from sublarr.core.domain import Domain
from sublarr.core.events import EventType
from sublarr.core.hookspecs import hookimpl

from . import functions
from .functions import *  # noqa: F403  (the package-level functions: generated, see functions.py)
from .metrics import sublarr_metrics  # noqa: F401  (a hook of this plugin)
from .models import wanted_items
from .repository import ITEM_TYPES, STATUSES, WantedRepository

__all__ = [*functions.__all__, "ITEM_TYPES", "STATUSES"]


# The events this domain's features emit (``kernel.emit``); `sublarr events` lists them.
EVENTS = (
    EventType("wanted_scan_complete", "Wanted Scan Complete", "A library scan for wanted subtitles finished",
              ("total_items", "new_items", "removed_items", "duration_ms")),
    EventType("wanted_item_processed", "Wanted Item Processed", "A wanted item was searched or handled",
              ("item_id", "file_path", "status", "language")),
)


@hookimpl
def sublarr_domains():
    return [Domain(name="wanted", version=__version__, tables=[wanted_items],
                   legacy_tables=("wanted_items",),
                   migrations=Path(__file__).parent / "migrations", repository=WantedRepository)]


@hookimpl
def sublarr_events():
    return list(EVENTS)
