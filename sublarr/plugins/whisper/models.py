from sqlalchemy import Column, Index, Integer, Table, Text, text

from sublarr.core.models import metadata
from sublarr.core.schema import Real, int_default, text_default

# ``whisper_jobs``: one speech-to-text job (the id is chosen by the whisper queue).
whisper_jobs = Table(
    "whisper_jobs",
    metadata,
    Column("id", Text, primary_key=True),
    Column("file_path", Text, nullable=False),
    Column("language", Text, nullable=False, server_default=text_default("")),
    Column("status", Text, nullable=False, server_default=text_default("queued")),
    Column("progress", Real, server_default=text("0.0")),
    Column("phase", Text, server_default=text_default("")),
    Column("backend_name", Text, server_default=text_default("")),
    Column("detected_language", Text, server_default=text_default("")),
    Column("language_probability", Real, server_default=text("0.0")),
    Column("srt_content", Text, server_default=text_default("")),
    Column("segment_count", Integer, server_default=int_default(0)),
    Column("duration_seconds", Real, server_default=text("0.0")),
    Column("processing_time_ms", Real, server_default=text("0.0")),
    Column("error", Text, server_default=text_default("")),
    Column("created_at", Text, nullable=False),
    Column("started_at", Text, server_default=text_default("")),
    Column("completed_at", Text, server_default=text_default("")),
    Index("idx_whisper_jobs_status", "status"),
    Index("idx_whisper_jobs_created", "created_at"),
)
