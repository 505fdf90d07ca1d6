from sqlalchemy import Index, Integer, Text
from sqlalchemy.orm import Mapped, mapped_column

from sublarr.core.models import Base
from sublarr.core.schema import DeclaredText, Real, legacy_current_timestamp

# the legacy DDL declared these TIMESTAMP (on SQLite); they hold "YYYY-MM-DD HH:MM:SS" text everywhere
LegacyTimestamp = DeclaredText("TIMESTAMP")


class FfprobeCache(Base):
    __tablename__ = "ffprobe_cache"
    __table_args__ = (Index("idx_ffprobe_cache_mtime", "mtime"),)

    file_path: Mapped[str] = mapped_column(Text, primary_key=True)
    mtime: Mapped[float] = mapped_column(Real, nullable=False)
    probe_data_json: Mapped[str] = mapped_column(Text, nullable=False)
    cached_at: Mapped[str] = mapped_column(Text, nullable=False)


class AnidbMapping(Base):
    __tablename__ = "anidb_mappings"
    __table_args__ = (Index("idx_anidb_mappings_anidb_id", "anidb_id"),)

    # INTEGER PRIMARY KEY without AUTOINCREMENT: the TVDB id is given, never generated
    tvdb_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    anidb_id: Mapped[int] = mapped_column(Integer, nullable=False)
    series_title: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[str | None] = mapped_column(LegacyTimestamp, server_default=legacy_current_timestamp())
    last_used: Mapped[str | None] = mapped_column(LegacyTimestamp, server_default=legacy_current_timestamp())
