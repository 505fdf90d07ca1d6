"""sample: add parent.note NOT NULL through a batch (table copy) migration.

Revision ID: sample_0002
"""
import sqlalchemy as sa
from alembic import op

revision = "sample_0002"
down_revision = "sample_0001"
branch_labels = None
depends_on = None


def _recreate() -> str:
    # force the SQLite table copy (the dangerous path); PostgreSQL alters in place
    return "always" if op.get_bind().dialect.name == "sqlite" else "auto"


def upgrade() -> None:
    with op.batch_alter_table("sample_parent", recreate=_recreate()) as batch:
        batch.add_column(sa.Column("note", sa.Text, nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("sample_parent", recreate=_recreate()) as batch:
        batch.drop_column("note")
