from sqlalchemy import Column, Index, Integer, Table, Text

from sublarr.core.models import metadata
from sublarr.core.schema import Real, int_default, legacy_now, text_default

# ``translation_config_history``: each distinct translation configuration (by hash) ever used.
translation_config_history = Table(
    "translation_config_history",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("config_hash", Text, nullable=False, unique=True),
    Column("ollama_model", Text),
    Column("prompt_template", Text),
    Column("target_language", Text),
    Column("first_used_at", Text, nullable=False),
    Column("last_used_at", Text, nullable=False),
    sqlite_autoincrement=True,
)


# ``glossary_entries``: per-series term translations fed to the prompt builder.
glossary_entries = Table(
    "glossary_entries",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("series_id", Integer, nullable=False),
    Column("source_term", Text, nullable=False),
    Column("target_term", Text, nullable=False),
    Column("notes", Text, server_default=text_default("")),
    Column("created_at", Text, nullable=False, server_default=legacy_now()),
    Column("updated_at", Text, nullable=False, server_default=legacy_now()),
    Index("idx_glossary_series_id", "series_id"),
    Index("idx_glossary_source_term", "source_term"),
    sqlite_autoincrement=True,
)


# ``prompt_presets``: named prompt templates; the one with ``is_default = 1`` is used.
prompt_presets = Table(
    "prompt_presets",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", Text, nullable=False, unique=True),
    Column("prompt_template", Text, nullable=False),
    Column("is_default", Integer, server_default=int_default(0)),
    Column("created_at", Text, nullable=False, server_default=legacy_now()),
    Column("updated_at", Text, nullable=False, server_default=legacy_now()),
    sqlite_autoincrement=True,
)


# ``translation_backend_stats``: request counters and response times per translation backend.
translation_backend_stats = Table(
    "translation_backend_stats",
    metadata,
    Column("backend_name", Text, primary_key=True),
    Column("total_requests", Integer, server_default=int_default(0)),
    Column("successful_translations", Integer, server_default=int_default(0)),
    Column("failed_translations", Integer, server_default=int_default(0)),
    Column("total_characters", Integer, server_default=int_default(0)),
    Column("avg_response_time_ms", Real, server_default=int_default(0)),
    Column("last_response_time_ms", Real, server_default=int_default(0)),
    Column("last_success_at", Text),
    Column("last_failure_at", Text),
    Column("last_error", Text, server_default=text_default("")),
    Column("consecutive_failures", Integer, server_default=int_default(0)),
    Column("updated_at", Text, nullable=False, server_default=legacy_now()),
    Index("idx_translation_backend_stats_updated", "updated_at"),
)
