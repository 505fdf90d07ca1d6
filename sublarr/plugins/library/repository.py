from __future__ import annotations

from typing import Any

from sqlalchemy import case, func, insert, select
from sqlalchemy.engine import Connection

from sublarr.core.domain import MAX_INDEXED_BYTES, Repository, check_limit, paginate, require_int, require_str
from sublarr.core.timeutil import iso_in, now_iso
from sublarr.plugins.providers.models import SubtitleDownload

from .models import UpgradeHistory

downloads = SubtitleDownload.__table__
upgrades = UpgradeHistory.__table__

def _count_where(condition):
    """``SUM(CASE WHEN condition THEN 1 ELSE 0 END)``: several counts in one table scan."""
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _group_counts(conn: Connection, column, unknown: str | None = None) -> dict[str, int]:
    """``{value: count}`` in the legacy key order (SQLite's GROUP BY order: NULL, then by code point).

    With ``unknown``, NULL and '' are summed under that key (legacy: the later group overwrote the
    earlier one, so one of the two counts was lost).
    """
    rows = conn.execute(select(column, func.count()).group_by(column)).all()
    counts: dict[str, int] = {}
    for value, n in sorted(rows, key=lambda r: (r[0] is not None, r[0] or "")):
        key = (value or unknown) if unknown is not None else value
        counts[key] = counts.get(key, 0) + n
    return counts


class LibraryRepository(Repository):
    """Download history (``subtitle_downloads``, written by the providers domain) and upgrade history
    (legacy ``db/library.py``).

    Kept: exact-match filters applied only when truthy, newest first, the legacy key sets and
    ``srt_to_ass`` counting only exact ``'srt'`` -> ``'ass'``. Mended: ``last_24h`` / ``last_7d`` are
    exact windows (legacy compared 'T'-separated rows with SQLite's space-separated
    ``datetime('now', ...)`` and counted the whole boundary day); '' and NULL formats/languages are
    summed under ``"unknown"``.
    """

    domain = "library"

    # -- downloads ------------------------------------------------------------------------------

    def get_download_history(self, page: int = 1, per_page: int = 50, provider: str | None = None,
                             language: str | None = None) -> dict[str, Any]:
        """Paginated download rows, newest first (id breaks ties so pages never overlap)."""
        require_str("provider", provider, nullable=True)
        require_str("language", language, nullable=True)
        query = select(downloads)
        if provider:
            query = query.where(downloads.c.provider_name == provider)
        if language:
            query = query.where(downloads.c.language == language)
        with self.read() as conn:
            return paginate(conn, query, page, per_page, [downloads.c.downloaded_at.desc(), downloads.c.id.desc()])

    def get_download_stats(self) -> dict[str, Any]:
        """``{total_downloads, by_provider, by_format, by_language, last_24h, last_7d}``."""
        with self.read() as conn:
            return self._download_stats(conn)

    # -- upgrades -------------------------------------------------------------------------------

    def record_upgrade(self, file_path: str, old_format: str | None, old_score: int | None,
                       new_format: str | None, new_score: int | None, provider_name: str | None = "",
                       upgrade_reason: str | None = "") -> None:
        """Append an upgrade (the nullable columns accept None, as the legacy INSERT did)."""
        row = {
            "file_path": require_str("file_path", file_path, max_bytes=MAX_INDEXED_BYTES),
            "old_format": require_str("old_format", old_format, nullable=True),
            "old_score": require_int("old_score", old_score, nullable=True),
            "new_format": require_str("new_format", new_format, nullable=True),
            "new_score": require_int("new_score", new_score, nullable=True),
            "provider_name": require_str("provider_name", provider_name, nullable=True),
            "upgrade_reason": require_str("upgrade_reason", upgrade_reason, nullable=True),
            "upgraded_at": now_iso(),
        }
        with self.write() as conn:
            conn.execute(insert(upgrades).values(**row))

    def get_upgrade_history(self, limit: int = 50) -> list[dict[str, Any]]:
        """The ``limit`` newest upgrades (full rows)."""
        check_limit(limit)
        query = select(upgrades).order_by(upgrades.c.upgraded_at.desc(), upgrades.c.id.desc()).limit(limit)
        with self.read() as conn:
            return [dict(row) for row in conn.execute(query).mappings()]

    def get_upgrade_stats(self) -> dict[str, int]:
        """``{total, srt_to_ass}`` (exact, case-sensitive format match, as legacy)."""
        with self.read() as conn:
            return self._upgrade_stats(conn)

    # -- both -----------------------------------------------------------------------------------

    def get_library_stats(self) -> dict[str, dict[str, Any]]:
        """``{"downloads": get_download_stats(), "upgrades": get_upgrade_stats()}`` from one snapshot."""
        with self.read() as conn:
            return {"downloads": self._download_stats(conn), "upgrades": self._upgrade_stats(conn)}

    # -- shared by the readers above ------------------------------------------------------------

    @staticmethod
    def _download_stats(conn: Connection) -> dict[str, Any]:
        # Cutoffs in the kernel's timestamp format, compared as strings: exact windows on every dialect.
        day_ago, week_ago = iso_in(days=-1), iso_in(days=-7)
        total, last_24h, last_7d = conn.execute(select(
            func.count(),
            _count_where(downloads.c.downloaded_at > day_ago),
            _count_where(downloads.c.downloaded_at > week_ago),
        )).one()
        return {
            "total_downloads": total,
            "by_provider": _group_counts(conn, downloads.c.provider_name),
            "by_format": _group_counts(conn, downloads.c.format, unknown="unknown"),
            "by_language": _group_counts(conn, downloads.c.language, unknown="unknown"),
            "last_24h": int(last_24h),
            "last_7d": int(last_7d),
        }

    @staticmethod
    def _upgrade_stats(conn: Connection) -> dict[str, int]:
        total, srt_to_ass = conn.execute(select(
            func.count(),
            _count_where((upgrades.c.old_format == "srt") & (upgrades.c.new_format == "ass")),
        )).one()
        return {"total": total, "srt_to_ass": int(srt_to_ass)}
