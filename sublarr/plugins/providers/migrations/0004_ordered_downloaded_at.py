"""providers: ``subtitle_downloads.downloaded_at`` as a Timestamp. The download history, newest first,
then walks its index on MariaDB as on the other engines; why, and why nothing changes elsewhere:
wanted_0005.

Revision ID: providers_0004
Revises: providers_0003
"""
import sqlalchemy as sa

from sublarr.core.schema import Timestamp, retype_column

revision = "providers_0004"
down_revision = "providers_0003"
branch_labels = None
depends_on = None

INDEXES = {'idx_subtitle_downloads_downloaded_at': ['downloaded_at']}


def upgrade() -> None:
    retype_column("subtitle_downloads", "downloaded_at", sa.Text(), Timestamp(), nullable=False, indexes=INDEXES)


def downgrade() -> None:
    retype_column("subtitle_downloads", "downloaded_at", Timestamp(), sa.Text(), nullable=False, indexes=INDEXES)
