"""watchlist: count downloads per entry.

Revision ID: watchlist_0002
"""
import sqlalchemy as sa
from alembic import op

revision = "watchlist_0002"
down_revision = "watchlist_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("watchlist_entries") as batch:
        batch.add_column(sa.Column("downloads", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("last_download_at", sa.Text, nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("watchlist_entries") as batch:
        batch.drop_column("last_download_at")
        batch.drop_column("downloads")
