"""jobs: ``created_at`` becomes a Timestamp; job pages and the newest jobs are read from
``idx_jobs_created`` / ``idx_jobs_status_created`` without a sort on MariaDB (see wanted_0005).

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
