"""scoring baseline: the legacy ``scoring_weights`` and ``provider_score_modifiers`` tables.

Revision ID: scoring_0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

from sublarr.core.schema import int_default, now_default

revision = "scoring_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "scoring_weights",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("score_type", sa.Text(), nullable=False),
        sa.Column("weight_key", sa.Text(), nullable=False),
        sa.Column("weight_value", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.Text(), nullable=False, server_default=now_default()),
        sa.UniqueConstraint("score_type", "weight_key", name="uq_scoring_weights_score_type_weight_key"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "provider_score_modifiers",
        sa.Column("provider_name", sa.Text(), primary_key=True),
        sa.Column("modifier", sa.Integer(), nullable=False, server_default=int_default(0)),
        sa.Column("updated_at", sa.Text(), nullable=False, server_default=now_default()),
    )


def downgrade() -> None:
    op.drop_table("provider_score_modifiers")
    op.drop_table("scoring_weights")
