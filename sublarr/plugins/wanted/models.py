"""``wanted_items`` at head: the legacy table plus the identity key and the paging indexes.

Columns are in the legacy physical order (the migrated columns last), so row dicts have the
legacy key order. Revision wanted_0002 made ``target_language``/``subtitle_type`` NOT NULL and
added ``uq_wanted_identity``; wanted_0003 added the composite indexes.
"""

from sqlalchemy import Index, Integer, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sublarr.core.models import Base
from sublarr.core.schema import BigId, Timestamp, int_default, text_default


class WantedItem(Base):
    __tablename__ = "wanted_items"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)  # BIGINT on PostgreSQL since wanted_0004
    item_type: Mapped[str] = mapped_column(Text, nullable=False)
    sonarr_series_id: Mapped[int | None] = mapped_column(Integer)
    sonarr_episode_id: Mapped[int | None] = mapped_column(Integer)
    radarr_movie_id: Mapped[int | None] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(Text, nullable=False, server_default=text_default(""))
    season_episode: Mapped[str | None] = mapped_column(Text, server_default=text_default(""))
    file_path: Mapped[str] = mapped_column(Text, nullable=False)
    existing_sub: Mapped[str | None] = mapped_column(Text, server_default=text_default(""))
    missing_languages: Mapped[str | None] = mapped_column(Text, server_default=text_default("[]"))
    status: Mapped[str] = mapped_column(Text, nullable=False, server_default=text_default("wanted"))
    last_search_at: Mapped[str | None] = mapped_column(Text, server_default=text_default(""))
    search_count: Mapped[int | None] = mapped_column(Integer, server_default=int_default(0))
    error: Mapped[str | None] = mapped_column(Text, server_default=text_default(""))
    added_at: Mapped[str] = mapped_column(Timestamp, nullable=False)  # VARCHAR on MariaDB since wanted_0005
    updated_at: Mapped[str] = mapped_column(Text, nullable=False)
    # -- added by the legacy _run_migrations (ALTER TABLE ... ADD COLUMN), hence last --
    upgrade_candidate: Mapped[int | None] = mapped_column(Integer, server_default=int_default(0))
    current_score: Mapped[int | None] = mapped_column(Integer, server_default=int_default(0))
    target_language: Mapped[str] = mapped_column(Text, nullable=False, server_default=text_default(""))
    instance_name: Mapped[str | None] = mapped_column(Text, server_default=text_default(""))
    standalone_series_id: Mapped[int | None] = mapped_column(Integer)
    standalone_movie_id: Mapped[int | None] = mapped_column(Integer)
    subtitle_type: Mapped[str] = mapped_column(Text, nullable=False, server_default=text_default("full"))

    __table_args__ = (
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
        {"sqlite_autoincrement": True},
    )
