"""watchlist: the entries table.

Revision ID: watchlist_0001
"""
import sqlalchemy as sa
from alembic import op

revision = "watchlist_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "watchlist_entries",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("path_prefix", sa.Text, nullable=False),
        sa.Column("label", sa.Text, nullable=False, server_default=""),
        sa.Column("added_at", sa.Text, nullable=False),
        sa.UniqueConstraint("path_prefix", name="uq_watchlist_entries_path_prefix"),
    )


def downgrade() -> None:
    op.drop_table("watchlist_entries")
