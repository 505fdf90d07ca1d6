from sqlalchemy import Column, Index, Integer, Table, Text, UniqueConstraint

from sublarr.core.models import metadata
from sublarr.core.schema import Timestamp, text_default

blacklist_entries = Table(
    "blacklist_entries",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("provider_name", Text, nullable=False),
    Column("subtitle_id", Text, nullable=False),
    Column("language", Text, server_default=text_default("")),
    Column("file_path", Text, server_default=text_default("")),
    Column("title", Text, server_default=text_default("")),
    Column("reason", Text, server_default=text_default("")),
    Column("added_at", Timestamp, nullable=False),  # VARCHAR on MariaDB since blacklist_0003
    UniqueConstraint("provider_name", "subtitle_id"),
    # legacy index, redundant with the unique constraint (kept so a legacy database matches)
    Index("idx_blacklist_provider", "provider_name", "subtitle_id"),
    # blacklist_0002: newest-first paging without sorting the whole table
    Index("idx_blacklist_added", "added_at", "id"),
    sqlite_autoincrement=True,
)
