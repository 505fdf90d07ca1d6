"""Provider search cache, download history and per-provider statistics at head.

Columns are in the legacy physical order. ``provider_stats`` follows the legacy SCHEMA order
of a fresh database (the four columns that ``_run_migrations`` could also append sit before
``updated_at``); rows are always selected by column name, so an adopted database whose
physical order differs gives the same dicts. providers_0002 made ``idx_provider_cache_hash``
unique (one entry per provider and query), providers_0003 indexed ``downloaded_at``.
"""

from sqlalchemy import Column, Index, Integer, Table, Text

from sublarr.core.models import metadata
from sublarr.core.schema import Real, Timestamp, int_default, legacy_now, text_default

provider_cache = Table(
    "provider_cache",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("provider_name", Text, nullable=False),
    Column("query_hash", Text, nullable=False),
    Column("results_json", Text, nullable=False),
    Column("cached_at", Text, nullable=False),
    Column("expires_at", Text, nullable=False),
    Index("idx_provider_cache_hash", "provider_name", "query_hash", unique=True),
    Index("idx_provider_cache_expires", "expires_at"),
    sqlite_autoincrement=True,
)


subtitle_downloads = Table(
    "subtitle_downloads",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("provider_name", Text, nullable=False),
    Column("subtitle_id", Text, nullable=False),
    Column("language", Text, nullable=False),
    Column("format", Text, server_default=text_default("")),
    Column("file_path", Text, nullable=False),
    Column("score", Integer, server_default=int_default(0)),
    Column("downloaded_at", Timestamp, nullable=False),  # VARCHAR on MariaDB since providers_0004
    # -- added by the legacy _run_migrations (ALTER TABLE ... ADD COLUMN), hence last --
    Column("subtitle_type", Text, server_default=text_default("full")),
    Index("idx_subtitle_downloads_path", "file_path"),
    Index("idx_subtitle_downloads_downloaded_at", "downloaded_at"),
    sqlite_autoincrement=True,
)


provider_stats = Table(
    "provider_stats",
    metadata,
    Column("provider_name", Text, primary_key=True),
    Column("total_searches", Integer, server_default=int_default(0)),
    Column("successful_downloads", Integer, server_default=int_default(0)),
    Column("failed_downloads", Integer, server_default=int_default(0)),
    Column("avg_score", Real, server_default=int_default(0)),
    Column("last_success_at", Text),
    Column("last_failure_at", Text),
    Column("consecutive_failures", Integer, server_default=int_default(0)),
    Column("avg_response_time_ms", Real, server_default=int_default(0)),
    Column("last_response_time_ms", Real, server_default=int_default(0)),
    Column("auto_disabled", Integer, server_default=int_default(0)),
    Column("disabled_until", Text, server_default=text_default("")),
    Column("updated_at", Text, nullable=False, server_default=legacy_now()),
    Index("idx_provider_stats_updated", "updated_at"),
)
