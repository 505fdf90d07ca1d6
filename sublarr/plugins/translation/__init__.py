"""translation domain: config history, glossary, prompt presets and backend stats
(legacy ``db/translation.py``)."""

from pathlib import Path

from sublarr import __version__
from sublarr.core.domain import Domain, export
from sublarr.core.hookspecs import hookimpl

from .models import GlossaryEntry, PromptPreset, TranslationBackendStats, TranslationConfigHistory
from .repository import GLOSSARY_PROMPT_LIMIT, LAST_ERROR_MAX_LENGTH, TranslationRepository

__all__ = [*export("translation", TranslationRepository, globals()), "GLOSSARY_PROMPT_LIMIT", "LAST_ERROR_MAX_LENGTH"]


@hookimpl
def sublarr_domains():
    tables = [TranslationConfigHistory.__table__, GlossaryEntry.__table__, PromptPreset.__table__,
              TranslationBackendStats.__table__]
    return [Domain(name="translation", version=__version__, tables=tables,
                   migrations=Path(__file__).parent / "migrations", repository=TranslationRepository)]
