"""whisper baseline: the legacy ``whisper_jobs`` table and its two indexes.

Revision ID: whisper_0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

from sublarr.core.schema import Real, int_default, text_default

revision = "whisper_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "whisper_jobs",
        sa.Column("id", sa.Text(), primary_key=True),
        sa.Column("file_path", sa.Text(), nullable=False),
        sa.Column("language", sa.Text(), nullable=False, server_default=text_default("")),
        sa.Column("status", sa.Text(), nullable=False, server_default=text_default("queued")),
        sa.Column("progress", Real, server_default=sa.text("0.0")),
        sa.Column("phase", sa.Text(), server_default=text_default("")),
        sa.Column("backend_name", sa.Text(), server_default=text_default("")),
        sa.Column("detected_language", sa.Text(), server_default=text_default("")),
        sa.Column("language_probability", Real, server_default=sa.text("0.0")),
        sa.Column("srt_content", sa.Text(), server_default=text_default("")),
        sa.Column("segment_count", sa.Integer(), server_default=int_default(0)),
        sa.Column("duration_seconds", Real, server_default=sa.text("0.0")),
        sa.Column("processing_time_ms", Real, server_default=sa.text("0.0")),
        sa.Column("error", sa.Text(), server_default=text_default("")),
        sa.Column("created_at", sa.Text(), nullable=False),
        sa.Column("started_at", sa.Text(), server_default=text_default("")),
        sa.Column("completed_at", sa.Text(), server_default=text_default("")),
    )
    op.create_index("idx_whisper_jobs_status", "whisper_jobs", ["status"])
    op.create_index("idx_whisper_jobs_created", "whisper_jobs", ["created_at"])


def downgrade() -> None:
    op.drop_index("idx_whisper_jobs_created", table_name="whisper_jobs")
    op.drop_index("idx_whisper_jobs_status", table_name="whisper_jobs")
    op.drop_table("whisper_jobs")
