"""Language profiles and their series/movie assignments at head.

Columns are in the legacy physical order (the three columns the legacy ``_run_migrations``
appended come last), so row dicts keep the legacy key order. The assignment tables had a
declared but unenforced ``ON DELETE CASCADE``; profiles_0003 removed orphaned rows, made sure
the cascading foreign key exists and indexed ``profile_id`` so the cascade does not scan.
"""

from sqlalchemy import ForeignKey, Index, Integer, Text
from sqlalchemy.orm import Mapped, mapped_column

from sublarr.core.models import Base
from sublarr.core.schema import int_default, legacy_now, text_default


class LanguageProfile(Base):
    __tablename__ = "language_profiles"
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(Text, nullable=False, unique=True)
    source_language: Mapped[str] = mapped_column(Text, nullable=False, server_default=text_default("en"))
    source_language_name: Mapped[str] = mapped_column(Text, nullable=False, server_default=text_default("English"))
    target_languages_json: Mapped[str] = mapped_column(Text, nullable=False, server_default=text_default('["de"]'))
    target_language_names_json: Mapped[str] = mapped_column(Text, nullable=False,
                                                            server_default=text_default('["German"]'))
    is_default: Mapped[int] = mapped_column(Integer, nullable=False, server_default=int_default(0))
    created_at: Mapped[str] = mapped_column(Text, nullable=False, server_default=legacy_now())
    updated_at: Mapped[str] = mapped_column(Text, nullable=False, server_default=legacy_now())
    # -- added by the legacy _run_migrations (ALTER TABLE ... ADD COLUMN), hence last --
    translation_backend: Mapped[str | None] = mapped_column(Text, server_default=text_default("ollama"))
    fallback_chain_json: Mapped[str | None] = mapped_column(Text, server_default=text_default('["ollama"]'))
    forced_preference: Mapped[str | None] = mapped_column(Text, server_default=text_default("disabled"))


class SeriesLanguageProfile(Base):
    __tablename__ = "series_language_profiles"
    __table_args__ = (Index("idx_series_language_profiles_profile_id", "profile_id"),)

    sonarr_series_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    profile_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("language_profiles.id", ondelete="CASCADE"), nullable=False)


class MovieLanguageProfile(Base):
    __tablename__ = "movie_language_profiles"
    __table_args__ = (Index("idx_movie_language_profiles_profile_id", "profile_id"),)

    radarr_movie_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    profile_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("language_profiles.id", ondelete="CASCADE"), nullable=False)
