"""wanted: one row per identity (file_path, target_language, subtitle_type), enforced.

The legacy layer kept the identity only by a check-then-insert under a process lock, and
matched a NULL target_language as ''. So: NULL target_language becomes '' and NULL
subtitle_type 'full' (the column defaults), duplicates are deleted keeping the lowest id
(the row the legacy lookup found first), both columns become NOT NULL, and the unique key
``uq_wanted_identity`` makes upserts race-safe (INSERT ... ON CONFLICT on that key).

SQLite rebuilds the table (batch mode). The rebuild would reset the AUTOINCREMENT counter
to the highest id left, so ids of deleted rows could be handed out again; the counter is
restored afterwards.

Revision ID: wanted_0002
Revises: wanted_0001
"""
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op

from sublarr.core.schema import text_default

revision = "wanted_0002"
down_revision = "wanted_0001"
branch_labels = None
depends_on = None

IDENTITY = ["file_path", "target_language", "subtitle_type"]

wanted = sa.table("wanted_items", sa.column("id", sa.Integer()),
                  *(sa.column(name, sa.Text()) for name in IDENTITY))
sqlite_sequence = sa.table("sqlite_sequence", sa.column("name", sa.Text()), sa.column("seq", sa.Integer()))


@contextmanager
def keeping_autoincrement_counter():
    """Restore SQLite's AUTOINCREMENT counter of wanted_items after a batch rebuild."""
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        yield
        return
    here = sqlite_sequence.c.name == "wanted_items"
    before = bind.execute(sa.select(sqlite_sequence.c.seq).where(here)).scalar()
    yield
    if before is not None:
        bind.execute(sqlite_sequence.update().where(here, sqlite_sequence.c.seq < before).values(seq=before))


def set_identity_columns(batch, nullable: bool) -> None:
    batch.alter_column("target_language", existing_type=sa.Text(), nullable=nullable,
                       existing_server_default=text_default(""))
    batch.alter_column("subtitle_type", existing_type=sa.Text(), nullable=nullable,
                       existing_server_default=text_default("full"))


def upgrade() -> None:
    op.execute(wanted.update().where(wanted.c.target_language.is_(None)).values(target_language=""))
    op.execute(wanted.update().where(wanted.c.subtitle_type.is_(None)).values(subtitle_type="full"))
    lowest = sa.select(sa.func.min(wanted.c.id)).group_by(*(wanted.c[name] for name in IDENTITY))
    op.execute(wanted.delete().where(wanted.c.id.not_in(lowest)))
    with keeping_autoincrement_counter():
        with op.batch_alter_table("wanted_items", table_kwargs={"sqlite_autoincrement": True}) as batch:
            set_identity_columns(batch, nullable=False)
            batch.create_unique_constraint("uq_wanted_identity", IDENTITY)


def downgrade() -> None:
    with keeping_autoincrement_counter():
        with op.batch_alter_table("wanted_items", table_kwargs={"sqlite_autoincrement": True}) as batch:
            batch.drop_constraint("uq_wanted_identity", type_="unique")
            set_identity_columns(batch, nullable=True)
