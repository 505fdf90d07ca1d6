from __future__ import annotations

import json
import logging
import ntpath
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import delete, func, select, update

from sublarr.core.domain import MAX_INDEXED_BYTES, Repository, require_int, require_str, to_json
from sublarr.core.timeutil import now_iso, parse, utcnow
from sublarr.core.validation import require_number, time_ago

from .models import anidb_mappings as anidb
from .models import ffprobe_cache as ffprobe

if TYPE_CHECKING:  # type-only: the other domain is reached through kernel.repo(), never imported
    from sublarr.plugins.jobs.repository import JobsRepository
    from sublarr.plugins.providers.repository import ProvidersRepository

log = logging.getLogger("sublarr.plugins.cache")


HISTORY_LIMIT = 50  # entries of get_episode_history, and rows read from each source table


class CacheRepository(Repository):
    """ffprobe results, AniDB mappings, episode history and the provider-cache front."""

    def _providers(self) -> ProvidersRepository:
        """The providers domain's repository (a declared requirement), typed for checkers."""
        return cast("ProvidersRepository", self.repo("providers"))

    def _jobs(self) -> JobsRepository:
        """The jobs domain's repository (a declared requirement), typed for checkers."""
        return cast("JobsRepository", self.repo("jobs"))

    domain = "cache"

    # -- ffprobe --------------------------------------------------------------------------------

    def get_ffprobe_cache(self, file_path: str, mtime: float) -> Any | None:
        """The parsed probe data when the stored mtime equals ``mtime`` exactly, else None.

        As legacy: no time-based expiry; an undecodable stored value reads as None.
        """
        require_str("file_path", file_path)
        mtime = require_number("mtime", mtime)
        with self.read() as conn:
            data = conn.execute(select(ffprobe.c.probe_data_json)
                                .where(ffprobe.c.file_path == file_path, ffprobe.c.mtime == mtime)).scalar()
        if data is None:
            return None
        try:
            return json.loads(data)
        except json.JSONDecodeError:
            return None

    def set_ffprobe_cache(self, file_path: str, mtime: float, probe_data: Any) -> None:
        """Store (or replace) a file's probe data as JSON."""
        require_str("file_path", file_path, allow_empty=False, max_bytes=MAX_INDEXED_BYTES)
        mtime = require_number("mtime", mtime)
        probe_json = to_json("probe_data", probe_data)  # strict JSON: NaN/Infinity are refused
        row = {"file_path": file_path, "mtime": mtime, "probe_data_json": probe_json, "cached_at": now_iso()}
        with self.write() as conn:
            conn.execute(self.storage.upsert(ffprobe, row, key=["file_path"]))

    def clear_ffprobe_cache(self, file_path: str | None = None) -> None:
        """Delete one file's entry, or every entry when ``file_path`` is None or ``""``
        (legacy truthiness check kept)."""
        self._delete_all_or_matching(ffprobe, "file_path", file_path)

    # -- episode history ------------------------------------------------------------------------

    def get_episode_history(self, file_path: str) -> list[dict[str, Any]]:
        """Downloads and translation jobs of a media file, newest first, at most 50 entries.

        Each entry has the legacy 7 keys ``action, provider_name, format, score, date, status,
        error``; downloads come first on equal dates (stable sort, as legacy).

        Fixes: the legacy layer matched ``LIKE '<path without extension>%'``, unescaped and
        case-insensitive, so "Ep 1.mkv" also listed the history of "Ep 10.mkv" and "EP 1x.mkv".
        Now a row matches when its path, literally and case-sensitively, is the base path
        itself or the base path followed by ``.`` (the video and its "Ep 1.de.srt" subtitles).
        Only the last path component loses its extension: legacy cut "/tv/Show.v2/Ep 1" down to
        "/tv/Show" and listed the whole folder.
        """
        require_str("file_path", file_path, allow_empty=False)
        base = _strip_extension(file_path)
        with self.read():  # one snapshot: the providers' and the jobs' reads join this transaction
            downloaded = self._providers().get_downloads_for_media(base, HISTORY_LIMIT)
            translated = self._jobs().get_jobs_for_media(base, HISTORY_LIMIT)
        history = [
            {"action": "download", "provider_name": r["provider_name"], "format": r["format"], "score": r["score"],
             "date": r["downloaded_at"], "status": "completed", "error": ""}
            for r in downloaded
        ] + [
            {"action": "translate", "provider_name": "", "format": r["source_format"] or "", "score": 0,
             "date": r["created_at"], "status": r["status"], "error": r["error"] or ""}
            for r in translated
        ]
        history.sort(key=lambda entry: entry["date"], reverse=True)
        return history[:HISTORY_LIMIT]

    # -- AniDB mappings -------------------------------------------------------------------------

    def get_anidb_mapping(self, tvdb_id: int) -> int | None:
        """The cached AniDB id of a TVDB id, or None when missing or expired.

        Sliding TTL, as legacy: an entry expires when it was not read for more than
        ``anidb_cache_ttl_days`` whole days (``<= 0`` disables expiry); an unreadable
        ``last_used`` counts as expired; expired rows are kept (cleanup deletes them).
        A hit sets ``last_used`` to now. Fix: the read and the touch are one transaction
        (legacy used two lock blocks).
        """
        require_int("tvdb_id", tvdb_id)
        ttl_days = self.settings.anidb_cache_ttl_days
        with self.write() as conn:
            row = conn.execute(select(anidb.c.anidb_id, anidb.c.last_used).where(anidb.c.tvdb_id == tvdb_id)).first()
            if row is None:
                return None
            if ttl_days > 0:
                last_used = parse(row.last_used)
                if last_used is None:
                    return None
                age_days = (utcnow() - last_used).days
                if age_days > ttl_days:
                    log.debug("AniDB mapping for TVDB %d expired (age: %d days)", tvdb_id, age_days)
                    return None
            conn.execute(update(anidb).where(anidb.c.tvdb_id == tvdb_id).values(last_used=now_iso()))
            return row.anidb_id

    def save_anidb_mapping(self, tvdb_id: int, anidb_id: int, series_title: str | None = "") -> None:
        """Insert or update a mapping; an update keeps ``created_at`` and refreshes ``last_used``.

        ``series_title`` may be None (the column is nullable; legacy stored what it was given).
        """
        require_int("tvdb_id", tvdb_id)
        require_int("anidb_id", anidb_id)
        if series_title is not None:
            require_str("series_title", series_title)
        now = now_iso()
        row = {"tvdb_id": tvdb_id, "anidb_id": anidb_id, "series_title": series_title,
               "created_at": now, "last_used": now}
        with self.write() as conn:
            conn.execute(self.storage.upsert(anidb, row, key=["tvdb_id"],
                                update=["anidb_id", "series_title", "last_used"]))

    def cleanup_old_anidb_mappings(self, days: int = 90) -> int:
        """Delete mappings not used for ``days`` days; returns how many.

        Rows with a NULL ``last_used`` are kept (as legacy). ``days < 0`` is a ValueError.
        """
        cutoff = time_ago("days", require_int("days", days, minimum=0))  # '' before the year 1: none older
        with self.write() as conn:
            deleted = conn.execute(delete(anidb).where(anidb.c.last_used < cutoff)).rowcount
        if deleted > 0:
            log.info("Cleaned up %d old AniDB mappings (older than %d days)", deleted, days)
        return deleted

    def get_anidb_mapping_stats(self) -> dict[str, Any]:
        """``{"total_mappings", "oldest_entry", "newest_entry"}`` (``created_at`` values, None when empty).

        MIN/MAX ignore NULL ``created_at`` on both dialects (legacy's ``ORDER BY ... LIMIT 1``
        returned NULL as the oldest entry on SQLite).
        """
        with self.read() as conn:
            total, oldest, newest = conn.execute(
                select(func.count(), func.min(anidb.c.created_at), func.max(anidb.c.created_at))
            ).one()
        return {"total_mappings": total, "oldest_entry": oldest, "newest_entry": newest}

    # -- provider search cache (one implementation: the providers domain) ------------------------

    def get_cached_results(self, provider_name: str, query_hash: str) -> str | None:
        """New: the providers domain's ``get_cached_results``."""
        return self._providers().get_cached_results(provider_name, query_hash)

    def save_cache_results(self, provider_name: str, query_hash: str, results_json: str,
                           ttl_hours: float = 6) -> None:
        """New: the providers domain's ``save_cache_results``."""
        self._providers().save_cache_results(provider_name, query_hash, results_json, ttl_hours)

    def get_cache_stats(self) -> dict[str, Any]:
        """New: ``{"ffprobe": {"total"}, "anidb": get_anidb_mapping_stats(),
        "provider_cache": providers' get_provider_cache_stats()}``."""
        with self.read() as conn:
            ffprobe_total = conn.execute(select(func.count()).select_from(ffprobe)).scalar_one()
        return {
            "ffprobe": {"total": ffprobe_total},
            "anidb": self.get_anidb_mapping_stats(),
            "provider_cache": self._providers().get_provider_cache_stats(),
        }


def _strip_extension(file_path: str) -> str:
    # ntpath splits on both "/" and "\" (paths from a Windows Sonarr); a leading dot is no extension
    return ntpath.splitext(file_path)[0]
