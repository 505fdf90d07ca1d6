from sqlalchemy import Index, Integer, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from sublarr.core.models import Base
from sublarr.core.schema import Real, int_default, text_default


class WhisperJob(Base):
    """``whisper_jobs``: one speech-to-text job (the id is chosen by the whisper queue)."""

    __tablename__ = "whisper_jobs"
    __table_args__ = (
        Index("idx_whisper_jobs_status", "status"),
        Index("idx_whisper_jobs_created", "created_at"),
    )

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    file_path: Mapped[str] = mapped_column(Text, nullable=False)
    language: Mapped[str] = mapped_column(Text, nullable=False, server_default=text_default(""))
    status: Mapped[str] = mapped_column(Text, nullable=False, server_default=text_default("queued"))
    progress: Mapped[float | None] = mapped_column(Real, server_default=text("0.0"))
    phase: Mapped[str | None] = mapped_column(Text, server_default=text_default(""))
    backend_name: Mapped[str | None] = mapped_column(Text, server_default=text_default(""))
    detected_language: Mapped[str | None] = mapped_column(Text, server_default=text_default(""))
    language_probability: Mapped[float | None] = mapped_column(Real, server_default=text("0.0"))
    srt_content: Mapped[str | None] = mapped_column(Text, server_default=text_default(""))
    segment_count: Mapped[int | None] = mapped_column(Integer, server_default=int_default(0))
    duration_seconds: Mapped[float | None] = mapped_column(Real, server_default=text("0.0"))
    processing_time_ms: Mapped[float | None] = mapped_column(Real, server_default=text("0.0"))
    error: Mapped[str | None] = mapped_column(Text, server_default=text_default(""))
    created_at: Mapped[str] = mapped_column(Text, nullable=False)
    started_at: Mapped[str | None] = mapped_column(Text, server_default=text_default(""))
    completed_at: Mapped[str | None] = mapped_column(Text, server_default=text_default(""))
