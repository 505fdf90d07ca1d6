"""config domain: application settings stored in ``config_entries`` (legacy ``db/config.py``)."""

from pathlib import Path

from sublarr import __version__
from sublarr.core.domain import Domain, export
from sublarr.core.hookspecs import hookimpl

from .models import ConfigEntry
from .repository import ConfigRepository

__all__ = export("config", ConfigRepository, globals())


@hookimpl
def sublarr_domains():
    return [Domain(name="config", version=__version__, tables=[ConfigEntry.__table__],
                   migrations=Path(__file__).parent / "migrations", repository=ConfigRepository)]
