"""blacklist: index for newest-first paging (``ORDER BY added_at DESC, id DESC``).

The legacy table had no index on ``added_at``, so every page sorted the whole table.

Revision ID: blacklist_0002
Revises: blacklist_0001
"""
from alembic import op

revision = "blacklist_0002"
down_revision = "blacklist_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("idx_blacklist_added", "blacklist_entries", ["added_at", "id"])


def downgrade() -> None:
    op.drop_index("idx_blacklist_added", table_name="blacklist_entries")
