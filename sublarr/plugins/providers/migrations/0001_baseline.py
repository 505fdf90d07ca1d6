"""providers baseline: the legacy ``provider_cache``, ``subtitle_downloads`` and ``provider_stats``.

``subtitle_downloads.subtitle_type`` is last (the legacy layer appended it); ``provider_stats``
has the column order of a fresh legacy database.

Revision ID: providers_0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

from sublarr.core.schema import Real, int_default, now_default, text_default

revision = "providers_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "provider_cache",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("provider_name", sa.Text(), nullable=False),
        sa.Column("query_hash", sa.Text(), nullable=False),
        sa.Column("results_json", sa.Text(), nullable=False),
        sa.Column("cached_at", sa.Text(), nullable=False),
        sa.Column("expires_at", sa.Text(), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("idx_provider_cache_hash", "provider_cache", ["provider_name", "query_hash"])
    op.create_index("idx_provider_cache_expires", "provider_cache", ["expires_at"])

    op.create_table(
        "subtitle_downloads",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("provider_name", sa.Text(), nullable=False),
        sa.Column("subtitle_id", sa.Text(), nullable=False),
        sa.Column("language", sa.Text(), nullable=False),
        sa.Column("format", sa.Text(), server_default=text_default("")),
        sa.Column("file_path", sa.Text(), nullable=False),
        sa.Column("score", sa.Integer(), server_default=int_default(0)),
        sa.Column("downloaded_at", sa.Text(), nullable=False),
        sa.Column("subtitle_type", sa.Text(), server_default=text_default("full")),
        sqlite_autoincrement=True,
    )
    op.create_index("idx_subtitle_downloads_path", "subtitle_downloads", ["file_path"])

    op.create_table(
        "provider_stats",
        sa.Column("provider_name", sa.Text(), primary_key=True),
        sa.Column("total_searches", sa.Integer(), server_default=int_default(0)),
        sa.Column("successful_downloads", sa.Integer(), server_default=int_default(0)),
        sa.Column("failed_downloads", sa.Integer(), server_default=int_default(0)),
        sa.Column("avg_score", Real, server_default=int_default(0)),
        sa.Column("last_success_at", sa.Text()),
        sa.Column("last_failure_at", sa.Text()),
        sa.Column("consecutive_failures", sa.Integer(), server_default=int_default(0)),
        sa.Column("avg_response_time_ms", Real, server_default=int_default(0)),
        sa.Column("last_response_time_ms", Real, server_default=int_default(0)),
        sa.Column("auto_disabled", sa.Integer(), server_default=int_default(0)),
        sa.Column("disabled_until", sa.Text(), server_default=text_default("")),
        sa.Column("updated_at", sa.Text(), nullable=False, server_default=now_default()),
    )
    op.create_index("idx_provider_stats_updated", "provider_stats", ["updated_at"])


def downgrade() -> None:
    op.drop_index("idx_provider_stats_updated", table_name="provider_stats")
    op.drop_table("provider_stats")
    op.drop_index("idx_subtitle_downloads_path", table_name="subtitle_downloads")
    op.drop_table("subtitle_downloads")
    op.drop_index("idx_provider_cache_expires", table_name="provider_cache")
    op.drop_index("idx_provider_cache_hash", table_name="provider_cache")
    op.drop_table("provider_cache")
