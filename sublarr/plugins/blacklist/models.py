from sqlalchemy import Index, Integer, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sublarr.core.models import Base
from sublarr.core.schema import Timestamp, text_default


class BlacklistEntry(Base):
    __tablename__ = "blacklist_entries"
    __table_args__ = (
        UniqueConstraint("provider_name", "subtitle_id"),
        # legacy index, redundant with the unique constraint (kept so a legacy database matches)
        Index("idx_blacklist_provider", "provider_name", "subtitle_id"),
        # blacklist_0002: newest-first paging without sorting the whole table
        Index("idx_blacklist_added", "added_at", "id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    provider_name: Mapped[str] = mapped_column(Text, nullable=False)
    subtitle_id: Mapped[str] = mapped_column(Text, nullable=False)
    language: Mapped[str | None] = mapped_column(Text, server_default=text_default(""))
    file_path: Mapped[str | None] = mapped_column(Text, server_default=text_default(""))
    title: Mapped[str | None] = mapped_column(Text, server_default=text_default(""))
    reason: Mapped[str | None] = mapped_column(Text, server_default=text_default(""))
    added_at: Mapped[str] = mapped_column(Timestamp, nullable=False)  # VARCHAR on MariaDB since blacklist_0003
