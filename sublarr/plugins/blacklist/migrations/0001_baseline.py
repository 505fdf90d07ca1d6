"""blacklist baseline: the legacy ``blacklist_entries`` table.

Revision ID: blacklist_0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

from sublarr.core.schema import text_default

revision = "blacklist_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "blacklist_entries",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("provider_name", sa.Text(), nullable=False),
        sa.Column("subtitle_id", sa.Text(), nullable=False),
        sa.Column("language", sa.Text(), server_default=text_default("")),
        sa.Column("file_path", sa.Text(), server_default=text_default("")),
        sa.Column("title", sa.Text(), server_default=text_default("")),
        sa.Column("reason", sa.Text(), server_default=text_default("")),
        sa.Column("added_at", sa.Text(), nullable=False),
        sa.UniqueConstraint("provider_name", "subtitle_id",
                            name="uq_blacklist_entries_provider_name_subtitle_id"),
        sqlite_autoincrement=True,
    )
    op.create_index("idx_blacklist_provider", "blacklist_entries", ["provider_name", "subtitle_id"])


def downgrade() -> None:
    op.drop_index("idx_blacklist_provider", table_name="blacklist_entries")
    op.drop_table("blacklist_entries")
