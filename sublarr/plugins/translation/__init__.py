"""translation domain: config history, glossary, prompt presets and backend stats
(legacy ``db/translation.py``)."""

from pathlib import Path

from sublarr import __version__
from sublarr.core.domain import Domain
from sublarr.core.events import EventType
from sublarr.core.hookspecs import hookimpl

from . import functions
from .functions import *  # noqa: F403  (the package-level functions: generated, see functions.py)
from .models import glossary_entries, prompt_presets, translation_backend_stats, translation_config_history
from .repository import GLOSSARY_PROMPT_LIMIT, LAST_ERROR_MAX_LENGTH, TranslationRepository

__all__ = [*functions.__all__, "GLOSSARY_PROMPT_LIMIT", "LAST_ERROR_MAX_LENGTH"]


# The events this domain's features emit (``kernel.emit``); `sublarr events` lists them.
EVENTS = (
    EventType("translation_complete", "Translation Complete", "A subtitle translation finished",
              ("file_path", "output_path", "source_language", "target_language", "backend_name", "duration_ms")),
    EventType("translation_failed", "Translation Failed", "A subtitle translation failed",
              ("file_path", "error", "backend_name")),
    EventType("batch_complete", "Batch Complete", "A batch of translations finished",
              ("total", "succeeded", "failed", "skipped")),
)


@hookimpl
def sublarr_domains():
    tables = [translation_config_history, glossary_entries, prompt_presets,
              translation_backend_stats]
    return [Domain(name="translation", version=__version__, tables=tables,
                   legacy_tables=("translation_config_history", "glossary_entries", "prompt_presets",
                                  "translation_backend_stats"),
                   migrations=Path(__file__).parent / "migrations", repository=TranslationRepository)]


@hookimpl
def sublarr_events():
    return list(EVENTS)
