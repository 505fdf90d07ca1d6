from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select

from sublarr.core.domain import Repository, check_limit, is_or_extends, paginate
from sublarr.core.timeutil import now_iso, utc_today
from sublarr.core.validation import (
    MAX_INDEXED_BYTES,
    require_flag,
    require_int,
    require_str,
    time_ago,
    to_json,
)

from .models import daily_stats as daily
from .models import jobs

JOB_STATUSES = ("queued", "running", "completed", "failed", "cancelled")
PENDING_STATUSES = ("queued", "running")
TERMINAL_STATUSES = ("completed", "failed", "cancelled")
_NEWEST_FIRST = (jobs.c.created_at.desc(), jobs.c.id.desc())  # id breaks ties: pages never overlap

# Eight hex digits (legacy ids) collide by the birthday bound after ~10^5 jobs; a collision
# draws a new id instead of failing the insert.
_ID_ATTEMPTS = 16


def _job_status(value: Any) -> str:
    if value not in JOB_STATUSES:
        raise ValueError(f"status must be one of {', '.join(JOB_STATUSES)}, got {value!r}")
    return value


def _optional_text(name: str, value: Any) -> str:
    """None is stored as '' (what the legacy ``x or ''`` did); anything but a string is refused."""
    return "" if value is None else require_str(name, value)


def _json(name: str, value: Any) -> str:
    return to_json(name, value)  # strict JSON: NaN/Infinity are refused, naming the parameter


def _loads(text: str | None, empty: Any) -> Any:
    try:
        return json.loads(text) if text else empty
    except ValueError:
        return empty


def _job_dict(row: Mapping[Any, Any]) -> dict:
    """The legacy job dict: the columns without the two JSON ones, then ``stats`` (dict, {} when empty
    or invalid) and ``arr_context`` (dict or None); ``force`` as a bool."""
    job = dict(row)
    stats = _loads(job.pop("stats_json"), {})
    context = _loads(job.pop("bazarr_context_json"), None)
    job["force"] = bool(job["force"])
    job["stats"] = stats
    job["arr_context"] = context
    return job


def _counts(text: str | None) -> dict:
    """A JSON counter column (``by_format_json``/``by_source_json``) as a dict ({} when not one)."""
    counts = _loads(text, {})
    return counts if isinstance(counts, dict) else {}


def _counters(row: Mapping[Any, Any]) -> dict:
    return {"date": row["date"], "translated": row["translated"] or 0, "failed": row["failed"] or 0,
            "skipped": row["skipped"] or 0}


def _outdated(current_hash: str) -> tuple:
    """Completed jobs translated with a config hash that is set and differs from ``current_hash``."""
    require_str("current_hash", current_hash)
    return jobs.c.status == "completed", jobs.c.config_hash != "", jobs.c.config_hash != current_hash


