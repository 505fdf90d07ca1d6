from sqlalchemy import Index, Integer, Text
from sqlalchemy.orm import Mapped, mapped_column

from sublarr.core.models import Base


class UpgradeHistory(Base):
    """``upgrade_history``: one row per subtitle replaced by a better one."""

    __tablename__ = "upgrade_history"
    __table_args__ = (
        Index("idx_upgrade_history_path", "file_path"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    file_path: Mapped[str] = mapped_column(Text, nullable=False)
    old_format: Mapped[str | None] = mapped_column(Text)
    old_score: Mapped[int | None] = mapped_column(Integer)
    new_format: Mapped[str | None] = mapped_column(Text)
    new_score: Mapped[int | None] = mapped_column(Integer)
    provider_name: Mapped[str | None] = mapped_column(Text)
    upgrade_reason: Mapped[str | None] = mapped_column(Text)
    upgraded_at: Mapped[str] = mapped_column(Text, nullable=False)
