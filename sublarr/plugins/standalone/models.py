"""The legacy standalone-mode tables, columns in physical order.

``watched_folders.path``, ``standalone_series.folder_path`` and ``standalone_movies.file_path``
are UNIQUE in the legacy DDL; the upserts use them as their ON CONFLICT keys. AniDB mappings
belong to the ``cache`` domain.
"""

from __future__ import annotations

from sqlalchemy import Index, Integer, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sublarr.core.models import Base
from sublarr.core.schema import int_default, legacy_now, text_default


class WatchedFolder(Base):
    __tablename__ = "watched_folders"
    __table_args__ = (UniqueConstraint("path"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    path: Mapped[str] = mapped_column(Text, nullable=False)
    label: Mapped[str | None] = mapped_column(Text, server_default=text_default(""))
    media_type: Mapped[str | None] = mapped_column(Text, server_default=text_default("auto"))
    enabled: Mapped[int | None] = mapped_column(Integer, server_default=int_default(1))
    last_scan_at: Mapped[str | None] = mapped_column(Text, server_default=text_default(""))
    created_at: Mapped[str] = mapped_column(Text, nullable=False, server_default=legacy_now())
    updated_at: Mapped[str] = mapped_column(Text, nullable=False, server_default=legacy_now())


class StandaloneSeries(Base):
    __tablename__ = "standalone_series"
    __table_args__ = (
        UniqueConstraint("folder_path"),
        Index("idx_standalone_series_tmdb", "tmdb_id"),
        Index("idx_standalone_series_anilist", "anilist_id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    title: Mapped[str] = mapped_column(Text, nullable=False)
    year: Mapped[int | None] = mapped_column(Integer)
    folder_path: Mapped[str] = mapped_column(Text, nullable=False)
    tmdb_id: Mapped[int | None] = mapped_column(Integer)
    tvdb_id: Mapped[int | None] = mapped_column(Integer)
    anilist_id: Mapped[int | None] = mapped_column(Integer)
    imdb_id: Mapped[str | None] = mapped_column(Text, server_default=text_default(""))
    poster_url: Mapped[str | None] = mapped_column(Text, server_default=text_default(""))
    is_anime: Mapped[int | None] = mapped_column(Integer, server_default=int_default(0))
    episode_count: Mapped[int | None] = mapped_column(Integer, server_default=int_default(0))
    season_count: Mapped[int | None] = mapped_column(Integer, server_default=int_default(0))
    metadata_source: Mapped[str | None] = mapped_column(Text, server_default=text_default(""))
    created_at: Mapped[str] = mapped_column(Text, nullable=False, server_default=legacy_now())
    updated_at: Mapped[str] = mapped_column(Text, nullable=False, server_default=legacy_now())


class StandaloneMovie(Base):
    __tablename__ = "standalone_movies"
    __table_args__ = (
        UniqueConstraint("file_path"),
        Index("idx_standalone_movies_tmdb", "tmdb_id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    title: Mapped[str] = mapped_column(Text, nullable=False)
    year: Mapped[int | None] = mapped_column(Integer)
    file_path: Mapped[str] = mapped_column(Text, nullable=False)
    tmdb_id: Mapped[int | None] = mapped_column(Integer)
    imdb_id: Mapped[str | None] = mapped_column(Text, server_default=text_default(""))
    poster_url: Mapped[str | None] = mapped_column(Text, server_default=text_default(""))
    metadata_source: Mapped[str | None] = mapped_column(Text, server_default=text_default(""))
    created_at: Mapped[str] = mapped_column(Text, nullable=False, server_default=legacy_now())
    updated_at: Mapped[str] = mapped_column(Text, nullable=False, server_default=legacy_now())


class MetadataCache(Base):
    __tablename__ = "metadata_cache"
    __table_args__ = (Index("idx_metadata_cache_expires", "expires_at"),)

    cache_key: Mapped[str] = mapped_column(Text, primary_key=True)
    provider: Mapped[str] = mapped_column(Text, nullable=False)
    response_json: Mapped[str] = mapped_column(Text, nullable=False)  # opaque string, never parsed here
    cached_at: Mapped[str] = mapped_column(Text, nullable=False)
    expires_at: Mapped[str] = mapped_column(Text, nullable=False)
