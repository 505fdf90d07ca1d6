"""blacklist: ``added_at`` is a Timestamp, so ``get_blacklist`` pages come in index order on MariaDB too
(the reason and the no-op on SQLite/PostgreSQL: wanted_0005).

Revision ID: blacklist_0003
Revises: blacklist_0002
"""
import sqlalchemy as sa

from sublarr.core.schema import Timestamp, retype_column

revision = "blacklist_0003"
down_revision = "blacklist_0002"
branch_labels = None
depends_on = None

INDEXES = {'idx_blacklist_added': ['added_at', 'id']}


def upgrade() -> None:
    retype_column("blacklist_entries", "added_at", sa.Text(), Timestamp(), nullable=False, indexes=INDEXES)


def downgrade() -> None:
    retype_column("blacklist_entries", "added_at", Timestamp(), sa.Text(), nullable=False, indexes=INDEXES)
