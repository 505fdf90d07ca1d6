"""translation baseline: the four legacy tables ``translation_config_history``, ``glossary_entries``,
``prompt_presets`` and ``translation_backend_stats`` with their indexes.

Revision ID: translation_0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

from sublarr.core.schema import Real, int_default, now_default, text_default

revision = "translation_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "translation_config_history",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("config_hash", sa.Text(), nullable=False, unique=True),
        sa.Column("ollama_model", sa.Text()),
        sa.Column("prompt_template", sa.Text()),
        sa.Column("target_language", sa.Text()),
        sa.Column("first_used_at", sa.Text(), nullable=False),
        sa.Column("last_used_at", sa.Text(), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "glossary_entries",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("series_id", sa.Integer(), nullable=False),
        sa.Column("source_term", sa.Text(), nullable=False),
        sa.Column("target_term", sa.Text(), nullable=False),
        sa.Column("notes", sa.Text(), server_default=text_default("")),
        sa.Column("created_at", sa.Text(), nullable=False, server_default=now_default()),
        sa.Column("updated_at", sa.Text(), nullable=False, server_default=now_default()),
        sqlite_autoincrement=True,
    )
    op.create_index("idx_glossary_series_id", "glossary_entries", ["series_id"])
    op.create_index("idx_glossary_source_term", "glossary_entries", ["source_term"])
    op.create_table(
        "prompt_presets",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.Text(), nullable=False, unique=True),
        sa.Column("prompt_template", sa.Text(), nullable=False),
        sa.Column("is_default", sa.Integer(), server_default=int_default(0)),
        sa.Column("created_at", sa.Text(), nullable=False, server_default=now_default()),
        sa.Column("updated_at", sa.Text(), nullable=False, server_default=now_default()),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "translation_backend_stats",
        sa.Column("backend_name", sa.Text(), primary_key=True),
        sa.Column("total_requests", sa.Integer(), server_default=int_default(0)),
        sa.Column("successful_translations", sa.Integer(), server_default=int_default(0)),
        sa.Column("failed_translations", sa.Integer(), server_default=int_default(0)),
        sa.Column("total_characters", sa.Integer(), server_default=int_default(0)),
        sa.Column("avg_response_time_ms", Real, server_default=int_default(0)),
        sa.Column("last_response_time_ms", Real, server_default=int_default(0)),
        sa.Column("last_success_at", sa.Text()),
        sa.Column("last_failure_at", sa.Text()),
        sa.Column("last_error", sa.Text(), server_default=text_default("")),
        sa.Column("consecutive_failures", sa.Integer(), server_default=int_default(0)),
        sa.Column("updated_at", sa.Text(), nullable=False, server_default=now_default()),
    )
    op.create_index("idx_translation_backend_stats_updated", "translation_backend_stats", ["updated_at"])


def downgrade() -> None:
    op.drop_index("idx_translation_backend_stats_updated", table_name="translation_backend_stats")
    op.drop_table("translation_backend_stats")
    op.drop_table("prompt_presets")
    op.drop_index("idx_glossary_source_term", table_name="glossary_entries")
    op.drop_index("idx_glossary_series_id", table_name="glossary_entries")
    op.drop_table("glossary_entries")
    op.drop_table("translation_config_history")
