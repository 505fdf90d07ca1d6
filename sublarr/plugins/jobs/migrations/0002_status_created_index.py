"""jobs: (status, created_at) index for the status-filtered, newest-first job pages.

With only idx_jobs_status, ``get_jobs(status="completed")`` sorted every completed job for each
page; with (status, created_at) a page at any offset walks the index. It also serves
``delete_old_jobs`` (terminal statuses created before a cutoff).

Revision ID: jobs_0002
Revises: jobs_0001
"""
from alembic import op

revision = "jobs_0002"
down_revision = "jobs_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("idx_jobs_status_created", "jobs", ["status", "created_at"])


def downgrade() -> None:
    op.drop_index("idx_jobs_status_created", table_name="jobs")
