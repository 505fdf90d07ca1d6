"""wanted: ``status`` and ``item_type`` are ShortText, so that counts and groups by them are read
from their indexes on every engine.

Both take a closed vocabulary (``wanted``/``searching``/``found``/``failed``/``ignored``;
``episode``/``movie``; anything else is refused with ValueError before a write). MariaDB indexed a
768-character prefix of the LONGTEXT they were, which cannot answer a comparison alone: the
``count(*)`` that gives a page its ``total`` read every matching row (1.5 s at 10^6 items: most of a
page), and ``get_wanted_summary`` grouped them through on-disk temporary tables (2.2 s a column).
As ``VARCHAR(64)`` (``sublarr.core.schema.ShortText``), indexed whole: 0.1 s each, from the index.

Engines that spell a ShortText as TEXT (SQLite, PostgreSQL) have nothing to change: no-op
(``retype_column``). Elsewhere the indexes over each column are dropped, the column changes type
(its default kept), and the indexes are made again without a prefix. A stored value longer than 64
characters (only a legacy database could hold one) stops the upgrade with the engine's error and
changes no value; MariaDB's DDL is not transactional, so the revision drops only the indexes it
finds and can be run again once the value is fixed.

Revision ID: wanted_0006
Revises: wanted_0005
"""
import sqlalchemy as sa

from sublarr.core.schema import ShortText, retype_column, text_default

revision = "wanted_0006"
down_revision = "wanted_0005"
branch_labels = None
depends_on = None

STATUS_INDEXES = {
    "idx_wanted_status": ["status"],
    "idx_wanted_series_status": ["sonarr_series_id", "status"],
    "idx_wanted_status_added": ["status", "added_at", "id"],
}
ITEM_TYPE_INDEXES = {
    "idx_wanted_item_type": ["item_type"],
    "idx_wanted_item_type_added": ["item_type", "added_at", "id"],
}


def upgrade() -> None:
    retype_column("wanted_items", "status", sa.Text(), ShortText(), nullable=False, indexes=STATUS_INDEXES,
                  server_default=text_default("wanted"))
    retype_column("wanted_items", "item_type", sa.Text(), ShortText(), nullable=False, indexes=ITEM_TYPE_INDEXES)


def downgrade() -> None:
    retype_column("wanted_items", "item_type", ShortText(), sa.Text(), nullable=False, indexes=ITEM_TYPE_INDEXES)
    retype_column("wanted_items", "status", ShortText(), sa.Text(), nullable=False, indexes=STATUS_INDEXES,
                  server_default=text_default("wanted"))
