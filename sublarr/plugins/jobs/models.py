"""``jobs`` and ``daily_stats`` at head: the legacy tables plus a (status, created_at) index.

Columns are in the legacy physical order (``jobs.config_hash`` was added by ALTER TABLE, so it
is last), which gives row dicts the legacy key order.
"""

from sqlalchemy import Index, Integer, Text
from sqlalchemy.orm import Mapped, mapped_column

from sublarr.core.models import Base
from sublarr.core.schema import Timestamp, int_default, text_default


class Job(Base):
    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    file_path: Mapped[str] = mapped_column(Text, nullable=False)
    status: Mapped[str] = mapped_column(Text, nullable=False, server_default=text_default("queued"))
    source_format: Mapped[str | None] = mapped_column(Text, server_default=text_default(""))
    output_path: Mapped[str | None] = mapped_column(Text, server_default=text_default(""))
    stats_json: Mapped[str | None] = mapped_column(Text, server_default=text_default("{}"))
    error: Mapped[str | None] = mapped_column(Text, server_default=text_default(""))
    force: Mapped[int | None] = mapped_column(Integer, server_default=int_default(0))
    bazarr_context_json: Mapped[str | None] = mapped_column(Text, server_default=text_default(""))
    created_at: Mapped[str] = mapped_column(Timestamp, nullable=False)  # VARCHAR on MariaDB since jobs_0004
    completed_at: Mapped[str | None] = mapped_column(Text, server_default=text_default(""))
    config_hash: Mapped[str | None] = mapped_column(Text, server_default=text_default(""))  # legacy ALTER TABLE

    __table_args__ = (
        Index("idx_jobs_status", "status"),
        Index("idx_jobs_created", "created_at"),
        Index("idx_jobs_status_created", "status", "created_at"),  # jobs_0002
        Index("idx_jobs_file_path", "file_path"),  # jobs_0003: episode history
    )


class DailyStats(Base):
    __tablename__ = "daily_stats"

    date: Mapped[str] = mapped_column(Text, primary_key=True)
    translated: Mapped[int | None] = mapped_column(Integer, server_default=int_default(0))
    failed: Mapped[int | None] = mapped_column(Integer, server_default=int_default(0))
    skipped: Mapped[int | None] = mapped_column(Integer, server_default=int_default(0))
    by_format_json: Mapped[str | None] = mapped_column(Text, server_default=text_default('{"ass": 0, "srt": 0}'))
    by_source_json: Mapped[str | None] = mapped_column(Text, server_default=text_default("{}"))
