"""Provider search cache, download history and per-provider statistics at head.

Columns are in the legacy physical order. ``provider_stats`` follows the legacy SCHEMA order
of a fresh database (the four columns that ``_run_migrations`` could also append sit before
``updated_at``); rows are always selected by column name, so an adopted database whose
physical order differs gives the same dicts. providers_0002 made ``idx_provider_cache_hash``
unique (one entry per provider and query), providers_0003 indexed ``downloaded_at``.
"""

from sqlalchemy import Index, Integer, Text
from sqlalchemy.orm import Mapped, mapped_column

from sublarr.core.models import Base
from sublarr.core.schema import Real, Timestamp, int_default, legacy_now, text_default


class ProviderCache(Base):
    __tablename__ = "provider_cache"
    __table_args__ = (
        Index("idx_provider_cache_hash", "provider_name", "query_hash", unique=True),
        Index("idx_provider_cache_expires", "expires_at"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    provider_name: Mapped[str] = mapped_column(Text, nullable=False)
    query_hash: Mapped[str] = mapped_column(Text, nullable=False)
    results_json: Mapped[str] = mapped_column(Text, nullable=False)
    cached_at: Mapped[str] = mapped_column(Text, nullable=False)
    expires_at: Mapped[str] = mapped_column(Text, nullable=False)


class SubtitleDownload(Base):
    __tablename__ = "subtitle_downloads"
    __table_args__ = (
        Index("idx_subtitle_downloads_path", "file_path"),
        Index("idx_subtitle_downloads_downloaded_at", "downloaded_at"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    provider_name: Mapped[str] = mapped_column(Text, nullable=False)
    subtitle_id: Mapped[str] = mapped_column(Text, nullable=False)
    language: Mapped[str] = mapped_column(Text, nullable=False)
    format: Mapped[str | None] = mapped_column(Text, server_default=text_default(""))
    file_path: Mapped[str] = mapped_column(Text, nullable=False)
    score: Mapped[int | None] = mapped_column(Integer, server_default=int_default(0))
    downloaded_at: Mapped[str] = mapped_column(Timestamp, nullable=False)  # VARCHAR on MariaDB since providers_0004
    # -- added by the legacy _run_migrations (ALTER TABLE ... ADD COLUMN), hence last --
    subtitle_type: Mapped[str | None] = mapped_column(Text, server_default=text_default("full"))


class ProviderStats(Base):
    __tablename__ = "provider_stats"
    __table_args__ = (Index("idx_provider_stats_updated", "updated_at"),)

    provider_name: Mapped[str] = mapped_column(Text, primary_key=True)
    total_searches: Mapped[int | None] = mapped_column(Integer, server_default=int_default(0))
    successful_downloads: Mapped[int | None] = mapped_column(Integer, server_default=int_default(0))
    failed_downloads: Mapped[int | None] = mapped_column(Integer, server_default=int_default(0))
    avg_score: Mapped[float | None] = mapped_column(Real, server_default=int_default(0))
    last_success_at: Mapped[str | None] = mapped_column(Text)
    last_failure_at: Mapped[str | None] = mapped_column(Text)
    consecutive_failures: Mapped[int | None] = mapped_column(Integer, server_default=int_default(0))
    avg_response_time_ms: Mapped[float | None] = mapped_column(Real, server_default=int_default(0))
    last_response_time_ms: Mapped[float | None] = mapped_column(Real, server_default=int_default(0))
    auto_disabled: Mapped[int | None] = mapped_column(Integer, server_default=int_default(0))
    disabled_until: Mapped[str | None] = mapped_column(Text, server_default=text_default(""))
    updated_at: Mapped[str] = mapped_column(Text, nullable=False, server_default=legacy_now())
