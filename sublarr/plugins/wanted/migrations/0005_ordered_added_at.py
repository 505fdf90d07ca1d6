"""wanted: ``added_at`` is a Timestamp, so that pages are read from an index on every engine.

Pages are ``ORDER BY added_at DESC, id DESC`` (with an optional status / item_type / subtitle_type
filter), served by the (filter, added_at, id) indexes of wanted_0003. MariaDB indexes only a prefix
of a LONGTEXT column, and a prefix cannot give ORDER BY its order: every page sorted all matching
rows (0.3 s a page at 10^5 items, 4-5 s at 10^6, on ours and on raw SQL alike). A Timestamp is a
VARCHAR(64) there (``sublarr.core.schema.Timestamp``), indexed whole: 1.5 ms a page at 10^5.

Engines that spell a Timestamp as they spell the column's present type (SQLite and PostgreSQL:
TEXT) have nothing to change: no-op (``retype_column``). Elsewhere the indexes over added_at are
dropped, the column changes type, and the indexes are made again (now without a prefix on added_at). A stored value
longer than 64 characters (the kernel writes 26) stops the upgrade with the engine's error and
changes no value; MariaDB's DDL is not transactional, so the indexes may be gone by then: the
revision drops only the indexes it finds, and can be run again once the value is fixed.

Revision ID: wanted_0005
Revises: wanted_0004
"""
import sqlalchemy as sa

from sublarr.core.schema import Timestamp, retype_column

revision = "wanted_0005"
down_revision = "wanted_0004"
branch_labels = None
depends_on = None

INDEXES = {
    "idx_wanted_added": ["added_at", "id"],
    "idx_wanted_status_added": ["status", "added_at", "id"],
    "idx_wanted_item_type_added": ["item_type", "added_at", "id"],
    "idx_wanted_subtitle_type_added": ["subtitle_type", "added_at", "id"],
}


def upgrade() -> None:
    retype_column("wanted_items", "added_at", sa.Text(), Timestamp(), nullable=False, indexes=INDEXES)


def downgrade() -> None:
    retype_column("wanted_items", "added_at", Timestamp(), sa.Text(), nullable=False, indexes=INDEXES)
