"""providers: one cache entry per (provider_name, query_hash).

The legacy ``cache_provider_results`` always inserted, so every repeated search piled up
another row. Duplicates are deleted, keeping the newest entry of each key (latest
``cached_at``, then highest id: the one the legacy reader returned), and
``idx_provider_cache_hash`` becomes unique, so the write is an ``ON CONFLICT`` upsert.
Downgrade makes the index non-unique again (the deleted duplicates were stale copies).

Revision ID: providers_0002
Revises: providers_0001
"""
import sqlalchemy as sa
from alembic import op

revision = "providers_0002"
down_revision = "providers_0001"
branch_labels = None
depends_on = None

INDEX = "idx_provider_cache_hash"
COLUMNS = ["provider_name", "query_hash"]

cache = sa.table(
    "provider_cache",
    sa.column("id", sa.Integer()),
    sa.column("provider_name", sa.Text()),
    sa.column("query_hash", sa.Text()),
    sa.column("cached_at", sa.Text()),
)


def upgrade() -> None:
    newer = cache.alias("newer")
    op.get_bind().execute(sa.delete(cache).where(
        sa.exists().where(
            newer.c.provider_name == cache.c.provider_name,
            newer.c.query_hash == cache.c.query_hash,
            sa.or_(newer.c.cached_at > cache.c.cached_at,
                   sa.and_(newer.c.cached_at == cache.c.cached_at, newer.c.id > cache.c.id)),
        )
    ))
    op.drop_index(INDEX, table_name="provider_cache")
    op.create_index(INDEX, "provider_cache", COLUMNS, unique=True)


def downgrade() -> None:
    op.drop_index(INDEX, table_name="provider_cache")
    op.create_index(INDEX, "provider_cache", COLUMNS)
