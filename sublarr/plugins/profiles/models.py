"""Language profiles and their series/movie assignments at head.

Columns are in the legacy physical order (the three columns the legacy ``_run_migrations``
appended come last), so row dicts keep the legacy key order. The assignment tables had a
declared but unenforced ``ON DELETE CASCADE``; profiles_0003 removed orphaned rows, made sure
the cascading foreign key exists and indexed ``profile_id`` so the cascade does not scan.
"""

from sqlalchemy import Column, ForeignKey, Index, Integer, Table, Text

from sublarr.core.models import metadata
from sublarr.core.schema import int_default, legacy_now, text_default

language_profiles = Table(
    "language_profiles",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", Text, nullable=False, unique=True),
    Column("source_language", Text, nullable=False, server_default=text_default("en")),
    Column("source_language_name", Text, nullable=False, server_default=text_default("English")),
    Column("target_languages_json", Text, nullable=False, server_default=text_default('["de"]')),
    Column("target_language_names_json", Text, nullable=False, server_default=text_default('["German"]')),
    Column("is_default", Integer, nullable=False, server_default=int_default(0)),
    Column("created_at", Text, nullable=False, server_default=legacy_now()),
    Column("updated_at", Text, nullable=False, server_default=legacy_now()),
    # -- added by the legacy _run_migrations (ALTER TABLE ... ADD COLUMN), hence last --
    Column("translation_backend", Text, server_default=text_default("ollama")),
    Column("fallback_chain_json", Text, server_default=text_default('["ollama"]')),
    Column("forced_preference", Text, server_default=text_default("disabled")),
    sqlite_autoincrement=True,
)


series_language_profiles = Table(
    "series_language_profiles",
    metadata,
    Column("sonarr_series_id", Integer, primary_key=True, autoincrement=False),
    Column("profile_id", Integer, ForeignKey("language_profiles.id", ondelete="CASCADE"), nullable=False),
    Index("idx_series_language_profiles_profile_id", "profile_id"),
)


movie_language_profiles = Table(
    "movie_language_profiles",
    metadata,
    Column("radarr_movie_id", Integer, primary_key=True, autoincrement=False),
    Column("profile_id", Integer, ForeignKey("language_profiles.id", ondelete="CASCADE"), nullable=False),
    Index("idx_movie_language_profiles_profile_id", "profile_id"),
)
