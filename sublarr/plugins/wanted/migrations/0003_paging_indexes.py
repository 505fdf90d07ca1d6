"""wanted: indexes for the paginated and filtered queries at 10^5 rows.

Pages are ``ORDER BY added_at DESC, id DESC`` with optional status / item_type /
subtitle_type filters; with (filter, added_at, id) indexes a page at any offset walks one
index instead of sorting the table (bazarr#3177: a page of 106k rows took minutes).
(sonarr_series_id, status) serves the per-series listings and missing counts.

Revision ID: wanted_0003
Revises: wanted_0002
"""
from alembic import op

revision = "wanted_0003"
down_revision = "wanted_0002"
branch_labels = None
depends_on = None

INDEXES = {
    "idx_wanted_added": ["added_at", "id"],
    "idx_wanted_status_added": ["status", "added_at", "id"],
    "idx_wanted_item_type_added": ["item_type", "added_at", "id"],
    "idx_wanted_subtitle_type_added": ["subtitle_type", "added_at", "id"],
    "idx_wanted_series_status": ["sonarr_series_id", "status"],
}


def upgrade() -> None:
    for name, columns in INDEXES.items():
        op.create_index(name, "wanted_items", columns)


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name="wanted_items")
