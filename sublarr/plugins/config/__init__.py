"""config domain: application settings stored in ``config_entries`` (legacy ``db/config.py``)."""

from pathlib import Path

from sublarr import __version__
from sublarr.core.domain import Domain
from sublarr.core.events import EventType
from sublarr.core.hookspecs import hookimpl

from . import functions
from .functions import *  # noqa: F403  (the package-level functions: generated, see functions.py)
from .models import config_entries
from .repository import ConfigRepository

__all__ = functions.__all__


# The events this domain's features emit (``kernel.emit``); `sublarr events` lists them.
EVENTS = (
    EventType("config_updated", "Config Updated", "Settings were changed", ("keys",)),
)


@hookimpl
def sublarr_domains():
    return [Domain(name="config", version=__version__, tables=[config_entries],
                   legacy_tables=("config_entries",),
                   migrations=Path(__file__).parent / "migrations", repository=ConfigRepository)]


@hookimpl
def sublarr_events():
    return list(EVENTS)
