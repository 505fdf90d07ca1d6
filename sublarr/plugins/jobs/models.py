"""``jobs`` and ``daily_stats`` at head: the legacy tables plus a (status, created_at) index.

Columns are in the legacy physical order (``jobs.config_hash`` was added by ALTER TABLE, so it
is last), which gives row dicts the legacy key order.
"""

from sqlalchemy import Column, Index, Integer, Table, Text

from sublarr.core.models import metadata
from sublarr.core.schema import Timestamp, int_default, text_default

jobs = Table(
    "jobs",
    metadata,
    Column("id", Text, primary_key=True),
    Column("file_path", Text, nullable=False),
    Column("status", Text, nullable=False, server_default=text_default("queued")),
    Column("source_format", Text, server_default=text_default("")),
    Column("output_path", Text, server_default=text_default("")),
    Column("stats_json", Text, server_default=text_default("{}")),
    Column("error", Text, server_default=text_default("")),
    Column("force", Integer, server_default=int_default(0)),
    Column("bazarr_context_json", Text, server_default=text_default("")),
    Column("created_at", Timestamp, nullable=False),  # VARCHAR on MariaDB since jobs_0004
    Column("completed_at", Text, server_default=text_default("")),
    Column("config_hash", Text, server_default=text_default("")),  # legacy ALTER TABLE
    Index("idx_jobs_status", "status"),
    Index("idx_jobs_created", "created_at"),
    Index("idx_jobs_status_created", "status", "created_at"),  # jobs_0002
    Index("idx_jobs_file_path", "file_path"),  # jobs_0003: episode history
)


daily_stats = Table(
    "daily_stats",
    metadata,
    Column("date", Text, primary_key=True),
    Column("translated", Integer, server_default=int_default(0)),
    Column("failed", Integer, server_default=int_default(0)),
    Column("skipped", Integer, server_default=int_default(0)),
    Column("by_format_json", Text, server_default=text_default('{"ass": 0, "srt": 0}')),
    Column("by_source_json", Text, server_default=text_default("{}")),
)
