from sqlalchemy import Index, Integer, Text
from sqlalchemy.orm import Mapped, mapped_column

from sublarr.core.models import Base
from sublarr.core.schema import Real, int_default, legacy_now, text_default


class TranslationConfigHistory(Base):
    """``translation_config_history``: each distinct translation configuration (by hash) ever used."""

    __tablename__ = "translation_config_history"
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    config_hash: Mapped[str] = mapped_column(Text, nullable=False, unique=True)
    ollama_model: Mapped[str | None] = mapped_column(Text)
    prompt_template: Mapped[str | None] = mapped_column(Text)
    target_language: Mapped[str | None] = mapped_column(Text)
    first_used_at: Mapped[str] = mapped_column(Text, nullable=False)
    last_used_at: Mapped[str] = mapped_column(Text, nullable=False)


class GlossaryEntry(Base):
    """``glossary_entries``: per-series term translations fed to the prompt builder."""

    __tablename__ = "glossary_entries"
    __table_args__ = (
        Index("idx_glossary_series_id", "series_id"),
        Index("idx_glossary_source_term", "source_term"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    series_id: Mapped[int] = mapped_column(Integer, nullable=False)
    source_term: Mapped[str] = mapped_column(Text, nullable=False)
    target_term: Mapped[str] = mapped_column(Text, nullable=False)
    notes: Mapped[str | None] = mapped_column(Text, server_default=text_default(""))
    created_at: Mapped[str] = mapped_column(Text, nullable=False, server_default=legacy_now())
    updated_at: Mapped[str] = mapped_column(Text, nullable=False, server_default=legacy_now())


class PromptPreset(Base):
    """``prompt_presets``: named prompt templates; the one with ``is_default = 1`` is used."""

    __tablename__ = "prompt_presets"
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(Text, nullable=False, unique=True)
    prompt_template: Mapped[str] = mapped_column(Text, nullable=False)
    is_default: Mapped[int | None] = mapped_column(Integer, server_default=int_default(0))
    created_at: Mapped[str] = mapped_column(Text, nullable=False, server_default=legacy_now())
    updated_at: Mapped[str] = mapped_column(Text, nullable=False, server_default=legacy_now())


class TranslationBackendStats(Base):
    """``translation_backend_stats``: request counters and response times per translation backend."""

    __tablename__ = "translation_backend_stats"
    __table_args__ = (Index("idx_translation_backend_stats_updated", "updated_at"),)

    backend_name: Mapped[str] = mapped_column(Text, primary_key=True)
    total_requests: Mapped[int | None] = mapped_column(Integer, server_default=int_default(0))
    successful_translations: Mapped[int | None] = mapped_column(Integer, server_default=int_default(0))
    failed_translations: Mapped[int | None] = mapped_column(Integer, server_default=int_default(0))
    total_characters: Mapped[int | None] = mapped_column(Integer, server_default=int_default(0))
    avg_response_time_ms: Mapped[float | None] = mapped_column(Real, server_default=int_default(0))
    last_response_time_ms: Mapped[float | None] = mapped_column(Real, server_default=int_default(0))
    last_success_at: Mapped[str | None] = mapped_column(Text)
    last_failure_at: Mapped[str | None] = mapped_column(Text)
    last_error: Mapped[str | None] = mapped_column(Text, server_default=text_default(""))
    consecutive_failures: Mapped[int | None] = mapped_column(Integer, server_default=int_default(0))
    updated_at: Mapped[str] = mapped_column(Text, nullable=False, server_default=legacy_now())
