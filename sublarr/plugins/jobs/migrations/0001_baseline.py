"""jobs baseline: the legacy ``jobs`` and ``daily_stats`` tables.

``jobs.config_hash`` was appended by the legacy ``_run_migrations``, so it is the last column.

Revision ID: jobs_0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

from sublarr.core.schema import int_default, text_default

revision = "jobs_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", sa.Text(), primary_key=True),
        sa.Column("file_path", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False, server_default=text_default("queued")),
        sa.Column("source_format", sa.Text(), server_default=text_default("")),
        sa.Column("output_path", sa.Text(), server_default=text_default("")),
        sa.Column("stats_json", sa.Text(), server_default=text_default("{}")),
        sa.Column("error", sa.Text(), server_default=text_default("")),
        sa.Column("force", sa.Integer(), server_default=int_default(0)),
        sa.Column("bazarr_context_json", sa.Text(), server_default=text_default("")),
        sa.Column("created_at", sa.Text(), nullable=False),
        sa.Column("completed_at", sa.Text(), server_default=text_default("")),
        sa.Column("config_hash", sa.Text(), server_default=text_default("")),
    )
    op.create_index("idx_jobs_status", "jobs", ["status"])
    op.create_index("idx_jobs_created", "jobs", ["created_at"])
    op.create_table(
        "daily_stats",
        sa.Column("date", sa.Text(), primary_key=True),
        sa.Column("translated", sa.Integer(), server_default=int_default(0)),
        sa.Column("failed", sa.Integer(), server_default=int_default(0)),
        sa.Column("skipped", sa.Integer(), server_default=int_default(0)),
        sa.Column("by_format_json", sa.Text(), server_default=text_default('{"ass": 0, "srt": 0}')),
        sa.Column("by_source_json", sa.Text(), server_default=text_default("{}")),
    )


def downgrade() -> None:
    op.drop_table("daily_stats")
    op.drop_index("idx_jobs_created", table_name="jobs")
    op.drop_index("idx_jobs_status", table_name="jobs")
    op.drop_table("jobs")
