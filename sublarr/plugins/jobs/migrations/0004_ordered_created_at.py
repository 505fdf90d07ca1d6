"""jobs: ``jobs.created_at`` is a Timestamp, so that job pages and the newest jobs (``ORDER BY created_at DESC, id DESC``) are read in index order.

As wanted_0005 did for ``wanted_items.added_at``: MariaDB indexes only a prefix of a LONGTEXT column,
and a prefix cannot give ORDER BY its order, so every page sorted all the rows. A Timestamp is a
VARCHAR(64) there, indexed whole; SQLite and PostgreSQL spell it TEXT as before (no-op there, see
``sublarr.core.schema.retype_column``). The kernel writes 26 characters; the upgrade stops with the
engine's error on a stored value over 64.

Revision ID: jobs_0004
Revises: jobs_0003
"""
import sqlalchemy as sa

from sublarr.core.schema import Timestamp, retype_column

revision = "jobs_0004"
down_revision = "jobs_0003"
branch_labels = None
depends_on = None

INDEXES = {'idx_jobs_created': ['created_at'], 'idx_jobs_status_created': ['status', 'created_at']}


def upgrade() -> None:
    retype_column("jobs", "created_at", sa.Text(), Timestamp(), nullable=False, indexes=INDEXES)


def downgrade() -> None:
    retype_column("jobs", "created_at", Timestamp(), sa.Text(), nullable=False, indexes=INDEXES)
