"""jobs: index on file_path for the cache domain's episode history.

``get_episode_history`` looks up the translation jobs of one file (path prefix); without an
index every call scanned the whole jobs table (about 0.7 s at 10^5 jobs on SQLite).

Revision ID: jobs_0003
Revises: jobs_0002
"""
from alembic import op

revision = "jobs_0003"
down_revision = "jobs_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("idx_jobs_file_path", "jobs", ["file_path"])


def downgrade() -> None:
    op.drop_index("idx_jobs_file_path", table_name="jobs")
