"""sample: parent and child tables.

Revision ID: sample_0001
"""
import sqlalchemy as sa
from alembic import op

revision = "sample_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("sample_parent", sa.Column("id", sa.Integer, primary_key=True),
                    sa.Column("name", sa.Text, nullable=False))
    op.create_table("sample_child", sa.Column("id", sa.Integer, primary_key=True),
                    sa.Column("parent_id", sa.Integer,
                              sa.ForeignKey("sample_parent.id", ondelete="CASCADE"), nullable=False))


def downgrade() -> None:
    op.drop_table("sample_child")
    op.drop_table("sample_parent")
