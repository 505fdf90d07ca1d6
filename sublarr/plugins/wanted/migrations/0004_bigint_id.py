"""wanted: 64-bit ids on PostgreSQL and MariaDB.

Every ``INSERT ... ON CONFLICT DO UPDATE`` takes a value from the id sequence even when the row
already exists, so each library rescan uses up one id per item. With the legacy 32-bit SERIAL,
rescanning 10^5 items every 6 hours would exhaust the ids in about 14 years, and sooner for
bigger libraries or more frequent scans. MariaDB's ``INSERT ... ON DUPLICATE KEY UPDATE`` takes an
AUTO_INCREMENT value for every row it tries, the same way. SQLite's INTEGER PRIMARY KEY is 64-bit
already: no-op.

Revision ID: wanted_0004
Revises: wanted_0003
"""
from alembic import op

revision = "wanted_0004"
down_revision = "wanted_0003"
branch_labels = None
depends_on = None


def _alter(kind: str) -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute(f"ALTER TABLE wanted_items ALTER COLUMN id TYPE {kind}")
        op.execute(f"ALTER SEQUENCE IF EXISTS wanted_items_id_seq AS {kind}")
    elif dialect in ("mariadb", "mysql"):
        op.execute(f"ALTER TABLE wanted_items MODIFY id {kind} NOT NULL AUTO_INCREMENT")


def upgrade() -> None:
    _alter("BIGINT")


def downgrade() -> None:
    _alter("INTEGER")
