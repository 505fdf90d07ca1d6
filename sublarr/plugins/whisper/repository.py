from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy import delete, func, select, update

from sublarr.core.domain import (
    MAX_INDEXED_BYTES,
    Repository,
    check_fields,
    check_limit,
    require_int,
    require_str,
)
from sublarr.core.errors import DuplicateError
from sublarr.core.timeutil import now_iso
from sublarr.core.validation import require_number

from .models import whisper_jobs as jobs

# update_whisper_job may set every column but the key (legacy: any column name was interpolated).
UPDATABLE = tuple(c.name for c in jobs.columns if c.name != "id")
_INDEXED = {column.name for index in jobs.indexes for column in index.columns}  # text capped in bytes


def _check_value(column: sa.Column, value: Any) -> Any:
    """A value the column can store on every dialect, or ValueError (never a database error)."""
    if value is None:
        if not column.nullable:
            raise ValueError(f"{column.name} must not be None")
        return None
    if isinstance(column.type, sa.String):
        return require_str(column.name, value,
                           max_bytes=MAX_INDEXED_BYTES if column.name in _INDEXED else None)
    if isinstance(column.type, sa.Integer):
        return require_int(column.name, value)
    return require_number(column.name, value)  # REAL


class WhisperRepository(Repository):
    """Speech-to-text jobs (legacy ``db/whisper.py``).

    Kept from the legacy layer: ``create_whisper_job`` returns the 6-key dict rather than the full
    row; ``update_whisper_job`` on a missing id is a silent no-op; ``started_at`` is written only
    when a caller passes it; a duplicate id raises :class:`DuplicateError`, a ``ValueError`` that is
    also the legacy ``sqlite3.IntegrityError``. Mended: an unknown field raises ``ValueError``
    (legacy: a raw ``OperationalError`` from SQL built from the kwarg names).
    """

    domain = "whisper"

    def create_whisper_job(self, job_id: str, file_path: str, language: str = "") -> dict[str, Any]:
        """Insert a queued job; returns ``{id, file_path, language, status, progress, created_at}``."""
        require_str("job_id", job_id, allow_empty=False, max_bytes=MAX_INDEXED_BYTES)
        require_str("file_path", file_path)
        require_str("language", language)
        job = {"id": job_id, "file_path": file_path, "language": language,
               "status": "queued", "progress": 0.0, "created_at": now_iso()}
        with self.write() as conn:
            # ON CONFLICT DO NOTHING: a duplicate is detected without an aborted transaction.
            inserted = conn.execute(self.storage.insert_ignore(jobs, ["id"]).values(**job)).rowcount
            if not inserted:
                raise DuplicateError(jobs.name, "id", f"whisper job {job_id!r} exists already")
        return job

    def update_whisper_job(self, job_id: str, **fields: Any) -> None:
        """Set the given columns; unknown names or unstorable values raise ValueError, nothing written."""
        require_str("job_id", job_id)
        if not fields:
            return
        check_fields(UPDATABLE, fields, "whisper job")
        values = {name: _check_value(jobs.c[name], value) for name, value in fields.items()}
        with self.write() as conn:
            conn.execute(update(jobs).where(jobs.c.id == job_id).values(**values))

    def get_whisper_job(self, job_id: str) -> dict[str, Any] | None:
        require_str("job_id", job_id)
        with self.read() as conn:
            row = conn.execute(select(jobs).where(jobs.c.id == job_id)).mappings().first()
        return dict(row) if row is not None else None

    def get_whisper_jobs(self, status: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        """Newest first; ``status`` filters when truthy (legacy: ``''`` means all)."""
        if status is not None:
            require_str("status", status)
        check_limit(limit)
        query = (select(jobs).order_by(jobs.c.created_at.desc(), self.storage.text_order(jobs.c.id).desc())
                 .limit(limit))
        if status:
            query = query.where(jobs.c.status == status)
        with self.read() as conn:
            return [dict(row) for row in conn.execute(query).mappings()]

    def delete_whisper_job(self, job_id: str) -> bool:
        require_str("job_id", job_id)
        with self.write() as conn:
            return conn.execute(delete(jobs).where(jobs.c.id == job_id)).rowcount > 0

    def get_whisper_stats(self) -> dict[str, Any]:
        """``{total, by_status: {status: n}, avg_processing_time_ms}`` (average of completed jobs
        with a positive time, rounded to 0.1 ms; 0.0 when there is none)."""
        with self.read() as conn:
            by_status: dict[str, int] = dict(conn.execute(
                select(jobs.c.status, func.count()).group_by(jobs.c.status)
                .order_by(self.storage.text_order(jobs.c.status))).all())
            avg = conn.execute(select(func.avg(jobs.c.processing_time_ms)).where(
                jobs.c.status == "completed", jobs.c.processing_time_ms > 0)).scalar()
        return {
            "total": sum(by_status.values()),
            "by_status": by_status,
            "avg_processing_time_ms": round(float(avg), 1) if avg is not None else 0.0,
        }
