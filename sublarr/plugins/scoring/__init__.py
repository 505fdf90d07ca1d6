"""scoring domain: score-weight overrides and per-provider modifiers (legacy ``db/scoring.py``).

Tables ``scoring_weights`` (overrides of the built-in weights, per ``score_type``) and
``provider_score_modifiers``. The built-in weights are the module constants
``_DEFAULT_EPISODE_WEIGHTS`` / ``_DEFAULT_MOVIE_WEIGHTS`` (legacy names, imported by the app's
routes), also public as ``DEFAULT_EPISODE_WEIGHTS`` / ``DEFAULT_MOVIE_WEIGHTS``.
"""

from pathlib import Path

from sublarr import __version__
from sublarr.core.domain import Domain
from sublarr.core.hookspecs import hookimpl

from . import functions
from .functions import *  # noqa: F403  (the package-level functions: generated, see functions.py)
from .models import provider_score_modifiers, scoring_weights
from .repository import (
    _DEFAULT_EPISODE_WEIGHTS,
    _DEFAULT_MOVIE_WEIGHTS,
    DEFAULT_EPISODE_WEIGHTS,
    DEFAULT_MOVIE_WEIGHTS,
    ScoringRepository,
)

__all__ = [
    *functions.__all__,
    "DEFAULT_EPISODE_WEIGHTS",
    "DEFAULT_MOVIE_WEIGHTS",
    "_DEFAULT_EPISODE_WEIGHTS",
    "_DEFAULT_MOVIE_WEIGHTS",
]


@hookimpl
def sublarr_domains():
    return [Domain(name="scoring", version=__version__,
                   tables=[scoring_weights, provider_score_modifiers],
                   legacy_tables=("scoring_weights", "provider_score_modifiers"),
                   migrations=Path(__file__).parent / "migrations", repository=ScoringRepository)]
