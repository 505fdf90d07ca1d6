"""The legacy standalone-mode tables, columns in physical order.

``watched_folders.path``, ``standalone_series.folder_path`` and ``standalone_movies.file_path``
are UNIQUE in the legacy DDL; the upserts use them as their ON CONFLICT keys. AniDB mappings
belong to the ``cache`` domain.
"""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, Table, Text, UniqueConstraint

from sublarr.core.models import metadata
from sublarr.core.schema import int_default, legacy_now, text_default

watched_folders = Table(
    "watched_folders",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("path", Text, nullable=False),
    Column("label", Text, server_default=text_default("")),
    Column("media_type", Text, server_default=text_default("auto")),
    Column("enabled", Integer, server_default=int_default(1)),
    Column("last_scan_at", Text, server_default=text_default("")),
    Column("created_at", Text, nullable=False, server_default=legacy_now()),
    Column("updated_at", Text, nullable=False, server_default=legacy_now()),
    UniqueConstraint("path"),
    sqlite_autoincrement=True,
)


standalone_series = Table(
    "standalone_series",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("title", Text, nullable=False),
    Column("year", Integer),
    Column("folder_path", Text, nullable=False),
    Column("tmdb_id", Integer),
    Column("tvdb_id", Integer),
    Column("anilist_id", Integer),
    Column("imdb_id", Text, server_default=text_default("")),
    Column("poster_url", Text, server_default=text_default("")),
    Column("is_anime", Integer, server_default=int_default(0)),
    Column("episode_count", Integer, server_default=int_default(0)),
    Column("season_count", Integer, server_default=int_default(0)),
    Column("metadata_source", Text, server_default=text_default("")),
    Column("created_at", Text, nullable=False, server_default=legacy_now()),
    Column("updated_at", Text, nullable=False, server_default=legacy_now()),
    UniqueConstraint("folder_path"),
    Index("idx_standalone_series_tmdb", "tmdb_id"),
    Index("idx_standalone_series_anilist", "anilist_id"),
    sqlite_autoincrement=True,
)


standalone_movies = Table(
    "standalone_movies",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("title", Text, nullable=False),
    Column("year", Integer),
    Column("file_path", Text, nullable=False),
    Column("tmdb_id", Integer),
    Column("imdb_id", Text, server_default=text_default("")),
    Column("poster_url", Text, server_default=text_default("")),
    Column("metadata_source", Text, server_default=text_default("")),
    Column("created_at", Text, nullable=False, server_default=legacy_now()),
    Column("updated_at", Text, nullable=False, server_default=legacy_now()),
    UniqueConstraint("file_path"),
    Index("idx_standalone_movies_tmdb", "tmdb_id"),
    sqlite_autoincrement=True,
)


metadata_cache = Table(
    "metadata_cache",
    metadata,
    Column("cache_key", Text, primary_key=True),
    Column("provider", Text, nullable=False),
    Column("response_json", Text, nullable=False),  # opaque string, never parsed here
    Column("cached_at", Text, nullable=False),
    Column("expires_at", Text, nullable=False),
    Index("idx_metadata_cache_expires", "expires_at"),
)
