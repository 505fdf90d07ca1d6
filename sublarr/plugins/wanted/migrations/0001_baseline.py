"""wanted baseline: the legacy ``wanted_items`` table, as the legacy layer left it.

The columns the legacy ``_run_migrations`` added with ALTER TABLE come last, in that order;
``target_language``/``subtitle_type`` are still nullable and there is no unique key (0002).

Revision ID: wanted_0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

from sublarr.core.schema import int_default, text_default

revision = "wanted_0001"
down_revision = None
branch_labels = None
depends_on = None

LEGACY_INDEXES = {
    "idx_wanted_status": ["status"],
    "idx_wanted_item_type": ["item_type"],
    "idx_wanted_file_path": ["file_path"],
    "idx_wanted_sonarr_series": ["sonarr_series_id"],
    "idx_wanted_sonarr_episode": ["sonarr_episode_id"],
    "idx_wanted_radarr_movie": ["radarr_movie_id"],
}


def upgrade() -> None:
    op.create_table(
        "wanted_items",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("item_type", sa.Text(), nullable=False),
        sa.Column("sonarr_series_id", sa.Integer()),
        sa.Column("sonarr_episode_id", sa.Integer()),
        sa.Column("radarr_movie_id", sa.Integer()),
        sa.Column("title", sa.Text(), nullable=False, server_default=text_default("")),
        sa.Column("season_episode", sa.Text(), server_default=text_default("")),
        sa.Column("file_path", sa.Text(), nullable=False),
        sa.Column("existing_sub", sa.Text(), server_default=text_default("")),
        sa.Column("missing_languages", sa.Text(), server_default=text_default("[]")),
        sa.Column("status", sa.Text(), nullable=False, server_default=text_default("wanted")),
        sa.Column("last_search_at", sa.Text(), server_default=text_default("")),
        sa.Column("search_count", sa.Integer(), server_default=int_default(0)),
        sa.Column("error", sa.Text(), server_default=text_default("")),
        sa.Column("added_at", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.Text(), nullable=False),
        sa.Column("upgrade_candidate", sa.Integer(), server_default=int_default(0)),
        sa.Column("current_score", sa.Integer(), server_default=int_default(0)),
        sa.Column("target_language", sa.Text(), server_default=text_default("")),
        sa.Column("instance_name", sa.Text(), server_default=text_default("")),
        sa.Column("standalone_series_id", sa.Integer()),
        sa.Column("standalone_movie_id", sa.Integer()),
        sa.Column("subtitle_type", sa.Text(), server_default=text_default("full")),
        sqlite_autoincrement=True,
    )
    for name, columns in LEGACY_INDEXES.items():
        op.create_index(name, "wanted_items", columns)


def downgrade() -> None:
    for name in LEGACY_INDEXES:
        op.drop_index(name, table_name="wanted_items")
    op.drop_table("wanted_items")
