"""config baseline: the legacy ``config_entries`` table.

Revision ID: config_0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

revision = "config_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "config_entries",
        sa.Column("key", sa.Text(), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.Text(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("config_entries")
