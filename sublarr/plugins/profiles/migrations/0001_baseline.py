"""profiles baseline: the legacy ``language_profiles`` and assignment tables.

The assignment tables declare ``FOREIGN KEY (profile_id) ... ON DELETE CASCADE`` exactly as
the legacy DDL did (the legacy layer never enabled SQLite's foreign keys, so it was not
enforced there; profiles_0003 deals with the orphans that left behind).

Revision ID: profiles_0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

from sublarr.core.schema import int_default, now_default, text_default

revision = "profiles_0001"
down_revision = None
branch_labels = None
depends_on = None

ASSIGNMENTS = (("series_language_profiles", "sonarr_series_id"), ("movie_language_profiles", "radarr_movie_id"))


def upgrade() -> None:
    op.create_table(
        "language_profiles",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("source_language", sa.Text(), nullable=False, server_default=text_default("en")),
        sa.Column("source_language_name", sa.Text(), nullable=False, server_default=text_default("English")),
        sa.Column("target_languages_json", sa.Text(), nullable=False, server_default=text_default('["de"]')),
        sa.Column("target_language_names_json", sa.Text(), nullable=False,
                  server_default=text_default('["German"]')),
        sa.Column("is_default", sa.Integer(), nullable=False, server_default=int_default(0)),
        sa.Column("created_at", sa.Text(), nullable=False, server_default=now_default()),
        sa.Column("updated_at", sa.Text(), nullable=False, server_default=now_default()),
        sa.Column("translation_backend", sa.Text(), server_default=text_default("ollama")),
        sa.Column("fallback_chain_json", sa.Text(), server_default=text_default('["ollama"]')),
        sa.Column("forced_preference", sa.Text(), server_default=text_default("disabled")),
        sa.UniqueConstraint("name", name="uq_language_profiles_name"),
        sqlite_autoincrement=True,
    )
    for table, key in ASSIGNMENTS:
        op.create_table(
            table,
            sa.Column(key, sa.Integer(), primary_key=True, autoincrement=False),
            sa.Column("profile_id", sa.Integer(), nullable=False),
            sa.ForeignKeyConstraint(["profile_id"], ["language_profiles.id"], ondelete="CASCADE",
                                    name=f"fk_{table}_profile_id_language_profiles"),
        )


def downgrade() -> None:
    for table, _key in reversed(ASSIGNMENTS):
        op.drop_table(table)
    op.drop_table("language_profiles")
