"""``wanted_items`` at head: the legacy table plus the identity key and the paging indexes.

Columns are in the legacy physical order (the migrated columns last), so row dicts have the
legacy key order. Revision wanted_0002 made ``target_language``/``subtitle_type`` NOT NULL and
added ``uq_wanted_identity``; wanted_0003 added the composite indexes; wanted_0005 and wanted_0006
made ``added_at``, ``status`` and ``item_type`` short texts (whole values in MariaDB's indexes).
"""

from sqlalchemy import Column, Index, Integer, Table, Text, UniqueConstraint

from sublarr.core.models import metadata
from sublarr.core.schema import BigId, ShortText, Timestamp, int_default, text_default

wanted_items = Table(
    "wanted_items",
    metadata,
    Column("id", BigId, primary_key=True),  # BIGINT on PostgreSQL since wanted_0004
    Column("item_type", ShortText, nullable=False),  # VARCHAR on MariaDB since wanted_0006
    Column("sonarr_series_id", Integer),
    Column("sonarr_episode_id", Integer),
    Column("radarr_movie_id", Integer),
    Column("title", Text, nullable=False, server_default=text_default("")),
    Column("season_episode", Text, server_default=text_default("")),
    Column("file_path", Text, nullable=False),
    Column("existing_sub", Text, server_default=text_default("")),
    Column("missing_languages", Text, server_default=text_default("[]")),
    Column("status", ShortText, nullable=False, server_default=text_default("wanted")),  # wanted_0006
    Column("last_search_at", Text, server_default=text_default("")),
    Column("search_count", Integer, server_default=int_default(0)),
    Column("error", Text, server_default=text_default("")),
    Column("added_at", Timestamp, nullable=False),  # VARCHAR on MariaDB since wanted_0005
    Column("updated_at", Text, nullable=False),
    # -- added by the legacy _run_migrations (ALTER TABLE ... ADD COLUMN), hence last --
    Column("upgrade_candidate", Integer, server_default=int_default(0)),
    Column("current_score", Integer, server_default=int_default(0)),
    Column("target_language", Text, nullable=False, server_default=text_default("")),
    Column("instance_name", Text, server_default=text_default("")),
    Column("standalone_series_id", Integer),
    Column("standalone_movie_id", Integer),
    Column("subtitle_type", Text, nullable=False, server_default=text_default("full")),
    UniqueConstraint("file_path", "target_language", "subtitle_type", name="uq_wanted_identity"),
    Index("idx_wanted_status", "status"),
    Index("idx_wanted_item_type", "item_type"),
    Index("idx_wanted_file_path", "file_path"),
    Index("idx_wanted_sonarr_series", "sonarr_series_id"),
    Index("idx_wanted_sonarr_episode", "sonarr_episode_id"),
    Index("idx_wanted_radarr_movie", "radarr_movie_id"),
    # wanted_0003: newest-first pages (filtered or not) walk an index instead of sorting
    Index("idx_wanted_added", "added_at", "id"),
    Index("idx_wanted_status_added", "status", "added_at", "id"),
    Index("idx_wanted_item_type_added", "item_type", "added_at", "id"),
    Index("idx_wanted_subtitle_type_added", "subtitle_type", "added_at", "id"),
    Index("idx_wanted_series_status", "sonarr_series_id", "status"),
    sqlite_autoincrement=True,
)
