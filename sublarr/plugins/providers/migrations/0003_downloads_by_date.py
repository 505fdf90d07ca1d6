"""providers: index ``subtitle_downloads.downloaded_at``.

The download history pages newest first and the download statistics count the last 24 hours
and 7 days; without an index both sort or scan the whole table (Bazarr#3177: a page of a
106k-row history took minutes).

Revision ID: providers_0003
Revises: providers_0002
"""
from alembic import op

revision = "providers_0003"
down_revision = "providers_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("idx_subtitle_downloads_downloaded_at", "subtitle_downloads", ["downloaded_at"])


def downgrade() -> None:
    op.drop_index("idx_subtitle_downloads_downloaded_at", table_name="subtitle_downloads")
