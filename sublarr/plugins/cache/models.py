from sqlalchemy import Column, Index, Integer, Table, Text

from sublarr.core.models import metadata
from sublarr.core.schema import DeclaredText, Real, legacy_current_timestamp

# the legacy DDL declared these TIMESTAMP (on SQLite); they hold "YYYY-MM-DD HH:MM:SS" text everywhere
LegacyTimestamp = DeclaredText("TIMESTAMP")


ffprobe_cache = Table(
    "ffprobe_cache",
    metadata,
    Column("file_path", Text, primary_key=True),
    Column("mtime", Real, nullable=False),
    Column("probe_data_json", Text, nullable=False),
    Column("cached_at", Text, nullable=False),
    Index("idx_ffprobe_cache_mtime", "mtime"),
)


anidb_mappings = Table(
    "anidb_mappings",
    metadata,
    # INTEGER PRIMARY KEY without AUTOINCREMENT: the TVDB id is given, never generated
    Column("tvdb_id", Integer, primary_key=True, autoincrement=False),
    Column("anidb_id", Integer, nullable=False),
    Column("series_title", Text),
    Column("created_at", LegacyTimestamp, server_default=legacy_current_timestamp()),
    Column("last_used", LegacyTimestamp, server_default=legacy_current_timestamp()),
    Index("idx_anidb_mappings_anidb_id", "anidb_id"),
)
