from sqlalchemy import Column, Index, Integer, Table, Text

from sublarr.core.models import metadata

# ``upgrade_history``: one row per subtitle replaced by a better one.
upgrade_history = Table(
    "upgrade_history",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("file_path", Text, nullable=False),
    Column("old_format", Text),
    Column("old_score", Integer),
    Column("new_format", Text),
    Column("new_score", Integer),
    Column("provider_name", Text),
    Column("upgrade_reason", Text),
    Column("upgraded_at", Text, nullable=False),
    Index("idx_upgrade_history_path", "file_path"),
    sqlite_autoincrement=True,
)