class JobsRepository(Repository):
    """Translation jobs and daily translation statistics (legacy ``db/jobs.py`` + ``JobRepository``).

    Kept from legacy: ``create_job`` returns its literal dict (``completed_at``/``error`` None while
    the row holds ''); ``update_job`` on a missing id does nothing and clears ``completed_at`` for
    non-final statuses; the stats summary covers the last 30 daily rows.
    Changed: job statuses outside queued/running/completed/failed/cancelled raise ValueError, and
    'cancelled' is final like completed/failed (it gets ``completed_at``); a job id that collides
    is drawn again; daily stats are keyed by the UTC date (legacy: local date) and incremented in
    SQL, so concurrent recorders lose no count.
    """

    domain = "jobs"

    # -- jobs -----------------------------------------------------------------------------------

    def create_job(self, file_path: str, force: bool = False, arr_context: dict | None = None) -> dict:
        """Insert a queued job with an 8-hex-digit id; returns the legacy literal dict."""
        require_str("file_path", file_path, allow_empty=False, max_bytes=MAX_INDEXED_BYTES)
        require_flag("force", force)
        if arr_context is not None and not isinstance(arr_context, Mapping):
            raise ValueError(f"arr_context must be a dict or None, got {type(arr_context).__name__}")
        now = now_iso()
        row = {"file_path": file_path, "status": "queued", "force": int(force),
               "bazarr_context_json": _json("arr_context", arr_context) if arr_context else "",
               "created_at": now, "completed_at": ""}
        with self.write() as conn:
            for _ in range(_ID_ATTEMPTS):
                job_id = str(uuid.uuid4())[:8]
                if conn.execute(self.storage.insert_ignore(jobs, ["id"]).values(id=job_id, **row)).rowcount:
                    break
            else:
                raise RuntimeError(f"no free job id after {_ID_ATTEMPTS} attempts")
        return {"id": job_id, "file_path": file_path, "status": "queued", "force": force,
                "arr_context": arr_context, "created_at": now, "completed_at": None, "result": None,
                "error": None}

    def update_job(self, job_id: str, status: str, result: dict | None = None, error: str | None = None) -> None:
        """Record a job's status and result, as legacy: ``stats_json`` from ``result["stats"]``,
        ``output_path``, ``source_format``/``config_hash`` from the stats, ``error or ''``;
        ``completed_at`` is now for a final status and '' otherwise. A missing id is a no-op."""
        require_str("job_id", job_id)
        _job_status(status)
        if result is not None and not isinstance(result, Mapping):
            raise ValueError(f"result must be a dict or None, got {type(result).__name__}")
        result = result or {}
        stats = result.get("stats") or {}
        if not isinstance(stats, Mapping):
            raise ValueError(f"result['stats'] must be a dict, got {type(stats).__name__}")
        values = {
            "status": status,
            "stats_json": _json("result['stats']", stats),
            "output_path": _optional_text("result['output_path']", result.get("output_path")),
            "source_format": _optional_text("result['stats']['format']", stats.get("format")),
            "error": _optional_text("error", error or None),
            "completed_at": now_iso() if status in TERMINAL_STATUSES else "",
            "config_hash": _optional_text("result['stats']['config_hash']", stats.get("config_hash")),
        }
        with self.write() as conn:
            conn.execute(jobs.update().where(jobs.c.id == job_id).values(**values))

    def get_job(self, job_id: str) -> dict | None:
        require_str("job_id", job_id)
        with self.read() as conn:
            row = conn.execute(select(jobs).where(jobs.c.id == job_id)).mappings().first()
        return _job_dict(row) if row is not None else None

    def get_jobs(self, page: int = 1, per_page: int = 50, status: str | None = None) -> dict:
        """Paginated job dicts, newest first (ties by id); only ``status`` when it is truthy."""
        query = select(jobs)
        if status:
            query = query.where(jobs.c.status == _job_status(status))
        with self.read() as conn:
            return paginate(conn, query, page, per_page, _NEWEST_FIRST, row=_job_dict)

    def get_recent_jobs(self, limit: int = 10) -> list[dict]:
        """The ``limit`` newest job dicts."""
        query = select(jobs).order_by(*_NEWEST_FIRST).limit(check_limit(limit))
        with self.read() as conn:
            return [_job_dict(r) for r in conn.execute(query).mappings()]

    def get_jobs_for_media(self, base_path: str, limit: int = 50) -> list[dict]:
        """The ``limit`` newest job dicts of one media file: jobs whose ``file_path`` is ``base_path``
        (the file's path without its extension) or starts with ``base_path + "."`` (the file and its
        subtitles), literally and case-sensitively. For the cache domain's episode history."""
        require_str("base_path", base_path, allow_empty=False)
        query = (select(jobs)
                 .where(is_or_extends(jobs.c.file_path, base_path, ".",
                                      binary_text=self.storage.features.binary_text))
                 .order_by(*_NEWEST_FIRST).limit(check_limit(limit)))
        with self.read() as conn:
            return [_job_dict(r) for r in conn.execute(query).mappings()]

    def get_pending_job_count(self) -> int:
        """Jobs that are queued or running."""
        return self._count(jobs.c.status.in_(PENDING_STATUSES))

    def get_outdated_jobs_count(self, current_hash: str) -> int:
        """Completed jobs translated with another (non-empty) config hash."""
        return self._count(*_outdated(current_hash))

    def get_outdated_jobs(self, current_hash: str, limit: int = 100) -> list[dict]:
        """Those jobs, most recently completed first."""
        query = (select(jobs).where(*_outdated(current_hash))
                 .order_by(jobs.c.completed_at.desc(), jobs.c.id.desc()).limit(check_limit(limit)))
        with self.read() as conn:
            return [_job_dict(r) for r in conn.execute(query).mappings()]

    def _count(self, *where) -> int:
        with self.read() as conn:
            return conn.execute(select(func.count()).select_from(jobs).where(*where)).scalar_one()

    def delete_job(self, job_id: str) -> bool:
        require_str("job_id", job_id)
        with self.write() as conn:
            return conn.execute(jobs.delete().where(jobs.c.id == job_id)).rowcount > 0

    def delete_old_jobs(self, days: int = 30) -> int:
        """Delete finished (completed/failed/cancelled) jobs created more than ``days`` days ago.

        The repository layer deleted by age alone, queued and running jobs included."""
        cutoff = time_ago("days", require_int("days", days, minimum=0))
        with self.write() as conn:
            return conn.execute(jobs.delete().where(jobs.c.created_at < cutoff,
                                                    jobs.c.status.in_(TERMINAL_STATUSES))).rowcount

    # -- daily statistics -----------------------------------------------------------------------

    def record_stat(self, success: bool, skipped: bool = False, fmt: str = "", source: str = "") -> None:
        """Count one translation in today's (UTC) row: translated (and ``by_format[fmt]``,
        ``by_source[source]`` when given) on success, skipped on a skipped success, failed otherwise.

        The counter is an ``INSERT ... ON CONFLICT (date) DO UPDATE n = n + 1``; the JSON counters
        are merged in the same transaction with the row locked (``SELECT ... FOR UPDATE`` on
        PostgreSQL; SQLite's write transaction is exclusive), so no concurrent update is lost.
        """
        success, skipped = bool(require_flag("success", success)), bool(require_flag("skipped", skipped))
        require_str("fmt", fmt)
        require_str("source", source)
        counter = "failed" if not success else "skipped" if skipped else "translated"
        today = utc_today()
        row = {"date": today, "translated": 0, "failed": 0, "skipped": 0, "by_format_json": "{}",
               "by_source_json": "{}", counter: 1}
        merges = [(key, column) for key, column in ((fmt, "by_format_json"), (source, "by_source_json"))
                  if key and counter == "translated"]
        with self.write() as conn:
            conn.execute(self.storage.upsert(daily, row, key=["date"],
                                update={counter: func.coalesce(daily.c[counter], 0) + 1}))
            if not merges:
                return
            columns = [daily.c[column] for _, column in merges]
            stored = conn.execute(select(*columns).where(daily.c.date == today).with_for_update()).one()
            merged = {}
            for (key, column), text in zip(merges, stored):
                counts = _counts(text)
                counts[key] = counts.get(key, 0) + 1
                merged[column] = json.dumps(counts)
            conn.execute(daily.update().where(daily.c.date == today).values(**merged))

    record_daily_stats = record_stat

    def get_daily_stats(self, days: int = 30) -> list[dict]:
        """``[{date, translated, failed, skipped, by_format, by_source}]`` of the last ``days`` UTC days
        (today included), newest first, JSON counters parsed."""
        days = require_int("days", days, minimum=0)
        if days == 0:
            return []
        first_day = time_ago("days", days - 1)[:10]  # the date part of a kernel timestamp ('' beyond year 1)
        query = select(daily).where(daily.c.date >= first_day).order_by(daily.c.date.desc())
        with self.read() as conn:
            return [{**_counters(r), "by_format": _counts(r["by_format_json"]), "by_source": _counts(r["by_source_json"])}
                    for r in conn.execute(query).mappings()]

    def get_stats_summary(self) -> dict:
        """The legacy summary over the last 30 daily rows (not days): totals, ``today_translated``,
        summed ``by_format``/``by_source`` and ``daily`` counters, newest first."""
        today = utc_today()
        with self.read() as conn:
            rows = conn.execute(select(daily).order_by(daily.c.date.desc()).limit(30)).mappings().all()
            today_translated = conn.execute(select(daily.c.translated).where(daily.c.date == today)).scalar()
        by_format: dict[str, int] = {}
        by_source: dict[str, int] = {}
        for row in rows:
            for total, column in ((by_format, "by_format_json"), (by_source, "by_source_json")):
                for key, n in _counts(row[column]).items():
                    total[key] = total.get(key, 0) + n
        daily_rows = [_counters(r) for r in rows]
        return {
            "total_translated": sum(r["translated"] for r in daily_rows),
            "total_failed": sum(r["failed"] for r in daily_rows),
            "total_skipped": sum(r["skipped"] for r in daily_rows),
            "today_translated": today_translated or 0,
            "by_format": by_format,
            "by_source": by_source,
            "daily": daily_rows,
        }
