"""cache baseline: the legacy ``ffprobe_cache`` and ``anidb_mappings`` tables.

Revision ID: cache_0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

from sublarr.core.schema import Real, now_default

revision = "cache_0001"
down_revision = None
branch_labels = None
depends_on = None

# anidb_mappings declared its timestamps as TIMESTAMP on SQLite; they hold text everywhere
_TIMESTAMP = sa.Text().with_variant(sa.TIMESTAMP(), "sqlite")


def _current_timestamp():
    """Legacy ``DEFAULT CURRENT_TIMESTAMP``; the same 'YYYY-MM-DD HH:MM:SS' text on PostgreSQL."""
    if op.get_bind().dialect.name == "sqlite":
        return sa.text("CURRENT_TIMESTAMP")
    return now_default()


def upgrade() -> None:
    op.create_table(
        "ffprobe_cache",
        sa.Column("file_path", sa.Text(), primary_key=True),
        sa.Column("mtime", Real, nullable=False),
        sa.Column("probe_data_json", sa.Text(), nullable=False),
        sa.Column("cached_at", sa.Text(), nullable=False),
    )
    op.create_index("idx_ffprobe_cache_mtime", "ffprobe_cache", ["mtime"])
    op.create_table(
        "anidb_mappings",
        sa.Column("tvdb_id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("anidb_id", sa.Integer(), nullable=False),
        sa.Column("series_title", sa.Text()),
        sa.Column("created_at", _TIMESTAMP, server_default=_current_timestamp()),
        sa.Column("last_used", _TIMESTAMP, server_default=_current_timestamp()),
    )
    op.create_index("idx_anidb_mappings_anidb_id", "anidb_mappings", ["anidb_id"])


def downgrade() -> None:
    op.drop_index("idx_anidb_mappings_anidb_id", table_name="anidb_mappings")
    op.drop_table("anidb_mappings")
    op.drop_index("idx_ffprobe_cache_mtime", table_name="ffprobe_cache")
    op.drop_table("ffprobe_cache")
