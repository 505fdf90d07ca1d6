"""profiles domain: language profiles and their series/movie assignments (legacy ``db/profiles.py``).

Tables ``language_profiles``, ``series_language_profiles``, ``movie_language_profiles``;
asks the wanted domain's repository for :func:`get_series_missing_counts`. Legacy names
(``create_language_profile`` ...) and repository names (``create_profile`` ...) are one
implementation. Fixes: a fresh database has the "Default" profile built from the language
settings; deleting a profile removes its assignments (ON DELETE CASCADE, enforced); assigning
an unknown profile id raises ValueError.
"""

from pathlib import Path

from sublarr import __version__
from sublarr.core.domain import Domain
from sublarr.core.hookspecs import hookimpl

from . import functions
from .functions import *  # noqa: F403  (the package-level functions: generated, see functions.py)
from .models import language_profiles, movie_language_profiles, series_language_profiles
from .repository import VALID_FORCED_PREFERENCES, ProfilesRepository

__all__ = [*functions.__all__, "VALID_FORCED_PREFERENCES"]


@hookimpl
def sublarr_domains():
    return [Domain(name="profiles", version=__version__,
                   tables=[language_profiles, series_language_profiles,
                           movie_language_profiles],
                   legacy_tables=("language_profiles", "series_language_profiles", "movie_language_profiles"),
                   migrations=Path(__file__).parent / "migrations", repository=ProfilesRepository,
                   requires=("wanted",))]  # get_series_missing_counts reads through its repository
