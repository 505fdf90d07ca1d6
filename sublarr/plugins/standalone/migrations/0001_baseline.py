"""standalone baseline: the legacy ``watched_folders``, ``standalone_series``, ``standalone_movies``
and ``metadata_cache`` tables.

Reproduces the legacy DDL exactly (columns, types, defaults, UNIQUE keys, the ``idx_*`` indexes,
AUTOINCREMENT), so a legacy database can be stamped at this revision.

Revision ID: standalone_0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

from sublarr.core.schema import int_default, now_default, text_default

revision = "standalone_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "watched_folders",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("label", sa.Text(), server_default=text_default("")),
        sa.Column("media_type", sa.Text(), server_default=text_default("auto")),
        sa.Column("enabled", sa.Integer(), server_default=int_default(1)),
        sa.Column("last_scan_at", sa.Text(), server_default=text_default("")),
        sa.Column("created_at", sa.Text(), nullable=False, server_default=now_default()),
        sa.Column("updated_at", sa.Text(), nullable=False, server_default=now_default()),
        sa.UniqueConstraint("path"),
        sqlite_autoincrement=True,
    )

    op.create_table(
        "standalone_series",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("year", sa.Integer()),
        sa.Column("folder_path", sa.Text(), nullable=False),
        sa.Column("tmdb_id", sa.Integer()),
        sa.Column("tvdb_id", sa.Integer()),
        sa.Column("anilist_id", sa.Integer()),
        sa.Column("imdb_id", sa.Text(), server_default=text_default("")),
        sa.Column("poster_url", sa.Text(), server_default=text_default("")),
        sa.Column("is_anime", sa.Integer(), server_default=int_default(0)),
        sa.Column("episode_count", sa.Integer(), server_default=int_default(0)),
        sa.Column("season_count", sa.Integer(), server_default=int_default(0)),
        sa.Column("metadata_source", sa.Text(), server_default=text_default("")),
        sa.Column("created_at", sa.Text(), nullable=False, server_default=now_default()),
        sa.Column("updated_at", sa.Text(), nullable=False, server_default=now_default()),
        sa.UniqueConstraint("folder_path"),
        sqlite_autoincrement=True,
    )
    op.create_index("idx_standalone_series_tmdb", "standalone_series", ["tmdb_id"])
    op.create_index("idx_standalone_series_anilist", "standalone_series", ["anilist_id"])

    op.create_table(
        "standalone_movies",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("year", sa.Integer()),
        sa.Column("file_path", sa.Text(), nullable=False),
        sa.Column("tmdb_id", sa.Integer()),
        sa.Column("imdb_id", sa.Text(), server_default=text_default("")),
        sa.Column("poster_url", sa.Text(), server_default=text_default("")),
        sa.Column("metadata_source", sa.Text(), server_default=text_default("")),
        sa.Column("created_at", sa.Text(), nullable=False, server_default=now_default()),
        sa.Column("updated_at", sa.Text(), nullable=False, server_default=now_default()),
        sa.UniqueConstraint("file_path"),
        sqlite_autoincrement=True,
    )
    op.create_index("idx_standalone_movies_tmdb", "standalone_movies", ["tmdb_id"])

    op.create_table(
        "metadata_cache",
        sa.Column("cache_key", sa.Text(), primary_key=True),
        sa.Column("provider", sa.Text(), nullable=False),
        sa.Column("response_json", sa.Text(), nullable=False),
        sa.Column("cached_at", sa.Text(), nullable=False),
        sa.Column("expires_at", sa.Text(), nullable=False),
    )
    op.create_index("idx_metadata_cache_expires", "metadata_cache", ["expires_at"])


def downgrade() -> None:
    op.drop_table("metadata_cache")
    op.drop_table("standalone_movies")
    op.drop_table("standalone_series")
    op.drop_table("watched_folders")
