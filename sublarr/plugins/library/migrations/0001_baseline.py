"""library baseline: the legacy ``upgrade_history`` table (``subtitle_downloads`` belongs to providers).

Revision ID: library_0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

revision = "library_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "upgrade_history",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("file_path", sa.Text(), nullable=False),
        sa.Column("old_format", sa.Text()),
        sa.Column("old_score", sa.Integer()),
        sa.Column("new_format", sa.Text()),
        sa.Column("new_score", sa.Integer()),
        sa.Column("provider_name", sa.Text()),
        sa.Column("upgrade_reason", sa.Text()),
        sa.Column("upgraded_at", sa.Text(), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("idx_upgrade_history_path", "upgrade_history", ["file_path"])


def downgrade() -> None:
    op.drop_index("idx_upgrade_history_path", table_name="upgrade_history")
    op.drop_table("upgrade_history")
