"""profiles: deleting a profile removes its assignments, enforced by the database.

The legacy layer declared ``ON DELETE CASCADE`` but never enabled SQLite's foreign keys, so
deleted profiles left orphaned assignment rows behind. This revision

1. deletes assignment rows whose profile no longer exists (they pointed at nothing; the
   legacy readers already ignored them, since they join on the profile),
2. makes sure ``profile_id`` has a foreign key with ``ON DELETE CASCADE`` on both dialects
   (a legacy SQLite table has it unnamed; a table copied without constraints, or a key
   without the cascade, is rebuilt with the named key),
3. indexes ``profile_id``, so the cascade of a profile delete does not scan the table.

Downgrade drops the indexes; the foreign key stays, because the baseline declares it too (on
MariaDB with the index named after it that InnoDB gave it at the baseline).
Deleted orphans cannot come back (they referenced no profile).

Revision ID: profiles_0003
Revises: profiles_0002
"""
import sqlalchemy as sa
from alembic import op

from sublarr.core.models import NAMING_CONVENTION

revision = "profiles_0003"
down_revision = "profiles_0002"
branch_labels = None
depends_on = None

TABLES = ("series_language_profiles", "movie_language_profiles")

profiles = sa.table("language_profiles", sa.column("id", sa.Integer()))


def _fk_name(table: str) -> str:
    return f"fk_{table}_profile_id_language_profiles"


def _delete_orphans(table: str) -> None:
    assignments = sa.table(table, sa.column("profile_id", sa.Integer()))
    op.get_bind().execute(
        sa.delete(assignments).where(~sa.exists().where(profiles.c.id == assignments.c.profile_id))
    )


def _ensure_cascade(table: str) -> None:
    keys = [fk for fk in sa.inspect(op.get_bind()).get_foreign_keys(table)
            if fk["constrained_columns"] == ["profile_id"]]
    if any(fk["referred_table"] == "language_profiles"
           and (fk.get("options") or {}).get("ondelete", "").upper() == "CASCADE" for fk in keys):
        return
    # naming_convention names an unnamed legacy key, so batch mode can drop it on SQLite.
    with op.batch_alter_table(table, naming_convention=NAMING_CONVENTION) as batch:
        for fk in keys:
            batch.drop_constraint(fk["name"] or _fk_name(table), type_="foreignkey")
        batch.create_foreign_key(_fk_name(table), "language_profiles", ["profile_id"], ["id"],
                                 ondelete="CASCADE")


def _needs_foreign_key_index() -> bool:
    """Whether the engine keeps an index per foreign key (``StorageFeatures.foreign_key_index``:
    InnoDB creates one named after the key when there is none and refuses to drop the last one)."""
    from sublarr.drivers.base import storage_for

    try:
        return storage_for(op.get_bind()).features.foreign_key_index
    except LookupError:  # a connection no storage driver built (not one the kernel migrates)
        return False


def upgrade() -> None:
    for table in TABLES:
        _delete_orphans(table)
        _ensure_cascade(table)
        op.create_index(f"idx_{table}_profile_id", table, ["profile_id"])
        if _needs_foreign_key_index():  # one index on profile_id (a downgrade may have named one after the key)
            op.execute(f"DROP INDEX IF EXISTS {_fk_name(table)} ON {table}")


def downgrade() -> None:
    for table in reversed(TABLES):
        if _needs_foreign_key_index():  # the foreign key keeps an index of its own, as at the baseline
            op.create_index(_fk_name(table), table, ["profile_id"])
        op.drop_index(f"idx_{table}_profile_id", table_name=table)
